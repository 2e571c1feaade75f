//! OCI whiteouts, converted to the form overlayfs reads.
//!
//! - `DIR/.wh.NAME` (NAME deleted from the layers below) becomes a character
//!   device 0:0 named NAME, overlayfs' whiteout.
//! - `DIR/.wh..wh..opq` (DIR hides the layers below) becomes the xattr
//!   `trusted.overlay.opaque=y` on DIR.
//!
//! Other `.wh..wh.*` names are aufs bookkeeping and are skipped.

use rustix::fs::{fsetxattr, makedev, mknodat, FileType, Mode, XattrFlags};

use super::fsops::{ensure_dir, replace_existing};
use super::path::RelPath;
use super::{ExtractError, ExtractStats};
use std::os::fd::AsFd;

pub(crate) const PREFIX: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";
const META_PREFIX: &[u8] = b".wh..wh.";

/// The xattr overlayfs reads to mark a directory opaque.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Whether this entry name is a whiteout of some kind.
pub(crate) fn is_whiteout(path: &RelPath) -> bool {
    path.name().is_some_and(|n| n.starts_with(PREFIX))
}

pub(crate) fn apply(
    root: impl AsFd,
    path: &RelPath,
    entry: &str,
    stats: &mut ExtractStats,
) -> Result<(), ExtractError> {
    let name = path.name().unwrap_or_default();
    let io = |op| move |e: std::io::Error| ExtractError::io(entry, op, e);
    if name == OPAQUE {
        let dir = ensure_dir(root, path.parent())
            .map_err(|e| ExtractError::parent(entry, "opening directory of", e))?;
        fsetxattr(&dir, OPAQUE_XATTR, b"y", XattrFlags::empty()).map_err(|e| {
            not_permitted_or(
                e,
                entry,
                "opaque-directory marker",
                "setting opaque xattr for",
            )
        })?;
        stats.opaque_dirs += 1;
        return Ok(());
    }
    if name.starts_with(META_PREFIX) {
        tracing::debug!(entry, "skipping aufs metadata entry");
        return Ok(());
    }
    let target = &name[PREFIX.len()..];
    if target.is_empty() || target == b"." || target == b".." {
        return Err(ExtractError::Hostile {
            entry: entry.to_string(),
            reason: "is a whiteout of an invalid name".into(),
        });
    }
    let dir = ensure_dir(root, path.parent())
        .map_err(|e| ExtractError::parent(entry, "opening directory of", e))?;
    replace_existing(&dir, target, false).map_err(io("replacing"))?;
    mknodat(
        &dir,
        target,
        FileType::CharacterDevice,
        Mode::empty(),
        makedev(0, 0),
    )
    .map_err(|e| {
        not_permitted_or(
            e,
            entry,
            "whiteout (character device 0:0)",
            "creating whiteout for",
        )
    })?;
    stats.whiteouts += 1;
    Ok(())
}

fn not_permitted_or(
    e: rustix::io::Errno,
    entry: &str,
    kind: &'static str,
    op: &'static str,
) -> ExtractError {
    if e == rustix::io::Errno::PERM {
        ExtractError::NotPermitted {
            entry: entry.to_string(),
            kind,
        }
    } else {
        ExtractError::io(entry, op, e.into())
    }
}

//! A checkpoint's root filesystem changes, as podman's archive holds them:
//! `rootfs-diff.tar` (the files the container added or changed, paths
//! relative to its root) and `deleted.files` (a JSON list of the paths it
//! removed from the image's files). Both come from, and go back into, the
//! container's overlay upper directory, where a removed file is a
//! whiteout (a 0/0 character device).

use std::fs::File;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use crate::error::{io_err, ContainerError, Result};

/// Writes `upper`'s changes to the tar `diff` and the list `deleted`.
pub(crate) fn write_diff(upper: &Path, diff: &Path, deleted: &Path) -> Result<()> {
    let out = File::create(diff).map_err(io_err("creating", diff))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(out));
    tar.follow_symlinks(false);
    let mut removed = Vec::new();
    walk(upper, Path::new(""), &mut tar, &mut removed)?;
    tar.into_inner()
        .and_then(|mut w| std::io::Write::flush(&mut w))
        .map_err(io_err("writing", diff))?;
    let json = serde_json::to_vec(&removed).expect("serializes");
    std::fs::write(deleted, json).map_err(io_err("writing", deleted))
}

fn walk<W: std::io::Write>(
    base: &Path,
    rel: &Path,
    tar: &mut tar::Builder<W>,
    removed: &mut Vec<String>,
) -> Result<()> {
    let dir = base.join(rel);
    let entries = std::fs::read_dir(&dir).map_err(io_err("reading", &dir))?;
    for entry in entries {
        let entry = entry.map_err(io_err("reading", &dir))?;
        let name = rel.join(entry.file_name());
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(io_err("reading", &path))?;
        if meta.file_type().is_char_device() && meta.rdev() == 0 {
            removed.push(format!("/{}", name.display()));
            continue;
        }
        tar.append_path_with_name(&path, &name)
            .map_err(io_err("archiving", &path))?;
        if meta.is_dir() {
            walk(base, &name, tar, removed)?;
        }
    }
    Ok(())
}

/// Applies an archive's changes to the (new, empty) `upper` directory:
/// extracts `diff` with the store's safe extraction and makes a whiteout
/// for each path in `deleted`. Both files may be absent.
pub(crate) fn apply_diff(upper: &Path, diff: &Path, deleted: &Path) -> Result<()> {
    std::fs::create_dir_all(upper).map_err(io_err("creating", upper))?;
    if let Ok(f) = File::open(diff) {
        let opts = hoist_store::ExtractOptions {
            allow_devices: true,
            preserve_owner: true,
        };
        hoist_store::extract_tar_with(std::io::BufReader::new(f), upper, &opts).map_err(|e| {
            ContainerError::Invalid(format!("invalid checkpoint archive: {ROOTFS}: {e}"))
        })?;
    }
    let Ok(data) = std::fs::read(deleted) else {
        return Ok(());
    };
    let paths: Vec<String> = serde_json::from_slice(&data).map_err(|e| {
        ContainerError::Invalid(format!("invalid checkpoint archive: deleted.files: {e}"))
    })?;
    for p in paths {
        let target = inside(upper, &p)?;
        if std::fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
        }
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &target,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::empty(),
            0,
        )
        .map_err(|e| io_err("making a whiteout at", &target)(e.into()))?;
    }
    Ok(())
}

const ROOTFS: &str = "rootfs-diff.tar";

/// `path` (absolute, from the archive) under `upper`; refused when it
/// climbs out or passes through a symlink.
fn inside(upper: &Path, path: &str) -> Result<PathBuf> {
    let bad = || {
        ContainerError::Invalid(format!(
            "invalid checkpoint archive: deleted.files names {path:?}, which is outside the container's root"
        ))
    };
    let mut out = upper.to_path_buf();
    let mut any = false;
    for comp in Path::new(path).components() {
        match comp {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => {
                if std::fs::symlink_metadata(&out).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(bad());
                }
                out.push(n);
                any = true;
            }
            _ => return Err(bad()),
        }
    }
    if !any {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_paths_stay_inside() {
        let d = tempfile::tempdir().unwrap();
        assert!(inside(d.path(), "/../etc/passwd").is_err());
        assert!(inside(d.path(), "/").is_err());
        assert_eq!(
            inside(d.path(), "/etc/motd").unwrap(),
            d.path().join("etc/motd")
        );
        std::os::unix::fs::symlink("/etc", d.path().join("link")).unwrap();
        assert!(inside(d.path(), "/link/passwd").is_err());
    }
}

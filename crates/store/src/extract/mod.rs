//! Safe extraction of an untrusted layer tar into a directory.
//!
//! The `tar` crate only parses (headers, PAX records including
//! `SCHILY.xattr.*`, GNU long names); every filesystem operation is ours and
//! relative to the destination's fd: parents are opened with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, final names are
//! created with calls that never follow them. So a symlink planted by the
//! layer cannot make a later entry land outside the destination.
//!
//! Policy:
//! - a leading `/` in a name means the layer root and is dropped; names
//!   with a `..` component make the layer hostile: error;
//! - symlink targets are stored verbatim, but a relative target that climbs
//!   above the layer root (lexically) is an error;
//! - a parent that is a symlink is followed inside the layer root only
//!   (`lib -> /usr/lib` then `lib/x` writes `usr/lib/x` of this layer, as
//!   podman does); if it leads to no directory there, the entry is refused
//!   with an error naming it, the symlink and its target;
//! - numeric header fields may be NUL- or space-filled (read as 0) or
//!   base-256, as GNU tar, BSD tar and Go write them (see `numeric.rs`);
//! - a stream that ends inside the padding after an entry's data is
//!   complete, as Go's archive/tar reads it;
//! - hardlink targets must name an existing non-directory of this layer;
//! - device nodes and fifos only with [`ExtractOptions::allow_devices`];
//! - later entries replace earlier ones; a directory over a directory only
//!   updates its metadata;
//! - OCI whiteouts become overlayfs whiteouts (see `whiteout.rs`);
//! - directory modes and mtimes are applied after all entries.
//!
//! On error the destination is left partly filled: the caller discards it
//! (the store extracts into a private temporary directory).

mod dirs;
mod entry;
mod file_hashes;
mod fsops;
mod meta;
mod numeric;
mod path;
mod whiteout;

use std::cell::Cell;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

use rustix::fs::{FileType, Mode, OFlags};
use tar::EntryType;

use self::dirs::DeferredDirs;
use self::entry::Ctx;
use self::file_hashes::FileHasher;
use self::meta::Meta;
use self::path::RelPath;

pub use self::whiteout::OPAQUE_XATTR;

/// What extraction may do beyond plain files, directories and links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Create character/block devices and fifos (needs CAP_MKNOD). Without
    /// it such entries are an error naming the entry.
    pub allow_devices: bool,
    /// chown entries to the uid/gid the archive records (needs CAP_CHOWN).
    pub preserve_owner: bool,
}

impl ExtractOptions {
    /// Everything enabled when running as root (euid 0), else neither.
    pub fn for_current_user() -> ExtractOptions {
        let root = rustix::process::geteuid().is_root();
        ExtractOptions {
            allow_devices: root,
            preserve_owner: root,
        }
    }
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions::for_current_user()
    }
}

/// Counts of what an extraction created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Archive entries processed (all types, whiteouts included; PAX global headers not).
    pub entries: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Device nodes and fifos.
    pub devices: u64,
    pub whiteouts: u64,
    pub opaque_dirs: u64,
    /// Bytes of regular file content written.
    pub file_bytes: u64,
    /// Bytes read from the tar stream, up to its end (trailing padding included).
    pub tar_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("hostile layer: entry {entry:?} {reason}; refusing the whole layer")]
    Hostile { entry: String, reason: String },

    #[error("hostile layer: symlink {entry:?} -> {target:?} points outside the layer root; refusing the whole layer")]
    SymlinkEscape { entry: String, target: String },

    #[error("bad hardlink {entry:?} -> {target:?}: {reason}; refusing the whole layer")]
    BadHardlink {
        entry: String,
        target: String,
        reason: String,
    },

    #[error(
        "entry {entry:?} is a {kind}, which needs root privileges to create; run hoist as root"
    )]
    NotPermitted { entry: String, kind: &'static str },

    #[error("entry {entry:?} has tar entry type {kind}, which hoist does not unpack")]
    UnsupportedType { entry: String, kind: String },

    #[error("entry {entry:?} cannot be placed: its parent {parent:?} {reason}; refusing the whole layer")]
    BadParent {
        entry: String,
        parent: String,
        reason: String,
    },

    #[error("entry {entry:?} has a malformed header: {source}")]
    Header {
        entry: String,
        #[source]
        source: io::Error,
    },

    #[error("the layer's tar stream is corrupt or truncated: {0}")]
    Archive(#[source] io::Error),

    #[error("{op} {entry:?} in the layer: {source}")]
    Io {
        entry: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },
}

impl ExtractError {
    pub(crate) fn io(entry: &str, op: &'static str, source: io::Error) -> ExtractError {
        ExtractError::Io {
            entry: entry.to_string(),
            op,
            source,
        }
    }

    /// The error for an entry whose parent directory `ensure_dir` could not open.
    pub(crate) fn parent(entry: &str, op: &'static str, e: fsops::ParentError) -> ExtractError {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match e {
            fsops::ParentError::Io(source) => ExtractError::io(entry, op, source),
            fsops::ParentError::Symlink { parent, target } => ExtractError::BadParent {
                entry: entry.to_string(),
                parent: lossy(&parent),
                reason: format!(
                    "is a symlink to {:?}, which does not lead to an existing directory inside \
                     the layer (symlinks are resolved inside the layer root, never outside it)",
                    lossy(&target)
                ),
            },
            fsops::ParentError::NotDir { parent } => ExtractError::BadParent {
                entry: entry.to_string(),
                parent: lossy(&parent),
                reason: "is not a directory".to_string(),
            },
        }
    }
}

/// Extracts the tar stream `reader` into the existing directory `dest` with
/// [`ExtractOptions::for_current_user`]. Reads `reader` to its end.
pub fn extract_tar(reader: impl Read, dest: &Path) -> Result<ExtractStats, ExtractError> {
    extract_tar_with(reader, dest, &ExtractOptions::for_current_user())
}

/// Extracts the tar stream `reader` into the existing directory `dest`.
/// Reads `reader` to its end, so a hash computed by the reader covers the
/// whole stream.
pub fn extract_tar_with(
    reader: impl Read,
    dest: &Path,
    opts: &ExtractOptions,
) -> Result<ExtractStats, ExtractError> {
    let (stats, _, _) = extract_entries(reader, dest, opts, Digests::Skip, None)?;
    Ok(stats)
}

/// The content digest of each regular file written (see
/// [`crate::content_digest`]), by `(st_dev, st_ino)`: hardlinks share an
/// entry, and a file replaced later in the archive gives way to whatever
/// now holds its inode.
pub(crate) type FileDigests =
    std::collections::HashMap<(u64, u64), crate::content_digest::ContentDigest>;

/// [`extract_tar_with`], also returning the content digests of the files
/// it wrote, computed while writing them.
pub(crate) fn extract_tar_recording(
    reader: impl Read,
    dest: &Path,
    opts: &ExtractOptions,
) -> Result<(ExtractStats, FileDigests), ExtractError> {
    let (stats, digests, _) = extract_entries(reader, dest, opts, Digests::Record, None)?;
    Ok((stats, digests))
}

/// Picks an entry by its path.
pub type StopAt<'a> = &'a dyn Fn(&[u8]) -> bool;

/// [`extract_tar_with`], stopping at the first entry whose path `stop_at`
/// picks, an empty file: the entries after it are the caller's, who gets
/// the reader back positioned at the next one (`None` if the archive has
/// no such entry, and was extracted to its end).
pub fn extract_tar_until<R: Read>(
    reader: R,
    dest: &Path,
    opts: &ExtractOptions,
    stop_at: StopAt<'_>,
) -> Result<(ExtractStats, Option<R>), ExtractError> {
    let (stats, _, rest) = extract_entries(reader, dest, opts, Digests::Skip, Some(stop_at))?;
    Ok((stats, rest))
}

/// Whether an extraction hashes the files it writes: only a layer's
/// contents record needs their digests, and hashing costs as much CPU as
/// writing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Digests {
    Record,
    Skip,
}

fn extract_entries<R: Read>(
    reader: R,
    dest: &Path,
    opts: &ExtractOptions,
    digests: Digests,
    stop_at: Option<StopAt<'_>>,
) -> Result<(ExtractStats, FileDigests, Option<R>), ExtractError> {
    let root = rustix::fs::open(
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ExtractError::io(&dest.display().to_string(), "opening destination", e.into()))?;
    let mut stats = ExtractStats::default();
    let mut dirs = DeferredDirs::default();
    let mut digests = match digests {
        Digests::Record => FileHasher::new(),
        Digests::Skip => FileHasher::off(),
    };
    let data_end = Rc::new(Cell::new(0));
    let mut archive = tar::Archive::new(Counting {
        inner: reader,
        n: 0,
        data_end: data_end.clone(),
        padded: 0,
    });
    let mut stopped = false;
    {
        let entries = archive.entries().map_err(ExtractError::Archive)?;
        for entry in entries {
            let mut entry = entry.map_err(ExtractError::Archive)?;
            if stop_at.is_some_and(|stop| stop(&entry.path_bytes())) {
                // Nothing of it may be left unread: the caller reads on
                // from the next header.
                if entry.header().entry_size().unwrap_or(1) != 0 {
                    return Err(ExtractError::Hostile {
                        entry: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
                        reason: "this marker entry must be empty".into(),
                    });
                }
                stopped = true;
                break;
            }
            one_entry(&root, opts, &mut stats, &mut dirs, &mut digests, &mut entry)?;
            let size = entry.header().entry_size().unwrap_or(0);
            data_end.set(entry.raw_file_position().saturating_add(size));
        }
    }
    let mut rest = archive.into_inner();
    dirs.apply(&root)?;
    if stopped {
        stats.tar_bytes = rest.n;
        return Ok((stats, digests.into_digests(), Some(rest.inner)));
    }
    io::copy(&mut rest, &mut io::sink()).map_err(ExtractError::Archive)?;
    stats.tar_bytes = rest.n;
    Ok((stats, digests.into_digests(), None))
}

fn one_entry<R: Read>(
    root: &rustix::fd::OwnedFd,
    opts: &ExtractOptions,
    stats: &mut ExtractStats,
    dirs: &mut DeferredDirs,
    digests: &mut FileHasher,
    entry: &mut tar::Entry<'_, R>,
) -> Result<(), ExtractError> {
    let kind = entry.header().entry_type();
    if kind.is_pax_global_extensions() {
        return Ok(());
    }
    let raw = entry.path_bytes().into_owned();
    let name = String::from_utf8_lossy(&raw).into_owned();
    stats.entries += 1;
    let path = RelPath::parse(&raw).map_err(|reason| ExtractError::Hostile {
        entry: name.clone(),
        reason: reason.to_string(),
    })?;
    if whiteout::is_whiteout(&path) {
        return whiteout::apply(root, &path, &name, stats);
    }
    let meta = Meta::read(entry, &name)?;
    let link = entry
        .link_name_bytes()
        .map(|l| l.into_owned())
        .unwrap_or_default();
    let cx = &mut Ctx {
        root,
        opts,
        stats,
        dirs,
        entry: &name,
        digests,
    };
    match kind {
        // Pre-POSIX archives mark directories as regular files with a trailing slash.
        EntryType::Regular | EntryType::Continuous if raw.ends_with(b"/") => {
            entry::directory(cx, &path, meta)
        }
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
            entry::regular(cx, &path, &meta, entry)
        }
        EntryType::Directory => entry::directory(cx, &path, meta),
        EntryType::Symlink => entry::symlink(cx, &path, &meta, &link),
        EntryType::Link => entry::hardlink(cx, &path, &link),
        EntryType::Char | EntryType::Block | EntryType::Fifo => {
            let ft = match kind {
                EntryType::Char => FileType::CharacterDevice,
                EntryType::Block => FileType::BlockDevice,
                _ => FileType::Fifo,
            };
            let (major, minor) =
                numeric::device_numbers(entry.header()).map_err(|source| ExtractError::Header {
                    entry: name.clone(),
                    source,
                })?;
            entry::device(cx, &path, &meta, ft, major, minor)
        }
        other => Err(ExtractError::UnsupportedType {
            entry: name.clone(),
            kind: format!("{other:?}"),
        }),
    }
}

/// Counts the bytes read through it, and ends a stream that stops inside
/// the padding after an entry's complete data as if the padding and the
/// end-of-archive blocks were there. Go's archive/tar (so podman) reads such
/// streams as complete, and umoci 0.4.7 writes them. A stream that stops
/// inside entry data or a header is still an error.
struct Counting<R> {
    inner: R,
    /// Bytes of the real stream.
    n: u64,
    /// Where the data of the entry read last ends, set by the entry loop.
    data_end: Rc<Cell<u64>>,
    /// Zero bytes made up after the real stream ended.
    padded: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        if n > 0 || buf.is_empty() {
            return Ok(n);
        }
        let end = self.data_end.get();
        let boundary = end.div_ceil(512).saturating_mul(512);
        let at = self.n + self.padded;
        if end > 0 && self.n >= end && at < boundary {
            let k = usize::try_from(boundary - at)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            buf[..k].fill(0);
            self.padded += k as u64;
            return Ok(k);
        }
        Ok(0)
    }
}

#[cfg(test)]
pub(crate) mod tests;

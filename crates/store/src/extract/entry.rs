//! Creating one entry of each tar type, relative to the layer root fd.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use rustix::fs::{
    fstat, linkat, makedev, mknodat, openat, symlinkat, AtFlags, FileType, Mode, OFlags,
};
use rustix::io::Errno;

use super::dirs::DeferredDirs;
use super::file_hashes::FileHasher;
use super::fsops::{ensure_dir, is_dir, open_in_root, replace_existing};
use super::meta::Meta;
use super::path::{symlink_escapes, RelPath};
use super::{ExtractError, ExtractOptions, ExtractStats};

/// What the loop in `mod.rs` hands to each creator.
pub(crate) struct Ctx<'a> {
    pub(crate) root: &'a OwnedFd,
    pub(crate) opts: &'a ExtractOptions,
    pub(crate) stats: &'a mut ExtractStats,
    pub(crate) dirs: &'a mut DeferredDirs,
    /// The entry's name as the archive spells it, for messages.
    pub(crate) entry: &'a str,
    /// Content digests of the regular files written, by inode.
    pub(crate) digests: &'a mut FileHasher,
}

impl Ctx<'_> {
    fn io(&self, op: &'static str) -> impl Fn(std::io::Error) -> ExtractError + '_ {
        move |e| ExtractError::io(self.entry, op, e)
    }

    fn parent(&self, path: &RelPath) -> Result<OwnedFd, ExtractError> {
        ensure_dir(self.root, path.parent())
            .map_err(|e| ExtractError::parent(self.entry, "opening parent directory of", e))
    }
}

/// Files at least this large go to disk while the rest of the layer is
/// extracted. A layer is made durable by one `syncfs` before it is
/// published, and with the kernel's default dirty limits nothing is written
/// before it: that call then wrote the whole layer while the pull waited
/// (0.4 s for a 1 GB layer). Large files carry nearly all of a layer's bytes
/// (97 % above 128 KiB in /usr/lib/x86_64-linux-gnu); small ones are left to
/// the `syncfs`, which writes them in one batch rather than one I/O each.
const EARLY_WRITEBACK_BYTES: u64 = 128 * 1024;

pub(crate) fn regular<R: Read>(
    cx: &mut Ctx<'_>,
    path: &RelPath,
    meta: &Meta,
    data: &mut R,
) -> Result<(), ExtractError> {
    let name = root_is_not(cx, path, "a regular file")?;
    let dir = cx.parent(path)?;
    replace_existing(&dir, name, false).map_err(cx.io("replacing"))?;
    let fd = openat(
        &dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| cx.io("creating")(e.into()))?;
    let mut file = File::from(fd);
    // Read into the file hasher's batch and written from there: hashed on
    // the way (on the hashing thread), with no second read of the data.
    let entry = cx.entry;
    loop {
        // Read errors are the archive's (corrupt or truncated stream),
        // write errors are ours: keep them apart in the message.
        let bytes = match cx.digests.read_next(data) {
            Ok([]) => break,
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ExtractError::Archive(e)),
        };
        file.write_all(bytes)
            .map_err(|e| ExtractError::io(entry, "writing", e))?;
        cx.stats.file_bytes += bytes.len() as u64;
    }
    let st = fstat(&file).map_err(|e| cx.io("stat of")(e.into()))?;
    if st.st_size as u64 >= EARLY_WRITEBACK_BYTES {
        hoist_fsutil::start_writeback(&file, 0, 0);
    }
    cx.digests.end_file((st.st_dev, st.st_ino));
    meta.apply_owner_mode_xattrs(&file, cx.opts, cx.entry, true)?;
    meta.set_times_fd(&file, cx.entry)?;
    cx.stats.files += 1;
    Ok(())
}

pub(crate) fn directory(cx: &mut Ctx<'_>, path: &RelPath, meta: Meta) -> Result<(), ExtractError> {
    let fd = if path.is_root() {
        open_in_root(cx.root, b".", OFlags::RDONLY | OFlags::DIRECTORY).map_err(cx.io("opening"))?
    } else {
        let name = path.name().unwrap_or_default();
        let dir = cx.parent(path)?;
        if !replace_existing(&dir, name, true).map_err(cx.io("replacing"))? {
            rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o700))
                .map_err(|e| cx.io("creating directory")(e.into()))?;
        }
        openat(
            &dir,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| cx.io("opening directory")(e.into()))?
    };
    // Mode and times wait for the end (see dirs.rs); owner and xattrs now.
    meta.apply_owner_mode_xattrs(&fd, cx.opts, cx.entry, false)?;
    cx.dirs
        .record(path.to_bytes(), path.depth(), &fd, meta, cx.entry)?;
    cx.stats.dirs += 1;
    Ok(())
}

pub(crate) fn symlink(
    cx: &mut Ctx<'_>,
    path: &RelPath,
    meta: &Meta,
    target: &[u8],
) -> Result<(), ExtractError> {
    let name = root_is_not(cx, path, "a symlink")?;
    let escape = || ExtractError::SymlinkEscape {
        entry: cx.entry.to_string(),
        target: String::from_utf8_lossy(target).into_owned(),
    };
    if target.is_empty() || target.contains(&0) {
        return Err(ExtractError::Hostile {
            entry: cx.entry.to_string(),
            reason: "is a symlink with an empty or NUL-containing target".into(),
        });
    }
    // Absolute targets are normal (/usr/share/zoneinfo/UTC) and resolve
    // inside the container's root at run time; relative ones may not climb
    // out of the layer.
    if target[0] != b'/' && symlink_escapes(path.parent().len(), target) {
        return Err(escape());
    }
    let dir = cx.parent(path)?;
    replace_existing(&dir, name, false).map_err(cx.io("replacing"))?;
    symlinkat(target, &dir, name).map_err(|e| cx.io("creating symlink")(e.into()))?;
    meta.apply_at(&dir, name, cx.opts, cx.entry, true)?;
    cx.stats.symlinks += 1;
    Ok(())
}

pub(crate) fn hardlink(
    cx: &mut Ctx<'_>,
    path: &RelPath,
    target_raw: &[u8],
) -> Result<(), ExtractError> {
    let name = root_is_not(cx, path, "a hardlink")?;
    let bad = |reason: &str| ExtractError::BadHardlink {
        entry: cx.entry.to_string(),
        target: String::from_utf8_lossy(target_raw).into_owned(),
        reason: reason.to_string(),
    };
    let target = RelPath::parse(target_raw).map_err(|r| bad(&format!("the target {r}")))?;
    if target.is_root() {
        return Err(bad("the target is the layer root"));
    }
    if &target == path {
        return Ok(()); // a link to itself changes nothing
    }
    // Open the target first, inside the layer, without following a final
    // symlink (a hardlink to a symlink links the symlink itself).
    let tfd = match open_in_root(cx.root, &target.to_bytes(), OFlags::PATH | OFlags::NOFOLLOW) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
            return Err(bad("the target does not exist earlier in this layer"))
        }
        Err(e) => return Err(bad(&format!("cannot open the target: {e}"))),
    };
    let st = fstat(&tfd).map_err(|e| cx.io("stat of hardlink target of")(e.into()))?;
    if is_dir(&st) {
        return Err(bad("the target is a directory"));
    }
    let dir = cx.parent(path)?;
    replace_existing(&dir, name, false).map_err(cx.io("replacing"))?;
    link_fd(&tfd, &dir, name).map_err(|e| cx.io("creating hardlink")(e.into()))?;
    cx.stats.hardlinks += 1;
    Ok(())
}

/// Links the inode behind `target` (an `O_PATH` fd) as `dir/name`.
fn link_fd(target: &OwnedFd, dir: &OwnedFd, name: &[u8]) -> rustix::io::Result<()> {
    match linkat(target, c"", dir, name, AtFlags::EMPTY_PATH) {
        // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; without it, go through
        // the fd's procfs link, which names exactly the same inode.
        Err(Errno::NOENT) | Err(Errno::PERM) => {
            let proc = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(target));
            linkat(
                rustix::fs::CWD,
                proc.as_str(),
                dir,
                name,
                AtFlags::SYMLINK_FOLLOW,
            )
        }
        r => r,
    }
}

pub(crate) fn device(
    cx: &mut Ctx<'_>,
    path: &RelPath,
    meta: &Meta,
    kind: FileType,
    major: u32,
    minor: u32,
) -> Result<(), ExtractError> {
    let label = match kind {
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        _ => "fifo",
    };
    let name = root_is_not(cx, path, label)?;
    if !cx.opts.allow_devices {
        return Err(ExtractError::NotPermitted {
            entry: cx.entry.to_string(),
            kind: label,
        });
    }
    let dir = cx.parent(path)?;
    replace_existing(&dir, name, false).map_err(cx.io("replacing"))?;
    mknodat(
        &dir,
        name,
        kind,
        Mode::from_raw_mode(meta.mode & 0o777),
        makedev(major, minor),
    )
    .map_err(|e| cx.io("creating device node")(e.into()))?;
    meta.apply_at(&dir, name, cx.opts, cx.entry, false)?;
    cx.stats.devices += 1;
    Ok(())
}

/// The entry's final name; only directories may name the layer root.
fn root_is_not<'p>(cx: &Ctx<'_>, path: &'p RelPath, what: &str) -> Result<&'p [u8], ExtractError> {
    path.name().ok_or_else(|| ExtractError::Hostile {
        entry: cx.entry.to_string(),
        reason: format!("names the layer root but is {what}"),
    })
}

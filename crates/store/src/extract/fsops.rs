//! Filesystem operations relative to the layer root's fd.
//!
//! Directories are resolved with `openat2(RESOLVE_IN_ROOT)`: a symlink met on
//! the way (even `/` or `../..`) is resolved as if the layer root were `/`,
//! so no path in the layer can reach outside it. The final component is then
//! handled with `*at` calls that do not follow it (`O_NOFOLLOW`,
//! `AT_SYMLINK_NOFOLLOW`, `O_EXCL`, `mkdirat`, `symlinkat`).

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{
    openat, openat2, statat, unlinkat, AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags, Stat,
};
use rustix::io::Errno;

use super::path::join;

const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// `openat2` under `root` with `RESOLVE_IN_ROOT`. Retries `EAGAIN`, which the
/// kernel returns when a concurrent rename might have raced the resolution.
pub(crate) fn open_in_root(root: impl AsFd, rel: &[u8], flags: OFlags) -> io::Result<OwnedFd> {
    let mut tries = 0;
    loop {
        match openat2(
            root.as_fd(),
            rel,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            IN_ROOT,
        ) {
            Err(Errno::AGAIN) | Err(Errno::INTR) if tries < 64 => tries += 1,
            r => return r.map_err(Into::into),
        }
    }
}

/// Opens the directory `comps` (relative to `root`), creating missing
/// components with mode 0755 the way tar does for entries whose parents the
/// archive does not list.
pub(crate) fn ensure_dir(root: impl AsFd, comps: &[Vec<u8>]) -> io::Result<OwnedFd> {
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY;
    match open_in_root(root.as_fd(), &join(comps), dir_flags) {
        Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {}
        r => return r,
    }
    let mut cur = open_in_root(root.as_fd(), b".", dir_flags)?;
    for i in 0..comps.len() {
        cur = match open_in_root(root.as_fd(), &join(&comps[..=i]), dir_flags) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                // `cur` is the already-resolved parent; mkdirat never follows
                // its final component (it fails on a dangling symlink).
                rustix::fs::mkdirat(&cur, comps[i].as_slice(), Mode::from_raw_mode(0o755))?;
                open_in_root(root.as_fd(), &join(&comps[..=i]), dir_flags)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(cur)
}

/// `lstat` of `name` in `dir`, `None` if absent.
pub(crate) fn lstat_at(dir: impl AsFd, name: &[u8]) -> io::Result<Option<Stat>> {
    match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn is_dir(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Directory
}

/// Makes room for a new entry `name` in `dir`, as tar does: an existing
/// directory stays when the new entry is a directory too (returns true);
/// anything else there is removed (a directory with all its contents).
pub(crate) fn replace_existing(dir: impl AsFd, name: &[u8], new_is_dir: bool) -> io::Result<bool> {
    let Some(st) = lstat_at(dir.as_fd(), name)? else {
        return Ok(false);
    };
    if is_dir(&st) {
        if new_is_dir {
            return Ok(true);
        }
        remove_tree(dir.as_fd(), name)?;
    } else {
        unlinkat(dir.as_fd(), name, AtFlags::empty())?;
    }
    Ok(false)
}

/// `rm -rf dir/name` without following any symlink.
pub(crate) fn remove_tree(dir: impl AsFd, name: &[u8]) -> io::Result<()> {
    let fd = openat(
        dir.as_fd(),
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut children = Vec::new();
    for entry in Dir::read_from(&fd)? {
        let entry = entry?;
        let child = entry.file_name().to_bytes();
        if child == b"." || child == b".." {
            continue;
        }
        children.push((child.to_vec(), entry.file_type()));
    }
    for (child, ty) in children {
        let child_is_dir = match ty {
            FileType::Directory => true,
            FileType::Unknown => lstat_at(&fd, &child)?.is_some_and(|st| is_dir(&st)),
            _ => false,
        };
        if child_is_dir {
            remove_tree(&fd, &child)?;
        } else {
            unlinkat(&fd, child.as_slice(), AtFlags::empty())?;
        }
    }
    unlinkat(dir, name, AtFlags::REMOVEDIR)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root_fd(p: &std::path::Path) -> OwnedFd {
        rustix::fs::open(p, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap()
    }

    #[test]
    fn ensure_dir_creates_inside_even_through_escaping_symlinks() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("root");
        std::fs::create_dir(&root).unwrap();
        symlink("/", root.join("abs")).unwrap();
        symlink("../../..", root.join("up")).unwrap();
        let fd = root_fd(&root);
        ensure_dir(&fd, &[b"abs".to_vec(), b"etc".to_vec(), b"x".to_vec()]).unwrap();
        ensure_dir(&fd, &[b"up".to_vec(), b"y".to_vec()]).unwrap();
        assert!(
            root.join("etc/x").is_dir(),
            "abs/ resolves to the layer root"
        );
        assert!(
            root.join("y").is_dir(),
            "../.. is clamped at the layer root"
        );
        assert!(!outer.path().join("y").exists());
    }

    #[test]
    fn replace_and_remove_tree_do_not_follow_symlinks() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("root");
        let victim = outer.path().join("victim");
        std::fs::create_dir_all(root.join("d/sub")).unwrap();
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(victim.join("keep"), b"x").unwrap();
        symlink(&victim, root.join("d/link")).unwrap();
        std::fs::write(root.join("d/sub/f"), b"x").unwrap();
        let fd = root_fd(&root);
        assert!(replace_existing(&fd, b"d", true).unwrap());
        assert!(!replace_existing(&fd, b"d", false).unwrap());
        assert!(!root.join("d").exists());
        assert!(
            victim.join("keep").exists(),
            "followed a symlink while deleting"
        );
        assert!(!replace_existing(&fd, b"absent", false).unwrap());
    }
}

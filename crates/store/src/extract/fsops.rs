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

/// Why the parent directory of an entry could not be opened.
#[derive(Debug)]
pub(crate) enum ParentError {
    Io(io::Error),
    /// A component is a symlink that, resolved inside the layer root, does
    /// not lead to a directory (its target is missing or not a directory).
    Symlink {
        parent: Vec<u8>,
        target: Vec<u8>,
    },
    /// A component exists and is neither a directory nor a symlink.
    NotDir {
        parent: Vec<u8>,
    },
}

impl From<io::Error> for ParentError {
    fn from(e: io::Error) -> Self {
        ParentError::Io(e)
    }
}

impl From<Errno> for ParentError {
    fn from(e: Errno) -> Self {
        ParentError::Io(e.into())
    }
}

/// Opens the directory `comps` (relative to `root`), creating missing
/// components with mode 0755 the way tar does for entries whose parents the
/// archive does not list. Symlinks on the way are followed inside the root
/// only; one that leads nowhere is an error, never a directory created in
/// its place or at its target.
pub(crate) fn ensure_dir(root: impl AsFd, comps: &[Vec<u8>]) -> Result<OwnedFd, ParentError> {
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY;
    let retry = |e: &io::Error| {
        [Errno::NOENT, Errno::NOTDIR]
            .iter()
            .any(|n| e.raw_os_error() == Some(n.raw_os_error()))
    };
    match open_in_root(root.as_fd(), &join(comps), dir_flags) {
        Err(e) if retry(&e) => {}
        r => return Ok(r?),
    }
    let mut cur = open_in_root(root.as_fd(), b".", dir_flags)?;
    for i in 0..comps.len() {
        let here = &comps[..=i];
        cur = match open_in_root(root.as_fd(), &join(here), dir_flags) {
            Ok(fd) => fd,
            Err(e) if retry(&e) => {
                // `cur` is the already-resolved parent: look at what is there
                // without following it.
                let name = comps[i].as_slice();
                match lstat_at(&cur, name)? {
                    None => {
                        rustix::fs::mkdirat(&cur, name, Mode::from_raw_mode(0o755))?;
                        open_in_root(root.as_fd(), &join(here), dir_flags)?
                    }
                    Some(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                        let target = rustix::fs::readlinkat(&cur, name, Vec::new())?;
                        return Err(ParentError::Symlink {
                            parent: join(here),
                            target: target.into_bytes(),
                        });
                    }
                    Some(st) if !is_dir(&st) => {
                        return Err(ParentError::NotDir { parent: join(here) })
                    }
                    Some(_) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
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

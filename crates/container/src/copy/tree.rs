//! Copying files and trees between two places, each either a directory
//! that stands for a container's root (every path resolved inside it with
//! `openat2(RESOLVE_IN_ROOT)`) or the host. Names below the top are opened
//! relative to their parent without following symlinks; mode, owner and
//! times are kept, symlinks inside a tree are copied as symlinks.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{
    AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags, Stat, Timespec, Timestamps, CWD,
};
use rustix::io::Errno;

use crate::error::{ContainerError, Result};

pub(super) fn errno(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(Errno) -> ContainerError {
    let path = path.into();
    move |e| ContainerError::Io {
        op,
        path,
        source: e.into(),
    }
}

/// Splits `path` into its parent and its last name; `None` for the name
/// when the path means a directory's contents (`/`, `dir/.`).
pub(super) fn split(path: &str) -> (String, Option<OsString>) {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() || trimmed.ends_with("/.") || trimmed == "." {
        let dir = trimmed.strip_suffix('.').unwrap_or(trimmed);
        return (
            if dir.is_empty() {
                "/".into()
            } else {
                dir.into()
            },
            None,
        );
    }
    match trimmed.rsplit_once('/') {
        Some((p, n)) => (
            if p.is_empty() { "/".into() } else { p.into() },
            Some(n.into()),
        ),
        None => (".".into(), Some(trimmed.into())),
    }
}

/// Where paths are resolved: inside a container root, or on the host.
#[derive(Clone, Copy)]
pub(super) enum Base<'a> {
    Root(BorrowedFd<'a>),
    Host,
}

impl Base<'_> {
    fn open(&self, path: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let flags = flags | OFlags::CLOEXEC;
        match self {
            Base::Root(root) => loop {
                let rel = path.trim_start_matches('/');
                let rel = if rel.is_empty() { "." } else { rel };
                match rustix::fs::openat2(
                    root,
                    rel,
                    flags,
                    Mode::empty(),
                    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
                ) {
                    // The kernel asks for a retry when a rename raced the walk.
                    Err(Errno::AGAIN) => continue,
                    r => return r,
                }
            },
            Base::Host => rustix::fs::openat(CWD, path, flags, Mode::empty()),
        }
    }
}

/// What a source entry is, opened for copying.
enum Node {
    Dir(OwnedFd),
    File(OwnedFd),
    Symlink(OsString),
    /// A FIFO or a device: recreated from its mode and device number.
    Special,
}

fn kind(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// Opens the source `path` (following symlinks, inside the root for a container).
fn open_top(base: Base<'_>, path: &str) -> Result<(Stat, Node)> {
    let fd = base
        .open(path, OFlags::PATH)
        .map_err(errno("opening the source", path))?;
    let st = rustix::fs::fstat(&fd).map_err(errno("reading", path))?;
    let node = match kind(&st) {
        FileType::Directory => Node::Dir(
            base.open(path, OFlags::RDONLY | OFlags::DIRECTORY)
                .map_err(errno("opening", path))?,
        ),
        FileType::RegularFile => Node::File(
            base.open(path, OFlags::RDONLY | OFlags::NOFOLLOW)
                .map_err(errno("opening", path))?,
        ),
        _ => Node::Special,
    };
    Ok((st, node))
}

/// Opens entry `name` of directory `dir` without following a symlink.
fn open_child(dir: BorrowedFd<'_>, name: &OsStr, shown: &Path) -> Result<(Stat, Node)> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(errno("reading", shown))?;
    let flags = OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let node = match kind(&st) {
        FileType::Directory => Node::Dir(
            rustix::fs::openat(
                dir,
                name,
                flags | OFlags::RDONLY | OFlags::DIRECTORY,
                Mode::empty(),
            )
            .map_err(errno("opening", shown))?,
        ),
        FileType::RegularFile => Node::File(
            rustix::fs::openat(dir, name, flags | OFlags::RDONLY, Mode::empty())
                .map_err(errno("opening", shown))?,
        ),
        FileType::Symlink => {
            let target = rustix::fs::readlinkat(dir, name, Vec::new())
                .map_err(errno("reading the link", shown))?;
            Node::Symlink(OsStr::from_bytes(target.as_bytes()).to_owned())
        }
        _ => Node::Special,
    };
    Ok((st, node))
}

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: st.st_atime as _,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime as _,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}

fn owner(st: &Stat) -> (Option<rustix::fs::Uid>, Option<rustix::fs::Gid>) {
    (
        Some(rustix::fs::Uid::from_raw(st.st_uid)),
        Some(rustix::fs::Gid::from_raw(st.st_gid)),
    )
}

/// Makes room for a new `name` in `dir`: removes a non-directory there;
/// returns whether a directory is already there.
fn clear(dir: BorrowedFd<'_>, name: &OsStr, want_dir: bool, shown: &Path) -> Result<bool> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(errno("reading", shown)(e)),
        Ok(st) if kind(&st) == FileType::Directory => {
            if want_dir {
                Ok(true)
            } else {
                Err(ContainerError::Invalid(format!(
                    "cannot overwrite directory {} with a non-directory",
                    shown.display()
                )))
            }
        }
        Ok(_) => {
            rustix::fs::unlinkat(dir, name, AtFlags::empty()).map_err(errno("removing", shown))?;
            Ok(false)
        }
    }
}

/// Writes `node` as entry `name` of directory `dir` (never following a
/// symlink there), recursively for directories.
fn write_node(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    st: &Stat,
    node: Node,
    shown: &Path,
) -> Result<()> {
    let perms = Mode::from_raw_mode(st.st_mode & 0o7777);
    let (uid, gid) = owner(st);
    match node {
        Node::Dir(src) => {
            if !clear(dir, name, true, shown)? {
                rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700))
                    .map_err(errno("creating", shown))?;
            }
            let dst = rustix::fs::openat(
                dir,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(errno("opening", shown))?;
            copy_children(src.as_fd(), dst.as_fd(), shown)?;
            rustix::fs::fchown(&dst, uid, gid).map_err(errno("changing the owner of", shown))?;
            rustix::fs::fchmod(&dst, perms).map_err(errno("changing the mode of", shown))?;
            rustix::fs::futimens(&dst, &times(st)).map_err(errno("setting times of", shown))?;
        }
        Node::File(src) => {
            clear(dir, name, false, shown)?;
            let dst = rustix::fs::openat(
                dir,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .map_err(errno("creating", shown))?;
            let mut from = std::fs::File::from(src);
            let mut to = std::fs::File::from(dst);
            std::io::copy(&mut from, &mut to).map_err(crate::error::io_err("writing", shown))?;
            // chown before chmod: chown clears set-id bits.
            rustix::fs::fchown(&to, uid, gid).map_err(errno("changing the owner of", shown))?;
            rustix::fs::fchmod(&to, perms).map_err(errno("changing the mode of", shown))?;
            rustix::fs::futimens(&to, &times(st)).map_err(errno("setting times of", shown))?;
        }
        Node::Symlink(target) => {
            clear(dir, name, false, shown)?;
            rustix::fs::symlinkat(target.as_os_str(), dir, name)
                .map_err(errno("creating the link", shown))?;
            rustix::fs::chownat(dir, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno("changing the owner of", shown))?;
            rustix::fs::utimensat(dir, name, &times(st), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno("setting times of", shown))?;
        }
        Node::Special => {
            let k = kind(st);
            if !matches!(
                k,
                FileType::Fifo | FileType::CharacterDevice | FileType::BlockDevice
            ) {
                tracing::warn!(path = %shown.display(), "skipping a socket or unknown file type");
                return Ok(());
            }
            clear(dir, name, false, shown)?;
            rustix::fs::mknodat(dir, name, k, perms, st.st_rdev as _)
                .map_err(errno("creating", shown))?;
            rustix::fs::chownat(dir, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno("changing the owner of", shown))?;
            rustix::fs::chmodat(dir, name, perms, AtFlags::empty())
                .map_err(errno("changing the mode of", shown))?;
            rustix::fs::utimensat(dir, name, &times(st), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno("setting times of", shown))?;
        }
    }
    Ok(())
}

/// Copies every entry of directory `src` into directory `dst`.
fn copy_children(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, shown: &Path) -> Result<()> {
    let mut entries = Dir::read_from(src).map_err(errno("listing", shown))?;
    let mut names = Vec::new();
    for e in entries.by_ref() {
        let e = e.map_err(errno("listing", shown))?;
        let n = OsStr::from_bytes(e.file_name().to_bytes());
        if n != "." && n != ".." {
            names.push(n.to_owned());
        }
    }
    for n in names {
        let child = shown.join(&n);
        let (st, node) = open_child(src, &n, &child)?;
        write_node(dst, &n, &st, node, &child)?;
    }
    Ok(())
}

/// Copies `src` (resolved in `from`) to `dst` (resolved in `to`), podman's
/// way: into `dst` when it is a directory, else as `dst`.
pub(super) fn copy_between(from: Base<'_>, src: &str, to: Base<'_>, dst: &str) -> Result<()> {
    let (st, node) = open_top(from, src)?;
    let (_, src_name) = split(src);
    let dst_is_dir = to.open(dst, OFlags::RDONLY | OFlags::DIRECTORY);
    let shown = PathBuf::from(dst);
    match (src_name, dst_is_dir) {
        // `dir/.`: its contents, into an existing (or new) directory.
        (None, dir) => {
            let Node::Dir(src_fd) = node else {
                return Err(ContainerError::Invalid(format!("{src} is not a directory")));
            };
            let dst_fd = match dir {
                Ok(d) => d,
                Err(_) => {
                    let (parent, name) = split(dst);
                    let name = name.ok_or_else(|| {
                        ContainerError::Invalid(format!("invalid destination {dst:?}"))
                    })?;
                    let p = to
                        .open(&parent, OFlags::RDONLY | OFlags::DIRECTORY)
                        .map_err(errno("opening the destination directory", &parent))?;
                    write_node(p.as_fd(), &name, &st, Node::Dir(src_fd), &shown)?;
                    return Ok(());
                }
            };
            copy_children(src_fd.as_fd(), dst_fd.as_fd(), &shown)
        }
        (Some(name), Ok(dir)) => write_node(dir.as_fd(), &name, &st, node, &shown.join(&name)),
        (Some(_), Err(_)) => {
            if dst.ends_with('/') {
                return Err(ContainerError::Invalid(format!(
                    "destination {dst} is not a directory; create it first or drop the trailing /"
                )));
            }
            let (parent, name) = split(dst);
            let name = name
                .ok_or_else(|| ContainerError::Invalid(format!("invalid destination {dst:?}")))?;
            let p = to
                .open(&parent, OFlags::RDONLY | OFlags::DIRECTORY)
                .map_err(errno("opening the destination directory", &parent))?;
            write_node(p.as_fd(), &name, &st, node, &shown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    #[test]
    fn splits_paths() {
        assert_eq!(split("/etc/passwd"), ("/etc".into(), Some("passwd".into())));
        assert_eq!(split("/etc/"), ("/".into(), Some("etc".into())));
        assert_eq!(split("/"), ("/".into(), None));
        assert_eq!(split("/data/."), ("/data/".into(), None));
        assert_eq!(split("file"), (".".into(), Some("file".into())));
    }

    #[test]
    fn copies_trees_into_a_root_without_escaping() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        // A symlink in the root pointing at the host's copy of `outside`.
        symlink(&outside, root.join("etc/esc")).unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/f"), "data").unwrap();
        std::fs::set_permissions(src.join("sub/f"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
        symlink("f", src.join("sub/l")).unwrap();
        let rfd = rustix::fs::open(&root, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let ctr = Base::Root(rfd.as_fd());
        assert!(copy_between(Base::Host, src.to_str().unwrap(), ctr, "/etc/esc/x").is_err());
        // Landed inside the root (where the link points, clamped), not outside.
        assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
        let landed = root.join(outside.strip_prefix("/").unwrap()).join("x");
        assert!(
            !landed.exists(),
            "the clamped target's parent does not exist"
        );
        copy_between(Base::Host, src.to_str().unwrap(), ctr, "/etc/").unwrap();
        let f = root.join("etc/src/sub/f");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "data");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(
            std::fs::metadata(&f).unwrap().mtime(),
            std::fs::metadata(src.join("sub/f")).unwrap().mtime()
        );
        assert_eq!(
            std::fs::read_link(root.join("etc/src/sub/l")).unwrap(),
            PathBuf::from("f")
        );
        // Out again, following the in-root link for the top only.
        let back = t.path().join("back");
        copy_between(ctr, "/etc/src", Base::Host, back.to_str().unwrap()).unwrap();
        assert_eq!(std::fs::read_to_string(back.join("sub/f")).unwrap(), "data");
        // A link to a host file reads nothing from the host.
        std::fs::write(outside.join("secret"), "HOST").unwrap();
        symlink(outside.join("secret"), root.join("etc/evil")).unwrap();
        let got = t.path().join("got");
        assert!(copy_between(ctr, "/etc/evil", Base::Host, got.to_str().unwrap()).is_err());
        assert!(!got.exists());
    }
}

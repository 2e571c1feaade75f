//! Writing a source file or tree into a destination directory. Names below
//! the top are opened relative to their parent and never followed when
//! they are symlinks, so nothing is read or written outside the two ends;
//! mode and times are kept, the owner is kept or set ([`Owner`]), symlinks
//! inside a tree are copied as symlinks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rustix::fs::{AtFlags, Dir, FileType, Gid, Mode, OFlags, Stat, Timespec, Timestamps, Uid};
use rustix::io::Errno;

use super::error::CopyError;
use super::resolve::{Dest, Source};
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

/// What a source entry is, opened for copying.
pub(super) enum Node {
    Dir(OwnedFd),
    File(OwnedFd),
    Symlink(OsString),
    /// A FIFO, a device or a socket: recreated from its mode and device
    /// number (sockets are skipped).
    Special,
}

pub(super) fn kind(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// Who owns what a copy creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// The source's owner (`cp -a=false`, tar streams out).
    Keep,
    /// This uid and gid: the destination container's user, or the user
    /// running hoist on the host.
    Set(u32, u32),
}

/// How entries are written at a destination.
pub(super) struct Put {
    pub owner: Owner,
    /// Replace a directory by a non-directory and the other way round.
    pub overwrite: bool,
    /// Device nodes are not recreated (on the host, as podman).
    pub skip_devices: bool,
    /// Names the destination in messages: `container web`, `host directory /x`.
    pub place: String,
    /// Put before a shown path to make it a full one ("" in a container,
    /// whose shown paths are already absolute).
    pub full_prefix: String,
    /// Files with several links already copied, by source device and
    /// inode: the directory and name of their copy, to link again.
    pub links: RefCell<HashMap<(u64, u64), (OwnedFd, OsString)>>,
}

impl Put {
    fn full(&self, shown: &str) -> String {
        format!("{}{shown}", self.full_prefix)
    }

    fn owner_of(&self, st: &Stat) -> (Option<Uid>, Option<Gid>) {
        let (u, g) = match self.owner {
            Owner::Keep => (st.st_uid, st.st_gid),
            Owner::Set(u, g) => (u, g),
        };
        (Some(Uid::from_raw(u)), Some(Gid::from_raw(g)))
    }

    fn exists(&self, shown: &str, op: &'static str) -> ContainerError {
        CopyError::Exists {
            place: self.place.clone(),
            shown: shown.to_string(),
            op,
            full: self.full(shown),
        }
        .into()
    }
}

fn join(dir: &str, name: &OsStr) -> String {
    format!("{}/{}", dir.trim_end_matches('/'), name.to_string_lossy())
}

/// Opens entry `name` of directory `dir` without following a symlink.
pub(super) fn open_child(dir: BorrowedFd<'_>, name: &OsStr, shown: &str) -> Result<(Stat, Node)> {
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
        FileType::RegularFile => {
            // Non-blocking, and checked again once open: a FIFO swapped in
            // by a process of the container would block the read.
            let fd = rustix::fs::openat(
                dir,
                name,
                flags | OFlags::RDONLY | OFlags::NONBLOCK,
                Mode::empty(),
            )
            .map_err(errno("opening", shown))?;
            let now = rustix::fs::fstat(&fd).map_err(errno("reading", shown))?;
            if kind(&now) != FileType::RegularFile {
                return Err(ContainerError::Invalid(format!(
                    "{shown} changed while it was copied; try again"
                )));
            }
            Node::File(fd)
        }
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

/// Removes entry `name` of `dir`, a whole tree for a directory, never
/// following a symlink.
fn remove_entry(dir: BorrowedFd<'_>, name: &OsStr, st: &Stat, shown: &str) -> Result<()> {
    if kind(st) != FileType::Directory {
        return rustix::fs::unlinkat(dir, name, AtFlags::empty()).map_err(errno("removing", shown));
    }
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno("opening", shown))?;
    for child in names(fd.as_fd(), shown)? {
        let child_shown = join(shown, &child);
        let cst = rustix::fs::statat(&fd, &child, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(errno("reading", &child_shown))?;
        remove_entry(fd.as_fd(), &child, &cst, &child_shown)?;
    }
    rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR).map_err(errno("removing", shown))
}

/// Makes room for a new `name` in `dir`: a non-directory there is removed;
/// one of the other kind is an error unless overwriting. Returns whether a
/// directory is already there (to merge into).
fn clear(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    want_dir: bool,
    shown: &str,
    put: &Put,
) -> Result<bool> {
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => return Ok(false),
        Err(e) => return Err(errno("reading", put.full(shown))(e)),
        Ok(st) => st,
    };
    let is_dir = kind(&st) == FileType::Directory;
    if is_dir && want_dir {
        return Ok(true);
    }
    if is_dir != want_dir && !put.overwrite {
        return Err(put.exists(shown, if want_dir { "mkdir" } else { "open" }));
    }
    remove_entry(dir, name, &st, &put.full(shown))?;
    Ok(false)
}

/// Sets the mode of the FIFO or device `name` of `dir` just made: through
/// a descriptor of that very node (a symlink put there meanwhile by a
/// process of the container is never followed, unlike `chmodat`).
fn chmod_node(dir: BorrowedFd<'_>, name: &OsStr, st: &Stat, perms: Mode, full: &str) -> Result<()> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno("opening", full))?;
    let now = rustix::fs::fstat(&fd).map_err(errno("reading", full))?;
    if kind(&now) != kind(st) {
        return Err(ContainerError::Invalid(format!(
            "{full} changed while it was copied; try again"
        )));
    }
    rustix::fs::chmod(format!("/proc/self/fd/{}", fd.as_raw_fd()), perms)
        .map_err(errno("changing the mode of", full))
}

/// The names of the extended attributes of `fd`.
fn xattr_names(fd: BorrowedFd<'_>) -> rustix::io::Result<Vec<Vec<u8>>> {
    let size = rustix::fs::flistxattr_query(fd)?;
    let mut list = vec![0u8; size];
    let len = rustix::fs::flistxattr(fd, &mut list[..])?;
    list.truncate(len);
    Ok(list
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

/// Copies the extended attributes of `from` to `to` (file capabilities,
/// ACLs, `user.*`), as podman does. SELinux labels are the destination's
/// own; what the destination's file system refuses is skipped with a
/// warning.
fn copy_xattrs(from: BorrowedFd<'_>, to: BorrowedFd<'_>, full: &str) {
    let names = match xattr_names(from) {
        Ok(n) => n,
        Err(Errno::NOTSUP) => return,
        Err(e) => {
            tracing::warn!(path = full, error = %e, "not copying extended attributes");
            return;
        }
    };
    for name in names.iter().filter(|n| n.as_slice() != b"security.selinux") {
        let name = OsStr::from_bytes(name);
        let value = rustix::fs::fgetxattr_query(from, name).and_then(|size| {
            let mut v = vec![0u8; size];
            let len = rustix::fs::fgetxattr(from, name, &mut v[..])?;
            v.truncate(len);
            Ok(v)
        });
        let set = value
            .and_then(|v| rustix::fs::fsetxattr(to, name, &v, rustix::fs::XattrFlags::empty()));
        if let Err(e) = set {
            tracing::warn!(path = full, attribute = %name.to_string_lossy(), error = %e, "not copying an extended attribute");
        }
    }
}

/// Sets owner, mode, extended attributes (from `src`) and times of the
/// new entry `name` of `dir` (through `fd` when it is open).
fn finish(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    fd: Option<(BorrowedFd<'_>, BorrowedFd<'_>)>,
    st: &Stat,
    full: &str,
    put: &Put,
) -> Result<()> {
    let perms = Mode::from_raw_mode(st.st_mode & 0o7777);
    let (uid, gid) = put.owner_of(st);
    let symlink = kind(st) == FileType::Symlink;
    // chown before chmod: chown clears set-id bits.
    match fd {
        Some((src, fd)) => {
            rustix::fs::fchown(fd, uid, gid).map_err(errno("changing the owner of", full))?;
            rustix::fs::fchmod(fd, perms).map_err(errno("changing the mode of", full))?;
            // After chown, which drops file capabilities.
            copy_xattrs(src, fd, full);
            rustix::fs::futimens(fd, &times(st)).map_err(errno("setting times of", full))?;
        }
        None => {
            rustix::fs::chownat(dir, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno("changing the owner of", full))?;
            if !symlink {
                chmod_node(dir, name, st, perms, full)?;
            }
            rustix::fs::utimensat(dir, name, &times(st), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno("setting times of", full))?;
        }
    }
    Ok(())
}

/// Makes `name` in `dir` a hard link to the copy of a file already copied
/// through another of its links, as podman keeps hard links; whether it
/// did (not across file systems, or when that copy is gone).
fn link_again(dir: BorrowedFd<'_>, name: &OsStr, st: &Stat, put: &Put) -> bool {
    let key = (st.st_dev, st.st_ino);
    let links = put.links.borrow();
    let Some((first_dir, first_name)) = links.get(&key) else {
        return false;
    };
    rustix::fs::linkat(first_dir, first_name, dir, name, AtFlags::empty()).is_ok()
}

/// Writes `node` as entry `name` of directory `dir` (never following a
/// symlink there), recursively for directories. `shown` names the entry in
/// messages.
pub(super) fn write_node(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    st: &Stat,
    node: Node,
    shown: &str,
    put: &Put,
) -> Result<()> {
    let full = put.full(shown);
    match node {
        Node::Dir(src) => {
            if !clear(dir, name, true, shown, put)? {
                rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700))
                    .map_err(errno("creating", &full))?;
            }
            let dst = rustix::fs::openat(
                dir,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(errno("opening", &full))?;
            copy_children(src.as_fd(), dst.as_fd(), shown, put)?;
            finish(dir, name, Some((src.as_fd(), dst.as_fd())), st, &full, put)
        }
        Node::File(src) => {
            clear(dir, name, false, shown, put)?;
            if st.st_nlink > 1 && link_again(dir, name, st, put) {
                return Ok(());
            }
            let dst = rustix::fs::openat(
                dir,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .map_err(errno("creating", &full))?;
            let mut from = std::fs::File::from(src);
            let mut to = std::fs::File::from(dst);
            std::io::copy(&mut from, &mut to).map_err(crate::error::io_err("writing", &full))?;
            if st.st_nlink > 1 {
                if let Ok(d) = dir.try_clone_to_owned() {
                    let key = (st.st_dev, st.st_ino);
                    put.links.borrow_mut().insert(key, (d, name.to_owned()));
                }
            }
            finish(dir, name, Some((from.as_fd(), to.as_fd())), st, &full, put)
        }
        Node::Symlink(target) => {
            clear(dir, name, false, shown, put)?;
            rustix::fs::symlinkat(target.as_os_str(), dir, name)
                .map_err(errno("creating the link", &full))?;
            finish(dir, name, None, st, &full, put)
        }
        Node::Special => {
            let k = kind(st);
            let device = matches!(k, FileType::CharacterDevice | FileType::BlockDevice);
            if !(device || k == FileType::Fifo) || (device && put.skip_devices) {
                tracing::warn!(path = %full, "skipping a socket or device");
                return Ok(());
            }
            clear(dir, name, false, shown, put)?;
            rustix::fs::mknodat(dir, name, k, Mode::from_raw_mode(0o600), st.st_rdev as _)
                .map_err(errno("creating", &full))?;
            finish(dir, name, None, st, &full, put)
        }
    }
}

/// The names in directory `dir`, sorted, without `.` and `..`.
fn names(dir: BorrowedFd<'_>, shown: &str) -> Result<Vec<OsString>> {
    let mut entries = Dir::read_from(dir).map_err(errno("listing", shown))?;
    let mut names = Vec::new();
    for e in entries.by_ref() {
        let e = e.map_err(errno("listing", shown))?;
        let n = OsStr::from_bytes(e.file_name().to_bytes());
        if n != "." && n != ".." {
            names.push(n.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Copies every entry of directory `src` into directory `dst` (`shown`).
pub(super) fn copy_children(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    shown: &str,
    put: &Put,
) -> Result<()> {
    for n in names(src, shown)? {
        let child = join(shown, &n);
        let (st, node) = open_child(src, &n, &child)?;
        write_node(dst, &n, &st, node, &child, put)?;
    }
    Ok(())
}

/// Copies `src` to `dst` as podman does: into `dst` when it is a
/// directory (its contents only for `dir/.`), else as `dst`. `base_shown`
/// is how messages name the destination directory ("" on the host, whose
/// messages name paths below it).
pub(super) fn transfer(src: Source, dst: Dest, put: &Put, base_shown: Option<&str>) -> Result<()> {
    let is_dir = matches!(src.node, Node::Dir(_));
    match dst {
        Dest::Dir { fd, shown } => {
            let shown = base_shown.map(str::to_string).unwrap_or(shown);
            match (src.name, src.node) {
                (None, Node::Dir(s)) => copy_children(s.as_fd(), fd.as_fd(), &shown, put),
                (Some(name), node) => {
                    write_node(fd.as_fd(), &name, &src.st, node, &join(&shown, &name), put)
                }
                // Only a directory's contents come without a name.
                (None, _) => Err(ContainerError::Invalid(
                    "only a directory's contents can be copied with dir/.".into(),
                )),
            }
        }
        Dest::Entry {
            existing: Some(_), ..
        } if is_dir => Err(CopyError::DirectoryOntoFile.into()),
        Dest::Entry {
            parent,
            parent_shown,
            name,
            ..
        } => {
            let shown = base_shown.map(str::to_string).unwrap_or(parent_shown);
            write_node(
                parent.as_fd(),
                &name,
                &src.st,
                src.node,
                &join(&shown, &name),
                put,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::resolve::{destination, source, Base, End};
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn put(overwrite: bool) -> Put {
        Put {
            owner: Owner::Keep,
            overwrite,
            skip_devices: false,
            place: "container c".into(),
            full_prefix: String::new(),
            links: Default::default(),
        }
    }

    fn copy(from: Base<'_>, src: &str, to: Base<'_>, dst: &str, p: &Put) -> Result<()> {
        let end = |base, path| End {
            base,
            path,
            given: path,
            place: "on container c",
            mount_name: None,
            meaning: super::super::resolve::Meaning::of(path),
            shown_prefix: "",
        };
        let s = source(&end(from, src))?;
        let d = destination(&end(to, dst), matches!(to, Base::Host))?;
        transfer(s, d, p, None)
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
        std::fs::hard_link(src.join("sub/f"), src.join("hard")).unwrap();
        rustix::fs::setxattr(
            src.join("sub/f"),
            "user.hoist",
            b"kept",
            rustix::fs::XattrFlags::empty(),
        )
        .unwrap();
        let rfd = rustix::fs::open(&root, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let ctr = Base::Root(rfd.as_fd());
        let p = put(false);
        assert!(copy(Base::Host, src.to_str().unwrap(), ctr, "/etc/esc/x", &p).is_err());
        // Nothing landed outside the root.
        assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
        copy(Base::Host, src.to_str().unwrap(), ctr, "/etc/", &p).unwrap();
        let f = root.join("etc/src/sub/f");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "data");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(
            std::fs::metadata(&f).unwrap().ino(),
            std::fs::metadata(root.join("etc/src/hard")).unwrap().ino(),
            "hard links stay hard links"
        );
        let mut value = [0u8; 16];
        let n = rustix::fs::getxattr(&f, "user.hoist", &mut value[..]).unwrap();
        assert_eq!(&value[..n], b"kept");
        assert_eq!(
            std::fs::metadata(&f).unwrap().mtime(),
            std::fs::metadata(src.join("sub/f")).unwrap().mtime()
        );
        assert_eq!(
            std::fs::read_link(root.join("etc/src/sub/l")).unwrap(),
            PathBuf::from("f")
        );
        // Out again: a new name gets the directory itself.
        let back = t.path().join("back");
        copy(ctr, "/etc/src", Base::Host, back.to_str().unwrap(), &p).unwrap();
        assert_eq!(std::fs::read_to_string(back.join("sub/f")).unwrap(), "data");
        // A link to a host file reads nothing from the host.
        std::fs::write(outside.join("secret"), "HOST").unwrap();
        symlink(outside.join("secret"), root.join("etc/evil")).unwrap();
        let got = t.path().join("got");
        assert!(copy(ctr, "/etc/evil", Base::Host, got.to_str().unwrap(), &p).is_err());
        assert!(!got.exists());
    }

    #[test]
    fn a_directory_and_a_file_replace_each_other_only_when_overwriting() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("tmp/foo/deep")).unwrap();
        std::fs::write(root.join("tmp/foo/deep/x"), "old").unwrap();
        let rfd = rustix::fs::open(&root, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let ctr = Base::Root(rfd.as_fd());
        let host = t.path().join("foo");
        std::fs::write(&host, "file").unwrap();
        let e = copy(Base::Host, host.to_str().unwrap(), ctr, "/tmp", &put(false))
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            r#"copying to container c: error creating "/tmp/foo": open /tmp/foo: file exists; use --overwrite to replace it"#
        );
        copy(Base::Host, host.to_str().unwrap(), ctr, "/tmp", &put(true)).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("tmp/foo")).unwrap(),
            "file"
        );
        // And back: a directory over the file.
        std::fs::remove_file(&host).unwrap();
        std::fs::create_dir(&host).unwrap();
        std::fs::write(host.join("in"), "dir").unwrap();
        assert!(copy(Base::Host, host.to_str().unwrap(), ctr, "/tmp", &put(false)).is_err());
        copy(Base::Host, host.to_str().unwrap(), ctr, "/tmp", &put(true)).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("tmp/foo/in")).unwrap(),
            "dir"
        );
        // A directory onto an existing file named as the destination.
        let e = copy(
            Base::Host,
            host.to_str().unwrap(),
            ctr,
            "/tmp/foo/in",
            &put(true),
        )
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "destination must be a directory when copying a directory"
        );
    }
}

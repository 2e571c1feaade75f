//! Finding the two ends of a copy, podman's way.
//!
//! Paths are resolved either inside a container root (`openat2` with
//! `RESOLVE_IN_ROOT`: `..` and absolute symlinks stop at the root, so a
//! link to a host path finds nothing, or the container's own file of that
//! name) or on the host. The source is followed through symlinks and
//! copied under the name of what it resolves to. A destination that is a
//! symlink is followed too, even when dangling: `x -> /tmp/new` makes the
//! copy create `/tmp/new` (inside the root).

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat, CWD};
use rustix::io::Errno;

use super::error::{errno_text, CopyError};
use super::tree::{kind, Node};
use crate::error::{ContainerError, Result};

/// How many symlinks a destination may go through before it is a loop (the
/// kernel's limit).
const MAX_LINKS: usize = 40;

/// Where paths are resolved: inside a container root, or on the host.
#[derive(Clone, Copy)]
pub(super) enum Base<'a> {
    Root(BorrowedFd<'a>),
    Host,
}

impl Base<'_> {
    pub(super) fn open(&self, path: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
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

    /// The directory `/` stands for.
    fn root_stat(&self) -> rustix::io::Result<Stat> {
        match self {
            Base::Root(root) => rustix::fs::fstat(root),
            Base::Host => rustix::fs::stat("/"),
        }
    }
}

/// One end of a copy: a path, where it is resolved, and how messages name it.
pub(super) struct End<'a> {
    pub base: Base<'a>,
    /// The path to resolve in `base` (absolute for a container).
    pub path: &'a str,
    /// The path as the user gave it.
    pub given: &'a str,
    /// `on container NAME` or `on the host`.
    pub place: &'a str,
    /// A mount point of a stopped container seen through its source: the
    /// name the mount has in the container.
    pub mount_name: Option<&'a str>,
    /// The path as meant (before mounts were resolved) names a directory's
    /// contents (`dir/.`, `/`) or ends in `/`: see [`Meaning::of`].
    pub meaning: Meaning,
    /// Where the base's root is in the container, for messages ("" when
    /// it is the container's `/`, or on the host).
    pub shown_prefix: &'a str,
}

/// What the form of a path says, whatever it resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Meaning {
    /// `dir/.`, `.` or `/`: a directory's contents.
    pub contents: bool,
    /// Ends in `/` or `/.`: must be an existing directory.
    pub directory: bool,
}

impl Meaning {
    pub(super) fn of(path: &str) -> Meaning {
        let contents = means_contents(path);
        Meaning {
            contents,
            directory: contents || path.ends_with('/'),
        }
    }
}

impl End<'_> {
    /// How messages name `path` of this end: below the mount it is in.
    fn shown(&self, path: &str) -> String {
        if self.shown_prefix.is_empty() {
            return path.to_string();
        }
        let rest: Vec<&str> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        format!("{}/{}", self.shown_prefix, rest.join("/"))
            .trim_end_matches('/')
            .to_string()
    }

    fn not_found(&self, e: Errno) -> ContainerError {
        CopyError::NotFound {
            path: self.given.to_string(),
            place: self.place.to_string(),
            cause: errno_text(e),
        }
        .into()
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

/// What is copied: an opened file or tree and the name it is copied under.
pub(super) struct Source {
    pub st: Stat,
    pub node: Node,
    /// `None`: a directory's contents are copied (`dir/.`, `/`).
    pub name: Option<OsString>,
}

/// Whether a source path asks for a directory's contents rather than the
/// directory (`dir/.`, `.`, `/`).
fn means_contents(path: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    trimmed.is_empty() || trimmed == "." || trimmed.ends_with("/.")
}

/// The name of what `fd` refers to (the last component of its path), or
/// `None` for the root of `base`.
fn resolved_name(fd: BorrowedFd<'_>, st: &Stat, base: Base<'_>) -> Option<OsString> {
    if let Ok(root) = base.root_stat() {
        if root.st_dev == st.st_dev && root.st_ino == st.st_ino {
            return None;
        }
    }
    let link = rustix::fs::readlinkat(CWD, format!("/proc/self/fd/{}", fd.as_raw_fd()), Vec::new())
        .ok()?;
    let bytes = link.as_bytes();
    let name = bytes.rsplit(|b| *b == b'/').next()?;
    (!name.is_empty()).then(|| OsStr::from_bytes(name).to_owned())
}

/// Reopens an `O_PATH` descriptor for reading: the same file, whatever
/// happened to its path since.
fn reopen(fd: BorrowedFd<'_>, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    rustix::fs::open(
        format!("/proc/self/fd/{}", fd.as_raw_fd()),
        flags | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
}

/// Opens the source, following symlinks (inside the root for a container).
pub(super) fn source(end: &End<'_>) -> Result<Source> {
    let fd = end
        .base
        .open(end.path, OFlags::PATH)
        .map_err(|e| end.not_found(e))?;
    let st = rustix::fs::fstat(&fd).map_err(|e| end.not_found(e))?;
    let read_err = |e| super::tree::errno("opening", end.given)(e);
    let node = match kind(&st) {
        FileType::Directory => {
            Node::Dir(reopen(fd.as_fd(), OFlags::RDONLY | OFlags::DIRECTORY).map_err(read_err)?)
        }
        FileType::RegularFile => Node::File(reopen(fd.as_fd(), OFlags::RDONLY).map_err(read_err)?),
        _ => Node::Special,
    };
    let name = if end.meaning.contents {
        None
    } else if let Some(m) = end.mount_name {
        Some(OsString::from(m))
    } else {
        resolved_name(fd.as_fd(), &st, end.base)
    };
    Ok(Source { st, node, name })
}

/// Where a copy goes.
pub(super) enum Dest {
    /// An existing directory: the copy goes into it.
    Dir {
        fd: OwnedFd,
        /// Its path, for messages.
        shown: String,
    },
    /// A name in a directory, free or holding a non-directory: the copy
    /// goes there under that name.
    Entry {
        parent: OwnedFd,
        /// The parent's path, for messages.
        parent_shown: String,
        name: OsString,
        existing: Option<Stat>,
    },
}

/// The last name of `path` and the directory holding it, following a final
/// symlink by hand (the kernel will not follow a dangling one).
fn final_entry(base: Base<'_>, path: &str) -> rustix::io::Result<Dest> {
    let mut path = path.to_string();
    for _ in 0..MAX_LINKS {
        let (parent, name) = split(&path);
        let Some(name) = name.filter(|n| n != "..") else {
            return Err(Errno::NOENT);
        };
        let pfd = base.open(&parent, OFlags::RDONLY | OFlags::DIRECTORY)?;
        match rustix::fs::statat(&pfd, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => {
                return Ok(Dest::Entry {
                    parent: pfd,
                    parent_shown: parent,
                    name,
                    existing: None,
                })
            }
            Err(e) => return Err(e),
            Ok(st) if kind(&st) == FileType::Symlink => {
                let target = rustix::fs::readlinkat(&pfd, &name, Vec::new())?;
                let target = target.to_string_lossy();
                path = if target.starts_with('/') {
                    target.into_owned()
                } else {
                    format!("{}/{target}", parent.trim_end_matches('/'))
                };
            }
            Ok(st) if kind(&st) == FileType::Directory => {
                let fd = rustix::fs::openat(
                    &pfd,
                    &name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                return Ok(Dest::Dir {
                    fd,
                    shown: format!(
                        "{}/{}",
                        parent.trim_end_matches('/'),
                        name.to_string_lossy()
                    ),
                });
            }
            Ok(st) => {
                return Ok(Dest::Entry {
                    parent: pfd,
                    parent_shown: parent,
                    name,
                    existing: Some(st),
                })
            }
        }
    }
    Err(Errno::LOOP)
}

/// `dest` with its paths named as in the container.
fn shown_below(end: &End<'_>, dest: Dest) -> Dest {
    match dest {
        Dest::Dir { fd, shown } => Dest::Dir {
            fd,
            shown: end.shown(&shown),
        },
        Dest::Entry {
            parent,
            parent_shown,
            name,
            existing,
        } => Dest::Entry {
            parent,
            parent_shown: end.shown(&parent_shown),
            name,
            existing,
        },
    }
}

/// Resolves the destination. A host destination must be a directory or a
/// regular file (or not exist yet), as podman requires.
pub(super) fn destination(end: &End<'_>, host: bool) -> Result<Dest> {
    match end.base.open(end.path, OFlags::PATH) {
        Ok(fd) => {
            let st = rustix::fs::fstat(&fd).map_err(|e| end.not_found(e))?;
            if kind(&st) == FileType::Directory {
                let fd = reopen(fd.as_fd(), OFlags::RDONLY | OFlags::DIRECTORY)
                    .map_err(super::tree::errno("opening", end.given))?;
                return Ok(Dest::Dir {
                    fd,
                    shown: end.shown(end.path),
                });
            }
            if host && kind(&st) != FileType::RegularFile {
                return Err(CopyError::InvalidDestination(end.given.to_string()).into());
            }
            final_entry(end.base, end.path)
                .map(|d| shown_below(end, d))
                .map_err(|e| end.not_found(e))
        }
        // `dir/` and `dir/.` name a directory, which copying never creates.
        Err(Errno::NOENT) if !end.meaning.directory => final_entry(end.base, end.path)
            .map(|d| shown_below(end, d))
            .map_err(|e| end.not_found(e)),
        Err(e) => Err(end.not_found(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn splits_paths() {
        assert_eq!(split("/etc/passwd"), ("/etc".into(), Some("passwd".into())));
        assert_eq!(split("/etc/"), ("/".into(), Some("etc".into())));
        assert_eq!(split("/"), ("/".into(), None));
        assert_eq!(split("/data/."), ("/data/".into(), None));
        assert_eq!(split("file"), (".".into(), Some("file".into())));
        assert!(means_contents("/"));
        assert!(means_contents("dir/./"));
        assert!(means_contents("."));
        assert!(!means_contents("dir."));
    }

    #[test]
    fn paths_in_a_mount_are_named_as_in_the_container() {
        let end = End {
            base: Base::Host,
            path: "/.",
            given: "/data",
            place: "on container c",
            mount_name: Some("data"),
            meaning: Meaning::of("/data"),
            shown_prefix: "/data",
        };
        assert_eq!(end.shown("/."), "/data");
        assert_eq!(end.shown("/x/./y"), "/data/x/y");
        assert_eq!(
            End {
                shown_prefix: "",
                ..end
            }
            .shown("/x"),
            "/x"
        );
    }

    fn root_fd(p: &std::path::Path) -> OwnedFd {
        rustix::fs::open(p, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap()
    }

    #[test]
    fn dangling_destination_links_are_followed_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("tmp/d1")).unwrap();
        symlink("/tmp/nonesuch", root.join("tmp/d1/x")).unwrap();
        symlink("../../../../..", root.join("tmp/d1/up")).unwrap();
        let rfd = root_fd(&root);
        let end = |path| End {
            base: Base::Root(rfd.as_fd()),
            path,
            given: path,
            place: "on container c",
            mount_name: None,
            meaning: Meaning::of(path),
            shown_prefix: "",
        };
        match destination(&end("/tmp/d1/x"), false).unwrap() {
            Dest::Entry {
                parent_shown,
                name,
                existing: None,
                ..
            } => {
                assert_eq!(parent_shown, "/tmp");
                assert_eq!(name, "nonesuch");
            }
            _ => panic!("expected a new entry"),
        }
        // A trailing slash asks for a directory, which is never made.
        let e = destination(&end("/tmp/d1/x/"), false).err().unwrap();
        assert_eq!(
            e.to_string(),
            r#""/tmp/d1/x/" could not be found on container c: no such file or directory"#
        );
        // `..` through a link stops at the root.
        match destination(&end("/tmp/d1/up/new"), false).unwrap() {
            Dest::Entry { parent, name, .. } => {
                let st = rustix::fs::fstat(&parent).unwrap();
                let rst = rustix::fs::fstat(&rfd).unwrap();
                assert_eq!((st.st_dev, st.st_ino), (rst.st_dev, rst.st_ino));
                assert_eq!(name, "new");
            }
            _ => panic!("expected a new entry in the root"),
        }
        let src = source(&end("/tmp/d1/up")).unwrap();
        assert_eq!(src.name, None, "the root itself: its contents");
    }

    #[test]
    fn sources_take_the_name_they_resolve_to() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("tmp/sub")).unwrap();
        std::fs::write(root.join("tmp/real"), "x").unwrap();
        symlink("real", root.join("tmp/lnk")).unwrap();
        symlink("..", root.join("tmp/sub/weird")).unwrap();
        let rfd = root_fd(&root);
        let open = |path| {
            source(&End {
                base: Base::Root(rfd.as_fd()),
                path,
                given: path,
                place: "on container c",
                mount_name: None,
                meaning: Meaning::of(path),
                shown_prefix: "",
            })
        };
        assert_eq!(open("/tmp/lnk").unwrap().name.unwrap(), "real");
        assert_eq!(open("/tmp/sub/weird").unwrap().name.unwrap(), "tmp");
        assert_eq!(open("/tmp/sub/weird/.").unwrap().name, None);
        // A link to a host path resolves inside the root: not there.
        symlink(t.path(), root.join("tmp/host")).unwrap();
        assert!(open("/tmp/host").is_err());
    }
}

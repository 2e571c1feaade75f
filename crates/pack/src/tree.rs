//! The directory tree being packed, read once: every entry's type,
//! ownership, mode, times and extended attributes, sorted by path so that
//! everything built from it comes out in the same order on every run.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{io, PackError, Result};

/// What an entry is, with what its type needs beyond the common metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File { size: u64 },
    Dir,
    Symlink { target: PathBuf },
    CharDevice { major: u32, minor: u32 },
    BlockDevice { major: u32, minor: u32 },
    Fifo,
}

/// One entry of the tree (the root itself is not one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Relative to the root, without a leading `/`: `usr/bin/bash`.
    pub path: PathBuf,
    pub kind: Kind,
    /// Permission bits with setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// Extended attributes by name, sorted.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Device and inode: regular files sharing them are hardlinks.
    pub inode: (u64, u64),
    pub nlink: u64,
}

impl Node {
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    /// Bytes of content (regular files only).
    pub fn size(&self) -> u64 {
        match self.kind {
            Kind::File { size } => size,
            _ => 0,
        }
    }

    /// The path as bytes, the order nodes are sorted in.
    pub fn key(&self) -> &[u8] {
        self.path.as_os_str().as_bytes()
    }
}

/// A scanned tree. Nodes are sorted by path bytes, so a directory comes
/// before everything inside it.
#[derive(Debug, Clone)]
pub struct Tree {
    root: PathBuf,
    nodes: Vec<Node>,
    index: HashMap<PathBuf, usize>,
    /// What was left out and why (sockets, other file systems).
    pub notes: Vec<String>,
}

impl Tree {
    /// Reads every entry below `root`, staying on `root`'s file system (a
    /// directory that is another mount point is kept, empty, as `tar
    /// --one-file-system` does). Sockets cannot be stored in a layer and are
    /// left out with a note.
    pub fn scan(root: &Path) -> Result<Tree> {
        let meta = std::fs::metadata(root).map_err(io("reading", root))?;
        if !meta.is_dir() {
            return Err(PackError::NotADirectory(root.to_path_buf()));
        }
        let root_dev = meta.dev();
        let mut nodes = Vec::new();
        let mut notes = Vec::new();
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            let dir = root.join(&rel);
            let mut names: Vec<_> = std::fs::read_dir(&dir)
                .map_err(io("listing", &dir))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<std::io::Result<_>>()
                .map_err(io("listing", &dir))?;
            names.sort();
            for name in names {
                let rel_child = rel.join(&name);
                let full = root.join(&rel_child);
                let m =
                    std::fs::symlink_metadata(&full).map_err(io("reading metadata of", &full))?;
                let ft = m.file_type();
                let kind = if ft.is_file() {
                    Kind::File { size: m.len() }
                } else if ft.is_dir() {
                    if m.dev() == root_dev {
                        stack.push(rel_child.clone());
                    } else {
                        notes.push(format!(
                            "/{} is another file system: its contents are not packed",
                            rel_child.display()
                        ));
                    }
                    Kind::Dir
                } else if ft.is_symlink() {
                    let target = std::fs::read_link(&full).map_err(io("reading link", &full))?;
                    Kind::Symlink { target }
                } else if ft.is_char_device() {
                    let (major, minor) = dev_numbers(m.rdev());
                    Kind::CharDevice { major, minor }
                } else if ft.is_block_device() {
                    let (major, minor) = dev_numbers(m.rdev());
                    Kind::BlockDevice { major, minor }
                } else if ft.is_fifo() {
                    Kind::Fifo
                } else {
                    notes.push(format!(
                        "/{} is a socket, which a layer cannot hold: left out",
                        rel_child.display()
                    ));
                    continue;
                };
                nodes.push(Node {
                    xattrs: read_xattrs(&full)?,
                    path: rel_child,
                    kind,
                    mode: m.mode() & 0o7777,
                    uid: m.uid(),
                    gid: m.gid(),
                    mtime: m.mtime(),
                    inode: (m.dev(), m.ino()),
                    nlink: m.nlink(),
                });
            }
        }
        Ok(Tree::from_nodes(root.to_path_buf(), nodes, notes))
    }

    /// A tree from nodes made elsewhere (tests); sorts them.
    pub fn from_nodes(root: PathBuf, mut nodes: Vec<Node>, notes: Vec<String>) -> Tree {
        nodes.sort_by(|a, b| a.key().cmp(b.key()));
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.path.clone(), i))
            .collect();
        Tree {
            root,
            nodes,
            index,
            notes,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// The node at `rel` (relative, no leading `/`).
    pub fn find(&self, rel: &Path) -> Option<usize> {
        self.index.get(rel).copied()
    }

    /// The node at `rel` when it is a directory.
    pub fn find_dir(&self, rel: &Path) -> Option<usize> {
        self.find(rel).filter(|&i| self.nodes[i].is_dir())
    }

    /// The host path of a node.
    pub fn host_path(&self, i: usize) -> PathBuf {
        self.root.join(&self.nodes[i].path)
    }

    /// The nodes below directory `rel` (all depths), as an index range.
    pub fn descendants(&self, rel: &Path) -> std::ops::Range<usize> {
        let mut prefix = rel.as_os_str().as_bytes().to_vec();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        let start = self.nodes.partition_point(|n| n.key() < prefix.as_slice());
        let end = start
            + self.nodes[start..]
                .iter()
                .take_while(|n| n.key().starts_with(&prefix))
                .count();
        start..end
    }
}

/// Major and minor numbers of a Linux `dev_t`.
fn dev_numbers(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// The extended attributes of `path` (not following a final symlink),
/// sorted by name. Those overlayfs uses for itself are left out: a layer
/// must not carry them.
fn read_xattrs(path: &Path) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut names = vec![0u8; 1024];
    let len = loop {
        match rustix::fs::llistxattr(path, &mut names[..]) {
            Ok(n) => break n,
            Err(rustix::io::Errno::RANGE) => {
                let need = rustix::fs::llistxattr_query(path)
                    .map_err(|e| io("listing xattrs of", path)(e.into()))?;
                names.resize(need.max(names.len() * 2), 0);
            }
            Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(io("listing xattrs of", path)(e.into())),
        }
    };
    let mut out = Vec::new();
    for name in names[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.") {
            continue;
        }
        let name_os = OsStr::from_bytes(name);
        let mut value = vec![0u8; 256];
        let n = loop {
            match rustix::fs::lgetxattr(path, name_os, &mut value[..]) {
                Ok(n) => break n,
                Err(rustix::io::Errno::RANGE) => {
                    let need = rustix::fs::lgetxattr_query(path, name_os)
                        .map_err(|e| io("reading xattrs of", path)(e.into()))?;
                    value.resize(need.max(value.len() * 2), 0);
                }
                // Removed between listing and reading.
                Err(rustix::io::Errno::NODATA) => break usize::MAX,
                Err(e) => return Err(io("reading xattrs of", path)(e.into())),
            }
        };
        if n != usize::MAX {
            value.truncate(n);
            out.push((name.to_vec(), value));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn scan_reads_types_modes_links_and_sorts() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("usr/bin")).unwrap();
        std::fs::create_dir(r.join("empty")).unwrap();
        std::fs::write(r.join("usr/bin/tool"), b"abc").unwrap();
        std::fs::set_permissions(
            r.join("usr/bin/tool"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        std::fs::hard_link(r.join("usr/bin/tool"), r.join("usr/bin/tool2")).unwrap();
        std::os::unix::fs::symlink("usr/bin", r.join("bin")).unwrap();
        std::os::unix::net::UnixListener::bind(r.join("sock")).unwrap();
        let t = Tree::scan(r).unwrap();
        let paths: Vec<_> = t.nodes().iter().map(|n| n.path.clone()).collect();
        assert_eq!(
            paths,
            [
                "bin",
                "empty",
                "usr",
                "usr/bin",
                "usr/bin/tool",
                "usr/bin/tool2"
            ]
            .map(PathBuf::from)
        );
        let tool = t.node(t.find(Path::new("usr/bin/tool")).unwrap());
        assert_eq!(tool.kind, Kind::File { size: 3 });
        assert_eq!(tool.mode, 0o4755);
        assert_eq!(tool.nlink, 2);
        let tool2 = t.node(t.find(Path::new("usr/bin/tool2")).unwrap());
        assert_eq!(tool.inode, tool2.inode);
        assert_eq!(
            t.node(t.find(Path::new("bin")).unwrap()).kind,
            Kind::Symlink {
                target: "usr/bin".into()
            }
        );
        assert!(t.notes.iter().any(|n| n.contains("/sock is a socket")));
        assert_eq!(t.descendants(Path::new("usr")), 3..6);
        assert_eq!(t.descendants(Path::new("")), 0..6);
        assert!(t.find_dir(Path::new("empty")).is_some());
        assert!(t.find_dir(Path::new("bin")).is_none());
    }

    #[test]
    fn scan_reads_user_xattrs() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        // A file system without user xattrs fails the test rather than skipping it.
        rustix::fs::setxattr(&f, "user.hoist", b"v\0bin", rustix::fs::XattrFlags::empty())
            .expect("the temporary directory's file system must support user xattrs");
        let t = Tree::scan(d.path()).unwrap();
        assert_eq!(
            t.node(0).xattrs,
            vec![(b"user.hoist".to_vec(), b"v\0bin".to_vec())]
        );
    }

    #[test]
    fn scan_refuses_a_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f"), b"").unwrap();
        assert!(matches!(
            Tree::scan(&d.path().join("f")),
            Err(PackError::NotADirectory(_))
        ));
    }

    #[test]
    fn dev_numbers_split_like_glibc() {
        // makedev(8, 1), makedev(259, 65537) and makedev(4097, 0)
        assert_eq!(dev_numbers(0x801), (8, 1));
        let rdev = (259u64 << 8) | (65537u64 & 0xff) | ((65537u64 & !0xff) << 12);
        assert_eq!(dev_numbers(rdev), (259, 65537));
        let rdev = ((4097u64 & 0xfff) << 8) | ((4097u64 & !0xfff) << 32);
        assert_eq!(dev_numbers(rdev), (4097, 0));
    }
}

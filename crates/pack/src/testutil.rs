//! Helpers for unit tests: synthetic trees, and real ones on disk that look
//! like a Debian system (dpkg database, changelogs).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::tree::{Kind, Node, Tree};

fn node(path: &str, kind: Kind, mode: u32) -> Node {
    Node {
        path: PathBuf::from(path),
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000,
        xattrs: Vec::new(),
        inode: (
            1,
            path.len() as u64 * 7919 + path.bytes().map(u64::from).sum::<u64>(),
        ),
        nlink: 1,
    }
}

pub fn dir(path: &str) -> Node {
    node(path, Kind::Dir, 0o755)
}

pub fn file(path: &str, size: u64) -> Node {
    node(path, Kind::File { size }, 0o644)
}

pub fn link(path: &str, target: &str) -> Node {
    node(
        path,
        Kind::Symlink {
            target: target.into(),
        },
        0o777,
    )
}

pub fn tree(nodes: Vec<Node>) -> Tree {
    Tree::from_nodes(PathBuf::from("/nonexistent"), nodes, Vec::new())
}

/// A directory tree on disk under construction.
pub struct FakeRoot {
    pub dir: tempfile::TempDir,
}

impl FakeRoot {
    pub fn new() -> FakeRoot {
        FakeRoot {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` at `rel`, creating parents.
    pub fn write(&self, rel: &str, content: &[u8]) -> &FakeRoot {
        let p = self.path().join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        self
    }

    pub fn mkdir(&self, rel: &str) -> &FakeRoot {
        std::fs::create_dir_all(self.path().join(rel.trim_start_matches('/'))).unwrap();
        self
    }

    pub fn symlink(&self, rel: &str, target: &str) -> &FakeRoot {
        let p = self.path().join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
        self
    }

    /// Writes a gzip-compressed file.
    pub fn write_gz(&self, rel: &str, content: &str) -> &FakeRoot {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(content.as_bytes()).unwrap();
        self.write(rel, &enc.finish().unwrap())
    }

    /// Installs a fake dpkg package: its files (with `size` bytes each),
    /// its `.list` (directories included, as dpkg writes them), its
    /// `.md5sums` and a status paragraph.
    pub fn package(&self, name: &str, extra_status: &str, files: &[(&str, usize)]) -> &FakeRoot {
        let mut list = String::new();
        let mut dirs = std::collections::BTreeSet::new();
        for (f, size) in files {
            let mut p = Path::new(f).parent();
            while let Some(d) = p {
                if d != Path::new("/") && !d.as_os_str().is_empty() {
                    dirs.insert(d.to_path_buf());
                }
                p = d.parent();
            }
            let content: Vec<u8> = (0..*size)
                .map(|i| (i * 31 % 251) as u8 ^ name.len() as u8)
                .collect();
            self.write(f, &content);
        }
        list.push_str("/.\n");
        for d in &dirs {
            list.push_str(&format!("{}\n", d.display()));
        }
        for (f, _) in files {
            list.push_str(&format!("{f}\n"));
        }
        let base = name.split(':').next().unwrap();
        self.write(&format!("var/lib/dpkg/info/{name}.list"), list.as_bytes());
        self.write(&format!("var/lib/dpkg/info/{name}.md5sums"), b"00  x\n");
        let arch = name.split(':').nth(1).unwrap_or("amd64");
        let status = format!(
            "Package: {base}\nStatus: install ok installed\nArchitecture: {arch}\nVersion: 1.0\n{extra_status}"
        );
        let path = self.path().join("var/lib/dpkg/status");
        let mut old = std::fs::read_to_string(&path).unwrap_or_default();
        if !old.is_empty() {
            old.push('\n');
        }
        old.push_str(&status);
        if !old.ends_with('\n') {
            old.push('\n');
        }
        self.write("var/lib/dpkg/status", old.as_bytes());
        self
    }

    pub fn scan(&self) -> Tree {
        Tree::scan(self.path()).unwrap()
    }
}

/// A changelog.Debian with one entry per `(version, distribution, date)`, newest first.
pub fn changelog(pkg: &str, entries: &[(&str, &str, &str)]) -> String {
    let mut s = String::new();
    for (version, dist, date) in entries {
        s.push_str(&format!(
            "{pkg} ({version}) {dist}; urgency=medium\n\n  * Changes.\n\n -- Maint <m@example.org>  {date}\n\n"
        ));
    }
    s
}

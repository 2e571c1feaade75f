//! The per-file ideal cost of an update, the yardstick packed layers are
//! measured against: a client that could fetch single files would download
//! every new or changed file, each compressed alone, plus one 512-byte tar
//! header per new or changed entry. By default modification times are not
//! compared (rewriting a file with the same content is no change) and a
//! hardlinked file's content counts once; [`IdealOptions`] changes both.

use std::io::Write;

use crate::error::{io, Result};
use crate::tree::{Kind, Node, Tree};

/// What the ideal client downloads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdealCost {
    /// Compressed content plus headers.
    pub bytes: u64,
    /// Compressed content only.
    pub content_bytes: u64,
    /// New or changed entries.
    pub entries: u64,
}

const HEADER: u64 = 512;

/// How the ideal is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdealOptions {
    /// gzip level each file is compressed with.
    pub level: u32,
    /// A hardlinked file's content counts once (its other names cost a
    /// header each), rather than once per name.
    pub links_once: bool,
    /// A file whose modification time changed is changed, even with the
    /// same content (directories' times never count).
    pub mtimes: bool,
}

impl Default for IdealOptions {
    fn default() -> Self {
        IdealOptions {
            level: 6,
            links_once: true,
            mtimes: false,
        }
    }
}

/// The ideal cost of going from `old` to `new`.
pub fn ideal_update(old: &Tree, new: &Tree, opts: &IdealOptions) -> Result<IdealCost> {
    let mut cost = IdealCost::default();
    let mut counted_inodes = std::collections::HashSet::new();
    for (i, n) in new.nodes().iter().enumerate() {
        let before = old.find(&n.path).map(|j| (j, old.node(j)));
        if let Some((j, o)) = before {
            let mtime_changed = opts.mtimes && !n.is_dir() && o.mtime != n.mtime;
            if !mtime_changed && same(old, j, o, new, i, n)? {
                continue;
            }
        }
        cost.entries += 1;
        cost.bytes += HEADER;
        if let Kind::File { .. } = n.kind {
            if opts.links_once && n.nlink > 1 && !counted_inodes.insert(n.inode) {
                continue;
            }
            let path = new.host_path(i);
            let data = std::fs::read(&path).map_err(io("reading", &path))?;
            let z = gzip_size(&data, opts.level);
            cost.bytes += z;
            cost.content_bytes += z;
        }
    }
    Ok(cost)
}

fn same(old: &Tree, j: usize, o: &Node, new: &Tree, i: usize, n: &Node) -> Result<bool> {
    if o.kind != n.kind
        || o.mode != n.mode
        || o.uid != n.uid
        || o.gid != n.gid
        || o.xattrs != n.xattrs
    {
        return Ok(false);
    }
    if let Kind::File { .. } = n.kind {
        let (a, b) = (old.host_path(j), new.host_path(i));
        let da = std::fs::read(&a).map_err(io("reading", &a))?;
        let db = std::fs::read(&b).map_err(io("reading", &b))?;
        return Ok(da == db);
    }
    Ok(true)
}

/// Bytes of `data` as a gzip stream of its own.
pub fn gzip_size(data: &[u8], level: u32) -> u64 {
    let mut enc = flate2::write::GzEncoder::new(Counter(0), flate2::Compression::new(level.min(9)));
    // Writing into a counter cannot fail.
    let _ = enc.write_all(data);
    enc.finish().map(|c| c.0).unwrap_or(0)
}

struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::FakeRoot;

    #[test]
    fn counts_new_and_changed_entries_once() {
        let a = FakeRoot::new();
        a.write("same", b"same")
            .write("changed", b"one")
            .write("gone", b"x");
        let b = FakeRoot::new();
        b.write("same", b"same")
            .write("changed", b"two")
            .write("new", &[0u8; 10000]);
        std::fs::hard_link(b.path().join("new"), b.path().join("new2")).unwrap();
        b.symlink("link", "same");
        let opts = IdealOptions::default();
        let cost = ideal_update(&a.scan(), &b.scan(), &opts).unwrap();
        assert_eq!(cost.entries, 4, "changed, new, new2, link");
        let content = gzip_size(b"two", 6) + gzip_size(&[0u8; 10000], 6);
        assert_eq!(cost.content_bytes, content);
        assert_eq!(cost.bytes, content + 4 * 512);
        let per_path = IdealOptions {
            links_once: false,
            ..opts
        };
        let per_path = ideal_update(&a.scan(), &b.scan(), &per_path).unwrap();
        assert_eq!(
            per_path.content_bytes,
            content + gzip_size(&[0u8; 10000], 6)
        );
        assert_eq!(
            ideal_update(&a.scan(), &a.scan(), &opts).unwrap(),
            IdealCost::default()
        );
        // Same content, a new time: a change only when times count.
        let c = FakeRoot::new();
        c.write("same", b"same")
            .write("changed", b"one")
            .write("gone", b"x");
        let set_time = |name: &str, t: std::time::SystemTime| {
            std::fs::File::options()
                .write(true)
                .open(c.path().join(name))
                .unwrap()
                .set_modified(t)
                .unwrap()
        };
        for name in ["changed", "gone"] {
            set_time(
                name,
                std::fs::metadata(a.path().join(name))
                    .unwrap()
                    .modified()
                    .unwrap(),
            );
        }
        set_time(
            "same",
            std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
        );
        let (a, c) = (a.scan(), c.scan());
        assert_eq!(
            ideal_update(&a, &c, &opts).unwrap().entries,
            0,
            "only a time changed"
        );
        let with_times = IdealOptions {
            mtimes: true,
            ..opts
        };
        let cost = ideal_update(&a, &c, &with_times).unwrap();
        assert_eq!(cost.entries, 1);
        assert_eq!(cost.content_bytes, gzip_size(b"same", 6));
    }
}

//! Writing one layer as a reproducible tar+gzip stream: entries in path
//! order, the parents of every entry included (so each layer unpacks on its
//! own), numeric owners only, PAX records for extended attributes and long
//! names, fixed gzip settings (level, no name, mtime 0, OS "unknown"), and
//! times clamped to `SOURCE_DATE_EPOCH`. The same nodes of the same tree
//! always give the same bytes, hence the same digests.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use hoist_image::{Digest, Hasher};
use tar::{EntryType, Header};

use crate::error::{io, PackError, Result};
use crate::tree::{Kind, Node, Tree};

/// How layers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// `SOURCE_DATE_EPOCH`: later mtimes are clamped to it, and directories
    /// get it as their mtime.
    pub source_date_epoch: Option<i64>,
    /// gzip level, 0-9.
    pub level: u32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            source_date_epoch: None,
            level: 6,
        }
    }
}

/// The digests and sizes of a written layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenLayer {
    /// sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry.
    pub diff_id: Digest,
    /// sha256 of the gzip stream: the manifest's layer digest.
    pub digest: Digest,
    /// Bytes of the gzip stream.
    pub size: u64,
    /// Bytes of the tar stream.
    pub uncompressed_size: u64,
    /// Tar entries (PAX headers not counted).
    pub entries: u64,
}

/// Writes the layer holding `nodes` (tree indices, any order) and their
/// parent directories to `out`.
pub fn write_layer(
    tree: &Tree,
    nodes: &[usize],
    opts: &WriteOptions,
    out: impl Write,
) -> Result<WrittenLayer> {
    write_layer_with_whiteouts(tree, nodes, &[], opts, out)
}

/// Writes the layer holding `nodes` and their parent directories, then a
/// whiteout (`.wh.<name>`) for each of `whiteouts`: paths, relative to the
/// root, that lower layers hold and the tree no longer has. Each
/// whiteout's parent must be a directory of the tree.
pub fn write_layer_with_whiteouts(
    tree: &Tree,
    nodes: &[usize],
    whiteouts: &[PathBuf],
    opts: &WriteOptions,
    out: impl Write,
) -> Result<WrittenLayer> {
    let mut wanted = nodes.to_vec();
    wanted.extend(
        whiteouts
            .iter()
            .filter_map(|w| w.parent().and_then(|p| tree.find_dir(p))),
    );
    let entries = with_parents(tree, &wanted);
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(
            Hashing::new(out),
            flate2::Compression::new(opts.level.min(9)),
        );
    let mut builder = tar::Builder::new(Hashing::new(gz));
    let mut first_link: HashMap<(u64, u64), usize> = HashMap::new();
    let archive_err = |i: usize| {
        let path = tree.node(i).path.clone();
        move |source| PackError::Archive { path, source }
    };
    for &i in &entries {
        let node = tree.node(i);
        let link_to = match node.kind {
            Kind::File { .. } if node.nlink > 1 => match first_link.get(&node.inode) {
                Some(&f) => Some(f),
                None => {
                    first_link.insert(node.inode, i);
                    None
                }
            },
            _ => None,
        };
        let (header, pax) = header_for(node, link_to.map(|f| tree.node(f)), opts);
        append_pax(&mut builder, &pax).map_err(archive_err(i))?;
        match (&node.kind, link_to) {
            (Kind::File { size }, None) => {
                let path = tree.host_path(i);
                let file = File::open(&path).map_err(io("opening", &path))?;
                let mut reader = Exact::new(file, *size);
                let res = builder.append(&header, &mut reader);
                if let Some(actual) = reader.mismatch {
                    return Err(PackError::Changed {
                        path,
                        expected: *size,
                        actual,
                    });
                }
                res.map_err(archive_err(i))?;
            }
            _ => builder
                .append(&header, io::empty())
                .map_err(archive_err(i))?,
        }
    }
    for w in whiteouts {
        let wh_err = |source| PackError::Archive {
            path: w.clone(),
            source,
        };
        let (header, pax) = whiteout_header(w);
        append_pax(&mut builder, &pax).map_err(wh_err)?;
        builder.append(&header, io::empty()).map_err(wh_err)?;
    }
    let tar_hashing = builder.into_inner().map_err(archive_err(0))?;
    let uncompressed_size = tar_hashing.written;
    let diff_id = tar_hashing.hasher.finish();
    let gz_hashing = tar_hashing
        .inner
        .finish()
        .map_err(|source| PackError::Archive {
            path: tree.root().to_path_buf(),
            source,
        })?;
    Ok(WrittenLayer {
        diff_id,
        size: gz_hashing.written,
        digest: gz_hashing.hasher.finish(),
        uncompressed_size,
        entries: (entries.len() + whiteouts.len()) as u64,
    })
}

/// `nodes` and every directory above them, in tree (path) order.
pub fn with_parents(tree: &Tree, nodes: &[usize]) -> Vec<usize> {
    let mut all: BTreeSet<usize> = nodes.iter().copied().collect();
    for &i in nodes {
        let mut p = tree.node(i).path.parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            match tree.find(d) {
                Some(di) if !all.insert(di) => break,
                _ => {}
            }
            p = d.parent();
        }
    }
    all.into_iter().collect()
}

/// Appends a PAX extended header entry holding `pax`, unless it is empty.
fn append_pax<W: Write>(builder: &mut tar::Builder<W>, pax: &[u8]) -> io::Result<()> {
    if pax.is_empty() {
        return Ok(());
    }
    let mut h = Header::new_ustar();
    h.set_entry_type(EntryType::XHeader);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_size(pax.len() as u64);
    set_raw_name(&mut h, b"PaxHeader");
    h.set_cksum();
    builder.append(&h, pax)
}

/// The header of the OCI whiteout hiding `path` (an empty regular file
/// named `.wh.<name>` beside it), and the PAX records it needs.
fn whiteout_header(path: &Path) -> (Header, Vec<u8>) {
    let mut name = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| {
            let mut v = p.as_os_str().as_bytes().to_vec();
            v.push(b'/');
            v
        })
        .unwrap_or_default();
    name.extend_from_slice(b".wh.");
    name.extend_from_slice(path.file_name().unwrap_or_default().as_bytes());
    let mut h = Header::new_ustar();
    let _ = h.set_device_major(0);
    let _ = h.set_device_minor(0);
    h.set_entry_type(EntryType::Regular);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(0);
    h.set_mtime(0);
    let mut pax = Vec::new();
    set_path(&mut h, &mut pax, &name);
    h.set_cksum();
    (h, pax)
}

/// The ustar header of a node and the PAX records it needs.
fn header_for(node: &Node, link_to: Option<&Node>, opts: &WriteOptions) -> (Header, Vec<u8>) {
    let mut h = Header::new_ustar();
    // Readers parse the device fields of every entry: fill them with zeros.
    let _ = h.set_device_major(0);
    let _ = h.set_device_minor(0);
    let mut pax = Vec::new();
    let mtime = match (&node.kind, opts.source_date_epoch) {
        // Directory times record when dpkg last touched them, which every
        // package operation does: normalized, so layers stay the same.
        (Kind::Dir, sde) => sde.unwrap_or(0),
        (_, Some(sde)) => node.mtime.min(sde),
        (_, None) => node.mtime,
    }
    .max(0);
    let (kind, size, target): (EntryType, u64, Option<&[u8]>) = match (&node.kind, link_to) {
        (_, Some(first)) => (EntryType::Link, 0, Some(first.key())),
        (Kind::File { size }, None) => (EntryType::Regular, *size, None),
        (Kind::Dir, _) => (EntryType::Directory, 0, None),
        (Kind::Symlink { target }, _) => {
            (EntryType::Symlink, 0, Some(target.as_os_str().as_bytes()))
        }
        (Kind::CharDevice { major, minor }, _) => {
            let _ = h.set_device_major(*major);
            let _ = h.set_device_minor(*minor);
            (EntryType::Char, 0, None)
        }
        (Kind::BlockDevice { major, minor }, _) => {
            let _ = h.set_device_major(*major);
            let _ = h.set_device_minor(*minor);
            (EntryType::Block, 0, None)
        }
        (Kind::Fifo, _) => (EntryType::Fifo, 0, None),
    };
    h.set_entry_type(kind);
    h.set_mode(node.mode);
    set_path(&mut h, &mut pax, node.key());
    if let Some(t) = target {
        if t.len() <= 100 {
            h.as_ustar_mut().expect("ustar header").linkname[..t.len()].copy_from_slice(t);
        } else {
            pax_record(&mut pax, b"linkpath", t);
        }
    }
    // ustar's octal fields: 7 digits for ids, 11 for size and time.
    const MAX_ID: u64 = 0o7_777_777;
    const MAX_11: u64 = 0o77_777_777_777;
    for (key, value, set) in [
        ("uid", u64::from(node.uid), 0),
        ("gid", u64::from(node.gid), 1),
    ] {
        if value > MAX_ID {
            pax_record(&mut pax, key.as_bytes(), value.to_string().as_bytes());
        } else if set == 0 {
            h.set_uid(value);
        } else {
            h.set_gid(value);
        }
    }
    if size > MAX_11 {
        pax_record(&mut pax, b"size", size.to_string().as_bytes());
        h.set_size(0);
    } else {
        h.set_size(size);
    }
    let mtime = mtime as u64;
    if mtime > MAX_11 {
        pax_record(&mut pax, b"mtime", mtime.to_string().as_bytes());
        h.set_mtime(MAX_11);
    } else {
        h.set_mtime(mtime);
    }
    for (name, value) in &node.xattrs {
        let mut key = b"SCHILY.xattr.".to_vec();
        key.extend_from_slice(name);
        pax_record(&mut pax, &key, value);
    }
    h.set_cksum();
    (h, pax)
}

/// Puts `path` into the header, or, when it does not fit the ustar fields,
/// into a PAX record with its first 99 bytes in the name field.
fn set_path(h: &mut Header, pax: &mut Vec<u8>, path: &[u8]) {
    if !set_ustar_path(h, path) {
        pax_record(pax, b"path", path);
        set_raw_name(h, &path[..path.len().min(99)]);
    }
}

/// Puts `path` into the ustar name (and prefix) fields; false if it does not fit.
fn set_ustar_path(h: &mut Header, path: &[u8]) -> bool {
    let ustar = h.as_ustar_mut().expect("ustar header");
    if path.len() <= 100 {
        ustar.name[..path.len()].copy_from_slice(path);
        return true;
    }
    // Split at a slash: prefix up to 155 bytes, name up to 100.
    for (i, &b) in path.iter().enumerate().rev() {
        if b != b'/' {
            continue;
        }
        let (prefix, name) = (&path[..i], &path[i + 1..]);
        if name.len() > 100 || name.is_empty() {
            return false;
        }
        if prefix.len() <= 155 {
            ustar.prefix[..prefix.len()].copy_from_slice(prefix);
            ustar.name[..name.len()].copy_from_slice(name);
            return true;
        }
    }
    false
}

fn set_raw_name(h: &mut Header, name: &[u8]) {
    let ustar = h.as_ustar_mut().expect("ustar header");
    ustar.name = [0; 100];
    ustar.name[..name.len()].copy_from_slice(name);
}

/// Appends one PAX record, `"<len> <key>=<value>\n"`, where len counts
/// the whole record including its own digits.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let rest = key.len() + value.len() + 3; // space, '=', newline
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Counts and hashes what passes through.
struct Hashing<W> {
    inner: W,
    hasher: Hasher,
    written: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Hasher::sha256(),
            written: 0,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads exactly `size` bytes; records how many there really were when the
/// file shrank or grew since it was scanned (the archive would be corrupt).
struct Exact<R> {
    inner: R,
    left: u64,
    size: u64,
    mismatch: Option<u64>,
}

impl<R: Read> Exact<R> {
    fn new(inner: R, size: u64) -> Self {
        Exact {
            inner,
            left: size,
            size,
            mismatch: None,
        }
    }
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? != 0 {
                self.mismatch = Some(self.size + 1);
                return Err(io::Error::new(io::ErrorKind::InvalidData, "file grew"));
            }
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 && want > 0 {
            self.mismatch = Some(self.size - self.left);
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// Path, type, mtime, xattrs and link target of an entry.
    type Seen = (String, EntryType, u64, Vec<(String, Vec<u8>)>, String);

    fn entries(layer: &[u8]) -> Vec<Seen> {
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(layer));
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
                let link = e
                    .link_name_bytes()
                    .map(|l| String::from_utf8(l.into_owned()).unwrap())
                    .unwrap_or_default();
                let mut xattrs = Vec::new();
                if let Some(ext) = e.pax_extensions().unwrap() {
                    for r in ext {
                        let r = r.unwrap();
                        if let Some(n) = r.key().unwrap().strip_prefix("SCHILY.xattr.") {
                            xattrs.push((n.to_string(), r.value_bytes().to_vec()));
                        }
                    }
                }
                let h = e.header();
                (path, h.entry_type(), h.mtime().unwrap(), xattrs, link)
            })
            .collect()
    }

    fn sample() -> crate::testutil::FakeRoot {
        let r = crate::testutil::FakeRoot::new();
        r.write("usr/bin/tool", b"hello");
        r.write("usr/share/doc/x", b"doc");
        std::fs::hard_link(
            r.path().join("usr/bin/tool"),
            r.path().join("usr/bin/tool2"),
        )
        .unwrap();
        r.symlink("usr/bin/sh", "dash");
        let long = format!("usr/{}/{}", "d".repeat(120), "f".repeat(90));
        r.write(&long, b"long");
        r.symlink("usr/longlink", &"t".repeat(150));
        r
    }

    #[test]
    fn writes_parents_links_and_long_names_deterministically() {
        let r = sample();
        let t = r.scan();
        let pick: Vec<usize> = [
            "usr/bin/tool",
            "usr/bin/tool2",
            "usr/bin/sh",
            "usr/longlink",
        ]
        .iter()
        .map(|p| t.find(Path::new(p)).unwrap())
        .chain(t.descendants(Path::new(&format!("usr/{}", "d".repeat(120)))))
        .collect();
        let opts = WriteOptions {
            source_date_epoch: Some(1000),
            level: 6,
        };
        let mut a = Vec::new();
        let wa = write_layer(&t, &pick, &opts, &mut a).unwrap();
        let mut b = Vec::new();
        let wb = write_layer(&t, &pick, &opts, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(wa, wb);
        assert_eq!(wa.digest, Digest::sha256_of(&a));
        assert_eq!(wa.size, a.len() as u64);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&a[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(wa.diff_id, Digest::sha256_of(&tar));
        assert_eq!(wa.uncompressed_size, tar.len() as u64);
        let got = entries(&a);
        let names: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
        let long_dir = format!("usr/{}", "d".repeat(120));
        let long_file = format!("{long_dir}/{}", "f".repeat(90));
        assert_eq!(
            names,
            [
                "usr",
                "usr/bin",
                "usr/bin/sh",
                "usr/bin/tool",
                "usr/bin/tool2",
                &long_dir,
                &long_file,
                "usr/longlink"
            ]
        );
        // Directories get SOURCE_DATE_EPOCH, files are clamped to it.
        assert!(got.iter().all(|e| e.2 == 1000));
        let tool2 = &got[4];
        assert_eq!(
            (tool2.1, tool2.4.as_str()),
            (EntryType::Link, "usr/bin/tool")
        );
        assert_eq!(got[7].4, "t".repeat(150));
        assert_eq!(got[2].4, "dash");
        assert_eq!(wa.entries, 8);
    }

    #[test]
    fn without_source_date_epoch_files_keep_their_mtime() {
        let r = sample();
        let t = r.scan();
        let i = t.find(Path::new("usr/share/doc/x")).unwrap();
        let mut out = Vec::new();
        write_layer(&t, &[i], &WriteOptions::default(), &mut out).unwrap();
        let got = entries(&out);
        assert_eq!(got[0].2, 0, "directories are normalized");
        assert_eq!(got[3].0, "usr/share/doc/x");
        assert_eq!(got[3].2 as i64, t.node(i).mtime);
    }

    #[test]
    fn modes_and_xattrs_are_kept() {
        let r = crate::testutil::FakeRoot::new();
        r.write("f", b"x");
        std::fs::set_permissions(r.path().join("f"), std::fs::Permissions::from_mode(0o4711))
            .unwrap();
        let has_xattr = rustix::fs::setxattr(
            r.path().join("f"),
            "user.k",
            b"\x01\x02",
            rustix::fs::XattrFlags::empty(),
        )
        .is_ok();
        let t = r.scan();
        let mut out = Vec::new();
        write_layer(&t, &[0], &WriteOptions::default(), &mut out).unwrap();
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(&out[..]));
        let e = a.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(e.header().mode().unwrap(), 0o4711);
        if has_xattr {
            assert_eq!(entries(&out)[0].3, vec![("user.k".to_string(), vec![1, 2])]);
        }
    }

    #[test]
    fn a_file_that_changed_size_is_an_error() {
        let r = crate::testutil::FakeRoot::new();
        r.write("f", b"abc");
        let t = r.scan();
        r.write("f", b"abcdef");
        let e = write_layer(&t, &[0], &WriteOptions::default(), Vec::new()).unwrap_err();
        assert!(matches!(e, PackError::Changed { expected: 3, .. }), "{e}");
        r.write("f", b"a");
        let e = write_layer(&t, &[0], &WriteOptions::default(), Vec::new()).unwrap_err();
        assert!(
            matches!(
                e,
                PackError::Changed {
                    expected: 3,
                    actual: 1,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn pax_record_lengths_count_themselves() {
        let mut v = Vec::new();
        pax_record(&mut v, b"path", b"abc");
        assert_eq!(v, b"12 path=abc\n");
        let mut v = Vec::new();
        pax_record(&mut v, b"k", &[b'x'; 94]);
        // 98 bytes besides the length: two digits would make 100, which has three.
        assert_eq!(std::str::from_utf8(&v[..4]).unwrap(), "101 ");
        assert_eq!(v.len(), 101);
    }
}

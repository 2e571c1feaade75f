//! Layers and blobs for the unit tests.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use super::footer::footer_bytes;
use super::{read_chunk, EstargzBlob};
use crate::source::RangeSource;
use crate::toc::TOC_TAR_NAME;

/// Bytes that do not compress away, so chunks have real members.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_mtime(1_700_000_000);
    h
}

/// Appends an entry under exactly `name` (the tar crate's own helpers
/// would normalize `./a` to `a`; real layers use both spellings).
fn append_raw(b: &mut tar::Builder<Vec<u8>>, h: &mut tar::Header, name: &str, data: &[u8]) {
    if name.len() > 100 {
        // Needs a long-name extension: let the tar crate write one.
        b.append_data(h, name, data).unwrap();
        return;
    }
    let field = &mut h.as_old_mut().name;
    field.fill(0);
    field[..name.len()].copy_from_slice(name.as_bytes());
    h.set_cksum();
    b.append(h, data).unwrap();
}

fn append_link(b: &mut tar::Builder<Vec<u8>>, h: &mut tar::Header, name: &str, target: &str) {
    h.set_link_name_literal(target).unwrap();
    append_raw(b, h, name, b"");
}

/// The regular files of a layer (cleaned name to content), what reading
/// them back must give.
pub type Files = BTreeMap<String, Vec<u8>>;

/// A layer with every kind of entry hoist must carry: directories, a file
/// over many chunks (with `chunk` = 1000), one of exactly two chunks,
/// symlinks, a hard link, empty files, whiteouts, xattrs, a long name,
/// a fifo and a device, owners with names.
pub fn sample_layer() -> (Vec<u8>, Files) {
    let mut b = tar::Builder::new(Vec::new());
    let mut files = Files::new();
    let dir = |b: &mut tar::Builder<Vec<u8>>, name: &str| {
        let mut h = header(tar::EntryType::Directory, 0o755);
        h.set_size(0);
        append_raw(b, &mut h, name, b"");
    };
    let file = |b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8], files: &mut Files| {
        let mut h = header(tar::EntryType::Regular, 0o644);
        h.set_size(data.len() as u64);
        append_raw(b, &mut h, name, data);
        files.insert(super::names::clean(name), data.to_vec());
    };
    dir(&mut b, "./");
    dir(&mut b, "./etc/");
    let mut h = header(tar::EntryType::Regular, 0o600);
    h.set_uid(1000);
    h.set_gid(1000);
    h.set_username("alice").unwrap();
    h.set_groupname("staff").unwrap();
    let passwd = b"root:x:0:0:root:/root:/bin/sh\n";
    h.set_size(passwd.len() as u64);
    append_raw(&mut b, &mut h, "./etc/passwd", passwd);
    files.insert("etc/passwd".into(), passwd.to_vec());
    file(&mut b, "./etc/.wh..wh..opq", b"", &mut files);
    dir(&mut b, "./bin/");
    let big = pseudo_random(10_500, 1);
    file(&mut b, "./bin/big", &big, &mut files);
    file(&mut b, "./bin/exact", &pseudo_random(2000, 2), &mut files);
    let mut h = header(tar::EntryType::Symlink, 0o777);
    h.set_size(0);
    append_link(&mut b, &mut h, "./bin/sh", "big");
    let mut h = header(tar::EntryType::Link, 0o644);
    h.set_size(0);
    append_link(&mut b, &mut h, "./bin/hard", "./bin/big");
    files.insert("bin/hard".into(), big.clone());
    file(&mut b, "./empty", b"", &mut files);
    file(&mut b, "./.wh.gone", b"", &mut files);
    b.append_pax_extensions([
        ("SCHILY.xattr.user.note", &b"hello"[..]),
        ("SCHILY.xattr.security.capability", &[1u8, 0, 0, 2][..]),
    ])
    .unwrap();
    file(&mut b, "./xattr", b"with xattrs", &mut files);
    let long = format!("./deep/{}/file", "d".repeat(120));
    file(&mut b, &long, &pseudo_random(1500, 3), &mut files);
    let mut h = header(tar::EntryType::Fifo, 0o600);
    h.set_size(0);
    append_raw(&mut b, &mut h, "./fifo", b"");
    let mut h = header(tar::EntryType::Char, 0o600);
    h.set_size(0);
    h.set_device_major(1).unwrap();
    h.set_device_minor(3).unwrap();
    append_raw(&mut b, &mut h, "./null", b"");
    (b.into_inner().unwrap(), files)
}

/// A file's bytes, read chunk by chunk through the blob's ranges.
pub fn read_file(src: &dyn RangeSource, blob: &EstargzBlob, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for c in &blob.chunks()[name] {
        let member = src.read_range(c.blob_range.clone()).unwrap();
        out.extend(read_chunk(&member, c).unwrap());
    }
    out
}

/// The regular files of an opened blob, by cleaned name (landmarks too).
pub fn read_all_files(src: &dyn RangeSource, blob: &EstargzBlob) -> Files {
    blob.chunks()
        .keys()
        .map(|name| (super::names::clean(name), read_file(src, blob, name)))
        .collect()
}

/// The whole blob gunzipped (every member).
pub fn gunzip_all(blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(blob)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// One gzip member holding `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A tar header block of a regular file.
pub fn tar_header(name: &str, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_path(name).unwrap();
    h.set_size(size);
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// `prefix` followed by a TOC member holding `toc_json` and the footer.
pub fn blob_with_toc(prefix: &[u8], toc_json: &[u8]) -> Vec<u8> {
    let mut tar = tar_header(TOC_TAR_NAME, toc_json.len() as u64);
    tar.extend_from_slice(toc_json);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    let mut blob = prefix.to_vec();
    blob.extend(gzip(&tar));
    blob.extend(footer_bytes(prefix.len() as u64));
    blob
}

/// A blob in memory that counts the requests made of it and keeps the
/// ranges asked for.
pub struct Counted {
    pub blob: Vec<u8>,
    pub requests: std::sync::atomic::AtomicUsize,
    pub asked: std::sync::Mutex<Vec<std::ops::Range<u64>>>,
}

impl Counted {
    pub fn new(blob: Vec<u8>) -> Counted {
        Counted {
            blob,
            requests: Default::default(),
            asked: Default::default(),
        }
    }

    /// The requests made so far.
    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl RangeSource for Counted {
    fn size(&self) -> u64 {
        self.blob.len() as u64
    }

    fn read_ranges(&self, ranges: &[std::ops::Range<u64>]) -> std::io::Result<Vec<Vec<u8>>> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.asked.lock().unwrap().extend(ranges.iter().cloned());
        self.blob.read_ranges(ranges)
    }
}

/// A blob of 100 bytes whose every read fails with this message.
pub struct Failing(pub &'static str);

impl RangeSource for Failing {
    fn size(&self) -> u64 {
        100
    }

    fn read_ranges(&self, _: &[std::ops::Range<u64>]) -> std::io::Result<Vec<Vec<u8>>> {
        Err(std::io::Error::other(self.0))
    }
}

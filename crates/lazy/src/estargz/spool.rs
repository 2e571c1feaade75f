//! Spooling the input layer to a temporary file and indexing its entries.
//!
//! Reordering a layer (prioritized files first) needs random access to it,
//! and layers can be gigabytes, so the uncompressed tar goes to a temporary
//! file; the index keeps, per entry, where its raw header blocks (with any
//! PAX or GNU long-name blocks) and its data are, plus what the TOC needs.
//! Headers are later copied byte for byte, so no metadata is lost.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::compression::{decompressed, LayerCompression};
use super::{names, FormatError};
use crate::toc::{EntryType, NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, TOC_TAR_NAME};

const XATTR_PAX_PREFIX: &str = "SCHILY.xattr.";

/// What the TOC records of one tar entry.
#[derive(Debug, Clone)]
pub(crate) struct EntryMeta {
    /// The name as the tar spells it.
    pub name: String,
    pub kind: EntryType,
    pub link_name: String,
    pub size: u64,
    pub mode: i64,
    pub uid: i64,
    pub gid: i64,
    pub uname: String,
    pub gname: String,
    /// Seconds since the epoch, rounded.
    pub mtime: i64,
    pub dev_major: i64,
    pub dev_minor: i64,
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

/// One entry of the spooled tar.
#[derive(Debug, Clone)]
pub(crate) struct SpooledEntry {
    /// Its header blocks, extension headers included.
    pub header: Range<u64>,
    /// Where its data starts (`meta.size` bytes, then padding).
    pub data_start: u64,
    pub meta: EntryMeta,
    /// The cleaned name, and for hard links the cleaned target.
    pub clean: String,
    pub clean_link: Option<String>,
}

/// The uncompressed input tar in a temporary file, and its entries.
pub(crate) struct SpooledLayer {
    file: File,
    pub compression: LayerCompression,
    pub entries: Vec<SpooledEntry>,
}

impl SpooledLayer {
    /// Copies `input` (gzip, zstd or plain tar) to a temporary file in `dir`
    /// (or the system's temporary directory) and indexes it.
    pub fn new(input: impl Read, dir: Option<&Path>) -> Result<SpooledLayer, FormatError> {
        let file = match dir {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        }
        .map_err(FormatError::Spool)?;
        let (compression, mut tar) =
            decompressed(BufReader::with_capacity(256 << 10, input)).map_err(FormatError::Input)?;
        let mut w = BufWriter::with_capacity(256 << 10, &file);
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = match tar.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FormatError::Input(e)),
            };
            w.write_all(&buf[..n]).map_err(FormatError::Spool)?;
        }
        w.flush().map_err(FormatError::Spool)?;
        drop(w);
        let entries = index(&file)?;
        Ok(SpooledLayer {
            file,
            compression,
            entries,
        })
    }

    /// Reads `range` of the spooled tar into memory (headers: small).
    pub fn read(&self, range: Range<u64>) -> Result<Vec<u8>, FormatError> {
        let mut buf = vec![0u8; (range.end - range.start) as usize];
        self.file
            .read_exact_at(&mut buf, range.start)
            .map_err(FormatError::Spool)?;
        Ok(buf)
    }

    /// A reader of `len` bytes of the spooled tar from `start`.
    pub fn reader(&self, start: u64, len: u64) -> impl Read + '_ {
        SpoolReader {
            file: &self.file,
            pos: start,
            end: start + len,
        }
    }
}

struct SpoolReader<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for SpoolReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (self.end - self.pos).min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "spooled layer ends early",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

fn padded(size: u64) -> Option<u64> {
    size.checked_add(511).map(|s| s & !511)
}

/// Lists the entries of the spooled tar.
fn index(file: &File) -> Result<Vec<SpooledEntry>, FormatError> {
    let spooled_len = file.metadata().map_err(FormatError::Spool)?.len();
    let mut reader = BufReader::with_capacity(64 << 10, file);
    reader
        .seek(SeekFrom::Start(0))
        .map_err(FormatError::Spool)?;
    let mut archive = tar::Archive::new(reader);
    let mut out = Vec::new();
    let mut next_start = 0u64;
    let entries = archive.entries_with_seek().map_err(FormatError::Input)?;
    for entry in entries {
        let mut entry = entry.map_err(FormatError::Input)?;
        let start = next_start;
        let data_start = entry.raw_file_position();
        let size = entry.size();
        next_start = padded(size)
            .and_then(|p| data_start.checked_add(p))
            .ok_or_else(|| FormatError::Input(io::Error::other("tar entry size overflows")))?;
        let name = String::from_utf8(entry.path_bytes().into_owned()).map_err(|e| {
            FormatError::InputEntry {
                entry: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                reason: "the name is not UTF-8, which the eStargz TOC (JSON) cannot hold".into(),
            }
        })?;
        if data_start.saturating_add(size) > spooled_len {
            return Err(FormatError::InputEntry {
                entry: name,
                reason: format!("the tar ends inside this entry's {size} bytes of data"),
            });
        }
        let ty = entry.header().entry_type();
        let kind = match ty {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryType::Reg,
            tar::EntryType::Directory => EntryType::Dir,
            tar::EntryType::Symlink => EntryType::Symlink,
            tar::EntryType::Link => EntryType::Hardlink,
            tar::EntryType::Char => EntryType::Char,
            tar::EntryType::Block => EntryType::Block,
            tar::EntryType::Fifo => EntryType::Fifo,
            tar::EntryType::XGlobalHeader => {
                tracing::warn!(entry = %name, "dropping a PAX global header from the layer");
                continue;
            }
            other => {
                return Err(FormatError::InputEntry {
                    entry: name,
                    reason: format!(
                        "tar entry type {:?} ({other:?}) is not supported by eStargz",
                        ty.as_byte() as char
                    ),
                })
            }
        };
        let clean = names::clean(&name);
        if clean == TOC_TAR_NAME || clean == PREFETCH_LANDMARK || clean == NO_PREFETCH_LANDMARK {
            // A layer converted before: its TOC and landmark are rewritten.
            tracing::debug!(entry = %name, "dropping an eStargz entry from the input layer");
            continue;
        }
        // What the reader would refuse must not be written in the first place.
        if let Some(reason) = names::unsafe_reason(&name) {
            return Err(FormatError::InputEntry {
                entry: name,
                reason: reason.into(),
            });
        }
        if clean.is_empty() && kind != EntryType::Dir {
            return Err(FormatError::InputEntry {
                entry: name,
                reason: "only a directory may be the layer's root".into(),
            });
        }
        let meta = entry_meta(&mut entry, name, kind, size)?;
        let clean_link = (kind == EntryType::Hardlink).then(|| names::clean(&meta.link_name));
        if kind == EntryType::Hardlink {
            let no_target = meta
                .link_name
                .is_empty()
                .then_some("the hard link has no target");
            if let Some(reason) = no_target.or(names::unsafe_reason(&meta.link_name)) {
                return Err(FormatError::InputEntry {
                    entry: meta.name,
                    reason: reason.into(),
                });
            }
        }
        out.push(SpooledEntry {
            header: start..data_start,
            data_start,
            meta,
            clean,
            clean_link,
        });
    }
    Ok(out)
}

fn entry_meta<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    name: String,
    kind: EntryType,
    size: u64,
) -> Result<EntryMeta, FormatError> {
    let bad = |name: &str, what: &str, e: &dyn std::fmt::Display| FormatError::InputEntry {
        entry: name.to_string(),
        reason: format!("invalid {what}: {e}"),
    };
    let h = entry.header();
    let link_name = match entry.link_name_bytes() {
        Some(l) if matches!(kind, EntryType::Symlink | EntryType::Hardlink) => {
            String::from_utf8(l.into_owned()).map_err(|e| FormatError::InputEntry {
                entry: name.clone(),
                reason: format!(
                    "link target {:?} is not UTF-8",
                    String::from_utf8_lossy(e.as_bytes())
                ),
            })?
        }
        _ => String::new(),
    };
    let old = h.as_old();
    let mode = or_blank(h.mode(), &old.mode).map_err(|e| bad(&name, "mode", &e))?;
    // uid and gid from PAX records are already applied by the tar crate.
    let uid = or_blank(h.uid(), &old.uid).map_err(|e| bad(&name, "uid", &e))?;
    let gid = or_blank(h.gid(), &old.gid).map_err(|e| bad(&name, "gid", &e))?;
    let mut mtime = or_blank(h.mtime(), &old.mtime).map_err(|e| bad(&name, "mtime", &e))? as i64;
    let mut uname = String::from_utf8_lossy(h.username_bytes().unwrap_or_default()).into_owned();
    let mut gname = String::from_utf8_lossy(h.groupname_bytes().unwrap_or_default()).into_owned();
    let (dev_major, dev_minor) = if matches!(kind, EntryType::Char | EntryType::Block) {
        let (raw_major, raw_minor) = match (h.as_ustar(), h.as_gnu()) {
            (Some(u), _) => (u.dev_major, u.dev_minor),
            (None, Some(g)) => (g.dev_major, g.dev_minor),
            (None, None) => ([0; 8], [0; 8]),
        };
        (
            or_blank(h.device_major(), &raw_major)
                .map_err(|e| bad(&name, "device major", &e))?
                .unwrap_or(0),
            or_blank(h.device_minor(), &raw_minor)
                .map_err(|e| bad(&name, "device minor", &e))?
                .unwrap_or(0),
        )
    } else {
        (0, 0)
    };
    let mut xattrs = BTreeMap::new();
    if let Some(pax) = entry
        .pax_extensions()
        .map_err(|e| bad(&name, "PAX header", &e))?
    {
        for ext in pax {
            let ext = ext.map_err(|e| bad(&name, "PAX record", &e))?;
            let Ok(key) = ext.key() else { continue };
            if let Some(attr) = key.strip_prefix(XATTR_PAX_PREFIX) {
                xattrs.insert(attr.to_string(), ext.value_bytes().to_vec());
            } else if key == "uname" {
                uname = String::from_utf8_lossy(ext.value_bytes()).into_owned();
            } else if key == "gname" {
                gname = String::from_utf8_lossy(ext.value_bytes()).into_owned();
            } else if key == "mtime" {
                if let Some(t) = ext.value().ok().and_then(pax_time) {
                    mtime = t;
                }
            }
        }
    }
    let to_i64 = |what: &str, v: u64| {
        i64::try_from(v).map_err(|_| FormatError::InputEntry {
            entry: name.clone(),
            reason: format!("{what} {v} is out of range"),
        })
    };
    to_i64("size", size)?;
    Ok(EntryMeta {
        kind,
        link_name,
        size,
        mode: i64::from(mode),
        uid: to_i64("uid", uid)?,
        gid: to_i64("gid", gid)?,
        uname,
        gname,
        mtime,
        dev_major: i64::from(dev_major),
        dev_minor: i64::from(dev_minor),
        xattrs,
        name,
    })
}

/// A numeric header field, where a field of only NULs and spaces (some
/// writers leave unused fields so) means 0, as Go's tar reader takes it.
fn or_blank<T: Default>(parsed: io::Result<T>, raw: &[u8]) -> io::Result<T> {
    match parsed {
        Err(_) if raw.iter().all(|b| *b == 0 || *b == b' ') => Ok(T::default()),
        other => other,
    }
}

/// A PAX time (`[-]seconds[.fraction]`) rounded to whole seconds, halves up.
fn pax_time(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let round_up = frac.as_bytes().first().is_some_and(|d| *d >= b'5');
    Some(if round_up && !s.starts_with('-') {
        secs + 1
    } else {
        secs
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times() {
        assert_eq!(pax_time("1700000000"), Some(1_700_000_000));
        assert_eq!(pax_time("1700000000.4999"), Some(1_700_000_000));
        assert_eq!(pax_time("1700000000.5"), Some(1_700_000_001));
        assert_eq!(pax_time("-5.2"), Some(-5));
        assert_eq!(pax_time("x"), None);
    }

    #[test]
    fn indexes_raw_header_ranges() {
        let mut b = tar::Builder::new(Vec::new());
        let long = format!("dir/{}", "n".repeat(150));
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
        b.append_pax_extensions([("SCHILY.xattr.user.k", &b"v"[..])])
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.as_old_mut().name[..3].copy_from_slice(b"./x");
        h.set_cksum();
        b.append(&h, &b""[..]).unwrap();
        let raw = b.into_inner().unwrap();
        let s = SpooledLayer::new(&raw[..], None).unwrap();
        assert_eq!(s.compression, LayerCompression::Uncompressed);
        assert_eq!(s.entries.len(), 2);
        let a = &s.entries[0];
        assert_eq!(a.meta.name, long);
        assert_eq!(a.header.start, 0);
        assert!(a.header.end > 512, "the GNU long name blocks are included");
        let mut data = Vec::new();
        s.reader(a.data_start, a.meta.size)
            .read_to_end(&mut data)
            .unwrap();
        assert_eq!(data, b"abc");
        let x = &s.entries[1];
        assert_eq!(x.clean, "x");
        assert_eq!(x.header.start, a.data_start + 512);
        assert_eq!(x.meta.xattrs["user.k"], b"v");
        // The header bytes alone parse back to the same entry.
        let hdr = s.read(x.header.clone()).unwrap();
        let mut again = tar::Archive::new(&hdr[..]);
        let e = again.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(&*e.path_bytes(), b"./x");
    }
}

//! Converting an OCI layer into an eStargz blob.
//!
//! The layout follows the reference writer: each entry's tar header goes
//! into the open gzip member; a regular file's content starts a new member
//! at every chunk (`chunk_size` bytes, 4 MiB by default) and its padding and
//! the following headers continue the last one. A landmark file marks the
//! end of the prioritized files (`.prefetch.landmark`) or says there are none
//! (`.no.prefetch.landmark`, first). The TOC follows as the last tar entry in
//! a member of its own, then the footer. The result is still an ordinary
//! `tar.gz`: gunzipping it yields the layer with the landmark and TOC added.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::path::PathBuf;

use hoist_image::{Digest, Hasher};

use super::footer::footer_bytes;
use super::members::MemberWriter;
use super::order::plan;
use super::spool::{EntryMeta, SpooledLayer};
use super::FormatError;
use crate::toc::{
    EntryType, Toc, TocEntry, DEFAULT_CHUNK_SIZE, NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK,
    TOC_DIGEST_ANNOTATION, TOC_TAR_NAME, UNCOMPRESSED_SIZE_ANNOTATION,
};

/// The content of both landmark files (one byte, as the reference writes).
const LANDMARK_CONTENT: u8 = 0x0f;

/// How to convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Largest piece of a file in one gzip member; 0 means the default,
    /// [`DEFAULT_CHUNK_SIZE`] (4 MiB).
    pub chunk_size: u64,
    /// Paths of files to put first, in this order (as `/usr/bin/sh`,
    /// `usr/bin/sh` or `./usr/bin/sh`). Paths not in the layer are ignored
    /// with a warning and listed in [`Converted::missing_prioritized`].
    pub prioritized: Vec<String>,
    /// Gzip level, 0 to 9. The reference writer uses 9.
    pub compression_level: u32,
    /// Where to spool the uncompressed layer; the system's temporary
    /// directory when `None`.
    pub spool_dir: Option<PathBuf>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            prioritized: Vec::new(),
            compression_level: 9,
            spool_dir: None,
        }
    }
}

/// What [`convert`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// `sha256:` of the blob as written (the layer descriptor's digest).
    pub blob_digest: Digest,
    pub blob_size: u64,
    /// `sha256:` of the decompressed blob (the image config's diff ID).
    pub diff_id: Digest,
    /// `sha256:` of the TOC JSON (the `toc.digest` annotation).
    pub toc_digest: Digest,
    /// Size of the decompressed blob, TOC entry included.
    pub uncompressed_size: u64,
    /// Prioritized paths that are not in the layer.
    pub missing_prioritized: Vec<String>,
}

impl Converted {
    /// The layer annotations that make the blob usable lazily.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                TOC_DIGEST_ANNOTATION.to_string(),
                self.toc_digest.to_string(),
            ),
            (
                UNCOMPRESSED_SIZE_ANNOTATION.to_string(),
                self.uncompressed_size.to_string(),
            ),
        ])
    }
}

/// Converts the layer `input_tar` (plain tar, gzip or zstd) into an eStargz
/// blob written to `out`.
///
/// The uncompressed layer is spooled to a temporary file first, so memory
/// use does not grow with the layer's size.
pub fn convert(
    input_tar: impl Read,
    out: impl Write,
    opts: &ConvertOptions,
) -> Result<Converted, FormatError> {
    if opts.compression_level > 9 {
        return Err(FormatError::Options(format!(
            "compression level {} is not between 0 and 9",
            opts.compression_level
        )));
    }
    let chunk_size = match opts.chunk_size {
        0 => DEFAULT_CHUNK_SIZE,
        n => n,
    };
    let layer = SpooledLayer::new(input_tar, opts.spool_dir.as_deref())?;
    let plan = plan(&layer.entries, &opts.prioritized);
    tracing::debug!(
        entries = layer.entries.len(),
        prioritized = plan.prioritized,
        input = ?layer.compression,
        "converting layer to eStargz"
    );

    let mut w = BlobWriter {
        out: MemberWriter::new(out, opts.compression_level),
        chunk_size,
        toc: Vec::new(),
        unames: HashMap::new(),
        gnames: HashMap::new(),
    };
    let (landmark, at) = if plan.prioritized == 0 {
        (NO_PREFETCH_LANDMARK, 0)
    } else {
        (PREFETCH_LANDMARK, plan.prioritized)
    };
    for (pos, &i) in plan.order.iter().enumerate() {
        if pos == at {
            w.landmark(landmark)?;
        }
        let e = &layer.entries[i];
        let header = layer.read(e.header.clone())?;
        w.entry(&header, &e.meta, layer.reader(e.data_start, e.meta.size))?;
    }
    if plan.order.len() == at {
        w.landmark(landmark)?;
    }
    let toc_digest = w.finish_toc()?;
    let totals = w.out.finish().map_err(FormatError::Output)?;
    Ok(Converted {
        blob_digest: totals.blob_digest,
        blob_size: totals.blob_size,
        diff_id: totals.diff_id,
        toc_digest,
        uncompressed_size: totals.uncompressed_size,
        missing_prioritized: plan.missing,
    })
}

struct BlobWriter<W: Write> {
    out: MemberWriter<W>,
    chunk_size: u64,
    toc: Vec<TocEntry>,
    /// The last user and group name written per id: like the reference,
    /// a name is only written when it changes for its id.
    unames: HashMap<i64, String>,
    gnames: HashMap<i64, String>,
}

impl<W: Write> BlobWriter<W> {
    fn write(&mut self, data: &[u8]) -> Result<(), FormatError> {
        self.out.write_tar(data).map_err(FormatError::Output)
    }

    fn pad(&mut self, size: u64) -> Result<(), FormatError> {
        let rem = (size % 512) as usize;
        if rem != 0 {
            self.write(&[0u8; 512][..512 - rem])?;
        }
        Ok(())
    }

    /// Writes one entry: raw header blocks, then data, and its TOC entries.
    fn entry(
        &mut self,
        header: &[u8],
        meta: &EntryMeta,
        mut data: impl Read,
    ) -> Result<(), FormatError> {
        self.write(header)?;
        let mut t = self.toc_entry(meta);
        if meta.kind != EntryType::Reg {
            // Links or directories rarely carry data, but when they do it is
            // part of the tar and is copied as is.
            self.copy(&mut data, meta.size, None)?;
            self.pad(meta.size)?;
            self.toc.push(t);
            return Ok(());
        }
        let mut file_hash = Hasher::sha256();
        let first = self.toc.len();
        let mut written = 0;
        while written < meta.size {
            let rest = meta.size - written;
            let len = rest.min(self.chunk_size);
            if rest >= self.chunk_size {
                t.chunk_size = to_i64(self.chunk_size);
            }
            t.offset = to_i64(self.out.end_member().map_err(FormatError::Output)?);
            t.chunk_offset = to_i64(written);
            let mut chunk_hash = Hasher::sha256();
            self.copy(&mut data, len, Some((&mut chunk_hash, &mut file_hash)))?;
            t.chunk_digest = chunk_hash.finish().to_string();
            self.toc.push(t);
            written += len;
            t = TocEntry::new(meta.name.clone(), EntryType::Chunk);
        }
        if meta.size == 0 {
            self.toc.push(t);
        }
        self.toc[first].digest = file_hash.finish().to_string();
        self.pad(meta.size)
    }

    /// Copies `len` bytes of entry data into the tar stream.
    fn copy(
        &mut self,
        data: &mut impl Read,
        len: u64,
        mut hashes: Option<(&mut Hasher, &mut Hasher)>,
    ) -> Result<(), FormatError> {
        let mut buf = vec![0u8; (len.min(256 << 10)) as usize];
        let mut left = len;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = match data.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(FormatError::Spool(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "entry data ends early",
                    )))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FormatError::Spool(e)),
            };
            if let Some((a, b)) = hashes.as_mut() {
                a.update(&buf[..n]);
                b.update(&buf[..n]);
            }
            self.write(&buf[..n])?;
            left -= n as u64;
        }
        Ok(())
    }

    fn toc_entry(&mut self, meta: &EntryMeta) -> TocEntry {
        let mut t = TocEntry::new(meta.name.clone(), meta.kind);
        t.mode = meta.mode;
        t.uid = meta.uid;
        t.gid = meta.gid;
        t.user_name = name_if_changed(&mut self.unames, meta.uid, &meta.uname);
        t.group_name = name_if_changed(&mut self.gnames, meta.gid, &meta.gname);
        t.mod_time = rfc3339(meta.mtime);
        t.xattrs = meta.xattrs.clone();
        match meta.kind {
            EntryType::Reg => t.size = to_i64(meta.size),
            EntryType::Symlink | EntryType::Hardlink => t.link_name = meta.link_name.clone(),
            EntryType::Char | EntryType::Block => {
                t.dev_major = meta.dev_major;
                t.dev_minor = meta.dev_minor;
            }
            _ => {}
        }
        t
    }

    /// Writes a landmark file: a regular file of one byte, owned by root.
    fn landmark(&mut self, name: &str) -> Result<(), FormatError> {
        let header = plain_header(name, 1);
        let meta = EntryMeta {
            name: name.to_string(),
            kind: EntryType::Reg,
            link_name: String::new(),
            size: 1,
            mode: 0,
            uid: 0,
            gid: 0,
            uname: String::new(),
            gname: String::new(),
            mtime: 0,
            dev_major: 0,
            dev_minor: 0,
            xattrs: BTreeMap::new(),
        };
        self.entry(header.as_bytes(), &meta, &[LANDMARK_CONTENT][..])
    }

    /// Writes the TOC entry in a member of its own, then the footer;
    /// returns the TOC digest.
    fn finish_toc(&mut self) -> Result<Digest, FormatError> {
        let toc = Toc {
            version: 1,
            entries: std::mem::take(&mut self.toc),
        };
        let json = toc_json(&toc).map_err(|e| FormatError::Output(io::Error::other(e)))?;
        let toc_offset = self.out.end_member().map_err(FormatError::Output)?;
        self.write(plain_header(TOC_TAR_NAME, json.len() as u64).as_bytes())?;
        self.write(&json)?;
        self.pad(json.len() as u64)?;
        // The end-of-archive marker: the TOC is the tar's last entry.
        self.write(&[0u8; 1024])?;
        self.out
            .write_raw(&footer_bytes(toc_offset))
            .map_err(FormatError::Output)?;
        Ok(Digest::sha256_of(&json))
    }
}

/// The TOC as indented JSON (tabs, as the reference writes it).
fn toc_json(toc: &Toc) -> serde_json::Result<Vec<u8>> {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    toc.serialize(&mut ser)?;
    Ok(out)
}

/// A ustar header of a root-owned regular file with mode 0 and mtime 0.
fn plain_header(name: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    // Short ASCII names only, so this cannot fail.
    let _ = h.set_path(name);
    h.set_size(size);
    h.set_mode(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    h
}

fn name_if_changed(last: &mut HashMap<i64, String>, id: i64, name: &str) -> String {
    if name.is_empty() || last.get(&id).map(String::as_str) == Some(name) {
        return String::new();
    }
    last.insert(id, name.to_string());
    name.to_string()
}

/// The TOC's modification time: UTC, whole seconds; empty for the epoch
/// itself (the reference treats it as unknown).
fn rfc3339(secs: i64) -> String {
    if secs == 0 {
        return String::new();
    }
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => String::new(),
    }
}

/// Sizes and offsets fit in i64 for any file a filesystem can hold.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;

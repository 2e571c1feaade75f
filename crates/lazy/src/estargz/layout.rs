//! Where every chunk of every regular file is, computed from an untrusted
//! TOC and checked on the way.
//!
//! A `reg` entry with content describes the file and its first chunk; the
//! `chunk` entries right after it (same name) describe the rest. A chunk's
//! compressed bytes run from its member's start (`offset`) to the start of
//! the next member that holds file data, or to the TOC. Several small files
//! may share a member (newer writers); `innerOffset` then says where each
//! begins inside the decompressed member.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Bound, Range};

use hoist_image::Digest;

use super::{names, FormatError};
use crate::toc::{ChunkRef, EntryType, Toc, TocEntry, PREFETCH_LANDMARK};

/// Deflate cannot expand a byte into more than 1032 (a 258-byte match costs
/// at least 2 bits); a chunk claiming more data than its member could hold
/// is a lie, caught here before anyone allocates for it.
const MAX_INFLATE_RATIO: u64 = 1032;

/// What the reader keeps from the TOC.
pub(crate) struct Layout {
    pub chunks: BTreeMap<String, Vec<ChunkRef>>,
    pub prefetch: Option<Range<u64>>,
}

/// A regular file whose chunks are being collected.
struct OpenFile<'a> {
    entry: &'a TocEntry,
    clean: String,
    size: u64,
    chunks: Vec<ChunkRef>,
}

pub(crate) fn compute(toc: &Toc, toc_offset: u64) -> Result<Layout, FormatError> {
    let member_starts = member_starts(toc, toc_offset)?;
    let mut chunks = BTreeMap::new();
    let mut all = Vec::new();
    let mut open: Option<OpenFile> = None;
    let mut prefetch = None;

    for e in &toc.entries {
        if let Some(reason) = names::unsafe_reason(&e.name) {
            return Err(FormatError::entry(&e.name, reason));
        }
        if e.kind == EntryType::Chunk {
            let file = open.as_mut().ok_or_else(|| {
                FormatError::entry(&e.name, "a chunk entry does not follow a reg entry")
            })?;
            if !e.name.is_empty() && names::clean(&e.name) != file.clean {
                return Err(FormatError::entry(
                    &e.name,
                    format!("chunk entry follows reg entry {:?}", file.entry.name),
                ));
            }
            let c = chunk_of(e, file, &member_starts, toc_offset)?;
            file.chunks.push(c);
            continue;
        }
        if let Some(file) = open.take() {
            finish(file, &mut chunks, &mut all)?;
        }
        check_common(e)?;
        if e.kind == EntryType::Reg {
            let size = non_negative(e, "size", e.size)?;
            let clean = names::clean(&e.name);
            if clean.is_empty() {
                return Err(FormatError::entry(&e.name, "a regular file has no name"));
            }
            if clean == PREFETCH_LANDMARK && size > 0 && e.offset > 0 {
                prefetch = Some(0..non_negative(e, "offset", e.offset)?);
            }
            let mut file = OpenFile {
                entry: e,
                clean,
                size,
                chunks: Vec::new(),
            };
            if size > 0 {
                let c = chunk_of(e, &file, &member_starts, toc_offset)?;
                file.chunks.push(c);
            }
            open = Some(file);
        }
    }
    if let Some(file) = open.take() {
        finish(file, &mut chunks, &mut all)?;
    }
    check_no_overlap(all)?;
    Ok(Layout { chunks, prefetch })
}

/// The sorted start offsets of all members holding file data.
fn member_starts(toc: &Toc, toc_offset: u64) -> Result<BTreeSet<u64>, FormatError> {
    let mut starts = BTreeSet::new();
    for e in &toc.entries {
        let data = match e.kind {
            EntryType::Chunk => true,
            EntryType::Reg => e.size > 0,
            _ => false,
        };
        if !data {
            continue;
        }
        let off = non_negative(e, "offset", e.offset)?;
        if off >= toc_offset {
            return Err(FormatError::entry(
                &e.name,
                format!("data offset {off} is not before the TOC at {toc_offset}"),
            ));
        }
        starts.insert(off);
    }
    Ok(starts)
}

/// Checks the fields every non-chunk entry must get right.
fn check_common(e: &TocEntry) -> Result<(), FormatError> {
    if e.kind == EntryType::Hardlink {
        if e.link_name.is_empty() {
            return Err(FormatError::entry(&e.name, "a hard link without a target"));
        }
        if let Some(reason) = names::unsafe_reason(&e.link_name) {
            return Err(FormatError::entry(
                &e.name,
                format!("hard link target {:?}: {reason}", e.link_name),
            ));
        }
    }
    if e.kind != EntryType::Dir && names::clean(&e.name).is_empty() {
        return Err(FormatError::entry(
            &e.name,
            "only a directory may be the root",
        ));
    }
    Ok(())
}

/// The chunk an entry (`reg` or `chunk`) describes, checked against the file.
fn chunk_of(
    e: &TocEntry,
    file: &OpenFile,
    member_starts: &BTreeSet<u64>,
    toc_offset: u64,
) -> Result<ChunkRef, FormatError> {
    let name = &file.entry.name;
    let file_offset = non_negative(e, "chunkOffset", e.chunk_offset)?;
    let expected = file.chunks.last().map_or(0, |c| c.file_offset + c.len);
    if file_offset != expected {
        return Err(FormatError::entry(
            name,
            format!(
                "chunk at file offset {file_offset} where the previous chunk ends at {expected} \
                 (chunks must be contiguous and not overlap)"
            ),
        ));
    }
    if file_offset >= file.size {
        return Err(FormatError::entry(
            name,
            format!(
                "chunk at file offset {file_offset} is past the file's size {}",
                file.size
            ),
        ));
    }
    let rest = file.size - file_offset;
    let len = match non_negative(e, "chunkSize", e.chunk_size)? {
        0 => rest,
        n if n > rest => {
            return Err(FormatError::entry(
                name,
                format!(
                    "chunk of {n} bytes at file offset {file_offset} runs past the file's \
                     size {}",
                    file.size
                ),
            ))
        }
        n => n,
    };
    let start = non_negative(e, "offset", e.offset)?;
    let end = member_starts
        .range((Bound::Excluded(start), Bound::Unbounded))
        .next()
        .copied()
        .unwrap_or(toc_offset);
    let inner_offset = non_negative(e, "innerOffset", e.inner_offset)?;
    let capacity = (end - start).saturating_mul(MAX_INFLATE_RATIO);
    if inner_offset.saturating_add(len) > capacity {
        return Err(FormatError::entry(
            name,
            format!(
                "chunk claims {len} bytes at {inner_offset} in a member of {} compressed bytes, \
                 more than it can hold",
                end - start
            ),
        ));
    }
    let digest = if !e.chunk_digest.is_empty() {
        Some(parse_digest(name, "chunkDigest", &e.chunk_digest)?)
    } else if file_offset == 0 && len == file.size && !file.entry.digest.is_empty() {
        // A file in one chunk: the file digest is the chunk digest.
        Some(parse_digest(name, "digest", &file.entry.digest)?)
    } else {
        None
    };
    Ok(ChunkRef {
        file_offset,
        len,
        blob_range: start..end,
        inner_offset,
        digest,
    })
}

/// Closes a file: its chunks must cover it exactly.
fn finish(
    file: OpenFile,
    chunks: &mut BTreeMap<String, Vec<ChunkRef>>,
    all: &mut Vec<(u64, Range<u64>, String)>,
) -> Result<(), FormatError> {
    let covered = file.chunks.last().map_or(0, |c| c.file_offset + c.len);
    if covered != file.size {
        return Err(FormatError::entry(
            &file.entry.name,
            format!("chunks cover {covered} of the file's {} bytes", file.size),
        ));
    }
    if !file.entry.digest.is_empty() {
        parse_digest(&file.entry.name, "digest", &file.entry.digest)?;
    }
    for c in &file.chunks {
        all.push((
            c.blob_range.start,
            c.inner_offset..c.inner_offset + c.len,
            file.entry.name.clone(),
        ));
    }
    // A later entry of the same name replaces the earlier one, as a later
    // tar entry overwrites an earlier one when unpacking.
    chunks.insert(file.entry.name.clone(), file.chunks);
    Ok(())
}

/// No two chunks may claim the same decompressed bytes of a member.
fn check_no_overlap(mut all: Vec<(u64, Range<u64>, String)>) -> Result<(), FormatError> {
    all.sort_by_key(|(start, inner, _)| (*start, inner.start));
    for pair in all.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.0 == b.0 && a.1.end > b.1.start {
            return Err(FormatError::entry(
                &b.2,
                format!(
                    "its data overlaps that of {:?} in the member at offset {}",
                    a.2, a.0
                ),
            ));
        }
    }
    Ok(())
}

fn non_negative(e: &TocEntry, field: &str, v: i64) -> Result<u64, FormatError> {
    u64::try_from(v).map_err(|_| FormatError::entry(&e.name, format!("negative {field} {v}")))
}

fn parse_digest(name: &str, field: &str, s: &str) -> Result<Digest, FormatError> {
    s.parse()
        .map_err(|e| FormatError::entry(name, format!("{field}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn reg(name: &str, size: i64, offset: i64) -> TocEntry {
        let mut e = TocEntry::new(name, EntryType::Reg);
        e.size = size;
        e.offset = offset;
        e.chunk_digest = D.into();
        e
    }

    fn chunk(name: &str, offset: i64, chunk_offset: i64, chunk_size: i64) -> TocEntry {
        let mut e = TocEntry::new(name, EntryType::Chunk);
        e.offset = offset;
        e.chunk_offset = chunk_offset;
        e.chunk_size = chunk_size;
        e.chunk_digest = D.into();
        e
    }

    fn toc(entries: Vec<TocEntry>) -> Toc {
        Toc {
            version: 1,
            entries,
        }
    }

    #[test]
    fn ranges_run_to_the_next_member() {
        let mut a = reg("./a", 10, 100);
        a.chunk_size = 4;
        let t = toc(vec![
            TocEntry::new("d/", EntryType::Dir),
            a,
            chunk("./a", 150, 4, 4),
            chunk("./a", 170, 8, 0),
            reg("empty", 0, 0),
            reg(PREFETCH_LANDMARK, 1, 300),
            reg("b", 5, 400),
        ]);
        let l = compute(&t, 1000).unwrap();
        let a = &l.chunks["./a"];
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].blob_range, 100..150);
        assert_eq!((a[1].file_offset, a[1].len), (4, 4));
        assert_eq!(a[1].blob_range, 150..170);
        assert_eq!((a[2].file_offset, a[2].len), (8, 2));
        assert_eq!(a[2].blob_range, 170..300);
        assert!(l.chunks["empty"].is_empty());
        assert_eq!(l.chunks["b"][0].blob_range, 400..1000);
        assert_eq!(l.prefetch, Some(0..300));
    }

    #[test]
    fn shared_members_use_inner_offsets() {
        let mut b = reg("b", 5, 100);
        b.inner_offset = 1024;
        let t = toc(vec![reg("a", 10, 100), b, reg("c", 3, 200)]);
        let l = compute(&t, 300).unwrap();
        assert_eq!(l.chunks["a"][0].blob_range, 100..200);
        assert_eq!(l.chunks["b"][0].blob_range, 100..200);
        assert_eq!(l.chunks["b"][0].inner_offset, 1024);
        assert_eq!(l.prefetch, None);
    }

    #[test]
    fn single_chunk_file_falls_back_to_the_file_digest() {
        let mut a = reg("a", 10, 100);
        a.chunk_digest.clear();
        a.digest = D.into();
        let l = compute(&toc(vec![a.clone()]), 200).unwrap();
        assert_eq!(l.chunks["a"][0].digest.as_ref().unwrap().to_string(), D);
        a.digest.clear();
        let l = compute(&toc(vec![a]), 200).unwrap();
        assert!(l.chunks["a"][0].digest.is_none());
    }

    fn err(entries: Vec<TocEntry>, toc_offset: u64) -> String {
        match compute(&toc(entries), toc_offset) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn hostile_tocs_are_rejected() {
        assert!(err(vec![reg("a", 10, 500)], 400).contains("not before the TOC"));
        assert!(err(vec![reg("a", -1, 5)], 400).contains("negative size"));
        assert!(err(vec![reg("a", i64::MAX, 5)], 400).contains("more than it can hold"));
        assert!(err(vec![reg("../a", 1, 5)], 400).contains(".."));
        let mut l = TocEntry::new("l", EntryType::Hardlink);
        l.link_name = "a/../../x".into();
        assert!(err(vec![l], 400).contains("hard link target"));
        // Chunks that do not add up, overlap, or leave a gap.
        let mut a = reg("a", 10, 5);
        a.chunk_size = 4;
        assert!(err(vec![a.clone()], 400).contains("cover 4 of"));
        assert!(err(vec![a.clone(), chunk("a", 50, 2, 0)], 400).contains("contiguous"));
        assert!(err(vec![a.clone(), chunk("a", 50, 6, 0)], 400).contains("contiguous"));
        assert!(err(vec![a.clone(), chunk("a", 50, 4, 9)], 400).contains("runs past"));
        assert!(err(vec![a, chunk("b", 50, 4, 0)], 400).contains("follows reg"));
        assert!(err(vec![chunk("a", 50, 0, 0)], 400).contains("does not follow"));
        // Two files claiming the same bytes of one member.
        assert!(err(vec![reg("a", 10, 5), reg("b", 10, 5)], 400).contains("overlaps"));
        let mut b = reg("b", 10, 5);
        b.inner_offset = 9;
        assert!(err(vec![reg("a", 10, 5), b], 400).contains("overlaps"));
        let mut bad = reg("a", 1, 5);
        bad.chunk_digest = "md5:abc".into();
        assert!(err(vec![bad], 400).contains("chunkDigest"));
    }
}

//! Opening an eStargz blob: footer, TOC, verification, chunk map.

use std::collections::BTreeMap;
use std::ops::Range;

use hoist_image::Digest;

use super::footer::{parse_footer, LEGACY_FOOTER_SIZE};
use super::toc_member::{toc_json, MAX_TOC_MEMBER_BYTES};
use super::{layout, FormatError};
use crate::source::RangeSource;
use crate::toc::{ChunkRef, Toc, MAX_TOC_BYTES};

/// An opened eStargz blob: its verified, validated TOC and where every
/// chunk of every regular file lies.
///
/// Opening reads the end of the blob, which holds the footer and usually
/// the whole TOC member, and a second range only when the TOC starts
/// before it; file contents are fetched later, chunk by chunk, by the
/// caller.
#[derive(Debug, Clone)]
pub struct EstargzBlob {
    toc: Toc,
    toc_json: Vec<u8>,
    toc_digest: Digest,
    toc_offset: u64,
    blob_size: u64,
    chunks: BTreeMap<String, Vec<ChunkRef>>,
    prefetch: Option<Range<u64>>,
}

/// How many bytes of a blob's end the first read takes. Besides the footer
/// it brings the TOC member whenever that is no larger, saving the round
/// trip of a second request. A TOC member took 1/267 of the 122 MB layer of
/// bench/lazy.sh's python image; the read takes a 128th of the blob, at
/// least 64 KiB (the TOCs of small layers) and at most 512 KiB. When the TOC
/// is longer, every byte read is part of it and the second request only
/// fetches the rest, so nothing is lost; when it is shorter, what was read
/// in vain takes at most about 40 ms at 100 Mbit/s, less than the round
/// trip it saves on such a link.
fn first_read_len(size: u64) -> u64 {
    (size / 128).clamp(64 << 10, 512 << 10).min(size)
}

/// The TOC member `range`: out of `tail` (the blob from `tail_start` on)
/// when it lies there, else with one more read for the part before it.
fn toc_member(
    src: &dyn RangeSource,
    tail: &[u8],
    tail_start: u64,
    range: Range<u64>,
) -> Result<Vec<u8>, FormatError> {
    let in_tail =
        |r: Range<u64>| &tail[(r.start - tail_start) as usize..(r.end - tail_start) as usize];
    if range.start >= tail_start {
        return Ok(in_tail(range).to_vec());
    }
    let mut member =
        src.read_range(range.start..tail_start)
            .map_err(|source| FormatError::Read {
                what: "TOC",
                source,
            })?;
    member.extend_from_slice(in_tail(tail_start..range.end));
    Ok(member)
}

impl EstargzBlob {
    /// Opens the blob `src`. With `expected_toc_digest` (the layer's
    /// `containerd.io/snapshot/stargz/toc.digest` annotation) the TOC JSON
    /// must hash to it; without, the TOC is only as trustworthy as the
    /// source of the blob.
    pub fn open(
        src: &dyn RangeSource,
        expected_toc_digest: Option<&Digest>,
    ) -> Result<EstargzBlob, FormatError> {
        let first = EstargzBlob::first_read(src.size())?;
        let tail = src.read_range(first).map_err(|source| FormatError::Read {
            what: "footer",
            source,
        })?;
        EstargzBlob::open_after_first_read(src, &tail, expected_toc_digest)
    }

    /// The range of a blob of `size` bytes that [`EstargzBlob::open`] reads
    /// first: its end, with the footer and, most often, the whole TOC. A
    /// caller that can send this request sooner than a blocking open would
    /// (a pull, before other requests take its warm connection) reads it
    /// and goes on with [`EstargzBlob::open_after_first_read`].
    pub fn first_read(size: u64) -> Result<Range<u64>, FormatError> {
        if size < LEGACY_FOOTER_SIZE as u64 {
            return Err(FormatError::TooSmall {
                size,
                min: LEGACY_FOOTER_SIZE as u64,
            });
        }
        Ok(size - first_read_len(size)..size)
    }

    /// [`EstargzBlob::open`], given the bytes of its first read
    /// ([`EstargzBlob::first_read`]); reads the rest of a longer TOC from `src`.
    pub fn open_after_first_read(
        src: &dyn RangeSource,
        tail: &[u8],
        expected_toc_digest: Option<&Digest>,
    ) -> Result<EstargzBlob, FormatError> {
        let size = src.size();
        let first = EstargzBlob::first_read(size)?;
        if tail.len() as u64 != first.end - first.start {
            return Err(FormatError::Read {
                what: "footer",
                source: std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the blob's last {} bytes were asked for, {} came",
                        first.end - first.start,
                        tail.len()
                    ),
                ),
            });
        }
        let tail_start = first.start;
        let (toc_offset, footer_len) = parse_footer(tail)?;
        let toc_end = size - footer_len as u64;
        if toc_offset >= toc_end {
            return Err(FormatError::TocOffset {
                toc_offset,
                blob_size: size,
            });
        }
        if toc_end - toc_offset > MAX_TOC_MEMBER_BYTES {
            return Err(FormatError::TocTooLarge {
                limit: MAX_TOC_BYTES,
            });
        }
        let member = toc_member(src, tail, tail_start, toc_offset..toc_end)?;
        let json = toc_json(&member)?;
        if let Some(expected) = expected_toc_digest {
            let actual = expected.same_algorithm_of(&json);
            if &actual != expected {
                return Err(FormatError::TocDigestMismatch {
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        let blob = EstargzBlob::build(json, toc_offset, size)?;
        tracing::debug!(
            toc_offset,
            toc_digest = %blob.toc_digest,
            entries = blob.toc.entries.len(),
            "opened eStargz blob"
        );
        Ok(blob)
    }

    /// Reopens a blob from a TOC kept from an earlier [`EstargzBlob::open`]
    /// (the caller verified it then). The TOC is validated again.
    pub fn from_parts(
        toc_json: &[u8],
        toc_offset: u64,
        blob_size: u64,
    ) -> Result<EstargzBlob, FormatError> {
        if toc_offset >= blob_size {
            return Err(FormatError::TocOffset {
                toc_offset,
                blob_size,
            });
        }
        EstargzBlob::build(toc_json.to_vec(), toc_offset, blob_size)
    }

    fn build(json: Vec<u8>, toc_offset: u64, blob_size: u64) -> Result<EstargzBlob, FormatError> {
        if json.len() as u64 > MAX_TOC_BYTES {
            return Err(FormatError::TocTooLarge {
                limit: MAX_TOC_BYTES,
            });
        }
        let toc: Toc = serde_json::from_slice(&json).map_err(FormatError::TocJson)?;
        let layout = layout::compute(&toc, toc_offset)?;
        Ok(EstargzBlob {
            toc_digest: Digest::sha256_of(&json),
            toc,
            toc_json: json,
            toc_offset,
            blob_size,
            chunks: layout.chunks,
            prefetch: layout.prefetch,
        })
    }

    /// The parsed TOC.
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// The TOC JSON exactly as stored in the blob (what the digest covers).
    pub fn toc_json(&self) -> &[u8] {
        &self.toc_json
    }

    /// `sha256:` of the TOC JSON.
    pub fn toc_digest(&self) -> &Digest {
        &self.toc_digest
    }

    /// Where the TOC's gzip member begins; all file data lies before it.
    pub fn toc_offset(&self) -> u64 {
        self.toc_offset
    }

    /// The size of the whole blob.
    pub fn blob_size(&self) -> u64 {
        self.blob_size
    }

    /// The chunks of every regular file, keyed by the entry's name exactly
    /// as the TOC spells it, in file order. Empty files map to no chunks.
    pub fn chunks(&self) -> &BTreeMap<String, Vec<ChunkRef>> {
        &self.chunks
    }

    /// The blob bytes holding the prioritized files (everything before the
    /// `.prefetch.landmark` member), if the blob marks any.
    pub fn prefetch_range(&self) -> Option<Range<u64>> {
        self.prefetch.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::estargz::footer::{footer_bytes, FOOTER_SIZE};
    use crate::estargz::testutil::{blob_with_toc, gzip, read_file, tar_header, Counted, Failing};
    use crate::toc::{EntryType, TocEntry};

    /// A small valid blob: one file `f` holding `hello`.
    fn one_file(entry: impl FnOnce(&mut TocEntry)) -> Vec<u8> {
        let mut prefix = gzip(&tar_header("f", 5));
        let at = prefix.len();
        let mut data = b"hello".to_vec();
        data.resize(512, 0);
        prefix.extend(gzip(&data));
        let mut e = TocEntry::new("f", EntryType::Reg);
        e.size = 5;
        e.offset = at as i64;
        e.chunk_digest = Digest::sha256_of(b"hello").to_string();
        entry(&mut e);
        let toc = Toc {
            version: 1,
            entries: vec![e],
        };
        blob_with_toc(&prefix, &serde_json::to_vec(&toc).unwrap())
    }

    fn open_err(blob: Vec<u8>) -> FormatError {
        EstargzBlob::open(&blob, None).unwrap_err()
    }

    #[test]
    fn opens_and_reopens_from_parts() {
        let blob = one_file(|_| {});
        let b = EstargzBlob::open(&blob, None).unwrap();
        assert_eq!(read_file(&blob, &b, "f"), b"hello");
        assert_eq!(b.blob_size(), blob.len() as u64);
        let again = EstargzBlob::from_parts(b.toc_json(), b.toc_offset(), b.blob_size()).unwrap();
        assert_eq!(again.chunks(), b.chunks());
        assert_eq!(again.toc_digest(), b.toc_digest());
        assert!(matches!(
            EstargzBlob::from_parts(b.toc_json(), 10, 10),
            Err(FormatError::TocOffset { .. })
        ));
    }

    #[test]
    fn legacy_footer_blobs_open() {
        let blob = one_file(|_| {});
        let b = EstargzBlob::open(&blob, None).unwrap();
        let mut legacy = blob[..blob.len() - FOOTER_SIZE].to_vec();
        let payload = format!("{:016x}STARGZ", b.toc_offset());
        let footer = flate2::GzBuilder::new()
            .extra(payload.into_bytes())
            .write(Vec::new(), flate2::Compression::none())
            .finish()
            .unwrap();
        assert_eq!(footer.len(), LEGACY_FOOTER_SIZE);
        legacy.extend(footer);
        let l = EstargzBlob::open(&legacy, None).unwrap();
        assert_eq!(l.toc_digest(), b.toc_digest());
        assert_eq!(read_file(&legacy, &l, "f"), b"hello");
    }

    #[test]
    fn hostile_blobs_are_errors() {
        assert!(matches!(
            open_err(vec![0; 10]),
            FormatError::TooSmall { .. }
        ));
        assert!(matches!(open_err(vec![0; 100]), FormatError::Footer { .. }));
        // The footer points past the TOC area.
        let mut blob = one_file(|_| {});
        let n = blob.len();
        blob.truncate(n - FOOTER_SIZE);
        blob.extend(footer_bytes(n as u64));
        assert!(matches!(open_err(blob), FormatError::TocOffset { .. }));
        // The footer points at file data instead of the TOC.
        let mut blob = one_file(|_| {});
        let n = blob.len();
        blob.truncate(n - FOOTER_SIZE);
        blob.extend(footer_bytes(0));
        assert!(matches!(open_err(blob), FormatError::TocMember { .. }));
        // A TOC that is not JSON, or not a TOC.
        let blob = blob_with_toc(&gzip(b"x"), b"{not json");
        assert!(matches!(open_err(blob), FormatError::TocJson(_)));
        let blob = blob_with_toc(&gzip(b"x"), br#"{"version":1,"entries":[{"type":"nope"}]}"#);
        assert!(matches!(open_err(blob), FormatError::TocJson(_)));
        // Entries pointing past the TOC, claiming huge sizes, escaping.
        for (edit, want) in [
            (
                Box::new(|e: &mut TocEntry| e.offset = 1 << 40) as Box<dyn FnOnce(&mut TocEntry)>,
                "not before the TOC",
            ),
            (
                Box::new(|e: &mut TocEntry| e.size = 1 << 50),
                "more than it can hold",
            ),
            (Box::new(|e: &mut TocEntry| e.size = -5), "negative size"),
            (Box::new(|e: &mut TocEntry| e.chunk_size = 9), "runs past"),
            (
                Box::new(|e: &mut TocEntry| e.name = "a/../../f".into()),
                "..",
            ),
        ] {
            let err = open_err(one_file(edit)).to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    /// A blob that claims to be huge: only its end may be read, and a TOC
    /// range beyond the limit must be refused before it is fetched.
    struct Huge;

    impl RangeSource for Huge {
        fn size(&self) -> u64 {
            10 << 30
        }

        fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
            ranges
                .iter()
                .map(|r| {
                    if r.end == self.size() && r.end - r.start == first_read_len(self.size()) {
                        let mut tail = vec![0; (r.end - r.start) as usize - FOOTER_SIZE];
                        tail.extend(footer_bytes(0));
                        Ok(tail)
                    } else {
                        panic!("read of {r:?} from a hostile blob")
                    }
                })
                .collect()
        }
    }

    /// A blob whose TOC lists `n` directories with names that compress
    /// badly, so that the TOC member is large.
    fn many_dirs(n: usize) -> Vec<u8> {
        let entries = (0..n)
            .map(|i| {
                let name = Digest::sha256_of(&i.to_le_bytes()).to_string();
                TocEntry::new(&name[7..47], EntryType::Dir)
            })
            .collect();
        let toc = Toc {
            version: 1,
            entries,
        };
        blob_with_toc(&gzip(b"x"), &serde_json::to_vec(&toc).unwrap())
    }

    #[test]
    fn a_toc_at_the_end_comes_in_the_footers_request() {
        let small = Counted::new(one_file(|_| {}));
        let b = EstargzBlob::open(&small, None).unwrap();
        assert_eq!(small.requests(), 1);
        assert_eq!(read_file(&small.blob, &b, "f"), b"hello");
        // A TOC longer than the first read: one more request, for the
        // part before it, and the same TOC as reading it whole.
        let big = Counted::new(many_dirs(6000));
        let toc_len = big.blob.len() as u64 - FOOTER_SIZE as u64 - toc_offset_of(&big.blob);
        assert!(toc_len > first_read_len(big.blob.len() as u64), "{toc_len}");
        let b = EstargzBlob::open(&big, None).unwrap();
        assert_eq!(big.requests(), 2);
        assert_eq!(b.toc().entries.len(), 6000);
        let whole = &big.blob[b.toc_offset() as usize..big.blob.len() - FOOTER_SIZE];
        assert_eq!(b.toc_json(), toc_json(whole).unwrap());
    }

    #[test]
    fn a_first_read_made_elsewhere_opens_the_same_blob() {
        let small = Counted::new(one_file(|_| {}));
        let first = EstargzBlob::first_read(small.size()).unwrap();
        let small_tail = small.blob[first.start as usize..].to_vec();
        let b = EstargzBlob::open_after_first_read(&small, &small_tail, None).unwrap();
        assert_eq!(small.requests(), 0, "the TOC was in the first read");
        assert_eq!(
            b.toc_json(),
            EstargzBlob::open(&small, None).unwrap().toc_json()
        );
        // The longer TOC: only the part before the first read is fetched.
        let big = Counted::new(many_dirs(6000));
        let first = EstargzBlob::first_read(big.size()).unwrap();
        let tail = big.blob[first.start as usize..].to_vec();
        let b = EstargzBlob::open_after_first_read(&big, &tail, None).unwrap();
        assert_eq!(b.toc().entries.len(), 6000);
        let asked = big.asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 1, "one request: {asked:?}");
        assert_eq!(
            asked[0],
            b.toc_offset()..first.start,
            "for what the first read lacked"
        );
        // A first read of the wrong length is refused, not misparsed.
        let err = EstargzBlob::open_after_first_read(&small, &small_tail[1..], None).unwrap_err();
        assert!(matches!(err, FormatError::Read { .. }), "{err}");
        assert!(matches!(
            EstargzBlob::first_read(10),
            Err(FormatError::TooSmall { .. })
        ));
    }

    /// The TOC offset a blob's footer names.
    fn toc_offset_of(blob: &[u8]) -> u64 {
        parse_footer(blob).unwrap().0
    }

    #[test]
    fn first_reads_cover_the_footer_and_stay_within_the_blob() {
        for size in [47, 51, 1000, 64 << 10, 10 << 20, 10 << 30] {
            let len = first_read_len(size);
            assert!(len <= size && len >= size.min(64 << 10), "{size}: {len}");
            assert!(len <= 512 << 10);
        }
        assert_eq!(first_read_len(32 << 20), 256 << 10);
    }

    #[test]
    fn huge_toc_ranges_are_not_fetched() {
        assert!(matches!(
            EstargzBlob::open(&Huge, None),
            Err(FormatError::TocTooLarge { .. })
        ));
    }

    #[test]
    fn read_errors_are_reported() {
        let err = EstargzBlob::open(&Failing("network down"), None).unwrap_err();
        assert!(matches!(err, FormatError::Read { what: "footer", .. }));
        assert!(err.to_string().contains("network down"));
    }
}

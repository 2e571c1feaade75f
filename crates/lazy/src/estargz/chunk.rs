//! Decompressing and verifying one chunk of a file.

use std::io::{self, Read};
use std::ops::Range;

use hoist_image::Digest;

use crate::toc::ChunkRef;

/// Why a chunk's bytes cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error(
        "chunk at blob bytes {blob_range:?} has no digest in the TOC; hoist does not serve \
         unverified data (convert the image again with a current eStargz writer)"
    )]
    MissingDigest { blob_range: Range<u64> },

    #[error(
        "chunk at blob bytes {blob_range:?} (file offset {file_offset}) is corrupt: {reason}; \
         the blob was damaged or fetched wrongly"
    )]
    Corrupt {
        blob_range: Range<u64>,
        file_offset: u64,
        reason: String,
    },

    #[error(
        "chunk at blob bytes {blob_range:?} (file offset {file_offset}) has digest {actual}, \
         the TOC says {expected}; the blob was altered or fetched wrongly"
    )]
    DigestMismatch {
        blob_range: Range<u64>,
        file_offset: u64,
        expected: Digest,
        actual: Digest,
    },
}

/// The verified bytes of chunk `c`, given `member_bytes`, the blob's bytes
/// in `c.blob_range`: gunzips the member from its start, skips
/// `c.inner_offset` bytes and checks the next `c.len` against `c.digest`.
pub fn read_chunk(member_bytes: &[u8], c: &ChunkRef) -> Result<Vec<u8>, ChunkError> {
    let expected = c.digest.as_ref().ok_or_else(|| ChunkError::MissingDigest {
        blob_range: c.blob_range.clone(),
    })?;
    let corrupt = |reason: String| ChunkError::Corrupt {
        blob_range: c.blob_range.clone(),
        file_offset: c.file_offset,
        reason,
    };
    // One member only: the bytes after it belong to other chunks.
    let mut dec = flate2::bufread::GzDecoder::new(member_bytes);
    let skipped = io::copy(&mut (&mut dec).take(c.inner_offset), &mut io::sink())
        .map_err(|e| corrupt(format!("gunzip: {e}")))?;
    if skipped != c.inner_offset {
        return Err(corrupt(format!(
            "the member holds {skipped} bytes, the chunk starts at {}",
            c.inner_offset
        )));
    }
    // Capacity as the data arrives: `len` comes from the TOC.
    let mut data = Vec::with_capacity(c.len.min(8 << 20) as usize);
    (&mut dec)
        .take(c.len)
        .read_to_end(&mut data)
        .map_err(|e| corrupt(format!("gunzip: {e}")))?;
    if data.len() as u64 != c.len {
        return Err(corrupt(format!(
            "the member ends {} bytes into the {}-byte chunk",
            data.len(),
            c.len
        )));
    }
    let actual = expected.same_algorithm_of(&data);
    if &actual != expected {
        return Err(ChunkError::DigestMismatch {
            blob_range: c.blob_range.clone(),
            file_offset: c.file_offset,
            expected: expected.clone(),
            actual,
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn chunk_for(member: &[u8], inner: u64, content: &[u8]) -> ChunkRef {
        ChunkRef {
            file_offset: 0,
            len: content.len() as u64,
            blob_range: 0..member.len() as u64,
            inner_offset: inner,
            digest: Some(Digest::sha256_of(content)),
        }
    }

    #[test]
    fn reads_with_and_without_inner_offset() {
        let member = gz(b"headerhello world trailer");
        let c = chunk_for(&member, 6, b"hello world");
        assert_eq!(read_chunk(&member, &c).unwrap(), b"hello world");
        let member = gz(b"abc");
        let c = chunk_for(&member, 0, b"abc");
        assert_eq!(read_chunk(&member, &c).unwrap(), b"abc");
        // Bytes of the next member after this one are not read.
        let mut two = gz(b"abc");
        two.extend(gz(b"def"));
        assert_eq!(read_chunk(&two, &c).unwrap(), b"abc");
    }

    #[test]
    fn missing_digest_is_refused() {
        let member = gz(b"abc");
        let mut c = chunk_for(&member, 0, b"abc");
        c.digest = None;
        assert!(matches!(
            read_chunk(&member, &c),
            Err(ChunkError::MissingDigest { .. })
        ));
    }

    #[test]
    fn wrong_content_is_a_mismatch() {
        let member = gz(b"abd");
        let c = chunk_for(&member, 0, b"abc");
        assert!(matches!(
            read_chunk(&member, &c),
            Err(ChunkError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn short_or_broken_members_are_corrupt() {
        let member = gz(b"ab");
        let c = chunk_for(&member, 0, b"abc");
        assert!(matches!(
            read_chunk(&member, &c),
            Err(ChunkError::Corrupt { .. })
        ));
        let c = chunk_for(&member, 5, b"a");
        assert!(matches!(
            read_chunk(&member, &c),
            Err(ChunkError::Corrupt { .. })
        ));
        let c = chunk_for(b"garbage", 0, b"abc");
        assert!(matches!(
            read_chunk(b"garbage", &c),
            Err(ChunkError::Corrupt { .. })
        ));
        let c = chunk_for(&member, 0, b"ab");
        assert!(matches!(
            read_chunk(&member[..8], &c),
            Err(ChunkError::Corrupt { .. })
        ));
    }
}

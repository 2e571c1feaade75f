//! Extracting the TOC JSON from its gzip member, without trusting it.
//!
//! The member holds a tar header named `stargz.index.json`, the JSON, and
//! the end-of-archive blocks. Everything is read through a bounded reader so
//! that a small member that inflates to gigabytes (a gzip bomb) costs at
//! most [`MAX_TOC_BYTES`] plus some headers.

use std::io::Read;

use super::FormatError;
use crate::toc::{MAX_TOC_BYTES, TOC_TAR_NAME};

/// Room for the tar headers in front of the JSON (a PAX or GNU long-name
/// header is a few blocks; nothing legitimate needs more).
const HEADER_ALLOWANCE: u64 = 64 << 10;

/// The largest compressed TOC member hoist fetches. Deflate never expands
/// data by more than a few bytes per 16 KiB block, so a member that could
/// hold an acceptable TOC is never much larger than the TOC itself.
pub(crate) const MAX_TOC_MEMBER_BYTES: u64 = MAX_TOC_BYTES + (MAX_TOC_BYTES >> 6) + (1 << 20);

/// The TOC JSON inside a TOC gzip member.
pub(crate) fn toc_json(member: &[u8]) -> Result<Vec<u8>, FormatError> {
    let bad = |reason: String| FormatError::TocMember { reason };
    let dec = flate2::bufread::GzDecoder::new(member);
    let mut archive = tar::Archive::new(dec.take(MAX_TOC_BYTES + HEADER_ALLOWANCE));
    let mut entries = archive
        .entries()
        .map_err(|e| bad(format!("cannot read it as tar: {e}")))?;
    let mut entry = match entries.next() {
        None => return Err(bad("it holds no tar entry".into())),
        Some(Err(e)) => return Err(bad(format!("cannot read its tar header: {e}"))),
        Some(Ok(entry)) => entry,
    };
    if entry.path_bytes().as_ref() != TOC_TAR_NAME.as_bytes() {
        return Err(bad(format!(
            "its tar entry is named {:?}, not {TOC_TAR_NAME:?}",
            String::from_utf8_lossy(&entry.path_bytes())
        )));
    }
    if !entry.header().entry_type().is_file() {
        return Err(bad(format!("{TOC_TAR_NAME} is not a regular file")));
    }
    let size = entry.size();
    if size > MAX_TOC_BYTES {
        return Err(FormatError::TocTooLarge {
            limit: MAX_TOC_BYTES,
        });
    }
    // Allocate as the data arrives, not as the header claims.
    let mut json = Vec::with_capacity(size.min(1 << 20) as usize);
    (&mut entry)
        .take(size)
        .read_to_end(&mut json)
        .map_err(|e| bad(format!("cannot decompress the TOC: {e}")))?;
    if json.len() as u64 != size {
        return Err(bad(format!(
            "the TOC ends after {} of its {size} bytes",
            json.len()
        )));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn member(name: &str, body: &[u8]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(body.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_path(name).unwrap();
        h.set_cksum();
        tar.append(&h, body).unwrap();
        let raw = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn extracts_the_json() {
        let m = member(TOC_TAR_NAME, br#"{"version":1}"#);
        assert_eq!(toc_json(&m).unwrap(), br#"{"version":1}"#);
    }

    #[test]
    fn wrong_name_or_garbage() {
        let m = member("other.json", b"{}");
        assert!(toc_json(&m).unwrap_err().to_string().contains("other.json"));
        assert!(toc_json(b"not gzip at all").is_err());
        assert!(toc_json(&[]).is_err());
        let mut m = member(TOC_TAR_NAME, b"{}");
        m.truncate(m.len() / 2);
        assert!(toc_json(&m).is_err());
    }

    #[test]
    fn gzip_bomb_is_refused() {
        // A header claiming more than the limit, followed by zeros that
        // compress to almost nothing.
        let mut h = tar::Header::new_ustar();
        h.set_size(MAX_TOC_BYTES + 1);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_path(TOC_TAR_NAME).unwrap();
        h.set_cksum();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(h.as_bytes()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..60 {
            gz.write_all(&zeros).unwrap();
        }
        let m = gz.finish().unwrap();
        assert!(m.len() < 1 << 20);
        assert!(matches!(
            toc_json(&m).unwrap_err(),
            FormatError::TocTooLarge { .. }
        ));
    }
}

//! The footer: an empty gzip member whose Extra field says where the TOC is.
//!
//! eStargz footer (51 bytes): the gzip header with FEXTRA set, XLEN = 26,
//! one Extra subfield with ID `SG` and length 22 holding `%016x` of the TOC
//! offset followed by `STARGZ`, then an empty stored deflate block and the
//! gzip trailer. Legacy stargz (47 bytes) puts the 22 bytes directly in the
//! Extra field, without the subfield header.
//!
//! Because the footer is a valid (empty) gzip member, a plain gunzip of the
//! whole blob still yields the layer tar.

use std::io::Read;

use super::FormatError;

/// Size of the eStargz footer.
pub const FOOTER_SIZE: usize = 51;

/// Size of the footer of legacy (pre-eStargz) stargz blobs.
pub const LEGACY_FOOTER_SIZE: usize = 47;

const MAGIC: &[u8; 6] = b"STARGZ";
/// 16 hex digits of the offset and the magic.
const PAYLOAD_LEN: usize = 16 + MAGIC.len();
const SUBFIELD_ID: [u8; 2] = *b"SG";

/// The eStargz footer for a TOC member starting at `toc_offset`.
///
/// The bytes are those the reference writer produces (mtime 0, OS
/// "unknown", no compression), so blobs hoist writes end exactly like
/// blobs the reference writes.
pub fn footer_bytes(toc_offset: u64) -> Vec<u8> {
    let payload = format!("{toc_offset:016x}STARGZ");
    debug_assert_eq!(payload.len(), PAYLOAD_LEN);
    let mut out = Vec::with_capacity(FOOTER_SIZE);
    // ID1 ID2 CM=deflate FLG=FEXTRA MTIME=0 XFL=0 OS=255
    out.extend_from_slice(&[0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff]);
    let xlen = (4 + PAYLOAD_LEN) as u16;
    out.extend_from_slice(&xlen.to_le_bytes());
    out.extend_from_slice(&SUBFIELD_ID);
    out.extend_from_slice(&(PAYLOAD_LEN as u16).to_le_bytes());
    out.extend_from_slice(payload.as_bytes());
    // A final stored block of length 0 (LEN=0, NLEN=!0).
    out.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    // CRC32 and ISIZE of the empty content.
    out.extend_from_slice(&[0; 8]);
    debug_assert_eq!(out.len(), FOOTER_SIZE);
    out
}

/// Parses the footer at the end of `tail` (the last [`FOOTER_SIZE`] bytes of
/// the blob, or all of it when the blob is shorter).
///
/// Returns the TOC offset and the footer's length: [`FOOTER_SIZE`] for
/// eStargz, [`LEGACY_FOOTER_SIZE`] for legacy stargz.
pub fn parse_footer(tail: &[u8]) -> Result<(u64, usize), FormatError> {
    let mut reasons = Vec::new();
    if tail.len() >= FOOTER_SIZE {
        match parse_one(&tail[tail.len() - FOOTER_SIZE..], false) {
            Ok(off) => return Ok((off, FOOTER_SIZE)),
            Err(e) => reasons.push(format!("not an eStargz footer ({e})")),
        }
    }
    if tail.len() >= LEGACY_FOOTER_SIZE {
        match parse_one(&tail[tail.len() - LEGACY_FOOTER_SIZE..], true) {
            Ok(off) => return Ok((off, LEGACY_FOOTER_SIZE)),
            Err(e) => reasons.push(format!("not a legacy stargz footer ({e})")),
        }
    } else {
        reasons.push(format!(
            "{} bytes are fewer than the {LEGACY_FOOTER_SIZE} of the smallest footer",
            tail.len()
        ));
    }
    Err(FormatError::Footer {
        reason: reasons.join("; "),
    })
}

/// Parses exactly one footer of the given kind; the error says why not.
fn parse_one(bytes: &[u8], legacy: bool) -> Result<u64, String> {
    if bytes[..3] != [0x1f, 0x8b, 0x08] {
        return Err("no gzip header".into());
    }
    // Decoding the whole member checks the deflate stream and the trailer,
    // so random bytes that happen to start like gzip are not taken for a
    // footer. The content must be empty and the member must fill the footer.
    let mut dec = flate2::bufread::GzDecoder::new(bytes);
    let mut content = Vec::new();
    (&mut dec)
        .take(1)
        .read_to_end(&mut content)
        .map_err(|e| format!("invalid gzip member: {e}"))?;
    if !content.is_empty() {
        return Err("the gzip member is not empty".into());
    }
    let extra = dec
        .header()
        .and_then(|h| h.extra())
        .ok_or("the gzip header has no Extra field")?
        .to_vec();
    if !dec.into_inner().is_empty() {
        return Err("bytes follow the gzip member".into());
    }
    let payload = if legacy {
        extra.as_slice()
    } else {
        if extra.len() != 4 + PAYLOAD_LEN {
            return Err(format!("Extra field of {} bytes, not 26", extra.len()));
        }
        if extra[..2] != SUBFIELD_ID {
            return Err("Extra subfield ID is not SG".into());
        }
        if u16::from_le_bytes([extra[2], extra[3]]) as usize != PAYLOAD_LEN {
            return Err("Extra subfield length is not 22".into());
        }
        &extra[4..]
    };
    if payload.len() != PAYLOAD_LEN {
        return Err(format!("Extra field of {} bytes, not 22", payload.len()));
    }
    if &payload[16..] != MAGIC {
        return Err("no STARGZ magic".into());
    }
    let hex = &payload[..16];
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err("the TOC offset is not hexadecimal".into());
    }
    let hex = std::str::from_utf8(hex).map_err(|_| "the TOC offset is not hexadecimal")?;
    let offset = u64::from_str_radix(hex, 16).map_err(|e| format!("TOC offset: {e}"))?;
    // The reference reads the offset as a signed 64-bit number.
    if offset > i64::MAX as u64 {
        return Err(format!("TOC offset {offset:#x} is out of range"));
    }
    Ok(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy stargz footer as the old writer built it.
    fn legacy_footer(toc_offset: u64) -> Vec<u8> {
        let payload = format!("{toc_offset:016x}STARGZ");
        let mut out = flate2::GzBuilder::new()
            .extra(payload.into_bytes())
            .write(Vec::new(), flate2::Compression::none())
            .finish()
            .unwrap();
        // flate2 encodes an empty input with compression none as the same
        // 5-byte stored block the Go writer uses.
        assert_eq!(out.len(), LEGACY_FOOTER_SIZE);
        out.shrink_to_fit();
        out
    }

    #[test]
    fn round_trip() {
        for off in [0, 1, 0x1234_5678_9abc, i64::MAX as u64] {
            let f = footer_bytes(off);
            assert_eq!(f.len(), FOOTER_SIZE);
            assert_eq!(parse_footer(&f).unwrap(), (off, FOOTER_SIZE));
        }
    }

    #[test]
    fn footer_is_an_empty_gzip_member() {
        let f = footer_bytes(99);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&f[..])
            .read_to_end(&mut out)
            .unwrap();
        assert!(out.is_empty());
        assert_eq!(&f[16..38], b"0000000000000063STARGZ");
    }

    #[test]
    fn legacy_footer_is_read() {
        let f = legacy_footer(0xabc);
        assert_eq!(parse_footer(&f).unwrap(), (0xabc, LEGACY_FOOTER_SIZE));
        // With 4 bytes of the TOC member before it, as a 51-byte tail has.
        let mut tail = vec![7, 7, 7, 7];
        tail.extend_from_slice(&f);
        assert_eq!(parse_footer(&tail).unwrap(), (0xabc, LEGACY_FOOTER_SIZE));
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(parse_footer(&[0; 51]).is_err());
        assert!(parse_footer(&[0x1f, 0x8b, 0x08]).is_err());
        assert!(parse_footer(&[]).is_err());
        let mut f = footer_bytes(5);
        f[30] = b'z'; // inside the hex digits
        assert!(parse_footer(&f).is_err());
        let mut f = footer_bytes(5);
        f[36] = b'X'; // the magic
        assert!(parse_footer(&f).is_err());
        let mut f = footer_bytes(5);
        f[12] = b'X'; // subfield ID
        assert!(parse_footer(&f).is_err());
        let mut f = footer_bytes(5);
        f[47] = 1; // CRC of the empty content
        let err = parse_footer(&f).unwrap_err().to_string();
        assert!(err.contains("eStargz footer"), "{err}");
    }

    #[test]
    fn offset_beyond_i64_is_rejected() {
        let mut f = footer_bytes(0);
        f[16..32].copy_from_slice(b"ffffffffffffffff");
        assert!(parse_footer(&f).is_err());
    }
}

//! Numeric fields of tar headers, read the way the tars in the wild write
//! them, with checked arithmetic (the header is untrusted input).
//!
//! - octal ASCII, padded on either side with spaces or NULs (GNU and Go
//!   terminate with NUL, BSD tar and old tars with space or space+NUL);
//! - a field of only NULs or spaces, or an empty one, is 0: GNU tar leaves
//!   `devmajor`/`devminor` all-NUL for entries that are not devices (FIFOs
//!   included), and old tars leave unused fields blank;
//! - base-256 (GNU/star extension, also written by Go's archive/tar): the
//!   first byte's high bit is set; 0x80 starts a positive number, 0xff a
//!   negative one in two's complement.

use std::io;

/// Reads a numeric header field. The error says why the bytes are not a number.
pub(crate) fn parse(field: &[u8]) -> Result<i64, String> {
    match field.first() {
        Some(first) if first & 0x80 != 0 => base256(field),
        _ => octal(field),
    }
}

/// Reads a field that must be a non-negative value fitting `u32`
/// (ids, device numbers, mode).
pub(crate) fn parse_u32(field: &[u8]) -> Result<u32, String> {
    let v = parse(field)?;
    u32::try_from(v).map_err(|_| format!("{v} is out of range"))
}

fn octal(field: &[u8]) -> Result<i64, String> {
    let pad = |b: &u8| *b == 0 || *b == b' ';
    let start = field.iter().position(|b| !pad(b)).unwrap_or(field.len());
    let end = field.iter().rposition(|b| !pad(b)).map_or(start, |i| i + 1);
    let digits = &field[start..end];
    let mut v: i64 = 0;
    for &b in digits {
        if !(b'0'..=b'7').contains(&b) {
            return Err(format!(
                "{:?} is not an octal number",
                String::from_utf8_lossy(field)
            ));
        }
        v = v
            .checked_mul(8)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or_else(|| "octal number overflows 64 bits".to_string())?;
    }
    Ok(v)
}

fn base256(field: &[u8]) -> Result<i64, String> {
    let negative = field[0] == 0xff;
    if !negative && field[0] != 0x80 {
        // Only the two marker bytes are in use; anything else would have
        // value bits in the marker byte, which no writer produces.
        return Err(format!("base-256 field starts with {:#04x}", field[0]));
    }
    let inv = if negative { 0xff } else { 0x00 };
    let mut v: i64 = 0;
    for &b in &field[1..] {
        v = v
            .checked_mul(256)
            .and_then(|v| v.checked_add(i64::from(b ^ inv)))
            .ok_or_else(|| "base-256 number overflows 64 bits".to_string())?;
    }
    // Two's complement: the inverted bits are |v| - 1.
    if negative {
        v = -v - 1;
    }
    Ok(v)
}

/// The numeric fields `Meta` and device entries need, from the raw header.
pub(crate) struct HeaderNumbers {
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: i64,
}

impl HeaderNumbers {
    pub(crate) fn read(h: &tar::Header) -> io::Result<HeaderNumbers> {
        let old = h.as_old();
        Ok(HeaderNumbers {
            mode: field("mode", parse_u32(&old.mode))? & 0o7777,
            uid: field("uid", parse_u32(&old.uid))?,
            gid: field("gid", parse_u32(&old.gid))?,
            mtime: field("mtime", parse(&old.mtime))?,
        })
    }
}

/// `(major, minor)` of a device entry; (0, 0) for a V7 header, which has no
/// such fields.
pub(crate) fn device_numbers(h: &tar::Header) -> io::Result<(u32, u32)> {
    let (major, minor) = if let Some(u) = h.as_ustar() {
        (&u.dev_major, &u.dev_minor)
    } else if let Some(g) = h.as_gnu() {
        (&g.dev_major, &g.dev_minor)
    } else {
        return Ok((0, 0));
    };
    Ok((
        field("devmajor", parse_u32(major))?,
        field("devminor", parse_u32(minor))?,
    ))
}

fn field<T>(name: &str, r: Result<T, String>) -> io::Result<T> {
    r.map_err(|why| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("header field {name}: {why}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_in_every_padding() {
        for (raw, want) in [
            (&b"0000644\0"[..], 0o644),
            (b"000644 \0", 0o644),
            (b"   644 \0", 0o644),
            (b"644     ", 0o644),
            (b"\0\0\0\0\0\0\0\0", 0),
            (b"        ", 0),
            (b"", 0),
            (b"17777777777\0", 0o17777777777),
        ] {
            assert_eq!(parse(raw), Ok(want), "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn garbage_and_overflow_are_errors() {
        for raw in [&b"12x4\0\0\0\0"[..], b"0008\0", b"1 2\0", b"-1\0"] {
            assert!(parse(raw).is_err(), "{:?}", String::from_utf8_lossy(raw));
        }
        // 22 octal digits exceed 63 bits.
        assert!(parse(b"7777777777777777777777").is_err());
        assert!(parse_u32(b"40000000000\0").is_err(), "2^32 is not a u32");
    }

    #[test]
    fn base256_positive_negative_and_overflow() {
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[8..].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        assert_eq!(parse(&f), Ok(0x1234_5678));
        let mut neg = [0xffu8; 12];
        neg[11] = 0xfe; // -2
        assert_eq!(parse(&neg), Ok(-2));
        assert_eq!(parse(&[0xff; 8]), Ok(-1));
        let mut big = [0xffu8; 12];
        big[0] = 0x80; // 88 value bits set
        assert!(parse(&big).is_err());
        assert!(parse(&[0x81, 0, 0, 0, 0, 0, 0, 1]).is_err());
        assert!(parse_u32(&neg[..8]).is_err(), "negative ids are refused");
    }
}

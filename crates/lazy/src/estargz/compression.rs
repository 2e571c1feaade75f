//! Recognizing how a layer is compressed, so callers can hand the
//! converter whatever blob they have.

use std::io::{self, BufRead, Read};

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    Uncompressed,
    Gzip,
    Zstd,
}

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The compression a blob starting with `head` uses (at least 4 bytes
/// should be given; fewer means uncompressed unless they match a magic).
pub fn detect_compression(head: &[u8]) -> LayerCompression {
    if head.starts_with(&GZIP_MAGIC) {
        LayerCompression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        LayerCompression::Zstd
    } else {
        LayerCompression::Uncompressed
    }
}

/// A reader of the uncompressed tar inside `r`, whatever its compression.
/// Gzip input may have many members (an eStargz blob has hundreds).
pub fn decompressed<'a, R: BufRead + 'a>(
    mut r: R,
) -> io::Result<(LayerCompression, Box<dyn Read + 'a>)> {
    // Read the magic rather than peek at it: one read of a pipe may return
    // fewer bytes than the magic, so fill a small buffer and chain it back.
    let mut head = Vec::with_capacity(4);
    (&mut r).take(4).read_to_end(&mut head)?;
    let kind = detect_compression(&head);
    let whole = io::Cursor::new(head).chain(r);
    let reader: Box<dyn Read + 'a> = match kind {
        LayerCompression::Uncompressed => Box::new(whole),
        LayerCompression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(whole)),
        LayerCompression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(whole)?),
    };
    Ok((kind, reader))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn read_all(data: &[u8]) -> (LayerCompression, Vec<u8>) {
        let (kind, mut r) = decompressed(data).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        (kind, out)
    }

    #[test]
    fn plain_gzip_and_zstd() {
        assert_eq!(
            read_all(b"plain tar"),
            (LayerCompression::Uncompressed, b"plain tar".to_vec())
        );
        assert_eq!(
            read_all(b"ab"),
            (LayerCompression::Uncompressed, b"ab".to_vec())
        );
        let mut two = Vec::new();
        for part in [&b"first "[..], b"second"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            two.extend(e.finish().unwrap());
        }
        assert_eq!(
            read_all(&two),
            (LayerCompression::Gzip, b"first second".to_vec())
        );
        let z = zstd::encode_all(&b"zstd data"[..], 3).unwrap();
        assert_eq!(
            read_all(&z),
            (LayerCompression::Zstd, b"zstd data".to_vec())
        );
    }
}

//! `ADD` of a local archive: which files are tar archives (plain, gzip,
//! bzip2, xz or zstd compressed), and reading them.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::error::{io_err, Result};

const GZIP: [u8; 2] = [0x1f, 0x8b];
const ZSTD: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const BZIP2: [u8; 3] = *b"BZh";
const XZ: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];

/// The archive's tar stream, decompressed.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read>> {
    let magic = head(path, 6)?;
    let file = BufReader::new(File::open(path).map_err(io_err("opening", path))?);
    Ok(if magic.starts_with(&GZIP) {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else if magic.starts_with(&BZIP2) {
        Box::new(bzip2::read::MultiBzDecoder::new(file))
    } else if magic.starts_with(&XZ) {
        // lzma-rs decodes into a writer: an unnamed temporary file holds
        // the tar, however large.
        let mut tar = tempfile::tempfile().map_err(io_err("making a temporary file for", path))?;
        let mut input = file;
        lzma_rs::xz_decompress(&mut input, &mut tar).map_err(|e| super::BuildError::Io {
            what: "decompressing",
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        std::io::Seek::rewind(&mut tar).map_err(io_err("reading", path))?;
        Box::new(BufReader::new(tar))
    } else if magic.starts_with(&ZSTD) {
        Box::new(zstd::stream::read::Decoder::with_buffer(file).map_err(io_err("reading", path))?)
    } else {
        Box::new(file)
    })
}

/// Whether `path` is a tar archive ADD unpacks: its first header has the
/// ustar magic (after decompression).
pub(crate) fn is_tar(path: &Path) -> bool {
    let Ok(mut r) = open(path) else {
        return false;
    };
    let mut block = [0u8; 512];
    if r.read_exact(&mut block).is_err() {
        return false;
    }
    &block[257..262] == b"ustar"
}

fn head(path: &Path, n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut f = File::open(path).map_err(io_err("opening", path))?;
    let got = f.read(&mut buf).map_err(io_err("reading", path))?;
    buf.truncate(got);
    Ok(buf)
}

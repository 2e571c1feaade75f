//! Writing the tar stream as a sequence of gzip members.
//!
//! The writer keeps one member open and appends tar bytes to it; a new
//! member begins where the format needs one (at each chunk of file data,
//! and for the TOC). It counts and hashes both sides: the compressed bytes
//! (blob digest and size, member offsets) and the uncompressed ones (the
//! diff ID and the uncompressed size).

use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use hoist_image::{Digest, Hasher};

/// The compressed output: counted and hashed.
struct Counted<W> {
    inner: W,
    written: u64,
    hash: Hasher,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

// One per stream, never in a collection: the variants' sizes do not matter
// (zlib-rs's encoder keeps more of its state inline than miniz_oxide's).
#[allow(clippy::large_enum_variant)]
enum State<W: Write> {
    /// Between members: the next tar byte opens one.
    Between(Counted<W>),
    InMember(GzEncoder<Counted<W>>),
    /// Only while switching, or after an error.
    Poisoned,
}

/// What the writer produced, once finished.
pub(crate) struct Totals {
    pub blob_size: u64,
    pub blob_digest: Digest,
    pub diff_id: Digest,
    pub uncompressed_size: u64,
}

pub(crate) struct MemberWriter<W: Write> {
    state: State<W>,
    level: Compression,
    diff: Hasher,
    uncompressed: u64,
}

fn poisoned() -> io::Error {
    io::Error::other("eStargz writer used after an earlier write error")
}

impl<W: Write> MemberWriter<W> {
    pub fn new(out: W, level: u32) -> MemberWriter<W> {
        MemberWriter {
            state: State::Between(Counted {
                inner: out,
                written: 0,
                hash: Hasher::sha256(),
            }),
            level: Compression::new(level),
            diff: Hasher::sha256(),
            uncompressed: 0,
        }
    }

    /// Appends tar bytes to the open member, opening one if needed.
    pub fn write_tar(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if let State::Between(_) = self.state {
            let State::Between(out) = std::mem::replace(&mut self.state, State::Poisoned) else {
                unreachable!("checked above")
            };
            self.state = State::InMember(GzEncoder::new(out, self.level));
        }
        let State::InMember(gz) = &mut self.state else {
            return Err(poisoned());
        };
        gz.write_all(data)?;
        self.diff.update(data);
        self.uncompressed += data.len() as u64;
        Ok(())
    }

    /// Closes the open member (if any) and returns the offset where the
    /// next one will begin.
    pub fn end_member(&mut self) -> io::Result<u64> {
        match std::mem::replace(&mut self.state, State::Poisoned) {
            State::InMember(gz) => self.state = State::Between(gz.finish()?),
            other => self.state = other,
        }
        match &self.state {
            State::Between(out) => Ok(out.written),
            _ => Err(poisoned()),
        }
    }

    /// Writes bytes that are not part of the tar stream (the footer)
    /// between members.
    pub fn write_raw(&mut self, data: &[u8]) -> io::Result<()> {
        self.end_member()?;
        match &mut self.state {
            State::Between(out) => out.write_all(data),
            _ => Err(poisoned()),
        }
    }

    pub fn finish(mut self) -> io::Result<Totals> {
        self.end_member()?;
        let State::Between(mut out) = self.state else {
            return Err(poisoned());
        };
        out.flush()?;
        Ok(Totals {
            blob_size: out.written,
            blob_digest: out.hash.finish(),
            diff_id: self.diff.finish(),
            uncompressed_size: self.uncompressed,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn members_offsets_and_totals() {
        let mut blob = Vec::new();
        let mut w = MemberWriter::new(&mut blob, 6);
        assert_eq!(w.end_member().unwrap(), 0, "no empty member is written");
        w.write_tar(b"one ").unwrap();
        let second = w.end_member().unwrap();
        assert!(second > 0);
        w.write_tar(b"two").unwrap();
        w.write_raw(b"").unwrap();
        let t = w.finish().unwrap();
        assert_eq!(t.blob_size, blob.len() as u64);
        assert_eq!(t.blob_digest, Digest::sha256_of(&blob));
        assert_eq!(t.diff_id, Digest::sha256_of(b"one two"));
        assert_eq!(t.uncompressed_size, 7);
        // The second member decodes alone.
        let mut s = String::new();
        flate2::read::GzDecoder::new(&blob[second as usize..])
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "two");
    }
}

//! Digest verification of content read from layouts and archives.
//!
//! Small blobs (manifests, configs) are verified in memory; large ones
//! (layers) are streamed through [`VerifyingReader`], which fails at end of
//! stream when the content does not match, so a consumer that reads to the
//! end can never mistake corrupt data for good data.

use std::io::{self, Read};

use hoist_image::{Digest, Hasher};

use crate::error::{ArchiveError, Result};

/// Checks that `data` hashes to `expected`.
pub fn verify_bytes(what: &str, data: &[u8], expected: &Digest) -> Result<()> {
    let actual = expected.same_algorithm_of(data);
    if &actual != expected {
        return Err(ArchiveError::DigestMismatch {
            what: what.to_string(),
            expected: expected.clone(),
            actual,
        });
    }
    Ok(())
}

// One State per stream, and the large variant is the one in use almost
// always: boxing the hasher would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum State {
    Hashing(Hasher),
    /// Reached end of stream and the content matched.
    Verified,
    /// Reached end of stream with this digest, which did not match.
    Mismatch(Digest),
    /// Reached end of stream with the wrong number of bytes.
    WrongSize,
}

/// A reader that hashes what passes through it and returns an
/// `InvalidData` error (carrying an [`ArchiveError`]) instead of end of
/// stream when the digest, or the size if one was given, does not match.
pub struct VerifyingReader<R> {
    inner: R,
    state: State,
    expected: Digest,
    expected_size: Option<u64>,
    read: u64,
    what: String,
}

impl<R: Read> VerifyingReader<R> {
    /// `what` names the content in error messages, e.g. "layer sha256:… of x.tar".
    pub fn new(inner: R, expected: Digest, what: impl Into<String>) -> Self {
        VerifyingReader {
            inner,
            state: State::Hashing(Hasher::new(expected.algorithm())),
            expected,
            expected_size: None,
            read: 0,
            what: what.into(),
        }
    }

    /// Also require exactly `size` bytes.
    pub fn with_size(mut self, size: u64) -> Self {
        self.expected_size = Some(size);
        self
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Whether the whole stream was read and matched.
    pub fn is_verified(&self) -> bool {
        matches!(self.state, State::Verified)
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    fn size_error(&self) -> io::Error {
        ArchiveError::SizeMismatch {
            what: self.what.clone(),
            expected: self.expected_size.unwrap_or_default(),
            actual: self.read,
        }
        .into_io()
    }

    fn at_eof(&mut self) -> io::Result<usize> {
        if let State::Hashing(_) = self.state {
            let State::Hashing(h) = std::mem::replace(&mut self.state, State::Verified) else {
                unreachable!("matched just above")
            };
            let actual = h.finish();
            if self.expected_size.is_some_and(|s| s != self.read) {
                self.state = State::WrongSize;
            } else if actual != self.expected {
                self.state = State::Mismatch(actual);
            }
        }
        match &self.state {
            State::Hashing(_) | State::Verified => Ok(0),
            State::WrongSize => Err(self.size_error()),
            State::Mismatch(actual) => Err(ArchiveError::DigestMismatch {
                what: self.what.clone(),
                expected: self.expected.clone(),
                actual: actual.clone(),
            }
            .into_io()),
        }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !matches!(self.state, State::Hashing(_)) {
            return self.at_eof();
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return self.at_eof();
        }
        if let State::Hashing(h) = &mut self.state {
            h.update(&buf[..n]);
        }
        self.read += n as u64;
        if self.expected_size.is_some_and(|s| self.read > s) {
            self.state = State::WrongSize;
            return Err(self.size_error());
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(r: &mut impl Read) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        r.read_to_end(&mut v).map(|_| v)
    }

    #[test]
    fn passes_matching_content_through() {
        let data = b"some layer bytes".repeat(1000);
        let mut r = VerifyingReader::new(&data[..], Digest::sha256_of(&data), "t");
        assert_eq!(read_all(&mut r).unwrap(), data);
        assert!(r.is_verified());
        assert_eq!(r.bytes_read(), data.len() as u64);
    }

    #[test]
    fn fails_at_eof_on_mismatch_and_keeps_failing() {
        let mut r =
            VerifyingReader::new(&b"tampered"[..], Digest::sha256_of(b"original"), "blob x");
        let e = read_all(&mut r).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("digest mismatch for blob x"), "{e}");
        let mut buf = [0u8; 8];
        assert!(
            r.read(&mut buf).is_err(),
            "a second read must not report a clean EOF"
        );
        assert!(!r.is_verified());
    }

    #[test]
    fn checks_size_when_given() {
        let data = b"abc";
        let d = Digest::sha256_of(data);
        let mut short = VerifyingReader::new(&data[..], d.clone(), "t").with_size(4);
        assert!(read_all(&mut short)
            .unwrap_err()
            .to_string()
            .contains("size mismatch"));
        let mut long = VerifyingReader::new(&data[..], d, "t").with_size(2);
        assert!(read_all(&mut long).is_err());
    }

    #[test]
    fn verify_bytes_reports_both_digests() {
        let e = verify_bytes("config", b"x", &Digest::sha256_of(b"y")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(&Digest::sha256_of(b"x").to_string()), "{msg}");
        assert!(msg.contains(&Digest::sha256_of(b"y").to_string()), "{msg}");
    }
}

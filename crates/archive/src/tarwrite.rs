//! Writing tar archives reproducibly: fixed owner, mode and time in every
//! header, so the same content always gives the same bytes, and member data
//! whose length must match the declared size exactly (a short or long reader
//! would silently corrupt the archive otherwise).

use std::io::{self, Read, Write};

use tar::{EntryType, Header};

/// Reads exactly `size` bytes from `inner`, failing if it ends early or has more.
pub(crate) struct ExactReader<R> {
    inner: R,
    remaining: u64,
    size: u64,
    what: String,
}

impl<R: Read> ExactReader<R> {
    pub(crate) fn new(inner: R, size: u64, what: impl Into<String>) -> Self {
        ExactReader {
            inner,
            remaining: size,
            size,
            what: what.into(),
        }
    }
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} is longer than its declared {} bytes",
                        self.what, self.size
                    ),
                )),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{} ended after {} of its declared {} bytes",
                    self.what,
                    self.size - self.remaining,
                    self.size
                ),
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// A tar builder with deterministic headers.
pub(crate) struct TarWriter<W: Write> {
    builder: tar::Builder<W>,
}

fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        TarWriter {
            builder: tar::Builder::new(out),
        }
    }

    pub(crate) fn add_dir(&mut self, name: &str) -> io::Result<()> {
        let mut h = header(EntryType::Directory, 0o755, 0);
        self.builder.append_data(
            &mut h,
            format!("{}/", name.trim_end_matches('/')),
            io::empty(),
        )
    }

    pub(crate) fn add_bytes(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
        self.builder.append_data(&mut h, name, data)
    }

    /// Appends a file of exactly `size` bytes read from `data`.
    pub(crate) fn add_reader(&mut self, name: &str, size: u64, data: impl Read) -> io::Result<()> {
        let mut h = header(EntryType::Regular, 0o644, size);
        self.builder
            .append_data(&mut h, name, ExactReader::new(data, size, name))
    }

    #[cfg(test)]
    pub(crate) fn add_symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        let mut h = header(EntryType::Symlink, 0o777, 0);
        self.builder.append_link(&mut h, name, target)
    }

    /// Writes the end-of-archive marker and returns the output.
    pub(crate) fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_reader_refuses_short_and_long_input() {
        let mut ok = Vec::new();
        ExactReader::new(&b"abc"[..], 3, "x")
            .read_to_end(&mut ok)
            .unwrap();
        assert_eq!(ok, b"abc");
        let e = ExactReader::new(&b"ab"[..], 3, "layer y")
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("layer y ended after 2 of its declared 3 bytes"),
            "{e}"
        );
        assert!(ExactReader::new(&b"abcd"[..], 3, "x")
            .read_to_end(&mut Vec::new())
            .is_err());
    }

    #[test]
    fn output_is_deterministic_and_readable() {
        let build = || {
            let mut w = TarWriter::new(Vec::new());
            w.add_dir("d").unwrap();
            w.add_bytes("d/f", b"data").unwrap();
            w.add_reader(&format!("d/{}", "n".repeat(150)), 2, &b"xy"[..])
                .unwrap();
            w.add_symlink("d/l", "f").unwrap();
            w.finish().unwrap()
        };
        let a = build();
        assert_eq!(a, build());
        let mut ar = tar::Archive::new(&a[..]);
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["d/", "d/f", &format!("d/{}", "n".repeat(150)), "d/l"]
        );
        let mut short = TarWriter::new(Vec::new());
        assert!(short.add_reader("f", 10, &b"xy"[..]).is_err());
    }
}

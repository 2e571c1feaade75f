//! `multipart/byteranges` bodies, parsed as they arrive: the bytes of each
//! part come out while later parts are still on the way, so a lazy layer's
//! reader waiting for one file of a many-file request gets it as soon as
//! its part is in.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

/// Longest part header block accepted: a broken or hostile server cannot
/// make the parser buffer without end while it looks for the blank line.
const MAX_PART_HEAD: usize = 16 << 10;

/// A `multipart/byteranges` body, pushed in pieces as they arrive.
pub struct MultipartStream {
    delimiter: Vec<u8>,
    buf: BytesMut,
    state: State,
}

enum State {
    /// Looking for the next delimiter, then the part's headers.
    Head,
    /// Inside a part: the blob offset of its next byte and how many bytes
    /// of it are still to come.
    Data { at: u64, left: u64 },
    /// After the closing delimiter; anything more is ignored.
    Closed,
}

impl MultipartStream {
    pub fn new(boundary: &str) -> Result<MultipartStream, String> {
        if boundary.is_empty() {
            return Err("multipart answer with an empty boundary".into());
        }
        Ok(MultipartStream {
            delimiter: format!("--{boundary}").into_bytes(),
            buf: BytesMut::new(),
            state: State::Head,
        })
    }

    /// Takes the next bytes of the body. Returns the part data among them
    /// as (blob offset, bytes) pieces, in body order. Each part's length
    /// comes from its Content-Range, so part data that happens to contain
    /// the boundary cannot confuse the parser; every length and offset is
    /// the server's, so all arithmetic on them is checked.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<(u64, Bytes)>, String> {
        self.buf.extend_from_slice(chunk);
        let mut pieces = Vec::new();
        loop {
            match self.state {
                State::Closed => {
                    self.buf.clear();
                    return Ok(pieces);
                }
                State::Data { .. } if self.buf.is_empty() => return Ok(pieces),
                State::Data { at, left } => {
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(self.buf.len());
                    pieces.push((at, self.buf.split_to(n).freeze()));
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::Head
                    } else {
                        State::Data {
                            at: at + n as u64,
                            left,
                        }
                    };
                }
                State::Head => match self.next_part()? {
                    Some(state) => self.state = state,
                    None => return Ok(pieces),
                },
            }
        }
    }

    /// Checks that the body ended where a body may end: after its closing
    /// delimiter.
    pub fn finish(&self) -> Result<(), String> {
        match self.state {
            State::Closed => Ok(()),
            State::Data { .. } => Err("multipart part shorter than its Content-Range".into()),
            State::Head if find(&self.buf, &self.delimiter).is_some() => {
                Err("multipart part without a blank line after its headers".into())
            }
            State::Head => Err("multipart answer ends without its closing boundary".into()),
        }
    }

    /// Reads the next delimiter and part headers from the buffer: the state
    /// they start, or `None` until the buffer holds all of them.
    fn next_part(&mut self) -> Result<Option<State>, String> {
        let Some(at) = find(&self.buf, &self.delimiter) else {
            // Keep only what could be the start of a delimiter split
            // between two pushes.
            let keep = self.delimiter.len() - 1;
            self.buf.advance(self.buf.len().saturating_sub(keep));
            return Ok(None);
        };
        // What precedes the delimiter (a preamble, the line break after
        // the previous part) is not data.
        self.buf.advance(at);
        let rest = &self.buf[self.delimiter.len()..];
        if rest.starts_with(b"--") {
            return Ok(Some(State::Closed));
        }
        // The same limit whether the blank line is in the buffer yet or
        // not: a body is parsed alike however it is cut.
        let end = find(rest, b"\r\n\r\n");
        if end.unwrap_or(rest.len()) > MAX_PART_HEAD {
            return Err(format!(
                "multipart part headers longer than {MAX_PART_HEAD} bytes"
            ));
        }
        let Some(end) = end else {
            return Ok(None);
        };
        let range = part_range(&rest[..end])?;
        self.buf.advance(self.delimiter.len() + end + 4);
        Ok(Some(State::Data {
            at: range.start,
            left: range.end - range.start,
        }))
    }
}

/// The Content-Range of a part's header block.
fn part_range(head: &[u8]) -> Result<Range<u64>, String> {
    let head =
        std::str::from_utf8(head).map_err(|_| "multipart part headers are not text".to_string())?;
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("content-range").then_some(v)
        })
        .and_then(crate::ranges::parse_content_range)
        .ok_or_else(|| format!("multipart part without a usable Content-Range: {head:?}"))
}

/// Parses a whole `multipart/byteranges` body into (start offset, bytes)
/// parts.
pub fn parse_multipart(
    body: &Bytes,
    boundary: &str,
) -> std::result::Result<Vec<(u64, Bytes)>, String> {
    let mut stream = MultipartStream::new(boundary)?;
    // Pushed at once, each part's data is in the buffer whole: one piece
    // per part.
    let parts = stream.push(body)?;
    stream.finish()?;
    Ok(parts)
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"\r\n--XYZ\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-3/100\r\n\r\nabcd\r\n--XYZ\r\nContent-Range: bytes 50-56/100\r\n\r\n--XYZ--\r\n--XYZ--\r\n";

    /// The pieces of `body` pushed in slices of `step` bytes, joined back
    /// into parts where one piece continues the one before.
    fn pushed_in_steps(body: &[u8], step: usize) -> Result<Vec<(u64, Vec<u8>)>, String> {
        let mut stream = MultipartStream::new("XYZ")?;
        let mut parts: Vec<(u64, Vec<u8>)> = Vec::new();
        for slice in body.chunks(step) {
            for (at, bytes) in stream.push(slice)? {
                match parts.last_mut() {
                    Some((start, data)) if *start + data.len() as u64 == at => {
                        data.extend_from_slice(&bytes)
                    }
                    _ => parts.push((at, bytes.to_vec())),
                }
            }
        }
        stream.finish()?;
        Ok(parts)
    }

    #[test]
    fn parts_come_out_the_same_however_the_body_is_cut() {
        let whole = parse_multipart(&Bytes::from_static(BODY), "XYZ").unwrap();
        assert_eq!(
            whole,
            vec![
                (0, Bytes::from_static(b"abcd")),
                (50, Bytes::from_static(b"--XYZ--"))
            ]
        );
        for step in 1..BODY.len() {
            let parts = pushed_in_steps(BODY, step).unwrap();
            assert_eq!(parts.len(), 2, "step {step}");
            assert_eq!(parts[0], (0, b"abcd".to_vec()), "step {step}");
            assert_eq!(parts[1], (50, b"--XYZ--".to_vec()), "step {step}");
        }
    }

    #[test]
    fn a_part_comes_out_before_the_body_ends() {
        let mut stream = MultipartStream::new("XYZ").unwrap();
        let first_part_end = find(BODY, b"abcd").unwrap() + 4;
        let pieces = stream.push(&BODY[..first_part_end]).unwrap();
        assert_eq!(pieces, vec![(0, Bytes::from_static(b"abcd"))]);
        assert!(stream.finish().is_err(), "the body is not over yet");
    }

    #[test]
    fn endless_part_headers_are_refused() {
        let mut stream = MultipartStream::new("B").unwrap();
        stream.push(b"--B\r\nX-Filler: ").unwrap();
        let filler = vec![b'a'; 4096];
        let refused = (0..8).find_map(|_| stream.push(&filler).err());
        assert!(refused.unwrap().contains("longer than"));
    }

    #[test]
    fn a_preamble_without_a_delimiter_is_not_kept() {
        let mut stream = MultipartStream::new("B").unwrap();
        for _ in 0..100 {
            assert!(stream.push(&[b'x'; 4096]).unwrap().is_empty());
        }
        assert!(stream.buf.len() < 4);
        let parts = stream
            .push(b"\r\n--B\r\nContent-Range: bytes 0-0/1\r\n\r\nz\r\n--B--")
            .unwrap();
        assert_eq!(parts, vec![(0, Bytes::from_static(b"z"))]);
        stream.finish().unwrap();
    }

    #[test]
    fn truncated_bodies_say_where_they_stopped() {
        let shorter = parse_multipart(
            &Bytes::from_static(b"--B\r\nContent-Range: bytes 0-9/10\r\n\r\nabc"),
            "B",
        );
        assert!(shorter.unwrap_err().contains("shorter"));
        let unclosed = parse_multipart(
            &Bytes::from_static(b"--B\r\nContent-Range: bytes 0-2/10\r\n\r\nabc\r\n"),
            "B",
        );
        assert!(unclosed.unwrap_err().contains("closing"));
        let headless = parse_multipart(
            &Bytes::from_static(b"--B\r\nContent-Range: bytes 0-2/10\r\n"),
            "B",
        );
        assert!(headless.unwrap_err().contains("blank line"));
    }
}

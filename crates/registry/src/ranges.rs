//! Reading parts of a blob with HTTP Range requests, for lazy layers.
//!
//! Several ranges go out in one `Range: bytes=a-b,c-d` request when the
//! registry answers those with `multipart/byteranges` (docker-registry's
//! filesystem driver does); a registry or storage front end that answers with
//! one range, or with the whole blob, is handled too, and one that cannot do
//! multi-range is asked range by range from then on. Each range is handed
//! over as soon as its bytes are in, while later ones are still coming.

use std::ops::Range;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use hoist_image::Digest;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, RANGE};
use reqwest::Method;

use crate::auth::Scope;
use crate::client::RegistryClient;
use crate::error::{RegistryError, Result};
use crate::host::{Host, Request};
use crate::idle::{Body, BodyError};
pub use crate::multipart::{parse_multipart, MultipartStream};

/// At most this many ranges go into one request: headers stay small and a
/// multipart answer stays easy on the registry.
const MAX_RANGES_PER_REQUEST: usize = 32;

impl RegistryClient {
    /// Reads `ranges` (sorted, not overlapping, non-empty) of blob `digest`
    /// and returns their bytes in order. Transport errors are retried like
    /// any request; a response that does not match what was asked for is a
    /// `Protocol` error.
    pub async fn fetch_blob_ranges(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        ranges: &[Range<u64>],
    ) -> Result<Vec<Bytes>> {
        let mut out = vec![Bytes::new(); ranges.len()];
        self.stream_blob_ranges(registry, repository, digest, ranges, |i, bytes| {
            out[i] = bytes;
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// [`RegistryClient::fetch_blob_ranges`], handing each range to
    /// `deliver` (with its index in `ranges`) as soon as all its bytes are
    /// in. Each range is delivered once; after an interruption only the
    /// ranges not yet delivered are asked for again.
    pub async fn stream_blob_ranges(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        ranges: &[Range<u64>],
        deliver: impl FnMut(usize, Bytes) -> std::io::Result<()>,
    ) -> Result<()> {
        let host = self.host(registry)?;
        let fetch = RangeFetch {
            host: &host,
            repository,
            digest,
        };
        fetch.ranges(ranges, deliver).await
    }

    /// Reads one range of a blob and hands its bytes to `sink` as they
    /// arrive (a prefetch lets readers go on while the rest still comes).
    /// Not retried: a caller that needs the bytes asks again.
    pub async fn stream_blob_range(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        range: Range<u64>,
        sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<()> {
        let host = self.host(registry)?;
        let fetch = RangeFetch {
            host: &host,
            repository,
            digest,
        };
        fetch.stream(range, sink).await
    }
}

struct RangeFetch<'a> {
    host: &'a Host,
    repository: &'a str,
    digest: &'a Digest,
}

impl RangeFetch<'_> {
    fn what(&self) -> String {
        format!(
            "reading parts of blob {} in {}/{}",
            self.digest, self.host.name, self.repository
        )
    }

    /// Fetches every range of `ranges`, up to [`MAX_RANGES_PER_REQUEST`]
    /// per request, handing each to `deliver` once complete. A request
    /// whose answer breaks off is retried for the ranges still missing.
    async fn ranges(
        &self,
        ranges: &[Range<u64>],
        mut deliver: impl FnMut(usize, Bytes) -> std::io::Result<()>,
    ) -> Result<()> {
        let mut wanted = Wanted::new(ranges);
        let mut attempt = 0;
        let mut timeouts = 0;
        loop {
            let per_request = if self.host.single_range_only.load(Ordering::Relaxed) {
                1
            } else {
                MAX_RANGES_PER_REQUEST
            };
            let asked = wanted.next_request(per_request);
            if asked.is_empty() {
                return Ok(());
            }
            match self.answer(&asked, &mut wanted, &mut deliver).await {
                Ok(Answer::Ended) if wanted.all_done(&asked) => attempt = 0,
                Ok(Answer::Ended) | Err(RegistryError::Protocol { .. }) if asked.len() > 1 => {
                    tracing::debug!(registry = %self.host.name,
                        "no usable multi-range answer; asking range by range");
                    self.host.single_range_only.store(true, Ordering::Relaxed);
                }
                Ok(Answer::Ended) => {
                    return Err(self.protocol(format!(
                        "the answer to a request for bytes {:?} did not hold them",
                        asked[0]
                    )))
                }
                Ok(Answer::Broke(e))
                    if e.retryable()
                        && attempt + 1 < self.host.retry.max_attempts
                        && (!e.is_timeout() || timeouts + 1 < self.host.retry.max_timeouts) =>
                {
                    let delay = self.host.retry.delay(attempt, None);
                    attempt += 1;
                    if e.is_timeout() {
                        timeouts += 1;
                    }
                    tracing::info!(digest = %self.digest, ?delay, "range read interrupted ({e}); retrying");
                    tokio::time::sleep(delay).await;
                }
                Ok(Answer::Broke(e)) => return Err(self.host.map_body_error(&self.what(), e)),
                Err(e) => return Err(e),
            }
        }
    }

    /// One request for `asked` (ranges of `wanted`, by index). Feeds the
    /// answer to `wanted` as it arrives and delivers each range it
    /// completes; ends when the answer does (a 200, the whole blob, ends
    /// once every asked range is in).
    async fn answer(
        &self,
        asked: &[Range<u64>],
        wanted: &mut Wanted<'_>,
        deliver: &mut impl FnMut(usize, Bytes) -> std::io::Result<()>,
    ) -> Result<Answer> {
        let req = self.range_request(asked).await?;
        let resp = self.send(&req).await?;
        let mut layout = self.layout(&resp)?;
        let whole_blob = resp.status().as_u16() == 200;
        let mut body = Body::new(resp, self.host.read_timeout);
        while !(whole_blob && wanted.all_done(asked)) {
            let chunk = match body.next().await {
                None => break,
                Some(Err(e)) => return Ok(Answer::Broke(e)),
                Some(Ok(chunk)) => chunk,
            };
            for (at, piece) in layout.pieces(chunk).map_err(|d| self.protocol(d))? {
                for i in wanted.feed(at, &piece).map_err(|d| self.protocol(d))? {
                    deliver(i, wanted.take(i)).map_err(|source| RegistryError::Io {
                        what: format!("storing {}", self.what()),
                        source,
                    })?;
                }
            }
        }
        // Only a 206 is multipart; it must end where its parts say.
        if let Layout::Multipart(parts) = &layout {
            parts.finish().map_err(|d| self.protocol(d))?;
        }
        Ok(Answer::Ended)
    }

    /// How the answer's body lays out blob bytes.
    fn layout(&self, resp: &reqwest::Response) -> Result<Layout> {
        let header = |name| resp.headers().get(name).and_then(|v| v.to_str().ok());
        if resp.status().as_u16() == 200 {
            // The Range header was ignored: the whole blob.
            return Ok(Layout::Run { at: 0 });
        }
        if let Some(boundary) = header(CONTENT_TYPE).and_then(multipart_boundary) {
            let parts = MultipartStream::new(&boundary).map_err(|d| self.protocol(d))?;
            return Ok(Layout::Multipart(parts));
        }
        let at = header(CONTENT_RANGE)
            .and_then(crate::blob::content_range_start)
            .ok_or_else(|| self.protocol("a 206 answer without Content-Range".into()))?;
        Ok(Layout::Run { at })
    }

    /// A GET of the blob asking for `ranges`.
    async fn range_request(&self, ranges: &[Range<u64>]) -> Result<Request> {
        let url = self
            .host
            .url(&format!("/v2/{}/blobs/{}", self.repository, self.digest))
            .await?;
        let mut req = Request::new(Method::GET, url);
        req.headers.insert(
            RANGE,
            range_header(ranges)
                .parse()
                .map_err(|_| self.protocol("unrepresentable range header".into()))?,
        );
        Ok(req)
    }

    /// Sends a range request; the answer if it is a 200 (the whole blob) or
    /// a 206 (parts), else the error it means.
    async fn send(&self, req: &Request) -> Result<reqwest::Response> {
        let what = self.what();
        let resp = self
            .host
            .execute(&[Scope::pull(self.repository)], &what, req)
            .await?;
        match resp.status().as_u16() {
            200 | 206 => Ok(resp),
            404 => Err(RegistryError::NotFound {
                what: format!(
                    "blob {} in {}/{}",
                    self.digest, self.host.name, self.repository
                ),
            }),
            _ => Err(self.host.fail(&what, resp).await),
        }
    }

    /// One request for `range`, its bytes handed to `sink` as they arrive.
    async fn stream(
        &self,
        range: Range<u64>,
        mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<()> {
        let req = self.range_request(std::slice::from_ref(&range)).await?;
        let resp = self.send(&req).await?;
        let mut layout = self.layout(&resp)?;
        let what = self.what();
        let mut next = range.start;
        let mut body = Body::new(resp, self.host.read_timeout);
        while next < range.end {
            let Some(chunk) = body.next().await else {
                let left = range.end - next;
                return Err(self.protocol(format!("the answer ended {left} bytes early")));
            };
            let chunk = chunk.map_err(|e| self.host.map_body_error(&what, e))?;
            for (at, piece) in layout.pieces(chunk).map_err(|d| self.protocol(d))? {
                let Some(bytes) = take_next(&range, next, at, &piece) else {
                    return Err(
                        self.protocol(format!("asked for bytes from {next}, got bytes from {at}"))
                    );
                };
                if !bytes.is_empty() {
                    sink(bytes).map_err(|source| RegistryError::Io {
                        what: format!("storing {what}"),
                        source,
                    })?;
                    next += bytes.len() as u64;
                }
            }
        }
        Ok(())
    }

    fn protocol(&self, detail: String) -> RegistryError {
        RegistryError::Protocol {
            registry: self.host.name.clone(),
            what: self.what(),
            detail,
        }
    }
}

/// The bytes of `piece` (blob bytes from offset `at`) that go next into
/// `range`, whose bytes before `next` are in: empty when the piece lies
/// before `next` (a whole blob's start) or past the range; `None` when it
/// starts beyond `next`, leaving a hole.
fn take_next<'p>(range: &Range<u64>, next: u64, at: u64, piece: &'p [u8]) -> Option<&'p [u8]> {
    let piece_end = at.saturating_add(piece.len() as u64);
    if at > next && next < range.end {
        return None;
    }
    let end = piece_end.min(range.end);
    if end <= next {
        return Some(&[]);
    }
    Some(&piece[(next - at) as usize..(end - at) as usize])
}

/// `bytes=0-9,20-29` (HTTP ranges are inclusive). Empty ranges cannot be
/// written in HTTP and are left out.
pub fn range_header(ranges: &[Range<u64>]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .filter_map(|r| Some(format!("{}-{}", r.start, last_byte(r)?)))
        .collect();
    format!("bytes={}", parts.join(","))
}

/// The inclusive end of a non-empty range.
fn last_byte(r: &Range<u64>) -> Option<u64> {
    (r.end > r.start).then(|| r.end - 1)
}

/// The boundary of a `multipart/byteranges` content type.
pub fn multipart_boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/byteranges") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// `bytes 10-19/100` as 10..20. `None` for anything else, including an end
/// before the start, an end of `u64::MAX` (its exclusive end is not a u64)
/// and an end beyond a stated total.
pub fn parse_content_range(value: &str) -> Option<Range<u64>> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    let total = total.trim();
    if total != "*" && end >= total.parse::<u64>().ok()? {
        return None;
    }
    (end >= start).then_some(start..end.checked_add(1)?)
}

/// What became of one request.
enum Answer {
    /// The answer ended (it may not have held every range asked for).
    Ended,
    /// The answer broke off.
    Broke(BodyError),
}

/// Where the bytes of an answer's body sit in the blob.
enum Layout {
    /// One run of blob bytes from offset `at` (a 206 for one range, or a
    /// 200 with the whole blob from 0).
    Run { at: u64 },
    /// Parts, each saying where it sits.
    Multipart(MultipartStream),
}

impl Layout {
    /// The blob bytes in the next chunk of the body, as (offset, bytes).
    fn pieces(&mut self, chunk: Bytes) -> std::result::Result<Vec<(u64, Bytes)>, String> {
        match self {
            Layout::Run { at } => {
                let start = *at;
                *at = at
                    .checked_add(chunk.len() as u64)
                    .ok_or("an answer longer than any blob")?;
                Ok(vec![(start, chunk)])
            }
            Layout::Multipart(parts) => parts.push(&chunk),
        }
    }
}

/// The ranges of one call, filled from the pieces of the answers as they
/// arrive, in whatever order; each is taken once it is complete.
struct Wanted<'r> {
    ranges: &'r [Range<u64>],
    filling: Vec<Vec<u8>>,
    done: Vec<bool>,
}

impl<'r> Wanted<'r> {
    fn new(ranges: &'r [Range<u64>]) -> Wanted<'r> {
        Wanted {
            ranges,
            filling: vec![Vec::new(); ranges.len()],
            done: vec![false; ranges.len()],
        }
    }

    /// Up to `max` ranges not yet complete.
    fn next_request(&self, max: usize) -> Vec<Range<u64>> {
        self.ranges
            .iter()
            .zip(&self.done)
            .filter(|(_, done)| !**done)
            .map(|(r, _)| r.clone())
            .take(max)
            .collect()
    }

    /// Whether every range of `asked` is complete.
    fn all_done(&self, asked: &[Range<u64>]) -> bool {
        asked.iter().all(|a| {
            let i = self.ranges.partition_point(|r| r.start < a.start);
            self.done.get(i).copied().unwrap_or(false)
        })
    }

    /// Adds `data`, the blob bytes from offset `at`, to the ranges it
    /// overlaps. Returns the indices of the ranges it completes. Bytes a
    /// range already has are ignored; bytes that would leave a hole in one
    /// are an error (the answer skipped some).
    fn feed(&mut self, at: u64, data: &[u8]) -> std::result::Result<Vec<usize>, String> {
        let end = at
            .checked_add(data.len() as u64)
            .ok_or("a part beyond the end of any blob")?;
        let mut completed = Vec::new();
        let first = self.ranges.partition_point(|r| r.end <= at);
        for i in first..self.ranges.len() {
            let r = &self.ranges[i];
            if r.start >= end {
                break;
            }
            if self.done[i] {
                continue;
            }
            let have = r.start + self.filling[i].len() as u64;
            let (from, to) = (r.start.max(at), r.end.min(end));
            if to <= have {
                continue;
            }
            if from > have {
                return Err(format!(
                    "the answer skipped bytes {have}..{from} (end exclusive) of a range asked for"
                ));
            }
            self.filling[i].extend_from_slice(&data[(have - at) as usize..(to - at) as usize]);
            if to == r.end {
                self.done[i] = true;
                completed.push(i);
            }
        }
        Ok(completed)
    }

    /// The bytes of complete range `i`.
    fn take(&mut self, i: usize) -> Bytes {
        Bytes::from(std::mem::take(&mut self.filling[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_header_is_inclusive() {
        assert_eq!(range_header(&[0..10, 20..21]), "bytes=0-9,20-20");
    }

    #[test]
    fn ranges_fill_from_pieces_in_any_order_and_any_cut() {
        let ranges = [0..4, 10..14, 20..22];
        let mut wanted = Wanted::new(&ranges);
        // The last range first, then one piece spanning the first two
        // (with the bytes between them), then a repeat.
        assert_eq!(wanted.feed(20, b"uv").unwrap(), vec![2]);
        assert_eq!(wanted.feed(0, b"abc").unwrap(), Vec::<usize>::new());
        assert_eq!(wanted.feed(2, b"cdxxxxxxWXYZ").unwrap(), vec![0, 1]);
        assert_eq!(wanted.feed(0, b"abcd").unwrap(), Vec::<usize>::new());
        assert_eq!(wanted.take(0), Bytes::from_static(b"abcd"));
        assert_eq!(wanted.take(1), Bytes::from_static(b"WXYZ"));
        assert_eq!(wanted.take(2), Bytes::from_static(b"uv"));
        assert!(wanted.all_done(&ranges));
        assert!(wanted.next_request(32).is_empty());
    }

    #[test]
    fn a_piece_that_leaves_a_hole_in_a_range_is_an_error() {
        let ranges = [Range { start: 0, end: 10 }];
        let mut wanted = Wanted::new(&ranges);
        wanted.feed(0, b"ab").unwrap();
        assert!(wanted
            .feed(5, b"fg")
            .unwrap_err()
            .contains("skipped bytes 2..5"));
        assert_eq!(wanted.next_request(32), vec![0..10]);
        assert!(!wanted.all_done(&ranges));
    }

    #[test]
    fn a_streamed_range_takes_its_bytes_from_any_run_of_the_blob() {
        let range = 10..20;
        // A whole blob (200): bytes before the range are skipped, bytes
        // after it are cut off.
        assert_eq!(take_next(&range, 10, 0, b"0123456789ab"), Some(&b"ab"[..]));
        assert_eq!(take_next(&range, 10, 0, b"0123"), Some(&b""[..]));
        assert_eq!(
            take_next(&range, 12, 12, b"cdefghijklmn"),
            Some(&b"cdefghij"[..])
        );
        // A run that starts past what is in leaves a hole.
        assert_eq!(take_next(&range, 10, 11, b"b"), None);
    }

    #[test]
    fn only_incomplete_ranges_are_asked_again() {
        let ranges = [0..2, 5..7, 9..11];
        let mut wanted = Wanted::new(&ranges);
        wanted.feed(5, b"xy").unwrap();
        assert_eq!(wanted.next_request(32), vec![0..2, 9..11]);
        assert_eq!(wanted.next_request(1), vec![0..2]);
        assert!(wanted.all_done(std::slice::from_ref(&ranges[1])));
        assert!(!wanted.all_done(&[0..2, 5..7]));
    }

    #[test]
    fn content_range_ends_at_the_edge_of_u64_without_overflow() {
        assert_eq!(parse_content_range("bytes 10-19/100"), Some(10..20));
        assert_eq!(parse_content_range("bytes 0-0/*"), Some(0..1));
        // u64::MAX as the end has no exclusive end: rejected, not wrapped
        // (it panicked in debug builds and wrapped to 0 in release).
        let max = u64::MAX;
        assert_eq!(parse_content_range(&format!("bytes 0-{max}/*")), None);
        assert_eq!(parse_content_range(&format!("bytes {max}-{max}/*")), None);
        assert_eq!(parse_content_range("bytes 5-4/10"), None);
        assert_eq!(
            parse_content_range("bytes 0-10/10"),
            None,
            "end beyond the total"
        );
        assert_eq!(parse_content_range("bytes 0-99999999999999999999/*"), None);
        assert_eq!(parse_content_range("bytes -5/10"), None);
    }

    #[test]
    fn hostile_multipart_parts_are_errors_not_panics() {
        let max = u64::MAX;
        for range in [format!("bytes 0-{}/*", max - 1), format!("bytes 1-{max}/*")] {
            let body = Bytes::from(format!("--B\r\nContent-Range: {range}\r\n\r\nabc\r\n--B--"));
            assert!(parse_multipart(&body, "B").is_err(), "{range}");
        }
        assert!(parse_multipart(&Bytes::from_static(b"----"), "").is_err());
        // The last byte a u64 offset can name is a valid one-byte part.
        let body = Bytes::from(format!(
            "--B\r\nContent-Range: bytes {0}-{0}/*\r\n\r\na\r\n--B--",
            max - 1
        ));
        let parts = parse_multipart(&body, "B").unwrap();
        assert_eq!(parts, vec![(max - 1, Bytes::from_static(b"a"))]);
        let last = [Range {
            start: max - 1,
            end: max,
        }];
        let mut wanted = Wanted::new(&last);
        assert_eq!(wanted.feed(max - 1, b"a").unwrap(), vec![0]);
        // A piece running past u64::MAX is refused, not wrapped.
        let mut wanted = Wanted::new(&last);
        assert!(wanted.feed(max - 1, b"abc").is_err());
        let mut run = Layout::Run { at: max - 1 };
        assert!(run.pieces(Bytes::from_static(b"abc")).is_err());
        assert_eq!(range_header(&[0..0, 5..6]), "bytes=5-5");
    }

    #[test]
    fn boundary_from_content_type() {
        assert_eq!(
            multipart_boundary("multipart/byteranges; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(multipart_boundary("application/octet-stream"), None);
    }
}

//! Reading parts of a blob with HTTP Range requests, for lazy layers.
//!
//! Several ranges go out in one `Range: bytes=a-b,c-d` request when the
//! registry answers those with `multipart/byteranges` (docker-registry's
//! filesystem driver does); a registry or storage front end that answers with
//! one range, or with the whole blob, is handled too, and one that cannot do
//! multi-range is asked range by range from then on.

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
        let host = self.host(registry)?;
        let fetch = RangeFetch {
            host: &host,
            repository,
            digest,
        };
        let mut out = Vec::with_capacity(ranges.len());
        for group in ranges.chunks(MAX_RANGES_PER_REQUEST) {
            out.extend(fetch.group(group).await?);
        }
        Ok(out)
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

    async fn group(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if ranges.len() > 1 && !self.host.single_range_only.load(Ordering::Relaxed) {
            match self.request(ranges).await? {
                Some(parts) => return Ok(parts),
                None => {
                    tracing::debug!(registry = %self.host.name, "no multi-range support; asking range by range");
                    self.host.single_range_only.store(true, Ordering::Relaxed);
                }
            }
        }
        let mut out = Vec::with_capacity(ranges.len());
        for r in ranges {
            let parts = self
                .request(std::slice::from_ref(r))
                .await?
                .ok_or_else(|| {
                    self.protocol(format!(
                        "the answer to a request for bytes {r:?} did not hold them"
                    ))
                })?;
            out.extend(parts);
        }
        Ok(out)
    }

    /// One request for `ranges`, retried when the body breaks off. `None`
    /// when the answer is valid HTTP but does not cover every range (a
    /// registry that answers a multi-range request with only the first).
    async fn request(&self, ranges: &[Range<u64>]) -> Result<Option<Vec<Bytes>>> {
        let req = self.range_request(ranges).await?;
        let what = self.what();
        let mut attempt = 0;
        let mut timeouts = 0;
        loop {
            let resp = self.send(&req).await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let limit = ranges.last().map_or(0, |r| r.end);
            match read_body(resp, status == 200, limit, self.host.read_timeout).await {
                Ok(body) => {
                    return self
                        .split(status, &headers, body, ranges)
                        .map(Some)
                        .or_else(|e| {
                            if ranges.len() > 1 && matches!(e, RegistryError::Protocol { .. }) {
                                tracing::debug!(error = %e, "multi-range answer unusable");
                                Ok(None)
                            } else {
                                Err(e)
                            }
                        })
                }
                Err(e)
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
                Err(e) => return Err(self.host.map_body_error(&what, e)),
            }
        }
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
        // A 200 is the whole blob: skip to the range.
        let mut skip = if resp.status().as_u16() == 206 {
            let start = resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::blob::content_range_start);
            if start != Some(range.start) {
                return Err(self.protocol(format!(
                    "asked for bytes from {}, got a range starting at {start:?}",
                    range.start
                )));
            }
            0
        } else {
            range.start
        };
        let what = self.what();
        let mut left = range.end.saturating_sub(range.start);
        let mut body = Body::new(resp, self.host.read_timeout);
        while left > 0 {
            let Some(chunk) = body.next().await else {
                return Err(self.protocol(format!("the answer ended {left} bytes early")));
            };
            let chunk = chunk.map_err(|e| self.host.map_body_error(&what, e))?;
            let mut piece = &chunk[..];
            let skipped = skip.min(piece.len() as u64);
            piece = &piece[skipped as usize..];
            skip -= skipped;
            let take = left.min(piece.len() as u64) as usize;
            if take > 0 {
                sink(&piece[..take]).map_err(|source| RegistryError::Io {
                    what: format!("storing {what}"),
                    source,
                })?;
                left -= take as u64;
            }
        }
        Ok(())
    }

    /// Cuts the asked-for ranges out of an answer.
    fn split(
        &self,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: Bytes,
        ranges: &[Range<u64>],
    ) -> Result<Vec<Bytes>> {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let pieces: Vec<(u64, Bytes)> = if status == 200 {
            // The whole blob (Range ignored): read_body stopped at the end
            // of the last range.
            vec![(0, body)]
        } else if let Some(boundary) = header(CONTENT_TYPE).and_then(multipart_boundary) {
            parse_multipart(&body, &boundary).map_err(|d| self.protocol(d))?
        } else {
            let start = header(CONTENT_RANGE)
                .and_then(crate::blob::content_range_start)
                .ok_or_else(|| self.protocol("a 206 answer without Content-Range".into()))?;
            vec![(start, body)]
        };
        ranges
            .iter()
            .map(|r| {
                cut(&pieces, r).ok_or_else(|| {
                    self.protocol(format!(
                        "the answer does not hold bytes {}..{} (end exclusive)",
                        r.start, r.end
                    ))
                })
            })
            .collect()
    }

    fn protocol(&self, detail: String) -> RegistryError {
        RegistryError::Protocol {
            registry: self.host.name.clone(),
            what: self.what(),
            detail,
        }
    }
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

/// Reads a body; for a 200 (whole blob) only up to `limit` bytes.
async fn read_body(
    resp: reqwest::Response,
    whole_blob: bool,
    limit: u64,
    read_timeout: std::time::Duration,
) -> std::result::Result<Bytes, BodyError> {
    let mut body = Body::new(resp, read_timeout);
    let mut buf = Vec::new();
    while let Some(chunk) = body.next().await {
        buf.extend_from_slice(&chunk?);
        if whole_blob && buf.len() as u64 >= limit {
            break;
        }
    }
    Ok(Bytes::from(buf))
}

/// The bytes of `want` from pieces that each start at a blob offset.
pub fn cut(pieces: &[(u64, Bytes)], want: &Range<u64>) -> Option<Bytes> {
    pieces.iter().find_map(|(start, data)| {
        let end = start.checked_add(u64::try_from(data.len()).ok()?)?;
        if *start > want.start || want.end > end || want.start > want.end {
            return None;
        }
        let from = usize::try_from(want.start - start).ok()?;
        let to = usize::try_from(want.end - start).ok()?;
        Some(data.slice(from..to))
    })
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

/// Parses a `multipart/byteranges` body into (start offset, bytes) parts.
/// Each part's length comes from its Content-Range, so binary data that
/// happens to contain the boundary cannot confuse the parser. Every length
/// and offset comes from the server, so all arithmetic on them is checked.
pub fn parse_multipart(
    body: &Bytes,
    boundary: &str,
) -> std::result::Result<Vec<(u64, Bytes)>, String> {
    if boundary.is_empty() {
        return Err("multipart answer with an empty boundary".into());
    }
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut pos = 0usize;
    loop {
        let at = find(&body[pos..], delimiter.as_bytes())
            .ok_or_else(|| "multipart answer ends without its closing boundary".to_string())?;
        pos += at + delimiter.len();
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        let head_end = find(&body[pos..], b"\r\n\r\n")
            .ok_or_else(|| "multipart part without a blank line after its headers".to_string())?;
        let head = std::str::from_utf8(&body[pos..pos + head_end])
            .map_err(|_| "multipart part headers are not text".to_string())?;
        pos += head_end + 4;
        let range = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case("content-range").then_some(v)
            })
            .and_then(parse_content_range)
            .ok_or_else(|| format!("multipart part without a usable Content-Range: {head:?}"))?;
        let short = || "multipart part shorter than its Content-Range".to_string();
        let len = usize::try_from(range.end - range.start).map_err(|_| short())?;
        let data = pos
            .checked_add(len)
            .and_then(|end| body.get(pos..end))
            .ok_or_else(short)?;
        parts.push((range.start, Bytes::copy_from_slice(data)));
        pos += len;
    }
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_header_is_inclusive() {
        assert_eq!(range_header(&[0..10, 20..21]), "bytes=0-9,20-20");
    }

    #[test]
    fn multipart_parts_are_cut_by_length() {
        // The second part's data contains the boundary text itself.
        let body = Bytes::from_static(
            b"\r\n--XYZ\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-3/100\r\n\r\nabcd\r\n--XYZ\r\nContent-Range: bytes 50-56/100\r\n\r\n--XYZ--\r\n--XYZ--\r\n",
        );
        let parts = parse_multipart(&body, "XYZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], (0, Bytes::from_static(b"abcd")));
        assert_eq!(parts[1], (50, Bytes::from_static(b"--XYZ--")));
        assert_eq!(cut(&parts, &(51..53)).unwrap(), Bytes::from_static(b"-X"));
        assert!(cut(&parts, &(3..5)).is_none());
    }

    #[test]
    fn truncated_multipart_is_an_error() {
        let body = Bytes::from_static(b"--B\r\nContent-Range: bytes 0-9/10\r\n\r\nabc");
        assert!(parse_multipart(&body, "B").unwrap_err().contains("shorter"));
        let body = Bytes::from_static(b"--B\r\nContent-Range: bytes 0-2/10\r\n\r\nabc\r\n");
        assert!(parse_multipart(&body, "B").unwrap_err().contains("closing"));
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
        assert_eq!(cut(&parts, &(max - 1..max)), Some(Bytes::from_static(b"a")));
        // A part starting near u64::MAX cannot be cut without overflow.
        let parts = vec![(max - 1, Bytes::from_static(b"abc"))];
        assert_eq!(cut(&parts, &(max - 1..max)), None);
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 2..1;
        assert_eq!(cut(&[(0, Bytes::from_static(b"abc"))], &backwards), None);
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

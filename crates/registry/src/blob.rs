//! Blob downloads: streamed into any `AsyncWrite`, resumable with a Range
//! request, verified for size and digest at the end; and HEAD existence checks.

use hoist_image::{Digest, Hasher};
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::Method;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::auth::Scope;
use crate::client::RegistryClient;
use crate::error::{RegistryError, Result};
use crate::host::{Host, Request};
use crate::idle::Body;
use crate::manifest::content_length;
use crate::sink::{BlobRef, Progress, Resume};

/// The first byte position of a `Content-Range: bytes START-END/TOTAL`.
pub fn content_range_start(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, _total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    start.trim().parse().ok()
}

impl RegistryClient {
    /// Downloads a blob into `sink`, reporting progress, and verifies its
    /// size (when `blob` is a descriptor) and digest. Returns the byte count.
    /// On error the sink holds partial data the caller must discard (or keep
    /// for `fetch_blob_resume`, if the error is transient).
    pub async fn fetch_blob<'a, W>(
        &self,
        registry: &str,
        repository: &str,
        blob: impl Into<BlobRef<'a>>,
        sink: &mut W,
        progress: &Progress,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        let blob = blob.into();
        let resume = Resume {
            offset: 0,
            hasher: Hasher::new(blob.digest.algorithm()),
        };
        self.fetch_blob_resume(registry, repository, blob, resume, sink, progress)
            .await
    }

    /// [`RegistryClient::fetch_blob`] into a sink that hashes what it
    /// stores and checks the digest itself (the store's blob writer): the
    /// size is checked here, the digest is not hashed a second time on the
    /// download's thread. The caller must check it before using the bytes.
    pub async fn fetch_blob_for_verifying_sink<'a, W>(
        &self,
        registry: &str,
        repository: &str,
        blob: impl Into<BlobRef<'a>>,
        sink: &mut W,
        progress: &Progress,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        let host = self.host(registry)?;
        download(&host, repository, blob.into(), 0, None, sink, progress).await
    }

    /// Continues a partial download: `sink` already holds `resume.offset`
    /// bytes and `resume.hasher` has seen them. Asks for the rest with a
    /// Range request; a registry that ignores Range (200 instead of 206) is
    /// handled by skipping the bytes we already have.
    pub async fn fetch_blob_resume<'a, W>(
        &self,
        registry: &str,
        repository: &str,
        blob: impl Into<BlobRef<'a>>,
        resume: Resume,
        sink: &mut W,
        progress: &Progress,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        let blob = blob.into();
        let host = self.host(registry)?;
        let Resume { offset, hasher } = resume;
        download(
            &host,
            repository,
            blob,
            offset,
            Some(hasher),
            sink,
            progress,
        )
        .await
    }

    /// Whether a blob exists in a repository, and its size (HEAD).
    pub async fn blob_exists(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        let host = self.host(registry)?;
        let what = format!("checking blob {digest} in {registry}/{repository}");
        let req = Request::new(
            Method::HEAD,
            host.url(&format!("/v2/{repository}/blobs/{digest}"))
                .await?,
        );
        let resp = host
            .execute(&[Scope::pull(repository)], &what, &req)
            .await?;
        match resp.status().as_u16() {
            404 => Ok(None),
            s if (200..300).contains(&s) => Ok(Some(content_length(resp.headers()).unwrap_or(0))),
            _ => Err(host.fail(&what, resp).await),
        }
    }
}

/// Downloads `blob` from byte `offset` on into `sink`. `hasher`, when
/// given, has seen the first `offset` bytes and checks the digest at the
/// end; without it the sink does.
async fn download<W>(
    host: &Host,
    repository: &str,
    blob: BlobRef<'_>,
    offset: u64,
    mut hasher: Option<Hasher>,
    sink: &mut W,
    progress: &Progress,
) -> Result<u64>
where
    W: AsyncWrite + Unpin + Send + ?Sized,
{
    let digest = blob.digest;
    let name = format!("blob {digest} in {}/{repository}", host.name);
    let what = format!("fetching {name}");
    let size_mismatch = |actual| RegistryError::SizeMismatch {
        what: name.clone(),
        expected: blob.size.unwrap_or(0),
        actual,
    };
    let mut written = offset;
    if blob.size.is_some_and(|s| written > s) {
        return Err(size_mismatch(written));
    }
    let url = host
        .url(&format!("/v2/{repository}/blobs/{digest}"))
        .await?;
    let scopes = [Scope::pull(repository)];
    let mut interruptions = 0;
    let mut timeouts = 0;
    'attempt: loop {
        if written > 0 && blob.size == Some(written) {
            break; // the partial download was already complete
        }
        let mut req = Request::new(Method::GET, url.clone());
        if written > 0 {
            req.headers
                .insert(RANGE, format!("bytes={written}-").parse().expect("ascii"));
        }
        let resp = host.execute(&scopes, &what, &req).await?;
        let mut skip = 0u64;
        match resp.status().as_u16() {
            206 if written > 0 => {
                let start = resp
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range_start);
                if start != Some(written) {
                    return Err(RegistryError::Protocol {
                        registry: host.name.clone(),
                        what,
                        detail: format!(
                            "asked for bytes from {written}, got a range starting at {start:?}"
                        ),
                    });
                }
            }
            200 => {
                if written > 0 {
                    tracing::debug!(%digest, written, "registry ignored Range: skipping what we have");
                }
                skip = written;
                if let (Some(len), Some(size)) = (content_length(resp.headers()), blob.size) {
                    if len != size {
                        return Err(size_mismatch(len));
                    }
                }
            }
            404 => return Err(RegistryError::NotFound { what: name }),
            _ => return Err(host.fail(&what, resp).await),
        }
        let mut body = Body::new(resp, host.read_timeout);
        while let Some(item) = body.next().await {
            let mut chunk = match item {
                Ok(c) => c,
                Err(e)
                    if e.retryable()
                        && interruptions + 1 < host.retry.max_attempts
                        && (!e.is_timeout() || timeouts + 1 < host.retry.max_timeouts) =>
                {
                    let delay = host.retry.delay(interruptions, None);
                    interruptions += 1;
                    if e.is_timeout() {
                        timeouts += 1;
                    }
                    tracing::info!(%digest, written, ?delay, "download interrupted ({e}); resuming");
                    tokio::time::sleep(delay).await;
                    continue 'attempt;
                }
                Err(e) => return Err(host.map_body_error(&what, e)),
            };
            if skip > 0 {
                let n = skip.min(chunk.len() as u64);
                let _ = chunk.split_to(n as usize);
                skip -= n;
                if chunk.is_empty() {
                    continue;
                }
            }
            let next = written.saturating_add(chunk.len() as u64);
            if blob.size.is_some_and(|s| next > s) {
                return Err(size_mismatch(next));
            }
            sink.write_all(&chunk)
                .await
                .map_err(|source| RegistryError::Io {
                    what: format!("writing {name}"),
                    source,
                })?;
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            written = next;
            progress.report(written);
        }
        if skip > 0 {
            return Err(RegistryError::Protocol {
                registry: host.name.clone(),
                what,
                detail: format!(
                    "full response was shorter than the {offset} bytes already downloaded"
                ),
            });
        }
        break;
    }
    sink.flush().await.map_err(|source| RegistryError::Io {
        what: format!("writing {name}"),
        source,
    })?;
    if blob.size.is_some_and(|s| s != written) {
        return Err(size_mismatch(written));
    }
    let Some(hasher) = hasher else {
        return Ok(written);
    };
    let actual = hasher.finish();
    if actual != *digest {
        return Err(RegistryError::DigestMismatch {
            what: name,
            expected: digest.clone(),
            actual,
        });
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_range() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes 0-0/*"), Some(0));
        assert_eq!(content_range_start("bytes */200"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }
}

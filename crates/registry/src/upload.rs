//! Blob uploads: cross-repository mounts, monolithic PUT and chunked PATCH
//! uploads, with registry-chosen (relative or absolute) session locations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use hoist_image::{Digest, Hasher};
use reqwest::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION,
};
use reqwest::{Method, Response};
use tokio::io::{AsyncRead, AsyncReadExt};
use url::Url;

use crate::auth::Scope;
use crate::client::RegistryClient;
use crate::error::{RegistryError, Result};
use crate::host::{Host, Request};
use crate::idle::{tracked_body, Activity};
use crate::manifest::{cross_check_digest, header_digest};
use crate::sink::Progress;

/// Resolves an upload Location against the URL that returned it: absolute
/// URLs stand, absolute paths and relative references are joined.
pub fn resolve_location(base: &Url, location: &str) -> std::result::Result<Url, url::ParseError> {
    base.join(location.trim())
}

/// The session URL with `digest=` added, keeping the registry's own query
/// parameters (upload state tokens) exactly as they were.
pub fn with_digest(session: &Url, digest: &Digest) -> Url {
    let mut u = session.clone();
    u.query_pairs_mut()
        .append_pair("digest", &digest.to_string());
    u
}

enum Started {
    Mounted,
    Session(Url),
}

fn octet_stream() -> HeaderValue {
    HeaderValue::from_static("application/octet-stream")
}

impl Host {
    fn location(&self, what: &str, resp: &Response) -> Result<Url> {
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Protocol {
                registry: self.name.clone(),
                what: what.to_string(),
                detail: format!("{} response without a Location header", resp.status()),
            })?;
        resolve_location(resp.url(), loc).map_err(|e| RegistryError::Protocol {
            registry: self.name.clone(),
            what: what.to_string(),
            detail: format!("bad Location {loc:?}: {e}"),
        })
    }

    /// POST to start an upload, or with `mount`, to mount a blob from another
    /// repository of the same registry.
    async fn start_upload(
        &self,
        repository: &str,
        mount: Option<(&Digest, &str)>,
    ) -> Result<Started> {
        let mut url = self
            .url(&format!("/v2/{repository}/blobs/uploads/"))
            .await?;
        let mut scopes = vec![Scope::push(repository)];
        let what = match mount {
            Some((digest, from)) => {
                url.query_pairs_mut()
                    .append_pair("mount", &digest.to_string())
                    .append_pair("from", from);
                scopes.push(Scope::pull(from));
                format!(
                    "mounting blob {digest} from {from} into {}/{repository}",
                    self.name
                )
            }
            None => format!("starting a blob upload to {}/{repository}", self.name),
        };
        let mut req = Request::new(Method::POST, url);
        req.body = Some(Bytes::new());
        let resp = self.execute(&scopes, &what, &req).await?;
        match resp.status().as_u16() {
            201 if mount.is_some() => Ok(Started::Mounted),
            202 => Ok(Started::Session(self.location(&what, &resp)?)),
            _ => Err(self.fail(&what, resp).await),
        }
    }

    /// Best-effort DELETE of an upload session we will not use.
    async fn cancel_upload(&self, repository: &str, session: Url) {
        let req = Request::new(Method::DELETE, session);
        match self
            .execute(&[Scope::push(repository)], "cancelling upload", &req)
            .await
        {
            Ok(r) => tracing::debug!(status = r.status().as_u16(), "cancelled upload session"),
            Err(e) => tracing::debug!("could not cancel upload session: {e}"),
        }
    }

    /// Sends a request whose body can be sent only once: authenticated with
    /// the current (cached) credentials, no retry. Callers make a retryable
    /// request to the same repository first, so the token is fresh. The body
    /// marks `activity` as it goes: the request fails when neither body
    /// bytes leave nor an answer comes for the read timeout.
    #[allow(clippy::too_many_arguments)]
    async fn send_once(
        &self,
        scopes: &[Scope],
        what: &str,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: reqwest::Body,
        activity: &Activity,
    ) -> Result<Response> {
        let mut rb = self
            .http
            .request(method, url.clone())
            .headers(headers)
            .body(body);
        if self.same_origin(&url).await {
            if let Some(a) = self.authorization(scopes, None, false).await? {
                rb = rb.header(AUTHORIZATION, a);
            }
        }
        self.send_single(what, rb, activity).await
    }
}

/// Counts, hashes and reports the bytes of an upload as the HTTP client pulls them.
struct Meter {
    sent: AtomicU64,
    hasher: Mutex<Option<Hasher>>,
}

impl RegistryClient {
    /// Mounts a blob from `from_repository` on the same registry. Returns
    /// false when the registry did not mount it (the blob is not there, or
    /// mounting is unsupported); the upload session it opened is cancelled.
    pub async fn mount_blob(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        from_repository: &str,
    ) -> Result<bool> {
        let host = self.host(registry)?;
        match host
            .start_upload(repository, Some((digest, from_repository)))
            .await?
        {
            Started::Mounted => Ok(true),
            Started::Session(url) => {
                host.cancel_upload(repository, url).await;
                Ok(false)
            }
        }
    }

    /// Uploads `size` bytes read from `reader` as blob `digest`. Progress is
    /// reported as bytes leave. The data is sent once: on a transient error
    /// (`RegistryError::is_transient`) call again with a fresh reader.
    pub async fn push_blob<R>(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        size: u64,
        reader: R,
        progress: &Progress,
    ) -> Result<()>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let host = self.host(registry)?;
        let Started::Session(session) = host.start_upload(repository, None).await? else {
            unreachable!("no mount was asked for")
        };
        let name = format!("blob {digest} to {registry}/{repository}");
        match self.options().upload_chunk_size {
            Some(chunk) => {
                push_chunked(
                    &host, repository, &name, session, digest, size, reader, chunk, progress,
                )
                .await
            }
            None => {
                push_monolithic(
                    &host, repository, &name, session, digest, size, reader, progress,
                )
                .await
            }
        }
    }

    /// Uploads an in-memory blob (a config, say) and returns its digest.
    /// Retried like any other request, since the body can be resent.
    pub async fn push_blob_bytes(
        &self,
        registry: &str,
        repository: &str,
        data: Bytes,
    ) -> Result<Digest> {
        let host = self.host(registry)?;
        let digest = Digest::sha256_of(&data);
        let Started::Session(session) = host.start_upload(repository, None).await? else {
            unreachable!("no mount was asked for")
        };
        let what = format!("pushing blob {digest} to {registry}/{repository}");
        let mut req = Request::new(Method::PUT, with_digest(&session, &digest));
        req.headers.insert(CONTENT_TYPE, octet_stream());
        req.body = Some(data.clone());
        let resp = host
            .execute(&[Scope::push(repository)], &what, &req)
            .await?;
        finish(&host, &what, resp, &digest, None).await?;
        Ok(digest)
    }
}

/// Checks the final PUT's answer; `ours` is the digest of what we sent.
async fn finish(
    host: &Host,
    what: &str,
    resp: Response,
    digest: &Digest,
    ours: Option<Digest>,
) -> Result<()> {
    if let Some(actual) = ours.filter(|d| d != digest) {
        return Err(RegistryError::DigestMismatch {
            what: what.to_string(),
            expected: digest.clone(),
            actual,
        });
    }
    if !resp.status().is_success() {
        return Err(host.fail(what, resp).await);
    }
    cross_check_digest(what, header_digest(resp.headers()), digest)
}

#[allow(clippy::too_many_arguments)]
async fn push_monolithic<R>(
    host: &Host,
    repository: &str,
    name: &str,
    session: Url,
    digest: &Digest,
    size: u64,
    reader: R,
    progress: &Progress,
) -> Result<()>
where
    R: AsyncRead + Send + Unpin + 'static,
{
    let what = format!("pushing {name}");
    let meter = Arc::new(Meter {
        sent: AtomicU64::new(0),
        hasher: Mutex::new(Some(Hasher::new(digest.algorithm()))),
    });
    let m = meter.clone();
    let p = progress.clone();
    let activity = Activity::new();
    let a = activity.clone();
    // Read one byte past the announced size, so a reader that is too long
    // is caught instead of silently truncated.
    let stream = tokio_util::io::ReaderStream::with_capacity(reader.take(size + 1), 256 * 1024)
        .map(move |chunk| {
            let chunk = chunk?;
            let sent = m.sent.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
            if sent > size {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "more data than announced",
                ));
            }
            if let Some(h) = m.hasher.lock().expect("poisoned").as_mut() {
                h.update(&chunk);
            }
            p.report(sent);
            a.touch();
            Ok::<Bytes, std::io::Error>(chunk)
        });
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, octet_stream());
    headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    let scopes = [Scope::push(repository)];
    let result = host
        .send_once(
            &scopes,
            &what,
            Method::PUT,
            with_digest(&session, digest),
            headers,
            reqwest::Body::wrap_stream(stream),
            &activity,
        )
        .await;
    let sent = meter.sent.load(Ordering::Relaxed);
    if sent != size {
        host.cancel_upload(repository, session).await;
        return Err(RegistryError::SizeMismatch {
            what: format!("{name} (data read for upload)"),
            expected: size,
            actual: sent,
        });
    }
    let ours = meter
        .hasher
        .lock()
        .expect("poisoned")
        .take()
        .map(Hasher::finish);
    finish(host, &what, result?, digest, ours).await
}

#[allow(clippy::too_many_arguments)]
async fn push_chunked<R>(
    host: &Host,
    repository: &str,
    name: &str,
    mut session: Url,
    digest: &Digest,
    size: u64,
    mut reader: R,
    chunk_size: u64,
    progress: &Progress,
) -> Result<()>
where
    R: AsyncRead + Send + Unpin + 'static,
{
    let what = format!("pushing {name}");
    let scopes = [Scope::push(repository)];
    let mut hasher = Hasher::new(digest.algorithm());
    let mut sent = 0u64;
    let chunk_size = chunk_size.max(1) as usize;
    loop {
        let mut buf = BytesMut::with_capacity(chunk_size);
        while buf.len() < chunk_size {
            let n = (&mut reader)
                .take((chunk_size - buf.len()) as u64)
                .read_buf(&mut buf)
                .await
                .map_err(|source| RegistryError::Io {
                    what: format!("reading data of {name}"),
                    source,
                })?;
            if n == 0 {
                break;
            }
        }
        if buf.is_empty() {
            break;
        }
        let len = buf.len() as u64;
        if sent + len > size {
            host.cancel_upload(repository, session).await;
            return Err(RegistryError::SizeMismatch {
                what: format!("{name} (data read for upload)"),
                expected: size,
                actual: sent + len,
            });
        }
        hasher.update(&buf);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, octet_stream());
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        let range = format!("{}-{}", sent, sent + len - 1);
        headers.insert(CONTENT_RANGE, HeaderValue::from_str(&range).expect("ascii"));
        let activity = Activity::new();
        let resp = host
            .send_once(
                &scopes,
                &what,
                Method::PATCH,
                session.clone(),
                headers,
                tracked_body(buf.freeze(), &activity),
                &activity,
            )
            .await?;
        if resp.status().as_u16() != 202 {
            return Err(host.fail(&what, resp).await);
        }
        session = host.location(&what, &resp)?;
        sent += len;
        progress.report(sent);
    }
    if sent != size {
        host.cancel_upload(repository, session).await;
        return Err(RegistryError::SizeMismatch {
            what: format!("{name} (data read for upload)"),
            expected: size,
            actual: sent,
        });
    }
    let ours = hasher.finish();
    let mut req = Request::new(Method::PUT, with_digest(&session, digest));
    req.body = Some(Bytes::new());
    let resp = host.execute(&scopes, &what, &req).await?;
    finish(host, &what, resp, digest, Some(ours)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Digest {
        Digest::sha256_of(b"x")
    }

    #[test]
    fn resolves_relative_and_absolute_locations() {
        let base = Url::parse("https://reg.example:5000/v2/a/b/blobs/uploads/").unwrap();
        assert_eq!(
            resolve_location(&base, "/v2/a/b/blobs/uploads/123?_state=abc")
                .unwrap()
                .as_str(),
            "https://reg.example:5000/v2/a/b/blobs/uploads/123?_state=abc"
        );
        assert_eq!(
            resolve_location(&base, "https://storage.example/up/1?sig=x%2By")
                .unwrap()
                .as_str(),
            "https://storage.example/up/1?sig=x%2By"
        );
        assert_eq!(
            resolve_location(&base, "456").unwrap().as_str(),
            "https://reg.example:5000/v2/a/b/blobs/uploads/456"
        );
        assert_eq!(
            resolve_location(&base, "//other.example/x")
                .unwrap()
                .as_str(),
            "https://other.example/x"
        );
    }

    #[test]
    fn digest_is_appended_keeping_existing_query() {
        let u = Url::parse("http://r/v2/x/blobs/uploads/1?_state=a%2Bb%3D%3D&x=1").unwrap();
        let out = with_digest(&u, &d());
        assert_eq!(
            out.as_str(),
            format!(
                "http://r/v2/x/blobs/uploads/1?_state=a%2Bb%3D%3D&x=1&digest=sha256%3A{}",
                d().hex()
            )
        );
        let plain = with_digest(&Url::parse("http://r/u").unwrap(), &d());
        assert_eq!(
            plain.query(),
            Some(format!("digest=sha256%3A{}", d().hex()).as_str())
        );
    }
}

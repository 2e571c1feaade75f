//! Manifest endpoints: GET (size-capped, digest-verified), HEAD and PUT.

use hoist_image::manifest::MAX_MANIFEST_BYTES;
use hoist_image::media::ACCEPTED_MANIFESTS;
use hoist_image::{Digest, Reference};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;

use crate::auth::Scope;
use crate::client::RegistryClient;
use crate::error::{parse_error_body, RegistryError, Result};
use crate::host::Request;

const DIGEST_HEADER: &str = "docker-content-digest";

/// What a HEAD on a manifest tells without downloading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    /// From Docker-Content-Digest; registries almost always send it.
    pub digest: Option<Digest>,
    pub media_type: String,
    pub size: Option<u64>,
}

/// The media type of a Content-Type header, without parameters.
pub(crate) fn media_type_of(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
        .unwrap_or_default()
}

pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

pub(crate) fn header_digest(headers: &HeaderMap) -> Option<Digest> {
    let v = headers.get(DIGEST_HEADER)?.to_str().ok()?;
    match v.trim().parse() {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::debug!("ignoring unparsable Docker-Content-Digest: {e}");
            None
        }
    }
}

/// Checks a registry-announced digest against `bytes`, in the announced
/// algorithm (it may differ from the one we computed).
pub(crate) fn cross_check(what: &str, announced: Option<Digest>, bytes: &[u8]) -> Result<()> {
    if let Some(expected) = announced {
        let actual = expected.same_algorithm_of(bytes);
        if actual != expected {
            return Err(RegistryError::DigestMismatch {
                what: what.to_string(),
                expected,
                actual,
            });
        }
    }
    Ok(())
}

/// Checks a registry-announced digest against one we know, when both use
/// the same algorithm.
pub(crate) fn cross_check_digest(
    what: &str,
    announced: Option<Digest>,
    ours: &Digest,
) -> Result<()> {
    match announced {
        Some(a) if a.algorithm() == ours.algorithm() && a != *ours => {
            Err(RegistryError::DigestMismatch {
                what: what.to_string(),
                expected: ours.clone(),
                actual: a,
            })
        }
        _ => Ok(()),
    }
}

fn accept_header() -> HeaderValue {
    HeaderValue::from_str(&ACCEPTED_MANIFESTS.join(", ")).expect("static media types")
}

/// A GET or HEAD of the manifest at `url`, accepting every kind we read.
fn manifest_request(method: Method, url: url::Url) -> Request {
    let mut req = Request::new(method, url);
    req.headers.insert(ACCEPT, accept_header());
    req
}

/// The path element naming a manifest: the digest if any, else the tag.
fn manifest_target(r: &Reference) -> String {
    r.tag_or_digest()
}

impl RegistryClient {
    /// Fetches the manifest `r` names: its bytes, its media type (from
    /// Content-Type, without parameters; may be empty) and its digest.
    /// By digest, the bytes must hash to it; by tag, the digest is computed
    /// and Docker-Content-Digest only cross-checked.
    pub async fn get_manifest(&self, r: &Reference) -> Result<(Vec<u8>, String, Digest)> {
        self.fetch_manifest(
            &r.registry,
            &r.repository,
            &manifest_target(r),
            r.digest.as_ref(),
            &r.to_string(),
        )
        .await
    }

    /// Fetches a manifest by digest (an index entry, say), verifying it.
    pub async fn get_manifest_by_digest(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<(Vec<u8>, String, Digest)> {
        let name = format!("{registry}/{repository}@{digest}");
        self.fetch_manifest(
            registry,
            repository,
            &digest.to_string(),
            Some(digest),
            &name,
        )
        .await
    }

    async fn fetch_manifest(
        &self,
        registry: &str,
        repository: &str,
        target: &str,
        expected: Option<&Digest>,
        name: &str,
    ) -> Result<(Vec<u8>, String, Digest)> {
        let host = self.host(registry)?;
        let what = format!("fetching manifest {name}");
        let resp = host
            .execute_at(
                &[Scope::pull(repository)],
                &what,
                &format!("/v2/{repository}/manifests/{target}"),
                |url| manifest_request(Method::GET, url),
            )
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            let body = host.read_error_body(resp).await;
            tracing::debug!(reference = name, error = ?parse_error_body(&body), "manifest not found");
            return Err(RegistryError::ManifestUnknown {
                reference: name.to_string(),
            });
        }
        if !resp.status().is_success() {
            return Err(host.fail(&what, resp).await);
        }
        let too_large = |size| RegistryError::TooLarge {
            what: format!("manifest {name}"),
            size,
            limit: MAX_MANIFEST_BYTES as u64,
        };
        if let Some(len) = content_length(resp.headers()) {
            if len > MAX_MANIFEST_BYTES as u64 {
                return Err(too_large(len));
            }
        }
        let media_type = media_type_of(resp.headers());
        let announced = header_digest(resp.headers());
        let mut bytes = Vec::new();
        let mut body = crate::idle::Body::new(resp, host.read_timeout);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| host.map_body_error(&what, e))?;
            if bytes.len() + chunk.len() > MAX_MANIFEST_BYTES {
                // Stop reading: a registry (or an attacker) streaming an
                // endless body must not exhaust memory.
                return Err(too_large((bytes.len() + chunk.len()) as u64));
            }
            bytes.extend_from_slice(&chunk);
        }
        let digest = match expected {
            Some(want) => {
                let actual = want.same_algorithm_of(&bytes);
                if actual != *want {
                    return Err(RegistryError::DigestMismatch {
                        what: format!("manifest {name}"),
                        expected: want.clone(),
                        actual,
                    });
                }
                actual
            }
            None => Digest::sha256_of(&bytes),
        };
        cross_check(
            &format!("manifest {name} (Docker-Content-Digest)"),
            announced,
            &bytes,
        )?;
        Ok((bytes, media_type, digest))
    }

    /// HEADs the manifest `r` names; `None` if it does not exist.
    pub async fn head_manifest(&self, r: &Reference) -> Result<Option<ManifestHead>> {
        let host = self.host(&r.registry)?;
        let what = format!("checking manifest {r}");
        let resp = host
            .execute_at(
                &[Scope::pull(&r.repository)],
                &what,
                &format!("/v2/{}/manifests/{}", r.repository, manifest_target(r)),
                |url| manifest_request(Method::HEAD, url),
            )
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(host.fail(&what, resp).await);
        }
        Ok(Some(ManifestHead {
            digest: header_digest(resp.headers()),
            media_type: media_type_of(resp.headers()),
            size: content_length(resp.headers()),
        }))
    }

    /// Uploads a manifest under `r`'s tag (or, without a tag, its digest)
    /// and returns the digest of `bytes`. A digest in `r` must match the bytes.
    pub async fn put_manifest(
        &self,
        r: &Reference,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest> {
        let name = r.to_string();
        let digest = match &r.digest {
            Some(d) => {
                let actual = d.same_algorithm_of(bytes);
                if actual != *d {
                    return Err(RegistryError::DigestMismatch {
                        what: format!("manifest to push as {name}"),
                        expected: d.clone(),
                        actual,
                    });
                }
                actual
            }
            None => Digest::sha256_of(bytes),
        };
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(RegistryError::TooLarge {
                what: format!("manifest to push as {name}"),
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_BYTES as u64,
            });
        }
        let target = match (&r.tag, &r.digest) {
            (Some(t), _) => t.clone(),
            (None, Some(d)) => d.to_string(),
            (None, None) => "latest".to_string(),
        };
        let host = self.host(&r.registry)?;
        let what = format!("pushing manifest {name}");
        let mut req = Request::new(
            Method::PUT,
            host.url(&format!("/v2/{}/manifests/{target}", r.repository))
                .await?,
        );
        let ct = HeaderValue::from_str(media_type).map_err(|_| {
            RegistryError::Config(format!(
                "media type {media_type:?} is not a valid header value"
            ))
        })?;
        req.headers.insert(CONTENT_TYPE, ct);
        req.body = Some(bytes::Bytes::copy_from_slice(bytes));
        let resp = host
            .execute(&[Scope::push(&r.repository)], &what, &req)
            .await?;
        if !resp.status().is_success() {
            return Err(host.fail(&what, resp).await);
        }
        cross_check(
            &format!("{what} (Docker-Content-Digest)"),
            header_digest(resp.headers()),
            bytes,
        )?;
        Ok(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_drops_parameters() {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            "application/vnd.oci.image.index.v1+json; charset=utf-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(media_type_of(&h), "application/vnd.oci.image.index.v1+json");
        assert_eq!(media_type_of(&HeaderMap::new()), "");
    }

    #[test]
    fn cross_check_uses_the_announced_algorithm() {
        let data = b"{}";
        let good = Digest::sha256_of(data);
        cross_check("m", Some(good.clone()), data).unwrap();
        cross_check("m", None, data).unwrap();
        let other = Digest::sha256_of(b"x");
        let err = cross_check("m", Some(other.clone()), data).unwrap_err();
        assert!(
            matches!(err, RegistryError::DigestMismatch { expected, actual, .. }
            if expected == other && actual == good)
        );
        let sha512: Digest = format!("sha512:{}", "0".repeat(128)).parse().unwrap();
        assert!(cross_check("m", Some(sha512), data).is_err());
    }

    #[test]
    fn accepts_every_manifest_type() {
        let v = accept_header();
        for t in ACCEPTED_MANIFESTS {
            assert!(v.to_str().unwrap().contains(t));
        }
    }
}

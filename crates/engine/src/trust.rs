//! The signature policy on pulls: before any layer is downloaded, the
//! manifest a pull found must satisfy `policy.json`'s requirements for the
//! image's name, as podman checks them. Signatures are read from the
//! registries.d lookaside of that name (a directory or a web server).

use std::path::{Path, PathBuf};

use hoist_image::{Digest, Reference};
use hoist_sign::lookaside::{self, signature_url, MAX_SIGNATURES};
use hoist_sign::policy::{self, Policy, Requirement};
use hoist_sign::{Gpg, Lookaside, SignatureStore};
use url::Url;

use crate::error::{EngineError, Result};

/// The policy and signature locations a pull checks against.
#[derive(Debug, Clone)]
pub(crate) struct Trust {
    policy: Option<Policy>,
    registries_d: PathBuf,
}

impl Trust {
    /// `explicit` is `--signature-policy`; without it the system's policy
    /// applies, and a machine without one accepts anything (podman would
    /// refuse to pull at all).
    pub(crate) fn load(explicit: Option<&Path>) -> Result<Trust> {
        let policy = match explicit {
            Some(path) => Some(Policy::load(path)?),
            None if Path::new(policy::DEFAULT_PATH).exists() => {
                Some(Policy::load(Path::new(policy::DEFAULT_PATH))?)
            }
            None => None,
        };
        Ok(Trust {
            policy,
            registries_d: lookaside::default_dir(),
        })
    }

    /// Fails with podman's "Source image rejected" unless `name`'s
    /// manifest `digest` is allowed.
    pub(crate) async fn check(&self, name: &Reference, digest: &Digest) -> Result<()> {
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        let requirements = policy.docker_requirements(name);
        let wants_signatures = requirements
            .iter()
            .any(|r| matches!(r, Requirement::SignedBy { .. }));
        let signatures = if wants_signatures {
            self.signatures(name, digest).await?
        } else {
            vec![]
        };
        policy::check(requirements, name, digest, &signatures, &Gpg::default())
            .map_err(|rejection| EngineError::Rejected(rejection.to_string()))
    }

    /// The signatures the lookaside holds for `digest` of `name`'s repository.
    async fn signatures(&self, name: &Reference, digest: &Digest) -> Result<Vec<Vec<u8>>> {
        let config = Lookaside::load(&self.registries_d)?;
        let Some(base) = config.read_base(name) else {
            return Ok(vec![]);
        };
        match base.scheme() {
            "file" => Ok(SignatureStore::new(PathBuf::from(base.path())).read(digest)?),
            "http" | "https" => fetch_signatures(&base, digest).await,
            other => Err(EngineError::Invalid(format!(
                "signature storage {base}: scheme {other} is not supported: use file://, http:// or https:// in registries.d"
            ))),
        }
    }
}

/// `signature-1`, `signature-2`, ... from a web server, up to the first
/// that is not there.
async fn fetch_signatures(base: &Url, digest: &Digest) -> Result<Vec<Vec<u8>>> {
    // Signatures are small; anything bigger is not one.
    const MAX_BYTES: usize = 4 * 1024 * 1024;
    let client = reqwest::Client::new();
    let mut out = vec![];
    for n in 1..=MAX_SIGNATURES {
        let url = signature_url(base, digest, n);
        let failed = |e: &dyn std::fmt::Display| {
            EngineError::Invalid(format!("reading signature {url}: {e}"))
        };
        let response = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| failed(&e))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            break;
        }
        if !response.status().is_success() {
            return Err(failed(&response.status()));
        }
        let bytes = response.bytes().await.map_err(|e| failed(&e))?;
        if bytes.len() > MAX_BYTES {
            return Err(failed(&format!(
                "{} bytes, more than a signature has",
                bytes.len()
            )));
        }
        out.push(bytes.to_vec());
    }
    Ok(out)
}

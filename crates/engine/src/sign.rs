//! `image sign`: signatures of images in a registry, made with the user's
//! GnuPG key and written to lookaside storage, as podman makes them.
//!
//! The manifest signed is the registry's, fetched through registries.conf
//! (mirrors and rewritten locations) like a pull; the identity signed is
//! the name the user gave, so the signature matches what a pull of that
//! name checks.

use std::path::PathBuf;

use hoist_image::manifest::Manifest;
use hoist_image::registries::RegistriesConf;
use hoist_image::{Digest, Reference};
use hoist_registry::RegistryClient;
use hoist_sign::{Gpg, Lookaside, Payload, SignatureStore};

use crate::error::{EngineError, Result};
use crate::{block_on, Engine, PushOptions, RegistryOptions};

/// How to sign.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// `--sign-by`: the GnuPG key (ID, fingerprint or user ID).
    pub sign_by: String,
    /// `--directory`: the signature store to write to, instead of the
    /// registries.d lookaside.
    pub directory: Option<PathBuf>,
    /// `--all`: sign each image of a manifest list instead of the list.
    pub all: bool,
    /// The registries.d directory; its default when unset.
    pub registries_d: Option<PathBuf>,
    pub registry: RegistryOptions,
}

/// One signature written.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The name the signature vouches for (`registry/repo:tag`).
    pub identity: String,
    pub manifest_digest: Digest,
    pub file: PathBuf,
}

impl Engine {
    /// Signs each of `images` (`docker://REF`). Stops at the first image
    /// that fails; the signatures already written stay, each complete.
    pub fn sign_images(&self, images: &[String], opts: &SignOptions) -> Result<Vec<Signed>> {
        if opts.sign_by.is_empty() {
            return Err(EngineError::Invalid(
                "please provide an identity: --sign-by KEY (a key of `gpg --list-secret-keys`)"
                    .into(),
            ));
        }
        if let Some(dir) = &opts.directory {
            std::fs::metadata(dir).map_err(crate::error::io_err(format!(
                "signature directory {}",
                dir.display()
            )))?;
        }
        let registries_d = opts
            .registries_d
            .clone()
            .unwrap_or_else(hoist_sign::lookaside::default_dir);
        let lookaside = Lookaside::load(&registries_d)?;
        let mut out = vec![];
        for image in images {
            let reference = registry_reference(image)?;
            let store = SignatureStore::new(match &opts.directory {
                Some(dir) => dir.join(&reference.repository),
                None => lookaside.staging_dir(&reference)?,
            });
            let manifests = block_on(fetch_to_sign(&reference, opts))??;
            for digest in manifests {
                out.push(sign_into(
                    &store,
                    &reference,
                    digest,
                    &Gpg::default(),
                    &opts.sign_by,
                )?);
            }
        }
        Ok(out)
    }
}

/// A signature made before a push and stored after it: a key that
/// cannot sign fails the push before anything is uploaded, and a failed
/// upload leaves no signature of a manifest the registry does not have.
pub(crate) struct PendingSignature {
    store: SignatureStore,
    digest: Digest,
    signature: Vec<u8>,
}

/// `push --sign-by`: signs manifest `digest`, about to be pushed as `dest`
/// (`:latest` when it names no tag), for `dest`'s lookaside staging
/// storage; `None` without `--sign-by`.
pub(crate) fn sign_for_push(
    dest: &Reference,
    digest: &Digest,
    opts: &PushOptions,
) -> Result<Option<PendingSignature>> {
    let Some(key) = &opts.sign_by else {
        return Ok(None);
    };
    let dest = dest.or_latest();
    let lookaside = Lookaside::load(&hoist_sign::lookaside::default_dir())?;
    let store = SignatureStore::new(lookaside.staging_dir(&dest)?);
    let gpg = match &opts.sign_passphrase_file {
        Some(file) => Gpg::default().with_passphrase_file(file),
        None => Gpg::default(),
    };
    Ok(Some(PendingSignature {
        store,
        digest: digest.clone(),
        signature: signature(&gpg, key, &dest, digest)?,
    }))
}

impl PendingSignature {
    /// Adds the signature to its store, once the manifest is pushed and
    /// the registry has named it `pushed`, which must be what was signed.
    pub(crate) fn store_for(self, pushed: &Digest) -> Result<()> {
        if *pushed != self.digest {
            return Err(EngineError::Invalid(format!(
                "the registry stored the manifest as {pushed}, not as the signed {}: no signature was stored; push again",
                self.digest
            )));
        }
        let file = self.store.add(&self.digest, &self.signature)?;
        tracing::info!(file = %file.display(), "signature stored");
        Ok(())
    }
}

fn sign_into(
    store: &SignatureStore,
    identity: &Reference,
    digest: Digest,
    gpg: &Gpg,
    key: &str,
) -> Result<Signed> {
    let file = store.add(&digest, &signature(gpg, key, identity, &digest)?)?;
    Ok(Signed {
        identity: identity.to_string(),
        manifest_digest: digest,
        file,
    })
}

/// `key`'s signature that `identity`'s manifest is `digest`.
fn signature(gpg: &Gpg, key: &str, identity: &Reference, digest: &Digest) -> Result<Vec<u8>> {
    let payload = Payload::new(identity.to_string(), digest.clone(), now());
    Ok(gpg.sign(key, &payload.to_json())?)
}

/// The registry reference of `image`, which must name its transport; a
/// name without tag or digest means `:latest`, as podman reads it.
fn registry_reference(image: &str) -> Result<Reference> {
    let rest = image.strip_prefix("docker://").ok_or_else(|| {
        EngineError::Invalid(format!(
            "invalid image name {image:?}: only images in a registry can be signed: name one as docker://REGISTRY/NAME[:TAG]"
        ))
    })?;
    Ok(Reference::parse(rest)?.or_latest())
}

/// The digests of the manifests to sign: the one `reference` names, or
/// with `--all` each image of the list it names (each fetched, so only
/// manifests the registry serves are signed).
async fn fetch_to_sign(reference: &Reference, opts: &SignOptions) -> Result<Vec<Digest>> {
    let conf = RegistriesConf::load_default()?;
    let client = crate::auth::client(&opts.registry, &conf)?;
    let mut last_error = None;
    for source in conf.pull_sources(reference)? {
        match manifests_at(&client, &source.reference, opts.all, reference).await {
            Ok(found) => return Ok(found),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        EngineError::AllSourcesFailed(format!("{reference}: no registry to read it from"))
    }))
}

async fn manifests_at(
    client: &RegistryClient,
    source: &Reference,
    all: bool,
    named: &Reference,
) -> Result<Vec<Digest>> {
    let (bytes, media_type, digest) = client.get_manifest(source).await?;
    if !all {
        return Ok(vec![digest]);
    }
    let Manifest::Index(index) = Manifest::parse(&bytes, &media_type)? else {
        return Err(EngineError::Invalid(format!(
            "docker://{named} is not a multi-architecture image (manifest type {media_type}): sign it without --all"
        )));
    };
    let mut out = vec![];
    for entry in &index.manifests {
        let (_, _, digest) = client
            .get_manifest_by_digest(&source.registry, &source.repository, &entry.digest)
            .await?;
        out.push(digest);
    }
    Ok(out)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

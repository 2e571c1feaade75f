//! Pushing to registries: every blob the registry lacks (mounted from
//! another repository of the same registry when possible), then the config,
//! then the manifest, byte for byte as stored so its digest is unchanged.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use hoist_image::registries::RegistriesConf;
use hoist_image::transport::ImageName;
use hoist_image::{Digest, Reference};
use hoist_registry::{Progress as RegistryProgress, RegistryClient};
use hoist_store::ImageRecord;
use std::sync::Arc;
use tracing::{debug, info_span, Instrument};

use crate::error::{io_err, EngineError, Result};
use crate::progress::{BlobOutcome, Progress};
use crate::push_plan::{PlannedBlob, PushPlan};
use crate::{block_on, Engine, PushOptions};

const PARALLEL_BLOBS: usize = 4;
const UPLOAD_ATTEMPTS: u32 = 3;

impl Engine {
    /// Pushes local image `image` to `destination` (default: the image's own
    /// name) and returns the digest of the pushed manifest.
    pub fn push(
        &self,
        image: &str,
        destination: Option<&str>,
        opts: &PushOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<Digest> {
        let record = self.lookup(image)?;
        // Pushing needs every blob: lazily pulled layers are fetched first.
        self.complete_lazy_layers(&record, &opts.registry, progress)?;
        let dest = destination.unwrap_or(image);
        let digest = match ImageName::parse(dest)? {
            ImageName::Registry(r) => {
                let reference = Reference::parse(&r)?;
                let span = info_span!("push", image = %reference);
                let plan = self.push_plan(&record, opts)?;
                let signature = crate::sign::sign_for_push(&reference, &plan.digest, opts)?;
                let digest = block_on(
                    self.push_to_registry(&record, &plan, &reference, opts, progress)
                        .instrument(span),
                )??;
                if let Some(signature) = signature {
                    signature.store_for(&digest)?;
                }
                Ok(digest)
            }
            _ if opts.sign_by.is_some() => {
                return Err(EngineError::Invalid(format!(
                    "{dest}: only images pushed to a registry can be signed: push to docker://REGISTRY/NAME[:TAG], or push without --sign-by"
                )))
            }
            ImageName::Dir { dir } => {
                let plan = self.push_plan(&record, opts)?;
                self.write_dir(&plan, &dir, progress)?;
                Ok(plan.digest)
            }
            other => {
                let plan = self.push_plan(&record, opts)?;
                if plan.digest != record.manifest_digest {
                    return Err(EngineError::Unsupported {
                        what: format!("converting the image for {dest}"),
                        why: "hoist rewrites manifests and layers only when pushing to a registry or a dir: destination"
                            .into(),
                    });
                }
                self.export(&record, &other, progress)
            }
        }?;
        crate::images::image_event(hoist_events::Status::Push, &record.id, dest);
        Ok(digest)
    }

    pub(crate) async fn push_to_registry(
        &self,
        record: &ImageRecord,
        plan: &PushPlan,
        dest: &Reference,
        opts: &PushOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<Digest> {
        let conf = RegistriesConf::load_default()?;
        let client = crate::auth::client(&opts.registry, &conf)?;
        let mount_from = mount_sources(record, dest);
        progress.message("Copying blobs");
        stream::iter(
            plan.layers
                .iter()
                .map(|b| self.push_blob(&client, dest, b, &mount_from, progress)),
        )
        .buffer_unordered(PARALLEL_BLOBS)
        .try_collect::<Vec<()>>()
        .await?;
        self.push_blob(&client, dest, &plan.config, &mount_from, progress)
            .await?;
        progress.message("Writing manifest to image destination");
        let tagged = dest.or_latest();
        let digest = client
            .put_manifest(&tagged, &plan.manifest, &plan.manifest_type)
            .await?;
        if digest != plan.digest {
            return Err(EngineError::Invalid(format!(
                "the registry stored the manifest of {tagged} as {digest}, not {}: the push is not trustworthy",
                plan.digest
            )));
        }
        Ok(digest)
    }

    async fn push_blob(
        &self,
        client: &RegistryClient,
        dest: &Reference,
        blob: &PlannedBlob,
        mount_from: &[String],
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let desc = &blob.desc;
        if client
            .blob_exists(&dest.registry, &dest.repository, &desc.digest)
            .await?
            .is_some()
        {
            progress.blob_finished(&desc.digest, BlobOutcome::Skipped);
            return Ok(());
        }
        for from in mount_from {
            match client
                .mount_blob(&dest.registry, &dest.repository, &desc.digest, from)
                .await
            {
                Ok(true) => {
                    progress.blob_finished(&desc.digest, BlobOutcome::Mounted);
                    return Ok(());
                }
                Ok(false) => {}
                Err(e) => debug!(from, error = %e, "cross-repository mount failed; uploading"),
            }
        }
        let path = &blob.path;
        let size = tokio::fs::metadata(path)
            .await
            .map_err(io_err(format!("reading the size of blob {}", desc.digest)))?
            .len();
        progress.blob_started(&desc.digest, size);
        let reporter = {
            let (progress, digest) = (progress.clone(), desc.digest.clone());
            RegistryProgress::new(move |done| progress.blob_progress(&digest, done))
        };
        // The upload itself is not retried by the client (its reader is
        // consumed), so transient failures get a fresh reader here.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let file = tokio::fs::File::open(path)
                .await
                .map_err(io_err(format!("opening blob {}", desc.digest)))?;
            match client
                .push_blob(
                    &dest.registry,
                    &dest.repository,
                    &desc.digest,
                    size,
                    file,
                    &reporter,
                )
                .await
            {
                Ok(()) => break,
                Err(e) if e.is_transient() && attempt < UPLOAD_ATTEMPTS => {
                    debug!(digest = %desc.digest, error = %e, "retrying the upload");
                }
                Err(e) => return Err(e.into()),
            }
        }
        progress.blob_finished(&desc.digest, BlobOutcome::Copied);
        Ok(())
    }
}

/// Other repositories of the destination registry this image came from:
/// the registry can mount blobs from them instead of receiving them again.
fn mount_sources(record: &ImageRecord, dest: &Reference) -> Vec<String> {
    let mut repos: Vec<String> = record
        .repositories
        .iter()
        .chain(record.names.iter())
        .filter_map(|n| {
            let r = Reference::parse(n)
                .ok()
                .or_else(|| Reference::parse(&format!("{n}:latest")).ok())?;
            (r.registry == dest.registry && r.repository != dest.repository).then_some(r.repository)
        })
        .collect();
    repos.sort();
    repos.dedup();
    repos
}

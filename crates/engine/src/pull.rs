//! Pulling from registries: resolve the name, find a source that has it,
//! select the platform, then fetch config and layers in parallel into the
//! store, unpacking each layer once. The image record is written last, so a
//! pull killed at any point leaves no half image, and the next pull reuses
//! every blob and layer already verified.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use hoist_image::manifest::{Descriptor, ImageManifest, Manifest, ManifestError, MAX_INDEX_DEPTH};
use hoist_image::registries::{RegistriesConf, RegistriesError};
use hoist_image::transport::ImageName;
use hoist_image::{Digest, Reference};
use std::io::Write;
use std::sync::Arc;

use hoist_registry::{FnSink, Progress as RegistryProgress, RegistryClient};
use hoist_store::{BlobSlot, BlobWriter, ImageRecord, LayerRef};
use tracing::{debug, info_span, Instrument};

use crate::error::{EngineError, Result};
use crate::lazy::{lazy_layer_ref, toc_digest_of, LazyPlan, LazySource, PullMode};
use crate::progress::{BlobOutcome, Progress};
use crate::trust::Trust;
use crate::{block_on, Engine, PullOptions, PulledImage};

/// How many layers download at once; more rarely helps one registry.
const PARALLEL_LAYERS: usize = 4;

/// Runs `jobs` (each with its layer's size) at most [`PARALLEL_LAYERS`] at a
/// time, the largest first, and gives their results in the jobs' order.
///
/// The largest layer bounds the pull, so it starts at once wherever the
/// manifest puts it; and a slot is free again as soon as its layer is done.
/// (An ordered buffer keeps a finished layer's slot until every layer before
/// it is done: one large layer early in a manifest held back the small ones
/// after it until its own end.)
async fn largest_first<T, F>(jobs: impl Iterator<Item = (u64, F)>) -> Result<Vec<T>>
where
    F: std::future::Future<Output = Result<T>>,
{
    let mut jobs: Vec<(usize, u64, F)> = jobs
        .enumerate()
        .map(|(index, (size, job))| (index, size, job))
        .collect();
    jobs.sort_by_key(|&(index, size, _)| (std::cmp::Reverse(size), index));
    let running = jobs
        .into_iter()
        .map(|(index, _, job)| async move { job.await.map(|done| (index, done)) });
    let mut done: Vec<(usize, T)> = stream::iter(running)
        .buffer_unordered(PARALLEL_LAYERS)
        .try_collect()
        .await?;
    done.sort_by_key(|&(index, _)| index);
    Ok(done.into_iter().map(|(_, result)| result).collect())
}

impl Engine {
    /// Pulls `name` (a registry reference, possibly short, or an `oci:`,
    /// `oci-archive:` or `docker-archive:` name) into the store.
    pub fn pull(
        &self,
        name: &str,
        opts: &PullOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<PulledImage> {
        let pulled = match ImageName::parse(name)? {
            ImageName::Registry(reference) => {
                block_on(self.pull_from_registry(&reference, opts, progress))?
            }
            other => self.import(&other, progress),
        };
        let pulled = pulled.inspect_err(|e| self.free_space_after_disk_full(e))?;
        // podman's pull event names what was asked for, without an id.
        hoist_events::emit(hoist_events::Event::image(
            hoist_events::Status::Pull,
            "",
            name,
        ));
        Ok(pulled)
    }

    /// A pull (or `load`, `import`) that filled the disk leaves the blobs
    /// and layers it finished on disk; no image uses them, and keeping them
    /// for a retry only keeps the disk full, so they go (other failures keep
    /// them: the next pull of the image then resumes where this one stopped).
    pub(crate) fn free_space_after_disk_full(&self, err: &EngineError) {
        if !hoist_fsutil::is_disk_full(err) {
            return;
        }
        let freed = self
            .store
            .release_pins()
            .and_then(|()| self.store.garbage_collect());
        match freed {
            Ok(report) => debug!(
                bytes = report.freed_bytes,
                "removed what the failed pull wrote"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not remove what the failed pull wrote; `hoist system check --repair` will")
            }
        }
    }

    async fn pull_from_registry(
        &self,
        raw: &str,
        opts: &PullOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<PulledImage> {
        let conf = RegistriesConf::load_default()?;
        let candidates = match conf.resolve(raw) {
            Ok(c) => c,
            // Without search registries, docker's convention (Docker Hub) applies.
            Err(RegistriesError::NoSearchRegistries(_)) => vec![Reference::parse(raw)?],
            Err(e) => return Err(e.into()),
        };
        let client = crate::auth::client(&opts.registry, &conf)?;
        let trust = Trust::load(opts.signature_policy.as_deref())?;
        let mut failures = Vec::new();
        for candidate in &candidates {
            let sources = conf.pull_sources(candidate)?;
            for source in sources {
                progress.message(&format!("Trying to pull {candidate}..."));
                let span = info_span!("pull", image = %source.reference);
                match self
                    .pull_one(
                        &client,
                        &trust,
                        candidate,
                        &source.reference,
                        opts,
                        progress,
                    )
                    .instrument(span)
                    .await
                {
                    Ok(img) => return Ok(img),
                    Err(e) => {
                        debug!(source = %source.reference, error = %e, "pull source failed");
                        failures.push(format!(
                            "initializing source docker://{}: {e}",
                            source.reference
                        ));
                        if !is_worth_trying_elsewhere(&e) {
                            return Err(EngineError::Pull {
                                image: candidate.to_string(),
                                source: Box::new(e),
                            });
                        }
                    }
                }
            }
        }
        // podman's wording: one source's failure as it is, several listed.
        Err(EngineError::AllSourcesFailed(match failures.as_slice() {
            [one] => one.clone(),
            many => format!(
                "{} errors occurred while pulling:\n * {}",
                many.len(),
                many.join("\n * ")
            ),
        }))
    }

    /// Pulls from one endpoint. `name` is what the image will be called
    /// locally; `source` where it comes from (a mirror or rewritten location).
    async fn pull_one(
        &self,
        client: &RegistryClient,
        trust: &Trust,
        name: &Reference,
        source: &Reference,
        opts: &PullOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<PulledImage> {
        let (top_bytes, top_type, top_digest) = client.get_manifest(source).await?;
        // Before anything is downloaded: a refused image costs nothing.
        trust.check(name, &top_digest).await?;
        let mut known_digests = vec![top_digest.clone()];
        // Follow indexes down to the image manifest for the platform; an
        // index may point at further indexes, a bounded number of levels.
        let mut manifest = Manifest::parse(&top_bytes, &top_type)?;
        let (mut bytes, mut digest) = (top_bytes, top_digest.clone());
        let mut depth = 0;
        while let Manifest::Index(index) = &manifest {
            depth += 1;
            if depth > MAX_INDEX_DEPTH {
                return Err(ManifestError::IndexTooDeep {
                    image: source.to_string(),
                }
                .into());
            }
            let entry = index.select(&opts.platform)?.clone();
            let (child_bytes, _, child_digest) = client
                .get_manifest_by_digest(&source.registry, &source.repository, &entry.digest)
                .await?;
            let parsed = Manifest::parse(&child_bytes, &entry.media_type)?;
            self.put_small_blob(&digest, bytes).await?;
            known_digests.push(child_digest.clone());
            (bytes, digest, manifest) = (child_bytes, child_digest, parsed);
        }
        let media_type = manifest.media_type().to_string();
        let Manifest::Image(manifest) = manifest else {
            unreachable!("the loop above leaves only image manifests");
        };
        manifest.check_layers_unpackable(&source.to_string())?;
        progress.message("Getting image source signatures");
        progress.message(&format!(
            "Copying config {}",
            manifest.config.digest.short()
        ));
        // The TOCs of lazy layers need no diff ID: fetch them while the
        // config arrives, a round trip less before the image is usable.
        // Their requests go first (`try_join!` polls in order), so a TOC,
        // far larger than the config, takes the connection the manifest
        // came on and the config a new one.
        let (tocs, config) = tokio::try_join!(
            self.plan_lazy_layers(client, source, &manifest, opts.pull_mode),
            self.fetch_config(client, source, &manifest),
        )?;
        let layers = self
            .fetch_layers(client, source, &manifest, &config.diff_ids, tocs, progress)
            .await?;
        self.put_small_blob(&digest, bytes).await?;
        let local_name = name.to_string();
        let size = self.store.image_size(&layers)?;
        let record = ImageRecord {
            id: manifest.config.digest.clone(),
            manifest_digest: digest.clone(),
            manifest_media_type: media_type,
            names: vec![local_name.clone()],
            layers,
            config_digest: manifest.config.digest.clone(),
            created: config.created.clone().unwrap_or_default(),
            stored_at: chrono::Utc::now().to_rfc3339(),
            names_history: vec![],
            parent: None,
            size,
            platform: config.platform(),
            digests: known_digests,
            repositories: vec![name.name()],
        };
        let store = self.store.clone();
        let id = record.id.clone();
        run_blocking(move || store.put_image(record)).await?;
        progress.message("Writing manifest to image destination");
        Ok(PulledImage {
            id,
            manifest_digest: top_digest,
            names: vec![local_name],
        })
    }

    async fn put_small_blob(&self, digest: &Digest, bytes: Vec<u8>) -> Result<()> {
        let store = self.store.clone();
        let digest = digest.clone();
        run_blocking(move || store.put_blob(&digest, &bytes)).await
    }

    /// Fetches and verifies the config blob, and checks it lists one diff ID per layer.
    async fn fetch_config(
        &self,
        client: &RegistryClient,
        source: &Reference,
        manifest: &ImageManifest,
    ) -> Result<ImageConfigSummary> {
        let desc = &manifest.config;
        let bytes = if self.store.has_blob(&desc.digest) {
            let store = self.store.clone();
            let d = desc.digest.clone();
            run_blocking(move || store.read_blob(&d, crate::MAX_CONFIG_BYTES)).await?
        } else {
            if desc.size > crate::MAX_CONFIG_BYTES {
                return Err(EngineError::Config {
                    digest: desc.digest.to_string(),
                    detail: format!(
                        "claims {} bytes, over the {} byte limit for configs",
                        desc.size,
                        crate::MAX_CONFIG_BYTES
                    ),
                });
            }
            let mut bytes = Vec::with_capacity(desc.size as usize);
            client
                .fetch_blob(
                    &source.registry,
                    &source.repository,
                    desc,
                    &mut bytes,
                    &RegistryProgress::none(),
                )
                .await?;
            self.put_small_blob(&desc.digest, bytes.clone()).await?;
            bytes
        };
        ImageConfigSummary::parse_for(manifest, &bytes)
    }

    /// How each layer of `manifest` is to be pulled: `None` in full; else
    /// lazily, with its TOC digest and, unless the store already has its
    /// blob, its TOC opened now.
    async fn plan_lazy_layers(
        &self,
        client: &RegistryClient,
        source: &Reference,
        manifest: &ImageManifest,
        mode: PullMode,
    ) -> Result<Vec<LazyPlan>> {
        let jobs = manifest
            .layers
            .iter()
            .map(|desc| (desc.size, self.plan_lazy_layer(client, source, desc, mode)));
        largest_first(jobs).await
    }

    /// [`Engine::plan_lazy_layers`] for one layer.
    async fn plan_lazy_layer(
        &self,
        client: &RegistryClient,
        source: &Reference,
        desc: &Descriptor,
        mode: PullMode,
    ) -> Result<LazyPlan> {
        let Some(toc_digest) = toc_digest_of(desc).filter(|_| mode == PullMode::Lazy) else {
            return Ok(None);
        };
        let opened = if self.store.has_blob(&desc.digest) {
            None
        } else {
            Some(
                self.open_lazy_toc(client, source, desc, &toc_digest)
                    .await?,
            )
        };
        Ok(Some((toc_digest, opened)))
    }

    async fn fetch_layers(
        &self,
        client: &RegistryClient,
        source: &Reference,
        manifest: &ImageManifest,
        diff_ids: &[Digest],
        plans: Vec<LazyPlan>,
        progress: &Arc<dyn Progress>,
    ) -> Result<Vec<LayerRef>> {
        let jobs =
            manifest
                .layers
                .iter()
                .zip(diff_ids)
                .zip(plans)
                .map(|((desc, diff_id), plan)| {
                    (
                        desc.size,
                        self.fetch_layer(client, source, desc, diff_id, plan, progress),
                    )
                });
        largest_first(jobs).await
    }

    /// Makes sure the layer is usable: its TOC stored for a lazy pull of
    /// an eStargz layer (see [`LazyPlan`]), else its blob stored and
    /// unpacked.
    async fn fetch_layer(
        &self,
        client: &RegistryClient,
        source: &Reference,
        desc: &Descriptor,
        diff_id: &Digest,
        plan: LazyPlan,
        progress: &Arc<dyn Progress>,
    ) -> Result<LayerRef> {
        if let Some((toc_digest, opened)) = plan {
            if !self.store.has_layer(diff_id) {
                let opened = match opened {
                    Some(o) => o,
                    None => {
                        self.open_lazy_toc(client, source, desc, &toc_digest)
                            .await?
                    }
                };
                let endpoint = client
                    .known_endpoint(&source.registry)
                    .map(|u| u.to_string());
                let found = LazySource { source, endpoint };
                if let Some(layer) =
                    lazy_layer_ref(&found, desc, diff_id, toc_digest, opened, progress)
                {
                    return Ok(layer);
                }
            }
        }
        self.fetch_full_layer(client, source, desc, diff_id, progress)
            .await
    }

    /// Makes sure the layer's blob is in the store and unpacked.
    pub(crate) async fn fetch_full_layer(
        &self,
        client: &RegistryClient,
        source: &Reference,
        desc: &Descriptor,
        diff_id: &Digest,
        progress: &Arc<dyn Progress>,
    ) -> Result<LayerRef> {
        let store = self.store.clone();
        let reference = LayerRef {
            blob: desc.digest.clone(),
            diff_id: diff_id.clone(),
            media_type: desc.media_type.clone(),
            size: desc.size,
            lazy: None,
        };
        if store.has_layer(diff_id) && store.has_blob(&desc.digest) {
            progress.blob_finished(&desc.digest, BlobOutcome::Skipped);
            return Ok(reference);
        }
        if !store.has_layer(diff_id) && !store.has_blob(&desc.digest) {
            if let Some(outcome) = self
                .download_and_unpack(client, source, desc, diff_id, progress)
                .await?
            {
                progress.blob_finished(&desc.digest, outcome);
                return Ok(reference);
            }
        }
        let outcome = self.download_blob(client, source, desc, progress).await?;
        let (blob, media, want) = (
            desc.digest.clone(),
            desc.media_type.clone(),
            diff_id.clone(),
        );
        run_blocking(move || {
            store
                .unpack_layer_expecting(&blob, &media, &want)
                .map(|_| ())
        })
        .await?;
        progress.blob_finished(&desc.digest, outcome);
        Ok(reference)
    }

    /// Downloads a layer's blob and unpacks it as it arrives: the layer is
    /// extracted from the bytes already written while the rest comes in (one
    /// pass over the data, download and extraction on two cores), and
    /// published once the blob is stored with its digest verified. `None`
    /// when another process stored the blob meanwhile: unpack it from the
    /// store then.
    async fn download_and_unpack(
        &self,
        client: &RegistryClient,
        source: &Reference,
        desc: &Descriptor,
        diff_id: &Digest,
        progress: &Arc<dyn Progress>,
    ) -> Result<Option<BlobOutcome>> {
        let store = self.store.clone();
        let (digest, size) = (desc.digest.clone(), desc.size);
        let slot = run_blocking(move || store.begin_blob(&digest, Some(size))).await?;
        let BlobSlot::Writer(mut writer) = slot else {
            return Ok(None);
        };
        let follower = writer.follow()?;
        let extraction = {
            let store = self.store.clone();
            let (blob, media, want) = (
                desc.digest.clone(),
                desc.media_type.clone(),
                diff_id.clone(),
            );
            tokio::task::spawn_blocking(move || store.stage_layer(follower, &blob, &media, &want))
        };
        let fetched = fetch_into(client, source, desc, &mut writer, progress).await;
        if let Err(e) = fetched {
            // The extraction fails on the abandoned stream and cleans up.
            drop(writer);
            let _ = extraction.await;
            return Err(e);
        }
        writer.end_of_stream();
        // The blob's fsync overlaps what is left of the extraction.
        let committed = run_blocking(move || writer.commit()).await;
        let staged = extraction
            .await
            .map_err(|join| EngineError::Invalid(format!("unpacking {}: {join}", desc.digest)))?;
        committed?;
        let staged = staged?;
        let store = self.store.clone();
        run_blocking(move || store.publish_staged_layer(staged)).await?;
        Ok(Some(BlobOutcome::Copied))
    }

    /// Streams a blob from the registry into the store, verified on commit.
    /// A concurrent download of the same blob by another process is waited for.
    async fn download_blob(
        &self,
        client: &RegistryClient,
        source: &Reference,
        desc: &Descriptor,
        progress: &Arc<dyn Progress>,
    ) -> Result<BlobOutcome> {
        let store = self.store.clone();
        let (digest, size) = (desc.digest.clone(), desc.size);
        let slot = run_blocking(move || store.begin_blob(&digest, Some(size))).await?;
        let BlobSlot::Writer(mut writer) = slot else {
            return Ok(BlobOutcome::Skipped);
        };
        fetch_into(client, source, desc, &mut writer, progress).await?;
        run_blocking(move || writer.commit()).await?;
        Ok(BlobOutcome::Copied)
    }
}

/// Downloads blob `desc` into `writer`, reporting progress. Writes go to
/// the page cache; the caller commits (the fsync), off the async threads.
async fn fetch_into(
    client: &RegistryClient,
    source: &Reference,
    desc: &Descriptor,
    writer: &mut BlobWriter,
    progress: &Arc<dyn Progress>,
) -> Result<()> {
    progress.blob_started(&desc.digest, desc.size);
    let reporter = {
        let (progress, digest) = (progress.clone(), desc.digest.clone());
        RegistryProgress::new(move |done| progress.blob_progress(&digest, done))
    };
    let mut sink = FnSink(|buf: &[u8]| writer.write_all(buf));
    // The writer hashes every byte it stores and checks the digest when
    // the caller commits: one hash on the download's thread, not two.
    client
        .fetch_blob_for_verifying_sink(
            &source.registry,
            &source.repository,
            desc,
            &mut sink,
            &reporter,
        )
        .await?;
    Ok(())
}

/// Whether a failure at one source should let the pull try the next one
/// (the image or registry is missing there), or stop (the image is broken).
fn is_worth_trying_elsewhere(e: &EngineError) -> bool {
    use hoist_registry::RegistryError as R;
    matches!(
        e,
        EngineError::Registry(
            R::NotFound { .. }
                | R::ManifestUnknown { .. }
                | R::Unauthorized { .. }
                | R::Connect { .. }
                | R::Tls { .. }
                | R::Timeout { .. }
                | R::Stalled { .. }
        )
    )
}

/// Runs blocking store work off the async threads.
pub(crate) async fn run_blocking<T, E>(
    f: impl FnOnce() -> std::result::Result<T, E> + Send + 'static,
) -> Result<T>
where
    T: Send + 'static,
    E: Into<EngineError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Into::into),
        Err(join) => Err(EngineError::Invalid(format!(
            "a background task failed: {join}"
        ))),
    }
}

/// The fields of an image config the engine needs while pulling.
#[derive(Debug, Clone)]
pub(crate) struct ImageConfigSummary {
    pub diff_ids: Vec<Digest>,
    pub created: Option<String>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl ImageConfigSummary {
    pub fn parse(digest: &Digest, bytes: &[u8]) -> Result<ImageConfigSummary> {
        #[derive(serde::Deserialize)]
        struct RootFs {
            #[serde(default)]
            diff_ids: Vec<Digest>,
        }
        #[derive(serde::Deserialize)]
        struct Config {
            rootfs: RootFs,
            created: Option<String>,
            #[serde(default)]
            os: String,
            #[serde(default)]
            architecture: String,
            variant: Option<String>,
        }
        let c: Config = serde_json::from_slice(bytes).map_err(|e| EngineError::Config {
            digest: digest.to_string(),
            detail: e.to_string(),
        })?;
        Ok(ImageConfigSummary {
            diff_ids: c.rootfs.diff_ids,
            created: c.created,
            os: c.os,
            architecture: c.architecture,
            variant: c.variant,
        })
    }

    /// Parses the config of `manifest` and checks it names one diff ID per layer.
    pub fn parse_for(manifest: &ImageManifest, bytes: &[u8]) -> Result<ImageConfigSummary> {
        let digest = &manifest.config.digest;
        let config = ImageConfigSummary::parse(digest, bytes)?;
        if config.diff_ids.len() != manifest.layers.len() {
            return Err(EngineError::Config {
                digest: digest.to_string(),
                detail: format!(
                    "lists {} diff IDs for {} layers",
                    config.diff_ids.len(),
                    manifest.layers.len()
                ),
            });
        }
        Ok(config)
    }

    pub fn platform(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::sync::oneshot;

    /// Six layers, the second one large, as in an image whose base is small
    /// and whose next layer is big. The large layer cannot finish before the
    /// last small one has: with an ordered buffer of four, the last one never
    /// started, and this hung.
    #[test]
    fn small_layers_behind_a_large_one_run_while_it_does_and_results_keep_their_order() {
        let started = Mutex::new(Vec::new());
        let (last_done, large_may_end) = oneshot::channel::<()>();
        let mut last_done = Some(last_done);
        let mut large_may_end = Some(large_may_end);
        let sizes = [10u64, 1000, 30, 20, 40, 5];
        let jobs = sizes.iter().enumerate().map(|(index, &size)| {
            let started = &started;
            let wait = (size == 1000).then(|| large_may_end.take().unwrap());
            let signal = (index == 5).then(|| last_done.take().unwrap());
            let job = async move {
                started.lock().unwrap().push(index);
                if let Some(wait) = wait {
                    wait.await
                        .map_err(|_| EngineError::Invalid("signal lost".into()))?;
                }
                if let Some(signal) = signal {
                    signal.send(()).unwrap();
                }
                Ok(index * 100)
            };
            (size, job)
        });
        let results = block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(60), largest_first(jobs)).await
        })
        .unwrap()
        .expect("the pull hung behind its large layer")
        .unwrap();
        assert_eq!(results, vec![0, 100, 200, 300, 400, 500]);
        assert_eq!(
            started.lock().unwrap()[0],
            1,
            "the largest layer starts first"
        );
    }

    #[test]
    fn the_first_failure_is_the_result() {
        let jobs = [
            (5u64, Ok(1)),
            (7, Err(EngineError::Invalid("bad layer".into()))),
        ]
        .into_iter()
        .map(|(size, result)| (size, async move { result }));
        let err = block_on(largest_first(jobs)).unwrap().unwrap_err();
        assert!(err.to_string().contains("bad layer"), "{err}");
    }
}

//! Lazy pulls: for layers that carry an eStargz table of contents, a pull
//! stores only the TOC (verified against the digest the manifest
//! annotates); containers then read the layer on demand (hoist-lazy). Until
//! the whole blob arrives, operations that need it (push, save, a
//! `--pull-mode=full` run) complete the layer first.

use std::sync::Arc;

use std::path::Path;

use hoist_image::manifest::{Descriptor, Manifest};
use hoist_image::registries::RegistriesConf;
use hoist_image::{Digest, Reference};
use hoist_lazy::estargz::EstargzBlob;
use hoist_lazy::remote::{RegistrySource, RemoteOptions};
use hoist_lazy::spec::Recording;
use hoist_lazy::toc::{TOC_DIGEST_ANNOTATION, UNCOMPRESSED_SIZE_ANNOTATION};
use hoist_lazy::LazyLayerSpec;
use hoist_registry::RegistryClient;
use hoist_store::{ImageRecord, LayerRef, LazyLayer};

use crate::error::{EngineError, Result};
use crate::progress::{BlobOutcome, Progress};
use crate::pull::run_blocking;
use crate::{block_on, Engine, RegistryOptions};

/// `--pull-mode`: how a pull treats layers that can be read lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullMode {
    /// Fetch only the TOC of eStargz layers; other layers in full.
    #[default]
    Lazy,
    /// Fetch and unpack every layer.
    Full,
}

impl std::str::FromStr for PullMode {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<PullMode> {
        match s {
            "lazy" => Ok(PullMode::Lazy),
            "full" => Ok(PullMode::Full),
            _ => Err(EngineError::Invalid(format!(
                "invalid pull mode {s:?}: use lazy or full"
            ))),
        }
    }
}

/// The TOC digest a layer descriptor annotates, if it is a gzip eStargz layer.
pub(crate) fn toc_digest_of(desc: &Descriptor) -> Option<Digest> {
    if !matches!(
        hoist_image::media::layer_compression(&desc.media_type),
        Some(hoist_image::media::Compression::Gzip)
    ) {
        return None;
    }
    desc.annotations
        .as_ref()?
        .get(TOC_DIGEST_ANNOTATION)?
        .parse()
        .ok()
}

/// What opening a layer's TOC gave: where things are in the blob, or why
/// the layer cannot be read lazily (then it is pulled in full).
pub(crate) type OpenedToc = std::result::Result<TocLayout, String>;

/// Where an opened TOC says things are in its blob.
#[derive(Debug, Clone)]
pub(crate) struct TocLayout {
    /// Where the TOC member begins.
    pub toc_offset: u64,
    /// The bytes of the prioritized files, if the blob marks any.
    pub prefetch: Option<std::ops::Range<u64>>,
}

/// How a pull treats one layer: `None` in full; else lazily, with its TOC
/// digest and its TOC if already opened.
pub(crate) type LazyPlan = Option<(Digest, Option<OpenedToc>)>;

/// Where a lazy layer was found: the repository, and the registry endpoint
/// the pull used (kept so the container's monitor need not probe it).
pub(crate) struct LazySource<'a> {
    pub source: &'a Reference,
    pub endpoint: Option<String>,
}

/// The lazy layer `desc` once its TOC is stored (`opened`, from
/// [`Engine::open_lazy_toc`]); `None` when it cannot be read lazily.
pub(crate) fn lazy_layer_ref(
    found: &LazySource<'_>,
    desc: &Descriptor,
    diff_id: &Digest,
    toc_digest: Digest,
    opened: OpenedToc,
    progress: &Arc<dyn Progress>,
) -> Option<LayerRef> {
    let layout = match opened {
        Ok(l) => l,
        Err(why) => {
            tracing::warn!(blob = %desc.digest, "cannot read the layer lazily ({why}); pulling it in full");
            return None;
        }
    };
    let uncompressed_size = desc
        .annotations
        .as_ref()
        .and_then(|a| a.get(UNCOMPRESSED_SIZE_ANNOTATION))
        .and_then(|s| s.parse().ok())
        .unwrap_or(desc.size);
    progress.blob_finished(&desc.digest, BlobOutcome::Lazy);
    let source = found.source;
    Some(LayerRef {
        blob: desc.digest.clone(),
        diff_id: diff_id.clone(),
        media_type: desc.media_type.clone(),
        size: desc.size,
        lazy: Some(LazyLayer {
            toc_digest,
            uncompressed_size,
            toc_offset: layout.toc_offset,
            source: format!("{}/{}", source.registry, source.repository),
            endpoint: found.endpoint.clone(),
            prefetch: layout.prefetch,
        }),
    })
}

impl Engine {
    /// Fetches the footer and TOC of eStargz layer `desc`, checks the TOC
    /// against `toc_digest` and stores it. Needs no diff ID, so a pull runs
    /// it alongside the config fetch.
    pub(crate) async fn open_lazy_toc(
        &self,
        client: &RegistryClient,
        source: &Reference,
        desc: &Descriptor,
        toc_digest: &Digest,
    ) -> Result<OpenedToc> {
        // The first read goes out from here, at once: a blocking open would
        // send it only once its thread runs, after the config request the
        // pull makes alongside has taken the warm connection, and this
        // response is the larger one.
        let tail = match EstargzBlob::first_read(desc.size) {
            Ok(range) => {
                let mut tail = Vec::with_capacity((range.end - range.start) as usize);
                client
                    .stream_blob_range(
                        &source.registry,
                        &source.repository,
                        &desc.digest,
                        range,
                        |bytes| {
                            tail.extend_from_slice(bytes);
                            Ok(())
                        },
                    )
                    .await
                    .map(|()| tail)
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let tail = match tail {
            Ok(tail) => tail,
            Err(e) => return Ok(Err(format!("reading the footer from the blob: {e}"))),
        };
        let (store, client, src) = (self.store.clone(), client.clone(), source.clone());
        let d = desc.clone();
        let runtime = tokio::runtime::Handle::current();
        let expected = toc_digest.clone();
        run_blocking(move || -> Result<OpenedToc> {
            let blob_source = RegistrySource::new(
                client,
                &src.registry,
                &src.repository,
                d.digest.clone(),
                d.size,
                runtime,
            );
            let opened = EstargzBlob::open_after_first_read(&blob_source, &tail, Some(&expected));
            let blob = match opened {
                Ok(b) => b,
                Err(e) => return Ok(Err(e.to_string())),
            };
            store.put_lazy_toc(&d.digest, &expected, blob.toc_json())?;
            Ok(Ok(TocLayout {
                toc_offset: blob.toc_offset(),
                prefetch: blob.prefetch_range(),
            }))
        })
        .await
    }

    /// What a container's monitor needs to serve the image's layers that
    /// are still lazy.
    pub(crate) fn lazy_specs(
        &self,
        record: &ImageRecord,
        opts: &RegistryOptions,
    ) -> Result<Vec<LazyLayerSpec>> {
        let lazy: Vec<(usize, &LayerRef)> = record
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| self.store.is_lazy(l))
            .collect();
        if lazy.is_empty() {
            return Ok(Vec::new());
        }
        let insecure = crate::auth::insecure_registries(&RegistriesConf::load_default()?);
        lazy.into_iter()
            .map(|(index, l)| {
                let info = l.lazy.as_ref().expect("is_lazy");
                let (registry, repository) = split_source(&info.source)?;
                Ok(LazyLayerSpec {
                    index,
                    store_root: self.root().to_path_buf(),
                    blob: l.blob.clone(),
                    blob_size: l.size,
                    media_type: l.media_type.clone(),
                    diff_id: l.diff_id.clone(),
                    toc_digest: info.toc_digest.clone(),
                    toc_offset: info.toc_offset,
                    registry: registry.to_string(),
                    repository: repository.to_string(),
                    remote: RemoteOptions {
                        tls_verify: opts.tls_verify,
                        insecure: insecure.contains(registry),
                        authfile: opts.authfile.clone(),
                        cert_dir: opts.cert_dir.clone(),
                        endpoint: info.endpoint.clone(),
                    },
                    prefetch: info.prefetch.clone(),
                    first_program: None,
                    recording: None,
                })
            })
            .collect()
    }

    /// Specs that serve every layer of eStargz image `image` from its local
    /// blob and record the files a container reads into `dir` (one
    /// `layer-N.paths` per layer): the recording run of
    /// `image convert --optimize`.
    pub fn recording_specs(&self, image: &str, dir: &Path) -> Result<Vec<LazyLayerSpec>> {
        let record = self.lookup(image)?;
        let bytes = self
            .store
            .read_blob(&record.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        let Manifest::Image(manifest) = Manifest::parse(&bytes, &record.manifest_media_type)?
        else {
            return Err(EngineError::Invalid(format!(
                "{image}: not an image manifest"
            )));
        };
        manifest
            .layers
            .iter()
            .zip(&record.layers)
            .enumerate()
            .map(|(index, (desc, l))| {
                let toc_digest = toc_digest_of(desc).ok_or_else(|| {
                    EngineError::Invalid(format!(
                        "{image}: layer {} has no eStargz table of contents",
                        l.blob
                    ))
                })?;
                Ok(LazyLayerSpec {
                    index,
                    store_root: self.root().to_path_buf(),
                    blob: l.blob.clone(),
                    blob_size: l.size,
                    media_type: l.media_type.clone(),
                    diff_id: l.diff_id.clone(),
                    toc_digest,
                    toc_offset: 0,
                    registry: String::new(),
                    repository: String::new(),
                    remote: RemoteOptions {
                        tls_verify: None,
                        insecure: false,
                        authfile: None,
                        cert_dir: None,
                        endpoint: None,
                    },
                    prefetch: None,
                    first_program: None,
                    recording: Some(Recording {
                        blob_file: self.store.blob_path(&l.blob),
                        access_log: dir.join(format!("layer-{index}.paths")),
                        cache_dir: dir.join(format!("cache-{index}")),
                    }),
                })
            })
            .collect()
    }

    /// Downloads and unpacks every layer of `record` that is still lazy,
    /// from the repository it was pulled from.
    pub fn complete_lazy_layers(
        &self,
        record: &ImageRecord,
        opts: &RegistryOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let lazy: Vec<&LayerRef> = record
            .layers
            .iter()
            .filter(|l| self.store.is_lazy(l))
            .collect();
        if lazy.is_empty() {
            return Ok(());
        }
        let conf = RegistriesConf::load_default()?;
        let client = crate::auth::client(opts, &conf)?;
        block_on(async {
            for l in lazy {
                let info = l.lazy.as_ref().expect("is_lazy");
                let (registry, repository) = split_source(&info.source)?;
                let source = Reference {
                    registry: registry.to_string(),
                    repository: repository.to_string(),
                    tag: None,
                    digest: None,
                };
                let desc = Descriptor {
                    media_type: l.media_type.clone(),
                    digest: l.blob.clone(),
                    size: l.size,
                    urls: None,
                    annotations: None,
                    platform: None,
                    artifact_type: None,
                };
                self.fetch_full_layer(&client, &source, &desc, &l.diff_id, progress)
                    .await?;
            }
            Ok::<(), EngineError>(())
        })?
    }
}

fn split_source(source: &str) -> Result<(&str, &str)> {
    source.split_once('/').ok_or_else(|| {
        EngineError::Invalid(format!(
            "lazy layer source {source:?} is not registry/repository; pull the image again"
        ))
    })
}

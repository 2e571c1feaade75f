//! What a push sends. Without `--format` or `--compression-format` the
//! stored manifest goes byte for byte, so its digest is the one the image
//! was pulled by; otherwise the manifest is rewritten: media types (an OCI
//! config and a Docker schema 2 config are the same JSON) and, for layers
//! recompressed into a scratch directory, their digests and sizes.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use hoist_image::digest::Hasher;
use hoist_image::manifest::Descriptor;
use hoist_image::media::{self, layer_compression, Compression};
use hoist_image::Digest;
use hoist_store::{ImageRecord, LayerRef};
use serde_json::Value;

use crate::error::{io_err, EngineError, Result};
use crate::{Engine, ManifestFormat, PushOptions};

/// A blob to push and the file it is read from.
#[derive(Debug)]
pub(crate) struct PlannedBlob {
    pub desc: Descriptor,
    pub path: PathBuf,
}

/// The manifest, config and layers one push sends.
#[derive(Debug)]
pub(crate) struct PushPlan {
    pub manifest: Vec<u8>,
    pub manifest_type: String,
    /// The digest the registry must store `manifest` under.
    pub digest: Digest,
    pub config: PlannedBlob,
    pub layers: Vec<PlannedBlob>,
    /// Holds the recompressed layers until the push is over.
    _scratch: Option<tempfile::TempDir>,
}

/// A compression `push --compression-format` can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    Gzip,
    Zstd,
}

impl std::str::FromStr for LayerCompression {
    type Err = EngineError;

    fn from_str(name: &str) -> Result<LayerCompression> {
        match name {
            "gzip" => Ok(LayerCompression::Gzip),
            "zstd" => Ok(LayerCompression::Zstd),
            // Its table of contents is a format of its own that hoist does
            // not write; plain zstd is what to ask for instead.
            "zstd:chunked" => Err(EngineError::Unsupported {
                what: "--compression-format zstd:chunked".into(),
                why: "hoist does not write zstd:chunked layers; use zstd or gzip".into(),
            }),
            // podman's wording.
            other => Err(EngineError::Invalid(format!(
                "cannot find compressor for {other:?}"
            ))),
        }
    }
}

impl LayerCompression {
    fn as_media(self) -> Compression {
        match self {
            LayerCompression::Gzip => Compression::Gzip,
            LayerCompression::Zstd => Compression::Zstd,
        }
    }

    /// The OCI media type of a layer compressed so.
    fn oci_layer_type(self) -> &'static str {
        match self {
            LayerCompression::Gzip => media::OCI_LAYER_GZIP,
            LayerCompression::Zstd => media::OCI_LAYER_ZSTD,
        }
    }
}

impl ManifestFormat {
    /// `push --format`: podman's names of the manifest types. Schema 1 is
    /// refused: it is deprecated, has no place for an image config, and the
    /// registries hoist targets reject it anyway.
    pub fn from_push_flag(name: &str) -> Result<ManifestFormat> {
        match name {
            "oci" => Ok(ManifestFormat::Oci),
            "v2s2" => Ok(ManifestFormat::Docker),
            "v2s1" => Err(EngineError::Unsupported {
                what: "pushing a Docker schema 1 manifest (--format v2s1)".into(),
                why: "schema 1 is deprecated and hoist does not write it; use --format v2s2 or oci"
                    .into(),
            }),
            // podman's wording, typo included, for scripts that match it.
            other => Err(EngineError::Invalid(format!(
                "unknown format {other:?}. Choose on of the supported formats: 'oci', 'v2s1', or 'v2s2'"
            ))),
        }
    }
}

impl Engine {
    /// What pushing `record` with `opts` sends.
    pub(crate) fn push_plan(&self, record: &ImageRecord, opts: &PushOptions) -> Result<PushPlan> {
        let stored = ManifestFormat::of(&record.manifest_media_type);
        let targets: Vec<Option<LayerCompression>> = record
            .layers
            .iter()
            .map(|l| target_compression(l, opts))
            .collect();
        let wants_zstd = targets.contains(&Some(LayerCompression::Zstd));
        let format = match opts.format {
            Some(ManifestFormat::Docker) if wants_zstd => {
                return Err(EngineError::Unsupported {
                    what: "zstd-compressed layers in a Docker schema 2 manifest (--format v2s2)"
                        .into(),
                    why: "schema 2 has no media type for zstd; push with --format oci or --compression-format gzip"
                        .into(),
                })
            }
            Some(f) => f,
            // As podman falls back to OCI when the source's type cannot
            // carry the layers.
            None if wants_zstd => ManifestFormat::Oci,
            None => stored,
        };
        let scratch = if targets.iter().any(Option::is_some) {
            Some(self.store.temp_dir()?)
        } else {
            None
        };
        let layers = record
            .layers
            .iter()
            .zip(&targets)
            .enumerate()
            .map(|(i, (l, target))| match (target, &scratch) {
                (Some(to), Some(dir)) => {
                    recompressed_layer(self, l, *to, &dir.path().join(format!("layer-{i}")))
                }
                _ => Ok(self.stored_layer(l)),
            })
            .collect::<Result<Vec<_>>>()?;
        let stored_bytes = self
            .store
            .read_blob(&record.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        let (manifest, manifest_type) = if format == stored && scratch.is_none() {
            (stored_bytes, record.manifest_media_type.clone())
        } else {
            let rewritten =
                rewrite_manifest(&stored_bytes, &record.manifest_digest, format, &layers)?;
            (rewritten, format.manifest_type().to_string())
        };
        let config_size = self.store.blob_size(&record.config_digest)?;
        Ok(PushPlan {
            digest: Digest::sha256_of(&manifest),
            manifest,
            manifest_type,
            config: PlannedBlob {
                desc: Descriptor::new(
                    format.config_type(),
                    record.config_digest.clone(),
                    config_size,
                ),
                path: self.store.blob_path(&record.config_digest),
            },
            layers,
            _scratch: scratch,
        })
    }

    /// A layer pushed as it is stored.
    fn stored_layer(&self, l: &LayerRef) -> PlannedBlob {
        PlannedBlob {
            desc: Descriptor::new(&l.media_type, l.blob.clone(), l.size),
            path: self.store.blob_path(&l.blob),
        }
    }
}

/// The stored manifest in `format`: media types changed, every other field
/// kept, except annotations, which Docker schema 2 has no place for.
fn rewrite_manifest(
    stored: &[u8],
    digest: &Digest,
    format: ManifestFormat,
    layers: &[PlannedBlob],
) -> Result<Vec<u8>> {
    let invalid = |detail: &str| {
        EngineError::Invalid(format!(
            "the stored manifest {digest} cannot be converted: {detail}"
        ))
    };
    let mut manifest: Value =
        serde_json::from_slice(stored).map_err(|e| invalid(&e.to_string()))?;
    let top = manifest
        .as_object_mut()
        .ok_or_else(|| invalid("it is not a JSON object"))?;
    top.insert("mediaType".into(), format.manifest_type().into());
    let mut config = top
        .get("config")
        .cloned()
        .ok_or_else(|| invalid("it has no config"))?;
    config["mediaType"] = format.config_type().into();
    top.insert("config".into(), config);
    let stored_layers = match top.get_mut("layers").and_then(Value::as_array_mut) {
        Some(l) if l.len() == layers.len() => l,
        _ => return Err(invalid("its layers are not the image's")),
    };
    for (json, planned) in stored_layers.iter_mut().zip(layers) {
        let fields = json
            .as_object_mut()
            .ok_or_else(|| invalid("a layer is not a JSON object"))?;
        let changed = fields.get("digest").and_then(Value::as_str)
            != Some(planned.desc.digest.to_string().as_str());
        fields.insert(
            "mediaType".into(),
            format.layer_type(&planned.desc.media_type)?.into(),
        );
        fields.insert("digest".into(), planned.desc.digest.to_string().into());
        fields.insert("size".into(), planned.desc.size.into());
        // A new blob makes the old one's annotations (a TOC digest, say) false.
        if changed || format == ManifestFormat::Docker {
            fields.remove("annotations");
        }
    }
    if format == ManifestFormat::Docker {
        top.remove("annotations");
        if let Some(c) = top.get_mut("config").and_then(Value::as_object_mut) {
            c.remove("annotations");
        }
    }
    serde_json::to_vec(&manifest).map_err(|e| invalid(&e.to_string()))
}

/// The compression `opts` want layer `l` pushed in, if it is not stored so:
/// `--compression-format` for every layer, `--compress` (gzip by default)
/// for layers stored uncompressed. Layers of a type hoist cannot read are
/// left alone (pushed as stored).
fn target_compression(l: &LayerRef, opts: &PushOptions) -> Option<LayerCompression> {
    let stored = layer_compression(&l.media_type)?;
    let wanted = match opts.compression {
        Some(c) => c,
        None if opts.compress && stored == Compression::None => LayerCompression::Gzip,
        None => return None,
    };
    (stored != wanted.as_media()).then_some(wanted)
}

/// Layer `l` decompressed and compressed again as `to`, into `path`.
fn recompressed_layer(
    engine: &Engine,
    l: &LayerRef,
    to: LayerCompression,
    path: &Path,
) -> Result<PlannedBlob> {
    let (mut tar, _) = engine.uncompressed_layer(l)?;
    let what = format!("recompressing layer {} as {to:?}", l.blob);
    let file = std::fs::File::create(path).map_err(io_err(what.clone()))?;
    let mut out = HashingWriter::new(BufWriter::new(file));
    match to {
        LayerCompression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(&mut out, flate2::Compression::default());
            std::io::copy(&mut tar, &mut enc).map_err(io_err(what.clone()))?;
            enc.finish().map_err(io_err(what.clone()))?;
        }
        LayerCompression::Zstd => {
            let mut enc = zstd::Encoder::new(&mut out, 0).map_err(io_err(what.clone()))?;
            std::io::copy(&mut tar, &mut enc).map_err(io_err(what.clone()))?;
            enc.finish().map_err(io_err(what.clone()))?;
        }
    }
    let (digest, size) = out.finish().map_err(io_err(what))?;
    Ok(PlannedBlob {
        desc: Descriptor::new(to.oci_layer_type(), digest, size),
        path: path.to_path_buf(),
    })
}

/// Passes bytes on to `inner`, hashing and counting them: the digest and
/// size of a blob as it is written.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Hasher,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Hasher::sha256(),
            written: 0,
        }
    }

    /// Flushes `inner`; the digest and size of everything written.
    fn finish(mut self) -> std::io::Result<(Digest, u64)> {
        self.inner.flush()?;
        Ok((self.hasher.finish(), self.written))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.write_all(&buf[..n])?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

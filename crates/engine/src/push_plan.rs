//! What a push sends. Without `--format` the stored manifest goes byte for
//! byte, so its digest is the one the image was pulled by; with a format
//! other than the stored one the manifest is rewritten (media types only:
//! an OCI config and a Docker schema 2 config are the same JSON).

use std::path::PathBuf;

use hoist_image::manifest::Descriptor;
use hoist_image::Digest;
use hoist_store::{ImageRecord, LayerRef};
use serde_json::Value;

use crate::error::{EngineError, Result};
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
        let format = opts.format.unwrap_or(stored);
        let stored_bytes = self
            .store
            .read_blob(&record.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        let layers: Vec<PlannedBlob> = record.layers.iter().map(|l| self.stored_layer(l)).collect();
        let (manifest, manifest_type) = if format == stored {
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

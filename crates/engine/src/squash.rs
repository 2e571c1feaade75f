//! Whole layers of an image. Their blobs (a checkpoint image's one layer
//! is a checkpoint archive), and for `build --squash` and `--squash-all`
//! an image whose layers above its first `keep` are replaced by one layer:
//! the caller writes that layer from the merged tree of the replaced ones
//! (hoist-container knows overlay trees); the engine swaps it in, keeping
//! the config, the manifest's format and annotations and the history,
//! whose squashed steps become empty-layer entries but the last.

use std::path::{Path, PathBuf};

use hoist_image::{media, Digest};
use hoist_store::LayerRef;
use serde_json::Value;

use crate::error::{EngineError, Result};
use crate::Engine;

impl Engine {
    /// The unpacked directories of image `name`'s layers from the
    /// `keep`th up (bottom first): what a squash merges. A layer still
    /// read on demand (a lazy pull) has no directory to merge.
    pub fn layer_dirs_above(&self, name: &str, keep: usize) -> Result<Vec<PathBuf>> {
        let record = self.lookup(name)?;
        record
            .layers
            .iter()
            .skip(keep)
            .map(|l| {
                if l.lazy.is_some() {
                    return Err(EngineError::Invalid(format!(
                        "layer {} of {name} was pulled lazily and is not all here: \
                         pull the image again without lazy pulling to squash it",
                        l.diff_id
                    )));
                }
                Ok(self.store.layer_diff_dir(&l.diff_id))
            })
            .collect()
    }

    /// The stored blobs of image `name`'s layers, bottom first (plain or
    /// compressed tars, as pulled or made). A layer pulled lazily has no
    /// whole blob here.
    pub fn layer_blobs(&self, name: &str) -> Result<Vec<PathBuf>> {
        let record = self.lookup(name)?;
        record
            .layers
            .iter()
            .map(|l| {
                let path = self.store.blob_path(&l.blob);
                if l.lazy.is_some() || !path.is_file() {
                    return Err(EngineError::Invalid(format!(
                        "layer {} of {name} is not all here (pulled lazily): pull the image again without lazy pulling",
                        l.blob
                    )));
                }
                Ok(path)
            })
            .collect()
    }

    /// The number of layers of image `name`.
    pub fn layer_count(&self, name: &str) -> Result<usize> {
        Ok(self.lookup(name)?.layers.len())
    }

    /// A new image (unnamed) like `name` but with its layers above the
    /// first `keep` replaced by the layer tar `layer`; its ID.
    pub fn replace_top_layers(&self, name: &str, keep: usize, layer: &Path) -> Result<Digest> {
        let record = self.lookup(name)?;
        let bytes = self
            .store
            .read_blob(&record.config_digest, crate::MAX_CONFIG_BYTES)?;
        let mut config: Value =
            serde_json::from_slice(&bytes).map_err(|e| EngineError::Config {
                digest: record.config_digest.to_string(),
                detail: e.to_string(),
            })?;
        let blob = self.store_layer_tar(layer)?;
        let info = self.store.unpack_layer(&blob, media::OCI_LAYER)?;
        let mut layers: Vec<LayerRef> = record.layers.iter().take(keep).cloned().collect();
        layers.push(LayerRef {
            blob,
            diff_id: info.diff_id.clone(),
            media_type: media::OCI_LAYER.to_string(),
            size: info.uncompressed_size,
            lazy: None,
        });
        let diff_ids: Vec<Value> = layers
            .iter()
            .map(|l| Value::from(l.diff_id.to_string()))
            .collect();
        config["rootfs"] = serde_json::json!({"type": "layers", "diff_ids": diff_ids});
        if let Some(history) = config.get_mut("history").and_then(Value::as_array_mut) {
            squash_history(history, keep);
        }
        // The manifest's annotations (`build --annotation`) stay with it.
        let annotations = self.manifest_annotations(&record)?.unwrap_or_default();
        self.store_image_annotated(
            &config,
            layers,
            Vec::new(),
            record.created.clone(),
            &crate::commit::ManifestMeta {
                annotations: &annotations,
                format: crate::commit::ManifestFormat::of(&record.manifest_media_type),
                // A squashed image replaces its base's layers: it has none.
                parent: None,
            },
        )
    }
}

/// Marks the history entries of the layers above the first `keep` as
/// empty, and the last entry as the one that made the squashed layer.
fn squash_history(history: &mut [Value], keep: usize) {
    let mut kept = 0;
    for entry in history.iter_mut() {
        if entry.get("empty_layer").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if kept < keep {
            kept += 1;
        } else {
            entry["empty_layer"] = true.into();
        }
    }
    if let Some(Value::Object(last)) = history.last_mut() {
        last.remove("empty_layer");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn empties(history: &[Value]) -> Vec<bool> {
        history
            .iter()
            .map(|h| h.get("empty_layer").and_then(Value::as_bool) == Some(true))
            .collect()
    }

    #[test]
    fn squashed_steps_become_empty_and_the_last_carries_the_layer() {
        let mut h = vec![
            json!({"created_by": "base layer"}),
            json!({"created_by": "ENV", "empty_layer": true}),
            json!({"created_by": "RUN a"}),
            json!({"created_by": "COPY b"}),
            json!({"created_by": "CMD", "empty_layer": true}),
        ];
        squash_history(&mut h, 1);
        assert_eq!(empties(&h), [false, true, true, true, false]);
        // Every layer squashed: only the last entry has one.
        squash_history(&mut h, 0);
        assert_eq!(empties(&h), [true, true, true, true, false]);
    }
}

//! `image convert --estargz`: rewrites every layer of a stored image as an
//! eStargz blob (still an ordinary tar.gz for other engines), with the TOC
//! annotations lazy pulls look for, and stores the result as a new image.

use std::io::{BufReader, BufWriter, Read};
use std::sync::Arc;

use hoist_image::media::{
    layer_compression, Compression, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST,
};
use hoist_image::Digest;
use hoist_lazy::estargz::writer::{convert, ConvertOptions, Converted};
use hoist_lazy::toc::{TOC_DIGEST_ANNOTATION, UNCOMPRESSED_SIZE_ANNOTATION};
use hoist_store::{BlobSlot, ImageRecord, LayerRef};

use crate::error::{io_err, EngineError, Result};
use crate::images::local_name;
use crate::progress::Progress;
use crate::{Engine, RegistryOptions};

/// What `convert_estargz` is asked for.
#[derive(Debug, Clone, Default)]
pub struct EstargzOptions {
    /// Files (paths in the image) to put first, in this order, before the
    /// prefetch landmark.
    pub prioritized: Vec<String>,
    /// Chunk size for large files; 0 means the format's default (4 MiB).
    pub chunk_size: u64,
}

impl Engine {
    /// Converts image `src` into a new eStargz image named `dst`; returns
    /// the new image's record.
    pub fn convert_estargz(
        &self,
        src: &str,
        dst: &str,
        opts: &EstargzOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<ImageRecord> {
        let name = local_name(dst)?;
        let record = self.lookup(src)?;
        self.complete_lazy_layers(&record, &RegistryOptions::default(), progress)?;
        let mut layers = Vec::with_capacity(record.layers.len());
        for (i, l) in record.layers.iter().enumerate() {
            progress.message(&format!(
                "Converting layer {}/{} ({})",
                i + 1,
                record.layers.len(),
                l.blob.short()
            ));
            layers.push(self.convert_layer(l, opts)?);
        }
        let config = self
            .store
            .read_blob(&record.config_digest, crate::MAX_CONFIG_BYTES)?;
        let config = with_diff_ids(&config, &layers, &record.config_digest)?;
        let config_digest = self.store.add_blob(&config)?;
        let manifest = manifest_json(&config_digest, config.len() as u64, &layers);
        let manifest_digest = self.store.add_blob(&manifest)?;
        let refs: Vec<LayerRef> = layers
            .iter()
            .map(|c| LayerRef {
                blob: c.blob_digest.clone(),
                diff_id: c.diff_id.clone(),
                media_type: OCI_LAYER_GZIP.to_string(),
                size: c.blob_size,
                lazy: None,
            })
            .collect();
        let out = ImageRecord {
            id: config_digest.clone(),
            manifest_digest: manifest_digest.clone(),
            manifest_media_type: OCI_MANIFEST.to_string(),
            names: vec![name],
            size: self.store.image_size(&refs)?,
            layers: refs,
            config_digest,
            created: record.created.clone(),
            stored_at: String::new(),
            names_history: vec![],
            parent: None,
            platform: record.platform.clone(),
            digests: vec![manifest_digest],
            repositories: vec![],
        };
        Ok(self.store.put_image(out)?)
    }

    /// Rewrites one layer, stores the blob and unpacks it.
    fn convert_layer(&self, l: &LayerRef, opts: &EstargzOptions) -> Result<Converted> {
        let blob = self.store.open_blob(&l.blob)?;
        let input: Box<dyn Read> = match layer_compression(&l.media_type) {
            Some(Compression::None) => Box::new(BufReader::new(blob)),
            Some(Compression::Gzip) => {
                Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(blob)))
            }
            Some(Compression::Zstd) => {
                Box::new(zstd::Decoder::new(blob).map_err(io_err("starting zstd"))?)
            }
            None => {
                return Err(EngineError::Unsupported {
                    what: format!("layer media type {}", l.media_type),
                    why: "it is not a layer hoist can convert".into(),
                })
            }
        };
        let tmp = self.store.temp_dir()?;
        let path = tmp.path().join("layer.estargz");
        let file = std::fs::File::create(&path).map_err(io_err("creating the converted layer"))?;
        let mut convert_opts = ConvertOptions {
            prioritized: opts.prioritized.clone(),
            ..ConvertOptions::default()
        };
        if opts.chunk_size > 0 {
            convert_opts.chunk_size = opts.chunk_size;
        }
        let converted = convert(input, BufWriter::new(file), &convert_opts).map_err(|e| {
            EngineError::Invalid(format!("converting layer {} to eStargz: {e}", l.blob))
        })?;
        if let BlobSlot::Writer(mut w) = self
            .store
            .begin_blob(&converted.blob_digest, Some(converted.blob_size))?
        {
            let mut f =
                std::fs::File::open(&path).map_err(io_err("reading the converted layer"))?;
            std::io::copy(&mut f, &mut w).map_err(io_err("storing the converted layer"))?;
            w.commit()?;
        }
        self.store.unpack_layer_expecting(
            &converted.blob_digest,
            OCI_LAYER_GZIP,
            &converted.diff_id,
        )?;
        Ok(converted)
    }
}

/// An image config as far as conversion rewrites it: `rootfs` is replaced,
/// every other field (known to hoist or not) is carried over unchanged. The
/// config comes from outside (a registry, an archive), so it is read as a
/// JSON object rather than indexed as a `Value`: a config that is an array
/// or a scalar is an error, not a panic.
#[derive(serde::Serialize)]
struct RewrittenConfig {
    rootfs: RootFs,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(serde::Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: String,
    diff_ids: Vec<Digest>,
}

/// The image config with `rootfs.diff_ids` replaced.
fn with_diff_ids(config: &[u8], layers: &[Converted], digest: &Digest) -> Result<Vec<u8>> {
    let invalid = |detail: String| EngineError::Config {
        digest: digest.to_string(),
        detail,
    };
    let mut rest: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(config).map_err(|e| invalid(format!("not a JSON object: {e}")))?;
    // The old rootfs is replaced whatever it held.
    rest.remove("rootfs");
    let out = RewrittenConfig {
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: layers.iter().map(|c| c.diff_id.clone()).collect(),
        },
        rest,
    };
    serde_json::to_vec(&out).map_err(|e| invalid(format!("cannot be written back: {e}")))
}

fn manifest_json(config: &Digest, config_size: u64, layers: &[Converted]) -> Vec<u8> {
    let layers: Vec<serde_json::Value> = layers
        .iter()
        .map(|c| {
            serde_json::json!({
                "mediaType": OCI_LAYER_GZIP,
                "digest": c.blob_digest.to_string(),
                "size": c.blob_size,
                "annotations": {
                    TOC_DIGEST_ANNOTATION: c.toc_digest.to_string(),
                    UNCOMPRESSED_SIZE_ANNOTATION: c.uncompressed_size.to_string(),
                },
            })
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": OCI_CONFIG, "digest": config.to_string(), "size": config_size },
        "layers": layers,
    });
    serde_json::to_vec(&manifest).expect("serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(diff_id: &Digest) -> Converted {
        Converted {
            blob_digest: Digest::sha256_of(b"blob"),
            blob_size: 4,
            diff_id: diff_id.clone(),
            toc_digest: Digest::sha256_of(b"toc"),
            uncompressed_size: 10,
            missing_prioritized: Vec::new(),
        }
    }

    #[test]
    fn a_config_that_is_not_an_object_is_an_error_not_a_panic() {
        let d = Digest::sha256_of(b"cfg");
        let layers = [converted(&Digest::sha256_of(b"layer"))];
        for hostile in [&b"[1,2,3]"[..], b"\"text\"", b"null", b"42", b"{", b""] {
            let err = with_diff_ids(hostile, &layers, &d).unwrap_err();
            assert!(
                matches!(&err, EngineError::Config { digest, .. } if *digest == d.to_string()),
                "{err:?}"
            );
        }
    }

    #[test]
    fn rootfs_is_replaced_and_unknown_fields_are_kept() {
        let d = Digest::sha256_of(b"cfg");
        let id = Digest::sha256_of(b"layer");
        let cfg = br#"{"architecture":"amd64","os":"linux","x-vendor":{"k":[1,2]},"rootfs":{"type":"layers","diff_ids":["sha256:00"]},"config":{"Env":["A=1"]}}"#;
        let out = with_diff_ids(cfg, &[converted(&id)], &d).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "architecture": "amd64",
                "os": "linux",
                "x-vendor": {"k": [1, 2]},
                "config": {"Env": ["A=1"]},
                "rootfs": {"type": "layers", "diff_ids": [id.to_string()]},
            })
        );
    }
}

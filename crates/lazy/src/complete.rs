//! Turning a fully fetched lazy layer into an ordinary stored layer.

use std::io::Read;

use hoist_store::{BlobSlot, Store};

use crate::cache::ChunkCache;
use crate::error::{io_err, LazyError};
use crate::spec::LazyLayerSpec;

/// Copies the complete cache into the store as the layer's blob (the store
/// verifies its digest) and unpacks it, checking the diff ID. From then on
/// new containers use the unpacked layer and need no network.
pub fn import_complete(
    store: &Store,
    spec: &LazyLayerSpec,
    cache: &ChunkCache,
) -> Result<(), LazyError> {
    if !cache.is_complete() {
        return Err(LazyError::Layer {
            blob: spec.blob.to_string(),
            detail: "not every byte is fetched yet".into(),
        });
    }
    if let BlobSlot::Writer(mut writer) = store.begin_blob(&spec.blob, Some(spec.blob_size))? {
        let path = cache.data_path();
        let mut file = std::fs::File::open(path).map_err(io_err("opening", path))?;
        let mut buf = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(io_err("reading", path))?;
            if n == 0 {
                break;
            }
            std::io::Write::write_all(&mut writer, &buf[..n]).map_err(io_err("storing", path))?;
        }
        writer.commit()?;
    }
    store.unpack_layer_expecting(&spec.blob, &spec.media_type, &spec.diff_id)?;
    tracing::info!(blob = %spec.blob, "lazy layer complete: stored and unpacked");
    Ok(())
}

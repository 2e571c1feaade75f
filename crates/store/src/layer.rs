//! Unpacked layers: `layers/<diff-id-hex>/{diff/,layer.json}`.
//!
//! A layer is extracted into this store's temporary directory while its
//! diff_id (the digest of the uncompressed tar) is computed on the way, and
//! the finished directory is published with one rename. A layer is unpacked
//! once and shared by every image that uses it.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use hoist_image::media::{layer_compression, Compression};
use hoist_image::{Digest, Hasher};
use serde::{Deserialize, Serialize};

use crate::contents::{self, CONTENTS_JSON};
use crate::decode_ahead::DecodedAhead;
use crate::error::{IoContext, Result, StoreError};
use crate::extract::{extract_tar_recording, ExtractOptions, ExtractStats};
use crate::tmp::PinKind;
use crate::Store;
use hoist_fsutil::{fsync_dir, write_file, FileLock};

const LAYER_JSON: &str = "layer.json";
const DIFF: &str = "diff";

/// The metadata of an unpacked layer (`layer.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// sha256 of the uncompressed tar: the id the image config lists in `rootfs.diff_ids`.
    pub diff_id: Digest,
    /// The compressed blobs known to unpack to this layer (e.g. a gzip and a zstd variant).
    pub blobs: Vec<Digest>,
    /// Bytes of the uncompressed tar stream.
    pub uncompressed_size: u64,
    /// Tar entries in the layer (whiteouts included).
    pub entries: u64,
    /// When it was unpacked (RFC 3339, UTC).
    pub unpacked_at: String,
    /// Digest of `contents.json`, the record of every file the layer was
    /// unpacked to, which `check` verifies the layer against. `None` for
    /// layers unpacked before hoist kept that record: they cannot be verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents_digest: Option<Digest>,
}

/// A layer extracted from a blob still being verified (see
/// [`Store::stage_layer`]); dropped, its files go.
#[derive(Debug)]
pub struct StagedLayer {
    extracted: Extracted,
    blob: Digest,
}

/// A layer extracted into a temporary directory, not yet published.
#[derive(Debug)]
struct Extracted {
    work: TmpDirGuard,
    diff_id: Digest,
    stats: ExtractStats,
    contents_digest: Digest,
}

/// Removes a temporary directory on drop unless disarmed; covers errors and panics.
#[derive(Debug)]
struct TmpDirGuard(Option<PathBuf>);

impl Drop for TmpDirGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            if let Err(e) = std::fs::remove_dir_all(&p) {
                tracing::warn!(path = %p.display(), error = %e, "could not remove temporary layer directory");
            }
        }
    }
}

impl Store {
    /// The directory holding the layer's files, for use as an overlayfs lowerdir.
    pub fn layer_diff_dir(&self, diff_id: &Digest) -> PathBuf {
        self.layout().layer(diff_id).join(DIFF)
    }

    pub fn has_layer(&self, diff_id: &Digest) -> bool {
        self.layout().layer(diff_id).join(LAYER_JSON).is_file()
    }

    pub fn layer_info(&self, diff_id: &Digest) -> Result<LayerInfo> {
        read_layer_json(&self.layout().layer(diff_id))?
            .ok_or_else(|| StoreError::LayerNotFound(diff_id.clone()))
    }

    /// Every stored layer.
    pub fn layers(&self) -> Result<Vec<LayerInfo>> {
        let dir = self.layout().layers();
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).ctx("listing", &dir)? {
            let e = e.ctx("listing", &dir)?;
            if let Some(info) = read_layer_json(&e.path())? {
                out.push(info);
            }
        }
        out.sort_by(|a, b| a.diff_id.cmp(&b.diff_id));
        Ok(out)
    }

    /// The stored layer that `blob` is known to unpack to.
    pub fn find_layer_by_blob(&self, blob: &Digest) -> Result<Option<LayerInfo>> {
        Ok(self.layers()?.into_iter().find(|l| l.blobs.contains(blob)))
    }

    /// Unpacks layer blob `blob` (stored already) of `media_type`, unless a
    /// layer made from this blob exists, and returns the layer.
    pub fn unpack_layer(&self, blob: &Digest, media_type: &str) -> Result<LayerInfo> {
        let compression = compression_of(media_type)?;
        if let Some(info) = self.existing_layer_of_blob(blob)? {
            return Ok(info);
        }
        let lock_path = self.layout().object_lock("unpack", blob);
        let _lock = FileLock::exclusive(&lock_path)?;
        if let Some(info) = self.existing_layer_of_blob(blob)? {
            return Ok(info);
        }
        let x = self.extract_blob(blob, compression, Hasher::sha256())?;
        let lock_path = self.layout().object_lock("layer", &x.diff_id);
        let _layer_lock = FileLock::exclusive(&lock_path)?;
        self.publish_layer(x, blob)
    }

    /// Like [`Store::unpack_layer`], for a layer whose diff_id the image
    /// config declares: returns at once if that layer exists, and fails with
    /// `DiffIdMismatch`, storing nothing, if the blob unpacks to another one.
    pub fn unpack_layer_expecting(
        &self,
        blob: &Digest,
        media_type: &str,
        diff_id: &Digest,
    ) -> Result<LayerInfo> {
        let compression = compression_of(media_type)?;
        if self.pin_if_present(PinKind::Layer, diff_id)? {
            return self.layer_info(diff_id);
        }
        let lock_path = self.layout().object_lock("layer", diff_id);
        let _lock = FileLock::exclusive(&lock_path)?;
        if self.pin_if_present(PinKind::Layer, diff_id)? {
            return self.layer_info(diff_id);
        }
        let x = self.extract_blob(blob, compression, Hasher::new(diff_id.algorithm()))?;
        self.publish_layer(expect_diff_id(x, blob, diff_id)?, blob)
    }

    fn existing_layer_of_blob(&self, blob: &Digest) -> Result<Option<LayerInfo>> {
        match self.find_layer_by_blob(blob)? {
            Some(info) if self.pin_if_present(PinKind::Layer, &info.diff_id)? => Ok(Some(info)),
            _ => Ok(None),
        }
    }

    /// Extracts a layer from `bytes`, its blob `blob` as it arrives (a
    /// [`crate::BlobFollower`] of the download), checking that it unpacks
    /// to `diff_id`. Nothing is visible in the store until
    /// [`Store::publish_staged_layer`], which needs the blob stored (its
    /// digest verified) first; dropping the result removes the files.
    pub fn stage_layer(
        &self,
        bytes: impl Read + Send + 'static,
        blob: &Digest,
        media_type: &str,
        diff_id: &Digest,
    ) -> Result<StagedLayer> {
        let compression = compression_of(media_type)?;
        let x = self.extract_from(bytes, blob, compression, Hasher::new(diff_id.algorithm()))?;
        Ok(StagedLayer {
            extracted: expect_diff_id(x, blob, diff_id)?,
            blob: blob.clone(),
        })
    }

    /// Publishes a layer [`Store::stage_layer`] extracted, once its blob is
    /// stored. A layer unpacked meanwhile (by another pull) wins: ours goes.
    pub fn publish_staged_layer(&self, staged: StagedLayer) -> Result<LayerInfo> {
        let StagedLayer { extracted, blob } = staged;
        if !self.has_blob(&blob) {
            return Err(StoreError::BlobNotFound(blob));
        }
        let lock_path = self.layout().object_lock("layer", &extracted.diff_id);
        let _lock = FileLock::exclusive(&lock_path)?;
        self.publish_layer(extracted, &blob)
    }

    /// Extracts `blob` into a fresh temporary directory `<work>/diff`,
    /// hashing the uncompressed stream with `hasher`, and records what it
    /// unpacked to in `<work>/contents.json`.
    fn extract_blob(
        &self,
        blob: &Digest,
        compression: Compression,
        hasher: Hasher,
    ) -> Result<Extracted> {
        let file = self.open_blob(blob)?;
        self.extract_from(file, blob, compression, hasher)
    }

    /// [`Store::extract_blob`] from `bytes`, the blob's content.
    fn extract_from(
        &self,
        bytes: impl Read + Send + 'static,
        blob: &Digest,
        compression: Compression,
        hasher: Hasher,
    ) -> Result<Extracted> {
        let work = TmpDirGuard(Some(self.tmp_path("layer")));
        let work_path = work.0.clone().unwrap_or_default();
        let diff = work_path.join(DIFF);
        std::fs::create_dir(&work_path).ctx("creating temporary layer directory", &work_path)?;
        std::fs::create_dir(&diff).ctx("creating temporary layer directory", &diff)?;
        let reader = BufReader::with_capacity(256 * 1024, bytes);
        let decoded: Box<dyn Read + Send> = match compression {
            Compression::None => Box::new(reader),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(reader)
                    .ctx("starting zstd decoder for blob", self.blob_path(blob))?,
            ),
        };
        // Inflating and hashing the diff_id run on threads of their own:
        // this one writes the files, which is what a pull waits for.
        let mut hashing = DecodedAhead::new(decoded, hasher);
        let opts = ExtractOptions {
            allow_devices: self.running_as_root(),
            preserve_owner: self.running_as_root(),
        };
        let (stats, digests) =
            extract_tar_recording(&mut hashing, &diff, &opts).map_err(|source| {
                StoreError::Extract {
                    blob: blob.clone(),
                    source,
                }
            })?;
        let record = contents::scan(&diff, &mut contents::known_digests(&digests))
            .ctx("recording the contents of", &diff)?
            .to_json();
        let record_path = work_path.join(CONTENTS_JSON);
        // Made durable with the rest of the tree by the syncfs in publish_layer.
        std::fs::write(&record_path, &record).ctx("writing", &record_path)?;
        let diff_id = hashing
            .finish()
            .ctx("hashing the layer of", self.blob_path(blob))?;
        Ok(Extracted {
            work,
            diff_id,
            stats,
            contents_digest: Digest::sha256_of(&record),
        })
    }

    /// Publishes an extracted layer as `layers/<diff_id>`; the caller holds
    /// the layer's lock. If the layer appeared meanwhile (unpacked from
    /// another blob), records `blob` in it and discards ours.
    fn publish_layer(&self, x: Extracted, blob: &Digest) -> Result<LayerInfo> {
        let Extracted {
            mut work,
            diff_id,
            stats,
            contents_digest,
        } = x;
        let diff_id = &diff_id;
        let work_path = work.0.clone().unwrap_or_default();
        let dest = self.layout().layer(diff_id);
        if let Some(mut info) = read_layer_json(&dest)? {
            if !info.blobs.contains(blob) {
                info.blobs.push(blob.clone());
                write_file(&dest.join(LAYER_JSON), &to_json(&info)?, 0o644)?;
            }
            let _guard = self.shared_lock()?;
            self.own_tmp().pin(PinKind::Layer, diff_id)?;
            return Ok(info);
        }
        if dest.exists() {
            // A directory without layer.json is debris (e.g. damaged by
            // hand); we hold the layer's lock, so replace it.
            tracing::warn!(path = %dest.display(), "replacing incomplete layer directory");
            self.remove_layer_dir(&dest)?;
        }
        let info = LayerInfo {
            diff_id: diff_id.clone(),
            blobs: vec![blob.clone()],
            uncompressed_size: stats.tar_bytes,
            entries: stats.entries,
            unpacked_at: crate::image::now_rfc3339(),
            contents_digest: Some(contents_digest),
        };
        write_layer_json_durably(&work_path, &info)?;
        {
            let _guard = self.shared_lock()?;
            self.own_tmp().pin(PinKind::Layer, diff_id)?;
            std::fs::rename(&work_path, &dest).ctx("publishing layer", &dest)?;
        }
        work.0 = None;
        fsync_dir(&self.layout().layers())?;
        tracing::info!(%diff_id, %blob, entries = info.entries, size = info.uncompressed_size, "unpacked layer");
        Ok(info)
    }

    /// Replaces layer `info.diff_id` by a fresh extraction of its blob
    /// `blob`, which must unpack to the same diff_id. For `check --repair`:
    /// the caller holds the exclusive store lock. Returns `false`, changing
    /// nothing, if another process holds the layer's lock (it is being
    /// unpacked right now).
    pub(crate) fn reextract_layer(&self, info: &LayerInfo, blob: &Digest) -> Result<bool> {
        let lock_path = self.layout().object_lock("layer", &info.diff_id);
        let Some(_lock) = FileLock::try_exclusive(&lock_path)? else {
            return Ok(false);
        };
        let compression = sniff_compression(&mut self.open_blob(blob)?)
            .ctx("reading blob", self.blob_path(blob))?;
        let x = self.extract_blob(blob, compression, Hasher::new(info.diff_id.algorithm()))?;
        if x.diff_id != info.diff_id {
            return Err(StoreError::DiffIdMismatch {
                blob: blob.clone(),
                expected: info.diff_id.clone(),
                actual: x.diff_id.clone(),
            });
        }
        let mut work = x.work;
        let work_path = work.0.clone().unwrap_or_default();
        let fresh = LayerInfo {
            uncompressed_size: x.stats.tar_bytes,
            entries: x.stats.entries,
            unpacked_at: crate::image::now_rfc3339(),
            contents_digest: Some(x.contents_digest),
            ..info.clone()
        };
        write_layer_json_durably(&work_path, &fresh)?;
        let dest = self.layout().layer(&info.diff_id);
        let doomed = self.tmp_path("damaged-layer");
        std::fs::rename(&dest, &doomed).ctx("moving damaged layer aside", &dest)?;
        if let Err(e) = std::fs::rename(&work_path, &dest) {
            // Put the old one back rather than leave no layer at all.
            let _ = std::fs::rename(&doomed, &dest);
            return Err(e).ctx("publishing re-extracted layer", &dest);
        }
        work.0 = None;
        fsync_dir(&self.layout().layers())?;
        std::fs::remove_dir_all(&doomed).ctx("deleting damaged layer", &doomed)?;
        tracing::info!(diff_id = %info.diff_id, %blob, "re-extracted damaged layer");
        Ok(true)
    }

    /// Removes a layer directory: renamed into our temporary directory first,
    /// so it vanishes atomically, then deleted.
    pub(crate) fn remove_layer_dir(&self, dir: &Path) -> Result<()> {
        let doomed = self.tmp_path("removed-layer");
        std::fs::rename(dir, &doomed).ctx("removing layer", dir)?;
        std::fs::remove_dir_all(&doomed).ctx("deleting removed layer", &doomed)
    }
}

/// Writes `layer.json` into a layer's temporary directory, then makes the
/// whole extracted tree durable before a rename publishes it: one syncfs is
/// far cheaper than an fsync per file.
fn write_layer_json_durably(work_path: &Path, info: &LayerInfo) -> Result<()> {
    let json_path = work_path.join(LAYER_JSON);
    let mut f = File::create(&json_path).ctx("writing", &json_path)?;
    f.write_all(&to_json(info)?).ctx("writing", &json_path)?;
    rustix::fs::syncfs(&f).ctx("syncing filesystem of", work_path)
}

/// The compression of a stored layer blob, from its first bytes (the media
/// type is in image records, which a layer does not point back to).
fn sniff_compression(f: &mut File) -> std::io::Result<Compression> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < magic.len() {
        match f.read(&mut magic[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        _ => Compression::None,
    })
}

fn compression_of(media_type: &str) -> Result<Compression> {
    layer_compression(media_type)
        .ok_or_else(|| StoreError::UnsupportedMediaType(media_type.to_string()))
}

fn to_json(info: &LayerInfo) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(info).map_err(|source| StoreError::Metadata {
        path: PathBuf::from(LAYER_JSON),
        source,
    })
}

/// The `layer.json` of a layer directory, `None` if there is none.
pub(crate) fn read_layer_json(layer_dir: &Path) -> Result<Option<LayerInfo>> {
    let path = layer_dir.join(LAYER_JSON);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).ctx("reading", path),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| StoreError::Metadata { path, source })
}

/// `x` if its uncompressed stream hashed to `diff_id`, the image config's
/// word for what `blob` holds; otherwise the mismatch, and the extracted
/// tree goes with `x`.
fn expect_diff_id(x: Extracted, blob: &Digest, diff_id: &Digest) -> Result<Extracted> {
    if &x.diff_id == diff_id {
        return Ok(x);
    }
    Err(StoreError::DiffIdMismatch {
        blob: blob.clone(),
        expected: diff_id.clone(),
        actual: x.diff_id.clone(),
    })
}

#[cfg(test)]
mod tests;

//! Writing images out to local transports: `save` to an archive, and `push`
//! to `oci:`, `oci-archive:` or `docker-archive:` names.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use hoist_archive::{DockerArchiveWriter, OciArchive, OciLayout};
use hoist_image::manifest::Descriptor;
use hoist_image::media::{layer_compression, Compression};
use hoist_image::transport::ImageName;
use hoist_image::Digest;
use hoist_store::ImageRecord;

use crate::error::{io_err, EngineError, Result};
use crate::progress::{BlobOutcome, Progress};
use crate::push_plan::PushPlan;
use crate::Engine;

/// The `version` file of a `dir:` image, as containers/image writes it.
pub(crate) const DIR_VERSION: &str = "Directory Transport Version: 1.1\n";

/// How `save` writes layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaveOptions {
    /// `--uncompressed`: OCI formats get uncompressed layers (their blob
    /// digests become the diff IDs, under a rewritten manifest). Docker
    /// archives always hold uncompressed layers.
    pub uncompressed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    OciArchive,
    DockerArchive,
    /// An OCI layout directory.
    OciDir,
}

impl Engine {
    /// Saves images into one archive (or layout directory) at `output`.
    pub fn save(
        &self,
        images: &[String],
        format: SaveFormat,
        options: SaveOptions,
        output: &Path,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let records: Vec<(ImageRecord, String)> = images
            .iter()
            .map(|name| Ok((self.lookup(name)?, name.clone())))
            .collect::<Result<_>>()?;
        // An archive holds every blob: lazily pulled layers are fetched first.
        for (record, _) in &records {
            self.complete_lazy_layers(record, &crate::RegistryOptions::default(), progress)?;
        }
        match format {
            SaveFormat::DockerArchive => {
                let mut writer = DockerArchiveWriter::new(output)?;
                for (record, asked) in &records {
                    self.add_to_docker_archive(&mut writer, record, asked, progress)?;
                }
                writer.finish()?;
            }
            SaveFormat::OciDir => {
                let layout = OciLayout::create_or_open(output)?;
                for (record, asked) in &records {
                    let tag = ref_name(record, asked);
                    self.add_to_layout_with(&layout, record, tag.as_deref(), options, progress)?;
                }
            }
            SaveFormat::OciArchive => {
                let tmp = self.store.temp_dir()?;
                let layout = OciLayout::create_or_open(tmp.path().join("layout"))?;
                for (record, asked) in &records {
                    let tag = ref_name(record, asked);
                    self.add_to_layout_with(&layout, record, tag.as_deref(), options, progress)?;
                }
                OciArchive::write(layout.root(), output)?;
            }
        }
        for (record, _) in &records {
            let place = output.display().to_string();
            crate::images::image_event(hoist_events::Status::Save, &record.id, &place);
        }
        Ok(())
    }

    /// `push` to a local transport; returns the manifest digest written.
    pub(crate) fn export(
        &self,
        record: &ImageRecord,
        dest: &ImageName,
        progress: &Arc<dyn Progress>,
    ) -> Result<Digest> {
        match dest {
            ImageName::Oci { dir, tag } => {
                let layout = OciLayout::create_or_open(dir)?;
                self.add_to_layout(&layout, record, tag.as_deref(), progress)?;
                Ok(record.manifest_digest.clone())
            }
            ImageName::OciArchive { file, tag } => {
                let tmp = self.store.temp_dir()?;
                let layout = OciLayout::create_or_open(tmp.path().join("layout"))?;
                self.add_to_layout(&layout, record, tag.as_deref(), progress)?;
                OciArchive::write(layout.root(), file)?;
                Ok(record.manifest_digest.clone())
            }
            ImageName::DockerArchive { file, reference } => {
                let mut writer = DockerArchiveWriter::new(file)?;
                let asked = reference
                    .clone()
                    .or_else(|| record.names.first().cloned())
                    .unwrap_or_default();
                self.add_to_docker_archive(&mut writer, record, &asked, progress)?;
                writer.finish()?;
                Ok(record.manifest_digest.clone())
            }
            ImageName::Dir { dir } => {
                self.export_dir(record, dir, progress)?;
                Ok(record.manifest_digest.clone())
            }
            ImageName::Registry(_) => {
                unreachable!("registry destinations are pushed, not exported")
            }
        }
    }

    /// Writes `record` in containers/image's `dir:` layout: each blob in a
    /// file named by its hex digest, `manifest.json` and `version`.
    fn export_dir(
        &self,
        record: &ImageRecord,
        dir: &Path,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let plan = self.push_plan(record, &crate::PushOptions::default())?;
        self.write_dir(&plan, dir, progress)
    }

    /// Writes what `plan` pushes in the `dir:` layout (`push --compress`
    /// and `--compression-format` change the layers it holds).
    pub(crate) fn write_dir(
        &self,
        plan: &PushPlan,
        dir: &Path,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        for blob in plan.layers.iter().chain([&plan.config]) {
            let digest = &blob.desc.digest;
            progress.blob_started(digest, blob.desc.size);
            let path = dir.join(digest.hex());
            std::fs::copy(&blob.path, &path)
                .map_err(io_err(format!("writing {}", path.display())))?;
            progress.blob_finished(digest, BlobOutcome::Copied);
        }
        let path = dir.join("manifest.json");
        std::fs::write(&path, &plan.manifest)
            .map_err(io_err(format!("writing {}", path.display())))?;
        let path = dir.join("version");
        std::fs::write(&path, DIR_VERSION)
            .map_err(io_err(format!("writing {}", path.display())))?;
        Ok(())
    }

    /// [`Self::add_to_layout`], or with `--uncompressed` every layer
    /// decompressed under a manifest rewritten to match.
    fn add_to_layout_with(
        &self,
        layout: &OciLayout,
        record: &ImageRecord,
        tag: Option<&str>,
        options: SaveOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let compressed = record
            .layers
            .iter()
            .any(|l| layer_compression(&l.media_type).is_some_and(|c| c != Compression::None));
        if !options.uncompressed || !compressed {
            return self.add_to_layout(layout, record, tag, progress);
        }
        let manifest = self
            .store
            .read_blob(&record.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        let mut doc: serde_json::Value =
            serde_json::from_slice(&manifest).map_err(|e| EngineError::Config {
                digest: record.manifest_digest.to_string(),
                detail: e.to_string(),
            })?;
        let Some(entries) = doc.get_mut("layers").and_then(|l| l.as_array_mut()) else {
            return Err(EngineError::Invalid(format!(
                "manifest {} lists no layers",
                record.manifest_digest
            )));
        };
        for (entry, l) in entries.iter_mut().zip(&record.layers) {
            let (reader, size) = self.uncompressed_layer(l)?;
            progress.blob_started(&l.diff_id, size);
            if !layout.has_blob(&l.diff_id) {
                layout.write_blob_from(reader, &l.diff_id)?;
            }
            progress.blob_finished(&l.diff_id, BlobOutcome::Copied);
            let media_type = if hoist_image::media::is_docker(&l.media_type) {
                "application/vnd.docker.image.rootfs.diff.tar"
            } else {
                hoist_image::media::OCI_LAYER
            };
            entry["mediaType"] = media_type.into();
            entry["digest"] = l.diff_id.to_string().into();
            entry["size"] = size.into();
        }
        if !layout.has_blob(&record.config_digest) {
            layout.write_blob_from(
                self.store.open_blob(&record.config_digest)?,
                &record.config_digest,
            )?;
        }
        let bytes = serde_json::to_vec(&doc).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let digest = layout.write_blob_bytes(&bytes)?;
        let desc = Descriptor::new(&record.manifest_media_type, digest, bytes.len() as u64);
        layout.add_manifest(desc, tag)?;
        Ok(())
    }

    /// A layer's uncompressed tar stream and its size.
    pub(crate) fn uncompressed_layer(
        &self,
        l: &hoist_store::LayerRef,
    ) -> Result<(Box<dyn Read>, u64)> {
        let compression =
            layer_compression(&l.media_type).ok_or_else(|| EngineError::Unsupported {
                what: format!("layer media type {}", l.media_type),
                why: "it cannot be decompressed".into(),
            })?;
        let size = self.store.layer_info(&l.diff_id)?.uncompressed_size;
        let file = self.store.open_blob(&l.blob)?;
        let reader: Box<dyn Read> = match compression {
            Compression::None => Box::new(file),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
                std::io::BufReader::new(file),
            )),
            Compression::Zstd => {
                Box::new(zstd::Decoder::new(file).map_err(io_err("starting zstd"))?)
            }
        };
        Ok((reader, size))
    }

    /// Copies config, layers and manifest byte for byte, so digests are kept.
    fn add_to_layout(
        &self,
        layout: &OciLayout,
        record: &ImageRecord,
        tag: Option<&str>,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let mut blobs: Vec<(Digest, u64)> = record
            .layers
            .iter()
            .map(|l| (l.blob.clone(), l.size))
            .collect();
        blobs.push((record.config_digest.clone(), 0));
        for (digest, size) in blobs {
            if layout.has_blob(&digest) {
                progress.blob_finished(&digest, BlobOutcome::Skipped);
                continue;
            }
            progress.blob_started(&digest, size);
            layout.write_blob_from(self.store.open_blob(&digest)?, &digest)?;
            progress.blob_finished(&digest, BlobOutcome::Copied);
        }
        let manifest = self
            .store
            .read_blob(&record.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        layout.write_blob_from(&manifest[..], &record.manifest_digest)?;
        let desc = Descriptor::new(
            &record.manifest_media_type,
            record.manifest_digest.clone(),
            manifest.len() as u64,
        );
        layout.add_manifest(desc, tag)?;
        Ok(())
    }

    /// Docker archives hold uncompressed layers named by diff ID.
    fn add_to_docker_archive(
        &self,
        writer: &mut DockerArchiveWriter,
        record: &ImageRecord,
        asked: &str,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let config = self
            .store
            .read_blob(&record.config_digest, crate::MAX_CONFIG_BYTES)?;
        let tags = repo_tags(record, asked);
        let mut readers = Vec::new();
        for l in &record.layers {
            let (reader, size) = self.uncompressed_layer(l)?;
            readers.push((l.diff_id.clone(), reader, size));
        }
        writer.add_image(&config, &tags, readers)?;
        for l in &record.layers {
            progress.blob_finished(&l.blob, BlobOutcome::Copied);
        }
        Ok(())
    }
}

/// The ref.name annotation to write: the name the user asked for when it is
/// one of the image's names, none when the image was asked for by ID (as
/// podman, which then saves it without names), else its first name.
fn ref_name(record: &ImageRecord, asked: &str) -> Option<String> {
    let normalized = crate::images::local_name(asked).ok();
    if let Some(n) = record
        .names
        .iter()
        .find(|n| Some(*n) == normalized.as_ref() || *n == asked)
    {
        return Some(n.clone());
    }
    let hex = asked.strip_prefix("sha256:").unwrap_or(asked);
    if hex.len() >= 3 && record.id.hex().starts_with(hex) {
        return None;
    }
    record.names.first().cloned()
}

fn repo_tags(record: &ImageRecord, asked: &str) -> Vec<String> {
    ref_name(record, asked)
        .into_iter()
        .filter(|n| !n.contains('@'))
        .collect()
}

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
use crate::Engine;

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
                    self.add_to_layout(&layout, record, tag.as_deref(), progress)?;
                }
            }
            SaveFormat::OciArchive => {
                let tmp = self.store.temp_dir()?;
                let layout = OciLayout::create_or_open(tmp.path().join("layout"))?;
                for (record, asked) in &records {
                    let tag = ref_name(record, asked);
                    self.add_to_layout(&layout, record, tag.as_deref(), progress)?;
                }
                OciArchive::write(layout.root(), output)?;
            }
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
            ImageName::Registry(_) => {
                unreachable!("registry destinations are pushed, not exported")
            }
        }
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
            let compression =
                layer_compression(&l.media_type).ok_or_else(|| EngineError::Unsupported {
                    what: format!("layer media type {}", l.media_type),
                    why: "it cannot be written to a docker-archive".into(),
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
/// one of the image's names, else its first name.
fn ref_name(record: &ImageRecord, asked: &str) -> Option<String> {
    let normalized = crate::images::local_name(asked).ok();
    record
        .names
        .iter()
        .find(|n| Some(*n) == normalized.as_ref() || *n == asked)
        .or(record.names.first())
        .cloned()
}

fn repo_tags(record: &ImageRecord, asked: &str) -> Vec<String> {
    ref_name(record, asked)
        .into_iter()
        .filter(|n| !n.contains('@'))
        .collect()
}

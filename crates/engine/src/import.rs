//! Bringing images in from local transports: `oci:` directories,
//! `oci-archive:` files and `docker-archive:` files (used by `pull` with those
//! names and by `load`). Every blob is verified as it enters the store, and
//! the image record is written last, as for registry pulls.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use hoist_archive::{plan_from_docker, DockerArchive, OciArchive, OciLayout};
use hoist_image::manifest::{ImageManifest, Manifest, ManifestError, MAX_INDEX_DEPTH};
use hoist_image::platform::Platform;
use hoist_image::transport::ImageName;
use hoist_image::{Digest, Reference};
use hoist_store::{BlobSlot, ImageRecord, LayerRef};

use crate::error::{io_err, EngineError, Result};
use crate::images::local_name;
use crate::progress::{BlobOutcome, Progress};
use crate::pull::ImageConfigSummary;
use crate::{Engine, PulledImage};

/// Where the blobs of an image being imported come from.
trait BlobSource {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + '_>>;
}

struct LayoutSource<'a>(&'a OciLayout);

impl BlobSource for LayoutSource<'_> {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + '_>> {
        Ok(Box::new(self.0.open_blob(digest)?))
    }
}

/// A docker archive's layers are addressed by their diff IDs, which are also
/// their blob digests since they are stored uncompressed.
struct DockerSource<'a> {
    archive: &'a DockerArchive,
    image: usize,
}

impl BlobSource for DockerSource<'_> {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + '_>> {
        let img = &self.archive.images()[self.image];
        if *digest == img.config_digest {
            return Ok(Box::new(&img.config[..]));
        }
        let index = img
            .layers
            .iter()
            .position(|l| l.diff_id == *digest)
            .ok_or_else(|| EngineError::Invalid(format!("{digest} is not part of the archive")))?;
        Ok(Box::new(self.archive.open_layer(self.image, index)?))
    }
}

/// An OCI layout at `dest` holding the image of `dir:` directory `dir`
/// (its blobs are verified as they are copied).
fn dir_as_layout(dir: &Path, dest: &Path) -> Result<OciLayout> {
    let path = dir.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(io_err(format!("reading {}", path.display())))?;
    let manifest = match Manifest::parse(&bytes, "")? {
        Manifest::Image(m) => m,
        Manifest::Index(_) => {
            return Err(EngineError::UnknownPayload(format!(
                "{}: a manifest list; hoist reads single-image dir: layouts",
                path.display()
            )))
        }
    };
    let layout = OciLayout::create_or_open(dest)?;
    for d in manifest
        .layers
        .iter()
        .chain(std::iter::once(&manifest.config))
    {
        let blob = dir.join(d.digest.hex());
        let file =
            std::fs::File::open(&blob).map_err(io_err(format!("opening {}", blob.display())))?;
        layout.write_blob_from(file, &d.digest)?;
    }
    let media_type = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| hoist_image::media::OCI_MANIFEST.to_string());
    let digest = layout.write_blob_bytes(&bytes)?;
    layout.add_manifest(
        hoist_image::manifest::Descriptor::new(&media_type, digest, bytes.len() as u64),
        None,
    )?;
    Ok(layout)
}

impl Engine {
    /// Imports the image a local transport name designates.
    pub(crate) fn import(
        &self,
        name: &ImageName,
        progress: &Arc<dyn Progress>,
    ) -> Result<PulledImage> {
        match name {
            ImageName::Oci { dir, tag } => {
                self.import_layout(&OciLayout::open(dir)?, dir, tag.as_deref(), progress)
            }
            ImageName::OciArchive { file, tag } => {
                let tmp = self.store.temp_dir()?;
                let layout = OciArchive::extract(file, tmp.path())?;
                self.import_layout(&layout, file, tag.as_deref(), progress)
            }
            ImageName::DockerArchive { file, reference } => {
                let archive = DockerArchive::open(file)?;
                let index = archive.select(reference.as_deref())?;
                self.import_docker(&archive, index, progress)
            }
            ImageName::Dir { dir } => {
                let tmp = self.store.temp_dir()?;
                let layout = dir_as_layout(dir, &tmp.path().join("layout"))?;
                self.import_layout(&layout, dir, None, progress)
            }
            ImageName::Registry(_) => unreachable!("registry names are pulled, not imported"),
        }
    }

    /// `load`: every image of an archive, whichever of the two formats it is.
    pub fn load(&self, input: &Path, progress: &Arc<dyn Progress>) -> Result<Vec<String>> {
        let loaded = self
            .load_archive(input, progress)
            .inspect_err(|e| self.free_space_after_disk_full(e))?;
        hoist_events::emit(hoist_events::Event::image(
            hoist_events::Status::LoadFromArchive,
            "",
            &input.display().to_string(),
        ));
        Ok(loaded)
    }

    fn load_archive(&self, input: &Path, progress: &Arc<dyn Progress>) -> Result<Vec<String>> {
        let oci_reason = match is_oci_archive(input) {
            Ok(true) => return self.load_oci_archive(input, progress),
            Ok(false) => "no oci-layout file at the top of the archive".to_string(),
            Err(e) => e.to_string(),
        };
        let archive = DockerArchive::open(input).map_err(|e| {
            EngineError::UnknownPayload(format!(
                "\n * oci-archive: {oci_reason}\n * docker-archive: {e}"
            ))
        })?;
        let mut loaded = Vec::new();
        for index in 0..archive.images().len() {
            let img = self.import_docker(&archive, index, progress)?;
            loaded.extend(names_or_id(&img));
        }
        Ok(loaded)
    }

    fn load_oci_archive(&self, input: &Path, progress: &Arc<dyn Progress>) -> Result<Vec<String>> {
        let tmp = self.store.temp_dir()?;
        let layout = OciArchive::extract(input, tmp.path())?;
        let mut loaded = Vec::new();
        for tag in layout_entries(&layout)? {
            let img = self.import_layout(&layout, input, tag.as_deref(), progress)?;
            loaded.extend(names_or_id(&img));
        }
        Ok(loaded)
    }

    /// Downloads an archive from an http(s) URL into `dest` (`load -i URL`).
    pub fn download(&self, url: &str, dest: &Path) -> Result<()> {
        let failed =
            |e: &dyn std::fmt::Display| EngineError::Invalid(format!("downloading {url}: {e}"));
        crate::block_on(async {
            let mut response = reqwest::get(url).await.map_err(|e| failed(&e))?;
            if !response.status().is_success() {
                return Err(failed(&format!(
                    "the server answered {}",
                    response.status()
                )));
            }
            let mut file = std::fs::File::create(dest)
                .map_err(io_err(format!("creating {}", dest.display())))?;
            while let Some(chunk) = response.chunk().await.map_err(|e| failed(&e))? {
                std::io::Write::write_all(&mut file, &chunk)
                    .map_err(io_err(format!("writing {}", dest.display())))?;
            }
            Ok(())
        })?
    }

    fn import_layout(
        &self,
        layout: &OciLayout,
        origin: &Path,
        tag: Option<&str>,
        progress: &Arc<dyn Progress>,
    ) -> Result<PulledImage> {
        let desc = layout.resolve(tag)?;
        let name_annotation = desc
            .annotation("org.opencontainers.image.ref.name")
            .map(str::to_string)
            .or(tag.map(str::to_string));
        let (mut bytes, mut manifest) = layout.read_manifest(&desc)?;
        let mut digest = desc.digest.clone();
        let mut digests = vec![desc.digest.clone()];
        let mut depth = 0;
        while let Manifest::Index(index) = &manifest {
            depth += 1;
            if depth > MAX_INDEX_DEPTH {
                return Err(ManifestError::IndexTooDeep {
                    image: origin.display().to_string(),
                }
                .into());
            }
            let child = index.select(&Platform::host())?.clone();
            self.store.put_blob(&digest, &bytes)?;
            let (b, m) = layout.read_manifest(&child)?;
            (bytes, manifest, digest) = (b, m, child.digest.clone());
            digests.push(child.digest);
        }
        let Manifest::Image(manifest) = manifest else {
            unreachable!("the loop above leaves only image manifests");
        };
        let names = match name_annotation {
            Some(n) => vec![layout_image_name(&n, origin)?],
            None => vec![],
        };
        let media_type = manifest
            .media_type
            .clone()
            .unwrap_or_else(|| hoist_image::media::OCI_MANIFEST.to_string());
        self.import_image(
            &LayoutSource(layout),
            &bytes,
            &digest,
            &media_type,
            &manifest,
            names,
            digests,
            progress,
        )
    }

    fn import_docker(
        &self,
        archive: &DockerArchive,
        index: usize,
        progress: &Arc<dyn Progress>,
    ) -> Result<PulledImage> {
        let img = &archive.images()[index];
        let plan = plan_from_docker(img);
        let sizes: Vec<u64> = img.layers.iter().map(|l| l.size).collect();
        let built = plan.manifest(&sizes);
        let Manifest::Image(manifest) =
            Manifest::parse(&built.bytes, hoist_image::media::OCI_MANIFEST)?
        else {
            return Err(EngineError::Invalid(
                "built manifest is not an image manifest".into(),
            ));
        };
        let names = img
            .repo_tags
            .iter()
            .map(|t| Ok(Reference::parse(t)?.to_string()))
            .collect::<Result<Vec<_>>>()?;
        let source = DockerSource {
            archive,
            image: index,
        };
        self.import_image(
            &source,
            &built.bytes,
            built.digest(),
            hoist_image::media::OCI_MANIFEST,
            &manifest,
            names,
            vec![built.digest().clone()],
            progress,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn import_image(
        &self,
        source: &dyn BlobSource,
        manifest_bytes: &[u8],
        manifest_digest: &Digest,
        media_type: &str,
        manifest: &ImageManifest,
        names: Vec<String>,
        digests: Vec<Digest>,
        progress: &Arc<dyn Progress>,
    ) -> Result<PulledImage> {
        let image = names
            .first()
            .map_or_else(|| manifest_digest.to_string(), String::clone);
        manifest.check_layers_unpackable(&image)?;
        // podman's narration of an image copy, whatever the source.
        progress.message("Getting image source signatures");
        progress.message(&format!(
            "Copying config {}",
            manifest.config.digest.short()
        ));
        self.copy_blob(
            source,
            &manifest.config.digest,
            manifest.config.size,
            progress,
        )?;
        let config_bytes = self
            .store
            .read_blob(&manifest.config.digest, crate::MAX_CONFIG_BYTES)?;
        let config = ImageConfigSummary::parse_for(manifest, &config_bytes)?;
        let mut layers = Vec::new();
        let mut size = 0;
        for (desc, diff_id) in manifest.layers.iter().zip(&config.diff_ids) {
            let outcome = self.copy_blob(source, &desc.digest, desc.size, progress)?;
            let info =
                self.store
                    .unpack_layer_expecting(&desc.digest, &desc.media_type, diff_id)?;
            size += info.uncompressed_size;
            progress.blob_finished(&desc.digest, outcome);
            layers.push(LayerRef {
                blob: desc.digest.clone(),
                diff_id: diff_id.clone(),
                media_type: desc.media_type.clone(),
                size: desc.size,
                lazy: None,
            });
        }
        self.store.put_blob(manifest_digest, manifest_bytes)?;
        let record = ImageRecord {
            id: manifest.config.digest.clone(),
            manifest_digest: manifest_digest.clone(),
            manifest_media_type: media_type.to_string(),
            names: names.clone(),
            layers,
            config_digest: manifest.config.digest.clone(),
            created: config.created.clone().unwrap_or_default(),
            stored_at: chrono::Utc::now().to_rfc3339(),
            names_history: vec![],
            parent: None,
            size,
            platform: config.platform(),
            digests,
            repositories: vec![],
        };
        let id = record.id.clone();
        self.store.put_image(record)?;
        progress.message("Writing manifest to image destination");
        Ok(PulledImage {
            id,
            manifest_digest: manifest_digest.clone(),
            names,
        })
    }

    /// Copies one blob from `source` into the store unless it is there already.
    fn copy_blob(
        &self,
        source: &dyn BlobSource,
        digest: &Digest,
        size: u64,
        progress: &Arc<dyn Progress>,
    ) -> Result<BlobOutcome> {
        let BlobSlot::Writer(mut writer) = self.store.begin_blob(digest, Some(size))? else {
            return Ok(BlobOutcome::Skipped);
        };
        progress.blob_started(digest, size);
        let mut reader = source.open(digest)?;
        std::io::copy(&mut reader, &mut writer)
            .map_err(io_err(format!("copying blob {digest}")))?;
        writer.commit()?;
        Ok(BlobOutcome::Copied)
    }
}

/// OCI archives have an `oci-layout` file at the top; docker archives do not.
fn is_oci_archive(path: &Path) -> Result<bool> {
    let file = std::fs::File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let mut archive = tar::Archive::new(file);
    let entries = archive
        .entries()
        .map_err(io_err(format!("reading {}", path.display())))?;
    for entry in entries {
        let entry = entry.map_err(io_err(format!("reading {}", path.display())))?;
        let p = entry
            .path()
            .map_err(io_err(format!("reading {}", path.display())))?;
        let name = p.to_string_lossy();
        if name.trim_start_matches("./") == "oci-layout" {
            return Ok(true);
        }
        if name.trim_start_matches("./") == "manifest.json" {
            return Ok(false);
        }
    }
    Ok(false)
}

/// The tags of a layout's index, or one `None` for an untagged single image.
fn layout_entries(layout: &OciLayout) -> Result<Vec<Option<String>>> {
    let tags = layout.tags()?;
    Ok(if tags.is_empty() {
        vec![None]
    } else {
        tags.into_iter().map(Some).collect()
    })
}

/// The local name for an image of a layout: its ref.name annotation when
/// that is a full reference, else `localhost/<file or dir name>:<tag>`.
fn layout_image_name(annotation: &str, origin: &Path) -> Result<String> {
    if annotation.contains('/') || annotation.contains(':') {
        if let Ok(name) = local_name(annotation) {
            return Ok(name);
        }
    }
    let stem = origin
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "image".to_string());
    let repo: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    local_name(&format!(
        "{}:{annotation}",
        if repo.is_empty() { "image" } else { &repo }
    ))
}

fn names_or_id(img: &PulledImage) -> Vec<String> {
    if img.names.is_empty() {
        vec![format!("sha256:{}", img.id.hex())]
    } else {
        img.names.clone()
    }
}

//! Manifest lists (`manifest create/add/inspect/rm/exists`): an OCI image
//! index kept in the store as an image record of its own, named like an
//! image, whose "config" and manifest are the index itself and which has
//! no layers. The images it lists are local images, referenced by their
//! manifest digests.

use hoist_image::manifest::{Descriptor, ImageIndex};
use hoist_image::platform::Platform;
use hoist_image::{media, Digest};
use hoist_store::ImageRecord;
use serde_json::Value;

use hoist_image::registries::RegistriesConf;

use crate::error::{EngineError, Result};
use crate::images::local_name;
use crate::{block_on, Engine};

/// `manifest annotate`'s changes to one entry of a list.
#[derive(Debug, Clone, Default)]
pub struct ManifestAnnotation {
    pub os: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
    pub os_version: Option<String>,
    pub os_features: Vec<String>,
    /// KEY=VALUE.
    pub annotations: Vec<String>,
}

impl Engine {
    /// Creates the list `name` of the local `images`; its ID.
    pub fn manifest_create(&self, name: &str, images: &[String], amend: bool) -> Result<Digest> {
        let name = local_name(name)?;
        if self.image_exists(&name)? {
            if amend {
                return self.manifest_add_all(&name, images);
            }
            return Err(EngineError::Invalid(format!(
                "{name}: image name is already in use: remove it (hoist rmi {name}), choose another, or add to the list with --amend"
            )));
        }
        let mut entries = Vec::new();
        for image in images {
            entries.push(self.list_entry(image)?);
        }
        self.store_list(std::slice::from_ref(&name), entries)
    }

    /// `manifest create --amend`: the local `images` added to the existing
    /// list `list` (one replaced if it lists the same manifest).
    fn manifest_add_all(&self, list: &str, images: &[String]) -> Result<Digest> {
        let (record, mut entries) = self.read_list(list)?;
        for image in images {
            let entry = self.list_entry(image)?;
            entries.retain(|d| d.digest != entry.digest);
            entries.push(entry);
        }
        self.replace_list(&record, entries)
    }

    /// Adds the local `image` to the list `list`; the list's new ID.
    pub fn manifest_add(&self, list: &str, image: &str) -> Result<Digest> {
        self.manifest_add_all(list, &[image.to_string()])
    }

    /// The list's index document.
    pub fn manifest_inspect(&self, list: &str) -> Result<Value> {
        let (record, _) = self.read_list(list)?;
        let bytes = self
            .store
            .read_blob(&record.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|e| EngineError::Config {
            digest: record.manifest_digest.to_string(),
            detail: e.to_string(),
        })
    }

    /// Whether `name` is a manifest list of the store.
    pub fn manifest_exists(&self, name: &str) -> Result<bool> {
        match self.lookup(name) {
            Ok(r) => Ok(is_list(&r)),
            Err(EngineError::ImageNotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes the list (the images it lists stay); its ID.
    pub fn manifest_remove(&self, list: &str) -> Result<Digest> {
        let (record, _) = self.read_list(list)?;
        self.store.remove_image(&record.id)?;
        self.store.garbage_collect()?;
        Ok(record.id)
    }

    /// `manifest remove`: takes the image with manifest `digest` (or the
    /// local image of that name) out of the list; the list's new ID.
    pub fn manifest_remove_entry(&self, list: &str, image: &str) -> Result<Digest> {
        let (record, mut entries) = self.read_list(list)?;
        let digest = self.entry_digest(&entries, image)?;
        entries.retain(|d| d.digest != digest);
        self.replace_list(&record, entries)
    }

    /// `manifest annotate`: changes the platform and annotations the list
    /// records for one of its images; the list's new ID.
    pub fn manifest_annotate(
        &self,
        list: &str,
        image: &str,
        a: &ManifestAnnotation,
    ) -> Result<Digest> {
        let (record, mut entries) = self.read_list(list)?;
        let digest = self.entry_digest(&entries, image)?;
        let entry = entries
            .iter_mut()
            .find(|d| d.digest == digest)
            .expect("entry_digest found it");
        let p = entry.platform.get_or_insert_with(|| Platform {
            architecture: String::new(),
            os: String::new(),
            os_version: None,
            os_features: None,
            variant: None,
        });
        if let Some(v) = &a.os {
            p.os = v.clone();
        }
        if let Some(v) = &a.arch {
            p.architecture = v.clone();
        }
        if let Some(v) = &a.variant {
            p.variant = Some(v.clone());
        }
        if let Some(v) = &a.os_version {
            p.os_version = Some(v.clone());
        }
        if !a.os_features.is_empty() {
            p.os_features = Some(a.os_features.clone());
        }
        for kv in &a.annotations {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                EngineError::Invalid(format!(
                    "no value given for annotation {kv:?}: use KEY=VALUE"
                ))
            })?;
            entry
                .annotations
                .get_or_insert_with(Default::default)
                .insert(k.to_string(), v.to_string());
        }
        self.replace_list(&record, entries)
    }

    /// `manifest push LIST DEST`: every listed image (with `all`) by
    /// digest, then the list itself, to DEST; the list's digest.
    pub fn manifest_push(
        &self,
        list: &str,
        destination: &str,
        all: bool,
        opts: &crate::PushOptions,
        progress: &std::sync::Arc<dyn crate::progress::Progress>,
    ) -> Result<Digest> {
        let (record, entries) = self.read_list(list)?;
        let dest = match hoist_image::transport::ImageName::parse(destination)? {
            hoist_image::transport::ImageName::Registry(r) => hoist_image::Reference::parse(&r)?,
            _ => {
                return Err(EngineError::Invalid(format!(
                    "{destination}: manifest lists are pushed to registries only (docker://REGISTRY/NAME[:TAG])"
                )))
            }
        };
        let stored_entries = entries.clone();
        let mut entries = entries;
        if all {
            let images = self.store.images()?;
            for entry in &mut entries {
                let image = images
                    .iter()
                    .find(|r| r.manifest_digest == entry.digest || r.digests.contains(&entry.digest))
                    .ok_or_else(|| {
                        EngineError::Invalid(format!(
                            "image {} of list {list} is not in local storage: pull it or remove it from the list (manifest remove)",
                            entry.digest
                        ))
                    })?;
                self.complete_lazy_layers(image, &opts.registry, progress)?;
                let plan = self.push_plan(image, opts)?;
                let by_digest = dest.with_digest(plan.digest.clone());
                block_on(self.push_to_registry(image, &plan, &by_digest, opts, progress))??;
                // --format or --compression-format may have made another
                // manifest of it: the list names what was pushed.
                entry.digest = plan.digest.clone();
                entry.size = plan.manifest.len() as u64;
                entry.media_type = plan.manifest_type.clone();
            }
        }
        let (bytes, list_type) = if entries == stored_entries && opts.format.is_none() {
            let bytes = self
                .store
                .read_blob(&record.manifest_digest, crate::MAX_CONFIG_BYTES)?;
            (bytes, record.manifest_media_type.clone())
        } else {
            list_to_push(&record, entries, opts.format)?
        };
        let tagged = dest.or_latest();
        let signature = crate::sign::sign_for_push(&tagged, &Digest::sha256_of(&bytes), opts)?;
        progress.message("Writing manifest list to image destination");
        let digest = block_on(async {
            let conf = RegistriesConf::load_default()?;
            let client = crate::auth::client(&opts.registry, &conf)?;
            Ok::<_, EngineError>(client.put_manifest(&tagged, &bytes, &list_type).await?)
        })??;
        if let Some(signature) = signature {
            signature.store_for(&digest)?;
        }
        crate::images::image_event(hoist_events::Status::Push, &record.id, destination);
        Ok(digest)
    }

    /// The digest of the list entry `image` names: a digest, or a local
    /// image whose manifest the list holds.
    fn entry_digest(&self, entries: &[Descriptor], image: &str) -> Result<Digest> {
        let wanted = image.strip_prefix("docker://").unwrap_or(image);
        if let Ok(d) = wanted.parse::<Digest>() {
            if entries.iter().any(|e| e.digest == d) {
                return Ok(d);
            }
        }
        if let Ok(r) = self.lookup(wanted) {
            if let Some(e) = entries
                .iter()
                .find(|e| e.digest == r.manifest_digest || r.digests.contains(&e.digest))
            {
                return Ok(e.digest.clone());
            }
        }
        Err(EngineError::Invalid(format!(
            "{image} is not in the manifest list: see `manifest inspect` for its digests"
        )))
    }

    /// Stores `entries` as the new content of list `record`, under its name.
    fn replace_list(&self, record: &ImageRecord, entries: Vec<Descriptor>) -> Result<Digest> {
        // The new list takes the names before the old record goes: a kill
        // in between leaves the old list unnamed, never no list at all.
        let id = self.store_list(&record.names, entries)?;
        if id != record.id {
            self.store.remove_image(&record.id)?;
        }
        Ok(id)
    }

    fn read_list(&self, list: &str) -> Result<(ImageRecord, Vec<Descriptor>)> {
        let record = self.lookup(list)?;
        if !is_list(&record) {
            return Err(EngineError::Invalid(format!(
                "{list} is an image, not a manifest list"
            )));
        }
        let bytes = self
            .store
            .read_blob(&record.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        let index: ImageIndex =
            serde_json::from_slice(&bytes).map_err(|e| EngineError::Config {
                digest: record.manifest_digest.to_string(),
                detail: e.to_string(),
            })?;
        Ok((record, index.manifests))
    }

    /// The index entry of a local image: its manifest and platform.
    fn list_entry(&self, image: &str) -> Result<Descriptor> {
        let r = self.lookup(image)?;
        if is_list(&r) {
            return Err(EngineError::Invalid(format!(
                "{image} is a manifest list: add images, not lists"
            )));
        }
        let size = self.store.blob_size(&r.manifest_digest)?;
        let mut d = Descriptor::new(&r.manifest_media_type, r.manifest_digest.clone(), size);
        d.platform = r.platform.parse::<Platform>().ok();
        Ok(d)
    }

    fn store_list(&self, names: &[String], manifests: Vec<Descriptor>) -> Result<Digest> {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_INDEX,
            "manifests": manifests,
        });
        let bytes = serde_json::to_vec(&index).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let digest = self.store.add_blob(&bytes)?;
        let record = ImageRecord {
            id: digest.clone(),
            manifest_digest: digest.clone(),
            manifest_media_type: media::OCI_INDEX.to_string(),
            names: names.to_vec(),
            layers: vec![],
            config_digest: digest.clone(),
            created: hoist_store::now_rfc3339(),
            stored_at: String::new(),
            names_history: vec![],
            parent: None,
            size: 0,
            platform: String::new(),
            digests: vec![digest.clone()],
            repositories: vec![],
        };
        self.store.put_image(record)?;
        Ok(digest)
    }
}

/// The list `record` made again for a push that changed it: `entries` (the
/// manifests its images were pushed as) in an index of `format`'s kind
/// (the stored kind when not given), and that media type. A Docker list
/// has no annotations; they are dropped.
fn list_to_push(
    record: &ImageRecord,
    entries: Vec<Descriptor>,
    format: Option<crate::ManifestFormat>,
) -> Result<(Vec<u8>, String)> {
    let list_type = match format {
        Some(crate::ManifestFormat::Docker) => media::DOCKER_MANIFEST_LIST,
        Some(crate::ManifestFormat::Oci) => media::OCI_INDEX,
        None => record.manifest_media_type.as_str(),
    };
    let docker = list_type == media::DOCKER_MANIFEST_LIST;
    let entries: Vec<Descriptor> = entries
        .into_iter()
        .map(|mut e| {
            if docker {
                e.annotations = None;
            }
            e
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": list_type,
        "manifests": entries,
    });
    let bytes = serde_json::to_vec(&index).map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok((bytes, list_type.to_string()))
}

/// Whether a record is a manifest list rather than an image.
pub(crate) fn is_list(r: &ImageRecord) -> bool {
    matches!(
        r.manifest_media_type.as_str(),
        media::OCI_INDEX | media::DOCKER_MANIFEST_LIST
    )
}

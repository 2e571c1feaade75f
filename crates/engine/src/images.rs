//! Local image management: list, inspect, tag, untag, remove, prune.

use std::collections::BTreeMap;

use hoist_image::reference::parse_name;
use hoist_image::{Digest, Reference};
use hoist_store::ImageRecord;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{EngineError, Result};
use crate::Engine;

/// One image as `images --format json` prints it (podman's field names).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    /// The config digest's hex, podman's image ID.
    pub id: String,
    pub parent_id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Bytes of the unpacked layers.
    pub size: u64,
    pub shared_size: u64,
    pub virtual_size: u64,
    pub labels: Option<BTreeMap<String, String>>,
    pub containers: u32,
    pub names: Vec<String>,
    pub digest: String,
    pub digests: Vec<String>,
    /// Seconds since the epoch.
    pub created: i64,
    pub created_at: String,
    pub dangling: bool,
}

impl ImageSummary {
    /// Whether `filter` (as given to `hoist images NAME`) names this image.
    pub fn matches_name(&self, filter: &str) -> bool {
        let normalized = Reference::parse(filter).map(|r| r.to_string()).ok();
        self.names.iter().any(|n| {
            n == filter
                || Some(n) == normalized.as_ref()
                || n.rsplit_once(':').is_some_and(|(repo, _)| {
                    repo.ends_with(&format!("/{filter}")) || repo == filter
                })
        })
    }
}

/// What `rmi` did.
#[derive(Debug, Default)]
pub struct RemoveReport {
    pub untagged: Vec<String>,
    pub deleted: Vec<Digest>,
}

impl Engine {
    pub fn list_images(&self) -> Result<Vec<ImageSummary>> {
        let mut images: Vec<ImageSummary> = self
            .store
            .images()?
            .iter()
            .map(|r| self.summary(r))
            .collect::<Result<_>>()?;
        images.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(images)
    }

    fn config_json(&self, record: &ImageRecord) -> Result<Value> {
        let bytes = self
            .store
            .read_blob(&record.config_digest, crate::MAX_CONFIG_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|e| EngineError::Config {
            digest: record.config_digest.to_string(),
            detail: e.to_string(),
        })
    }

    fn summary(&self, r: &ImageRecord) -> Result<ImageSummary> {
        let config = self.config_json(r)?;
        let created_at = config["created"].as_str().unwrap_or(&r.created).to_string();
        let created = chrono::DateTime::parse_from_rfc3339(&created_at)
            .map(|t| t.timestamp())
            .unwrap_or(0);
        let labels = serde_json::from_value(config["config"]["Labels"].clone()).ok();
        Ok(ImageSummary {
            id: r.id.hex().to_string(),
            parent_id: String::new(),
            repo_tags: r
                .names
                .iter()
                .filter(|n| !n.contains('@'))
                .cloned()
                .collect(),
            repo_digests: repo_digests(r),
            size: r.size,
            shared_size: 0,
            virtual_size: r.size,
            labels,
            containers: 0,
            names: r.names.clone(),
            digest: r.manifest_digest.to_string(),
            digests: r.digests.iter().map(|d| d.to_string()).collect(),
            created,
            created_at,
            dangling: r.names.is_empty(),
        })
    }

    /// podman's `image inspect` document for `name`.
    pub fn inspect_image(&self, name: &str) -> Result<Value> {
        let r = self.lookup(name)?;
        let config = self.config_json(&r)?;
        let manifest = self
            .store
            .read_blob(&r.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        let annotations = serde_json::from_slice::<Value>(&manifest)
            .map(|m| m["annotations"].clone())
            .unwrap_or(Value::Null);
        let lower_dirs: Vec<String> = r
            .layers
            .iter()
            .rev()
            .map(|l| self.store.layer_diff_dir(&l.diff_id).display().to_string())
            .collect();
        Ok(json!({
            "Id": r.id.hex(),
            "Digest": r.manifest_digest.to_string(),
            "RepoTags": r.names.iter().filter(|n| !n.contains('@')).collect::<Vec<_>>(),
            "RepoDigests": repo_digests(&r),
            "Parent": "",
            "Comment": config["comment"].as_str().unwrap_or_default(),
            "Created": config["created"],
            "Config": config["config"],
            "Version": config["docker_version"].as_str().unwrap_or_default(),
            "Author": config["author"].as_str().unwrap_or_default(),
            "Architecture": config["architecture"],
            "Os": config["os"],
            "Variant": config["variant"],
            "Size": r.size,
            "VirtualSize": r.size,
            "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": lower_dirs.join(":")}},
            "RootFS": {"Type": "layers", "Layers": r.layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>()},
            "Labels": config["config"]["Labels"],
            "Annotations": annotations,
            "ManifestType": r.manifest_media_type,
            "User": config["config"]["User"].as_str().unwrap_or_default(),
            "History": config["history"],
            "NamesHistory": r.names,
        }))
    }

    /// Adds names to an image; short names become `localhost/NAME:TAG`, as in podman.
    pub fn tag(&self, image: &str, names: &[String]) -> Result<()> {
        let record = self.lookup(image)?;
        for name in names {
            let full = local_name(name)?;
            self.store.add_name(&record.id.to_string(), &full)?;
        }
        Ok(())
    }

    /// Removes the given names from an image, or all of its names when `names` is empty.
    pub fn untag(&self, image: &str, names: &[String]) -> Result<()> {
        let record = self.lookup(image)?;
        let targets: Vec<String> = if names.is_empty() {
            record.names.clone()
        } else {
            names
                .iter()
                .map(|n| {
                    matching_name(&record, n).ok_or_else(|| EngineError::ImageNotFound(n.clone()))
                })
                .collect::<Result<_>>()?
        };
        for n in targets {
            self.store.remove_name(&n)?;
        }
        Ok(())
    }

    /// `rmi`: by name, removes that name and deletes the image once it has
    /// none left; by ID, deletes the image (with several names only with `force`).
    pub fn remove_image(&self, name: &str, force: bool) -> Result<RemoveReport> {
        let record = self.lookup(name)?;
        let mut report = RemoveReport::default();
        let by_name = matching_name(&record, name);
        match by_name {
            Some(n) if record.names.len() > 1 && !force => {
                self.store.remove_name(&n)?;
                report.untagged.push(n);
                return Ok(report);
            }
            None if record.names.len() > 1 && !force => {
                return Err(EngineError::ImageHasNames {
                    image: record.id.hex()[..12].to_string(),
                    count: record.names.len(),
                });
            }
            _ => {}
        }
        // Removing the image would garbage-collect the layers a container's
        // root filesystem is made of, even with --force (podman's -f removes
        // those containers too; hoist asks for that to be done explicitly).
        let users = self.image_users(&record.id)?;
        if !users.is_empty() {
            return Err(EngineError::Invalid(format!(
                "image {} is in use by container(s) {}: remove them first (hoist rm -f {})",
                &record.id.hex()[..12],
                users
                    .iter()
                    .map(|u| &u[..u.len().min(12)])
                    .collect::<Vec<_>>()
                    .join(", "),
                users
                    .iter()
                    .map(|u| &u[..u.len().min(12)])
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        report.untagged.extend(record.names.iter().cloned());
        self.store.remove_image(&record.id)?;
        report.deleted.push(record.id.clone());
        self.store.garbage_collect()?;
        Ok(report)
    }

    /// Removes dangling images (no names), or with `all` every image.
    /// Returns the IDs removed.
    pub fn prune_images(&self, all: bool) -> Result<Vec<Digest>> {
        let mut removed = Vec::new();
        for r in self.store.images()? {
            if (all || r.names.is_empty()) && self.image_users(&r.id)?.is_empty() {
                self.store.remove_image(&r.id)?;
                removed.push(r.id);
            }
        }
        self.store.garbage_collect()?;
        Ok(removed)
    }
}

fn repo_digests(r: &ImageRecord) -> Vec<String> {
    let mut repos: Vec<String> = r.repositories.clone();
    for n in &r.names {
        if let Ok(reference) = Reference::parse(n) {
            if !repos.contains(&reference.name()) {
                repos.push(reference.name());
            }
        }
    }
    repos
        .iter()
        .map(|repo| format!("{repo}@{}", r.manifest_digest))
        .collect()
}

/// The full local name for `name`: qualified names normalized, short names under `localhost/`.
pub(crate) fn local_name(name: &str) -> Result<String> {
    let parsed = parse_name(name)?;
    if parsed.digest.is_some() {
        return Err(EngineError::Invalid(format!(
            "{name}: a tag cannot contain a digest; name the image NAME[:TAG]"
        )));
    }
    Ok(if parsed.is_qualified() {
        Reference::parse(name)?.to_string()
    } else {
        parsed.on_registry("localhost").to_string()
    })
}

/// Which of the record's names `name` denotes, if any.
fn matching_name(record: &ImageRecord, name: &str) -> Option<String> {
    if record.names.iter().any(|n| n == name) {
        return Some(name.to_string());
    }
    let parsed = parse_name(name).ok()?;
    let mut candidates = vec![];
    if parsed.is_qualified() {
        candidates.push(Reference::parse(name).ok()?.to_string());
    } else {
        candidates.push(parsed.on_registry("localhost").to_string());
        candidates.push(parsed.on_registry("docker.io").to_string());
        for n in &record.names {
            if let Ok(r) = Reference::parse(n) {
                candidates.push(parsed.on_registry(&r.registry).to_string());
            }
        }
    }
    candidates.into_iter().find(|c| record.names.contains(c))
}

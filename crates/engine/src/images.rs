//! Local image management: list, inspect, tag, untag, remove, prune.

use std::collections::BTreeMap;

use hoist_image::reference::parse_name;
use hoist_image::{Digest, Reference};
use hoist_store::ImageRecord;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{EngineError, Result};
use crate::{ContainerUsage, Engine};

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

    fn config_json(&self, record: &ImageRecord) -> Result<ConfigView> {
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
        let created_at = config.created.clone().unwrap_or_else(|| r.created.clone());
        let created = chrono::DateTime::parse_from_rfc3339(&created_at)
            .map(|t| t.timestamp())
            .unwrap_or(0);
        let labels = config.run().labels;
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
        let annotations = serde_json::from_slice::<ManifestView>(&manifest)
            .ok()
            .and_then(|m| m.annotations);
        let run = config.run();
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
            "Comment": config.comment.unwrap_or_default(),
            "Created": config.created,
            "Config": config.config,
            "Version": config.docker_version.unwrap_or_default(),
            "Author": config.author.unwrap_or_default(),
            "Architecture": config.architecture,
            "Os": config.os,
            "Variant": config.variant,
            "Size": r.size,
            "VirtualSize": r.size,
            "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": lower_dirs.join(":")}},
            "RootFS": {"Type": "layers", "Layers": r.layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>()},
            "Labels": run.labels,
            "Annotations": annotations,
            "ManifestType": r.manifest_media_type,
            "User": run.user.unwrap_or_default(),
            "History": config.history,
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
    pub fn remove_image(
        &self,
        name: &str,
        force: bool,
        usage: &dyn ContainerUsage,
    ) -> Result<RemoveReport> {
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
        let users = self.image_users(&record.id, usage)?;
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
    pub fn prune_images(&self, all: bool, usage: &dyn ContainerUsage) -> Result<Vec<Digest>> {
        let mut removed = Vec::new();
        for r in self.store.images()? {
            if (all || r.names.is_empty()) && self.image_users(&r.id, usage)?.is_empty() {
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

/// What `images` and `image inspect` show of an image config. The config
/// came from outside, so it is read into this type, never indexed; a field
/// of an unexpected type shows as absent rather than failing the listing.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ConfigView {
    #[serde(default, deserialize_with = "lenient")]
    created: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    comment: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    docker_version: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    author: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    architecture: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    os: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    variant: Option<String>,
    /// Shown as it is (`Config` of inspect).
    #[serde(default, deserialize_with = "lenient")]
    config: Option<serde_json::Map<String, Value>>,
    /// Shown as it is (`History` of inspect).
    #[serde(default, deserialize_with = "lenient")]
    history: Option<Vec<Value>>,
}

/// The fields of the run config (`config` of an image config) shown apart.
#[derive(Debug, Default, serde::Deserialize)]
struct RunConfigView {
    #[serde(rename = "Labels", default, deserialize_with = "lenient")]
    labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "User", default, deserialize_with = "lenient")]
    user: Option<String>,
}

impl ConfigView {
    fn run(&self) -> RunConfigView {
        self.config
            .as_ref()
            .and_then(|c| serde_json::from_value(Value::Object(c.clone())).ok())
            .unwrap_or_default()
    }
}

/// The manifest annotations `image inspect` shows.
#[derive(serde::Deserialize)]
struct ManifestView {
    #[serde(default, deserialize_with = "lenient")]
    annotations: Option<BTreeMap<String, String>>,
}

/// A field that reads as `None` when it has another type than expected.
fn lenient<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = <Value as serde::Deserialize>::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_fields_of_the_wrong_type_read_as_absent() {
        let c: ConfigView = serde_json::from_str(
            r#"{"created":5,"os":"linux","architecture":["amd64"],"author":"me",
                "config":{"Labels":{"a":"b"},"User":7,"Env":["X=1"]},"history":{"not":"a list"}}"#,
        )
        .unwrap();
        assert_eq!(c.created, None);
        assert_eq!(c.os.as_deref(), Some("linux"));
        assert_eq!(c.architecture, None);
        assert_eq!(c.author.as_deref(), Some("me"));
        assert!(c.history.is_none());
        let run = c.run();
        assert_eq!(run.labels.unwrap()["a"], "b");
        assert_eq!(run.user, None);
        // The run config is shown whole, unknown fields included.
        assert_eq!(c.config.unwrap()["Env"], serde_json::json!(["X=1"]));
        // Labels that are not strings do not fail the rest.
        let c: ConfigView =
            serde_json::from_str(r#"{"config":{"Labels":[1],"User":"u"}}"#).unwrap();
        assert!(c.run().labels.is_none());
        assert_eq!(c.run().user.as_deref(), Some("u"));
    }
}

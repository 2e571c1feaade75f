//! Local image management: list, inspect, tag, untag, remove, prune.

use std::collections::BTreeMap;

use hoist_events::Status;
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
    /// Every name the image has had (podman's `History` column).
    pub history: Vec<String>,
    /// Read-only image (never, in hoist's store; podman's field).
    pub read_only: bool,
    /// Creation time with sub-second precision, for ordering.
    #[serde(skip)]
    pub created_nanos: i128,
    /// Unnamed, with images made on top of it (a build's earlier steps):
    /// `images` lists it only with `--all`.
    #[serde(skip)]
    pub intermediate: bool,
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

/// One `images --filter KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageFilter {
    /// `before=IMAGE`: created before that image.
    Before(String),
    /// `after=IMAGE` or `since=IMAGE`: created after that image.
    After(String),
    /// `dangling=true|false`: without names and without children, or not.
    Dangling(bool),
    /// `label=KEY` or `label=KEY=VALUE`.
    Label(String, Option<String>),
    /// `label!=KEY` or `label!=KEY=VALUE`: the label is absent, or has
    /// another value.
    NotLabel(String, Option<String>),
    /// `until=TIME`: created before this many nanoseconds since the epoch
    /// (the front end reads podman's time forms into it).
    Until(i128),
    /// `reference=NAME`: a name matches (`*` as a wildcard).
    Reference(String),
    /// `id=PREFIX`.
    Id(String),
    /// `readonly=true|false`.
    ReadOnly(bool),
}

impl std::str::FromStr for ImageFilter {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<ImageFilter> {
        let (key, value) = s.split_once('=').ok_or_else(|| {
            EngineError::Invalid(format!("invalid image filter {s:?}: use KEY=VALUE"))
        })?;
        let boolean = |v: &str| match v {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(EngineError::Invalid(format!(
                "invalid filter {s:?}: {key} is true or false"
            ))),
        };
        Ok(match key {
            "before" => ImageFilter::Before(value.to_string()),
            "after" | "since" => ImageFilter::After(value.to_string()),
            "dangling" => ImageFilter::Dangling(boolean(value)?),
            "readonly" => ImageFilter::ReadOnly(boolean(value)?),
            "label" => match value.split_once('=') {
                Some((k, v)) => ImageFilter::Label(k.to_string(), Some(v.to_string())),
                None => ImageFilter::Label(value.to_string(), None),
            },
            "label!" => match value.split_once('=') {
                Some((k, v)) => ImageFilter::NotLabel(k.to_string(), Some(v.to_string())),
                None => ImageFilter::NotLabel(value.to_string(), None),
            },
            "reference" => ImageFilter::Reference(value.to_string()),
            "id" => ImageFilter::Id(value.trim_start_matches("sha256:").to_string()),
            _ => {
                return Err(EngineError::Invalid(format!(
                    "invalid image filter {key:?}: use before, after, since, dangling, label, label!, reference, id or readonly"
                )))
            }
        })
    }
}

/// Whether image `i` has label `key` (with value `want`, when given).
fn has_label(i: &ImageSummary, key: &str, want: Option<&str>) -> bool {
    i.labels
        .as_ref()
        .and_then(|l| l.get(key))
        .is_some_and(|have| want.is_none_or(|want| want == have))
}

/// One step of an image's history (`history`), newest first; serialized
/// with podman's JSON keys.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The image ID for the newest step, `<missing>` for the others (as podman).
    pub id: String,
    /// RFC 3339, empty when the config does not say.
    pub created: String,
    pub created_by: String,
    /// Bytes of the layer the step made (0 for an empty layer).
    pub size: u64,
    pub comment: String,
    /// The image's names, on the newest step.
    pub tags: Vec<String>,
}

/// One layer of an image, bottom first (`image tree`).
#[derive(Debug, Clone, Serialize)]
pub struct TreeLayer {
    /// The layer's chain ID (hex): its identity with the layers below it.
    pub id: String,
    /// Bytes of the unpacked layer.
    pub size: u64,
    /// Names of the images whose top layer this is.
    pub top_of: Vec<String>,
}

/// What `rmi` did.
#[derive(Debug, Default)]
pub struct RemoveReport {
    pub untagged: Vec<String>,
    pub deleted: Vec<Digest>,
}

impl Engine {
    pub fn list_images(&self) -> Result<Vec<ImageSummary>> {
        let records = self.store.images()?;
        let family = Family::of(&records);
        let mut images: Vec<ImageSummary> = records
            .iter()
            .map(|r| self.summary(r, &family))
            .collect::<Result<_>>()?;
        images.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(images)
    }

    /// The images every filter lets through (newest first). Reference
    /// filters also narrow `repo_tags` to the names they match.
    pub fn list_images_filtered(&self, filters: &[ImageFilter]) -> Result<Vec<ImageSummary>> {
        let mut images = self.list_images()?;
        for f in filters {
            let pivot = match f {
                ImageFilter::Before(n) | ImageFilter::After(n) => {
                    let id = self.lookup(n)?.id.hex().to_string();
                    images
                        .iter()
                        .find(|i| i.id == id)
                        .map_or(0, |i| i.created_nanos)
                }
                _ => 0,
            };
            images.retain_mut(|i| match f {
                ImageFilter::Before(_) => i.created_nanos < pivot,
                ImageFilter::After(_) => i.created_nanos > pivot,
                ImageFilter::Dangling(d) => i.dangling == *d,
                ImageFilter::ReadOnly(r) => i.read_only == *r,
                ImageFilter::Label(k, v) => has_label(i, k, v.as_deref()),
                ImageFilter::NotLabel(k, v) => !has_label(i, k, v.as_deref()),
                ImageFilter::Until(nanos) => i.created_nanos < *nanos,
                ImageFilter::Id(prefix) => i.id.starts_with(prefix.as_str()),
                ImageFilter::Reference(pattern) => {
                    i.repo_tags.retain(|n| reference_matches(n, pattern));
                    !i.repo_tags.is_empty()
                }
            });
        }
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

    fn summary(&self, r: &ImageRecord, family: &Family) -> Result<ImageSummary> {
        let config = self.config_json(r)?;
        let created_at = config.created.clone().unwrap_or_else(|| r.created.clone());
        let parsed = chrono::DateTime::parse_from_rfc3339(&created_at).ok();
        let created = parsed.map_or(0, |t| t.timestamp());
        let created_nanos = parsed.map_or(0, |t| {
            i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
        });
        let labels = config.run().labels;
        Ok(ImageSummary {
            id: r.id.hex().to_string(),
            parent_id: family.parent(r).unwrap_or_default().to_string(),
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
            created_nanos,
            created_at,
            dangling: r.names.is_empty() && !family.has_children(r),
            intermediate: r.names.is_empty() && family.has_children(r),
            // Records from before names were tracked know only the current ones.
            history: if r.names_history.is_empty() {
                r.names.clone()
            } else {
                r.names_history.clone()
            },
            read_only: false,
        })
    }

    /// The annotations of image `r`'s manifest; `None` when it has none,
    /// or has them in another shape than expected (they only inform).
    pub(crate) fn manifest_annotations(
        &self,
        r: &ImageRecord,
    ) -> Result<Option<BTreeMap<String, String>>> {
        let manifest = self
            .store
            .read_blob(&r.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        Ok(serde_json::from_slice::<ManifestView>(&manifest)
            .ok()
            .and_then(|m| m.annotations))
    }

    /// podman's `image inspect` document for `name`.
    pub fn inspect_image(&self, name: &str) -> Result<Value> {
        let r = self.lookup(name)?;
        let records = self.store.images()?;
        let parent = Family::of(&records)
            .parent(&r)
            .unwrap_or_default()
            .to_string();
        let config = self.config_json(&r)?;
        let annotations = self.manifest_annotations(&r)?;
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
            "Parent": parent,
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

    /// The image's history, newest step first, with each layer's size.
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let r = self.lookup(name)?;
        let config = self.config_json(&r)?;
        let steps = config.history.unwrap_or_default();
        let mut layers = r.layers.iter();
        let mut out = Vec::with_capacity(steps.len());
        for step in &steps {
            let text = |k: &str| {
                step.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let empty = step
                .get("empty_layer")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let layer = if empty { None } else { layers.next() };
            let size = layer.map_or(0, |l| {
                self.store
                    .layer_info(&l.diff_id)
                    .map_or(l.size, |i| i.uncompressed_size)
            });
            out.push(HistoryEntry {
                id: "<missing>".into(),
                created: text("created"),
                created_by: text("created_by"),
                size,
                comment: text("comment"),
                tags: vec![],
            });
        }
        if out.is_empty() {
            out.push(HistoryEntry {
                id: String::new(),
                created: r.created.clone(),
                created_by: String::new(),
                size: r.size,
                comment: String::new(),
                tags: vec![],
            });
        }
        out.reverse();
        out[0].id = r.id.hex().to_string();
        out[0].tags = r
            .names
            .iter()
            .filter(|n| !n.contains('@'))
            .cloned()
            .collect();
        Ok(out)
    }

    /// The image's layers, bottom first, for `image tree`.
    pub fn image_layers(&self, name: &str) -> Result<(ImageSummary, Vec<TreeLayer>)> {
        let r = self.lookup(name)?;
        let images = self.store.images()?;
        let summary = self.summary(&r, &Family::of(&images))?;
        // The chain of each image's top layer, to say whose top a layer is.
        let chain_of = |layers: &[hoist_store::LayerRef]| {
            let mut chain: Option<Digest> = None;
            let mut ids = Vec::with_capacity(layers.len());
            for l in layers {
                let next = match &chain {
                    None => l.diff_id.clone(),
                    Some(c) => Digest::sha256_of(format!("{c} {}", l.diff_id).as_bytes()),
                };
                ids.push(next.clone());
                chain = Some(next);
            }
            ids
        };
        let tops: Vec<(Digest, Vec<String>)> = images
            .iter()
            .filter_map(|i| Some((chain_of(&i.layers).pop()?, i.names.clone())))
            .collect();
        let mut out = Vec::new();
        for (l, chain) in r.layers.iter().zip(chain_of(&r.layers)) {
            let size = self
                .store
                .layer_info(&l.diff_id)
                .map_or(l.size, |i| i.uncompressed_size);
            let top_of = tops
                .iter()
                .filter(|(t, _)| *t == chain)
                .flat_map(|(_, names)| names.iter().cloned())
                .collect();
            out.push(TreeLayer {
                id: chain.hex().to_string(),
                size,
                top_of,
            });
        }
        Ok((summary, out))
    }

    /// Adds names to an image; short names become `localhost/NAME:TAG`, as in podman.
    pub fn tag(&self, image: &str, names: &[String]) -> Result<()> {
        let record = self.lookup(image)?;
        for name in names {
            let full = local_name(name)?;
            self.store.add_name(&record.id.to_string(), &full)?;
            image_event(Status::Tag, &record.id, name);
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
                    matching_name(&record, n).ok_or_else(|| EngineError::TagNotFound(n.clone()))
                })
                .collect::<Result<_>>()?
        };
        for n in targets {
            self.store.remove_name(&n)?;
            image_event(Status::Untag, &record.id, &n);
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
        self.remove_image_pruning(name, force, true, usage)
    }

    /// [`Engine::remove_image`]; with `prune_parents`, also the unnamed
    /// images it was made on (a build's earlier steps) that nothing else
    /// needs any more: no names, no other children, no containers.
    pub fn remove_image_pruning(
        &self,
        name: &str,
        force: bool,
        prune_parents: bool,
        usage: &dyn ContainerUsage,
    ) -> Result<RemoveReport> {
        let record = self.lookup(name)?;
        let mut report = RemoveReport::default();
        let by_name = matching_name(&record, name);
        match by_name {
            // A name of an image that has others: only that name goes,
            // with or without --force (podman's rmi).
            Some(n) if record.names.len() > 1 => {
                self.store.remove_name(&n)?;
                // podman's rmi records a remove even when only a name goes.
                image_event(Status::Untag, &record.id, &n);
                image_event(Status::Remove, &record.id, &n);
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
        // root filesystem is made of: the caller removes those containers
        // first (`rmi --force`) or gives up.
        let users = self.image_users(&record.id, usage)?;
        if let Some(first) = users.first() {
            return Err(EngineError::ImageInUse {
                container: first.clone(),
                containers: users,
            });
        }
        // A digest reference is not a tag: podman untags only the tags.
        report
            .untagged
            .extend(record.names.iter().filter(|n| !n.contains('@')).cloned());
        self.store.remove_image(&record.id)?;
        for n in &record.names {
            image_event(Status::Untag, &record.id, n);
        }
        image_event(
            Status::Remove,
            &record.id,
            by_name.as_deref().unwrap_or(name),
        );
        report.deleted.push(record.id.clone());
        if prune_parents {
            self.prune_parents(record.parent.clone(), usage, &mut report)?;
        }
        self.store.garbage_collect()?;
        Ok(report)
    }

    /// Removes `parent` and its own parents in turn while each is unnamed,
    /// childless and unused, as podman's `rmi` does.
    fn prune_parents(
        &self,
        mut parent: Option<Digest>,
        usage: &dyn ContainerUsage,
        report: &mut RemoveReport,
    ) -> Result<()> {
        // One read of the records, kept current as the walk removes.
        let mut images = self.store.images()?;
        while let Some(id) = parent.take() {
            let Some(record) = images.iter().find(|i| i.id == id) else {
                break;
            };
            let has_children = Family::of(&images).has_children(record);
            if !record.names.is_empty() || has_children || !self.image_users(&id, usage)?.is_empty()
            {
                break;
            }
            parent = record.parent.clone();
            self.store.remove_image(&id)?;
            image_event(Status::Remove, &id, id.hex());
            images.retain(|i| i.id != id);
            report.deleted.push(id);
        }
        Ok(())
    }

    /// Removes dangling images (no names, no children), and then those
    /// that left dangling; with `all` every image no container uses.
    /// Returns the IDs removed.
    pub fn prune_images(&self, all: bool, usage: &dyn ContainerUsage) -> Result<Vec<Digest>> {
        self.prune_images_except(all, usage, &Default::default())
    }

    /// [`Engine::prune_images`], leaving alone the images whose ID hex is
    /// in `keep` (those a `--filter` did not select).
    pub fn prune_images_except(
        &self,
        all: bool,
        usage: &dyn ContainerUsage,
        keep: &std::collections::HashSet<String>,
    ) -> Result<Vec<Digest>> {
        let mut removed = Vec::new();
        // Removing an image can leave its parent dangling: go round again
        // until a round removes nothing.
        loop {
            let images = self.store.images()?;
            let family = Family::of(&images);
            let before = removed.len();
            for r in &images {
                let dangling = r.names.is_empty() && !family.has_children(r);
                if keep.contains(r.id.hex())
                    || !(all || dangling)
                    || !self.image_users(&r.id, usage)?.is_empty()
                {
                    continue;
                }
                self.store.remove_image(&r.id)?;
                for n in &r.names {
                    image_event(Status::Untag, &r.id, n);
                }
                image_event(Status::Remove, &r.id, r.id.hex());
                removed.push(r.id.clone());
            }
            if removed.len() == before {
                break;
            }
        }
        self.store.garbage_collect()?;
        Ok(removed)
    }
}

/// Which images were made on top of which, among those the store holds.
struct Family<'a> {
    ids: std::collections::HashSet<&'a str>,
    parents: std::collections::HashSet<&'a str>,
}

impl<'a> Family<'a> {
    fn of(records: &'a [ImageRecord]) -> Family<'a> {
        Family {
            ids: records.iter().map(|r| r.id.hex()).collect(),
            parents: records
                .iter()
                .filter_map(|r| r.parent.as_ref().map(Digest::hex))
                .collect(),
        }
    }

    /// The ID of `r`'s parent, while that is still stored.
    fn parent(&self, r: &ImageRecord) -> Option<&'a str> {
        let parent = r.parent.as_ref()?.hex();
        self.ids.get(parent).copied()
    }

    fn has_children(&self, r: &ImageRecord) -> bool {
        self.parents.contains(r.id.hex())
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
pub fn local_name(name: &str) -> Result<String> {
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

/// Whether `name` (a full reference) answers to `pattern`: the whole name,
/// its repository, or its last path component(s), with `*` matching any run
/// of characters, as podman's reference filter.
pub(crate) fn reference_matches(name: &str, pattern: &str) -> bool {
    let pattern = pattern.strip_prefix("docker.io/").unwrap_or(pattern);
    let (repo, tag) = match name.rfind(':') {
        Some(i) if !name[i + 1..].contains('/') => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    };
    let (want_repo, want_tag) = match pattern.rfind(':') {
        Some(i) if !pattern[i + 1..].contains('/') => (&pattern[..i], Some(&pattern[i + 1..])),
        _ => (pattern, None),
    };
    if let (Some(want), Some(have)) = (want_tag, tag) {
        if !glob(want, have) {
            return false;
        }
    }
    let parts: Vec<&str> = repo.split('/').collect();
    (0..parts.len()).any(|start| glob(want_repo, &parts[start..].join("/")))
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
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

/// Records an event about image `id` (podman's image events carry the
/// name or place the action concerned).
pub(crate) fn image_event(status: hoist_events::Status, id: &Digest, name: &str) {
    hoist_events::emit(hoist_events::Event::image(status, id.hex(), name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_filters_match_names_repositories_and_globs() {
        let name = "quay.io/libpod/testimage:20220615";
        for yes in [
            name,
            "testimage",
            "libpod/testimage",
            "testimage:20220615",
            "test*",
            "quay.io/libpod/*:2022*",
        ] {
            assert!(reference_matches(name, yes), "{yes}");
        }
        for no in ["image", "testimage:latest", "other/testimage", "*:1"] {
            assert!(!reference_matches(name, no), "{no}");
        }
        assert!(reference_matches(
            "docker.io/library/alpine:3",
            "docker.io/library/alpine"
        ));
    }

    #[test]
    fn image_filters_parse_podmans_keys() {
        let f = |s: &str| s.parse::<ImageFilter>();
        assert_eq!(f("since=abc").unwrap(), ImageFilter::After("abc".into()));
        assert_eq!(f("dangling=true").unwrap(), ImageFilter::Dangling(true));
        assert_eq!(
            f("label=a=b").unwrap(),
            ImageFilter::Label("a".into(), Some("b".into()))
        );
        assert!(f("dangling=maybe").is_err());
        assert!(f("colour=red").is_err());
        assert!(f("before").is_err());
    }

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

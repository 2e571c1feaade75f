//! Image records in `images.json`: read under the shared store lock,
//! rewritten atomically under the exclusive one.

use hoist_image::Digest;
use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result, StoreError};
use crate::Store;

/// The current time as RFC 3339 in UTC, as records store it.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// The (usually compressed) blob the manifest lists.
    pub blob: Digest,
    /// The uncompressed layer: the name of its directory in `layers/`.
    pub diff_id: Digest,
    /// The blob's media type as the manifest lists it.
    pub media_type: String,
    /// The blob's size in bytes, as the manifest lists it.
    pub size: u64,
    /// Set when the layer was pulled lazily: only its table of contents is
    /// stored (see [`Store::put_lazy_toc`]) until the whole blob arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lazy: Option<LazyLayer>,
}

/// What the store knows of a lazily pulled layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LazyLayer {
    /// Digest of the layer's table of contents (eStargz `stargz.index.json`).
    pub toc_digest: Digest,
    /// Size of the uncompressed layer as the manifest annotates it.
    pub uncompressed_size: u64,
    /// Where the TOC begins in the blob (read from the blob's footer).
    pub toc_offset: u64,
    /// `registry/repository` the rest of the blob is fetched from.
    pub source: String,
    /// The registry's base URL as the pull found it (`https://host/` or,
    /// for an insecure registry, `http://host/`), so later fetches need not
    /// probe it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The blob bytes holding the files the image marks for prefetching
    /// (eStargz's prioritized files), as the TOC says: a container's lazy
    /// server can ask for them before it has read the TOC again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefetch: Option<std::ops::Range<u64>>,
}

/// An image the store holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The image ID: the digest of its config blob, like podman's.
    pub id: Digest,
    /// The image manifest (not an index) in use.
    pub manifest_digest: Digest,
    pub manifest_media_type: String,
    /// Full references, e.g. `docker.io/library/busybox:latest`. A name is
    /// on at most one image; an image may have none (dangling).
    #[serde(default)]
    pub names: Vec<String>,
    pub layers: Vec<LayerRef>,
    pub config_digest: Digest,
    /// `created` of the image config (RFC 3339), empty if it has none.
    #[serde(default)]
    pub created: String,
    /// When the store first recorded this image (RFC 3339, UTC).
    #[serde(default)]
    pub stored_at: String,
    /// Sum of the uncompressed layer sizes (`LayerInfo::uncompressed_size`),
    /// which is what `hoist images` shows; see [`Store::image_size`].
    #[serde(default)]
    pub size: u64,
    /// `os/arch[/variant]` of the image.
    #[serde(default)]
    pub platform: String,
    /// Every manifest digest the image was known by: the image manifest and
    /// e.g. the index it was pulled through. Their blobs are kept if stored.
    #[serde(default)]
    pub digests: Vec<Digest>,
    /// Repositories (`registry/path`) the image was pulled from, kept after
    /// its names are gone: they give `RepoDigests` and the sources a push
    /// can mount blobs from.
    #[serde(default)]
    pub repositories: Vec<String>,
    /// Every name the image has had, the current ones first, then the
    /// others most recent first (podman's `NamesHistory`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names_history: Vec<String>,
    /// The image this one was made on top of (a build step's or a commit's
    /// base): `rmi` prunes the unnamed ones a removed image leaves behind,
    /// and `images` hides those that still have children.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
}

impl ImageRecord {
    /// Puts the current names at the front of the names history, as
    /// podman does whenever an image's names change.
    pub(crate) fn note_names(&mut self) {
        let mut history = self.names.clone();
        history.append(&mut self.names_history);
        dedup(&mut history);
        self.names_history = history;
    }

    /// Whether `digest` is one of this image's manifest digests or its ID.
    pub fn has_digest(&self, digest: &Digest) -> bool {
        &self.id == digest || &self.manifest_digest == digest || self.digests.contains(digest)
    }

    /// Every blob this image needs kept.
    pub(crate) fn referenced_blobs(&self) -> impl Iterator<Item = &Digest> {
        [&self.id, &self.config_digest, &self.manifest_digest]
            .into_iter()
            .chain(self.digests.iter())
            .chain(self.layers.iter().map(|l| &l.blob))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ImagesFile {
    pub(crate) version: u32,
    pub(crate) images: Vec<ImageRecord>,
}

const VERSION: u32 = 1;

impl Store {
    /// Reads `images.json`; the caller holds a store lock.
    pub(crate) fn load_images(&self) -> Result<ImagesFile> {
        let path = self.layout().images_json();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ImagesFile {
                    version: VERSION,
                    images: Vec::new(),
                })
            }
            Err(e) => return Err(e).ctx("reading", path),
        };
        serde_json::from_slice(&bytes).map_err(|source| StoreError::Metadata { path, source })
    }

    /// Replaces `images.json`; the caller holds the exclusive store lock.
    fn save_images(&self, file: &ImagesFile) -> Result<()> {
        let path = self.layout().images_json();
        let bytes = serde_json::to_vec_pretty(file).map_err(|source| StoreError::Metadata {
            path: path.clone(),
            source,
        })?;
        Ok(hoist_fsutil::write_file(&path, &bytes, 0o644)?)
    }

    /// Runs `f` on the records under the exclusive lock and saves them if it succeeds.
    fn modify_images<T>(
        &self,
        f: impl FnOnce(&Store, &mut Vec<ImageRecord>) -> Result<T>,
    ) -> Result<T> {
        let _guard = self.exclusive_lock()?;
        let mut file = self.load_images()?;
        let out = f(self, &mut file.images)?;
        file.version = VERSION;
        self.save_images(&file)?;
        Ok(out)
    }

    /// Stores an image record, or merges it into the record with the same ID
    /// (names and digests are added, the other fields replaced,
    /// `stored_at` kept). Each of its names is taken from any other image
    /// that has it, as podman does. The config, manifest and layer
    /// directories must be stored already. Returns the stored record.
    pub fn put_image(&self, record: ImageRecord) -> Result<ImageRecord> {
        for name in &record.names {
            validate_name(name)?;
        }
        self.modify_images(|store, images| {
            store.check_content(&record)?;
            let mut record = record;
            dedup(&mut record.names);
            if !record.digests.contains(&record.manifest_digest) {
                record.digests.insert(0, record.manifest_digest.clone());
            }
            dedup(&mut record.digests);
            if record.stored_at.is_empty() {
                record.stored_at = now_rfc3339();
            }
            if let Some(old) = images.iter().position(|i| i.id == record.id) {
                let old = images.remove(old);
                let mut names = old.names;
                names.extend(record.names);
                let mut digests = old.digests;
                digests.extend(record.digests);
                let mut repositories = old.repositories;
                repositories.extend(record.repositories);
                dedup(&mut names);
                dedup(&mut digests);
                dedup(&mut repositories);
                record.names = names;
                record.digests = digests;
                record.repositories = repositories;
                record.stored_at = old.stored_at;
                record.names_history = old.names_history;
                record.parent = record.parent.or(old.parent);
            }
            record.note_names();
            for other in images.iter_mut() {
                other.names.retain(|n| !record.names.contains(n));
            }
            images.push(record.clone());
            Ok(record)
        })
    }

    /// The blobs and layers a record points at must exist (checked under the
    /// exclusive lock, so garbage collection cannot race it).
    fn check_content(&self, r: &ImageRecord) -> Result<()> {
        let missing = |what, digest: &Digest| StoreError::MissingContent {
            image: r.id.clone(),
            what,
            digest: digest.clone(),
        };
        if !self.has_blob(&r.config_digest) {
            return Err(missing("config blob", &r.config_digest));
        }
        if !self.has_blob(&r.manifest_digest) {
            return Err(missing("manifest blob", &r.manifest_digest));
        }
        for l in &r.layers {
            if !self.has_layer(&l.diff_id) && !self.has_lazy_toc(l) {
                return Err(missing("unpacked layer", &l.diff_id));
            }
        }
        Ok(())
    }

    /// All image records, oldest first.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        let _guard = self.shared_lock()?;
        Ok(self.load_images()?.images)
    }

    /// The image `query` names: a full name, the ID (`sha256:…` or hex), a
    /// unique ID prefix of at least 3 hex digits, a manifest digest the image
    /// was known by, or `repository@digest`.
    pub fn find_image(&self, query: &str) -> Result<ImageRecord> {
        let images = self.images()?;
        find_in(&images, query).cloned()
    }

    /// Adds `name` to the image `query` names, taking it from any other image.
    pub fn add_name(&self, query: &str, name: &str) -> Result<ImageRecord> {
        validate_name(name)?;
        self.modify_images(|_, images| {
            let id = find_in(images, query)?.id.clone();
            for i in images.iter_mut() {
                i.names.retain(|n| n != name);
            }
            let target = images
                .iter_mut()
                .find(|i| i.id == id)
                .ok_or_else(|| StoreError::ImageNotFound(query.to_string()))?;
            target.names.push(name.to_string());
            target.note_names();
            Ok(target.clone())
        })
    }

    /// Removes `name` from the image that has it and returns that image
    /// (which stays stored, possibly without names).
    pub fn remove_name(&self, name: &str) -> Result<ImageRecord> {
        self.modify_images(|_, images| {
            let image = images
                .iter_mut()
                .find(|i| i.names.iter().any(|n| n == name))
                .ok_or_else(|| StoreError::ImageNotFound(name.to_string()))?;
            image.names.retain(|n| n != name);
            Ok(image.clone())
        })
    }

    /// Removes the record of image `id` and returns it. Its blobs and layers
    /// stay until [`Store::garbage_collect`].
    pub fn remove_image(&self, id: &Digest) -> Result<ImageRecord> {
        self.modify_images(|_, images| {
            let pos = images
                .iter()
                .position(|i| &i.id == id)
                .ok_or_else(|| StoreError::ImageNotFound(id.to_string()))?;
            Ok(images.remove(pos))
        })
    }

    /// The size `ImageRecord::size` documents: the sum of the uncompressed
    /// sizes of the (stored) layers.
    pub fn image_size(&self, layers: &[LayerRef]) -> Result<u64> {
        layers
            .iter()
            .map(|l| match (&l.lazy, self.has_layer(&l.diff_id)) {
                (Some(lazy), false) => Ok(lazy.uncompressed_size),
                _ => self.layer_info(&l.diff_id).map(|i| i.uncompressed_size),
            })
            .sum()
    }
}

fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(StoreError::InvalidName(name.to_string()));
    }
    Ok(())
}

/// Removes duplicates, keeping the first occurrence of each.
fn dedup<T: PartialEq + Clone>(v: &mut Vec<T>) {
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    for x in v.drain(..) {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    *v = out;
}

/// See [`Store::find_image`].
pub(crate) fn find_in<'a>(images: &'a [ImageRecord], query: &str) -> Result<&'a ImageRecord> {
    let not_found = || StoreError::ImageNotFound(query.to_string());
    if let Some(i) = images.iter().find(|i| i.names.iter().any(|n| n == query)) {
        return Ok(i);
    }
    if let Ok(d) = query.parse::<Digest>() {
        return unique(images.iter().filter(|i| i.has_digest(&d)), query)?.ok_or_else(not_found);
    }
    if let Some((repo, digest)) = query.rsplit_once('@') {
        let d: Digest = digest.parse().map_err(|_| not_found())?;
        let in_repo = |i: &&ImageRecord| {
            i.names.is_empty()
                || i.names.iter().any(|n| {
                    n.strip_prefix(repo)
                        .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('@'))
                })
        };
        return unique(
            images.iter().filter(|i| i.has_digest(&d)).filter(in_repo),
            query,
        )?
        .ok_or_else(not_found);
    }
    let hex = query.strip_prefix("sha256:").unwrap_or(query);
    if hex.len() >= 3
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return unique(images.iter().filter(|i| i.id.hex().starts_with(hex)), query)?
            .ok_or_else(not_found);
    }
    Err(not_found())
}

fn unique<'a>(
    mut it: impl Iterator<Item = &'a ImageRecord>,
    query: &str,
) -> Result<Option<&'a ImageRecord>> {
    let Some(first) = it.next() else {
        return Ok(None);
    };
    let rest: Vec<_> = it.filter(|i| i.id != first.id).collect();
    if rest.is_empty() {
        return Ok(Some(first));
    }
    Err(StoreError::AmbiguousImage {
        query: query.to_string(),
        candidates: std::iter::once(first)
            .chain(rest)
            .map(|i| i.id.short().to_string())
            .collect(),
    })
}

/// Used by `check` to name an image in messages.
pub(crate) fn describe(r: &ImageRecord) -> String {
    if r.names.is_empty() {
        r.id.short().to_string()
    } else {
        format!("{} ({})", r.id.short(), r.names.join(", "))
    }
}

#[cfg(test)]
mod tests;

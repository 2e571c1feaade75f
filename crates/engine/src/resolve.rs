//! Finding a local image from what a user typed: an ID or ID prefix, a full
//! name, a short name (tried as `localhost/NAME`, then on each
//! unqualified-search registry, then on Docker Hub, as podman does), or a
//! `NAME@DIGEST`.

use hoist_image::reference::parse_name;
use hoist_image::registries::RegistriesConf;
use hoist_image::{Digest, Reference};
use hoist_store::ImageRecord;

use crate::error::{EngineError, Result};
use crate::Engine;

impl Engine {
    /// The image `name` refers to, or [`EngineError::ImageNotFound`].
    pub(crate) fn lookup(&self, name: &str) -> Result<ImageRecord> {
        let images = self.store.images()?;
        // registries.conf (with its long shortnames.conf) is read only for a
        // short name that no image answers to directly: `run` with a full
        // name or an id starts without it.
        find_with(&images, name, local_search_registries)
            .cloned()
            .ok_or_else(|| EngineError::ImageNotFound(name.to_string()))
    }

    /// The ID of the image `name` refers to.
    pub fn image_id(&self, name: &str) -> Result<Digest> {
        Ok(self.lookup(name)?.id)
    }

    /// Whether a local image answers to `name`.
    pub fn image_exists(&self, name: &str) -> Result<bool> {
        match self.lookup(name) {
            Ok(_) => Ok(true),
            Err(EngineError::ImageNotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn local_search_registries() -> Vec<String> {
    RegistriesConf::load_default()
        .map(|c| c.unqualified_search)
        .unwrap_or_default()
}

/// The matching logic, separate from I/O so it can be tested.
#[cfg(test)]
pub(crate) fn find<'a>(
    images: &'a [ImageRecord],
    name: &str,
    search: &[String],
) -> Option<&'a ImageRecord> {
    find_with(images, name, || search.to_vec())
}

/// [`find`], asking for the unqualified-search registries only when a short
/// name needs them.
fn find_with<'a>(
    images: &'a [ImageRecord],
    name: &str,
    search: impl FnOnce() -> Vec<String>,
) -> Option<&'a ImageRecord> {
    if let Some(img) = find_by_id(images, name) {
        return Some(img);
    }
    if let Some(img) = images.iter().find(|i| i.names.iter().any(|n| n == name)) {
        return Some(img);
    }
    let parsed = parse_name(name).ok()?;
    let candidates: Vec<Reference> = if parsed.is_qualified() {
        vec![Reference::parse(name).ok()?]
    } else {
        let mut c = vec![parsed.on_registry("localhost")];
        c.extend(search().iter().map(|r| parsed.on_registry(r)));
        c.push(parsed.on_registry("docker.io"));
        c
    };
    candidates.iter().find_map(|r| find_by_reference(images, r))
}

fn find_by_id<'a>(images: &'a [ImageRecord], name: &str) -> Option<&'a ImageRecord> {
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    let looks_like_id =
        hex.len() >= 3 && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !looks_like_id {
        return None;
    }
    let mut matching = images.iter().filter(|i| i.id.hex().starts_with(hex));
    let first = matching.next()?;
    // An ambiguous prefix names nothing, as in podman.
    matching.next().is_none().then_some(first)
}

fn find_by_reference<'a>(images: &'a [ImageRecord], r: &Reference) -> Option<&'a ImageRecord> {
    match &r.digest {
        Some(d) => images.iter().find(|i| {
            has_digest(i, d)
                && i.repositories
                    .iter()
                    .chain(i.names.iter())
                    .any(|n| n.starts_with(&r.name()))
        }),
        None => {
            let full = r.to_string();
            images.iter().find(|i| i.names.contains(&full))
        }
    }
}

fn has_digest(i: &ImageRecord, d: &Digest) -> bool {
    i.manifest_digest == *d || i.digests.contains(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u8, names: &[&str]) -> ImageRecord {
        let d = Digest::sha256_of(&[n]);
        ImageRecord {
            id: d.clone(),
            manifest_digest: Digest::sha256_of(&[n, n]),
            manifest_media_type: String::new(),
            names: names.iter().map(|s| s.to_string()).collect(),
            layers: vec![],
            config_digest: d,
            created: String::new(),
            stored_at: String::new(),
            names_history: vec![],
            parent: None,
            size: 0,
            platform: String::new(),
            digests: vec![],
            repositories: names
                .iter()
                .map(|s| Reference::parse(s).unwrap().name())
                .collect(),
        }
    }

    #[test]
    fn finds_by_id_name_short_name_and_digest() {
        let images = vec![
            record(1, &["docker.io/library/busybox:latest"]),
            record(2, &["localhost/app:latest"]),
            record(3, &["127.0.0.1:5000/tool:1"]),
        ];
        let search = vec!["127.0.0.1:5000".to_string()];
        let f = |n: &str| find(&images, n, &search).map(|i| i.names[0].clone());
        assert_eq!(f("busybox").unwrap(), "docker.io/library/busybox:latest");
        assert_eq!(f("app").unwrap(), "localhost/app:latest");
        assert_eq!(f("tool:1").unwrap(), "127.0.0.1:5000/tool:1");
        assert!(f("tool").is_none(), "tool:latest does not exist");
        let id = images[1].id.hex()[..12].to_string();
        assert_eq!(f(&id).unwrap(), "localhost/app:latest");
        assert_eq!(
            f(&format!("sha256:{}", images[1].id.hex())).unwrap(),
            "localhost/app:latest"
        );
        let pinned = format!("busybox@{}", images[0].manifest_digest);
        assert_eq!(f(&pinned).unwrap(), "docker.io/library/busybox:latest");
        assert!(f("nothing").is_none());
    }

    #[test]
    fn search_registries_are_read_only_for_short_names() {
        let images = vec![record(1, &["127.0.0.1:5000/tool:1"])];
        let asked = std::cell::Cell::new(0);
        let search = || {
            asked.set(asked.get() + 1);
            vec!["127.0.0.1:5000".to_string()]
        };
        let id = images[0].id.hex()[..12].to_string();
        for full in [
            "127.0.0.1:5000/tool:1",
            id.as_str(),
            "127.0.0.1:5000/other:1",
        ] {
            find_with(&images, full, search);
        }
        assert_eq!(asked.get(), 0);
        assert!(find_with(&images, "tool:1", search).is_some());
        assert_eq!(asked.get(), 1);
    }
}

//! What the container layer needs from the image side: an image (pulled if
//! the pull policy says so) with its layer directories and config, and
//! which containers use an image (so `rmi` does not pull the layers out
//! from under them).
//!
//! The containers themselves are hoist-container's: the engine learns what
//! they use through [`ContainerUsage`], which that crate implements.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hoist_image::Digest;
use hoist_store::ImageRecord;

use crate::error::{EngineError, Result};
use crate::progress::Progress;
use crate::{Engine, PullOptions};

/// `--pull`: when `run`/`create` pull the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull only if no local image answers to the name (podman's default).
    #[default]
    Missing,
    Always,
    Never,
    /// Pull, but use the local image if the pull fails.
    Newer,
}

impl std::str::FromStr for PullPolicy {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<PullPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "missing" => Ok(PullPolicy::Missing),
            "always" | "true" => Ok(PullPolicy::Always),
            "never" | "false" => Ok(PullPolicy::Never),
            "newer" | "ifnewer" => Ok(PullPolicy::Newer),
            _ => Err(EngineError::Invalid(format!(
                "invalid pull policy {s:?}: use always, missing, never or newer"
            ))),
        }
    }
}

/// An image ready to run a container from.
#[derive(Debug, Clone)]
pub struct ContainerImage {
    pub record: ImageRecord,
    /// The image config blob as stored (OCI image configuration JSON).
    pub config: Vec<u8>,
    /// The unpacked layer directories, bottom layer first. A lazy layer's
    /// directory does not exist (yet): its entry in `lazy_layers` says how
    /// the container's monitor serves it instead.
    pub layer_dirs: Vec<PathBuf>,
    /// The layers still to be read on demand.
    pub lazy_layers: Vec<hoist_lazy::LazyLayerSpec>,
}

impl Engine {
    /// The image `name` for a new container, pulled first as `policy` says.
    pub fn image_for_container(
        &self,
        name: &str,
        policy: PullPolicy,
        opts: &PullOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<ContainerImage> {
        let pull = |e: &Engine| e.pull(name, opts, progress).map(|p| p.id);
        let record = match policy {
            PullPolicy::Always => {
                let id = pull(self)?;
                self.lookup(&id.to_string())?
            }
            PullPolicy::Newer => match pull(self) {
                Ok(id) => self.lookup(&id.to_string())?,
                Err(e) => match self.lookup(name) {
                    Ok(r) => r,
                    Err(_) => return Err(e),
                },
            },
            PullPolicy::Never => self.lookup(name)?,
            PullPolicy::Missing => match self.lookup(name) {
                Ok(r) => r,
                Err(EngineError::ImageNotFound(_)) => {
                    let id = pull(self)?;
                    self.lookup(&id.to_string())?
                }
                Err(e) => return Err(e),
            },
        };
        // Layers of this process's pulls stay pinned until released; the
        // container's own record protects the image from now on.
        if opts.pull_mode == crate::PullMode::Full {
            self.complete_lazy_layers(&record, &opts.registry, progress)?;
        }
        let lazy_layers = self.lazy_specs(&record, &opts.registry)?;
        let _ = self.store.release_pins();
        let config = self
            .store
            .read_blob(&record.config_digest, crate::MAX_CONFIG_BYTES)?;
        let layer_dirs = record
            .layers
            .iter()
            .map(|l| self.store.layer_diff_dir(&l.diff_id))
            .collect();
        Ok(ContainerImage {
            record,
            config,
            layer_dirs,
            lazy_layers,
        })
    }

    /// The ids of the containers made from image `id`.
    pub fn image_users(&self, id: &Digest, usage: &dyn ContainerUsage) -> Result<Vec<String>> {
        let mut users: Vec<String> = usage
            .image_uses()
            .map_err(EngineError::Containers)?
            .into_iter()
            .filter(|u| u.image_id == *id)
            .map(|u| u.container_id)
            .collect();
        users.sort();
        Ok(users)
    }

    /// The blobs and layers containers use, by digest: each container's
    /// image ID (its config blob), the layers under its layer directories,
    /// and the blobs and layers of its lazy layers. Store checks keep them
    /// even if no image record references them any more.
    pub fn container_references(&self, usage: &dyn ContainerUsage) -> Result<Vec<Digest>> {
        let mut refs = Vec::new();
        for u in usage.image_uses().map_err(EngineError::Containers)? {
            refs.push(u.image_id);
            refs.extend(u.layer_dirs.iter().filter_map(|d| self.layer_of_dir(d)));
            refs.extend(u.lazy_objects);
        }
        refs.sort();
        refs.dedup();
        Ok(refs)
    }

    /// The diff ID whose unpacked directory in this store is `dir`.
    fn layer_of_dir(&self, dir: &Path) -> Option<Digest> {
        let hex = dir.parent()?.file_name()?.to_str()?;
        let diff_id: Digest = format!("sha256:{hex}").parse().ok()?;
        (self.store.layer_diff_dir(&diff_id) == dir).then_some(diff_id)
    }
}

/// What one container takes from the image side.
#[derive(Debug, Clone)]
pub struct ImageUse {
    pub container_id: String,
    pub image_id: Digest,
    /// The unpacked layer directories its root filesystem is made of.
    pub layer_dirs: Vec<PathBuf>,
    /// The blobs and diff IDs of the layers it reads lazily.
    pub lazy_objects: Vec<Digest>,
}

/// The engine's view of the containers, answered by whoever keeps them
/// (hoist-container), so that removing an image or repairing the store
/// never pulls layers out from under a container and the engine never
/// reads container records itself.
pub trait ContainerUsage {
    fn image_uses(&self) -> std::result::Result<Vec<ImageUse>, String>;
}

/// No containers at all: for stores that hold only images.
pub struct NoContainers;

impl ContainerUsage for NoContainers {
    fn image_uses(&self) -> std::result::Result<Vec<ImageUse>, String> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Vec<ImageUse>);

    impl ContainerUsage for Fixed {
        fn image_uses(&self) -> std::result::Result<Vec<ImageUse>, String> {
            Ok(self.0.clone())
        }
    }

    #[test]
    fn container_references_name_image_layers_and_lazy_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        assert!(engine
            .container_references(&NoContainers)
            .unwrap()
            .is_empty());
        let (image, layer, blob, lazy_diff) = (
            Digest::sha256_of(b"config"),
            Digest::sha256_of(b"layer"),
            Digest::sha256_of(b"blob"),
            Digest::sha256_of(b"lazy"),
        );
        let usage = Fixed(vec![ImageUse {
            container_id: "c1".into(),
            image_id: image.clone(),
            layer_dirs: vec![
                engine.store().layer_diff_dir(&layer),
                // Not one of this store's layers: ignored.
                dir.path().join("elsewhere").join(image.hex()).join("diff"),
            ],
            lazy_objects: vec![blob.clone(), lazy_diff.clone()],
        }]);
        let mut want = vec![image.clone(), layer, blob, lazy_diff];
        want.sort();
        assert_eq!(engine.container_references(&usage).unwrap(), want);
        assert_eq!(engine.image_users(&image, &usage).unwrap(), ["c1"]);
        let other = Digest::sha256_of(b"other");
        assert!(engine.image_users(&other, &usage).unwrap().is_empty());
    }
}

//! What the container layer needs from the image side: an image (pulled if
//! the pull policy says so) with its layer directories and config, and
//! which containers use an image (so `rmi` does not pull the layers out
//! from under them).
//!
//! Containers live in `<root>/containers/<id>/config.json` (written by
//! hoist-container); the engine reads only the `image_id` field of those
//! records so it does not depend on the container crate.

use std::path::PathBuf;
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

    /// The ids of the containers whose record names image `id`.
    pub fn image_users(&self, id: &Digest) -> Result<Vec<String>> {
        let dir = self.root().join("containers");
        let mut users = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(users),
            Err(e) => {
                return Err(EngineError::Io {
                    context: format!("listing containers in {}", dir.display()),
                    source: e,
                })
            }
        };
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read(entry.path().join("config.json")) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&text) else {
                continue;
            };
            if v["image_id"].as_str() == Some(id.hex()) {
                users.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        users.sort();
        Ok(users)
    }
}

//! The operations of hoist that a user asks for, as a library: pull, push,
//! list, inspect, tag, remove, save, load and check images. It glues the
//! image model (`hoist-image`), the registry client (`hoist-registry`), the
//! content store (`hoist-store`) and the archive formats (`hoist-archive`),
//! and knows nothing of terminals or command lines: progress goes through
//! [`progress::Progress`].
//!
//! Every method is synchronous. Those that talk to registries run a tokio
//! runtime for the duration of the call and shut it down before returning,
//! so a caller that forks afterwards (the container runtime does) is single
//! threaded again.

pub mod auth;
mod commit;
mod containers;
mod convert;
mod error;
mod images;
mod import;
mod info;
mod lazy;
mod manifest;
mod pack;
pub mod progress;
mod pull;
mod pull_all;
mod push;
mod push_plan;
mod resolve;
mod save;
mod search;
mod sign;
mod squash;
mod trust;

use std::path::{Path, PathBuf};

pub use commit::{ManifestFormat, NewImage};
pub use containers::{ContainerImage, ContainerUsage, ImageUse, NoContainers, PullPolicy};
pub use convert::EstargzOptions;
pub use error::{EngineError, Result};
/// The layer planner and writer behind `pack`, for callers that inspect trees.
pub use hoist_pack;
pub use images::{local_name, HistoryEntry, ImageFilter, ImageSummary, RemoveReport, TreeLayer};
pub use info::{version_info, InfoOptions, PODMAN_API_VERSION};
pub use lazy::PullMode;
pub use manifest::ManifestAnnotation;
pub use pack::{PackOptions, PackReport, PackedLayer, UpdateCost};
pub use push_plan::LayerCompression;
pub use save::{SaveFormat, SaveOptions};
pub use search::{
    search, search_tags, SearchFilter, SearchOptions, SearchResult, DEFAULT_SEARCH_LIMIT,
};
pub use sign::{SignOptions, Signed};

use hoist_image::platform::Platform;
use hoist_image::Digest;
use hoist_store::Store;

/// Configs and manifests read back from the store are small; refuse to load
/// anything larger into memory.
pub(crate) const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Options for talking to a registry, mirroring podman's flags.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// `--tls-verify`: `Some(false)` skips verification and allows plain HTTP.
    pub tls_verify: Option<bool>,
    /// `--authfile`: credentials file instead of podman's default auth.json.
    pub authfile: Option<PathBuf>,
    /// `--cert-dir`: CA certificates and client keys for the registry.
    pub cert_dir: Option<PathBuf>,
    /// `--creds`: credentials for this call only.
    pub creds: Option<(String, String)>,
    /// `--retry`: how many times a failed registry request is tried again
    /// (the client's own policy when unset).
    pub retry: Option<u32>,
    /// `--retry-delay`: the wait before each retry, instead of the
    /// client's growing backoff.
    pub retry_delay: Option<std::time::Duration>,
}

#[derive(Debug, Clone)]
pub struct PullOptions {
    pub registry: RegistryOptions,
    /// Which manifest of a multi-platform image to pull.
    pub platform: Platform,
    /// `--pull-mode`: whether eStargz layers are pulled lazily.
    pub pull_mode: PullMode,
    /// `--signature-policy`: the trust policy instead of
    /// /etc/containers/policy.json.
    pub signature_policy: Option<PathBuf>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            registry: RegistryOptions::default(),
            platform: Platform::host(),
            pull_mode: PullMode::default(),
            signature_policy: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub registry: RegistryOptions,
    /// `--format`: the manifest type at the destination; `None` pushes the
    /// stored manifest unchanged.
    pub format: Option<ManifestFormat>,
    /// `--compression-format`: layers not compressed so are recompressed.
    pub compression: Option<LayerCompression>,
    /// `--compress`: layers stored uncompressed are compressed (gzip, or as
    /// `compression` says).
    pub compress: bool,
    /// `--sign-by`: sign the pushed manifest with this GnuPG key, into the
    /// destination's registries.d lookaside.
    pub sign_by: Option<String>,
    /// `--sign-passphrase-file`: the key's passphrase, first line of the file.
    pub sign_passphrase_file: Option<PathBuf>,
}

/// What a pull or load produced.
#[derive(Debug, Clone)]
pub struct PulledImage {
    /// The image ID: the digest of its config.
    pub id: Digest,
    /// The digest of the manifest (or index) it was pulled by.
    pub manifest_digest: Digest,
    pub names: Vec<String>,
}

/// An open engine over one store root.
pub struct Engine {
    store: Store,
}

impl Engine {
    /// Opens (creating if needed) the store under `root`.
    pub fn open(root: &Path) -> Result<Engine> {
        Ok(Engine {
            store: Store::open(root)?,
        })
    }

    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// The content store, for the crates above the engine (the container runtime).
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Runs `fut` on a multi-threaded runtime that is shut down before returning.
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(error::io_err("starting the async runtime"))?;
    let out = rt.block_on(fut);
    rt.shutdown_background();
    Ok(out)
}

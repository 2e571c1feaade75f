//! The engine's error type: what a caller (the CLI) may match on, wrapping
//! the typed errors of the crates below.

use hoist_image::manifest::ManifestError;
use hoist_image::reference::ReferenceError;
use hoist_image::registries::RegistriesError;
use hoist_image::transport::TransportError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}: image not known")]
    ImageNotFound(String),
    #[error("image {image} has {count} names: remove them one by one or use --force")]
    ImageHasNames { image: String, count: usize },
    /// `untag` of a name the image does not have.
    #[error("{0}: tag not known")]
    TagNotFound(String),
    /// The image is the image of containers (podman's wording).
    #[error("image used by {container}: image is in use by a container: consider listing external containers and force-removing image")]
    ImageInUse {
        /// The first container using it (full ID).
        container: String,
        /// Every container using it.
        containers: Vec<String>,
    },
    /// `load` of something that is no image archive hoist reads; the
    /// detail says, per format, why not.
    #[error("payload does not match any of the supported image formats:{0}")]
    UnknownPayload(String),
    #[error("{what} is not supported: {why}")]
    Unsupported { what: String, why: String },
    #[error("{0}")]
    Invalid(String),
    /// The container records could not be read to see what they use.
    #[error("reading the containers of this store: {0}")]
    Containers(String),
    #[error("pulling {image}: {source}")]
    Pull {
        image: String,
        #[source]
        source: Box<EngineError>,
    },
    #[error("{0}")]
    AllSourcesFailed(String),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Registries(#[from] RegistriesError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Registry(#[from] hoist_registry::RegistryError),
    #[error(transparent)]
    Store(#[from] hoist_store::StoreError),
    #[error(transparent)]
    Archive(#[from] hoist_archive::ArchiveError),
    #[error(transparent)]
    Sign(#[from] hoist_sign::SignError),
    /// The signature policy refused the image (podman's wording).
    #[error("Source image rejected: {0}")]
    Rejected(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed image config {digest}: {detail}")]
    Config { digest: String, detail: String },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EngineError {
    let context = context.into();
    move |source| EngineError::Io { context, source }
}

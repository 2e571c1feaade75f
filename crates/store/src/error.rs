//! The typed errors of the store. Each message names the object and, where
//! there is one, what the user can do about it.

use std::io;
use std::path::PathBuf;

use hoist_image::Digest;

use crate::extract::ExtractError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("content of blob {expected} does not match its digest: got {actual}; the source sent different bytes, retry or check the source")]
    DigestMismatch { expected: Digest, actual: Digest },

    #[error("blob {digest} is larger than the expected {expected} bytes (got at least {actual}); the source sent different content")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },

    #[error("blob {digest} is truncated: got {actual} of {expected} bytes; retry the transfer")]
    Truncated {
        digest: Digest,
        expected: u64,
        actual: u64,
    },

    #[error("blob {0} is not in the store")]
    BlobNotFound(Digest),

    #[error("blob {digest} is {size} bytes, over the {max}-byte limit for reading it into memory")]
    BlobTooLarge { digest: Digest, size: u64, max: u64 },

    #[error("stored blob {digest} is corrupt (its content hashes to {actual}); run `hoist check --repair` and pull the image again")]
    CorruptBlob { digest: Digest, actual: Digest },

    #[error("{0:?} is not a layer media type hoist can unpack (tar, tar+gzip, tar+zstd)")]
    UnsupportedMediaType(String),

    #[error("layer blob {blob} unpacks to diff_id {actual}, but the image config says {expected}; the image is inconsistent, nothing was stored")]
    DiffIdMismatch {
        blob: Digest,
        expected: Digest,
        actual: Digest,
    },

    #[error("layer {0} is not in the store")]
    LayerNotFound(Digest),

    #[error("unpacking layer blob {blob}: {source}")]
    Extract {
        blob: Digest,
        #[source]
        source: ExtractError,
    },

    #[error("image {0:?} not found in the store")]
    ImageNotFound(String),

    #[error("{query:?} matches more than one image ({}); give more of the ID", candidates.join(", "))]
    AmbiguousImage {
        query: String,
        candidates: Vec<String>,
    },

    #[error("image {image} references {what} {digest}, which is not in the store; store it first")]
    MissingContent {
        image: Digest,
        what: &'static str,
        digest: Digest,
    },

    #[error(
        "invalid image name {0:?}: names must be non-empty full references without whitespace"
    )]
    InvalidName(String),

    #[error("corrupt store metadata {}: {source}; run `hoist check`", path.display())]
    Metadata {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl From<hoist_fsutil::Error> for StoreError {
    fn from(e: hoist_fsutil::Error) -> StoreError {
        StoreError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attaches an operation name and a path to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            op,
            path: path.into(),
            source,
        })
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| StoreError::Io {
            op,
            path: path.into(),
            source: e.into(),
        })
    }
}

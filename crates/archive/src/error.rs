//! The one error type of this crate. Every variant names the file or archive
//! involved, because callers usually juggle several at once (a layout, an
//! archive, a temporary directory).

use std::io;
use std::path::{Path, PathBuf};

use hoist_image::manifest::ManifestError;
use hoist_image::Digest;

/// A failed write through hoist's file primitives (atomic output files).
impl From<hoist_fsutil::Error> for ArchiveError {
    fn from(e: hoist_fsutil::Error) -> ArchiveError {
        ArchiveError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error("{path} is not an OCI image layout: {reason}")]
    NotLayout { path: PathBuf, reason: String },

    #[error("malformed {what} in {path}: {source}")]
    Json {
        what: &'static str,
        path: PathBuf,
        source: serde_json::Error,
    },

    #[error("invalid {what} in {path}: {reason}")]
    Invalid {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },

    #[error("{what} {name:?} is missing from {path}")]
    Missing {
        what: &'static str,
        name: String,
        path: PathBuf,
    },

    #[error("digest mismatch for {what}: expected {expected}, got {actual}; the data is corrupt or was tampered with")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },

    #[error("size mismatch for {what}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },

    #[error("{what} in {path} is {size} bytes, over the {limit}-byte limit: refusing to read it")]
    TooLarge {
        what: String,
        path: PathBuf,
        size: u64,
        limit: u64,
    },

    #[error("unsafe path {name:?} in {path}: {reason}; refusing to use this archive")]
    UnsafePath {
        name: String,
        path: PathBuf,
        reason: &'static str,
    },

    #[error("unsupported entry {name:?} in {path}: it is a {kind}, and only regular files and directories are accepted here")]
    UnsupportedEntry {
        name: String,
        path: PathBuf,
        kind: String,
    },

    #[error("no image named {wanted:?} in {path}; available: {available}")]
    NotFound {
        wanted: String,
        path: PathBuf,
        available: String,
    },

    #[error("{path} holds {count} images; name one (available: {available})")]
    Ambiguous {
        path: PathBuf,
        count: usize,
        available: String,
    },

    #[error("{path} holds no images")]
    Empty { path: PathBuf },

    #[error("invalid tag {tag:?}: {reason}")]
    InvalidTag { tag: String, reason: &'static str },

    #[error("manifest {digest} in {path}: {source}")]
    Manifest {
        digest: Digest,
        path: PathBuf,
        source: ManifestError,
    },
}

pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

/// Shorthand for the common "I/O on this path failed" error.
pub(crate) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ArchiveError {
    let path = path.to_path_buf();
    move |source| ArchiveError::Io { op, path, source }
}

impl ArchiveError {
    /// Wraps this error for a `Read` implementation, keeping it retrievable
    /// through `io::Error::into_inner` / `get_ref`.
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// Unwraps an I/O error that carries an `ArchiveError` (as produced by the
    /// verifying readers), or wraps a plain one with the operation and path.
    pub(crate) fn from_io(op: &'static str, path: &Path, e: io::Error) -> ArchiveError {
        if !e.get_ref().is_some_and(|inner| inner.is::<ArchiveError>()) {
            return io_err(op, path)(e);
        }
        let kind = e.kind();
        match e.into_inner().map(|inner| inner.downcast::<ArchiveError>()) {
            Some(Ok(inner)) => *inner,
            Some(Err(other)) => io_err(op, path)(io::Error::new(kind, other)),
            None => io_err(op, path)(io::Error::from(kind)),
        }
    }
}

//! Errors of planning and writing packed layers.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a directory: hoist pack needs the root of a directory tree")]
    NotADirectory(PathBuf),
    #[error(
        "{path} changed while it was being packed (expected {expected} bytes, read {actual}); \
         pack a tree that nothing else is writing to"
    )]
    Changed {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("writing the layer archive for {path}: {source}")]
    Archive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading a layer of the prior image: {source}")]
    PriorLayer {
        #[source]
        source: std::io::Error,
    },
    #[error("--max-layers must be at least 1")]
    NoLayers,
}

pub type Result<T, E = PackError> = std::result::Result<T, E>;

pub(crate) fn io(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> PackError {
    let path = path.into();
    move |source| PackError::Io { op, path, source }
}

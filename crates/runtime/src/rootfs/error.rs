//! Errors of mounting root filesystems and writing /etc files.

use std::io;
use std::path::PathBuf;

/// A failed write through hoist's file primitives.
impl From<hoist_fsutil::Error> for RootfsError {
    fn from(e: hoist_fsutil::Error) -> RootfsError {
        RootfsError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("no layer directories given for {}; an overlay needs at least one lower directory", target.display())]
    NoLayers { target: PathBuf },

    #[error("{count} layers for {}: overlayfs stacks at most {max}; squash the image", target.display())]
    TooManyLayers {
        target: PathBuf,
        count: usize,
        max: usize,
    },

    #[error("path {} contains {ch:?}, which overlayfs mount options cannot carry; move the store to a path without ',' and ':'", path.display())]
    BadPath { path: PathBuf, ch: char },

    #[error("the overlay options for {} are {len} bytes even with short fd paths, over the {max}-byte limit of mount(2); use fewer layers", target.display())]
    OptionsTooLong {
        target: PathBuf,
        len: usize,
        max: usize,
    },

    #[error("mounting overlay on {}: {source}; check that the layer, upper and work directories exist (upper and work on one filesystem) and that overlayfs is available", target.display())]
    Mount {
        target: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("unmounting {}: {source}{hint}", target.display())]
    Unmount {
        target: PathBuf,
        hint: &'static str,
        #[source]
        source: io::Error,
    },

    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T, RootfsError>;
}

impl<T, E: Into<io::Error>> IoContext<T> for Result<T, E> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T, RootfsError> {
        self.map_err(|e| RootfsError::Io {
            op,
            path: path.into(),
            source: e.into(),
        })
    }
}

//! One error type for the primitives: the operation, the path, the cause.

use std::io;
use std::path::{Path, PathBuf};

/// A failed file operation, naming what was attempted on which path.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub struct Error {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn new(op: &'static str, path: &Path, source: impl Into<io::Error>) -> Error {
        Error {
            op,
            path: path.to_path_buf(),
            source: source.into(),
        }
    }

    /// The kind of the underlying I/O error (`NotFound`, `StorageFull`, ...).
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}

/// For callers whose own errors wrap `std::io::Error`: keeps the kind and
/// folds the operation and path into the message.
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(e.kind(), e.to_string())
    }
}

/// `map_err` shorthand: `.map_err(at("opening", path))`.
pub(crate) fn at<'a, E: Into<io::Error>>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(E) -> Error + 'a {
    move |e| Error::new(op, path, e)
}

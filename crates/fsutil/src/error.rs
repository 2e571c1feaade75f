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

/// Whether `err`, or any error that caused it, is a full disk: ENOSPC, or
/// EDQUOT for a quota. Causes that crossed a crate boundary as text are
/// recognised by the errno their OS error printed.
pub fn is_disk_full(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if matches!(
                io.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
            ) {
                return true;
            }
        }
        let text = e.to_string();
        if text.contains("(os error 28)") || text.contains("(os error 122)") {
            return true;
        }
        cause = e.source();
    }
    false
}

/// `map_err` shorthand: `.map_err(at("opening", path))`.
pub(crate) fn at<'a, E: Into<io::Error>>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(E) -> Error + 'a {
    move |e| Error::new(op, path, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_found_below_wrapping_errors() {
        let full = Error::new("writing", Path::new("/x"), io::Error::from_raw_os_error(28));
        assert!(is_disk_full(&full));
        let as_text = io::Error::other(format!("unpacking: {}", io::Error::from_raw_os_error(28)));
        assert!(is_disk_full(&as_text));
        let quota = io::Error::from_raw_os_error(122);
        assert!(is_disk_full(&quota));
        let other = Error::new("writing", Path::new("/x"), io::Error::from_raw_os_error(5));
        assert!(!is_disk_full(&other));
    }
}

//! The per-container state lock and the monitor's liveness lock, as
//! hoist-fsutil's flocks. A lock dies with its holder, so a killed monitor
//! never leaves one behind.

use std::path::Path;

use crate::error::{ContainerError, Result};

pub(crate) use hoist_fsutil::FileLock as Lock;

/// `None` when the container's directory is gone (it was removed), instead
/// of an error: a lock file is never created in a directory being removed.
fn unless_gone<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Err(ContainerError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        r => r.map(Some),
    }
}

/// The lock if nobody holds it (inner `None`); outer `None` when the
/// directory of `path` is gone.
pub(crate) fn try_exclusive_existing(path: &Path) -> Result<Option<Option<Lock>>> {
    unless_gone(Lock::try_exclusive(path).map_err(Into::into))
}

/// Waits for the lock; `None` when the directory of `path` is gone.
pub(crate) fn exclusive_existing(path: &Path) -> Result<Option<Lock>> {
    unless_gone(Lock::exclusive(path).map_err(Into::into))
}

/// Whether some process holds the lock at `path` (e.g. a monitor is alive).
pub(crate) fn is_held(path: &Path) -> bool {
    hoist_fsutil::is_locked(path)
}

//! File locks (`flock`): the per-container state lock and the monitor's
//! liveness lock. A lock dies with its holder, so a killed monitor never
//! leaves one behind.

use std::fs::File;
use std::path::Path;

use rustix::fs::FlockOperation;

use crate::error::{io_err, Result};

/// An exclusive lock held until dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

fn open(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err("opening lock file", path))
}

fn flock(file: &File, op: FlockOperation) -> std::io::Result<()> {
    loop {
        match rustix::fs::flock(file, op) {
            Err(rustix::io::Errno::INTR) => continue,
            r => return r.map_err(Into::into),
        }
    }
}

impl Lock {
    /// Blocks until the lock is ours.
    pub(crate) fn exclusive(path: &Path) -> Result<Lock> {
        let file = open(path)?;
        flock(&file, FlockOperation::LockExclusive).map_err(io_err("locking", path))?;
        Ok(Lock { _file: file })
    }

    /// The lock if nobody holds it, else `None`.
    pub(crate) fn try_exclusive(path: &Path) -> Result<Option<Lock>> {
        let file = open(path)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(Lock { _file: file })),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(io_err("locking", path)(e)),
        }
    }
}

impl Lock {
    /// As [`Lock::try_exclusive`], but `None` when the directory of `path`
    /// is gone (the container was removed), instead of an error. Never
    /// creates anything in a directory being removed.
    pub(crate) fn try_exclusive_existing(path: &Path) -> Result<Option<Option<Lock>>> {
        match Lock::try_exclusive(path) {
            Err(crate::ContainerError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            r => r.map(Some),
        }
    }

    /// As [`Lock::exclusive`], `None` when the directory of `path` is gone.
    pub(crate) fn exclusive_existing(path: &Path) -> Result<Option<Lock>> {
        match Lock::exclusive(path) {
            Err(crate::ContainerError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            r => r.map(Some),
        }
    }
}

/// Whether some process holds the lock at `path` (e.g. a monitor is alive).
pub(crate) fn is_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    match flock(&file, FlockOperation::NonBlockingLockShared) {
        Ok(()) => false,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_until_dropped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l");
        assert!(!is_held(&p));
        let l = Lock::exclusive(&p).unwrap();
        assert!(is_held(&p));
        assert!(Lock::try_exclusive(&p).unwrap().is_none());
        drop(l);
        assert!(!is_held(&p));
        assert!(Lock::try_exclusive(&p).unwrap().is_some());
    }
}

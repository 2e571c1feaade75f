//! Advisory `flock(2)` locks on files.
//!
//! A flock belongs to an open file description, so two `FileLock`s on one
//! path conflict even inside one process: the same lock protects threads and
//! processes alike. It is released when the `FileLock` is dropped, and by the
//! kernel when its process dies, so a killed process never leaves a lock
//! held; a lock doubles as a liveness signal ([`is_locked`]).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;

use crate::error::{at, Error, Result};

/// A held lock on a file; released on drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

#[derive(Clone, Copy)]
enum Kind {
    Shared,
    Exclusive,
}

impl FileLock {
    /// Blocks until the exclusive lock on `path` is held (creating the file).
    pub fn exclusive(path: &Path) -> Result<FileLock> {
        Self::acquire(path, Kind::Exclusive, true).map(|l| l.expect("a blocking lock is held"))
    }

    /// Blocks until a shared lock on `path` is held (creating the file).
    pub fn shared(path: &Path) -> Result<FileLock> {
        Self::acquire(path, Kind::Shared, true).map(|l| l.expect("a blocking lock is held"))
    }

    /// The exclusive lock if nobody holds the lock now, else `None`.
    pub fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
        Self::acquire(path, Kind::Exclusive, false)
    }

    /// A shared lock unless somebody holds the exclusive one, else `None`.
    pub fn try_shared(path: &Path) -> Result<Option<FileLock>> {
        Self::acquire(path, Kind::Shared, false)
    }

    /// The locked file (a lock file may carry content, e.g. a pid).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Unlinks the lock file while the lock is still held, so that waiters
    /// notice (they start over on a fresh file) and nobody finds a stale one.
    pub fn remove_file(self) -> Result<()> {
        std::fs::remove_file(&self.path).map_err(at("removing lock file", &self.path))
    }

    fn acquire(path: &Path, kind: Kind, block: bool) -> Result<Option<FileLock>> {
        let op = match (kind, block) {
            (Kind::Shared, true) => FlockOperation::LockShared,
            (Kind::Exclusive, true) => FlockOperation::LockExclusive,
            (Kind::Shared, false) => FlockOperation::NonBlockingLockShared,
            (Kind::Exclusive, false) => FlockOperation::NonBlockingLockExclusive,
        };
        loop {
            let file = open_lock_file(path)?;
            match flock_retrying(&file, op) {
                Ok(()) => {}
                Err(Errno::WOULDBLOCK) => return Ok(None),
                Err(e) => return Err(Error::new("locking", path, e)),
            }
            // A lock file may be removed by its holder (remove_file). If
            // that happened while we waited, our lock is on an unlinked inode
            // nobody else will ever lock, so start over on the file there now.
            if still_named(&file, path)? {
                return Ok(Some(FileLock {
                    file,
                    path: path.to_path_buf(),
                }));
            }
        }
    }
}

/// Whether some process holds a lock on `path` that excludes a shared one
/// (a monitor's liveness lock, say). A missing file is not held; any other
/// failure to probe also reads as "not held", so callers that delete things
/// nobody holds should use [`lock_held`], which reports those failures.
pub fn is_locked(path: &Path) -> bool {
    lock_held(path).unwrap_or(false)
}

/// Like [`is_locked`], but a failure to probe (other than a missing file) is
/// an error instead of "not held": garbage collection must not take a lock
/// it could not check (EMFILE, EACCES) for a free one.
pub fn lock_held(path: &Path) -> Result<bool> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::new("opening lock file", path, e)),
    };
    // The probe's shared lock, if granted, ends when `file` is closed.
    match flock_retrying(&file, FlockOperation::NonBlockingLockShared) {
        Ok(()) => Ok(false),
        Err(Errno::WOULDBLOCK) => Ok(true),
        Err(e) => Err(Error::new("probing lock", path, e)),
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::CLOEXEC.bits() as i32)
        .open(path)
        .map_err(at("opening lock file", path))
}

fn flock_retrying(file: &File, op: FlockOperation) -> std::result::Result<(), Errno> {
    loop {
        match flock(file, op) {
            Err(Errno::INTR) => continue,
            r => return r,
        }
    }
}

fn still_named(file: &File, path: &Path) -> Result<bool> {
    let held = file.metadata().map_err(at("inspecting lock file", path))?;
    match std::fs::metadata(path) {
        Ok(now) => Ok(now.ino() == held.ino() && now.dev() == held.dev()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::new("inspecting lock file", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn exclusive_excludes_and_shared_shares() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.lock");
        let a = FileLock::shared(&p).unwrap();
        let b = FileLock::try_shared(&p)
            .unwrap()
            .expect("shared locks share");
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop((a, b));
        let ex = FileLock::try_exclusive(&p).unwrap().expect("free");
        assert!(FileLock::try_shared(&p).unwrap().is_none());
        assert!(is_locked(&p));
        drop(ex);
        assert!(!is_locked(&p));
    }

    #[test]
    fn a_missing_file_is_not_locked() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_locked(&dir.path().join("none")));
    }

    #[test]
    fn a_waiter_starts_over_when_the_holder_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("y.lock");
        let first = FileLock::exclusive(&p).unwrap();
        let (tx, rx) = mpsc::channel();
        let waiter = {
            let p = p.clone();
            std::thread::spawn(move || {
                let l = FileLock::exclusive(&p).unwrap();
                tx.send(()).unwrap();
                l
            })
        };
        assert!(rx.try_recv().is_err(), "the waiter must still be blocked");
        first.remove_file().unwrap();
        rx.recv().unwrap();
        let second = waiter.join().unwrap();
        // The waiter holds the lock on the file that is there now.
        assert!(p.exists());
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(second);
    }

    #[test]
    fn lock_held_reports_holders_and_probe_failures() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("z.lock");
        assert!(!lock_held(&p).unwrap());
        assert!(!p.exists(), "probing created the lock file");
        let l = FileLock::exclusive(&p).unwrap();
        assert!(lock_held(&p).unwrap());
        drop(l);
        assert!(!lock_held(&p).unwrap());
        assert!(
            FileLock::try_exclusive(&p).unwrap().is_some(),
            "the probe left a lock behind"
        );
        // A path that cannot be opened is an error, not "free".
        let err = lock_held(&p.join("under-a-file")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotADirectory);
    }
}

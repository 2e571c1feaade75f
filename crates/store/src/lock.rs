//! Advisory `flock(2)` locks on files.
//!
//! A flock belongs to an open file description, so two `FileLock`s on the
//! same path conflict even inside one process: the same code protects threads
//! and processes alike. The lock is released when the `FileLock` is dropped,
//! and by the kernel when a process dies, so a killed process never leaves a
//! lock held.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
    path: PathBuf,
}

#[derive(Clone, Copy)]
enum Kind {
    Shared,
    Exclusive,
}

impl FileLock {
    /// Blocks until the exclusive lock on `path` is held (creating the file).
    pub(crate) fn exclusive(path: &Path) -> io::Result<FileLock> {
        Self::acquire(path, Kind::Exclusive, true).map(|l| l.expect("blocking lock"))
    }

    /// Blocks until a shared lock on `path` is held (creating the file).
    pub(crate) fn shared(path: &Path) -> io::Result<FileLock> {
        Self::acquire(path, Kind::Shared, true).map(|l| l.expect("blocking lock"))
    }

    /// The exclusive lock if nobody holds the lock now, else `None`.
    pub(crate) fn try_exclusive(path: &Path) -> io::Result<Option<FileLock>> {
        Self::acquire(path, Kind::Exclusive, false)
    }

    fn acquire(path: &Path, kind: Kind, block: bool) -> io::Result<Option<FileLock>> {
        let op = match (kind, block) {
            (Kind::Shared, true) => FlockOperation::LockShared,
            (Kind::Exclusive, true) => FlockOperation::LockExclusive,
            (Kind::Shared, false) => FlockOperation::NonBlockingLockShared,
            (Kind::Exclusive, false) => FlockOperation::NonBlockingLockExclusive,
        };
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(rustix::fs::OFlags::CLOEXEC.bits() as i32)
                .open(path)?;
            match flock(&file, op) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
            // Lock files of deleted objects are removed (by whoever holds
            // their lock). If that happened while we waited, our lock is on
            // an unlinked inode that nobody else will ever lock again, so
            // start over on the file that is there now.
            let held = file.metadata()?;
            match std::fs::metadata(path) {
                Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {
                    return Ok(Some(FileLock {
                        _file: file,
                        path: path.to_path_buf(),
                    }))
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether some other open file holds a lock on `path` right now.
    /// Creates nothing: a missing lock file means nobody holds it.
    pub(crate) fn is_held(path: &Path) -> io::Result<bool> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        match flock(&file, FlockOperation::NonBlockingLockShared) {
            // A shared lock is granted unless someone holds it exclusively;
            // our probe ends when `file` is closed.
            Ok(()) => Ok(false),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// Unlinks the lock file while the lock is still held, so that waiters
    /// notice (see `acquire`) and nobody finds a stale file later.
    pub(crate) fn remove_file(self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn exclusive_excludes_and_shared_shares() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.lock");
        let a = FileLock::shared(&p).unwrap();
        let _b = FileLock::shared(&p).unwrap();
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(a);
        drop(_b);
        let ex = FileLock::try_exclusive(&p).unwrap().expect("free");
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(ex);
        assert!(FileLock::try_exclusive(&p).unwrap().is_some());
    }

    #[test]
    fn is_held_probes_without_creating() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("z.lock");
        assert!(!FileLock::is_held(&p).unwrap());
        assert!(!p.exists(), "probing created the lock file");
        let l = FileLock::exclusive(&p).unwrap();
        assert!(FileLock::is_held(&p).unwrap());
        drop(l);
        assert!(!FileLock::is_held(&p).unwrap());
        assert!(
            FileLock::try_exclusive(&p).unwrap().is_some(),
            "probe left a lock behind"
        );
    }

    #[test]
    fn waiter_survives_removal_of_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = Arc::new(dir.path().join("y.lock"));
        let first = FileLock::exclusive(&p).unwrap();
        let got = Arc::new(AtomicBool::new(false));
        let t = {
            let (p, got) = (p.clone(), got.clone());
            std::thread::spawn(move || {
                let l = FileLock::exclusive(&p).unwrap();
                got.store(true, Ordering::SeqCst);
                l
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(!got.load(Ordering::SeqCst), "lock was not exclusive");
        first.remove_file().unwrap();
        let second = t.join().unwrap();
        // The waiter must hold the lock on the file that exists now.
        assert!(p.exists());
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(second);
    }
}

//! Per-store temporary directories, their stale-ness, and pins.
//!
//! Every open `Store` owns `root/tmp/<pid>-<nonce>/` and holds an exclusive
//! flock on that directory for its lifetime. A directory nobody holds a lock
//! on belongs to a dead process, whatever its pid says now (pids get reused,
//! locks die with their process), and is removed by the next cleaner.
//!
//! Creation (mkdir, then flock) happens under the shared store lock and
//! cleaning under the exclusive one, so a cleaner never sees a directory in
//! the instant between its mkdir and its flock.
//!
//! Pins: an in-flight pull has blobs and layers on disk that no image record
//! references yet. Each store lists the objects it is using in its `pins`
//! file; garbage collection keeps everything pinned by a live store.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hoist_image::Digest;
use rustix::fs::{flock, FlockOperation};

use crate::error::{IoContext, Result};

const PINS: &str = "pins";

/// What a pin protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PinKind {
    Blob,
    Layer,
}

impl PinKind {
    fn as_str(self) -> &'static str {
        match self {
            PinKind::Blob => "blob",
            PinKind::Layer => "layer",
        }
    }
}

/// The pinned objects of all live stores.
#[derive(Debug, Default)]
pub(crate) struct Pins {
    pub(crate) blobs: HashSet<Digest>,
    pub(crate) layers: HashSet<Digest>,
}

#[derive(Debug)]
pub(crate) struct OwnTmp {
    dir: PathBuf,
    _lock: File,
    counter: AtomicU64,
    pins: Mutex<(HashSet<String>, Option<File>)>,
}

impl OwnTmp {
    /// Creates and locks this store's directory. The caller holds the shared store lock.
    pub(crate) fn create(tmp_root: &Path) -> Result<OwnTmp> {
        let pid = std::process::id();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for attempt in 0u32.. {
            let dir = tmp_root.join(format!("{pid}-{nanos:08x}-{attempt}"));
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 1000 => {
                    continue
                }
                Err(e) => return Err(e).ctx("creating temporary directory", dir),
            }
            let lock = File::open(&dir).ctx("opening temporary directory", &dir)?;
            flock(&lock, FlockOperation::LockExclusive).ctx("locking temporary directory", &dir)?;
            return Ok(OwnTmp {
                dir,
                _lock: lock,
                counter: AtomicU64::new(0),
                pins: Mutex::new((HashSet::new(), None)),
            });
        }
        unreachable!("the loop returns")
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh path inside this store's directory; nothing else uses it.
    pub(crate) fn unique(&self, prefix: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{prefix}-{n}"))
    }

    /// Records that this store uses `digest`. Written before the object is
    /// renamed into place or found present, under the shared store lock, so a
    /// collector (exclusive lock) either sees the pin or runs entirely before.
    pub(crate) fn pin(&self, kind: PinKind, digest: &Digest) -> Result<()> {
        let line = format!("{} {digest}\n", kind.as_str());
        let mut guard = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        let (seen, file) = &mut *guard;
        if seen.contains(&line) {
            return Ok(());
        }
        let path = self.dir.join(PINS);
        if file.is_none() {
            *file = Some(
                OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .open(&path)
                    .ctx("opening pin list", &path)?,
            );
        }
        if let Some(f) = file.as_mut() {
            // No fsync: pins only matter while this process lives.
            f.write_all(line.as_bytes())
                .ctx("writing pin list", &path)?;
        }
        seen.insert(line);
        Ok(())
    }

    /// Forgets every pin of this store (see `Store::release_pins`).
    pub(crate) fn release_pins(&self) -> Result<()> {
        let mut guard = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.dir.join(PINS);
        guard.0.clear();
        guard.1 = None;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).ctx("removing pin list", path)
            }
            _ => Ok(()),
        }
    }
}

impl Drop for OwnTmp {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove temporary directory; the next hoist run will");
        }
    }
}

/// `dir`, locked, if its owner is dead (nobody holds its flock); `None` if
/// the owner is alive or the directory is gone.
fn lock_if_dead(dir: &Path) -> Option<File> {
    let f = File::open(dir).ok()?;
    flock(&f, FlockOperation::NonBlockingLockExclusive).ok()?;
    Some(f)
}

/// Entries of `tmp_root` whose owner is dead. The caller holds the exclusive store lock.
pub(crate) fn stale_entries(tmp_root: &Path) -> Result<Vec<PathBuf>> {
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(tmp_root).ctx("listing", tmp_root)? {
        let entry = entry.ctx("listing", tmp_root)?;
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if !is_dir || lock_if_dead(&path).is_some() {
            stale.push(path);
        }
    }
    stale.sort();
    Ok(stale)
}

/// Removes the entries `stale_entries` finds. The caller holds the exclusive store lock.
pub(crate) fn clean_stale(tmp_root: &Path) -> Result<Vec<PathBuf>> {
    let stale = stale_entries(tmp_root)?;
    for path in &stale {
        tracing::info!(path = %path.display(), "removing stale temporary data of a dead process");
        let r = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        match r {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).ctx("removing stale temporary data", path.clone())
            }
            _ => {}
        }
    }
    Ok(stale)
}

/// The pins of every live store (this one included).
pub(crate) fn live_pins(tmp_root: &Path) -> Result<Pins> {
    let mut pins = Pins::default();
    for entry in std::fs::read_dir(tmp_root).ctx("listing", tmp_root)? {
        let entry = entry.ctx("listing", tmp_root)?;
        let path = entry.path();
        if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) || lock_if_dead(&path).is_some()
        {
            continue;
        }
        let text = match std::fs::read_to_string(path.join(PINS)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).ctx("reading pin list", path.join(PINS)),
        };
        for line in text.lines() {
            // A line being written right now may be partial: it fails to
            // parse and is skipped, and its object is not yet in place.
            let Some((kind, digest)) = line.split_once(' ') else {
                continue;
            };
            let Ok(digest) = digest.parse::<Digest>() else {
                continue;
            };
            match kind {
                "blob" => pins.blobs.insert(digest),
                "layer" => pins.layers.insert(digest),
                _ => continue,
            };
        }
    }
    Ok(pins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_dirs_are_kept_and_dead_ones_found() {
        let root = tempfile::tempdir().unwrap();
        let own = OwnTmp::create(root.path()).unwrap();
        let dead = root.path().join("123-dead-0");
        std::fs::create_dir_all(dead.join("sub")).unwrap();
        std::fs::write(root.path().join("stray"), b"x").unwrap();
        let d = Digest::sha256_of(b"a");
        own.pin(PinKind::Blob, &d).unwrap();
        own.pin(PinKind::Blob, &d).unwrap();
        std::fs::write(dead.join(PINS), format!("layer {d}\n")).unwrap();

        let pins = live_pins(root.path()).unwrap();
        assert!(pins.blobs.contains(&d));
        assert!(pins.layers.is_empty(), "pins of a dead store count");

        let removed = clean_stale(root.path()).unwrap();
        assert_eq!(removed, vec![dead.clone(), root.path().join("stray")]);
        assert!(own.dir().exists() && !dead.exists());

        own.release_pins().unwrap();
        assert!(live_pins(root.path()).unwrap().blobs.is_empty());
        let dir = own.dir().to_path_buf();
        drop(own);
        assert!(!dir.exists());
    }
}

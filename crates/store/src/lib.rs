//! The on-disk content store of hoist: verified blobs, unpacked layers ready
//! to be overlayfs lower directories, and image records.
//!
//! Crash safety: every object is built under `root/tmp/` and published with
//! one atomic rename (after fsync), so a process killed at any point leaves
//! either nothing or the complete object visible; its leftovers in `tmp/`
//! are removed by a later process.
//!
//! Concurrency: any number of threads and processes may use one store.
//! Per-object flocks make a second pull of the same blob or layer wait for the
//! first and then find it done; image metadata changes run under an exclusive
//! flock on `root/store.lock`, reads under a shared one. Objects an in-flight
//! operation relies on are pinned (see [`Store::release_pins`]) so a
//! concurrent garbage collection never deletes them.
//!
//! All calls block: async callers run them in `spawn_blocking`.

mod blob;
mod blob_follow;
mod check;
mod content_digest;
mod contents;
mod decode_ahead;
mod error;
pub mod extract;
mod gc;
mod image;
mod layer;
mod layout;
mod lazy;
mod tmp;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use blob::{BlobSlot, BlobWriter};
pub use blob_follow::BlobFollower;
pub use check::{human_size, CheckReport, Finding, Problem};
pub use error::{Result, StoreError};
pub use extract::{
    extract_tar, extract_tar_until, extract_tar_with, ExtractError, ExtractOptions, ExtractStats,
};
pub use gc::GcReport;
pub use image::now_rfc3339;
pub use image::{ImageRecord, LayerRef, LazyLayer};
pub use layer::LayerInfo;
pub use layer::StagedLayer;
pub use layout::DEFAULT_ROOT;

use error::IoContext;
use hoist_fsutil::FileLock;
use layout::Layout;
use tmp::OwnTmp;

/// An open store. Cheap to clone (clones share one temporary directory and
/// one set of pins); `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    layout: Layout,
    tmp: OwnTmp,
    is_root: bool,
}

impl Store {
    /// Opens the store at `root`, creating its layout if needed, and removes
    /// leftovers of dead processes when no other process is busy.
    pub fn open(root: impl AsRef<Path>) -> Result<Store> {
        let root = std::path::absolute(root.as_ref()).ctx("resolving store root", root.as_ref())?;
        let layout = Layout::new(root);
        // Every command opens the store: the layout is only touched (and
        // the root synced) when something is missing, since a chmod, even
        // to the same mode, is an inode change the next fsync must write.
        let mut changed = false;
        for dir in layout.dirs() {
            if !dir.is_dir() {
                std::fs::create_dir_all(&dir).ctx("creating store directory", &dir)?;
                changed = true;
            }
        }
        // Layers hold setuid binaries and device nodes, blobs may hold
        // private images: only the store's owner may look inside.
        for dir in layout.private_dirs() {
            let mode = std::fs::metadata(&dir)
                .ctx("reading the permissions of", &dir)?
                .permissions()
                .mode();
            if mode & 0o7777 != 0o700 {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .ctx("restricting permissions of", &dir)?;
                changed = true;
            }
        }
        if changed {
            hoist_fsutil::fsync_dir(layout.root())?;
        }
        let lock_path = layout.store_lock();
        // Cleaning needs the exclusive lock; if someone is busy, a later run cleans.
        if let Some(_guard) = FileLock::try_exclusive(&lock_path)? {
            tmp::clean_stale(&layout.tmp())?;
        }
        let tmp = {
            let _guard = FileLock::shared(&lock_path)?;
            OwnTmp::create(&layout.tmp())?
        };
        Ok(Store {
            inner: Arc::new(Inner {
                layout,
                tmp,
                is_root: rustix::process::geteuid().is_root(),
            }),
        })
    }

    /// The store's root directory (absolute).
    pub fn root(&self) -> &Path {
        self.inner.layout.root()
    }

    /// Forgets the pins of this store: the blobs and layers it wrote or found
    /// since it was opened stop being protected from garbage collection by
    /// other processes. Call it when no pull or load is in flight on this
    /// store (pins are also released when the last clone is dropped).
    pub fn release_pins(&self) -> Result<()> {
        self.inner.tmp.release_pins()
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.inner.layout
    }

    pub(crate) fn own_tmp(&self) -> &OwnTmp {
        &self.inner.tmp
    }

    pub(crate) fn running_as_root(&self) -> bool {
        self.inner.is_root
    }

    /// The shared store lock: image records do not change while it is held.
    pub(crate) fn shared_lock(&self) -> Result<FileLock> {
        let p = self.layout().store_lock();
        Ok(FileLock::shared(&p)?)
    }

    /// The exclusive store lock. Never take any other lock while holding it
    /// except without blocking: object locks are taken before it, not after.
    pub(crate) fn exclusive_lock(&self) -> Result<FileLock> {
        let p = self.layout().store_lock();
        Ok(FileLock::exclusive(&p)?)
    }

    /// A scratch directory inside this store's own temporary directory,
    /// removed when dropped; if the process dies first, the next process to
    /// open the store removes it with the rest of this process's leftovers.
    pub fn temp_dir(&self) -> Result<tempfile::TempDir> {
        let parent = self.own_tmp().dir();
        tempfile::Builder::new()
            .prefix("work-")
            .tempdir_in(parent)
            .ctx("creating a scratch directory", parent)
    }

    /// A fresh temporary path in this store's own temporary directory.
    pub(crate) fn tmp_path(&self, prefix: &str) -> PathBuf {
        self.own_tmp().unique(prefix)
    }
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_layout_and_cleans_dead_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join("tmp/999-dead-0");
        std::fs::create_dir_all(&dead).unwrap();
        let s = Store::open(dir.path()).unwrap();
        for sub in ["blobs/sha256", "layers", "tmp", "locks"] {
            assert!(dir.path().join(sub).is_dir(), "{sub} missing");
        }
        for sub in ["blobs", "layers", "tmp", "locks"] {
            let mode = std::fs::metadata(dir.path().join(sub))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{sub}");
        }
        assert!(!dead.exists(), "stale tmp dir survived open");
        // A loosened private directory is restricted again by the next open.
        let layers = dir.path().join("layers");
        std::fs::set_permissions(&layers, std::fs::Permissions::from_mode(0o755)).unwrap();
        drop(Store::open(dir.path()).unwrap());
        let mode = std::fs::metadata(&layers).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "layers after reopening");
        // A second store does not remove the live one's directory.
        let own = s.own_tmp().dir().to_path_buf();
        let s2 = Store::open(dir.path()).unwrap();
        assert!(own.is_dir());
        drop(s2);
        drop(s);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }
}

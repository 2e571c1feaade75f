//! Garbage collection: delete blobs and layers that no image references and
//! no live store has pinned.

use std::collections::HashSet;
use std::path::PathBuf;

use hoist_image::Digest;

use crate::error::{IoContext, Result};
use crate::layer::read_layer_json;
use crate::layout::diff_id_from_dir_name;
use crate::{tmp, ImageRecord, Store};
use hoist_fsutil::{fsync_dir, FileLock};

/// What [`Store::garbage_collect`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub removed_blobs: Vec<Digest>,
    /// diff_ids of the removed layers.
    pub removed_layers: Vec<Digest>,
    /// Leftovers of dead processes removed from `tmp/`.
    pub removed_tmp: Vec<PathBuf>,
    /// Bytes freed: blob sizes plus the uncompressed tar size of each layer
    /// (an estimate of its unpacked size).
    pub freed_bytes: u64,
    /// Unreferenced objects kept because a live hoist process is using them.
    pub kept_pinned: usize,
}

impl Store {
    /// Deletes every blob and layer that no image record references,
    /// except those a running hoist process has pinned (an in-flight pull).
    /// Also removes leftovers of dead processes and unused lock files.
    pub fn garbage_collect(&self) -> Result<GcReport> {
        self.garbage_collect_keeping(&[])
    }

    /// Like [`Store::garbage_collect`], also keeping the blobs and layers
    /// (by blob digest or diff_id) in `keep`, e.g. layers used by containers.
    pub fn garbage_collect_keeping(&self, keep: &[Digest]) -> Result<GcReport> {
        let _guard = self.exclusive_lock()?;
        let mut report = GcReport {
            removed_tmp: tmp::clean_stale(&self.layout().tmp())?,
            ..GcReport::default()
        };
        let images = self.load_images()?.images;
        let unused = self.unreferenced(&images, keep)?;
        report.kept_pinned = unused.in_use;
        for (digest, size) in unused.blobs {
            self.remove_blob_file(&digest)?;
            tracing::info!(%digest, "removed unreferenced blob");
            report.freed_bytes += size;
            report.removed_blobs.push(digest);
        }
        let algorithms: HashSet<_> = report.removed_blobs.iter().map(|d| d.algorithm()).collect();
        for algorithm in algorithms {
            fsync_dir(&self.layout().blob_dir(algorithm))?;
        }
        for (diff_id, dir, size) in unused.layers {
            self.remove_layer_dir(&dir)?;
            tracing::info!(%diff_id, "removed unreferenced layer");
            report.freed_bytes += size;
            report.removed_layers.push(diff_id);
        }
        if !report.removed_layers.is_empty() {
            fsync_dir(&self.layout().layers())?;
        }
        let pins = unused.pins;
        self.collect_lazy_dirs(&images, &pins.blobs)?;
        self.remove_unused_lock_files()?;
        Ok(report)
    }

    /// The blobs and layers that nothing needs: no image record and nothing
    /// in `keep` references them, no live hoist process has pinned them
    /// (an in-flight pull), and nobody holds their object lock (a write or
    /// unpack in progress). The one definition of "unreferenced" that both
    /// garbage collection and `check` use. The caller holds a store lock.
    pub(crate) fn unreferenced(
        &self,
        images: &[ImageRecord],
        keep: &[Digest],
    ) -> Result<Unreferenced> {
        let mut blobs: HashSet<Digest> = keep.iter().cloned().collect();
        let mut layers: HashSet<Digest> = keep.iter().cloned().collect();
        for image in images {
            blobs.extend(image.referenced_blobs().cloned());
            layers.extend(image.layers.iter().map(|l| l.diff_id.clone()));
        }
        // List first, read pins second: an object published after the pins
        // were read cannot be in the listing (see tmp.rs).
        let blob_list = self.list_blobs()?;
        let layer_dirs = self.layer_dirs()?;
        let pins = tmp::live_pins(&self.layout().tmp())?;
        let locked = |kind: &str, d: &Digest| {
            let p = self.layout().object_lock(kind, d);
            hoist_fsutil::lock_held(&p).map_err(crate::StoreError::from)
        };
        let mut out = Unreferenced::default();
        for digest in blob_list {
            if blobs.contains(&digest) {
                continue;
            }
            if pins.blobs.contains(&digest)
                || locked("blob", &digest)?
                || locked("unpack", &digest)?
            {
                out.in_use += 1;
                continue;
            }
            let size = std::fs::symlink_metadata(self.blob_path(&digest))
                .map(|m| m.len())
                .unwrap_or(0);
            out.blobs.push((digest, size));
        }
        for (diff_id, dir) in layer_dirs {
            if layers.contains(&diff_id) {
                continue;
            }
            if pins.layers.contains(&diff_id) || locked("layer", &diff_id)? {
                out.in_use += 1;
                continue;
            }
            // The uncompressed tar size: an estimate of the unpacked size.
            let size = read_layer_json(&dir)
                .ok()
                .flatten()
                .map(|i| i.uncompressed_size)
                .unwrap_or(0);
            out.layers.push((diff_id, dir, size));
        }
        out.pins = pins;
        Ok(out)
    }

    /// Deletes a blob file (a missing one is fine); the caller fsyncs the directory.
    pub(crate) fn remove_blob_file(&self, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).ctx("removing unreferenced blob", &path)
            }
            _ => Ok(()),
        }
    }

    /// Removes the lazy directories no image needs: unreferenced ones, and
    /// those whose layer is now complete in the store. A container still
    /// serving such a layer keeps its open files.
    fn collect_lazy_dirs(
        &self,
        images: &[crate::ImageRecord],
        pinned: &HashSet<Digest>,
    ) -> Result<()> {
        let needed: HashSet<&Digest> = images
            .iter()
            .flat_map(|i| i.layers.iter())
            .filter(|l| l.lazy.is_some() && !self.has_layer(&l.diff_id))
            .map(|l| &l.blob)
            .collect();
        for (blob, dir) in self.lazy_dirs()? {
            if needed.contains(&blob) || pinned.contains(&blob) {
                continue;
            }
            std::fs::remove_dir_all(&dir).ctx("removing lazy layer cache", &dir)?;
            tracing::info!(%blob, "removed lazy layer cache");
        }
        Ok(())
    }

    /// Layer directories by diff_id (complete or not).
    pub(crate) fn layer_dirs(&self) -> Result<Vec<(Digest, PathBuf)>> {
        let dir = self.layout().layers();
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).ctx("listing", &dir)? {
            let e = e.ctx("listing", &dir)?;
            if let Some(d) = diff_id_from_dir_name(&e.file_name().to_string_lossy()) {
                out.push((d, e.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Deletes lock files nobody holds. Safe against racing lockers: they
    /// re-check after locking that their file is still the one in place.
    fn remove_unused_lock_files(&self) -> Result<()> {
        let dir = self.layout().locks();
        for e in std::fs::read_dir(&dir).ctx("listing", &dir)? {
            let path = e.ctx("listing", &dir)?.path();
            if let Ok(Some(lock)) = FileLock::try_exclusive(&path) {
                let _ = lock.remove_file();
            }
        }
        Ok(())
    }
}

/// What [`Store::unreferenced`] found.
#[derive(Debug, Default)]
pub(crate) struct Unreferenced {
    /// Digest and size of each unreferenced blob.
    pub(crate) blobs: Vec<(Digest, u64)>,
    /// diff_id, directory and estimated size of each unreferenced layer.
    pub(crate) layers: Vec<(Digest, PathBuf, u64)>,
    /// Unreferenced objects left out because a live process pinned or locked them.
    pub(crate) in_use: usize,
    /// The pins of the live stores, as read.
    pub(crate) pins: tmp::Pins,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{make_image, put_gzip_layer, simple_tar, store, GZIP};

    #[test]
    fn removes_exactly_the_unreferenced_objects() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let (keep, gone, orphan_blob, orphan_layer) = {
            let s = Store::open(&root).unwrap();
            let keep = s
                .put_image(make_image(&s, "keep", &["localhost/keep:1"]))
                .unwrap();
            let gone = s
                .put_image(make_image(&s, "gone", &["localhost/gone:1"]))
                .unwrap();
            let orphan_blob = s.add_blob(b"nobody wants me").unwrap();
            let (b, diff_id) = put_gzip_layer(&s, &simple_tar("orphan"));
            s.unpack_layer(&b, GZIP).unwrap();
            s.remove_image(&gone.id).unwrap();
            (keep, gone, orphan_blob, diff_id)
        };
        // A fresh store: the one that wrote them (and pinned them) is gone.
        let s = Store::open(&root).unwrap();
        wait_until_unlocked(&s);
        let report = s.garbage_collect().unwrap();
        assert!(report.removed_blobs.contains(&orphan_blob));
        assert!(report.removed_blobs.contains(&gone.manifest_digest));
        assert!(report.removed_blobs.contains(&gone.config_digest));
        assert!(report.removed_blobs.contains(&gone.layers[0].blob));
        assert_eq!(report.removed_blobs.len(), 5, "{report:?}");
        let mut want_layers = vec![gone.layers[0].diff_id.clone(), orphan_layer];
        want_layers.sort();
        assert_eq!(report.removed_layers, want_layers);
        assert!(report.freed_bytes > 0);

        for d in keep.referenced_blobs() {
            assert!(s.has_blob(d), "{d} of a kept image removed");
        }
        assert!(s.has_layer(&keep.layers[0].diff_id));
        assert!(!s.has_layer(&gone.layers[0].diff_id));
        assert_eq!(s.garbage_collect().unwrap(), GcReport::default());
        assert_eq!(std::fs::read_dir(s.layout().locks()).unwrap().count(), 0);
    }

    #[test]
    fn pinned_objects_of_live_stores_survive() {
        let (_d, writer) = store();
        let blob = writer.add_blob(b"being pulled").unwrap();
        let (lb, _) = put_gzip_layer(&writer, &simple_tar("in flight"));
        let layer = writer.unpack_layer(&lb, GZIP).unwrap();
        // Another process collects while the pull is still going on.
        let collector = Store::open(writer.root()).unwrap();
        let report = collector.garbage_collect().unwrap();
        assert!(
            report.removed_blobs.is_empty() && report.removed_layers.is_empty(),
            "{report:?}"
        );
        assert_eq!(report.kept_pinned, 3);
        assert!(writer.has_blob(&blob) && writer.has_layer(&layer.diff_id));
        // Once the writer is done with them, they go.
        writer.release_pins().unwrap();
        wait_until_unlocked(&collector);
        let report = collector.garbage_collect().unwrap();
        assert_eq!(
            (report.removed_blobs.len(), report.removed_layers.len()),
            (2, 1)
        );
    }

    /// Waits until no lock of `s` is held. Collection keeps what is
    /// locked, and a process that another test thread is spawning holds a
    /// copy of every open descriptor, a lock just released included, until
    /// it execs.
    fn wait_until_unlocked(s: &Store) {
        let locks = s.layout().locks();
        hoist_testenv::wait_until(
            std::time::Duration::from_secs(10),
            "no lock of the store held",
            || {
                std::fs::read_dir(&locks).map_or(true, |entries| {
                    entries
                        .flatten()
                        .all(|e| !hoist_fsutil::lock_held(&e.path()).unwrap_or(true))
                })
            },
        );
    }

    #[test]
    fn keep_list_protects_objects() {
        let (_d, s) = store();
        let (lb, _) = put_gzip_layer(&s, &simple_tar("container"));
        let layer = s.unpack_layer(&lb, GZIP).unwrap();
        s.release_pins().unwrap();
        let report = s
            .garbage_collect_keeping(&[layer.diff_id.clone(), lb.clone()])
            .unwrap();
        assert!(report.removed_layers.is_empty() && report.removed_blobs.is_empty());
        wait_until_unlocked(&s);
        assert_eq!(
            s.garbage_collect().unwrap().removed_layers,
            vec![layer.diff_id]
        );
    }
}

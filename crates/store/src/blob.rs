//! Verified, content-addressed blobs.
//!
//! A blob becomes visible only by an atomic rename after its size and digest
//! were checked and its bytes fsynced, so whatever sits at
//! `blobs/<algo>/<hex>` has (barring later disk corruption, which `check`
//! finds) exactly that digest.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use hoist_image::{Digest, Hasher};

use crate::blob_follow::{BlobFollower, End, Shared};
use crate::error::{IoContext, Result, StoreError};
use crate::tmp::PinKind;
use crate::Store;
use hoist_fsutil::{fsync_dir, FileLock};

/// What `begin_blob` found.
// One per blob transfer: boxing the writer would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum BlobSlot {
    /// The blob is already stored (and now pinned for this store): skip the download.
    AlreadyPresent,
    /// Nobody has it: write it through this writer, then `commit`.
    Writer(BlobWriter),
}

/// Streams one blob into the store. Holds the blob's lock, so a concurrent
/// `begin_blob` of the same digest waits for it and then sees
/// `AlreadyPresent`. Dropping it without `commit` removes the partial file.
#[derive(Debug)]
pub struct BlobWriter {
    store: Store,
    expected: Digest,
    expected_size: Option<u64>,
    file: File,
    tmp: PathBuf,
    hasher: HasherDebug,
    written: u64,
    committed: bool,
    /// A reader following the writes (see [`BlobWriter::follow`]).
    followed: Option<Arc<Shared>>,
    _lock: FileLock,
}

/// `Hasher` has no `Debug`; this wrapper gives it one.
struct HasherDebug(Hasher);

impl std::fmt::Debug for HasherDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher")
    }
}

impl Store {
    /// The path a blob has (or would have) in the store.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.layout().blob(digest)
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// The size of a stored blob.
    pub fn blob_size(&self, digest: &Digest) -> Result<u64> {
        let path = self.blob_path(digest);
        match std::fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::BlobNotFound(digest.clone()))
            }
            Err(e) => Err(e).ctx("reading metadata of blob", path),
        }
    }

    /// Opens a stored blob for reading.
    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        match File::open(&path) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::BlobNotFound(digest.clone()))
            }
            Err(e) => Err(e).ctx("opening blob", path),
        }
    }

    /// Reads a small blob (manifest, config) into memory, refusing blobs over
    /// `max` bytes, and verifies its digest on the way.
    pub fn read_blob(&self, digest: &Digest, max: u64) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let mut f = self.open_blob(digest)?;
        let size = f.metadata().ctx("reading metadata of blob", &path)?.len();
        if size > max {
            return Err(StoreError::BlobTooLarge {
                digest: digest.clone(),
                size,
                max,
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        Read::by_ref(&mut f)
            .take(max + 1)
            .read_to_end(&mut buf)
            .ctx("reading blob", &path)?;
        let actual = digest.same_algorithm_of(&buf);
        if &actual != digest {
            return Err(StoreError::CorruptBlob {
                digest: digest.clone(),
                actual,
            });
        }
        Ok(buf)
    }

    /// Stores `bytes` as blob `expected` after verifying the digest.
    /// Storing a blob that is present already is a no-op.
    pub fn put_blob(&self, expected: &Digest, bytes: &[u8]) -> Result<()> {
        match self.begin_blob(expected, Some(bytes.len() as u64))? {
            BlobSlot::AlreadyPresent => Ok(()),
            BlobSlot::Writer(mut w) => {
                w.write_all(bytes).ctx("writing blob", w.tmp.clone())?;
                w.commit().map(|_| ())
            }
        }
    }

    /// Stores `bytes` under their sha256 digest, which it returns.
    pub fn add_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::sha256_of(bytes);
        self.put_blob(&digest, bytes)?;
        Ok(digest)
    }

    /// Starts storing blob `expected`. Returns `AlreadyPresent` if it is
    /// stored (possibly after waiting for a concurrent writer of the same
    /// digest to finish), else a writer holding the blob's lock.
    pub fn begin_blob(&self, expected: &Digest, expected_size: Option<u64>) -> Result<BlobSlot> {
        if self.pin_if_present(PinKind::Blob, expected)? {
            return Ok(BlobSlot::AlreadyPresent);
        }
        let lock_path = self.layout().object_lock("blob", expected);
        let lock = FileLock::exclusive(&lock_path)?;
        // Somebody may have finished it while we waited for the lock.
        if self.pin_if_present(PinKind::Blob, expected)? {
            return Ok(BlobSlot::AlreadyPresent);
        }
        let tmp = self.tmp_path("blob");
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .ctx("creating temporary blob file", &tmp)?;
        Ok(BlobSlot::Writer(BlobWriter {
            store: self.clone(),
            expected: expected.clone(),
            expected_size,
            file,
            tmp,
            hasher: HasherDebug(Hasher::new(expected.algorithm())),
            written: 0,
            committed: false,
            followed: None,
            _lock: lock,
        }))
    }

    /// Every blob in the store, by digest (files with other names are ignored here; `check` reports them).
    pub fn list_blobs(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        let blobs = self.layout().blobs();
        for algo in std::fs::read_dir(&blobs).ctx("listing", &blobs)? {
            let algo = algo.ctx("listing", &blobs)?;
            let algo_name = algo.file_name().to_string_lossy().into_owned();
            if !algo.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            for f in std::fs::read_dir(algo.path()).ctx("listing", algo.path())? {
                let f = f.ctx("listing", algo.path())?;
                if let Some(d) =
                    crate::layout::blob_digest(&algo_name, &f.file_name().to_string_lossy())
                {
                    out.push(d);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Pins `digest` and tells whether it is present, atomically with respect
    /// to garbage collection (which holds the exclusive store lock).
    pub(crate) fn pin_if_present(&self, kind: PinKind, digest: &Digest) -> Result<bool> {
        let _guard = self.shared_lock()?;
        let present = match kind {
            PinKind::Blob => self.has_blob(digest),
            PinKind::Layer => self.layout().layer(digest).join("layer.json").is_file(),
        };
        if present {
            self.own_tmp().pin(kind, digest)?;
        }
        Ok(present)
    }
}

impl BlobWriter {
    /// The digest this writer must produce.
    pub fn digest(&self) -> &Digest {
        &self.expected
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// A reader of the blob as this writer writes it, which waits for more
    /// until [`BlobWriter::end_of_stream`] (then it reaches end of file) or
    /// until the writer is dropped (then it fails). What it reads is
    /// unverified until [`BlobWriter::commit`] succeeds.
    pub fn follow(&mut self) -> Result<BlobFollower> {
        let file = File::open(&self.tmp).ctx("opening the blob being written", &self.tmp)?;
        let shared = Arc::new(Shared::default());
        shared.advance(self.written);
        self.followed = Some(shared.clone());
        Ok(BlobFollower::new(file, shared))
    }

    /// Every byte is written: a follower reaches end of file.
    pub fn end_of_stream(&self) {
        if let Some(s) = &self.followed {
            s.end(End::Complete);
        }
    }

    /// Verifies size and digest, makes the blob durable and visible, and
    /// returns its size. On error nothing is stored.
    pub fn commit(mut self) -> Result<u64> {
        self.end_of_stream();
        let digest = self.expected.clone();
        if let Some(expected) = self.expected_size {
            if self.written < expected {
                return Err(StoreError::Truncated {
                    digest,
                    expected,
                    actual: self.written,
                });
            }
            if self.written > expected {
                return Err(StoreError::SizeMismatch {
                    digest,
                    expected,
                    actual: self.written,
                });
            }
        }
        let hasher = std::mem::replace(&mut self.hasher.0, Hasher::new(digest.algorithm()));
        let actual = hasher.finish();
        if actual != digest {
            return Err(StoreError::DigestMismatch {
                expected: digest,
                actual,
            });
        }
        self.file.sync_all().ctx("syncing blob", &self.tmp)?;
        self.file
            .set_permissions(Permissions::from_mode(0o444))
            .ctx("making blob read-only", &self.tmp)?;
        let dest = self.store.blob_path(&digest);
        let dir = self.store.layout().blob_dir(digest.algorithm());
        std::fs::create_dir_all(&dir).ctx("creating blob directory", &dir)?;
        {
            // Pin before the rename, under the shared lock: see tmp.rs.
            let _guard = self.store.shared_lock()?;
            self.store.own_tmp().pin(PinKind::Blob, &digest)?;
            std::fs::rename(&self.tmp, &dest).ctx("publishing blob", &dest)?;
        }
        self.committed = true;
        fsync_dir(&dir)?;
        tracing::debug!(%digest, size = self.written, "stored blob");
        Ok(self.written)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(expected) = self.expected_size {
            if self.written + buf.len() as u64 > expected {
                // Counted so that `commit` reports SizeMismatch, not success.
                self.written += buf.len() as u64;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob {} is larger than its expected {expected} bytes",
                        self.expected
                    ),
                ));
            }
        }
        let n = self.file.write(buf)?;
        self.hasher.0.update(&buf[..n]);
        self.written += n as u64;
        if let Some(s) = &self.followed {
            s.advance(self.written);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if let Some(s) = &self.followed {
            // After end_of_stream this changes nothing.
            s.end(End::Abandoned);
        }
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{own_tmp_is_empty, store};
    use std::sync::{Arc, Barrier};

    #[test]
    fn put_read_and_stream() {
        let (_d, s) = store();
        let d = s.add_blob(b"hello").unwrap();
        assert!(s.has_blob(&d));
        assert_eq!(s.read_blob(&d, 100).unwrap(), b"hello");
        assert_eq!(s.blob_size(&d).unwrap(), 5);
        assert!(matches!(
            s.read_blob(&d, 4),
            Err(StoreError::BlobTooLarge { .. })
        ));
        let mode = std::fs::metadata(s.blob_path(&d))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o444);
        assert!(matches!(
            s.begin_blob(&d, None).unwrap(),
            BlobSlot::AlreadyPresent
        ));

        let big = vec![7u8; 300_000];
        let bd = Digest::sha256_of(&big);
        let BlobSlot::Writer(mut w) = s.begin_blob(&bd, Some(big.len() as u64)).unwrap() else {
            panic!("present")
        };
        for chunk in big.chunks(4096) {
            w.write_all(chunk).unwrap();
        }
        assert_eq!(w.commit().unwrap(), 300_000);
        assert_eq!(s.list_blobs().unwrap().len(), 2);
        assert!(own_tmp_is_empty(&s));
    }

    #[test]
    fn mismatch_truncation_and_abort_leave_nothing() {
        let (_d, s) = store();
        let want = Digest::sha256_of(b"right");

        let e = s.put_blob(&want, b"wrong").unwrap_err();
        assert!(
            matches!(e, StoreError::DigestMismatch { ref actual, .. } if *actual == Digest::sha256_of(b"wrong")),
            "{e}"
        );

        let BlobSlot::Writer(mut w) = s.begin_blob(&want, Some(5)).unwrap() else {
            panic!()
        };
        w.write_all(b"rig").unwrap();
        let e = w.commit().unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::Truncated {
                    expected: 5,
                    actual: 3,
                    ..
                }
            ),
            "{e}"
        );

        let BlobSlot::Writer(mut w) = s.begin_blob(&want, Some(5)).unwrap() else {
            panic!()
        };
        w.write_all(b"right").unwrap();
        assert!(
            w.write_all(b"!").is_err(),
            "write past the expected size accepted"
        );
        let e = w.commit().unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::SizeMismatch {
                    expected: 5,
                    actual: 6,
                    ..
                }
            ),
            "{e}"
        );

        let BlobSlot::Writer(mut w) = s.begin_blob(&want, None).unwrap() else {
            panic!()
        };
        w.write_all(b"rig").unwrap();
        drop(w); // aborted midway

        assert!(!s.has_blob(&want));
        assert!(s.list_blobs().unwrap().is_empty());
        assert!(own_tmp_is_empty(&s));
        assert!(matches!(
            s.open_blob(&want),
            Err(StoreError::BlobNotFound(_))
        ));
        // After all that, a correct write still works.
        s.put_blob(&want, b"right").unwrap();
        assert_eq!(s.read_blob(&want, 10).unwrap(), b"right");
    }

    #[test]
    fn concurrent_writers_of_one_digest_store_it_once() {
        let (_d, s) = store();
        let data = Arc::new(vec![42u8; 1 << 20]);
        let digest = Digest::sha256_of(&data);
        let n = 6;
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (s, data, digest, barrier) =
                    (s.clone(), data.clone(), digest.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    match s.begin_blob(&digest, Some(data.len() as u64)).unwrap() {
                        BlobSlot::AlreadyPresent => false,
                        BlobSlot::Writer(mut w) => {
                            for c in data.chunks(65536) {
                                w.write_all(c).unwrap();
                                std::thread::yield_now();
                            }
                            w.commit().unwrap();
                            true
                        }
                    }
                })
            })
            .collect();
        let wrote: usize = handles
            .into_iter()
            .map(|h| h.join().unwrap() as usize)
            .sum();
        assert_eq!(wrote, 1, "exactly one thread downloads");
        assert_eq!(s.list_blobs().unwrap(), vec![digest.clone()]);
        assert_eq!(s.read_blob(&digest, 2 << 20).unwrap().len(), 1 << 20);
        assert!(own_tmp_is_empty(&s));
    }

    #[test]
    fn read_blob_detects_corruption() {
        let (_d, s) = store();
        let d = s.add_blob(b"content").unwrap();
        let p = s.blob_path(&d);
        std::fs::set_permissions(&p, Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&p, b"CONTENT").unwrap();
        assert!(matches!(
            s.read_blob(&d, 100),
            Err(StoreError::CorruptBlob { .. })
        ));
    }
}

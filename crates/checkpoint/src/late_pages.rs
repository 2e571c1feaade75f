//! Restoring an imported archive while its memory pages are still being
//! extracted.
//!
//! Memory pages are nearly all of an archive, and CRIU reads them only
//! late in a restore: after it has started, read every other image and
//! set up the namespaces and mounts (over 100 ms here). hoist's exports
//! therefore end with the page images, after an empty entry
//! ([`PAGES_FOLLOW`]) that says only page images come after it. An import
//! extracts everything before that entry, returns, and writes the pages in
//! a thread while the container is created and CRIU starts.
//!
//! CRIU must not read a page image before it is complete. While pages are
//! being written, the images directory holds [`PENDING`], locked by the
//! importer; [`crate::restore`] asks CRIU to stop before the stage that
//! reads pages (the "post-setup-namespaces" notification) and goes on only
//! once that lock is free and the file gone. An importer that fails or dies
//! leaves the file behind, and the restore is abandoned.
//!
//! Archives without the entry (podman's, whose page images lie amid the
//! other images) are extracted whole before the import returns.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rustix::fs::{FlockOperation, Mode, OFlags};

use crate::error::{CheckpointError, Result};

/// The archive entry after which only page images follow.
pub const PAGES_FOLLOW: &str = "hoist-pages-follow";

/// In an images directory: page images are still being written.
const PENDING: &str = ".pages-pending";

/// CRIU's page image names: `pages-N.img`.
pub(crate) fn is_page_image(file_name: &str) -> bool {
    file_name
        .strip_prefix("pages-")
        .and_then(|rest| rest.strip_suffix(".img"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The importer's hold on an images directory whose pages are coming.
/// The directory is known by descriptor: the restorer moves it into the
/// container while the pages are being written.
struct PendingPages {
    dir: File,
    _lock: File,
}

impl PendingPages {
    fn hold(dir: &File) -> std::io::Result<PendingPages> {
        let fd = rustix::fs::openat(
            dir,
            PENDING,
            OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        rustix::fs::flock(&fd, FlockOperation::LockExclusive)?;
        Ok(PendingPages {
            dir: dir.try_clone()?,
            _lock: File::from(fd),
        })
    }

    /// All pages are written: the file goes, then the lock.
    fn complete(self) -> std::io::Result<()> {
        rustix::fs::unlinkat(&self.dir, PENDING, rustix::fs::AtFlags::empty())?;
        Ok(())
    }
}

/// Whether an importer is (or was) writing pages into `images_dir`.
pub(crate) fn pages_pending(images_dir: &Path) -> bool {
    images_dir.join(PENDING).exists()
}

/// Waits until no importer writes pages into `images_dir` any more, and
/// says whether they all arrived.
pub(crate) fn wait_for_pages(images_dir: &Path) -> bool {
    let path = images_dir.join(PENDING);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
    };
    // The importer holds it exclusively until it is done, or dead.
    if rustix::fs::flock(&file, FlockOperation::LockShared).is_err() {
        return false;
    }
    !path.exists()
}

/// An import whose page images are still being written.
pub struct Import {
    cancel: Arc<AtomicBool>,
    worker: Option<JoinHandle<Result<()>>>,
}

impl Import {
    /// An import with nothing left to write.
    pub(crate) fn done() -> Import {
        Import {
            cancel: Arc::new(AtomicBool::new(false)),
            worker: None,
        }
    }

    /// Writes the page images that `rest` (the archive after
    /// [`PAGES_FOLLOW`]) holds into `images_dir`, in a thread; `archive`
    /// names the file in errors.
    pub(crate) fn start(
        rest: Box<dyn Read + Send>,
        images_dir: &Path,
        archive: &Path,
    ) -> Result<Import> {
        let bad = |e: std::io::Error| CheckpointError::BadArchive {
            path: archive.to_path_buf(),
            reason: format!(
                "writing its memory pages into {}: {e}",
                images_dir.display()
            ),
        };
        let dir = File::open(images_dir).map_err(bad)?;
        let pending = PendingPages::hold(&dir).map_err(bad)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let worker = {
            let (cancel, archive) = (cancel.clone(), archive.to_path_buf());
            std::thread::Builder::new()
                .name("late-pages".into())
                .spawn(move || {
                    write_pages(rest, &dir, &cancel)
                        .and_then(|()| pending.complete())
                        .map_err(|e| CheckpointError::BadArchive {
                            path: archive,
                            reason: format!("its memory pages: {e}"),
                        })
                })
                .map_err(bad)?
        };
        Ok(Import {
            cancel,
            worker: Some(worker),
        })
    }

    /// Waits until every page image is written.
    pub fn finish(mut self) -> Result<()> {
        self.join()
    }

    fn join(&mut self) -> Result<()> {
        match self.worker.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(written)) => written,
            Some(Err(_)) => Err(CheckpointError::Io {
                op: "writing",
                path: "the archive's memory pages".into(),
                source: std::io::Error::other("the writing thread panicked"),
            }),
        }
    }
}

impl Drop for Import {
    /// An import given up (the restore failed before it needed the pages)
    /// stops writing them.
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        let _ = self.join();
    }
}

/// Writes each entry of the tar stream `rest` into `dir`: only complete
/// page images, each a new file.
fn write_pages(rest: impl Read, dir: &File, cancel: &AtomicBool) -> std::io::Result<()> {
    let mut archive = tar::Archive::new(rest);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = path
            .strip_prefix("checkpoint/")
            .filter(|n| is_page_image(n) && kind == tar::EntryType::Regular)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{path} comes after {PAGES_FOLLOW}, where only page images may"),
                )
            })?;
        let size = entry.header().entry_size()?;
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        let written = copy_unless_cancelled(&mut entry, &mut File::from(fd), cancel)?;
        if written != size {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{path} is cut short: {written} of {size} bytes"),
            ));
        }
    }
    Ok(())
}

fn copy_unless_cancelled(
    from: &mut impl Read,
    to: &mut File,
    cancel: &AtomicBool,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("the import was given up"));
        }
        match from.read(&mut buf)? {
            0 => return Ok(total),
            n => {
                to.write_all(&buf[..n])?;
                total += n as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_image_names_are_criu_s() {
        assert!(is_page_image("pages-1.img"));
        assert!(is_page_image("pages-123.img"));
        assert!(!is_page_image("pagemap-1.img"));
        assert!(!is_page_image("pages-.img"));
        assert!(!is_page_image("pages-1.img/x"));
        assert!(!is_page_image("pages-../1.img"));
    }

    #[test]
    fn the_gate_opens_once_the_pages_are_complete() {
        let dir = tempfile::tempdir().unwrap();
        assert!(wait_for_pages(dir.path()), "nothing pending");
        let pending = PendingPages::hold(&File::open(dir.path()).unwrap()).unwrap();
        assert!(pages_pending(dir.path()));
        let waiter = {
            let d = dir.path().to_path_buf();
            std::thread::spawn(move || wait_for_pages(&d))
        };
        pending.complete().unwrap();
        assert!(waiter.join().unwrap());
        assert!(!pages_pending(dir.path()));
    }

    #[test]
    fn an_importer_that_fails_keeps_the_gate_shut() {
        let dir = tempfile::tempdir().unwrap();
        drop(PendingPages::hold(&File::open(dir.path()).unwrap()).unwrap());
        assert!(!wait_for_pages(dir.path()));
    }

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn only_page_images_may_follow_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let ok = tar_of(&[
            ("checkpoint/pages-1.img", b"one"),
            ("checkpoint/pages-2.img", b""),
        ]);
        write_pages(
            &ok[..],
            &File::open(dir.path()).unwrap(),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("pages-1.img")).unwrap(),
            b"one"
        );
        for hostile in [
            tar_of(&[("checkpoint/core-1.img", b"x")]),
            tar_of(&[("config.dump", b"{}")]),
            tar_of(&[("checkpoint/pages-1.img", b"again")]),
        ] {
            let e = write_pages(
                &hostile[..],
                &File::open(dir.path()).unwrap(),
                &AtomicBool::new(false),
            )
            .unwrap_err();
            assert!(
                e.to_string().contains("only page images")
                    || e.kind() == std::io::ErrorKind::AlreadyExists,
                "{e}"
            );
        }
    }

    #[test]
    fn a_page_image_cut_short_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let whole = tar_of(&[("checkpoint/pages-1.img", &[7u8; 2048])]);
        let cut = &whole[..512 + 1000];
        let e = write_pages(
            cut,
            &File::open(dir.path()).unwrap(),
            &AtomicBool::new(false),
        )
        .unwrap_err();
        assert!(e.to_string().contains("cut short"), "{e}");
    }

    /// Gives `data` only once told to: an archive still being read.
    struct HeldBack {
        go: std::sync::mpsc::Receiver<()>,
        data: std::io::Cursor<Vec<u8>>,
        waited: bool,
    }

    impl Read for HeldBack {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if !self.waited {
                let _ = self.go.recv();
                self.waited = true;
            }
            self.data.read(buf)
        }
    }

    #[test]
    fn pages_arrive_in_the_images_directory_after_it_moved() {
        let root = tempfile::tempdir().unwrap();
        let staged = root.path().join("staged");
        std::fs::create_dir(&staged).unwrap();
        let (tx, go) = std::sync::mpsc::channel();
        let rest = HeldBack {
            go,
            data: std::io::Cursor::new(tar_of(&[("checkpoint/pages-1.img", b"pages")])),
            waited: false,
        };
        let import = Import::start(Box::new(rest), &staged, Path::new("a.tar")).unwrap();
        // The restorer moves the directory into the container, which
        // starts restoring and waits for the pages.
        let moved = root.path().join("container-checkpoint");
        std::fs::rename(&staged, &moved).unwrap();
        assert!(pages_pending(&moved));
        let waiter = {
            let m = moved.clone();
            std::thread::spawn(move || wait_for_pages(&m))
        };
        tx.send(()).unwrap();
        import.finish().unwrap();
        assert!(waiter.join().unwrap());
        assert_eq!(std::fs::read(moved.join("pages-1.img")).unwrap(), b"pages");
        assert!(!pages_pending(&moved));
    }
}

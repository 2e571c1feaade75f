//! Working on CRIU's page images while CRIU is still writing them.
//!
//! Memory pages are nearly all of an exported checkpoint, and CRIU dumps
//! them on one core, one process after another, appending each process's
//! pages to its own `pages-N.img`. A [`PageFollower`] follows those files
//! as they grow, on the other core:
//!
//! - It starts writing them to disk. The export lets go of the container,
//!   and unmounting its overlay root syncs the file system under it, the
//!   store's, where the images are: written out only then, 256 MB of pages
//!   kept the unmount, and the export, waiting for a tenth of a second.
//! - For a zstd archive, it compresses each into a zstd frame of its own,
//!   so that the archive, written once the dump is over, only has to
//!   splice the frames in (zstd decoders read concatenated frames as one
//!   stream). A frame is used only when it covers the whole file as it
//!   ended up; any other file is compressed with the rest of the archive.

use hoist_fsutil::start_writeback;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the follower waits for CRIU to write more.
const POLL: Duration = Duration::from_millis(1);
const CHUNK: usize = 1 << 20;

/// One page image compressed on the side: a complete zstd frame of the
/// first `len` bytes of the file `name` in the images directory, as it was
/// when its end was read (`identity`).
#[derive(Debug)]
pub struct CompressedPages {
    pub name: String,
    pub len: u64,
    pub frame: Vec<u8>,
    identity: FileIdentity,
}

/// Inode and modification time: a file written again after it was read
/// has a new one.
#[derive(Debug, PartialEq, Eq)]
struct FileIdentity {
    ino: u64,
    mtime: (i64, i64),
}

impl FileIdentity {
    fn of(meta: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

impl CompressedPages {
    /// Whether this frame holds all of `path`, whose metadata is `meta`.
    pub(crate) fn covers(&self, meta: &std::fs::Metadata) -> bool {
        meta.is_file() && meta.len() == self.len && FileIdentity::of(meta) == self.identity
    }
}

/// Follows `pages-1.img`, `pages-2.img`, ... of a dump in progress.
pub struct PageFollower {
    dump_over: Arc<AtomicBool>,
    worker: Option<JoinHandle<Vec<CompressedPages>>>,
}

impl PageFollower {
    /// Starts following the page images CRIU is about to write into
    /// `images_dir`, writing them out and compressing them at the
    /// archive's zstd level.
    pub fn compressing(images_dir: &Path) -> PageFollower {
        Self::start(images_dir, Some(crate::archive::ZSTD_LEVEL))
    }

    /// The same for an archive that is not zstd: the images are only
    /// written out.
    pub fn writing_back(images_dir: &Path) -> PageFollower {
        Self::start(images_dir, None)
    }

    fn start(images_dir: &Path, level: Option<i32>) -> PageFollower {
        let dump_over = Arc::new(AtomicBool::new(false));
        let worker = {
            let (dir, over) = (images_dir.to_path_buf(), dump_over.clone());
            std::thread::Builder::new()
                .name("early-pages".into())
                .spawn(move || follow_all(&dir, &over, level))
                .ok()
        };
        PageFollower { dump_over, worker }
    }

    /// Call once CRIU has exited: compresses what is left and returns the
    /// frames (none when only writing back). A file the follower could not
    /// read is simply not among them, and goes into the archive the
    /// ordinary way.
    pub fn finish(mut self) -> Vec<CompressedPages> {
        self.dump_over.store(true, Ordering::Release);
        self.worker
            .take()
            .and_then(|w| w.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for PageFollower {
    fn drop(&mut self) {
        self.dump_over.store(true, Ordering::Release);
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn page_image(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("pages-{n}.img"))
}

/// The worker: each page image in turn, until the dump is over and the
/// next one does not exist. Without a level, nothing is compressed.
fn follow_all(dir: &Path, dump_over: &AtomicBool, level: Option<i32>) -> Vec<CompressedPages> {
    let mut out = Vec::new();
    for n in 1.. {
        let path = page_image(dir, n);
        let file = loop {
            match File::open(&path) {
                Ok(f) => break Some(f),
                Err(_) if dump_over.load(Ordering::Acquire) => {
                    // One last look: CRIU may have made it just before exiting.
                    break File::open(&path).ok();
                }
                Err(_) => std::thread::sleep(POLL),
            }
        };
        let Some(file) = file else {
            return out;
        };
        // CRIU starts the next process's image only when this one is
        // complete: its appearance, or CRIU's end, means no more bytes.
        let next = page_image(dir, n + 1);
        let done = || dump_over.load(Ordering::Acquire) || next.exists();
        let Some(level) = level else {
            if let Err(e) = write_back_growing(&file, done) {
                tracing::debug!(path = %path.display(), "writing pages out early: {e}");
            }
            continue;
        };
        match compress_growing(file, level, done) {
            Ok((identity, len, frame)) => out.push(CompressedPages {
                name: format!("pages-{n}.img"),
                len,
                frame,
                identity,
            }),
            Err(e) => tracing::debug!(path = %path.display(), "compressing pages early: {e}"),
        }
    }
    out
}

/// Compresses `file` as it grows into one zstd frame, until `done` says it
/// will not grow any more and its end is reached. Returns what the file
/// was then, its length and the frame.
fn compress_growing(
    mut file: File,
    level: i32,
    done: impl Fn() -> bool,
) -> std::io::Result<(FileIdentity, u64, Vec<u8>)> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), level)?;
    let mut buf = vec![0u8; CHUNK];
    let mut len = 0u64;
    loop {
        // Read `done` before the read: a file complete by then is read to
        // its very end by this pass.
        let finished = done();
        match file.read(&mut buf)? {
            0 if finished => break,
            0 => std::thread::sleep(POLL),
            n => {
                enc.write_all(&buf[..n])?;
                start_writeback(&file, len, n as u64);
                len += n as u64;
            }
        }
    }
    let identity = FileIdentity::of(&file.metadata()?);
    Ok((identity, len, enc.finish()?))
}

/// Starts writing `file` to disk as it grows, until `done` says it will
/// not grow any more and all of it has been handed to the disk.
fn write_back_growing(file: &File, done: impl Fn() -> bool) -> std::io::Result<()> {
    let mut written = 0u64;
    loop {
        let finished = done();
        let len = file.metadata()?.len();
        if len > written {
            start_writeback(file, written, len - written);
            written = len;
        } else if finished {
            return Ok(());
        } else {
            std::thread::sleep(POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decompress(frame: &[u8]) -> Vec<u8> {
        zstd::stream::decode_all(frame).unwrap()
    }

    #[test]
    fn files_written_while_followed_are_compressed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let compressor = PageFollower::compressing(dir.path());
        let first: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let mut f = File::create(page_image(dir.path(), 1)).unwrap();
        for part in first.chunks(CHUNK / 3) {
            f.write_all(part).unwrap();
            std::thread::yield_now();
        }
        drop(f);
        std::fs::write(page_image(dir.path(), 2), b"second").unwrap();
        let frames = compressor.finish();
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert_eq!(frames[0].name, "pages-1.img");
        assert_eq!(frames[0].len, first.len() as u64);
        assert_eq!(decompress(&frames[0].frame), first);
        assert_eq!(decompress(&frames[1].frame), b"second");
        let meta = std::fs::metadata(page_image(dir.path(), 1)).unwrap();
        assert!(frames[0].covers(&meta));
    }

    #[test]
    fn a_file_that_grew_after_it_was_read_is_not_covered() {
        let dir = tempfile::tempdir().unwrap();
        let compressor = PageFollower::compressing(dir.path());
        std::fs::write(page_image(dir.path(), 1), b"pages").unwrap();
        let frames = compressor.finish();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(page_image(dir.path(), 1))
            .unwrap();
        f.write_all(b" and more").unwrap();
        let meta = std::fs::metadata(page_image(dir.path(), 1)).unwrap();
        assert!(!frames[0].covers(&meta));
    }

    #[test]
    fn a_dump_without_page_images_gives_no_frames() {
        let dir = tempfile::tempdir().unwrap();
        assert!(PageFollower::compressing(dir.path()).finish().is_empty());
    }

    #[test]
    fn writing_back_follows_every_image_and_compresses_none() {
        let dir = tempfile::tempdir().unwrap();
        let follower = PageFollower::writing_back(dir.path());
        let data = vec![7u8; 2 * CHUNK + 5];
        let mut f = File::create(page_image(dir.path(), 1)).unwrap();
        for part in data.chunks(CHUNK / 2) {
            f.write_all(part).unwrap();
            std::thread::yield_now();
        }
        drop(f);
        std::fs::write(page_image(dir.path(), 2), b"second").unwrap();
        assert!(follower.finish().is_empty());
        assert_eq!(std::fs::read(page_image(dir.path(), 1)).unwrap(), data);
    }
}

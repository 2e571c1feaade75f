//! Reading a blob while it is still being written: a pull unpacks a layer
//! from the bytes already downloaded instead of waiting for the whole blob.
//!
//! The [`BlobWriter`](crate::BlobWriter) writes straight to its temporary
//! file, so what it has written is in the page cache; a [`BlobFollower`]
//! reads the same file through its own descriptor up to the length the
//! writer has reached, and waits when it catches up. The writer ends the
//! stream: complete (the reader sees end of file) or abandoned (the reader
//! gets an error, so a half-downloaded layer is never taken for a whole
//! one). Nothing a follower reads is trusted until the writer's commit has
//! verified the blob's digest.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex};

/// How a followed stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Complete,
    Abandoned,
}

#[derive(Debug, Default)]
struct Progress {
    written: u64,
    end: Option<End>,
}

/// What a writer shares with its follower.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
}

impl Shared {
    /// The writer has `written` bytes in the file now.
    pub(crate) fn advance(&self, written: u64) {
        self.lock().written = written;
        self.changed.notify_all();
    }

    /// The writer will write no more. The first end stands.
    pub(crate) fn end(&self, end: End) {
        let mut p = self.lock();
        if p.end.is_none() {
            p.end = Some(end);
        }
        drop(p);
        self.changed.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        // A poisoned lock only means a panic elsewhere; the counters stay valid.
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads a blob as its writer writes it (see the module documentation).
#[derive(Debug)]
pub struct BlobFollower {
    file: File,
    pos: u64,
    shared: Arc<Shared>,
}

impl BlobFollower {
    pub(crate) fn new(file: File, shared: Arc<Shared>) -> BlobFollower {
        BlobFollower {
            file,
            pos: 0,
            shared,
        }
    }
}

impl Read for BlobFollower {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut p = self.shared.lock();
        loop {
            if p.written > self.pos {
                let available = (p.written - self.pos).min(buf.len() as u64) as usize;
                drop(p);
                let n = self.file.read_at(&mut buf[..available], self.pos)?;
                self.pos += n as u64;
                return Ok(n);
            }
            match p.end {
                Some(End::Complete) => return Ok(0),
                Some(End::Abandoned) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the blob's download stopped before its end",
                    ))
                }
                None => {
                    p = self
                        .shared
                        .changed
                        .wait(p)
                        .unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pair() -> (File, BlobFollower, Arc<Shared>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let writer = File::create(&path).unwrap();
        let shared = Arc::new(Shared::default());
        let follower = BlobFollower::new(File::open(&path).unwrap(), shared.clone());
        (writer, follower, shared, dir)
    }

    #[test]
    fn reads_what_is_written_as_it_comes_and_ends_with_the_stream() {
        let (mut writer, mut follower, shared, _dir) = pair();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            follower.read_to_end(&mut all).map(|_| all)
        });
        let mut written = 0;
        for chunk in [&b"first "[..], b"second ", b"third"] {
            writer.write_all(chunk).unwrap();
            written += chunk.len() as u64;
            shared.advance(written);
        }
        shared.end(End::Complete);
        assert_eq!(reader.join().unwrap().unwrap(), b"first second third");
    }

    #[test]
    fn bytes_in_the_file_beyond_what_the_writer_announced_are_not_read() {
        let (mut writer, mut follower, shared, _dir) = pair();
        writer.write_all(b"announced-and-more").unwrap();
        shared.advance(9);
        shared.end(End::Complete);
        let mut all = Vec::new();
        follower.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"announced");
    }

    #[test]
    fn an_abandoned_download_is_an_error_not_an_end_of_file() {
        let (mut writer, mut follower, shared, _dir) = pair();
        writer.write_all(b"half").unwrap();
        shared.advance(4);
        shared.end(End::Abandoned);
        // A later end does not turn it into a complete one.
        shared.end(End::Complete);
        let mut all = Vec::new();
        let err = follower.read_to_end(&mut all).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(all, b"half");
    }
}

//! The content digests of the files a layer unpacks to, hashed on a thread
//! of their own: the extracting thread only hands over what it writes.
//! Files come one after another in a tar, so the hashing thread keeps one
//! hasher at a time and files each digest under its inode at the file's end.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use hoist_image::Hasher;

use super::FileDigests;

/// Bytes of one file handed over at a time.
const BATCH: usize = 1 << 20;
/// Messages waiting for the hashing thread at most (bounds the memory).
const QUEUED: usize = 64;

enum Message {
    /// More of the current file.
    Data(Vec<u8>),
    /// The current file's last bytes; its digest goes under `key`.
    End { tail: Vec<u8>, key: (u64, u64) },
}

/// Hashes the files being written (see the module documentation).
pub(crate) struct FileHasher {
    batch: Vec<u8>,
    to_thread: Option<SyncSender<Message>>,
    thread: Option<JoinHandle<FileDigests>>,
}

impl FileHasher {
    pub(crate) fn new() -> FileHasher {
        let (tx, rx) = sync_channel::<Message>(QUEUED);
        let thread = std::thread::spawn(move || {
            let mut digests = FileDigests::new();
            let mut current = Hasher::sha256();
            for message in rx {
                match message {
                    Message::Data(bytes) => current.update(&bytes),
                    Message::End { tail, key } => {
                        current.update(&tail);
                        let done = std::mem::replace(&mut current, Hasher::sha256());
                        digests.insert(key, done.finish());
                    }
                }
            }
            digests
        });
        FileHasher {
            batch: Vec::new(),
            to_thread: Some(tx),
            thread: Some(thread),
        }
    }

    /// More bytes of the file being written.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.batch.extend_from_slice(bytes);
        if self.batch.len() >= BATCH {
            let full = std::mem::take(&mut self.batch);
            self.send(Message::Data(full));
        }
    }

    /// The file being written is complete; `key` is its `(st_dev, st_ino)`.
    pub(crate) fn end_file(&mut self, key: (u64, u64)) {
        let tail = std::mem::take(&mut self.batch);
        self.send(Message::End { tail, key });
    }

    /// Every file's digest. A file missing here (the thread could not
    /// take it) is hashed again by whoever needs its digest.
    pub(crate) fn into_digests(mut self) -> FileDigests {
        drop(self.to_thread.take());
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }

    fn send(&mut self, message: Message) {
        let sent = self.to_thread.as_ref().map(|tx| tx.send(message));
        if !matches!(sent, Some(Ok(()))) {
            self.to_thread = None;
        }
    }
}

impl Drop for FileHasher {
    /// An extraction that stops half-way (a bad entry) still waits for its
    /// hashing thread: no thread outlives the extraction that started it.
    fn drop(&mut self) {
        drop(self.to_thread.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_image::Digest;

    #[test]
    fn each_file_gets_the_digest_of_its_own_bytes() {
        let big: Vec<u8> = (0..2 * BATCH + 77).map(|i| (i % 253) as u8).collect();
        let mut h = FileHasher::new();
        for piece in big.chunks(64 * 1024) {
            h.update(piece);
        }
        h.end_file((1, 10));
        h.end_file((1, 11)); // empty
        h.update(b"small");
        h.end_file((1, 12));
        // A later file on a reused inode replaces the earlier digest.
        h.update(b"later");
        h.end_file((1, 10));
        let d = h.into_digests();
        assert_eq!(d.len(), 3);
        assert_eq!(d[&(1, 11)], Digest::sha256_of(b""));
        assert_eq!(d[&(1, 12)], Digest::sha256_of(b"small"));
        assert_eq!(d[&(1, 10)], Digest::sha256_of(b"later"));
        let mut h = FileHasher::new();
        h.update(&big);
        h.end_file((2, 1));
        assert_eq!(h.into_digests()[&(2, 1)], Digest::sha256_of(&big));
    }
}

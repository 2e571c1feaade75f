//! The content digests of the files a layer unpacks to, hashed on a thread
//! of their own: the extracting thread reads each file's bytes straight
//! into a buffer it then hands over, so they are copied once on their way
//! to the file and the hash. Files come one after another in a tar, so the
//! hashing thread keeps one hasher at a time and files each digest under
//! its inode at the file's end.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::content_digest::{ContentAlgorithm, ContentHasher};

use super::FileDigests;

/// Bytes of one file handed over at a time.
const BATCH: usize = 1 << 20;
/// Messages waiting for the hashing thread at most (bounds the memory).
const QUEUED: usize = 64;
/// A file's last bytes up to this size are copied out rather than handed
/// over with their whole buffer, which is kept for the next file: most
/// files are small, and a buffer costs a megabyte to clear.
const SMALL_TAIL: usize = 64 * 1024;

/// Bytes for the hashing thread: the first `len` of `buf`.
struct Bytes {
    buf: Vec<u8>,
    len: usize,
}

enum Message {
    /// More of the current file.
    Data(Bytes),
    /// The current file's last bytes; its digest goes under `key`.
    End { tail: Bytes, key: (u64, u64) },
}

/// Hashes the files being written (see the module documentation).
pub(crate) struct FileHasher {
    /// Always `BATCH` long; the current file's bytes are its first `filled`.
    batch: Vec<u8>,
    filled: usize,
    /// Buffers the hashing thread is done with.
    spares: Receiver<Vec<u8>>,
    to_thread: Option<SyncSender<Message>>,
    thread: Option<JoinHandle<FileDigests>>,
}

impl FileHasher {
    pub(crate) fn new() -> FileHasher {
        let (tx, rx) = sync_channel::<Message>(QUEUED);
        let (give_back, spares) = sync_channel::<Vec<u8>>(QUEUED);
        let thread = std::thread::spawn(move || {
            let mut digests = FileDigests::new();
            let mut current = ContentHasher::new(ContentAlgorithm::CURRENT);
            let done_with = |bytes: Bytes| {
                if bytes.buf.len() == BATCH {
                    // Full of spares: the extractor has enough.
                    let _ = give_back.try_send(bytes.buf);
                }
            };
            for message in rx {
                match message {
                    Message::Data(bytes) => {
                        current.update(&bytes.buf[..bytes.len]);
                        done_with(bytes);
                    }
                    Message::End { tail, key } => {
                        current.update(&tail.buf[..tail.len]);
                        done_with(tail);
                        let done = std::mem::replace(
                            &mut current,
                            ContentHasher::new(ContentAlgorithm::CURRENT),
                        );
                        digests.insert(key, done.finish());
                    }
                }
            }
            digests
        });
        FileHasher {
            batch: vec![0; BATCH],
            filled: 0,
            spares,
            to_thread: Some(tx),
            thread: Some(thread),
        }
    }

    /// A hasher that hashes nothing: [`FileHasher::read_next`] only reads,
    /// and there are no digests.
    pub(crate) fn off() -> FileHasher {
        let (_, spares) = sync_channel(0);
        FileHasher {
            batch: vec![0; BATCH],
            filled: 0,
            spares,
            to_thread: None,
            thread: None,
        }
    }

    /// Reads the next bytes of the file being written from `data` into the
    /// batch for the hashing thread, and gives them for writing; empty at
    /// the end of `data`.
    pub(crate) fn read_next(&mut self, data: &mut impl Read) -> io::Result<&[u8]> {
        if self.filled == BATCH {
            if self.to_thread.is_some() {
                let full = self.take_batch();
                self.send(Message::Data(full));
            } else {
                self.filled = 0;
            }
        }
        let start = self.filled;
        let n = data.read(&mut self.batch[start..])?;
        self.filled += n;
        Ok(&self.batch[start..self.filled])
    }

    /// The file being written is complete; `key` is its `(st_dev, st_ino)`.
    pub(crate) fn end_file(&mut self, key: (u64, u64)) {
        if self.to_thread.is_none() {
            self.filled = 0;
            return;
        }
        let tail = if self.filled <= SMALL_TAIL {
            let copy = self.batch[..self.filled].to_vec();
            self.filled = 0;
            Bytes {
                len: copy.len(),
                buf: copy,
            }
        } else {
            self.take_batch()
        };
        self.send(Message::End { tail, key });
    }

    /// The batch as it is, replaced by a spare (or a new buffer).
    fn take_batch(&mut self) -> Bytes {
        let spare = self.spares.try_recv().unwrap_or_else(|_| vec![0; BATCH]);
        let buf = std::mem::replace(&mut self.batch, spare);
        let len = std::mem::take(&mut self.filled);
        Bytes { buf, len }
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
    use crate::content_digest::ContentDigest;

    /// What the record holds for a file of `data`: BLAKE3, computed here in
    /// one piece by the reference implementation.
    fn blake3_of(data: &[u8]) -> ContentDigest {
        format!("blake3:{}", blake3::hash(data).to_hex())
            .parse()
            .unwrap()
    }

    /// Hands `data` over as the extractor does: read in pieces of at most
    /// `piece` bytes, until the end.
    fn write_file(h: &mut FileHasher, data: &[u8], piece: usize, key: (u64, u64)) -> Vec<u8> {
        let mut written = Vec::new();
        let mut reader = io::Cursor::new(data).take(u64::MAX);
        loop {
            // A reader that gives at most `piece` bytes a call, as tar's does.
            let mut limited = (&mut reader).take(piece as u64);
            let bytes = h.read_next(&mut limited).unwrap();
            if bytes.is_empty() {
                break;
            }
            written.extend_from_slice(bytes);
        }
        h.end_file(key);
        written
    }

    #[test]
    fn each_file_gets_the_digest_of_its_own_bytes() {
        let big: Vec<u8> = (0..2 * BATCH + 77).map(|i| (i % 253) as u8).collect();
        let mid: Vec<u8> = (0..SMALL_TAIL + 5).map(|i| (i % 241) as u8).collect();
        let mut h = FileHasher::new();
        assert_eq!(write_file(&mut h, &big, 64 * 1024, (1, 10)), big);
        assert_eq!(write_file(&mut h, b"", 512, (1, 11)), b"");
        assert_eq!(write_file(&mut h, b"small", 3, (1, 12)), b"small");
        assert_eq!(write_file(&mut h, &mid, BATCH, (1, 13)), mid);
        assert_eq!(write_file(&mut h, &big, 7, (1, 14)), big);
        // A later file on a reused inode replaces the earlier digest.
        write_file(&mut h, b"later", 512, (1, 10));
        let d = h.into_digests();
        assert_eq!(d.len(), 5);
        assert_eq!(d[&(1, 10)], blake3_of(b"later"));
        assert_eq!(d[&(1, 11)], blake3_of(b""));
        assert_eq!(d[&(1, 12)], blake3_of(b"small"));
        assert_eq!(d[&(1, 13)], blake3_of(&mid));
        assert_eq!(d[&(1, 14)], blake3_of(&big));
    }

    #[test]
    fn a_hasher_that_is_off_passes_the_bytes_through_and_records_nothing() {
        let big: Vec<u8> = (0..2 * BATCH + 77).map(|i| (i % 253) as u8).collect();
        let mut h = FileHasher::off();
        assert_eq!(write_file(&mut h, &big, 300 * 1024, (1, 1)), big);
        assert_eq!(write_file(&mut h, b"small", 2, (1, 2)), b"small");
        assert!(h.into_digests().is_empty());
    }

    #[test]
    fn many_large_files_reuse_the_buffers_and_keep_their_digests_apart() {
        let mut h = FileHasher::new();
        let files: Vec<Vec<u8>> = (0..40u8)
            .map(|i| vec![i; BATCH + 1000 * i as usize])
            .collect();
        for (i, f) in files.iter().enumerate() {
            write_file(&mut h, f, 256 * 1024, (3, i as u64));
        }
        let d = h.into_digests();
        for (i, f) in files.iter().enumerate() {
            assert_eq!(d[&(3, i as u64)], blake3_of(f), "file {i}");
        }
    }
}

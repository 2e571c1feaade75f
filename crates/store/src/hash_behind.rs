//! Hashing a stream on another thread while it is read: a layer's diff_id
//! (the digest of its uncompressed tar) costs as much CPU as inflating it,
//! and the thread that inflates and writes the files is what a pull waits
//! for. The reader copies what passes through into large batches and a
//! second thread hashes them.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use hoist_image::{Digest, Hasher};

/// Bytes handed to the hashing thread at a time: few enough handovers to
/// cost nothing beside the hashing itself.
const BATCH: usize = 1 << 20;
/// Batches waiting for the hashing thread at most (bounds the memory).
const QUEUED: usize = 4;

/// A reader that passes `inner` through and hashes it on another thread.
pub(crate) struct HashedBehind<R> {
    inner: R,
    batch: Vec<u8>,
    to_hasher: Option<SyncSender<Vec<u8>>>,
    hasher: Option<JoinHandle<Digest>>,
}

impl<R: Read> HashedBehind<R> {
    pub(crate) fn new(inner: R, mut hasher: Hasher) -> HashedBehind<R> {
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUED);
        let thread = std::thread::spawn(move || {
            for batch in rx {
                hasher.update(&batch);
            }
            hasher.finish()
        });
        HashedBehind {
            inner,
            batch: Vec::with_capacity(BATCH),
            to_hasher: Some(tx),
            hasher: Some(thread),
        }
    }

    /// The digest of everything read.
    pub(crate) fn finish(mut self) -> io::Result<Digest> {
        self.hand_over()?;
        drop(self.to_hasher.take());
        let thread = self.hasher.take().expect("finished once");
        thread
            .join()
            .map_err(|_| io::Error::other("the hashing thread panicked"))
    }

    fn hand_over(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let sent = self.to_hasher.as_ref().map(|tx| tx.send(full));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(io::Error::other("the hashing thread ended early")),
        }
    }
}

impl<R: Read> Read for HashedBehind<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.batch.extend_from_slice(&buf[..n]);
        if self.batch.len() >= BATCH {
            self.hand_over()?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_that_of_every_byte_read_in_any_pieces() {
        let data: Vec<u8> = (0..3 * BATCH + 12345).map(|i| (i % 251) as u8).collect();
        for piece in [1, 511, 4096, BATCH + 3] {
            let mut r = HashedBehind::new(&data[..], Hasher::sha256());
            let mut out = Vec::new();
            let mut buf = vec![0; piece];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(out, data);
            assert_eq!(r.finish().unwrap(), Digest::sha256_of(&data), "{piece}");
        }
    }

    #[test]
    fn nothing_read_is_the_digest_of_nothing() {
        let r = HashedBehind::new(&b""[..], Hasher::sha256());
        assert_eq!(r.finish().unwrap(), Digest::sha256_of(b""));
    }
}

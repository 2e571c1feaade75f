//! Decoding a layer's stream on threads of its own while its files are
//! written: the thread that writes a layer's files is what a pull waits for,
//! and inflating a gzip layer costs about twice as much CPU as writing it.
//!
//! Three threads share the work of one stream:
//! - the decoding thread inflates the blob into chunks;
//! - the caller reads the chunks (the [`Read`] side) and writes the files;
//! - the hashing thread hashes every chunk the caller has read, for the
//!   layer's diff_id, and hands the buffer back to the decoding thread.
//!
//! Bounded queues between them keep the memory to a few chunks.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use hoist_image::{Digest, Hasher};

/// Bytes decoded at a time: few enough handovers to cost nothing beside
/// the decoding itself.
const CHUNK: usize = 1 << 20;
/// Chunks waiting in each queue at most (bounds the memory).
const QUEUED: usize = 4;

/// What the decoding thread sends.
enum Piece {
    /// The stream's next bytes (never empty).
    Data(Vec<u8>),
    /// The stream ended cleanly after the pieces sent.
    End,
    /// The decoder failed: the blob is corrupt or its download was abandoned.
    Failed(io::Error),
}

/// The decoded stream of a blob, read on the caller's thread (see the
/// module documentation).
pub(crate) struct DecodedAhead {
    pieces: Receiver<Piece>,
    current: Vec<u8>,
    /// How much of `current` has been read.
    at: usize,
    state: State,
    to_hasher: Option<SyncSender<Vec<u8>>>,
    decoder: Option<JoinHandle<()>>,
    hasher: Option<JoinHandle<Digest>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Ended,
    /// The decoder's error went to the caller; later reads fail too.
    Failed,
}

impl DecodedAhead {
    /// Starts decoding `decoder`, hashing what is read with `hasher`.
    pub(crate) fn new(decoder: Box<dyn Read + Send>, hasher: Hasher) -> DecodedAhead {
        let (to_reader, pieces) = sync_channel(QUEUED);
        let (to_hasher, chunks) = sync_channel(QUEUED);
        let (give_back, spare) = sync_channel(QUEUED);
        DecodedAhead {
            pieces,
            current: Vec::new(),
            at: 0,
            state: State::Reading,
            to_hasher: Some(to_hasher),
            decoder: Some(std::thread::spawn(move || {
                decode(decoder, &to_reader, &spare)
            })),
            hasher: Some(std::thread::spawn(move || {
                hash(hasher, &chunks, &give_back)
            })),
        }
    }

    /// The digest of everything read.
    pub(crate) fn finish(mut self) -> io::Result<Digest> {
        let mut read = std::mem::take(&mut self.current);
        read.truncate(self.at);
        self.hand_to_hasher(read)?;
        drop(self.to_hasher.take());
        let thread = self.hasher.take().expect("finished once");
        thread
            .join()
            .map_err(|_| io::Error::other("the hashing thread panicked"))
    }

    fn hand_to_hasher(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        match self.to_hasher.as_ref().map(|tx| tx.send(chunk)) {
            Some(Ok(())) => Ok(()),
            _ => Err(io::Error::other("the hashing thread ended early")),
        }
    }

    /// Moves on to the next piece once `current` is read; false at the end.
    fn next_piece(&mut self) -> io::Result<bool> {
        let read = std::mem::take(&mut self.current);
        self.at = 0;
        self.hand_to_hasher(read)?;
        match self.state {
            State::Ended => return Ok(false),
            State::Failed => return Err(io::Error::other("the layer's stream failed earlier")),
            State::Reading => {}
        }
        match self.pieces.recv() {
            Ok(Piece::Data(chunk)) => {
                self.current = chunk;
                Ok(true)
            }
            Ok(Piece::End) => {
                self.state = State::Ended;
                Ok(false)
            }
            Ok(Piece::Failed(e)) => {
                self.state = State::Failed;
                Err(e)
            }
            // Never a silent end: a stream cut short would pass for whole.
            Err(_) => {
                self.state = State::Failed;
                Err(io::Error::other("the decoding thread ended early"))
            }
        }
    }
}

impl Read for DecodedAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.at == self.current.len() {
            if !self.next_piece()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for DecodedAhead {
    /// A reader dropped early (a failed extraction) closes the queues, so
    /// the threads stop at their next handover; they are joined so that
    /// none outlives the extraction.
    fn drop(&mut self) {
        drop(self.to_hasher.take());
        let (_, pieces) = sync_channel(0);
        drop(std::mem::replace(&mut self.pieces, pieces));
        if let Some(thread) = self.decoder.take() {
            let _ = thread.join();
        }
        if let Some(thread) = self.hasher.take() {
            let _ = thread.join();
        }
    }
}

/// The decoding thread: fills chunks (reusing the hasher's spares) and
/// sends them until the stream ends, fails or the reader goes away. The
/// bytes decoded before a failure are sent first, then the failure.
fn decode(
    mut decoder: Box<dyn Read + Send>,
    to_reader: &SyncSender<Piece>,
    spare: &Receiver<Vec<u8>>,
) {
    loop {
        let mut chunk = spare.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let (filled, ended) = fill(&mut decoder, &mut chunk);
        if filled > 0 {
            chunk.truncate(filled);
            if to_reader.send(Piece::Data(chunk)).is_err() {
                return;
            }
        }
        if let Some(last) = ended {
            let _ = to_reader.send(last);
            return;
        }
    }
}

/// Reads into `chunk` until it is full or the stream ends: the bytes read,
/// and the last piece ([`Piece::End`] or [`Piece::Failed`]) if the stream
/// ended.
fn fill(decoder: &mut dyn Read, chunk: &mut [u8]) -> (usize, Option<Piece>) {
    let mut filled = 0;
    while filled < chunk.len() {
        match decoder.read(&mut chunk[filled..]) {
            Ok(0) => return (filled, Some(Piece::End)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(Piece::Failed(e))),
        }
    }
    (filled, None)
}

/// The hashing thread: hashes the chunks read, in order, and gives their
/// buffers back for the decoder to fill again.
fn hash(mut hasher: Hasher, chunks: &Receiver<Vec<u8>>, give_back: &SyncSender<Vec<u8>>) -> Digest {
    for chunk in chunks {
        hasher.update(&chunk);
        // A full queue of spares means the decoder has enough; a closed
        // one, that it is done.
        let _ = give_back.try_send(chunk);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all_in_pieces(r: &mut DecodedAhead, piece: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0; piece];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn the_digest_is_that_of_every_byte_read_in_any_pieces() {
        let data: Vec<u8> = (0..3 * CHUNK + 12345).map(|i| (i % 251) as u8).collect();
        for piece in [1, 511, 4096, CHUNK + 3] {
            let mut r =
                DecodedAhead::new(Box::new(io::Cursor::new(data.clone())), Hasher::sha256());
            assert_eq!(read_all_in_pieces(&mut r, piece).unwrap(), data);
            assert_eq!(r.finish().unwrap(), Digest::sha256_of(&data), "{piece}");
        }
    }

    #[test]
    fn only_what_was_read_is_hashed() {
        let data = vec![7u8; CHUNK + 10];
        let mut r = DecodedAhead::new(Box::new(io::Cursor::new(data.clone())), Hasher::sha256());
        let mut buf = vec![0; 100];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(r.finish().unwrap(), Digest::sha256_of(&data[..100]));
    }

    #[test]
    fn nothing_read_is_the_digest_of_nothing() {
        let r = DecodedAhead::new(Box::new(io::empty()), Hasher::sha256());
        assert_eq!(r.finish().unwrap(), Digest::sha256_of(b""));
    }

    /// Yields `good` bytes, then fails, as a corrupt gzip stream does.
    struct FailsAfter {
        good: usize,
    }

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.good == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt deflate stream",
                ));
            }
            let n = buf.len().min(self.good);
            buf[..n].fill(1);
            self.good -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_decoder_error_reaches_the_reader_after_the_good_bytes_and_stays() {
        let good = 2 * CHUNK + 5;
        let mut r = DecodedAhead::new(Box::new(FailsAfter { good }), Hasher::sha256());
        let mut out = vec![0; good];
        r.read_exact(&mut out).unwrap();
        assert!(out.iter().all(|&b| b == 1));
        let err = r.read(&mut [0; 16]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        assert!(
            r.read(&mut [0; 16]).is_err(),
            "a failed stream never ends cleanly"
        );
    }

    /// Never ends: a reader dropped early must still stop the decoder.
    struct Endless;

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(3);
            Ok(buf.len())
        }
    }

    #[test]
    fn dropping_the_reader_early_stops_and_joins_both_threads() {
        let mut r = DecodedAhead::new(Box::new(Endless), Hasher::sha256());
        let mut buf = vec![0; 3 * CHUNK];
        r.read_exact(&mut buf).unwrap();
        drop(r); // returns only once both threads have ended
    }
}

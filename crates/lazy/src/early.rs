//! The prioritized files asked for before the layer is open.
//!
//! A container's lazy server must read the layer's TOC again and build its
//! indexes before it can serve a read. On a slow link the prefetch of the
//! prioritized files is what the container waits for, so the server sends
//! that request first, from the range the pull recorded, and the layer takes
//! the bytes over once it is open ([`crate::layer::LazyLayer::prefetch_from`]).
//! The layer checks the range against its own TOC; every chunk is verified
//! when read, as for any fetch.

use std::io;
use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use crate::source::RangeSource;

/// Pieces of the response that may wait for the layer to take them; the
/// fetch pauses beyond that (a few MB at most, for a layer slow to open).
const WAITING_PIECES: usize = 256;

/// A streamed fetch of a layer's prioritized files, under way on a thread
/// of its own. Dropping it stops the fetch.
pub struct EarlyPrefetch {
    range: Range<u64>,
    pieces: Receiver<io::Result<Vec<u8>>>,
}

impl EarlyPrefetch {
    /// Starts streaming `range` of `source`.
    pub fn start(source: Arc<dyn RangeSource>, range: Range<u64>) -> io::Result<EarlyPrefetch> {
        let (send, pieces) = sync_channel(WAITING_PIECES);
        let fetched = range.clone();
        std::thread::Builder::new()
            .name("hoist-lazy-early".into())
            .spawn(move || {
                let result = source.stream_range(fetched, &mut |bytes| {
                    send.send(Ok(bytes.to_vec()))
                        .map_err(|_| io::Error::other("the prefetch is no longer wanted"))
                });
                if let Err(e) = result {
                    let _ = send.send(Err(e));
                }
            })?;
        Ok(EarlyPrefetch { range, pieces })
    }

    /// The blob bytes being fetched.
    pub fn range(&self) -> &Range<u64> {
        &self.range
    }

    /// Hands every piece to `sink` in order as it arrives; fails if the
    /// fetch failed or ended short of its range.
    pub fn drain_into(self, sink: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        let expected = self.range.end - self.range.start;
        let mut got = 0u64;
        for piece in self.pieces {
            let piece = piece?;
            got += piece.len() as u64;
            sink(&piece)?;
        }
        if got != expected {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the prefetch of {:?} ended after {got} of {expected} bytes",
                    self.range
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::ChunkCache;
    use crate::estargz::testutil::{sample_layer, Counted, Failing};
    use crate::estargz::writer::{convert, ConvertOptions};
    use crate::estargz::EstargzBlob;
    use crate::fs::ChunkReader;
    use crate::layer::LazyLayer;

    /// The sample layer converted with `bin/big` prioritized, as a counted
    /// source, with its opened blob.
    fn prioritized_layer() -> (Arc<Counted>, EstargzBlob) {
        let (input, _) = sample_layer();
        let mut blob = Vec::new();
        let opts = ConvertOptions {
            chunk_size: 1000,
            prioritized: vec!["bin/big".into()],
            compression_level: 6,
            spool_dir: None,
        };
        let converted = convert(&input[..], &mut blob, &opts).unwrap();
        let opened = EstargzBlob::open(&blob, Some(&converted.toc_digest)).unwrap();
        let source = Arc::new(Counted::new(blob));
        (source, opened)
    }

    fn layer(source: &Arc<Counted>, blob: EstargzBlob, dir: &std::path::Path) -> LazyLayer {
        let cache = ChunkCache::open(dir, source.size()).unwrap();
        LazyLayer::new("test".into(), blob, cache, source.clone())
    }

    #[test]
    fn the_layer_takes_over_the_request_started_before_it_opened() {
        let (source, blob) = prioritized_layer();
        let range = blob.prefetch_range().expect("a prefetch range");
        let early = EarlyPrefetch::start(source.clone(), range.clone()).unwrap();
        // The request is out before the layer opens, as in the server.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while source.requests() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the request never went out"
            );
            std::thread::yield_now();
        }
        let dir = tempfile::tempdir().unwrap();
        let layer = layer(&source, blob, dir.path());

        let fetched = layer.prefetch_from(early).unwrap();

        assert_eq!(fetched, range.end - range.start);
        assert!(layer.cache().contains(&range));
        assert_eq!(source.requests(), 1, "one request in all");
        let chunk = layer.blob().chunks()["./bin/big"][0].clone();
        assert!(layer.read_chunk("./bin/big", &chunk).is_ok());
        assert_eq!(source.requests(), 1, "the read was cached");
    }

    #[test]
    fn a_recorded_range_other_than_the_tocs_is_dropped_for_the_tocs() {
        let (source, blob) = prioritized_layer();
        let range = blob.prefetch_range().expect("a prefetch range");
        let early = EarlyPrefetch::start(source.clone(), 0..range.end - 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let layer = layer(&source, blob, dir.path());

        let fetched = layer.prefetch_from(early).unwrap();

        assert_eq!(fetched, range.end - range.start);
        assert!(layer.cache().contains(&range));
        // The wrong request may or may not have gone out before it was
        // dropped; the TOC's range was asked for either way.
        assert!(source.asked.lock().unwrap().contains(&range));
    }

    #[test]
    fn a_cached_prefetch_is_not_fetched_again() {
        let (source, blob) = prioritized_layer();
        let range = blob.prefetch_range().expect("a prefetch range");
        let dir = tempfile::tempdir().unwrap();
        let first = layer(&source, blob.clone(), dir.path());
        first.prefetch().unwrap();
        drop(first);
        let again = layer(&source, blob, dir.path());
        let early = EarlyPrefetch::start(source.clone(), range).unwrap();

        assert_eq!(again.prefetch_from(early).unwrap(), 0);
    }

    #[test]
    fn a_fetch_that_fails_or_ends_short_is_an_error() {
        struct Short(Vec<u8>);
        impl RangeSource for Short {
            fn size(&self) -> u64 {
                self.0.len() as u64
            }
            fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
                Ok(ranges.iter().map(|_| self.0[..3].to_vec()).collect())
            }
        }
        let mut got = Vec::new();
        let short = EarlyPrefetch::start(Arc::new(Short(vec![7; 100])), 0..10).unwrap();
        let e = short
            .drain_into(&mut |b| {
                got.extend_from_slice(b);
                Ok(())
            })
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        assert_eq!(got, vec![7; 3]);
        let failing = EarlyPrefetch::start(Arc::new(Failing("registry gone")), 0..10).unwrap();
        let e = failing.drain_into(&mut |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("registry gone"), "{e}");
    }
}

//! One lazy layer at run time: its TOC, its chunk cache and where missing
//! bytes come from. Serves verified chunks to the filesystem, prefetches the
//! prioritized files, fetches the directory of a file read from the network
//! alongside it (`neighbours`) and the libraries of an ELF file read from
//! the network (`needed`), and fetches the rest in the background.

use std::collections::{HashMap, HashSet};
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::cache::ChunkCache;
use crate::early::EarlyPrefetch;
use crate::estargz::{chunk::read_chunk, names, EstargzBlob};
use crate::fs::ChunkReader;
use crate::needed::elf_needs;
use crate::neighbours::{merge_within, Neighbours};
use crate::paths::LayerPaths;
use crate::remote::ReadBudget;
use crate::source::RangeSource;
use crate::spec::FirstProgram;
use crate::toc::ChunkRef;

/// A read fetches its chunk and the file's following chunks up to this
/// much: a file read once is usually read to its end, and one request
/// costs a round trip.
const READAHEAD_BYTES: u64 = 8 << 20;

/// A streamed prefetch reaches the cache (and waiting readers) in pieces
/// this big.
const STREAM_PIECE: usize = 128 << 10;

/// Background fetches go in pieces this big, so a read that needs the
/// network waits behind at most one of them.
const BACKGROUND_PIECE: u64 = 2 << 20;

/// The background fetch yields to reads that needed the network this recently.
const QUIET_BEFORE_BACKGROUND: Duration = Duration::from_millis(500);

/// Nor does it start before the container has run this long: a short-lived
/// container should not pay for a download it will never use, and a
/// starting one needs the bandwidth for its own reads.
const BACKGROUND_START_DELAY: Duration = Duration::from_secs(2);

/// Libraries of libraries are followed this deep (a program, the libraries
/// it names, theirs, and theirs).
const NEEDS_DEPTH: usize = 3;

/// An ELF file larger than this is not read whole to find its libraries.
const MAX_ELF_BYTES: u64 = 64 << 20;

/// What the fetch-ahead threads are asked to do.
enum Ahead {
    /// Fetch these bytes (files of one directory).
    Range(Range<u64>),
    /// Fetch these ranges in one request (a family of files, see
    /// `Neighbours::on_family_miss`).
    Ranges(Vec<Range<u64>>),
    /// Fetch the libraries this ELF file (cleaned name) loads.
    Needs(String),
}

/// Verified chunks kept decompressed: the kernel reads a file in pieces of
/// at most 128 KiB, and each piece would otherwise decompress and hash its
/// whole (up to 4 MiB) chunk again.
const DECOMPRESSED_CACHE_BYTES: usize = 64 << 20;

pub struct LazyLayer {
    label: String,
    recent: Mutex<RecentChunks>,
    blob: EstargzBlob,
    cache: ChunkCache,
    source: Arc<dyn RangeSource>,
    fetching: Mutex<Vec<Range<u64>>>,
    fetched: Condvar,
    demand_fetches: AtomicUsize,
    last_demand: Mutex<Instant>,
    opened: Instant,
    budget: ReadBudget,
    /// Each regular file's chunks by its cleaned name (`usr/lib/x`, where
    /// the TOC may say `./usr/lib/x`): the name reads arrive with.
    files: HashMap<String, Vec<ChunkRef>>,
    neighbours: Neighbours,
    paths: LayerPaths,
    /// ELF files whose libraries were asked for, or that were fetched as
    /// some file's library.
    elf_seen: Mutex<HashSet<String>>,
    /// Where reads hand what they want fetched ahead; `None` until
    /// [`LazyLayer::fetch_ahead_in_background`] starts the fetchers.
    ahead: Mutex<Option<Sender<Ahead>>>,
}

impl LazyLayer {
    /// `label` names the layer in log lines (its blob digest).
    pub fn new(
        label: String,
        blob: EstargzBlob,
        cache: ChunkCache,
        source: Arc<dyn RangeSource>,
    ) -> LazyLayer {
        let files: HashMap<String, Vec<ChunkRef>> = blob
            .chunks()
            .iter()
            .map(|(name, chunks)| (names::clean(name), chunks.clone()))
            .collect();
        let neighbours = Neighbours::index(&files);
        let paths = LayerPaths::index(blob.toc());
        LazyLayer {
            label,
            recent: Mutex::new(RecentChunks::default()),
            blob,
            cache,
            source,
            fetching: Mutex::new(Vec::new()),
            fetched: Condvar::new(),
            demand_fetches: AtomicUsize::new(0),
            last_demand: Mutex::new(Instant::now() - QUIET_BEFORE_BACKGROUND),
            opened: Instant::now(),
            budget: ReadBudget::default(),
            files,
            neighbours,
            paths,
            elf_seen: Mutex::new(HashSet::new()),
            ahead: Mutex::new(None),
        }
    }

    /// Starts `workers` threads that fetch, while reads go on, the
    /// directories of files read from the network (see `neighbours`) and
    /// the libraries of ELF files read from it (see `needed`). The threads
    /// end once the layer is dropped.
    pub fn fetch_ahead_in_background(self: &Arc<Self>, workers: usize) -> io::Result<()> {
        let (jobs, queue) = channel::<Ahead>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..workers.max(1) {
            let (layer, queue) = (Arc::downgrade(self), queue.clone());
            std::thread::Builder::new()
                .name(format!("hoist-lazy-ahead-{i}"))
                .spawn(move || fetch_ahead_until_dropped(&layer, &queue))?;
        }
        *self.ahead.lock().expect("poisoned") = Some(jobs);
        Ok(())
    }

    /// Fetches `range` (files of one directory) into the cache, streaming,
    /// so readers waiting for a file in it get it as soon as its bytes are
    /// in. Counts as a read for the background fetch, which waits.
    fn fetch_ahead(&self, range: &Range<u64>) {
        self.demand_fetches.fetch_add(1, Ordering::Relaxed);
        for gap in self.cache.missing_within(range) {
            if self.in_flight(&gap) {
                continue;
            }
            if let Err(e) = self.fetch_streaming(gap.clone()) {
                tracing::warn!(layer = %self.label, range = ?gap, error = %e,
                    "fetching a directory ahead failed; its files are fetched when read");
                break;
            }
        }
        *self.last_demand.lock().expect("poisoned") = Instant::now();
        self.demand_fetches.fetch_sub(1, Ordering::Relaxed);
    }

    /// Fetches the container's program before its process asks: the first
    /// of `program`'s candidates that is a regular file of this layer, as
    /// much of it as its first read would fetch, streaming, then the
    /// libraries it loads. Meant for a layer without prioritized files,
    /// whose first reads would otherwise each wait for the network in
    /// turn: the program, then its libraries. Returns the file, if this
    /// layer has it.
    pub fn fetch_program(&self, program: &FirstProgram) -> Option<String> {
        let file = program
            .candidates()
            .iter()
            .find_map(|p| self.paths.regular_file(p))?;
        let first = self
            .files
            .get(&file)?
            .iter()
            .min_by_key(|c| c.file_offset)?;
        let range = self.readahead_range(&file, first);
        // Its libraries are fetched here, once the program is in: a read
        // of it need not ask for them again.
        self.elf_seen.lock().expect("poisoned").insert(file.clone());
        self.fetch_ahead(&range);
        self.fetch_needs(&file);
        Some(file)
    }

    /// Fetches the files of a family (see `Neighbours::on_family_miss`)
    /// that are neither cached nor coming, in one request.
    fn fetch_family(&self, ranges: Vec<Range<u64>>) {
        if let Err(e) = self.fetch_missing_at_once(ranges) {
            tracing::warn!(layer = %self.label, error = %e,
                "fetching a family of files ahead failed; its files are fetched when read");
        }
    }

    /// Fetches the libraries `file` loads, and theirs, a level at a time,
    /// each level in one request.
    fn fetch_needs(&self, file: &str) {
        let mut level = vec![file.to_owned()];
        for _ in 0..NEEDS_DEPTH {
            let libs: Vec<String> = level
                .iter()
                .flat_map(|f| self.libraries_of(f))
                .filter(|lib| self.elf_seen.lock().expect("poisoned").insert(lib.clone()))
                .collect();
            let chunks = libs
                .iter()
                .flat_map(|lib| self.files.get(lib).into_iter().flatten())
                .map(|c| c.blob_range.clone());
            if let Err(e) = self.fetch_missing_at_once(chunks) {
                tracing::warn!(layer = %self.label, file, error = %e,
                    "fetching the libraries of an ELF file ahead failed; they are fetched when read");
                return;
            }
            level = libs;
        }
    }

    /// The files of this layer that ELF file `file` makes the loader open,
    /// if all of `file` is cached (nothing is fetched to find out).
    fn libraries_of(&self, file: &str) -> Vec<String> {
        let Some(chunks) = self.files.get(file) else {
            return Vec::new();
        };
        let size: u64 = chunks.iter().map(|c| c.len).sum();
        if size > MAX_ELF_BYTES || !chunks.iter().all(|c| self.cache.contains(&c.blob_range)) {
            return Vec::new();
        }
        let mut data = Vec::with_capacity(size as usize);
        for c in chunks {
            match self.read_chunk(file, c) {
                Ok(bytes) => data.extend_from_slice(&bytes),
                Err(_) => return Vec::new(),
            }
        }
        let Some(needs) = elf_needs(&data) else {
            return Vec::new();
        };
        let origin = format!("/{}", names::parent(file));
        needs
            .candidates(&origin)
            .iter()
            .filter_map(|paths| paths.iter().find_map(|p| self.paths.regular_file(p)))
            .collect()
    }

    /// Fetches what of `ranges` is neither cached nor coming, in one
    /// request.
    fn fetch_missing_at_once(
        &self,
        ranges: impl IntoIterator<Item = Range<u64>>,
    ) -> io::Result<()> {
        let missing: Vec<Range<u64>> = ranges
            .into_iter()
            .flat_map(|r| self.cache.missing_within(&r))
            .filter(|r| !self.in_flight(r))
            .collect();
        self.fetch_all_at_once(merge_within(missing, 0))
    }

    /// Fetches `ranges` in one request; readers of any of them wait for
    /// it, each until its own range is in.
    fn fetch_all_at_once(&self, ranges: Vec<Range<u64>>) -> io::Result<()> {
        if ranges.is_empty() {
            return Ok(());
        }
        self.demand_fetches.fetch_add(1, Ordering::Relaxed);
        self.fetching
            .lock()
            .expect("poisoned")
            .extend(ranges.iter().cloned());
        let mut pending = vec![true; ranges.len()];
        let result = self.source.read_ranges_each(&ranges, &mut |i, bytes| {
            let stored = self.cache.put(ranges[i].start, bytes);
            pending[i] = false;
            self.fetch_done(&ranges[i]);
            stored
        });
        for (r, _) in ranges.iter().zip(&pending).filter(|(_, p)| **p) {
            self.fetch_done(r);
        }
        *self.last_demand.lock().expect("poisoned") = Instant::now();
        self.demand_fetches.fetch_sub(1, Ordering::Relaxed);
        result
    }

    /// Whether a fetch in flight covers all of `range`.
    fn in_flight(&self, range: &Range<u64>) -> bool {
        self.fetching
            .lock()
            .expect("poisoned")
            .iter()
            .any(|b| b.start <= range.start && range.end <= b.end)
    }

    /// Bounds each read that needs the network by `budget`, its wait for
    /// another thread fetching the same bytes included.
    pub fn with_budget(mut self, budget: ReadBudget) -> LazyLayer {
        self.budget = budget;
        self
    }

    pub fn blob(&self) -> &EstargzBlob {
        &self.blob
    }

    pub fn cache(&self) -> &ChunkCache {
        &self.cache
    }

    /// Fetches the prioritized files (everything before the prefetch
    /// landmark) in one request, unless they are cached already.
    pub fn prefetch(&self) -> io::Result<u64> {
        let Some(range) = self.wanted_prefetch() else {
            return Ok(0);
        };
        let len = range.end - range.start;
        self.fetch_streaming(range)?;
        Ok(len)
    }

    /// [`LazyLayer::prefetch`] taking over `early`, a request for the same
    /// bytes sent before the layer was open. If this layer's TOC marks
    /// other bytes (or none, or they are cached), `early` is dropped, which
    /// stops it, and the prefetch goes as usual.
    pub fn prefetch_from(&self, early: EarlyPrefetch) -> io::Result<u64> {
        let Some(range) = self.wanted_prefetch() else {
            return Ok(0);
        };
        if *early.range() != range {
            tracing::warn!(layer = %self.label, recorded = ?early.range(), toc = ?range,
                "the recorded prefetch range is not the TOC's; fetching the TOC's");
            drop(early);
            return self.prefetch();
        }
        let len = range.end - range.start;
        self.fetch_streaming_from(range, |sink| early.drain_into(sink))?;
        Ok(len)
    }

    /// The prioritized files' bytes, unless there are none or all are cached.
    fn wanted_prefetch(&self) -> Option<Range<u64>> {
        self.blob
            .prefetch_range()
            .filter(|r| !r.is_empty() && !self.cache.contains(r))
    }

    /// Fetches `range` into the cache piece by piece as it arrives, waking
    /// readers after each piece, so the first prioritized files are read
    /// while the later ones are still on the way.
    fn fetch_streaming(&self, range: Range<u64>) -> io::Result<()> {
        let source = self.source.clone();
        let fetched = range.clone();
        self.fetch_streaming_from(range, move |sink| source.stream_range(fetched, sink))
    }

    /// [`LazyLayer::fetch_streaming`] with the bytes from `stream`, which
    /// hands them to its sink in order.
    fn fetch_streaming_from(
        &self,
        range: Range<u64>,
        stream: impl FnOnce(&mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()>,
    ) -> io::Result<()> {
        self.fetching.lock().expect("poisoned").push(range.clone());
        let mut at = range.start;
        let mut pending: Vec<u8> = Vec::with_capacity(STREAM_PIECE);
        let flush = |pending: &mut Vec<u8>, at: &mut u64| -> io::Result<()> {
            self.cache.put(*at, pending)?;
            *at += pending.len() as u64;
            pending.clear();
            let _guard = self.fetching.lock().expect("poisoned");
            self.fetched.notify_all();
            Ok(())
        };
        let result = stream(&mut |bytes| {
            pending.extend_from_slice(bytes);
            if pending.len() >= STREAM_PIECE {
                flush(&mut pending, &mut at)?;
            }
            Ok(())
        })
        .and_then(|()| flush(&mut pending, &mut at));
        self.fetch_done(&range);
        result
    }

    /// Takes `range` off the fetches in flight and wakes the readers
    /// waiting for it.
    fn fetch_done(&self, range: &Range<u64>) {
        let mut busy = self.fetching.lock().expect("poisoned");
        if let Some(i) = busy.iter().position(|b| b == range) {
            busy.swap_remove(i);
        }
        self.fetched.notify_all();
    }

    /// Fetches every missing byte of the blob, in pieces, pausing while
    /// reads need the network. Returns whether the cache is now complete
    /// (false if `stop` was set first).
    pub fn fetch_rest(&self, stop: &AtomicBool) -> io::Result<bool> {
        for batch in background_batches(&self.cache.missing()) {
            while self.reads_need_network() {
                if stop.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            // Several gaps in one multi-range request; a read fetching the
            // same bytes meanwhile writes the same bytes.
            let parts = self.source.read_ranges(&batch)?;
            for (range, bytes) in batch.iter().zip(parts) {
                self.cache.put(range.start, &bytes)?;
            }
        }
        Ok(self.cache.is_complete())
    }

    fn reads_need_network(&self) -> bool {
        self.opened.elapsed() < BACKGROUND_START_DELAY
            || self.demand_fetches.load(Ordering::Relaxed) > 0
            || self.last_demand.lock().expect("poisoned").elapsed() < QUIET_BEFORE_BACKGROUND
    }

    /// Fetches `range` into the cache unless another thread is fetching a
    /// range covering it, in which case this waits for that one. Waiting and
    /// fetching share one deadline: a read never pays for two silent
    /// registries in a row (the other fetch's, then its own).
    fn fetch_once(&self, range: Range<u64>) -> io::Result<()> {
        let deadline = self.budget.deadline(range.end - range.start);
        {
            let mut busy = self.fetching.lock().expect("poisoned");
            loop {
                if self.cache.contains(&range) {
                    return Ok(());
                }
                if !busy
                    .iter()
                    .any(|b| b.start <= range.start && range.end <= b.end)
                {
                    break;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "layer {}: the fetch of bytes {range:?} by another reader did not end in time",
                            self.label
                        ),
                    ));
                }
                busy = self.fetched.wait_timeout(busy, left).expect("poisoned").0;
            }
            busy.push(range.clone());
        }
        let result = self
            .source
            .read_ranges_within(std::slice::from_ref(&range), deadline)
            .and_then(|mut parts| {
                parts
                    .pop()
                    .ok_or_else(|| io::Error::other("range source returned no data"))
            })
            .and_then(|bytes| self.cache.put(range.start, &bytes));
        self.fetch_done(&range);
        result
    }

    /// The range a read of chunk `c` of `file` fetches: the chunk and the
    /// file's next chunks, as long as they follow each other in the blob.
    fn readahead_range(&self, file: &str, c: &ChunkRef) -> Range<u64> {
        let mut range = c.blob_range.clone();
        let Some(chunks) = self.files.get(file) else {
            return range;
        };
        for next in chunks.iter().filter(|n| n.file_offset > c.file_offset) {
            let contiguous = next.blob_range.start <= range.end;
            let within = next.blob_range.end - range.start <= READAHEAD_BYTES;
            if !contiguous || !within || self.cache.contains(&next.blob_range) {
                break;
            }
            range.end = range.end.max(next.blob_range.end);
        }
        range
    }

    fn fetch_on_demand(&self, file: &str, c: &ChunkRef) -> io::Result<()> {
        self.demand_fetches.fetch_add(1, Ordering::Relaxed);
        let range = self.readahead_range(file, c);
        self.ask_for_neighbours(file, &range);
        let result = self.fetch_once(range);
        *self.last_demand.lock().expect("poisoned") = Instant::now();
        self.demand_fetches.fetch_sub(1, Ordering::Relaxed);
        result
    }

    /// Hands the neighbours of `file` to the fetchers, if any run and the
    /// directory is worth fetching now; the read meanwhile fetches `range`
    /// itself, in parallel.
    fn ask_for_neighbours(&self, file: &str, range: &Range<u64>) {
        let ahead = self.ahead.lock().expect("poisoned");
        let Some(jobs) = ahead.as_ref() else {
            return;
        };
        // A read waiting for the prefetch of the prioritized files (or for
        // a directory already coming) tells nothing about what comes next.
        if self.in_flight(range) {
            return;
        }
        // One job per range, so that the fetchers take them in parallel.
        for ahead in self.neighbours.on_miss(file, range) {
            // The fetchers are gone only if the layer is being dropped.
            let _ = jobs.send(Ahead::Range(ahead));
        }
        let family = self.neighbours.on_family_miss(file, range);
        if !family.is_empty() {
            let _ = jobs.send(Ahead::Ranges(family));
        }
    }

    /// Hands an ELF file just read from the network to the fetchers, which
    /// fetch the libraries it loads before the loader asks for them one by
    /// one.
    fn ask_for_needs(&self, file: &str, first_bytes: &[u8]) {
        if !first_bytes.starts_with(b"\x7fELF") {
            return;
        }
        let ahead = self.ahead.lock().expect("poisoned");
        let Some(jobs) = ahead.as_ref() else {
            return;
        };
        if self
            .elf_seen
            .lock()
            .expect("poisoned")
            .insert(file.to_owned())
        {
            let _ = jobs.send(Ahead::Needs(file.to_owned()));
        }
    }

    /// The chunk's bytes, verified; from the cache if it has them.
    fn verified_chunk(&self, file: &str, c: &ChunkRef) -> io::Result<Vec<u8>> {
        if let Some(member) = self.cache.get(&c.blob_range)? {
            match read_chunk(&member, c) {
                Ok(bytes) => return Ok(bytes),
                Err(e) => {
                    tracing::warn!(layer = %self.label, file, offset = c.file_offset, error = %e,
                        "cached chunk failed verification; fetching it again");
                    self.cache.forget(&c.blob_range);
                }
            }
        }
        self.fetch_on_demand(file, c).map_err(|e| {
            tracing::error!(layer = %self.label, file, offset = c.file_offset, error = %e,
                "cannot fetch chunk from the registry");
            io::Error::from_raw_os_error(libc::EIO)
        })?;
        let member = self
            .cache
            .get(&c.blob_range)?
            .ok_or_else(|| io::Error::other("fetched chunk missing from the cache"))?;
        let bytes = read_chunk(&member, c).map_err(|e| {
            tracing::error!(layer = %self.label, file, offset = c.file_offset, error = %e,
                "chunk from the registry failed verification; refusing to serve it");
            self.cache.forget(&c.blob_range);
            io::Error::from_raw_os_error(libc::EIO)
        })?;
        if c.file_offset == 0 {
            self.ask_for_needs(file, &bytes);
        }
        Ok(bytes)
    }
}

impl ChunkReader for LazyLayer {
    fn read_chunk(&self, file: &str, chunk: &ChunkRef) -> io::Result<Arc<Vec<u8>>> {
        let key = (chunk.blob_range.start, chunk.inner_offset);
        if let Some(hit) = self.recent.lock().expect("poisoned").get(key) {
            return Ok(hit);
        }
        let bytes = Arc::new(self.verified_chunk(file, chunk)?);
        self.recent
            .lock()
            .expect("poisoned")
            .put(key, bytes.clone());
        Ok(bytes)
    }
}

/// A fetcher's loop: one job at a time, while the layer lives.
fn fetch_ahead_until_dropped(layer: &Weak<LazyLayer>, queue: &Mutex<Receiver<Ahead>>) {
    loop {
        // The lock is held only while waiting, like the FUSE read pool's.
        let Ok(job) = queue.lock().unwrap_or_else(|p| p.into_inner()).recv() else {
            return;
        };
        let Some(layer) = layer.upgrade() else {
            return;
        };
        match job {
            Ahead::Range(range) => layer.fetch_ahead(&range),
            Ahead::Ranges(ranges) => layer.fetch_family(ranges),
            Ahead::Needs(file) => layer.fetch_needs(&file),
        }
    }
}

/// The missing ranges cut into requests of at most [`BACKGROUND_PIECE`]
/// bytes each: a long gap in pieces, short gaps grouped (one request, several
/// ranges).
fn background_batches(missing: &[Range<u64>]) -> Vec<Vec<Range<u64>>> {
    let mut batches: Vec<Vec<Range<u64>>> = Vec::new();
    let mut current: Vec<Range<u64>> = Vec::new();
    let mut bytes = 0;
    for gap in missing {
        let mut at = gap.start;
        while at < gap.end {
            let end = (at + BACKGROUND_PIECE - bytes).min(gap.end);
            current.push(at..end);
            bytes += end - at;
            at = end;
            if bytes == BACKGROUND_PIECE {
                batches.push(std::mem::take(&mut current));
                bytes = 0;
            }
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// A small least-recently-inserted cache of verified chunks.
#[derive(Default)]
struct RecentChunks {
    chunks: std::collections::HashMap<(u64, u64), Arc<Vec<u8>>>,
    order: std::collections::VecDeque<(u64, u64)>,
    bytes: usize,
}

impl RecentChunks {
    fn get(&self, key: (u64, u64)) -> Option<Arc<Vec<u8>>> {
        self.chunks.get(&key).cloned()
    }

    fn put(&mut self, key: (u64, u64), chunk: Arc<Vec<u8>>) {
        if self.chunks.contains_key(&key) {
            return;
        }
        self.bytes += chunk.len();
        self.chunks.insert(key, chunk);
        self.order.push_back(key);
        while self.bytes > DECOMPRESSED_CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(c) = self.chunks.remove(&old) {
                self.bytes -= c.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample layer's files, and the layer as an eStargz blob of
    /// 1000-byte chunks with what its conversion reported.
    fn sample_blob() -> (
        crate::estargz::testutil::Files,
        Vec<u8>,
        crate::estargz::writer::Converted,
    ) {
        use crate::estargz::writer::{convert, ConvertOptions};
        let (input, files) = crate::estargz::testutil::sample_layer();
        let mut blob = Vec::new();
        let opts = ConvertOptions {
            chunk_size: 1000,
            prioritized: Vec::new(),
            compression_level: 6,
            spool_dir: None,
        };
        let converted = convert(&input[..], &mut blob, &opts).unwrap();
        (files, blob, converted)
    }

    /// A registry that accepts connections and never says a word; counts them.
    fn silent_registry() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(conn);
            }
        });
        (addr, accepted)
    }

    #[test]
    fn a_silent_registry_holds_a_read_for_one_budget_even_behind_another_read() {
        use crate::remote::{RegistrySource, RemoteOptions};

        let (_, blob, converted) = sample_blob();
        let estargz = EstargzBlob::open(&blob, Some(&converted.toc_digest)).unwrap();
        let (addr, accepted) = silent_registry();
        let registry = addr.to_string();
        let budget = ReadBudget {
            read_timeout: Duration::from_millis(300),
            attempts: 3,
        };
        let remote = RemoteOptions {
            tls_verify: Some(false),
            insecure: true,
            authfile: None,
            cert_dir: None,
            endpoint: Some(format!("http://{registry}/v2/")),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let source = RegistrySource::new(
            remote.client_with_budget(&registry, budget),
            &registry,
            "lazy/test",
            converted.blob_digest.clone(),
            converted.blob_size,
            runtime.handle().clone(),
        )
        .with_budget(budget);
        let dir = tempfile::tempdir().unwrap();
        let layer = Arc::new(
            LazyLayer::new(
                "test".into(),
                estargz,
                ChunkCache::open(dir.path(), converted.blob_size).unwrap(),
                Arc::new(source),
            )
            .with_budget(budget),
        );
        let chunk = layer.blob().chunks()["./bin/big"][0].clone();

        let first = {
            let (layer, chunk) = (layer.clone(), chunk.clone());
            std::thread::spawn(move || {
                let t = Instant::now();
                let r = layer.read_chunk("./bin/big", &chunk);
                (r.is_err(), t.elapsed())
            })
        };
        // The first read is waiting on the registry; the second waits for it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while accepted.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "the first read never connected");
            std::thread::sleep(Duration::from_millis(5));
        }
        let t = Instant::now();
        let second = layer.read_chunk("./bin/big", &chunk);
        let second_took = t.elapsed();
        let (first_failed, first_took) = first.join().unwrap();

        let total = budget.total();
        let slack = Duration::from_millis(500);
        assert!(first_failed, "a silent registry fails the read");
        let e = second.expect_err("and the one behind it");
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
        assert!(
            first_took >= budget.read_timeout && first_took < total + slack,
            "the first read took {first_took:?}, budget {total:?}"
        );
        assert!(
            second_took < total + slack,
            "the second read took {second_took:?}: one budget ({total:?}), not two"
        );
    }

    /// A blob whose many-range reads deliver their first range, then hold
    /// the rest back until told to go on.
    struct FirstThenHeld {
        blob: crate::estargz::testutil::Counted,
        first_in: Mutex<Sender<()>>,
        go_on: Mutex<Receiver<()>>,
    }

    impl RangeSource for FirstThenHeld {
        fn size(&self) -> u64 {
            self.blob.size()
        }

        fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
            self.blob.read_ranges(ranges)
        }

        fn read_ranges_each(
            &self,
            ranges: &[Range<u64>],
            deliver: &mut dyn FnMut(usize, &[u8]) -> io::Result<()>,
        ) -> io::Result<()> {
            let parts = self.blob.read_ranges(ranges)?;
            deliver(0, &parts[0])?;
            self.first_in.lock().unwrap().send(()).unwrap();
            self.go_on.lock().unwrap().recv().unwrap();
            for (i, part) in parts.iter().enumerate().skip(1) {
                deliver(i, part)?;
            }
            Ok(())
        }
    }

    #[test]
    fn a_range_of_a_many_range_fetch_is_readable_before_the_rest_is_in() {
        use crate::estargz::testutil::Counted;

        let (files, blob, converted) = sample_blob();
        let estargz = EstargzBlob::open(&blob, Some(&converted.toc_digest)).unwrap();
        let (first_in, first_is_in) = channel();
        let (go_on, held) = channel();
        let source = Arc::new(FirstThenHeld {
            blob: Counted::new(blob),
            first_in: Mutex::new(first_in),
            go_on: Mutex::new(held),
        });
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), converted.blob_size).unwrap();
        let layer = Arc::new(LazyLayer::new(
            "test".into(),
            estargz,
            cache,
            source.clone(),
        ));
        let big = layer.blob().chunks()["./bin/big"][0].clone();
        let exact = layer.blob().chunks()["./bin/exact"][0].clone();
        let ranges = vec![big.blob_range.clone(), exact.blob_range.clone()];

        let fetch = {
            let layer = layer.clone();
            std::thread::spawn(move || layer.fetch_all_at_once(ranges))
        };
        first_is_in.recv().unwrap();
        // The second range is still held back; the first is served.
        assert!(layer.cache().contains(&big.blob_range));
        assert!(!layer.cache().contains(&exact.blob_range));
        let read = layer.read_chunk("bin/big", &big).unwrap();
        assert_eq!(read[..], files["bin/big"][..read.len()]);
        go_on.send(()).unwrap();
        fetch.join().unwrap().unwrap();
        assert!(layer.cache().contains(&exact.blob_range));
        assert_eq!(
            source.blob.requests(),
            1,
            "the read made no request of its own"
        );
    }

    #[test]
    fn background_batches_group_small_gaps_and_split_long_ones() {
        let p = BACKGROUND_PIECE;
        let batches = background_batches(&[0..10, 20..30, 40..40 + 2 * p]);
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[0], vec![0..10, 20..30, 40..40 + p - 20]);
        assert_eq!(batches[1], vec![40 + p - 20..40 + 2 * p - 20]);
        assert_eq!(batches[2], vec![40 + 2 * p - 20..40 + 2 * p]);
        let total: u64 = batches.iter().flatten().map(|r| r.end - r.start).sum();
        assert_eq!(total, 20 + 2 * p);
    }
}

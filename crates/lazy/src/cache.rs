//! The on-disk cache of a lazy layer's fetched bytes.
//!
//! The compressed blob is mirrored into one sparse file, `blob.partial`,
//! at the same offsets, and every range written is appended to `present`
//! (one `START END` line each). Several containers (each with its own
//! server process) may share one cache: writes of the same range carry the
//! same bytes, and readers verify every chunk against its digest anyway, so
//! a torn write or a crash between the data and its `present` line costs a
//! refetch, never a wrong byte. When every range is present the file is the
//! whole blob.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const DATA_FILE: &str = "blob.partial";
const PRESENT_FILE: &str = "present";

/// The fetched parts of one blob.
#[derive(Debug)]
pub struct ChunkCache {
    data: File,
    data_path: PathBuf,
    present_log: Mutex<File>,
    present: Mutex<RangeSet>,
    size: u64,
}

impl ChunkCache {
    /// Opens (creating if needed) the cache in `dir` for a blob of `size` bytes.
    pub fn open(dir: &Path, size: u64) -> io::Result<ChunkCache> {
        std::fs::create_dir_all(dir)?;
        let data_path = dir.join(DATA_FILE);
        let data = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&data_path)?;
        if data.metadata()?.len() != size {
            // A new cache, or one of another size (which cannot be ours):
            // a sparse file of the blob's size, nothing present.
            data.set_len(0)?;
            data.set_len(size)?;
            std::fs::write(dir.join(PRESENT_FILE), b"")?;
        }
        let log_path = dir.join(PRESENT_FILE);
        let present = RangeSet::load(&log_path, size)?;
        let present_log = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&log_path)?;
        Ok(ChunkCache {
            data,
            data_path,
            present_log: Mutex::new(present_log),
            present: Mutex::new(present),
            size,
        })
    }

    /// The blob's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file mirroring the blob (whole once [`ChunkCache::is_complete`]).
    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    /// The bytes of `range` if all of them were fetched.
    pub fn get(&self, range: &Range<u64>) -> io::Result<Option<Vec<u8>>> {
        if !self.present.lock().expect("poisoned").contains(range) {
            return Ok(None);
        }
        let mut buf = vec![0; (range.end - range.start) as usize];
        self.data.read_exact_at(&mut buf, range.start)?;
        Ok(Some(buf))
    }

    /// Whether all of `range` was fetched.
    pub fn contains(&self, range: &Range<u64>) -> bool {
        self.present.lock().expect("poisoned").contains(range)
    }

    /// Records fetched bytes starting at blob offset `start`.
    pub fn put(&self, start: u64, bytes: &[u8]) -> io::Result<()> {
        let range = start..start + bytes.len() as u64;
        if range.end > self.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("range {range:?} past the blob's {} bytes", self.size),
            ));
        }
        self.data.write_all_at(bytes, start)?;
        let line = format!("{} {}\n", range.start, range.end);
        self.present_log
            .lock()
            .expect("poisoned")
            .write_all(line.as_bytes())?;
        self.present.lock().expect("poisoned").insert(range);
        Ok(())
    }

    /// The parts of `0..size` not fetched yet.
    pub fn missing(&self) -> Vec<Range<u64>> {
        self.present.lock().expect("poisoned").gaps(self.size)
    }

    /// The parts of `range` not fetched yet.
    pub fn missing_within(&self, range: &Range<u64>) -> Vec<Range<u64>> {
        self.present.lock().expect("poisoned").gaps_within(range)
    }

    pub fn is_complete(&self) -> bool {
        self.missing().is_empty()
    }

    /// Bytes present.
    pub fn present_bytes(&self) -> u64 {
        self.present.lock().expect("poisoned").total()
    }

    /// Forgets `range` (after it failed verification), so it is fetched
    /// again. Only this process forgets; the next open rereads the log,
    /// which is harmless because readers verify.
    pub fn forget(&self, range: &Range<u64>) {
        self.present.lock().expect("poisoned").remove(range);
    }
}

/// Disjoint, merged ranges: start -> end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RangeSet(BTreeMap<u64, u64>);

impl RangeSet {
    /// Reads a `present` log, ignoring lines that do not parse or lie
    /// outside the blob (a torn last line after a crash).
    fn load(path: &Path, size: u64) -> io::Result<RangeSet> {
        let mut set = RangeSet::default();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(set),
            Err(e) => return Err(e),
        };
        for line in io::BufReader::new(file).lines() {
            let line = line?;
            let mut parts = line.split(' ').map(str::parse::<u64>);
            if let (Some(Ok(start)), Some(Ok(end)), None) =
                (parts.next(), parts.next(), parts.next())
            {
                if start < end && end <= size {
                    set.insert(start..end);
                }
            }
        }
        Ok(set)
    }

    pub(crate) fn insert(&mut self, r: Range<u64>) {
        let (mut start, mut end) = (r.start, r.end);
        // Merge with every range that overlaps or touches.
        let touching: Vec<u64> = self
            .0
            .range(..=end)
            .filter(|(_, &e)| e >= start)
            .map(|(&s, _)| s)
            .collect();
        for s in touching {
            let e = self.0.remove(&s).expect("listed");
            start = start.min(s);
            end = end.max(e);
        }
        self.0.insert(start, end);
    }

    pub(crate) fn remove(&mut self, r: &Range<u64>) {
        let overlapping: Vec<(u64, u64)> = self
            .0
            .range(..r.end)
            .filter(|(_, &e)| e > r.start)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in overlapping {
            self.0.remove(&s);
            if s < r.start {
                self.0.insert(s, r.start);
            }
            if e > r.end {
                self.0.insert(r.end, e);
            }
        }
    }

    pub(crate) fn contains(&self, r: &Range<u64>) -> bool {
        if r.start >= r.end {
            return true;
        }
        self.0
            .range(..=r.start)
            .next_back()
            .is_some_and(|(_, &e)| e >= r.end)
    }

    pub(crate) fn gaps(&self, size: u64) -> Vec<Range<u64>> {
        self.gaps_within(&(0..size))
    }

    pub(crate) fn gaps_within(&self, r: &Range<u64>) -> Vec<Range<u64>> {
        let mut out = Vec::new();
        let mut at = r.start;
        // The range that may cover r.start, then those starting inside r.
        let before = self.0.range(..=r.start).next_back();
        let inside = self.0.range(r.start.saturating_add(1)..r.end);
        for (&s, &e) in before.into_iter().chain(inside) {
            if s > at {
                out.push(at..s.min(r.end));
            }
            at = at.max(e);
            if at >= r.end {
                return out;
            }
        }
        if at < r.end {
            out.push(at..r.end);
        }
        out
    }

    fn total(&self) -> u64 {
        self.0.iter().map(|(s, e)| e - s).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_split() {
        let mut s = RangeSet::default();
        s.insert(10..20);
        s.insert(30..40);
        assert!(s.contains(&(12..18)));
        assert!(!s.contains(&(15..35)));
        s.insert(20..30);
        assert!(s.contains(&(10..40)));
        assert_eq!(s.gaps(50), vec![0..10, 40..50]);
        s.remove(&(15..25));
        assert_eq!(s.gaps(50), vec![0..10, 15..25, 40..50]);
        assert_eq!(s.total(), 20);
        assert_eq!(s.gaps_within(&(5..45)), vec![5..10, 15..25, 40..45]);
        assert_eq!(s.gaps_within(&(12..14)), Vec::<Range<u64>>::new());
        assert_eq!(s.gaps_within(&(12..28)), vec![15..25]);
        assert_eq!(s.gaps_within(&(0..5)), vec![0..5]);
        assert_eq!(s.gaps_within(&(40..50)), vec![40..50]);
    }

    #[test]
    fn cache_survives_reopen_and_ignores_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let c = ChunkCache::open(dir.path(), 100).unwrap();
        c.put(10, b"hello").unwrap();
        assert_eq!(c.get(&(10..15)).unwrap().unwrap(), b"hello");
        assert_eq!(c.get(&(10..16)).unwrap(), None);
        drop(c);
        // A crash mid-append leaves half a line.
        let mut log = OpenOptions::new()
            .append(true)
            .open(dir.path().join(PRESENT_FILE))
            .unwrap();
        log.write_all(b"50 6").unwrap();
        let c = ChunkCache::open(dir.path(), 100).unwrap();
        assert_eq!(c.get(&(11..13)).unwrap().unwrap(), b"el");
        assert_eq!(c.missing(), vec![0..10, 15..100]);
        assert!(c.put(98, b"xyz").is_err(), "past the end");
    }

    #[test]
    fn a_different_size_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        ChunkCache::open(dir.path(), 100)
            .unwrap()
            .put(0, b"ab")
            .unwrap();
        let c = ChunkCache::open(dir.path(), 200).unwrap();
        assert_eq!(c.present_bytes(), 0);
        assert_eq!(std::fs::metadata(c.data_path()).unwrap().len(), 200);
    }
}

//! Which bytes to fetch ahead when a read needs the network: the rest of
//! the file's directory.
//!
//! A program that reads one file of a directory tends to read more of it
//! soon after: an interpreter importing modules from one package, a
//! program loading its plug-ins, a locale's or a time zone's files. A
//! layer's tar keeps a directory's files together, so in an eStargz blob
//! they are one or a few byte ranges, and fetching them in one request
//! costs about one round trip, where reading them one by one costs a
//! round trip per file. Without a recorded access list (`image convert
//! --optimize`) this is what makes the first start of an unoptimized image
//! take a few round trips per directory instead of one per file.
//!
//! The cost is bytes nobody reads, and on a slow link they delay the reads
//! that matter, so a directory is fetched whole only when that is cheap:
//! small ones (less than a round trip's worth of transfer on a 100 Mbit/s
//! link with 50 ms round trips) at their first read from the network, and
//! larger ones only once a second file of theirs was read from the network,
//! which shows the workload is reading that directory.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::estargz::names::parent;
use crate::toc::ChunkRef;

/// A directory this small is fetched whole at its first read from the
/// network: 512 KiB take about 40 ms at 100 Mbit/s, less than the 50 ms of
/// the round trip a second miss would cost.
const SMALL_DIR_BYTES: u64 = 512 << 10;

/// A directory up to this size is fetched whole once a second of its files
/// was read from the network. A language runtime's standard library
/// directory (python3.11's `__pycache__`: 2.4 MB compressed) fits; a
/// system's library directory (`/usr/lib/x86_64-linux-gnu`, tens of MB)
/// does not.
const BUSY_DIR_BYTES: u64 = 4 << 20;

/// Files whose compressed bytes lie closer than this are fetched as one
/// range, bytes between them included, to save requests.
const MERGE_GAP: u64 = 32 << 10;

/// The blob ranges of each directory's regular files, and how often each
/// directory was read from the network.
#[derive(Debug, Default)]
pub(crate) struct Neighbours {
    dirs: HashMap<String, DirExtent>,
}

#[derive(Debug)]
struct DirExtent {
    ranges: Vec<Range<u64>>,
    bytes: u64,
    files: usize,
    misses: AtomicU32,
    taken: AtomicBool,
}

impl Neighbours {
    /// Indexes the chunks of every regular file (by cleaned name, as reads
    /// name them) by directory.
    pub(crate) fn index(chunks: &HashMap<String, Vec<ChunkRef>>) -> Neighbours {
        let mut by_dir: HashMap<&str, (Vec<Range<u64>>, usize)> = HashMap::new();
        for (name, file_chunks) in chunks {
            let entry = by_dir.entry(parent(name)).or_default();
            entry
                .0
                .extend(file_chunks.iter().map(|c| c.blob_range.clone()));
            entry.1 += 1;
        }
        let dirs = by_dir
            .into_iter()
            .map(|(dir, (ranges, files))| {
                let ranges = merge_within(ranges, MERGE_GAP);
                let bytes = ranges.iter().map(|r| r.end - r.start).sum();
                let extent = DirExtent {
                    ranges,
                    bytes,
                    files,
                    misses: AtomicU32::new(0),
                    taken: AtomicBool::new(false),
                };
                (dir.to_string(), extent)
            })
            .collect();
        Neighbours { dirs }
    }

    /// Called when a read of `file` needs the network, which fetches
    /// `fetching` for it. Returns the ranges of the file's directory to
    /// fetch besides, once per directory, or nothing when the directory is
    /// too large for what is known of the workload yet.
    pub(crate) fn on_miss(&self, file: &str, fetching: &Range<u64>) -> Vec<Range<u64>> {
        let Some(dir) = self.dirs.get(parent(file)) else {
            return Vec::new();
        };
        if dir.files < 2 {
            return Vec::new();
        }
        let misses = dir.misses.fetch_add(1, Ordering::Relaxed) + 1;
        let wanted = dir.bytes <= SMALL_DIR_BYTES || (misses >= 2 && dir.bytes <= BUSY_DIR_BYTES);
        if !wanted || dir.taken.swap(true, Ordering::Relaxed) {
            return Vec::new();
        }
        dir.ranges
            .iter()
            .flat_map(|r| subtract(r, fetching))
            .collect()
    }
}

/// Sorts `ranges` and joins those that overlap or lie within `gap` bytes
/// of each other.
pub(crate) fn merge_within(mut ranges: Vec<Range<u64>>, gap: u64) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(gap) => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// `r` without `cut`: none, one or two ranges.
pub(crate) fn subtract(r: &Range<u64>, cut: &Range<u64>) -> Vec<Range<u64>> {
    if cut.end <= r.start || r.end <= cut.start || cut.start >= cut.end {
        return vec![r.clone()];
    }
    [r.start..cut.start, cut.end..r.end]
        .into_iter()
        .filter(|p| p.start < p.end)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(blob: Range<u64>) -> ChunkRef {
        ChunkRef {
            file_offset: 0,
            len: blob.end - blob.start,
            blob_range: blob,
            inner_offset: 0,
            digest: None,
        }
    }

    fn layer(files: &[(&str, Range<u64>)]) -> Neighbours {
        let chunks = files
            .iter()
            .map(|(name, r)| (name.to_string(), vec![chunk(r.clone())]))
            .collect();
        Neighbours::index(&chunks)
    }

    #[test]
    fn a_small_directory_comes_whole_at_its_first_miss_and_only_once() {
        let n = layer(&[
            ("pkg/a.pyc", 0..100),
            ("pkg/b.pyc", 100..300),
            ("pkg/c.pyc", 300..400),
            ("other/x", 400..500),
        ]);
        assert_eq!(n.on_miss("pkg/b.pyc", &(100..300)), vec![0..100, 300..400]);
        assert!(n.on_miss("pkg/c.pyc", &(300..400)).is_empty());
    }

    #[test]
    fn a_larger_directory_waits_for_a_second_miss_and_a_huge_one_never_comes() {
        let mb = 1 << 20;
        let n = layer(&[
            ("std/a", 0..mb),
            ("std/b", mb..2 * mb),
            ("lib/big1", 2 * mb..5 * mb),
            ("lib/big2", 5 * mb..9 * mb),
        ]);
        assert!(n.on_miss("std/a", &(0..mb)).is_empty());
        assert_eq!(n.on_miss("std/b", &(mb..2 * mb)), vec![0..mb]);
        assert!(n.on_miss("lib/big1", &(2 * mb..5 * mb)).is_empty());
        assert!(n.on_miss("lib/big2", &(5 * mb..9 * mb)).is_empty());
    }

    #[test]
    fn a_lone_file_or_an_unknown_name_fetches_nothing_more() {
        let n = layer(&[("etc/only", 0..10), ("usr/x", 10..20), ("usr/y", 20..30)]);
        assert!(n.on_miss("etc/only", &(0..10)).is_empty());
        assert!(n.on_miss("nowhere/z", &(0..10)).is_empty());
    }

    #[test]
    fn near_ranges_merge_and_far_ones_stay_apart() {
        let g = MERGE_GAP;
        assert_eq!(
            merge_within(vec![50..60, 0..10, 10 + g..20 + g], g),
            vec![0..20 + g]
        );
        assert_eq!(merge_within(vec![0..10, 11 + g..20 + g], g).len(), 2);
        assert_eq!(
            merge_within(vec![10..20, 0..10, 21..30], 0),
            vec![0..20, 21..30]
        );
    }

    #[test]
    fn subtract_cuts_out_the_middle_or_an_end() {
        assert_eq!(subtract(&(0..10), &(3..5)), vec![0..3, 5..10]);
        assert_eq!(subtract(&(0..10), &(0..5)), vec![5..10]);
        assert_eq!(subtract(&(0..10), &(20..30)), vec![0..10]);
        assert!(subtract(&(0..10), &(0..10)).is_empty());
    }
}

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

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

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

/// A family (the files of one extension below one directory) is fetched
/// whole once files of it were read from the network in this many of its
/// directories: a workload going from package to package of a tree (an
/// interpreter importing its library's compiled modules, a program loading
/// plug-ins from one directory each) would otherwise pay a round trip per
/// directory. bench/lazy.sh's http workload (Python importing from about
/// 20 packages) started in 2.33 s with 2, 2.45 s with 3 and 2.55-2.70 s
/// without families; its hello workload, which reads two directories of
/// the standard library, took 1.35 s with either.
const FAMILY_DIRS: usize = 2;

/// The largest family fetched whole: 6 MiB take about 0.5 s at 100 Mbit/s,
/// the time of ten round trips at 50 ms. Python's standard library has
/// 4.7 MB of compiled modules.
const FAMILY_BYTES: u64 = 6 << 20;

/// The blob ranges of each directory's regular files, and how often each
/// directory was read from the network; and the same for families.
#[derive(Debug, Default)]
pub(crate) struct Neighbours {
    dirs: HashMap<String, DirExtent>,
    families: HashMap<(String, String), Family>,
}

/// The regular files of one extension anywhere below one directory,
/// except those directly in it (its own files are its [`DirExtent`]).
#[derive(Debug, Default)]
struct Family {
    ranges: Vec<Range<u64>>,
    bytes: u64,
    /// Over [`FAMILY_BYTES`]: never fetched, its ranges dropped.
    too_large: bool,
    /// The directories below it from which files of it were read from the
    /// network.
    missed_in: Mutex<HashSet<String>>,
    taken: AtomicBool,
}

/// The extension of a file name (`pyc` of `a/b.cpython-311.pyc`), if it
/// has a short one that is not a version number (`libc.so.6`): what makes
/// files of a kind.
fn extension(name: &str) -> Option<&str> {
    let base = &name[name.rfind('/').map_or(0, |i| i + 1)..];
    let (stem, ext) = base.rsplit_once('.')?;
    let short = !stem.is_empty() && (1..=8).contains(&ext.len());
    let word = ext.bytes().all(|b| b.is_ascii_alphanumeric())
        && ext.bytes().any(|b| b.is_ascii_alphabetic());
    (short && word).then_some(ext)
}

/// The directories above `dir`, nearest first, the layer's root ("") last.
fn ancestors(dir: &str) -> impl Iterator<Item = &str> {
    std::iter::successors((!dir.is_empty()).then(|| parent(dir)), |a| {
        (!a.is_empty()).then(|| parent(a))
    })
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
        Neighbours {
            dirs,
            families: index_families(chunks),
        }
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

/// The families of the layer's files (see [`Family`]).
fn index_families(chunks: &HashMap<String, Vec<ChunkRef>>) -> HashMap<(String, String), Family> {
    let mut families: HashMap<(String, String), Family> = HashMap::new();
    for (name, file_chunks) in chunks {
        let Some(ext) = extension(name) else {
            continue;
        };
        let bytes: u64 = file_chunks
            .iter()
            .map(|c| c.blob_range.end - c.blob_range.start)
            .sum();
        for above in ancestors(parent(name)) {
            let family = families
                .entry((above.to_string(), ext.to_string()))
                .or_default();
            if family.too_large {
                continue;
            }
            family.bytes += bytes;
            if family.bytes > FAMILY_BYTES {
                family.too_large = true;
                family.ranges = Vec::new();
                continue;
            }
            family
                .ranges
                .extend(file_chunks.iter().map(|c| c.blob_range.clone()));
        }
    }
    for family in families.values_mut() {
        family.ranges = merge_within(std::mem::take(&mut family.ranges), 0);
    }
    families
}

impl Neighbours {
    /// Called with [`Neighbours::on_miss`]: when `file`'s kind of file has
    /// now been read from the network in [`FAMILY_DIRS`] directories below
    /// one of its ancestors, the rest of that family (see [`Family`]), once;
    /// the nearest such ancestor counts.
    pub(crate) fn on_family_miss(&self, file: &str, fetching: &Range<u64>) -> Vec<Range<u64>> {
        let Some(ext) = extension(file) else {
            return Vec::new();
        };
        let dir = parent(file);
        for above in ancestors(dir) {
            let Some(family) = self.families.get(&(above.to_string(), ext.to_string())) else {
                continue;
            };
            if family.too_large {
                // Those above hold it all and more.
                return Vec::new();
            }
            let missed = {
                let mut missed_in = family.missed_in.lock().expect("poisoned");
                missed_in.insert(dir.to_string());
                missed_in.len()
            };
            if missed < FAMILY_DIRS {
                continue;
            }
            if family.taken.swap(true, Ordering::Relaxed) {
                return Vec::new();
            }
            return family
                .ranges
                .iter()
                .flat_map(|r| subtract(r, fetching))
                .collect();
        }
        Vec::new()
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
    fn a_family_comes_whole_once_two_of_its_directories_were_read() {
        let n = layer(&[
            ("lib/a/x.pyc", 0..10),
            ("lib/b/y.pyc", 100..110),
            ("lib/c/z.pyc", 200..210),
            ("lib/d/w.pyc", 300..310),
            ("lib/d/v.py", 310..320),
            ("lib/top.pyc", 400..410),
            ("other/q.pyc", 500..510),
        ]);
        assert!(n.on_family_miss("lib/a/x.pyc", &(0..10)).is_empty());
        // A second read in a directory already counted counts once.
        assert!(n.on_family_miss("lib/a/x.pyc", &(0..10)).is_empty());
        assert_eq!(
            n.on_family_miss("lib/b/y.pyc", &(100..110)),
            vec![0..10, 200..210, 300..310],
            "the .pyc files below lib, not lib's own, not the .py, not elsewhere"
        );
        assert!(
            n.on_family_miss("lib/c/z.pyc", &(200..210)).is_empty(),
            "once"
        );
    }

    #[test]
    fn a_large_family_is_never_fetched_whole() {
        let mb = 1 << 20;
        let n = layer(&[
            ("usr/a/x.so", 0..4 * mb),
            ("usr/b/y.so", 4 * mb..8 * mb),
            ("usr/c/z.so", 8 * mb..8 * mb + 10),
        ]);
        assert!(n.on_family_miss("usr/a/x.so", &(0..4 * mb)).is_empty());
        assert!(n.on_family_miss("usr/b/y.so", &(4 * mb..8 * mb)).is_empty());
        assert!(n
            .on_family_miss("usr/c/z.so", &(8 * mb..8 * mb + 10))
            .is_empty());
    }

    #[test]
    fn extensions_are_short_suffixes_of_the_base_name() {
        assert_eq!(extension("a/b.cpython-311.pyc"), Some("pyc"));
        assert_eq!(extension("usr/lib/libc.so.6"), None);
        assert_eq!(extension("usr/lib/libz.so"), Some("so"));
        assert_eq!(extension("home/.bashrc"), None);
        assert_eq!(extension("a.d/noext"), None);
        assert_eq!(extension("a/x.toolongext"), None);
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), vec!["a/b", "a", ""]);
        assert_eq!(ancestors("").count(), 0);
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

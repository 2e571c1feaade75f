//! A checkpointed process's memory, from CRIU's `pagemap-PID.img` (which
//! virtual ranges were dumped) and `pages-N.img` (their contents, in the
//! pagemap's order): what `checkpoint memparse` searches.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;

use crate::error::{io_err, CheckpointError, Result};
use crate::stats::{entries, fields, Value};

const PAGE_SIZE: u64 = 4096;
/// pagemap_entry.flags: the pages are in this image (not in a parent
/// pre-dump's, not left for lazy restore).
const PE_PRESENT: u64 = 4;
const PE_PARENT: u64 = 1;

/// A dumped range of process memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    vaddr: u64,
    pages: u64,
    present: bool,
}

/// One match of a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryMatch {
    /// The virtual address in the process.
    pub address: u64,
    /// The bytes around it (`context` on each side), lossy UTF-8.
    pub context: String,
}

fn pagemap(images: &Path, pid: u32) -> Result<(u64, Vec<Range>)> {
    let path = images.join(format!("pagemap-{pid}.img"));
    let data = std::fs::read(&path).map_err(io_err("reading", &path))?;
    let bad = || CheckpointError::BadArchive {
        path: path.clone(),
        reason: "not a CRIU pagemap image".into(),
    };
    let all = entries(&data).ok_or_else(bad)?;
    let (head, rest) = all.split_first().ok_or_else(bad)?;
    let pages_id = fields(head)
        .ok_or_else(bad)?
        .into_iter()
        .find_map(|(f, v)| match (f, v) {
            (1, Value::Int(id)) => Some(id),
            _ => None,
        })
        .ok_or_else(bad)?;
    let mut ranges = Vec::new();
    for e in rest {
        let (mut vaddr, mut pages, mut flags, mut in_parent) = (0, 0, None, false);
        for (f, v) in fields(e).ok_or_else(bad)? {
            match (f, v) {
                (1, Value::Int(x)) => vaddr = x,
                (2, Value::Int(x)) => pages = x,
                (3, Value::Int(x)) => in_parent = x != 0,
                (4, Value::Int(x)) => flags = Some(x),
                _ => {}
            }
        }
        let present = match flags {
            Some(f) => f & PE_PRESENT != 0 && f & PE_PARENT == 0,
            None => !in_parent,
        };
        ranges.push(Range {
            vaddr,
            pages,
            present,
        });
    }
    Ok((pages_id, ranges))
}

/// Finds `needle` in the dumped memory of process `pid` (as the
/// container saw it). Matches that straddle two ranges are not found.
pub fn search_memory(
    images: &Path,
    pid: u32,
    needle: &[u8],
    context: usize,
) -> Result<Vec<MemoryMatch>> {
    if crate::pstree::is_zombie(images, pid) {
        return Err(CheckpointError::Zombie { pid });
    }
    let (pages_id, ranges) = pagemap(images, pid)?;
    let path = images.join(format!("pages-{pages_id}.img"));
    let mut file = std::fs::File::open(&path).map_err(io_err("opening", &path))?;
    let size = file.metadata().map_err(io_err("reading", &path))?.len();
    let mut out = Vec::new();
    let mut offset = 0u64;
    for r in ranges.iter().filter(|r| r.present) {
        let len = r.pages.saturating_mul(PAGE_SIZE);
        // The pagemap is untrusted: never believe it beyond the file.
        if offset.saturating_add(len) > size {
            return Err(CheckpointError::BadArchive {
                path: path.clone(),
                reason: format!("pagemap-{pid}.img names more pages than the file holds"),
            });
        }
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(io_err("reading", &path))?;
        offset += len;
        if needle.is_empty() {
            continue;
        }
        for (i, w) in buf.windows(needle.len()).enumerate() {
            if w == needle {
                let from = i.saturating_sub(context);
                let to = (i + needle.len() + context).min(buf.len());
                out.push(MemoryMatch {
                    address: r.vaddr + i as u64,
                    context: String::from_utf8_lossy(&buf[from..to]).into_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// Bytes of memory dumped for each process: (pid, bytes), with `None`
/// for a zombie, which has no memory to dump. A live process without its
/// pagemap is a damaged archive: an error.
pub fn memory_sizes(images: &Path, pids: &[u32]) -> Result<Vec<(u32, Option<u64>)>> {
    pids.iter()
        .map(|&pid| {
            if crate::pstree::is_zombie(images, pid) {
                return Ok((pid, None));
            }
            let (_, ranges) = pagemap(images, pid)?;
            let pages: u64 = ranges.iter().filter(|r| r.present).map(|r| r.pages).sum();
            Ok((pid, Some(pages * PAGE_SIZE)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::build::{bytes, image, int};

    /// core-PID.img of a process named `comm` in CRIU's `task_state`.
    fn core(comm: &str, task_state: u64) -> Vec<u8> {
        let tc = [int(1, task_state), int(2, 0), bytes(6, comm.as_bytes())].concat();
        image(&[[int(1, 1), bytes(3, &tc)].concat()])
    }

    /// A checkpoint as CRIU writes one of `sh` (pid 1, live: two pages
    /// holding `needle`) with an unreaped child `sleep` (pid 5): a zombie
    /// has a core image but no pagemap.
    fn with_zombie(needle: &[u8]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let put = |name: &str, data: Vec<u8>| std::fs::write(d.path().join(name), data).unwrap();
        put(
            "pstree.img",
            image(&[
                [int(1, 1), int(2, 0)].concat(),
                [int(1, 5), int(2, 1)].concat(),
            ]),
        );
        put("core-1.img", core("sh", 1));
        put("core-5.img", core("sleep", 2));
        let present = PE_PRESENT;
        put(
            "pagemap-1.img",
            image(&[
                int(1, 3),
                [int(1, 0x7f00_0000_0000), int(2, 2), int(4, present)].concat(),
            ]),
        );
        let mut pages = vec![0u8; 2 * PAGE_SIZE as usize];
        pages[100..100 + needle.len()].copy_from_slice(needle);
        put("pages-3.img", pages);
        d
    }

    #[test]
    fn a_zombie_has_no_memory_and_says_so() {
        let d = with_zombie(b"needle");
        let procs = crate::pstree::process_tree(d.path()).unwrap();
        let zombies: Vec<(u32, &str, bool)> = procs
            .iter()
            .map(|p| (p.pid, p.comm.as_str(), p.zombie))
            .collect();
        assert_eq!(zombies, [(1, "sh", false), (5, "sleep", true)]);
        assert_eq!(
            memory_sizes(d.path(), &[1, 5]).unwrap(),
            [(1, Some(2 * PAGE_SIZE)), (5, None)]
        );
        let found = search_memory(d.path(), 1, b"needle", 0).unwrap();
        assert_eq!(found[0].address, 0x7f00_0000_0000 + 100);
        let err = search_memory(d.path(), 5, b"needle", 0).unwrap_err();
        assert!(matches!(err, CheckpointError::Zombie { pid: 5 }), "{err}");
    }

    #[test]
    fn a_live_process_without_its_pagemap_is_a_damaged_archive() {
        let d = with_zombie(b"needle");
        std::fs::remove_file(d.path().join("pagemap-1.img")).unwrap();
        assert!(memory_sizes(d.path(), &[1, 5]).is_err());
    }
}

//! Maps from the subordinate IDs of /etc/subuid and /etc/subgid:
//! `--userns=auto[:size=N]` gives each container a range of host IDs of
//! its own from those of the user `containers` (as rootful podman does),
//! not used by any other container of this store; `--subuidname NAME` and
//! `--subgidname NAME` map the container onto all of NAME's.

use std::path::Path;

use hoist_idmap::IdMap;

use crate::error::{ContainerError, Result};
use crate::store::Containers;

/// The user whose subordinate IDs podman (and hoist) hand out.
const AUTO_USER: &str = "containers";
/// The range a container gets without `size=`.
pub const DEFAULT_SIZE: u32 = 65536;

/// A host ID range: `start` and the `count` IDs from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    start: u64,
    count: u64,
}

/// The size `--userns=auto[:size=N]` asks for, checked.
pub fn requested_size(v: &str) -> Result<u32> {
    let options = v.strip_prefix("auto").unwrap_or(v).trim_start_matches(':');
    let mut size = DEFAULT_SIZE;
    for o in options.split(',').filter(|o| !o.is_empty()) {
        match o.split_once('=') {
            Some(("size", n)) => {
                size = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ContainerError::Invalid(format!(
                        "--userns={v}: size must be a number of IDs above 0"
                    ))
                })?;
            }
            _ => {
                return Err(ContainerError::Invalid(format!(
                    "--userns={v}: hoist knows only the option size=N"
                )))
            }
        }
    }
    Ok(size)
}

/// `--subuidname`/`--subgidname NAME`: NAME's ranges in `file` (/etc/subuid
/// or /etc/subgid), one after the other from container ID 0.
pub fn named_maps(flag: &str, file: &str, name: &str) -> Result<Vec<IdMap>> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut next = 0u64;
    let mut maps = vec![];
    for r in subordinate_ranges(&text, name) {
        if next + r.count > 1 << 32 {
            break;
        }
        maps.push(IdMap {
            container: next as u32,
            host: r.start as u32,
            size: r.count as u32,
        });
        next += r.count;
    }
    if maps.is_empty() {
        return Err(ContainerError::Invalid(format!(
            "{flag} {name}: no subordinate IDs for {name:?} in {file}: add a line NAME:START:COUNT there, or give the maps with --uidmap/--gidmap"
        )));
    }
    Ok(maps)
}

/// Picks the first `size` IDs of `containers`' subordinate UIDs and GIDs
/// that no container of `cs` maps; the caller holds [`lock`] until the new
/// container is recorded. Returns the UID and GID maps.
pub(crate) fn allocate(cs: &Containers, size: u32) -> Result<(Vec<IdMap>, Vec<IdMap>)> {
    let used = used_ranges(cs)?;
    let uid = pick("/etc/subuid", size, &used.0)?;
    let gid = pick("/etc/subgid", size, &used.1)?;
    let map = |host: u64| IdMap {
        container: 0,
        host: host as u32,
        size,
    };
    Ok((vec![map(uid)], vec![map(gid)]))
}

/// Serializes allocations: two containers made at once must not get the
/// same range.
pub(crate) fn lock(cs: &Containers) -> Result<hoist_fsutil::FileLock> {
    let path = cs.root().join("containers").join(".userns-auto.lock");
    Ok(hoist_fsutil::FileLock::exclusive(&path)?)
}

fn used_ranges(cs: &Containers) -> Result<(Vec<Range>, Vec<Range>)> {
    let mut uids = vec![];
    let mut gids = vec![];
    for c in cs.list()? {
        let f = &c.config.options.run_flags;
        uids.extend(f.uid_map.iter().map(range_of));
        gids.extend(f.gid_map.iter().map(range_of));
    }
    Ok((uids, gids))
}

fn range_of(m: &IdMap) -> Range {
    Range {
        start: u64::from(m.host),
        count: u64::from(m.size),
    }
}

fn pick(file: &str, size: u32, used: &[Range]) -> Result<u64> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let ranges = subordinate_ranges(&text, AUTO_USER);
    if ranges.is_empty() {
        return Err(ContainerError::Invalid(format!(
            "--userns=auto: cannot find mappings for user {AUTO_USER:?}: no subordinate IDs for {AUTO_USER:?} in {file}; add a line such as `{AUTO_USER}:2147483647:2147483648` there"
        )));
    }
    first_free(&ranges, u64::from(size), used).ok_or_else(|| {
        ContainerError::Invalid(format!(
            "--userns=auto: no {size} IDs of {AUTO_USER:?}'s in {} are free: remove containers, or give {AUTO_USER:?} more IDs there",
            Path::new(file).display()
        ))
    })
}

/// The ranges `user` has in a subuid/subgid file (`NAME:START:COUNT`).
fn subordinate_ranges(text: &str, user: &str) -> Vec<Range> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (name, start, count) = (f.next()?, f.next()?, f.next()?);
            (name == user).then_some(())?;
            Some(Range {
                start: start.parse().ok()?,
                count: count.parse().ok()?,
            })
        })
        .filter(|r| r.count > 0 && r.start + r.count <= 1 << 32)
        .collect()
}

/// The lowest start of `size` IDs inside one of `ranges` that overlaps
/// none of `used`.
fn first_free(ranges: &[Range], size: u64, used: &[Range]) -> Option<u64> {
    let mut used = used.to_vec();
    used.sort_by_key(|r| r.start);
    ranges.iter().find_map(|r| {
        let mut start = r.start;
        for u in &used {
            if start + size <= u.start {
                break;
            }
            if u.start + u.count > start {
                start = u.start + u.count;
            }
        }
        (start + size <= r.start + r.count).then_some(start)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, count: u64) -> Range {
        Range { start, count }
    }

    #[test]
    fn reads_only_the_users_lines() {
        let text =
            "root:100000:65536\ncontainers:2147483647:2147483648\nbad line\ncontainers:x:1\n";
        assert_eq!(
            subordinate_ranges(text, "containers"),
            [r(2147483647, 2147483648)]
        );
    }

    #[test]
    fn the_first_gap_big_enough_is_taken() {
        let ranges = [r(1000, 300)];
        assert_eq!(first_free(&ranges, 100, &[]), Some(1000));
        assert_eq!(first_free(&ranges, 100, &[r(1000, 100)]), Some(1100));
        assert_eq!(
            first_free(&ranges, 100, &[r(1150, 10), r(1000, 100)]),
            Some(1160)
        );
        assert_eq!(first_free(&ranges, 100, &[r(1000, 250)]), None);
        // Ranges of other users (outside ours) do not matter.
        assert_eq!(first_free(&ranges, 100, &[r(0, 1000)]), Some(1000));
    }

    #[test]
    fn size_is_the_only_option() {
        assert_eq!(requested_size("auto").unwrap(), DEFAULT_SIZE);
        assert_eq!(requested_size("auto:size=4096").unwrap(), 4096);
        assert!(requested_size("auto:size=0").is_err());
        assert!(requested_size("auto:uidmapping=0:1:2").is_err());
    }
}

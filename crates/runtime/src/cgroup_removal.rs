//! Removing a container's cgroup from every hierarchy it is in, with what
//! is left in it killed first: once for a stopped container's delete, and
//! after a restore that failed half-way (CRIU may have made the cgroup in
//! hierarchies the runtime never uses, name=systemd among them). And
//! killing what is in a cgroup without removing it, after a monitor died.
//!
//! One read of the mount table finds every cgroup hierarchy, v1 or v2.
//! libcgroups' cgroup v1 manager instead reads the whole table again for
//! each of the twelve controllers it knows, through a checked procfs
//! handle; on a `run --rm` that was the largest part of the teardown.

use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use hoist_fsutil::mountinfo::mount_entries;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// A cgroup that could not be removed.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub struct RemovalError {
    pub(crate) op: &'static str,
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: std::io::Error,
}

fn failed(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RemovalError {
    let path = path.to_path_buf();
    move |source| RemovalError { op, path, source }
}

/// How long a cgroup whose processes were just killed may stay busy
/// before the removal gives up (the kernel frees it once they are gone).
const BUSY_FOR_AT_MOST: Duration = Duration::from_secs(2);

/// Removes cgroup `path` (`linux.cgroupsPath`, relative to each
/// hierarchy's root) from every mounted hierarchy where it exists,
/// killing what is left in it first. A cgroup that is nowhere is removed.
pub fn remove(path: &Path) -> Result<(), RemovalError> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(failed("reading", Path::new("/proc/self/mountinfo")))?;
    // Every hierarchy gets its try; the first failure is the one told.
    let mut first_error = None;
    for dir in cgroup_dirs(&mountinfo, path) {
        if let Err(e) = remove_cgroup(&dir) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// SIGKILLs every process in cgroup `path`, in every hierarchy where it
/// exists, until none is left or [`KILL_ROUNDS`] rounds have passed; the
/// cgroup itself stays (for the runtime's delete). For the processes of a
/// container whose monitor died: no one else will stop or reap them.
pub fn kill_all(path: &Path) {
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let dirs = cgroup_dirs(&mountinfo, path);
    for _ in 0..KILL_ROUNDS {
        let occupied: Vec<&PathBuf> = dirs.iter().filter(|d| has_members(d)).collect();
        if occupied.is_empty() {
            return;
        }
        for dir in occupied {
            kill_members(dir);
        }
        std::thread::sleep(KILL_PAUSE);
    }
}

/// How often [`kill_all`] looks again, and how long it waits between.
const KILL_ROUNDS: usize = 50;
const KILL_PAUSE: Duration = Duration::from_millis(10);

/// Whether cgroup `dir` holds a process (a missing cgroup holds none).
fn has_members(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .is_ok_and(|procs| procs.lines().any(|l| !l.trim().is_empty()))
}

/// Where cgroup `path` would be in each cgroup hierarchy (v1 or v2) of a
/// mountinfo text, one directory per mount point. A path that climbs out
/// of its hierarchy (`..`) names no directory.
fn cgroup_dirs(mountinfo: &str, path: &Path) -> Vec<PathBuf> {
    let Some(relative) = inside_hierarchy(path) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = mount_entries(mountinfo)
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
        .map(|m| Path::new(&m.mount_point).join(&relative))
        .collect();
    dirs.dedup();
    dirs
}

/// `path` relative to a hierarchy's root, or `None` if it is empty (the
/// root itself) or has a `..`.
fn inside_hierarchy(path: &Path) -> Option<PathBuf> {
    let mut relative = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(name) => relative.push(name),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    (!relative.as_os_str().is_empty()).then_some(relative)
}

/// Kills what is left in cgroup `dir` and below, and removes them, the
/// deepest first. A cgroup that is not there is already removed.
fn remove_cgroup(dir: &Path) -> Result<(), RemovalError> {
    let children = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(failed("reading", dir)(e)),
    };
    for entry in children.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup(&entry.path())?;
        }
    }
    remove_when_empty(dir)
}

/// SIGKILLs every process in cgroup `dir`: at once with cgroup v2's
/// `cgroup.kill`, else one by one from `cgroup.procs`. Processes that are
/// already gone are fine.
fn kill_members(dir: &Path) {
    // Opened without O_CREAT: only a kernel-made file counts.
    let kill_file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"));
    if kill_file.and_then(|mut f| f.write_all(b"1")).is_ok() {
        return;
    }
    let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) else {
        return;
    };
    for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Kills what is in cgroup `dir` and removes it, again while the kernel
/// still counts processes (EBUSY: killed a moment ago, or forked after the
/// last look), with a growing pause.
fn remove_when_empty(dir: &Path) -> Result<(), RemovalError> {
    let mut pause = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    loop {
        kill_members(dir);
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && waited < BUSY_FOR_AT_MOST => {
                std::thread::sleep(pause);
                waited += pause;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(failed("removing cgroup", dir)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
57 27 0:40 / /var/lib/c/rootfs rw,relatime - overlay overlay rw,lowerdir=/l
";

    #[test]
    fn every_cgroup_hierarchy_gets_the_path_and_nothing_else_does() {
        let dirs = cgroup_dirs(HYBRID, Path::new("/hoist/abc"));
        assert_eq!(
            dirs,
            [
                "/sys/fs/cgroup/cpu/hoist/abc",
                "/sys/fs/cgroup/memory/hoist/abc",
                "/sys/fs/cgroup/systemd/hoist/abc",
                "/sys/fs/cgroup/unified/hoist/abc",
            ]
            .map(PathBuf::from)
        );
        let v2 = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_dirs(v2, Path::new("machine.slice/hoist-x")),
            [PathBuf::from("/sys/fs/cgroup/machine.slice/hoist-x")]
        );
    }

    #[test]
    fn a_path_out_of_the_hierarchy_or_its_root_names_no_directory() {
        assert!(cgroup_dirs(HYBRID, Path::new("/hoist/../../etc")).is_empty());
        assert!(cgroup_dirs(HYBRID, Path::new("/")).is_empty());
        assert!(cgroup_dirs(HYBRID, Path::new("")).is_empty());
    }

    #[test]
    fn a_tree_that_is_gone_is_removed_and_a_plain_directory_tree_goes_deepest_first() {
        let tmp = tempfile::tempdir().unwrap();
        remove_cgroup(&tmp.path().join("absent")).unwrap();
        let top = tmp.path().join("hoist/abc");
        std::fs::create_dir_all(top.join("child/grandchild")).unwrap();
        remove_cgroup(&top).unwrap();
        assert!(!top.exists());
        assert!(tmp.path().join("hoist").exists(), "the parent stays");
    }
}

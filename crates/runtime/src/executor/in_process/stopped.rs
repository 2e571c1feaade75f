//! Deleting a stopped container without libcontainer's cgroup manager.
//!
//! libcontainer's delete builds a cgroup manager to remove the container's
//! cgroup. On cgroup v1 that manager looks for each of the twelve
//! controllers it knows in `/proc/self/mountinfo`, reading the whole table
//! again for each one (through a checked procfs handle, about fifteen
//! system calls every time), so a delete costs as much as the host's mount
//! table is long, twelve times over; it was the largest part of a `run
//! --rm`'s teardown. A stopped container needs only its cgroup directories
//! removed and its state directory deleted: one read of the mount table
//! finds every hierarchy it can be in. Anything else (a container still
//! running, hooks left to libcontainer, Intel RDT, systemd cgroups) goes
//! through libcontainer as before.

use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use hoist_fsutil::mountinfo::mount_entries;
use libcontainer::config::YoukiConfig;
use libcontainer::container::{Container, ContainerStatus};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::executor::error::{io_err, RuntimeError};

/// How long a cgroup whose processes were just killed may stay busy
/// before the delete gives up (the kernel frees it once they are reaped).
const BUSY_FOR_AT_MOST: Duration = Duration::from_secs(2);

/// The cgroup to remove when hoist can delete `c` itself, or `None` when
/// libcontainer must: `c` is not stopped, or its state asks for something
/// only libcontainer's delete does (poststop hooks it was given, Intel RDT
/// clean-up, a systemd cgroup).
pub(super) fn own_delete_target(c: &Container) -> Option<PathBuf> {
    if c.status() != ContainerStatus::Stopped || c.systemd() || c.intel_rdt_dir().is_some() {
        return None;
    }
    let config = YoukiConfig::load(&c.root).ok()?;
    let has_poststop = config
        .hooks
        .as_ref()
        .and_then(|h| h.poststop().as_ref())
        .is_some_and(|hooks| !hooks.is_empty());
    (!has_poststop).then_some(config.cgroup_path)
}

/// Removes the stopped container `c`: its cgroup `cgroup_path` in every
/// hierarchy, then its state directory.
pub(super) fn delete(c: &Container, cgroup_path: &Path) -> Result<(), RuntimeError> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(io_err("reading", "/proc/self/mountinfo"))?;
    for dir in cgroup_dirs(&mountinfo, cgroup_path) {
        remove_cgroup(&dir)?;
    }
    match std::fs::remove_dir_all(&c.root) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io_err("removing", &c.root)(e)),
        _ => Ok(()),
    }
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
fn remove_cgroup(dir: &Path) -> Result<(), RuntimeError> {
    let children = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("reading", dir)(e)),
    };
    for entry in children.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup(&entry.path())?;
        }
    }
    kill_members(dir);
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

/// Removes the empty cgroup `dir`, retrying while the kernel still counts
/// processes killed a moment ago (EBUSY), with a growing pause.
fn remove_when_empty(dir: &Path) -> Result<(), RuntimeError> {
    let mut pause = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && waited < BUSY_FOR_AT_MOST => {
                std::thread::sleep(pause);
                waited += pause;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(io_err("removing cgroup", dir)(e)),
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

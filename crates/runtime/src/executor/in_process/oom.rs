//! `linux.resources.memory.disableOOMKiller`, which libcontainer 0.7 never
//! applies: on cgroup v1 it is `memory.oom_control` = 1 in the container's
//! memory cgroup. cgroup v2 has no such switch (runc ignores it there too).

use std::path::{Path, PathBuf};

use crate::executor::error::{io_err, RuntimeError};

/// The memory cgroup v1 directory of process `pid`, from
/// `/proc/<pid>/cgroup` and this process's mount table; `None` when the
/// memory controller is not mounted as cgroup v1.
fn memory_cgroup_v1(pid: i32) -> Result<Option<PathBuf>, RuntimeError> {
    let cg_file = format!("/proc/{pid}/cgroup");
    let cgroups = std::fs::read_to_string(&cg_file).map_err(io_err("reading", &cg_file))?;
    let Some(rel) = cgroups.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        ctrls.split(',').any(|c| c == "memory").then_some(path)
    }) else {
        return Ok(None);
    };
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(io_err("reading", "/proc/self/mountinfo"))?;
    Ok(memory_mount(&mountinfo).map(|m| m.join(rel.trim_start_matches('/'))))
}

/// The mount point of the cgroup v1 hierarchy with the memory controller
/// (`.. - cgroup cgroup rw,memory`), whose root is the hierarchy's root.
fn memory_mount(mountinfo: &str) -> Option<PathBuf> {
    hoist_fsutil::mountinfo::mount_entries(mountinfo)
        .find(|m| {
            m.fs_type == "cgroup"
                && m.root == "/"
                && m.super_options.split(',').any(|o| o == "memory")
        })
        .map(|m| PathBuf::from(m.mount_point))
}

/// Disables the OOM killer for the memory cgroup of container `id`'s init
/// `pid`. Not an error on cgroup v2 (logged: nothing to apply).
pub(super) fn disable_oom_killer(id: &str, pid: i32) -> Result<(), RuntimeError> {
    let Some(dir) = memory_cgroup_v1(pid)? else {
        tracing::warn!(
            id,
            "disableOOMKiller ignored: no cgroup v1 memory controller on this host"
        );
        return Ok(());
    };
    write_oom_control(&dir)
}

fn write_oom_control(dir: &Path) -> Result<(), RuntimeError> {
    let file = dir.join("memory.oom_control");
    std::fs::write(&file, "1").map_err(io_err("disabling the OOM killer in", &file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_memory_hierarchy() {
        let mi = "\
24 1 0:22 / /sys rw,nosuid - sysfs sysfs rw
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
";
        assert_eq!(
            memory_mount(mi),
            Some(PathBuf::from("/sys/fs/cgroup/memory"))
        );
        let v2 = "35 24 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(memory_mount(v2), None);
    }

    #[test]
    fn own_memory_cgroup_is_found_when_v1() {
        let me = std::process::id() as i32;
        if let Some(dir) = memory_cgroup_v1(me).unwrap() {
            assert!(dir.join("memory.oom_control").exists(), "{dir:?}");
        }
    }
}

//! CRIU through its RPC interface (`criu swrk`, via rust-criu).

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rust_criu::{CgMode, Criu};

use crate::error::{io_err, CheckpointError, Result};
use crate::namespaces::{joining, within, SharedNamespace};

/// CRIU's own log of a dump, in the images directory (podman's name).
pub const DUMP_LOG: &str = "dump.log";
/// CRIU's own log of a restore, in the images directory (podman's name).
pub const RESTORE_LOG: &str = "restore.log";

/// CRIU's oldest version that restores containers on current kernels
/// well enough (runc and crun ask for 3.15/3.16).
const MIN_VERSION: u32 = 31600;

/// A bind mount of the container that comes from outside its root
/// filesystem: CRIU records it by `destination` and, on restore, mounts
/// `source` there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalMount {
    pub destination: String,
    pub source: String,
}

/// What to dump.
#[derive(Debug, Clone, Default)]
pub struct DumpRequest {
    /// The init process of the tree (host pid namespace).
    pub pid: i32,
    /// Where CRIU writes its images and its log.
    pub images_dir: PathBuf,
    /// The container's root filesystem, as the host sees it.
    pub root: PathBuf,
    pub leave_running: bool,
    pub tcp_established: bool,
    pub file_locks: bool,
    /// The process has a pty whose master is outside (`-t`).
    pub tty: bool,
    /// Bind mounts from outside (only destinations matter when dumping).
    pub external_mounts: Vec<String>,
    /// Masked files: /dev/null bound on them. Recorded as runc records
    /// them, all under the one external name `/dev/null`, so that runc
    /// and hoist restore each other's checkpoints.
    pub masked_files: Vec<String>,
    /// The inode of a network namespace made outside the container
    /// (netavark's), which CRIU records as external instead of dumping.
    pub external_netns: Option<u64>,
    /// Namespaces shared with another container (a pod's): left out of the
    /// images (see [`crate::namespaces`]).
    pub shared_namespaces: Vec<SharedNamespace>,
}

/// What to restore.
#[derive(Debug, Default)]
pub struct RestoreRequest {
    pub images_dir: PathBuf,
    /// The (freshly mounted) root filesystem to restore into.
    pub root: PathBuf,
    pub tcp_established: bool,
    pub file_locks: bool,
    pub tty: bool,
    pub external_mounts: Vec<ExternalMount>,
    /// The network namespace to put the tree in (for a dump that had an
    /// external one).
    pub netns: Option<OwnedFd>,
    /// Descriptors that replace the dumped ones, by CRIU's key for them
    /// (`pipe:[INODE]`): the new stdio of the tree.
    pub inherit: Vec<(OwnedFd, String)>,
    /// Namespaces to restore the tree into instead of new ones: those of
    /// the pod the container is restored into.
    pub shared_namespaces: Vec<SharedNamespace>,
}

/// The CRIU version in PATH ("4.1.1"), or why there is none.
pub fn criu_version() -> Result<String> {
    let out = std::process::Command::new("criu")
        .arg("--version")
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CheckpointError::CriuMissing,
            _ => CheckpointError::Io {
                op: "running",
                path: "criu --version".into(),
                source: e,
            },
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Version:"))
        .map(|v| v.trim().to_string())
        .ok_or(CheckpointError::CriuMissing)
}

fn new_criu() -> Result<Criu> {
    Criu::new().map_err(|_| CheckpointError::CriuMissing)
}

/// A CRIU older than [`MIN_VERSION`] in PATH: its version. Asked only
/// once a dump or restore failed, so that a working one costs no extra
/// start of CRIU.
fn too_old() -> Option<String> {
    let found = criu_version().ok()?;
    (version_number(&found)? < MIN_VERSION).then_some(found)
}

/// "3.17.1" as CRIU numbers its versions (31701).
fn version_number(v: &str) -> Option<u32> {
    let mut parts = v.split('.').map(|p| p.parse::<u32>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some(major * 10000 + minor * 100 + patch)
}

fn open_dir(dir: &Path) -> Result<File> {
    std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
    File::open(dir).map_err(io_err("opening", dir))
}

/// The last error lines of a CRIU log: what the user needs, not 2000 lines.
fn log_errors(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("Error") || l.contains("error"))
        .collect();
    errors
        .iter()
        .rev()
        .take(3)
        .rev()
        .copied()
        .collect::<Vec<_>>()
        .join("; ")
}

fn criu_failed(op: &'static str, log: PathBuf, e: rust_criu::CriuError) -> CheckpointError {
    if matches!(e, rust_criu::CriuError::Spawn { .. }) {
        return CheckpointError::CriuMissing;
    }
    if let Some(found) = too_old() {
        return CheckpointError::CriuTooOld { found };
    }
    let detail = log_errors(&log);
    let message = if detail.is_empty() {
        e.to_string()
    } else {
        format!("{e}: {detail}")
    };
    CheckpointError::Criu { op, message, log }
}

/// Dumps the tree of `req.pid` into `req.images_dir`; unless
/// `leave_running`, CRIU kills it once dumped.
pub fn dump(req: &DumpRequest) -> Result<()> {
    let mut criu = new_criu()?;
    let dir = open_dir(&req.images_dir)?;
    criu.set_images_dir_fd(dir.as_raw_fd());
    criu.set_log_file(DUMP_LOG.to_string());
    criu.set_log_level(4);
    criu.set_pid(req.pid);
    criu.set_root(req.root.to_string_lossy().into_owned());
    criu.set_leave_running(req.leave_running);
    criu.set_tcp_established(req.tcp_established);
    criu.set_file_locks(req.file_locks);
    criu.set_ext_unix_sk(true);
    criu.set_shell_job(false);
    criu.set_orphan_pts_master(req.tty);
    criu.set_manage_cgroups(true);
    criu.cgroups_mode(CgMode::SOFT);
    criu.set_link_remap(true);
    for dest in &req.external_mounts {
        criu.set_external_mount(dest.clone(), dest.clone());
    }
    for path in &req.masked_files {
        criu.set_external_mount(path.clone(), DEV_NULL.to_string());
    }
    if let Some(inode) = req.external_netns {
        criu.add_external(format!("net[{inode}]:{}", NETNS_KEY));
    }
    within(&req.shared_namespaces, || {
        criu.dump()
            .map_err(|e| criu_failed("checkpointing", req.images_dir.join(DUMP_LOG), e))
    })
}

/// The external name of masked files, and what they are bound to.
const DEV_NULL: &str = "/dev/null";

/// CRIU's key for an external network namespace (runc's name).
const NETNS_KEY: &str = "extRootNetNS";

/// Restores the tree dumped in `req.images_dir` as a child of this process
/// (which must be a child subreaper or the tree's parent) and returns its
/// init's pid. The tree starts in this process's cgroups, not in the ones
/// it was dumped from (which may be another container's): join the
/// container's cgroups before, and apply their limits after.
pub fn restore(req: RestoreRequest) -> Result<i32> {
    let mut criu = new_criu()?;
    let dir = open_dir(&req.images_dir)?;
    criu.set_images_dir_fd(dir.as_raw_fd());
    criu.set_log_file(RESTORE_LOG.to_string());
    criu.set_log_level(4);
    criu.set_root(req.root.to_string_lossy().into_owned());
    criu.set_rst_sibling(true);
    criu.set_tcp_established(req.tcp_established);
    criu.set_file_locks(req.file_locks);
    criu.set_ext_unix_sk(true);
    criu.set_shell_job(false);
    criu.set_orphan_pts_master(req.tty);
    criu.cgroups_mode(CgMode::IGNORE);
    criu.set_link_remap(true);
    for m in &req.external_mounts {
        criu.set_external_mount(m.destination.clone(), m.source.clone());
    }
    criu.set_external_mount(DEV_NULL.to_string(), DEV_NULL.to_string());
    // CRIU's swrk child inherits these by number: they must not be
    // close-on-exec until it has started.
    let mut keep = Vec::new();
    if let Some(ns) = req.netns {
        keep.push((ns, NETNS_KEY.to_string()));
    }
    keep.extend(req.inherit);
    for (fd, key) in &keep {
        clear_cloexec(fd)?;
        criu.add_inherit_fd(fd.as_raw_fd(), key.clone())
            .map_err(|e| criu_failed("restoring", req.images_dir.join(RESTORE_LOG), e))?;
    }
    let before = children();
    within(&req.shared_namespaces, || {
        joining(&req.shared_namespaces, || {
            criu.restore()
                .map_err(|e| criu_failed("restoring", req.images_dir.join(RESTORE_LOG), e))
        })
    })?;
    drop(keep);
    let after = children();
    after
        .into_iter()
        .find(|p| !before.contains(p))
        .ok_or_else(|| CheckpointError::Criu {
            op: "restoring",
            message: "CRIU reported success but no restored process appeared".into(),
            log: req.images_dir.join(RESTORE_LOG),
        })
}

fn clear_cloexec(fd: &OwnedFd) -> Result<()> {
    rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()).map_err(|e| CheckpointError::Io {
        op: "passing to CRIU",
        path: format!("descriptor {}", fd.as_raw_fd()).into(),
        source: e.into(),
    })
}

/// This process's children (every thread's), from /proc.
fn children() -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// Whether the kernel tracks soft-dirty pages, which pre-dumps need: a
/// pagemap entry's bit 55 becomes settable only with CONFIG_MEM_SOFT_DIRTY;
/// CRIU checks the same way (`criu check --feature mem_dirty_track`).
pub fn soft_dirty_supported() -> bool {
    std::process::Command::new("criu")
        .args(["check", "--feature", "mem_dirty_track"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_number_as_criu_numbers_them() {
        assert_eq!(version_number("4.1.1"), Some(40101));
        assert_eq!(version_number("3.17"), Some(31700));
        assert_eq!(version_number("3.15.2"), Some(31502));
        assert!(version_number("3.15.2").unwrap() < MIN_VERSION);
        assert_eq!(version_number("x.1"), None);
    }
}

//! CRIU through its RPC interface (`criu swrk`, via rust-criu).

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rust_criu::rust_criu_protobuf::rpc::{
    Criu_cg_mode, Criu_network_lock_method, Criu_opts, Criu_req_type, Ext_mount_map, Inherit_fd,
};

use crate::error::{io_err, CheckpointError, Result};
use crate::namespaces::{joining, within, SharedNamespace};
use crate::swrk::{self, SwrkError};

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
    /// The tree has a network namespace of its own that nothing outside can
    /// reach (only a loopback: `--network none`). CRIU then need not keep
    /// packets out while it works, unless established connections are
    /// dumped, whose ends on the loopback must not see each other half
    /// restored; skipping the lock saves CRIU's iptables runs, tens of ms
    /// on the dump and as many on the restore.
    pub network_unreachable: bool,
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

fn criu_failed(op: &'static str, log: PathBuf, e: SwrkError) -> CheckpointError {
    if matches!(&e, SwrkError::Spawn(io) if io.kind() == std::io::ErrorKind::NotFound) {
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

/// CRIU's options common to a dump and a restore.
fn base_opts(images_dir: &File, log_file: &str, root: &Path) -> Criu_opts {
    let mut o = Criu_opts::new();
    o.set_images_dir_fd(images_dir.as_raw_fd());
    o.set_log_file(log_file.to_string());
    o.set_log_level(4);
    o.set_root(root.to_string_lossy().into_owned());
    o.set_ext_unix_sk(true);
    o.set_shell_job(false);
    o.set_link_remap(true);
    o
}

fn ext_mount(key: &str, val: &str) -> Ext_mount_map {
    let mut m = Ext_mount_map::new();
    m.set_key(key.to_string());
    m.set_val(val.to_string());
    m
}

/// A CRIU version known to take the `skip` network lock (4.0; older ones
/// may refuse the request, which would fail the dump).
const NETWORK_LOCK_SKIP_SINCE: u32 = 40000;

/// Whether the network may stay unlocked during the dump of `req`, and
/// CRIU knows how.
fn may_skip_network_lock(req: &DumpRequest) -> bool {
    if !req.network_unreachable || req.tcp_established {
        return false;
    }
    criu_version()
        .ok()
        .and_then(|v| version_number(&v))
        .is_some_and(|n| n >= NETWORK_LOCK_SKIP_SINCE)
}

/// Dumps the tree of `req.pid` into `req.images_dir`; unless
/// `leave_running`, CRIU kills it once dumped.
pub fn dump(req: &DumpRequest) -> Result<()> {
    let dir = open_dir(&req.images_dir)?;
    let mut o = base_opts(&dir, DUMP_LOG, &req.root);
    o.set_pid(req.pid);
    o.set_leave_running(req.leave_running);
    o.set_tcp_established(req.tcp_established);
    o.set_file_locks(req.file_locks);
    o.set_orphan_pts_master(req.tty);
    o.set_manage_cgroups(true);
    o.set_manage_cgroups_mode(Criu_cg_mode::SOFT);
    if may_skip_network_lock(req) {
        o.set_network_lock(Criu_network_lock_method::SKIP);
    }
    for dest in &req.external_mounts {
        o.ext_mnt.push(ext_mount(dest, dest));
    }
    for path in &req.masked_files {
        o.ext_mnt.push(ext_mount(path, DEV_NULL));
    }
    if let Some(inode) = req.external_netns {
        o.external.push(format!("net[{inode}]:{NETNS_KEY}"));
    }
    within(&req.shared_namespaces, || {
        swrk::call(Criu_req_type::DUMP, o, &mut |_| true)
            .map(drop)
            .map_err(|e| criu_failed("checkpointing", req.images_dir.join(DUMP_LOG), e))
    })
}

/// The external name of masked files, and what they are bound to.
const DEV_NULL: &str = "/dev/null";

/// CRIU's notification after which it reads the memory pages: it restores
/// the namespaces of the tree's root (a container always has some) before
/// it forks the tree, whose processes map their memory.
const PAGES_READ_NEXT: &str = "post-setup-namespaces";

/// CRIU's key for an external network namespace (runc's name).
const NETNS_KEY: &str = "extRootNetNS";

/// Restores the tree dumped in `req.images_dir` as a child of this process
/// (which must be a child subreaper or the tree's parent) and returns its
/// init's pid. The tree starts in this process's cgroups, not in the ones
/// it was dumped from (which may be another container's): join the
/// container's cgroups before, and apply their limits after.
pub fn restore(req: RestoreRequest) -> Result<i32> {
    let dir = open_dir(&req.images_dir)?;
    let mut o = base_opts(&dir, RESTORE_LOG, &req.root);
    o.set_rst_sibling(true);
    o.set_tcp_established(req.tcp_established);
    o.set_file_locks(req.file_locks);
    o.set_orphan_pts_master(req.tty);
    o.set_manage_cgroups_mode(Criu_cg_mode::IGNORE);
    for m in &req.external_mounts {
        o.ext_mnt.push(ext_mount(&m.destination, &m.source));
    }
    o.ext_mnt.push(ext_mount(DEV_NULL, DEV_NULL));
    // CRIU's swrk child inherits these by number: they must not be
    // close-on-exec until it has started.
    let mut keep = Vec::new();
    if let Some(ns) = req.netns {
        keep.push((ns, NETNS_KEY.to_string()));
    }
    keep.extend(req.inherit);
    for (fd, key) in &keep {
        clear_cloexec(fd)?;
        let mut inherit = Inherit_fd::new();
        inherit.set_fd(fd.as_raw_fd());
        inherit.set_key(key.clone());
        o.inherit_fd.push(inherit);
    }
    // An import may still be writing the memory pages: CRIU reads them
    // only after the namespaces are set up, and waits there until they
    // are complete.
    let pages_coming = crate::late_pages::pages_pending(&req.images_dir);
    if pages_coming {
        o.set_notify_scripts(true);
    }
    let mut notified = |script: &str| {
        script != PAGES_READ_NEXT || crate::late_pages::wait_for_pages(&req.images_dir)
    };
    let before = children();
    within(&req.shared_namespaces, || {
        joining(&req.shared_namespaces, || {
            swrk::call(Criu_req_type::RESTORE, o, &mut notified)
                .map(drop)
                .map_err(|e| match e {
                    SwrkError::Refused(_) => CheckpointError::Criu {
                        op: "restoring",
                        message: "the archive's memory pages could not be extracted".into(),
                        log: req.images_dir.join(RESTORE_LOG),
                    },
                    e => criu_failed("restoring", req.images_dir.join(RESTORE_LOG), e),
                })
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

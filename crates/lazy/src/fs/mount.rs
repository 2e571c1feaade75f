//! Mounting a [`LayerFs`] and taking the mount down again.
//!
//! hoist calls mount(2) itself (it runs as root) rather than going through
//! `fusermount`, then hands the `/dev/fuse` descriptor to fuser. The mount is
//! `fuse.hoist-lazy`, read-only, `allow_other` (the container runs as many
//! uids) and `default_permissions` (the kernel checks modes), plus `nodev`
//! and `nosuid`: the layer reaches containers through overlayfs, whose own
//! mount decides about devices and set-uid, so the bare FUSE mount on the
//! host grants neither.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use fuser::{BackgroundSession, Config, Session, SessionACL};
use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{MountFlags, UnmountFlags};

use super::server::Server;
use super::LayerFs;

/// Shown as the mount's source.
const FS_NAME: &str = "hoist-lazy";
/// The mount's type: `fuse.` plus the subtype.
const FS_TYPE: &str = "fuse.hoist-lazy";

/// Where the kernel's FUSE control filesystem lists connections.
const FUSECTL_DIR: &str = "/sys/fs/fuse/connections";
const FUSECTL_SUPER_MAGIC: u64 = 0x6573_5543;

/// How long an unmounted server may take to notice that the kernel dropped
/// its connection before the connection is aborted.
const UNMOUNT_GRACE: Duration = Duration::from_secs(1);
/// How long to wait for the server after aborting its connection.
const ABORT_GRACE: Duration = Duration::from_secs(5);

/// A mounted layer. [`MountedLayer::unmount`] (or dropping it) takes the
/// mount down and stops its server; unmount the overlay that uses it first.
#[derive(Debug)]
pub struct MountedLayer {
    mountpoint: PathBuf,
    session: Option<BackgroundSession>,
    /// The mount's device number, as `st_dev`.
    dev: Option<u64>,
}

/// Mounts `fs` read-only at `mountpoint` (an existing directory) and serves
/// it from background threads until the returned handle is unmounted.
pub fn mount(fs: LayerFs, mountpoint: &Path) -> io::Result<MountedLayer> {
    let mountpoint = mountpoint.canonicalize().map_err(|e| {
        annotate(
            e,
            &format!("resolving lazy layer mount point {}", mountpoint.display()),
        )
    })?;
    let server =
        Server::new(fs).map_err(|e| annotate(e, "starting the lazy layer's read threads"))?;
    let fd = mount_fuse(&mountpoint, server.root_perm()).map_err(|e| {
        annotate(
            e,
            &format!(
                "mounting the lazy layer at {} (needs root and /dev/fuse)",
                mountpoint.display()
            ),
        )
    })?;
    let mut config = Config::default();
    config.n_threads = Some(1);
    let session = Session::from_fd(server, fd, SessionACL::All, config)
        .and_then(Session::spawn)
        .map_err(|e| {
            // The session (and with it /dev/fuse) is gone: the mount is dead.
            if let Err(error) = rustix::mount::unmount(&mountpoint, UnmountFlags::DETACH) {
                tracing::warn!(mountpoint = %mountpoint.display(), %error, "could not unmount a failed lazy layer mount");
            }
            annotate(
                e,
                &format!(
                    "starting the FUSE session of the lazy layer at {}",
                    mountpoint.display()
                ),
            )
        })?;
    let mut layer = MountedLayer {
        mountpoint,
        session: Some(session),
        dev: None,
    };
    // Served by the session just started: proves it answers, and gives the
    // connection's identity for a later abort.
    let stat = rustix::fs::stat(&layer.mountpoint).map_err(|e| {
        annotate(
            e.into(),
            &format!(
                "checking the new lazy layer mount at {}",
                layer.mountpoint.display()
            ),
        )
    })?;
    layer.dev = Some(stat.st_dev);
    tracing::debug!(mountpoint = %layer.mountpoint.display(), "lazy layer mounted");
    Ok(layer)
}

impl MountedLayer {
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Unmounts (detaching lazily if the mount is busy) and waits for the
    /// server to stop. If something still holds the filesystem after the
    /// unmount (a busy detached mount, an overlay still using it), the FUSE
    /// connection is aborted so the server stops anyway; those users then
    /// get `ENOTCONN`.
    pub fn unmount(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let result = self.unmount_mount();
        if !wait_for(&session, UNMOUNT_GRACE) {
            if let Some(dev) = self.dev {
                if let Err(error) = abort_connection(dev) {
                    tracing::warn!(mountpoint = %self.mountpoint.display(), %error, "could not abort a lazy layer's FUSE connection");
                }
            }
            if !wait_for(&session, ABORT_GRACE) {
                tracing::warn!(
                    mountpoint = %self.mountpoint.display(),
                    "the lazy layer's FUSE server did not stop; leaving it running"
                );
                return result;
            }
        }
        if let Err(error) = session.join() {
            // An aborted connection ends the session with ECONNABORTED.
            tracing::debug!(mountpoint = %self.mountpoint.display(), %error, "lazy layer FUSE session ended");
        }
        result
    }

    /// Unmounts our mount, unless the mount point no longer shows it (then
    /// someone else unmounted it, and whatever is there now is not ours).
    fn unmount_mount(&self) -> io::Result<()> {
        let path = &self.mountpoint;
        // DONT_SYNC: answer from the kernel's cache, never ask the server,
        // which may be gone while its descriptor still keeps the mount alive.
        let stat = rustix::fs::statx(CWD, path, AtFlags::STATX_DONT_SYNC, StatxFlags::BASIC_STATS);
        match (stat, self.dev) {
            (Ok(stat), Some(dev))
                if rustix::fs::makedev(stat.stx_dev_major, stat.stx_dev_minor) != dev =>
            {
                tracing::debug!(mountpoint = %path.display(), "lazy layer already unmounted");
                return Ok(());
            }
            _ => {}
        }
        let failed = |e: Errno| {
            annotate(
                e.into(),
                &format!("unmounting the lazy layer at {}", path.display()),
            )
        };
        match rustix::mount::unmount(path, UnmountFlags::empty()) {
            // EINVAL: not a mount point any more.
            Ok(()) | Err(Errno::INVAL) => Ok(()),
            Err(Errno::BUSY) => rustix::mount::unmount(path, UnmountFlags::DETACH).map_err(failed),
            Err(e) => Err(failed(e)),
        }
    }
}

impl Drop for MountedLayer {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown() {
            tracing::warn!(mountpoint = %self.mountpoint.display(), %error, "unmounting a lazy layer failed");
        }
    }
}

/// Detaches the FUSE mount at `path` if it is a hoist lazy layer whose
/// server is gone (the kernel answers `ENOTCONN`), as left behind by a killed
/// monitor. Returns whether it did. A mount whose server still answers is
/// left alone; note that checking asks the server, so a server that is alive
/// but stuck makes this call wait for it.
pub fn unmount_stale(path: &Path) -> io::Result<bool> {
    let Some(mountpoint) = mountpoint_path(path) else {
        return Ok(false);
    };
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    if top_mount_type(&mountinfo, &mountpoint).as_deref() != Some(FS_TYPE) {
        return Ok(false);
    }
    match rustix::fs::statx(
        CWD,
        &mountpoint,
        AtFlags::STATX_FORCE_SYNC,
        StatxFlags::BASIC_STATS,
    ) {
        Err(Errno::NOTCONN | Errno::CONNABORTED) => {
            rustix::mount::unmount(&mountpoint, UnmountFlags::DETACH).map_err(|e| {
                annotate(
                    e.into(),
                    &format!(
                        "detaching the stale lazy layer mount at {}",
                        mountpoint.display()
                    ),
                )
            })?;
            tracing::info!(mountpoint = %mountpoint.display(), "detached a stale lazy layer mount");
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Opens `/dev/fuse` and mounts it at `mountpoint`; the kernel then waits
/// for the server to answer its INIT request on the returned descriptor.
pub(crate) fn mount_fuse(mountpoint: &Path, root_perm: u16) -> io::Result<OwnedFd> {
    let fd = rustix::fs::open("/dev/fuse", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())?;
    let options = format!(
        "fd={},rootmode={:o},user_id={},group_id={},allow_other,default_permissions",
        fd.as_raw_fd(),
        libc::S_IFDIR | u32::from(root_perm),
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw(),
    );
    let options = CString::new(options).map_err(io::Error::other)?;
    rustix::mount::mount(
        FS_NAME,
        mountpoint,
        FS_TYPE,
        MountFlags::RDONLY | MountFlags::NODEV | MountFlags::NOSUID,
        options.as_c_str(),
    )?;
    Ok(fd)
}

/// Waits up to `limit` for the session thread to end.
fn wait_for(session: &BackgroundSession, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while !session.guard.is_finished() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Aborts the FUSE connection of the mount whose `st_dev` is `dev`, through
/// the FUSE control filesystem (mounting it where systemd would if absent).
fn abort_connection(dev: u64) -> io::Result<()> {
    // fusectl names a connection by the kernel's dev_t: major << 20 | minor.
    let id = (u64::from(rustix::fs::major(dev)) << 20) | u64::from(rustix::fs::minor(dev));
    let dir = Path::new(FUSECTL_DIR);
    let is_fusectl = rustix::fs::statfs(dir)
        .map(|s| s.f_type as u64 == FUSECTL_SUPER_MAGIC)
        .unwrap_or(false);
    if !is_fusectl {
        rustix::mount::mount(
            "fusectl",
            dir,
            "fusectl",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            None,
        )?;
    }
    let abort = dir.join(id.to_string()).join("abort");
    match std::fs::write(&abort, b"1") {
        // The connection went away meanwhile: nothing left to abort.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// `path` with its parent resolved, without touching `path` itself (which,
/// being a dead mount, cannot be resolved).
fn mountpoint_path(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(name))
}

/// The filesystem type of the topmost mount at `mountpoint` in a
/// `/proc/*/mountinfo` text.
fn top_mount_type(mountinfo: &str, mountpoint: &Path) -> Option<String> {
    let wanted = mountpoint.to_str()?;
    hoist_fsutil::mountinfo::mount_entries(mountinfo)
        .filter(|m| m.mount_point == wanted)
        .map(|m| m.fs_type)
        .last()
}

fn annotate(error: io::Error, what: &str) -> io::Error {
    io::Error::new(error.kind(), format!("{what}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_top_mount_type() {
        let info = "\
22 1 0:21 / /proc rw,nosuid - proc proc rw
40 22 0:50 / /run/a\\040b rw - tmpfs tmpfs rw
41 40 0:51 / /run/a\\040b ro,nosuid,nodev - fuse.hoist-lazy hoist-lazy ro,user_id=0
";
        assert_eq!(
            top_mount_type(info, Path::new("/run/a b")).as_deref(),
            Some("fuse.hoist-lazy")
        );
        assert_eq!(
            top_mount_type(info, Path::new("/proc")).as_deref(),
            Some("proc")
        );
        assert_eq!(top_mount_type(info, Path::new("/run")), None);
    }
}

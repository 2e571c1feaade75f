//! Where `cp` finds a container's files.
//!
//! A running container is seen through its init process's root
//! (`/proc/PID/root`): paths opened below it are resolved in the
//! container's own mount namespace, so volumes, bind mounts and tmpfs
//! mounts are exactly where the container sees them.
//!
//! A stopped container has no mount namespace. Its overlay is mounted for
//! the copy (holding the monitor lock, so it cannot start meanwhile) and a
//! path under a volume or bind mount is sent to that mount's source on the
//! host, where the container will see it when it starts. A path under a
//! tmpfs mount goes to the overlay: the tmpfs is filled from there when
//! the container starts, as podman's (`tmpcopyup`). The match is on the
//! path as written: a symlink in the image leading into a volume is
//! followed inside the overlay, not into the volume.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use super::tree::errno;
use crate::error::{ContainerError, Result};
use crate::lock::Lock;
use crate::options::MountOption;
use crate::record::{Container, Status};
use crate::store::{Containers, MONITOR_LOCK};
use crate::volumes::Volumes;

/// A container path resolved to a root directory and a path inside it.
pub(super) struct Located {
    /// The directory standing for `/` of `path`.
    pub root: OwnedFd,
    pub path: String,
    /// The container path is a mount point itself (so `path` does not end
    /// in its name): the name it has in the container.
    pub mount_name: Option<String>,
    /// Where `root` is in the container, for messages ("" for its `/`).
    pub shown_prefix: String,
}

/// A container's files, available for as long as this lives.
pub(super) enum View {
    Live {
        root: OwnedFd,
        /// `/proc/PID/root`, for reading the container's user database.
        root_path: PathBuf,
    },
    /// Fields drop in order: the root's descriptor before the unmount.
    Stopped {
        root: OwnedFd,
        root_path: PathBuf,
        mounts: Vec<HostMount>,
        _overlay: Box<MountedOverlay>,
    },
}

/// A mount of a stopped container, by where it goes.
pub(super) struct HostMount {
    destination: Vec<String>,
    /// The host directory or file behind it; `None` for a tmpfs, which
    /// exists only while the container runs (what is below it in the
    /// overlay fills it when the container starts).
    source: Option<PathBuf>,
}

/// The overlay root of a stopped container, unmounted on drop (then the
/// server of its lazily pulled layers, if any, stops).
pub(super) struct MountedOverlay {
    container: Container,
    lazy: Option<hoist_lazy::serve::LazyServer>,
    _lock: Lock,
}

impl Drop for MountedOverlay {
    fn drop(&mut self) {
        if let Err(e) = crate::lifecycle::unmount_rootfs(&self.container) {
            tracing::warn!(error = %e, "unmounting the root filesystem after cp");
        }
        if let Some(server) = self.lazy.take() {
            server.stop();
        }
    }
}

fn open_dir(path: &Path, what: &'static str) -> Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno(what, path))
}

/// The components of an absolute container path, or `None` when it climbs
/// with `..` (then it is not matched against mounts).
fn components(path: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => out.push(c.to_string()),
        }
    }
    Some(out)
}

/// The mount holding `path` (the deepest one) and what is left of the
/// path below its mount point.
fn mount_of<'a>(mounts: &'a [HostMount], path: &[String]) -> Option<(&'a HostMount, Vec<String>)> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.destination))
        .max_by_key(|m| m.destination.len())
        .map(|m| (m, path[m.destination.len()..].to_vec()))
}

impl View {
    pub(super) fn open(cs: &Containers, c: &Container) -> Result<View> {
        for _ in 0..50 {
            let c = cs.load(c.id())?;
            if c.monitor_alive() {
                if let Some(view) = live(cs, &c)? {
                    return Ok(view);
                }
                // A monitor starting or stopping it: wait for it to settle.
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            }
            let Some(lock) = Lock::try_exclusive(&c.dir.join(MONITOR_LOCK))? else {
                continue;
            };
            return stopped(cs, c, lock);
        }
        Err(ContainerError::BadState {
            id: crate::short_id(c.id()).into(),
            status: "starting".into(),
            op: "copy files",
            hint: "its monitor is starting or stopping it; try again",
        })
    }

    /// The container's root as a path, for reading its user database.
    pub(super) fn root_path(&self) -> &Path {
        match self {
            View::Live { root_path, .. } | View::Stopped { root_path, .. } => root_path,
        }
    }

    /// Where container path `path` (absolute) is.
    pub(super) fn locate(&self, path: &str) -> Result<Located> {
        let dup = |fd: &OwnedFd| {
            fd.try_clone()
                .map_err(crate::error::io_err("duplicating", "the container root"))
        };
        let whole = |root| Located {
            root,
            path: path.to_string(),
            mount_name: None,
            shown_prefix: String::new(),
        };
        let (root, mounts) = match self {
            View::Live { root, .. } => return Ok(whole(dup(root)?)),
            View::Stopped { root, mounts, .. } => (root, mounts),
        };
        let found = components(path).and_then(|p| mount_of(mounts, &p));
        let Some((Some(source), mount, rest)) = found.map(|(m, r)| (m.source.as_ref(), m, r))
        else {
            return Ok(whole(dup(root)?));
        };
        let mount_name = rest
            .is_empty()
            .then(|| mount.destination.last().cloned())
            .flatten();
        if source.is_dir() {
            let inner = if rest.is_empty() {
                "/.".to_string()
            } else {
                format!("/{}", rest.join("/"))
            };
            return Ok(Located {
                root: open_dir(source, "opening the mount source")?,
                path: inner,
                mount_name,
                shown_prefix: format!("/{}", mount.destination.join("/")),
            });
        }
        // A file bind mount: its directory, and the file by its own name.
        let (Some(dir), Some(name)) = (source.parent(), source.file_name()) else {
            return Err(ContainerError::Invalid(format!(
                "the source of the mount at {path} is not a directory or file"
            )));
        };
        let parent = &mount.destination[..mount.destination.len().saturating_sub(1)];
        Ok(Located {
            root: open_dir(dir, "opening the mount source's directory")?,
            path: format!("/{}", name.to_string_lossy()),
            mount_name,
            shown_prefix: parent.iter().map(|c| format!("/{c}")).collect(),
        })
    }
}

/// A running (or paused) container's view through its init's root, or
/// `None` while it is being set up or torn down.
fn live(cs: &Containers, c: &Container) -> Result<Option<View>> {
    let (Some(pid), true) = (c.state.pid, c.state.mounted) else {
        return Ok(None);
    };
    if !matches!(c.status(), Status::Running | Status::Paused) {
        return Ok(None);
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let Ok(proc_fd) = open_dir(&proc_dir, "opening") else {
        return Ok(None);
    };
    // The pid could have ended and been reused between reading the record
    // and opening /proc/PID: check the record still names it, then open
    // through the directory, which stays bound to that process.
    let again = cs.load(c.id())?;
    if again.state.pid != Some(pid) || !again.monitor_alive() {
        return Ok(None);
    }
    match rustix::fs::openat(
        &proc_fd,
        "root",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(root) => Ok(Some(View::Live {
            root,
            root_path: proc_dir.join("root"),
        })),
        Err(_) => Ok(None),
    }
}

fn stopped(cs: &Containers, c: Container, lock: Lock) -> Result<View> {
    crate::lifecycle::recover(cs, &c)?;
    crate::lifecycle::release_kept_rootfs(cs, &cs.load(c.id())?)?;
    let rootfs = c.rootfs();
    let work = c.dir.join("work");
    let upper = c.dir.join("upper");
    hoist_fsutil::empty_dir(&work).map_err(crate::error::io_err("emptying", &work))?;
    for d in [&upper, &rootfs] {
        std::fs::create_dir_all(d).map_err(crate::error::io_err("creating", d))?;
    }
    let mounts = host_mounts(cs, &c)?;
    // Lazily pulled layers are served for the copy as for a start; no
    // program runs, so none is fetched ahead.
    let (lowers, lazy) = crate::monitor::lower_dirs(&c, None)?;
    let overlay = MountedOverlay {
        container: c,
        lazy,
        _lock: lock,
    };
    hoist_runtime::rootfs::mount_overlay(&lowers, &upper, &work, &rootfs)?;
    Ok(View::Stopped {
        root: open_dir(&rootfs, "opening the container root")?,
        root_path: rootfs,
        mounts,
        _overlay: Box::new(overlay),
    })
}

/// The container's mounts with their host sources (a volume not made
/// yet is made now, as starting the container would).
fn host_mounts(cs: &Containers, c: &Container) -> Result<Vec<HostMount>> {
    let mut out = Vec::new();
    for m in &c.config.options.mounts {
        let Some(destination) = components(m.destination()) else {
            continue;
        };
        let source = match m {
            MountOption::Bind { source, .. } => Some(source.clone()),
            MountOption::Volume { name, .. } => {
                let vols = Volumes::open(cs.root())?;
                let v = vols.get_or_create(name)?;
                Some(v.mountpoint)
            }
            MountOption::Tmpfs { .. } | MountOption::Image { .. } => None,
        };
        out.push(HostMount {
            destination,
            source,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(dest: &str, source: Option<&str>) -> HostMount {
        HostMount {
            destination: components(dest).unwrap(),
            source: source.map(PathBuf::from),
        }
    }

    #[test]
    fn paths_go_to_the_deepest_mount() {
        let mounts = vec![
            m("/data", Some("/v1")),
            m("/data/inner", Some("/v2")),
            m("/t", None),
        ];
        let at = |p: &str| {
            mount_of(&mounts, &components(p).unwrap())
                .map(|(m, rest)| (m.source.clone(), rest.join("/")))
        };
        assert_eq!(at("/data/a/b"), Some((Some("/v1".into()), "a/b".into())));
        assert_eq!(at("/data/inner/x"), Some((Some("/v2".into()), "x".into())));
        assert_eq!(at("/data/"), Some((Some("/v1".into()), "".into())));
        assert_eq!(at("//data/./a"), Some((Some("/v1".into()), "a".into())));
        assert_eq!(at("/database"), None);
        assert_eq!(at("/t/x").map(|(s, _)| s), Some(None));
        assert_eq!(at("/etc/passwd"), None);
        assert!(components("/data/../etc").is_none());
    }
}

//! A /dev/shm that other containers can share: a pod's infra container
//! gets its /dev/shm as a tmpfs mounted on the host, in its own directory,
//! and every container that joins its IPC namespace binds that same tmpfs
//! (as podman does with `userdata/shm`). A mount made inside the infra
//! container's mount namespace could not be bound by another container,
//! nor restored by CRIU, which both need a path the host sees.

use std::path::PathBuf;

use hoist_fsutil::mountinfo::has_own_filesystem;

use rustix::mount::MountFlags;

use crate::error::{io_err, Result};
use crate::options::CreateOptions;
use crate::record::Container;

/// Where a container's shareable /dev/shm is mounted on the host.
pub(crate) fn host_dir(c: &Container) -> PathBuf {
    c.dir.join("userdata").join("shm")
}

/// Whether a container made with `o` gets a /dev/shm on the host: the
/// infra container of a pod, whose IPC namespace its pod's containers join.
pub(crate) fn is_shareable(o: &CreateOptions) -> bool {
    o.infra
        && o.ipc
            .as_deref()
            .is_none_or(|v| v.is_empty() || v == "shareable")
}

/// Mounts `c`'s shareable /dev/shm (a tmpfs of `size` bytes) unless it is
/// mounted already, and returns where it is.
pub(crate) fn mount(c: &Container, size: u64) -> Result<PathBuf> {
    let dir = host_dir(c);
    if has_own_filesystem(&dir) {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    let data = std::ffi::CString::new(format!("mode=1777,size={}k", size.div_ceil(1024)))
        .expect("no NUL in a number");
    rustix::mount::mount(
        "shm",
        &dir,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        data.as_c_str(),
    )
    .map_err(|e| io_err("mounting /dev/shm's tmpfs on", &dir)(e.into()))?;
    Ok(dir)
}

/// The shareable /dev/shm of `owner`, if it has one mounted: what a
/// container joining its IPC namespace binds on its own /dev/shm.
pub(crate) fn of(owner: &Container) -> Option<PathBuf> {
    let dir = host_dir(owner);
    has_own_filesystem(&dir).then_some(dir)
}

/// Unmounts `c`'s shareable /dev/shm, if mounted (lazily: a container
/// that joined it may still hold it).
pub(crate) fn unmount(c: &Container) -> Result<()> {
    let dir = host_dir(c);
    if !has_own_filesystem(&dir) {
        return Ok(());
    }
    crate::detach::unmount(&dir)
}

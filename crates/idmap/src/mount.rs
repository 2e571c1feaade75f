//! Idmapped bind mounts (open_tree, mount_setattr, move_mount).

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use rustix::mount::{MoveMountFlags, OpenTreeFlags};

use crate::{IdmapError, Result, UserNamespace};

fn mount_err(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> IdmapError {
    let path = path.to_path_buf();
    move |source| IdmapError::Mount { op, path, source }
}

/// Binds directory `src` on `dst`, its owners seen through the maps of
/// `ns` (a file of host UID 0 shows as the host ID the map gives
/// container ID 0).
pub fn idmapped_bind(src: &Path, dst: &Path, ns: &UserNamespace) -> Result<()> {
    let tree = rustix::mount::open_tree(
        rustix::fs::CWD,
        src,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )
    .map_err(|e| mount_err("open_tree", src)(e.into()))?;
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: ns.as_fd().as_raw_fd() as u64,
    };
    // SAFETY: a valid detached mount descriptor, an empty path with
    // AT_EMPTY_PATH, and a mount_attr of the size passed.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if r != 0 {
        return Err(mount_err("mount_setattr", src)(
            std::io::Error::last_os_error(),
        ));
    }
    rustix::mount::move_mount(
        tree.as_fd(),
        "",
        rustix::fs::CWD,
        dst,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| mount_err("move_mount", dst)(e.into()))
}

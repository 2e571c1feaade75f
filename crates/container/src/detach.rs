//! Lazy unmounting of the host-side mounts a container owns (its root
//! file system, its shareable /dev/shm, the tmpfs copies made for `cp`).
//! Clean-up runs after a stop, on a crash path or twice in a row, so a
//! mount that is already gone counts as unmounted.

use std::path::Path;

use rustix::mount::UnmountFlags;

use crate::error::{io_err, Result};

/// Detaches the mount at `path` (a process that still holds it keeps it
/// until it lets go). Not a mount point (EINVAL) or missing (ENOENT) is
/// success: there is nothing left to unmount.
pub(crate) fn unmount(path: &Path) -> Result<()> {
    match rustix::mount::unmount(path, UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(io_err("unmounting", path)(e.into())),
    }
}

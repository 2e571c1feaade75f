//! A user namespace holding given ID maps, kept by a file descriptor.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::map::{proc_text, IdMap};
use crate::{IdmapError, Result};

/// A user namespace with the maps it was made with; it lives as long as
/// this descriptor (no process stays in it).
#[derive(Debug)]
pub struct UserNamespace {
    fd: OwnedFd,
}

fn ns_err(op: &'static str) -> impl FnOnce(std::io::Error) -> IdmapError {
    move |source| IdmapError::Namespace { op, source }
}

impl UserNamespace {
    /// Makes a user namespace with `uids` and `gids`: a child process
    /// enters a new one, we write its maps (as root: any host range) and
    /// keep its namespace open, then the child ends.
    pub fn with_maps(uids: &[IdMap], gids: &[IdMap]) -> Result<UserNamespace> {
        let (ready_r, ready_w) = rustix::pipe::pipe().map_err(|e| ns_err("pipe")(e.into()))?;
        let (done_r, done_w) = rustix::pipe::pipe().map_err(|e| ns_err("pipe")(e.into()))?;
        // SAFETY: the child only calls async-signal-safe functions
        // (unshare, write, read, _exit) before it exits, so forking a
        // process with other threads is sound.
        #[allow(unsafe_code)]
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(ns_err("fork")(std::io::Error::last_os_error()));
        }
        if pid == 0 {
            child(ready_w.as_fd(), done_r.as_fd());
        }
        drop(ready_w);
        drop(done_r);
        let result = parent(pid, ready_r.as_fd(), uids, gids);
        // Ends the child whatever happened (a byte: it holds a copy of
        // the writing end too, so no end of file comes), and reaps it.
        let _ = rustix::io::write(&done_w, &[0]);
        drop(done_w);
        let mut status = 0;
        // SAFETY: waits for our own child, status is a valid out pointer.
        #[allow(unsafe_code)]
        unsafe {
            libc::waitpid(pid, &mut status, 0)
        };
        result.map(|fd| UserNamespace { fd })
    }
}

impl UserNamespace {
    /// The user namespace at `path` (a process's `/proc/PID/ns/user`).
    pub fn open(path: &std::path::Path) -> Result<UserNamespace> {
        std::fs::File::open(path)
            .map(|f| UserNamespace { fd: f.into() })
            .map_err(ns_err("open"))
    }
}

impl AsFd for UserNamespace {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// In the child: enter a new user namespace, say so, wait for the end.
#[allow(unsafe_code)]
fn child(ready: BorrowedFd<'_>, done: BorrowedFd<'_>) -> ! {
    // SAFETY: plain system calls on valid descriptors, then _exit.
    unsafe {
        let ok = libc::unshare(libc::CLONE_NEWUSER) == 0;
        let byte = [u8::from(ok)];
        libc::write(
            std::os::fd::AsRawFd::as_raw_fd(&ready),
            byte.as_ptr().cast(),
            1,
        );
        let mut b = [0u8; 1];
        libc::read(
            std::os::fd::AsRawFd::as_raw_fd(&done),
            b.as_mut_ptr().cast(),
            1,
        );
        libc::_exit(0)
    }
}

fn parent(pid: i32, ready: BorrowedFd<'_>, uids: &[IdMap], gids: &[IdMap]) -> Result<OwnedFd> {
    let mut b = [0u8; 1];
    let n =
        rustix::io::read(ready, &mut b).map_err(|e| ns_err("waiting for the child")(e.into()))?;
    if n != 1 || b[0] != 1 {
        return Err(ns_err("unshare(CLONE_NEWUSER)")(
            std::io::Error::from_raw_os_error(libc::EPERM),
        ));
    }
    let proc = format!("/proc/{pid}");
    write_file(&format!("{proc}/uid_map"), &proc_text(uids))?;
    // No "deny" in setgroups: we write the maps as root, and the
    // container's processes need setgroups(2) for their supplementary groups.
    write_file(&format!("{proc}/gid_map"), &proc_text(gids))?;
    std::fs::File::open(format!("{proc}/ns/user"))
        .map(OwnedFd::from)
        .map_err(ns_err("opening the namespace"))
}

fn write_file(path: &str, text: &str) -> Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(ns_err("writing the ID maps"))
}

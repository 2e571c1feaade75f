//! A detached container monitor forked from the front end that starts it,
//! rather than run as a new `hoist container-monitor` process: a second
//! start of the hoist binary (loading it and building its command line)
//! is the largest single cost of a detached start that can be avoided.
//!
//! The child is made to look as if it had been exec'ed: its standard
//! streams are /dev/null, the report pipe and `monitor.log`, and every
//! descriptor an exec would have closed (close-on-exec) is closed, so no
//! lock or pipe end of the front end lives on for the container's life.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use nix::unistd::ForkResult;

use crate::error::{io_err, Result};
use crate::monitor::MonitorMode;
use crate::store::Containers;

/// Forks the detached monitor of container `id`, its own log going to
/// `log`; returns the reading end of the pipe it reports its start on.
/// The caller must have one thread (see [`crate::launch`]).
pub(crate) fn fork(cs: &Containers, id: &str, log: File) -> Result<OwnedFd> {
    let (report_r, report_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| io_err("creating", "the monitor's report pipe")(e.into()))?;
    let null = File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(io_err("opening", "/dev/null"))?;
    // Output this process buffered would otherwise be written twice.
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: the caller has checked that this process has one thread, so
    // no lock in the child is held by a thread that does not exist there.
    // The child never returns into the caller: it ends in `_exit`.
    #[allow(unsafe_code)]
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Child) => become_monitor(cs, id, &null, &report_w, &log),
        Ok(ForkResult::Parent { .. }) => Ok(report_r),
        Err(e) => Err(io_err("forking", "the container monitor")(e.into())),
    }
}

/// The forked child's life: the monitor of `id` until its container ends.
fn become_monitor(cs: &Containers, id: &str, null: &File, report: &OwnedFd, log: &File) -> ! {
    let placed = rustix::stdio::dup2_stdin(null.as_fd())
        .and_then(|()| rustix::stdio::dup2_stdout(report.as_fd()))
        .and_then(|()| rustix::stdio::dup2_stderr(log.as_fd()));
    // Without its streams the monitor cannot report: the front end then
    // reads an end of file and says the monitor exited without reporting.
    let code = match placed {
        Ok(()) => {
            close_what_exec_closes();
            let mode = MonitorMode {
                detached: true,
                ..MonitorMode::default()
            };
            // A panic must end here: unwinding on would run the front
            // end's code and destructors in this process.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::monitor::run(cs, id, mode)
            }))
            .unwrap_or(crate::EXIT_ENGINE)
        }
        Err(_) => crate::EXIT_ENGINE,
    };
    // SAFETY: ends the forked child without the front end's exit handlers
    // and destructors, which belong to the parent.
    #[allow(unsafe_code)]
    unsafe {
        libc::_exit(code)
    }
}

/// Closes every descriptor above stderr that is marked close-on-exec.
/// They belong to objects of the front end's frames, which the child
/// never returns to, so none is used or closed again after this.
fn close_what_exec_closes() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    // The directory's own descriptor is closed by now: it fails F_GETFD.
    for fd in fds.into_iter().filter(|fd| *fd > 2) {
        // SAFETY: F_GETFD only reads the flags of a descriptor number.
        #[allow(unsafe_code)]
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0 && flags & libc::FD_CLOEXEC != 0 {
            // SAFETY: see the function's comment: nothing in the child
            // owns this descriptor any more.
            #[allow(unsafe_code)]
            unsafe {
                libc::close(fd);
            }
        }
    }
}

//! `start`: lets the waiting init go on and waits until it has exec'd the
//! user's program, through the exec fifo (see [`super::workload`]).
//!
//! The fifo is opened for reading before the init is released, so the
//! init's write end is the only one left (the creator closed its own): end
//! of file comes exactly when the exec closes it (close-on-exec), or when
//! the init dies before.

use std::io::Read;
use std::path::Path;

use libcontainer::notify_socket::{NotifySocket, NOTIFY_FILE};

use super::workload::{EXEC_FAILED, EXEC_REACHED};
use crate::executor::error::{io_err, RuntimeError};

fn failed(id: &str, detail: impl Into<String>) -> RuntimeError {
    RuntimeError::StartFailed {
        id: id.to_string(),
        detail: detail.into(),
    }
}

/// Releases container `id`'s init (waiting on the notify socket in
/// `container_dir`) and returns once its program was exec'd.
pub(super) fn release_and_wait(
    id: &str,
    container_dir: &Path,
    fifo: &Path,
) -> Result<(), RuntimeError> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        fifo,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_err("opening exec fifo", fifo)(e.into()))?;
    // Blocking reads from here on: the open only had to not wait.
    rustix::fs::fcntl_setfl(&fd, OFlags::RDONLY)
        .map_err(|e| io_err("setting up exec fifo", fifo)(e.into()))?;
    NotifySocket::new(container_dir.join(NOTIFY_FILE))
        .notify_container_start()
        .map_err(|e| failed(id, format!("releasing its init: {e}")))?;
    let mut got = Vec::new();
    std::fs::File::from(fd)
        .read_to_end(&mut got)
        .map_err(io_err("reading exec fifo", fifo))?;
    match got.as_slice() {
        [EXEC_REACHED] => Ok(()),
        [EXEC_REACHED, EXEC_FAILED, ..] => Err(failed(
            id,
            "its process could not be executed (the container's stderr says why)",
        )),
        _ => Err(failed(
            id,
            "its init exited before running the process (the container's stderr says why)",
        )),
    }
}

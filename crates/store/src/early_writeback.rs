//! Writing an unpacking layer's files out while it is still unpacked.
//!
//! A layer is published only once it is on disk (`syncfs` before the
//! rename), and the kernel starts writing dirty pages back on its own only
//! past a share of memory that one layer rarely reaches: without help the
//! whole layer went to disk at that `syncfs`, after the extraction, with
//! the CPU idle. A thread of its own now calls `syncfs` on the store's file
//! system every [`INTERVAL`] while the extraction runs, so the disk works
//! alongside the CPU and the final `syncfs` finds little left to write.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rustix::fs::{Mode, OFlags};

/// How often the file system is synced while a layer unpacks.
const INTERVAL: Duration = Duration::from_millis(250);

/// Syncs the file system of a directory in the background until dropped.
pub(crate) struct EarlyWriteback {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EarlyWriteback {
    /// Starts syncing the file system `dir` is on. Best effort: without
    /// it, the publishing `syncfs` does all the writing, as before.
    pub(crate) fn start(dir: &Path) -> EarlyWriteback {
        let Ok(fd) = rustix::fs::open(dir, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
            return EarlyWriteback {
                stop: None,
                thread: None,
            };
        };
        let (tx, rx) = channel::<()>();
        let thread = std::thread::spawn(move || {
            let fd: OwnedFd = fd;
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(INTERVAL) {
                let _ = rustix::fs::syncfs(&fd);
            }
        });
        EarlyWriteback {
            stop: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for EarlyWriteback {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread; a sync under way finishes
        // first (the publishing `syncfs` would wait for it anyway).
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

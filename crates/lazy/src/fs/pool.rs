//! A small pool of threads that answer reads, so that a chunk download never
//! holds up the FUSE session thread.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Runs jobs on a fixed set of threads. Dropping the pool lets the threads
/// finish the jobs already queued and exit; nothing waits for them, since a
/// job may be stuck in a download long after the mount is gone.
#[derive(Debug)]
pub(crate) struct Pool {
    jobs: Sender<Job>,
}

impl Pool {
    pub(crate) fn new(threads: usize) -> io::Result<Pool> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            thread::Builder::new()
                .name(format!("hoist-lazy-read-{i}"))
                .spawn(move || work(&queue))?;
        }
        Ok(Pool { jobs })
    }

    /// Queues `job`. If the workers are gone (which only happens when the
    /// pool is being dropped), the job is dropped too; a FUSE reply it holds
    /// then answers EIO by itself.
    pub(crate) fn run(&self, job: impl FnOnce() + Send + 'static) {
        if self.jobs.send(Box::new(job)).is_err() {
            tracing::error!("lazy layer read workers are gone; failing a read");
        }
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // Hold the lock only while waiting for the next job, not while running it.
        let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        // A panicking job drops its FUSE reply, which answers EIO; keep the
        // worker alive for the next one.
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("a lazy layer read panicked; the reader got EIO");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn runs_jobs_concurrently_and_survives_panics() {
        let pool = Pool::new(2).unwrap();
        pool.run(|| panic!("boom"));
        let (tx, rx) = mpsc::channel();
        let (release, blocked) = mpsc::channel::<()>();
        // One job blocks until released; the other must still run meanwhile.
        let tx2 = tx.clone();
        pool.run(move || {
            blocked.recv().unwrap();
            tx2.send("slow").unwrap();
        });
        pool.run(move || tx.send("fast").unwrap());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "fast");
        release.send(()).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "slow");
    }
}

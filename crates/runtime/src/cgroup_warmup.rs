//! Taking the kernel's cgroup migration lock early, so that the container's
//! own cgroup join does not wait for it.
//!
//! Every write of a pid to a `cgroup.procs` file (v1 or v2) takes one
//! global lock, `cgroup_threadgroup_rwsem`. When no writer has taken it for
//! a while, the first writer waits for an RCU grace period before it gets
//! it (measured here: 7.8 ms, against 0.2 ms for a write that skips the
//! lock); writers that come while the lock is warm, or within about one
//! grace period after the last writer left, do not wait. libcontainer's
//! intermediate process writes its pid into the container's cgroups on
//! every start, so every start paid the full grace period.
//!
//! [`warm_up`] lets a short-lived grandchild make that first write (its own
//! pid, into the cgroup it is already in: no change) while hoist prepares
//! the container, and more writes [`REWRITE_INTERVAL`] apart, each of which
//! keeps the lock warm for another grace period. The container's own write
//! then waits only for what is left of the first grace period (they last
//! 4-20 ms here), if anything. It is best effort: when anything fails,
//! nothing changes but the lost time.

use std::ffi::CString;
use std::path::{Path, PathBuf};

/// The writer's later writes: together with the first one's grace period
/// they cover the first ~25 ms of a start, when the runtime joins the
/// container's cgroups.
const REWRITES: usize = 12;
const REWRITE_INTERVAL: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: 2_000_000,
};

/// Starts the warm-up and returns at once (after one short fork and wait).
pub fn warm_up() {
    if let Some(procs) = own_procs_file() {
        spawn_writer(&procs);
    }
}

/// The `cgroup.procs` file of this process's own cgroup in the first
/// mounted hierarchy: every hierarchy's migrations take the same lock.
fn own_procs_file() -> Option<CString> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let file = procs_file_for(&text, Path::new("/sys/fs/cgroup"), |p| p.exists())?;
    CString::new(file.into_os_string().into_encoded_bytes()).ok()
}

fn procs_file_for(
    proc_cgroup: &str,
    base: &Path,
    exists: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    crate::cgroups::procs_files(proc_cgroup, base, exists)
        .into_iter()
        .next()
}

/// Forks a child that forks the writer and exits at once, so the writer
/// is nobody's child here (init reaps it) and this process only waits for
/// the first fork. Everything the writer needs is made before forking:
/// after a fork it calls only async-signal-safe functions.
#[allow(unsafe_code)]
fn spawn_writer(procs: &CString) {
    // SAFETY: the child and grandchild only call getpid, open, write,
    // close, fork and _exit (async-signal-safe) on memory made before the
    // fork, so forking is sound even if other threads hold locks.
    let child = unsafe { libc::fork() };
    match child {
        0 => {
            // SAFETY: as above.
            if unsafe { libc::fork() } == 0 {
                write_own_pid(procs);
            }
            // SAFETY: _exit ends the process without running atexit
            // handlers or destructors, which must not run in a fork.
            unsafe { libc::_exit(0) }
        }
        pid if pid > 0 => {
            let mut status = 0;
            // SAFETY: waits for our own child, which exits right away.
            unsafe { libc::waitpid(pid, &mut status, 0) };
        }
        _ => {}
    }
}

/// In the writer: `getpid()` into `procs`, again after each interval,
/// then `_exit`.
#[allow(unsafe_code)]
fn write_own_pid(procs: &CString) -> ! {
    let mut buf = [0u8; 20];
    // SAFETY: getpid has no preconditions.
    let len = format_decimal(unsafe { libc::getpid() } as u32, &mut buf);
    for round in 0..=REWRITES {
        if round > 0 {
            // SAFETY: a valid timespec; being woken early does no harm.
            unsafe { libc::nanosleep(&REWRITE_INTERVAL, std::ptr::null_mut()) };
        }
        // SAFETY: `procs` is a valid C string and `buf[..len]` is
        // initialized; a failed open or write is ignored (best effort).
        unsafe {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                break;
            }
            libc::write(fd, buf.as_ptr().cast(), len);
            libc::close(fd);
        }
    }
    // SAFETY: ends the forked process without running destructors.
    unsafe { libc::_exit(0) }
}

/// Writes `n` in decimal at the start of `buf` without allocating; returns
/// the length.
fn format_decimal(mut n: u32, buf: &mut [u8; 20]) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = 0;
    loop {
        tmp[i] = b'0' + (n % 10) as u8;
        i += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (j, d) in tmp[..i].iter().rev().enumerate() {
        buf[j] = *d;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        let mut b = [0u8; 20];
        for n in [0u32, 7, 10, 4194304, u32::MAX] {
            let len = format_decimal(n, &mut b);
            assert_eq!(std::str::from_utf8(&b[..len]).unwrap(), n.to_string());
        }
    }

    #[test]
    fn picks_the_first_mounted_hierarchy() {
        let base = Path::new("/cg");
        let hybrid = "8:pids:/user.slice/x\n12:name=systemd:/user.slice\n0::/user.slice\n";
        let all = |_: &Path| true;
        assert_eq!(
            procs_file_for(hybrid, base, all),
            Some(PathBuf::from("/cg/pids/user.slice/x/cgroup.procs"))
        );
        let v2 = "0::/system.slice/a.service\n";
        assert_eq!(
            procs_file_for(v2, base, all),
            Some(PathBuf::from("/cg/system.slice/a.service/cgroup.procs"))
        );
        let only_unified = |p: &Path| p.starts_with("/cg/unified");
        assert_eq!(
            procs_file_for(hybrid, base, only_unified),
            Some(PathBuf::from("/cg/unified/user.slice/cgroup.procs"))
        );
        assert_eq!(procs_file_for("garbage", base, all), None);
    }

    #[test]
    fn warm_up_leaves_this_process_where_it_was() {
        // This host's own cgroup file is found (else the warm-up is a no-op).
        assert!(own_procs_file().is_some());
        let before = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        warm_up();
        assert_eq!(
            std::fs::read_to_string("/proc/self/cgroup").unwrap(),
            before
        );
    }
}

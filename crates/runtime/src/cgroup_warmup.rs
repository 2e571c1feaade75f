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
//! the container, and more writes [`REWRITE_INTERVAL_NS`] apart, each of which
//! keeps the lock warm for another grace period. The container's own write
//! then waits only for what is left of the first grace period (they last
//! 4-20 ms here), if anything. It is best effort: when anything fails,
//! nothing changes but the lost time.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

/// The writer's later writes: together with the first one's grace period
/// they cover the first ~25 ms of a start, when the runtime joins the
/// container's cgroups.
const REWRITES: usize = 12;
const REWRITE_INTERVAL_NS: i64 = 2_000_000;

/// Starts the warm-up and returns at once (after one short clone and wait).
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

/// The size of the writer's stack, a static of this process: the writer
/// shares this process's memory (`CLONE_VM`: nothing is copied).
const WRITER_STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(64))]
struct WriterArea {
    stack: [u8; WRITER_STACK_SIZE],
    /// The `cgroup.procs` path, NUL-terminated.
    procs: [u8; libc::PATH_MAX as usize],
}

/// Written only by the process that set [`WRITER`] from 0, read by the
/// writer it starts; free again once the kernel zeroes [`WRITER`].
struct Shared(std::cell::UnsafeCell<WriterArea>);

// SAFETY: access is serialized by `WRITER` (see `Shared`).
#[allow(unsafe_code)]
unsafe impl Sync for Shared {}

static AREA: Shared = Shared(std::cell::UnsafeCell::new(WriterArea {
    stack: [0; WRITER_STACK_SIZE],
    procs: [0; libc::PATH_MAX as usize],
}));

/// Non-zero while a writer may still be on [`AREA`]'s stack: set before it
/// starts, zeroed by the kernel once it has exited (`CLONE_CHILD_CLEARTID`).
static WRITER: AtomicI32 = AtomicI32::new(0);

/// Starts the writer, unless the last one is still running (it keeps the
/// lock warm meanwhile). Forking would copy this process's page tables
/// twice (the writer must not be this process's child, or it would stay a
/// zombie) and make every page copy-on-write for the rest of the start:
/// 0.6-1 ms of a start here (bench/README.md). Instead a vfork-like child
/// that shares the memory starts the writer, sharing it too, and exits;
/// this process waits only for that. The orphaned writer goes to the nearest subreaper
/// (`monitor::run` makes hoist one, and reaps it) or to init.
#[allow(unsafe_code)]
fn spawn_writer(procs: &CString) {
    let bytes = procs.as_bytes_with_nul();
    if bytes.len() > libc::PATH_MAX as usize
        || WRITER
            .compare_exchange(0, -1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    // SAFETY: WRITER was 0, so no writer uses the area, and no other
    // caller gets here until the kernel zeroes it again.
    unsafe { (&mut (*AREA.0.get()).procs)[..bytes.len()].copy_from_slice(bytes) };
    // The starter's stack lives in this frame: this thread is suspended
    // (CLONE_VFORK) until the starter has exited.
    let mut starter_stack = StarterStack([0; 16 * 1024]);
    let top = starter_stack.0.as_mut_ptr_range().end;
    // Both children start with every signal blocked: a handler of this
    // process must never run on their stacks with this thread's state.
    let blocked = crate::signal_mask::block_all();
    // SAFETY: the starter runs `start_writer` on its own stack, which
    // outlives it (this thread waits, CLONE_VFORK); it only makes one more
    // clone and returns. Its exit signal is SIGCHLD: it is reaped below.
    let starter = unsafe {
        libc::clone(
            start_writer,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            std::ptr::null_mut(),
        )
    };
    crate::signal_mask::set_mask(&blocked);
    // The starter has exited (CLONE_VFORK), so WRITER holds the writer's
    // pid, or 0 if it has exited too; -1 means no writer started, and only
    // then is the area free again. Not the starter's exit status: a hoist
    // whose parent ignores SIGCHLD never gets to read it.
    let _ = WRITER.compare_exchange(-1, 0, Ordering::AcqRel, Ordering::Relaxed);
    if starter > 0 {
        reap(starter);
    }
}

/// Waits for child `pid`, which has exited; nothing to do if it was
/// reaped already (SIGCHLD ignored).
#[allow(unsafe_code)]
fn reap(pid: libc::pid_t) {
    loop {
        // SAFETY: waits for our own child; a null status pointer is allowed.
        let r = unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        if r >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

#[repr(C, align(64))]
struct StarterStack([u8; 16 * 1024]);

/// In the starter: starts the writer on [`AREA`]'s stack and exits.
#[allow(unsafe_code)]
extern "C" fn start_writer(_: *mut libc::c_void) -> libc::c_int {
    // SAFETY: AREA is ours (WRITER is set) and no writer runs on it; the
    // writer runs `write_own_pid`, which calls only raw system calls
    // (rustix, no errno: it shares this process's thread state), never
    // allocates and cannot panic. The kernel stores the writer's pid in
    // WRITER before it can run (CLONE_PARENT_SETTID, in the memory we
    // share) and zeroes it once the writer has exited and left its stack
    // (CLONE_CHILD_CLEARTID).
    let writer = unsafe {
        let top = std::ptr::addr_of_mut!((*AREA.0.get()).stack)
            .cast::<u8>()
            .add(WRITER_STACK_SIZE);
        libc::clone(
            write_own_pid,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_PARENT_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD,
            std::ptr::null_mut(),
            WRITER.as_ptr(),
            std::ptr::null_mut::<libc::c_void>(),
            WRITER.as_ptr(),
        )
    };
    // The parent is suspended until this returns, so errno (its) is safe.
    i32::from(writer <= 0)
}

/// In the writer: its pid into the `cgroup.procs` file in [`AREA`], again
/// after each interval; returning ends it (glibc's clone calls `exit`).
#[allow(unsafe_code)]
extern "C" fn write_own_pid(_: *mut libc::c_void) -> libc::c_int {
    // SAFETY: the parent wrote the NUL-terminated path before starting us
    // and leaves it alone until we have exited.
    let procs = unsafe { &(*AREA.0.get()).procs };
    let Ok(procs) = std::ffi::CStr::from_bytes_until_nul(procs) else {
        return 1;
    };
    let mut buf = [0u8; 20];
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    let len = format_decimal(pid, &mut buf);
    let interval = rustix::thread::Timespec {
        tv_sec: 0,
        tv_nsec: REWRITE_INTERVAL_NS,
    };
    for round in 0..=REWRITES {
        if round > 0 {
            // Being woken early does no harm.
            let _ = rustix::thread::nanosleep(&interval);
        }
        let flags = rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC;
        let Ok(fd) = rustix::fs::open(procs, flags, rustix::fs::Mode::empty()) else {
            break;
        };
        // Best effort: a failed write changes nothing but the time lost.
        let _ = rustix::io::write(&fd, buf.get(..len).unwrap_or_default());
    }
    0
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

    /// Waits until no writer holds the shared stack, for at most 20 s.
    fn writer_gone() -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while WRITER.load(Ordering::Acquire) != 0 {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        true
    }

    #[test]
    fn the_writer_runs_apart_from_this_process_and_frees_its_stack() {
        assert!(own_procs_file().is_some());
        let mut seen = Vec::new();
        for _ in 0..3 {
            assert!(writer_gone(), "a writer never ended");
            warm_up();
            // Never claimed without a writer: -1 only inside warm_up.
            let pid = WRITER.load(Ordering::Acquire);
            assert_ne!(pid, -1);
            if pid > 0 {
                seen.push(pid);
                // Not this process's child: nothing here has to reap it.
                // SAFETY: a non-blocking wait for any kind of child.
                #[allow(unsafe_code)]
                let waited = unsafe {
                    libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG | libc::__WALL)
                };
                assert_eq!(waited, -1, "the writer {pid} is this process's child");
            }
        }
        assert!(writer_gone(), "a writer never ended");
        // Another test may have started the writers meanwhile; when this
        // one saw them, each ran as a process of its own.
        for pid in seen {
            assert_ne!(pid as u32, std::process::id());
        }
    }

    /// Run alone in a process of its own (see the test below): with
    /// SIGCHLD ignored, as a parent can pass it down, the starter is
    /// reaped by the kernel and its exit status never read. The writer
    /// still runs, and until it has ended its stack stays claimed.
    #[test]
    fn with_sigchld_ignored_inner() {
        if std::env::var_os("HOIST_WARMUP_SIGCHLD_IGNORED").is_none() {
            return;
        }
        // SAFETY: this process runs only this test (see below).
        #[allow(unsafe_code)]
        unsafe {
            libc::signal(libc::SIGCHLD, libc::SIG_IGN)
        };
        let since = std::time::Instant::now();
        warm_up();
        let writer = WRITER.load(Ordering::Acquire);
        // A writer sleeps 12 times 2 ms before it ends: sooner than that,
        // the stack must still be claimed by its pid.
        if since.elapsed() < std::time::Duration::from_millis(20) {
            assert!(writer > 0, "stack released while its writer runs: {writer}");
        }
        assert!(writer_gone(), "a writer never ended");
    }

    #[test]
    fn the_writer_keeps_its_stack_when_sigchld_is_ignored() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cgroup_warmup::tests::with_sigchld_ignored_inner",
            ])
            .args(["--test-threads", "1"])
            .env("HOIST_WARMUP_SIGCHLD_IGNORED", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
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

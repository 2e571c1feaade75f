//! Which secondary syscall ABIs the running kernel serves.
//!
//! Why it matters: libseccomp compiles the filter in the container's init
//! process on every start, and its cost grows with the number of
//! architectures in the filter. podman's default profile maps x86_64 to
//! x86_64 + x86 + x32; each costs about a third of the compile (7 ms of
//! 20 ms on a 2-core VM). Most distribution kernels are built without the x32
//! ABI (`CONFIG_X86_X32_ABI`), so there no x32 program can run and every
//! x32 syscall fails with `ENOSYS` before any filter matters; a filter
//! section for x32 is dead weight. [`Profile::to_oci`](super::Profile::to_oci)
//! leaves such sub-architectures out.
//!
//! One difference remains, which this trades away: without the x32 section,
//! a hand-made x32 syscall (x86_64 code setting bit 30 of the number) is
//! outside every section, so the kernel kills the thread (libseccomp's
//! bad-architecture action, SIGSYS) instead of returning `ENOSYS`. No
//! program that can run on such a kernel relies on that.

use std::sync::OnceLock;

/// The x32 syscall-number flag (`__X32_SYSCALL_BIT`).
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: libc::c_long = 0x4000_0000;

/// Seccomp names of the architectures this host's kernel serves no syscalls
/// for, among the sub-architectures of the native one. Probed once per
/// process.
pub fn unserved_sub_arches() -> &'static [&'static str] {
    static UNSERVED: OnceLock<Vec<&'static str>> = OnceLock::new();
    UNSERVED.get_or_init(|| {
        let mut v = Vec::new();
        if !kernel_serves_x32() {
            v.push("SCMP_ARCH_X32");
        }
        v
    })
}

/// Whether this process already runs under a seccomp filter (or in strict
/// mode), read from `/proc/self/status`; `None` if that cannot be read.
fn under_seccomp() -> Option<bool> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_seccomp_mode(&status).map(|mode| mode != 0)
}

fn parse_seccomp_mode(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether the kernel serves x32 syscalls. Asks the kernel directly: an
/// x32 `getpid` returns our pid or fails with `ENOSYS`. Only probed when
/// no seccomp filter of our own could turn that call into a SIGSYS;
/// otherwise (and off x86_64 kernels) assumes yes, which keeps the full
/// filter.
#[cfg(target_arch = "x86_64")]
fn kernel_serves_x32() -> bool {
    if under_seccomp() != Some(false) {
        return true;
    }
    probe_x32_getpid()
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn probe_x32_getpid() -> bool {
    // SAFETY: getpid takes no arguments and has no side effects; through the
    // x32 entry point it either behaves the same or fails with ENOSYS.
    let r = unsafe { libc::syscall(X32_SYSCALL_BIT | libc::SYS_getpid) };
    if r >= 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS)
}

#[cfg(not(target_arch = "x86_64"))]
fn kernel_serves_x32() -> bool {
    let _ = under_seccomp;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seccomp_mode_parses() {
        assert_eq!(
            parse_seccomp_mode("Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t1\n"),
            Some(2)
        );
        assert_eq!(parse_seccomp_mode("Seccomp:\t0\n"), Some(0));
        assert_eq!(parse_seccomp_mode("Name:\tx\n"), None);
    }

    #[test]
    fn probe_matches_the_kernel() {
        let unserved = unserved_sub_arches();
        assert!(unserved.iter().all(|a| *a == "SCMP_ARCH_X32"));
        #[cfg(target_arch = "x86_64")]
        if under_seccomp() == Some(false) {
            // The answer must agree with a second, independent call.
            assert_eq!(unserved.is_empty(), probe_x32_getpid());
        }
    }
}

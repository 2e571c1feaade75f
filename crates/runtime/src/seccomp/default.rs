//! hoist's default seccomp profile, with the semantics of podman's default:
//! see the module docs of [`crate::seccomp`].

use oci_spec::runtime::{LinuxSeccompAction, LinuxSeccompOperator};

use super::profile::{ArchMap, Profile, ProfileArg, ProfileRule, RuleFilter};

/// What a syscall outside the allow-list returns (`ENOSYS`, as podman's).
pub const DEFAULT_ERRNO: u32 = libc::ENOSYS as u32;
/// What the explicitly denied and the capability-gated syscalls return.
pub const DENIED_ERRNO: u32 = libc::EPERM as u32;

/// Syscalls any container may make.
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
    "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "clone", "clone3", "close", "close_range", "connect",
    "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
    "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2",
    "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
    "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
    "flock", "fork", "fremovexattr", "fsconfig", "fsetxattr", "fsmount", "fsopen", "fspick",
    "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
    "futex", "futex_time64", "futimesat", "get_mempolicy", "get_robust_list", "get_thread_area",
    "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
    "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
    "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
    "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents",
    "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc", "keyctl", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
    "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek",
    "lsetxattr", "lstat", "lstat64", "madvise", "mbind", "membarrier", "memfd_create",
    "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
    "mlockall", "mmap", "mmap2", "mount", "mount_setattr", "move_mount", "mprotect",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
    "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
    "newfstatat", "open", "open_tree", "openat", "openat2", "pause", "pidfd_getfd", "pidfd_open",
    "pidfd_send_signal", "pipe", "pipe2", "pivot_root", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
    "process_mrelease", "process_vm_readv", "process_vm_writev", "pselect6", "pselect6_time64",
    "ptrace", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readdir", "readlink",
    "readlinkat", "readv", "reboot", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
    "sendto", "set_mempolicy", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid",
    "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
    "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
    "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt",
    "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
    "sigaction", "sigaltstack", "signal", "signalfd", "signalfd4", "sigpending", "sigprocmask",
    "sigreturn", "sigsuspend", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
    "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "syscall",
    "sysinfo", "syslog", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
    "umount", "umount2", "uname", "unlink", "unlinkat", "unshare", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "wait4", "waitid", "waitpid", "write", "writev",
];

/// Syscalls refused with EPERM even though the kernel knows them: obsolete
/// interfaces, and ones that let a container disturb the host (swap, kexec,
/// NUMA page moves, userfaultfd...).
#[rustfmt::skip]
const DENIED: &[&str] = &[
    "bdflush", "io_pgetevents", "kexec_file_load", "kexec_load", "migrate_pages", "move_pages",
    "nfsservctl", "nice", "oldfstat", "oldlstat", "oldolduname", "oldstat", "olduname",
    "pciconfig_iobase", "pciconfig_read", "pciconfig_write", "sgetmask", "ssetmask", "swapcontext",
    "swapoff", "swapon", "sysfs", "uselib", "userfaultfd", "ustat", "vm86", "vm86old", "vmsplice",
];

/// Syscalls allowed only to containers holding the capability they need;
/// others get EPERM.
const BY_CAPABILITY: &[(&str, &[&str])] = &[
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "fanotify_init",
            "lookup_dcookie",
            "perf_event_open",
            "quotactl",
            "setdomainname",
            "sethostname",
            "setns",
        ],
    ),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &[
            "delete_module",
            "finit_module",
            "init_module",
            "query_module",
        ],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    ("CAP_SYS_PTRACE", &["kcmp", "process_madvise"]),
    ("CAP_SYS_RAWIO", &["ioperm", "iopl"]),
    (
        "CAP_SYS_TIME",
        &["clock_settime", "clock_settime64", "settimeofday", "stime"],
    ),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
];

/// Syscalls that exist only on some architectures (Go names).
const BY_ARCH: &[(&[&str], &[&str])] = &[
    (&["amd64", "x32"], &["arch_prctl"]),
    (&["amd64", "x32", "x86"], &["modify_ldt"]),
    (
        &["arm", "arm64"],
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "breakpoint",
            "cacheflush",
            "set_tls",
            "sync_file_range2",
        ],
    ),
    (&["ppc64le"], &["sync_file_range2"]),
    (
        &["s390", "s390x"],
        &[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ],
    ),
];

/// The personality(2) values a container may set: PER_LINUX, PER_LINUX32,
/// UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (query).
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

const AF_NETLINK: u64 = 16;
const NETLINK_AUDIT: u64 = 9;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn rule(list: &[&str], action: LinuxSeccompAction) -> ProfileRule {
    ProfileRule {
        name: None,
        names: names(list),
        action,
        errno_ret: None,
        args: Vec::new(),
        includes: RuleFilter::default(),
        excludes: RuleFilter::default(),
    }
}

fn deny(list: &[&str], errno: u32) -> ProfileRule {
    ProfileRule {
        errno_ret: Some(errno),
        ..rule(list, LinuxSeccompAction::ScmpActErrno)
    }
}

fn arg(index: usize, op: LinuxSeccompOperator, value: u64) -> ProfileArg {
    ProfileArg {
        index,
        value,
        value_two: 0,
        op,
    }
}

fn caps(cap: &str) -> RuleFilter {
    RuleFilter {
        caps: vec![cap.to_string()],
        ..RuleFilter::default()
    }
}

/// The default profile (before resolving it for a container with
/// [`Profile::to_oci`]).
pub fn default_profile() -> Profile {
    use LinuxSeccompAction::{ScmpActAllow as Allow, ScmpActErrno as Errno};
    use LinuxSeccompOperator::{ScmpCmpEq as Eq, ScmpCmpNe as Ne};

    let mut rules = vec![deny(DENIED, DENIED_ERRNO), rule(ALLOWED, Allow)];
    for p in PERSONALITIES {
        rules.push(ProfileRule {
            args: vec![arg(0, Eq, *p)],
            ..rule(&["personality"], Allow)
        });
    }
    for (arches, list) in BY_ARCH {
        rules.push(ProfileRule {
            includes: RuleFilter {
                arches: names(arches),
                ..RuleFilter::default()
            },
            ..rule(list, Allow)
        });
    }
    for (cap, list) in BY_CAPABILITY {
        rules.push(ProfileRule {
            includes: caps(cap),
            ..rule(list, Allow)
        });
        rules.push(ProfileRule {
            excludes: caps(cap),
            ..deny(list, DENIED_ERRNO)
        });
    }
    // Audit netlink sockets need CAP_AUDIT_WRITE (EINVAL without it, so
    // programs treat audit as unavailable); every other socket is allowed.
    rules.push(ProfileRule {
        args: vec![arg(0, Eq, AF_NETLINK), arg(2, Eq, NETLINK_AUDIT)],
        excludes: caps("CAP_AUDIT_WRITE"),
        ..deny(&["socket"], libc::EINVAL as u32)
    });
    for a in [arg(0, Ne, AF_NETLINK), arg(2, Ne, NETLINK_AUDIT)] {
        rules.push(ProfileRule {
            args: vec![a],
            excludes: caps("CAP_AUDIT_WRITE"),
            ..rule(&["socket"], Allow)
        });
    }
    rules.push(ProfileRule {
        includes: caps("CAP_AUDIT_WRITE"),
        ..rule(&["socket"], Allow)
    });

    let arch = |a: &str, subs: &[&str]| ArchMap {
        architecture: a.to_string(),
        sub_architectures: names(subs),
    };
    Profile {
        default_action: Errno,
        default_errno_ret: Some(DEFAULT_ERRNO),
        architectures: Vec::new(),
        arch_map: vec![
            arch("SCMP_ARCH_X86_64", &["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
            arch("SCMP_ARCH_AARCH64", &["SCMP_ARCH_ARM"]),
            arch("SCMP_ARCH_S390X", &["SCMP_ARCH_S390"]),
            arch("SCMP_ARCH_PPC64LE", &[]),
            arch("SCMP_ARCH_RISCV64", &[]),
        ],
        flags: Vec::new(),
        syscalls: rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::Target;
    use oci_spec::runtime::{LinuxSeccomp, LinuxSyscall};

    fn resolve(caps: &[&str]) -> LinuxSeccomp {
        let mut t = Target::native(caps.iter().map(|c| c.to_string()).collect());
        t.arch = "amd64";
        t.scmp_arch = "SCMP_ARCH_X86_64";
        default_profile().to_oci(&t).unwrap()
    }

    /// The action a call of `name` gets when no argument rule is involved.
    fn verdict(s: &LinuxSeccomp, name: &str) -> (LinuxSeccompAction, Option<u32>) {
        let rules: Vec<&LinuxSyscall> = s
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|r| r.args().is_none() && r.names().iter().any(|n| n == name))
            .collect();
        assert!(
            rules.len() <= 1,
            "{name} has {} unconditional rules",
            rules.len()
        );
        match rules.first() {
            Some(r) => (r.action(), r.errno_ret()),
            None => (s.default_action(), s.default_errno_ret()),
        }
    }

    const ALLOW: (LinuxSeccompAction, Option<u32>) = (LinuxSeccompAction::ScmpActAllow, None);
    const EPERM: (LinuxSeccompAction, Option<u32>) =
        (LinuxSeccompAction::ScmpActErrno, Some(DENIED_ERRNO));
    const ENOSYS: (LinuxSeccompAction, Option<u32>) =
        (LinuxSeccompAction::ScmpActErrno, Some(DEFAULT_ERRNO));

    #[test]
    fn normal_programs_are_allowed() {
        let s = resolve(&["CAP_CHOWN", "CAP_SYS_CHROOT"]);
        for n in [
            "read",
            "write",
            "openat",
            "execve",
            "clone",
            "clone3",
            "mmap",
            "futex",
            "exit_group",
            "arch_prctl",
            "chroot",
        ] {
            assert_eq!(verdict(&s, n), ALLOW, "{n}");
        }
    }

    #[test]
    fn dangerous_syscalls_are_refused() {
        let s = resolve(&["CAP_CHOWN"]);
        for n in [
            "kexec_load",
            "swapon",
            "userfaultfd",
            "vmsplice",
            "bpf",
            "setns",
            "init_module",
            "iopl",
            "open_by_handle_at",
            "chroot",
            "settimeofday",
        ] {
            assert_eq!(verdict(&s, n), EPERM, "{n}");
        }
        for n in [
            "add_key",
            "request_key",
            "io_uring_setup",
            "cacheflush",
            "lookup_dcookie_typo",
        ] {
            assert_eq!(verdict(&s, n), ENOSYS, "{n}");
        }
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
    }

    #[test]
    fn capabilities_open_their_syscalls() {
        let s = resolve(&["CAP_SYS_ADMIN", "CAP_SYS_TIME"]);
        for n in [
            "bpf",
            "setns",
            "sethostname",
            "settimeofday",
            "clock_settime",
        ] {
            assert_eq!(verdict(&s, n), ALLOW, "{n}");
        }
        assert_eq!(verdict(&s, "init_module"), EPERM);
    }

    #[test]
    fn audit_sockets_need_audit_write() {
        let socket_rules = |s: &LinuxSeccomp| {
            s.syscalls()
                .as_ref()
                .unwrap()
                .iter()
                .filter(|r| r.names().iter().any(|n| n == "socket"))
                .map(|r| (r.action(), r.args().as_ref().map_or(0, |a| a.len())))
                .collect::<Vec<_>>()
        };
        let without = socket_rules(&resolve(&[]));
        assert_eq!(
            without,
            [
                (LinuxSeccompAction::ScmpActErrno, 2),
                (LinuxSeccompAction::ScmpActAllow, 1),
                (LinuxSeccompAction::ScmpActAllow, 1)
            ]
        );
        assert_eq!(
            socket_rules(&resolve(&["CAP_AUDIT_WRITE"])),
            [(LinuxSeccompAction::ScmpActAllow, 0)]
        );
    }

    #[test]
    fn no_syscall_is_both_allowed_and_denied_unconditionally() {
        let mut all: Vec<&str> = ALLOWED.to_vec();
        all.extend(DENIED);
        for (_, l) in BY_CAPABILITY {
            all.extend(l.iter());
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a syscall appears in two lists");
    }

    #[test]
    fn serializes_as_a_podman_style_profile() {
        let json = serde_json::to_value(default_profile()).unwrap();
        assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(json["defaultErrnoRet"], 38);
        assert_eq!(json["archMap"][0]["architecture"], "SCMP_ARCH_X86_64");
        let back: Profile = serde_json::from_value(json).unwrap();
        assert_eq!(back, default_profile());
    }
}

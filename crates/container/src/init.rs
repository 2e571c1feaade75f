//! `--init`: a minimal PID 1 for the container. hoist itself is
//! bind-mounted read-only at [`INIT_PATH`] and the container's command is
//! run as `/run/hoist-init container-init -- CMD...`; [`run_init`] then
//! forks the command, forwards every signal to it, reaps every zombie
//! (orphans are reparented to PID 1) and exits with the command's code.
//!
//! **Signals.** The runtime execs hoist's init with every signal already
//! blocked (see `hoist_runtime::executor::runs_hoist_init`), so a signal
//! sent at any moment after `start` returned is queued (the kernel drops
//! an unhandled, unblocked one sent to a PID-namespace init) and forwarded
//! once [`run_init`] waits for signals. Run any other way, the init blocks
//! them first thing itself. The command starts with no signal blocked.
//!
//! A dynamically linked hoist also needs its ELF interpreter and shared
//! libraries inside the container: they are bind-mounted under
//! [`INIT_LIB_DIR`] and the interpreter is run explicitly.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use hoist_runtime::spec::MountSpec;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{execvp, fork, ForkResult, Pid};

use crate::error::{io_err, ContainerError, Result};

/// Where hoist is mounted in a container run with `--init`.
pub const INIT_PATH: &str = hoist_runtime::executor::HOIST_INIT_PATH;
/// Where a dynamically linked hoist's loader and libraries are mounted.
pub const INIT_LIB_DIR: &str = "/run/hoist-init.lib";

/// Signals that report a fault of this process rather than a request;
/// they stay unblocked.
const SYNCHRONOUS: [Signal; 6] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGTRAP,
    Signal::SIGABRT,
];

fn forwarded() -> SigSet {
    let mut set = SigSet::all();
    for s in SYNCHRONOUS {
        set.remove(s);
    }
    set
}

/// The init: runs `command` as its child; returns the exit code to exit
/// with (the child's, 128+signal when killed, 127 when it cannot run).
pub fn run_init(command: &[OsString]) -> i32 {
    let set = forwarded();
    // Blocked signals are queued even for PID 1, which the kernel would
    // otherwise drop without a handler; sigwait then takes them in order.
    // (Normally they are blocked already: see the module docs.)
    if sigprocmask(SigmaskHow::SIG_SETMASK, Some(&set), None).is_err() {
        return crate::EXIT_ENGINE;
    }
    let Some(first) = command.first() else {
        eprintln!("hoist-init: no command given");
        return crate::EXIT_ENGINE;
    };
    // Everything the child needs is made before the fork.
    let args: Vec<CString> = match command
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<std::result::Result<_, _>>()
    {
        Ok(a) => a,
        Err(_) => {
            eprintln!("hoist-init: an argument contains a NUL byte");
            return crate::EXIT_ENGINE;
        }
    };
    // SAFETY: the child only clears its signal mask and execs.
    #[allow(unsafe_code)]
    let child = match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            // Not the mask the init was started with: that one had every
            // signal blocked for the init's sake.
            let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
            let e = execvp(&args[0], &args);
            eprintln!("hoist-init: running {}: {e:?}", first.to_string_lossy());
            // SAFETY: leave the forked child without running the parent's exit handlers.
            #[allow(unsafe_code)]
            unsafe {
                libc::_exit(if e == Err(nix::errno::Errno::ENOENT) {
                    127
                } else {
                    126
                })
            }
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => {
            eprintln!("hoist-init: fork: {e}");
            return crate::EXIT_ENGINE;
        }
    };
    loop {
        let Ok(sig) = set.wait() else { continue };
        if sig != Signal::SIGCHLD {
            let _ = kill(child, sig);
            continue;
        }
        if let Some(code) = reap(child) {
            return code;
        }
    }
}

/// Reaps every exited child; the exit code once `main` has exited.
fn reap(main: Pid) -> Option<i32> {
    let mut result = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == main => result = Some(code),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == main => result = Some(128 + sig as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return result,
            Ok(_) => {}
        }
    }
}

/// The ELF interpreter (`PT_INTERP`) of `exe`, if it is dynamically linked.
fn interpreter(exe: &Path) -> Result<Option<PathBuf>> {
    let bytes = std::fs::read(exe).map_err(io_err("reading", exe))?;
    let rd = |off: usize, n: usize| -> Option<u64> {
        let s = bytes.get(off..off + n)?;
        let mut v = 0u64;
        for (i, b) in s.iter().enumerate() {
            v |= (*b as u64) << (8 * i);
        }
        Some(v)
    };
    // ELF64, little endian only (what hoist is built for).
    if bytes.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1][..]) {
        return Ok(None);
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (rd(0x20, 8), rd(0x36, 2), rd(0x38, 2))
    else {
        return Ok(None);
    };
    for i in 0..phnum as usize {
        let ph = phoff as usize + i * phentsize as usize;
        if rd(ph, 4) == Some(3) {
            let (Some(off), Some(size)) = (rd(ph + 8, 8), rd(ph + 32, 8)) else {
                break;
            };
            let raw = bytes
                .get(off as usize..(off + size) as usize)
                .unwrap_or(&[]);
            let raw = raw.split(|b| *b == 0).next().unwrap_or(&[]);
            return Ok(Some(PathBuf::from(std::ffi::OsStr::from_bytes(raw))));
        }
    }
    Ok(None)
}

/// The mounts and the command prefix that run `command` under hoist's init.
pub fn init_setup(command: &[String]) -> Result<(Vec<MountSpec>, Vec<String>)> {
    let exe = std::env::current_exe().map_err(io_err("finding", "/proc/self/exe"))?;
    let bind = |source: PathBuf, destination: String| MountSpec::Bind {
        source,
        destination,
        read_only: true,
        options: Vec::new(),
    };
    let mut mounts = vec![bind(exe.clone(), INIT_PATH.into())];
    let mut args = Vec::new();
    if let Some(interp) = interpreter(&exe)? {
        // `ld.so --list` names every library the binary needs.
        let out = std::process::Command::new(&interp)
            .arg("--list")
            .arg(&exe)
            .output()
            .map_err(io_err("running", &interp))?;
        if !out.status.success() {
            return Err(ContainerError::Invalid(format!(
                "--init: cannot list the libraries of {} with {}",
                exe.display(),
                interp.display()
            )));
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some((name, rest)) = line.trim().split_once(" => ") else {
                continue;
            };
            let path = rest.split(" (").next().unwrap_or("").trim();
            if path.starts_with('/') {
                let real = std::fs::canonicalize(path).map_err(io_err("resolving", path))?;
                mounts.push(bind(real, format!("{INIT_LIB_DIR}/{name}")));
            }
        }
        let real = std::fs::canonicalize(&interp).map_err(io_err("resolving", &interp))?;
        mounts.push(bind(real, format!("{INIT_LIB_DIR}/ld.so")));
        args.extend([
            format!("{INIT_LIB_DIR}/ld.so"),
            "--library-path".into(),
            INIT_LIB_DIR.into(),
        ]);
    }
    args.extend([
        INIT_PATH.into(),
        hoist_runtime::executor::HOIST_INIT_COMMAND.into(),
        "--".into(),
    ]);
    args.extend(command.iter().cloned());
    Ok((mounts, args))
}

/// Where an `--init-path` binary (catatonit, tini) is mounted, as podman
/// mounts it.
pub const EXTERNAL_INIT_PATH: &str = "/run/podman-init";

/// The mounts and command prefix that run `command` under the init binary
/// `init` (`--init-path`, containers.conf `init_path`), which must be
/// statically linked as podman expects: `/run/podman-init -- CMD...`.
pub fn external_init_setup(
    init: &Path,
    command: &[String],
) -> Result<(Vec<MountSpec>, Vec<String>)> {
    if !init.is_file() {
        return Err(ContainerError::Invalid(format!(
            "--init-path {}: no such file; install the init (e.g. the catatonit package) or fix the path",
            init.display()
        )));
    }
    let mounts = vec![MountSpec::Bind {
        source: init.to_path_buf(),
        destination: EXTERNAL_INIT_PATH.into(),
        read_only: true,
        options: Vec::new(),
    }];
    let mut args = vec![EXTERNAL_INIT_PATH.to_string(), "--".into()];
    args.extend(command.iter().cloned());
    Ok((mounts, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_interpreter_of_a_dynamic_binary() {
        let me = std::env::current_exe().unwrap();
        // Test binaries are linked like hoist itself.
        let interp = interpreter(&me).unwrap();
        if let Some(i) = &interp {
            assert!(i.is_absolute() && i.exists(), "{i:?}");
        }
        assert_eq!(interpreter(Path::new("/proc/self/status")).unwrap(), None);
        let (mounts, args) = init_setup(&["sh".into()]).unwrap();
        assert!(args.ends_with(&[
            INIT_PATH.to_string(),
            "container-init".into(),
            "--".into(),
            "sh".into()
        ]));
        assert!(!mounts.is_empty());
    }

    #[test]
    fn an_external_init_runs_the_command_after_a_double_dash() {
        let (mounts, args) = external_init_setup(Path::new("/bin/sh"), &["top".into()]).unwrap();
        assert_eq!(args, [EXTERNAL_INIT_PATH, "--", "top"]);
        assert!(
            matches!(&mounts[0], MountSpec::Bind { destination, .. } if destination == EXTERNAL_INIT_PATH)
        );
        assert!(external_init_setup(Path::new("/nonexistent/init"), &[]).is_err());
    }

    #[test]
    fn init_returns_the_child_exit_code() {
        // In a forked process: the init blocks signals and reaps everything.
        // SAFETY: the child only runs the init and exits.
        #[allow(unsafe_code)]
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                let code = run_init(&["sh".into(), "-c".into(), "exit 7".into()]);
                #[allow(unsafe_code)]
                // SAFETY: leave the forked test process at once.
                unsafe {
                    libc::_exit(code)
                }
            }
            ForkResult::Parent { child } => {
                assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 7));
            }
        }
    }

    #[test]
    fn a_signal_queued_before_the_init_started_reaches_the_command() {
        // The runtime execs the init with every signal blocked; one sent
        // before the init waits for signals is queued and must still be
        // forwarded, and the command must not inherit the blocked mask.
        // SAFETY: the child only blocks signals, signals itself, runs the
        // init and exits.
        #[allow(unsafe_code)]
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::all()), None);
                let _ = kill(nix::unistd::getpid(), Signal::SIGTERM);
                let code = run_init(&["sleep".into(), "30".into()]);
                #[allow(unsafe_code)]
                // SAFETY: leave the forked test process at once.
                unsafe {
                    libc::_exit(code)
                }
            }
            ForkResult::Parent { child } => {
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let _ = tx.send(waitpid(child, None));
                });
                let got = rx.recv_timeout(std::time::Duration::from_secs(10));
                if got.is_err() {
                    let _ = kill(child, Signal::SIGKILL);
                }
                // The init reports its command killed by SIGTERM: 128 + 15.
                assert_eq!(got.ok(), Some(Ok(WaitStatus::Exited(child, 143))));
            }
        }
    }
}

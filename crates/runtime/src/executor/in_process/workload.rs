//! The last step of libcontainer's init, in hoist's hands: hold signals,
//! install hoist's precompiled seccomp program (if any), tell `start` the
//! exec is under way, then hand over to libcontainer's own executor (which
//! resolves the program on `PATH` and execs it).
//!
//! **Seccomp.** libcontainer loads a spec's filter before it drops
//! capabilities, so that a process without `no_new_privs` may still install
//! one (that needs `CAP_SYS_ADMIN`). hoist takes the filter out of the spec
//! libcontainer sees and installs it here instead, after the capability
//! drop. So that it may, [`super::prepared`] leaves `CAP_SYS_ADMIN` in the
//! effective and permitted sets when the container is not meant to have it
//! (but never in the bounding, inheritable or ambient sets); this executor
//! removes it again right after the install. Even if that removal failed (a
//! profile that forbids `capset`), `execve` would drop it: a capability
//! outside the bounding, inheritable and ambient sets never survives an
//! exec, for root or any other user, with or without file capabilities.
//!
//! **Signals.** Every signal is blocked on entry, so one that arrives while
//! hoist's code still runs is queued instead of acted on half-way (the
//! kernel queues a blocked signal even for a PID-namespace init, which drops
//! an unhandled one). The mask is restored right before the exec, so the
//! user's program starts with the mask the container was created with; a
//! signal queued meanwhile is then acted on at once, by default action (a
//! SIGTERM terminates, as it would have a moment later). The exception is
//! hoist's own init ([`runs_hoist_init`]): it is exec'd with every signal
//! still blocked and unblocks them itself once it forwards them, so no
//! signal sent after `start` is lost in its start-up.
//!
//! **The exec fifo.** The init holds the write end of the container's exec
//! fifo (close-on-exec). It writes [`EXEC_REACHED`] here and, if the exec
//! fails, [`EXEC_FAILED`]; `start` reads to end of file, which comes when
//! the exec has replaced hoist's code (or the init has died).

use std::os::fd::RawFd;

use libcontainer::oci_spec::runtime::Spec;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use rustix::thread::CapabilitySet;

use crate::seccomp::Program;

/// Where hoist's init is mounted in a container run with `--init`.
pub const HOIST_INIT_PATH: &str = "/run/hoist-init";
/// The subcommand that makes hoist act as a container's init.
pub const HOIST_INIT_COMMAND: &str = "container-init";

/// Written to the exec fifo once the init runs hoist's executor.
pub(super) const EXEC_REACHED: u8 = b'S';
/// Written to the exec fifo when the exec failed.
pub(super) const EXEC_FAILED: u8 = b'E';

/// Whether a process's `args` run hoist's init ([`HOIST_INIT_PATH`]
/// `container-init`, directly or through a mounted dynamic loader), which
/// expects to be exec'd with its signals blocked.
pub fn runs_hoist_init(args: &[String]) -> bool {
    // The loader form is `ld.so --library-path DIR /run/hoist-init ...`.
    args.windows(2)
        .take(4)
        .any(|w| w[0] == HOIST_INIT_PATH && w[1] == HOIST_INIT_COMMAND)
}

#[derive(Clone)]
pub(crate) struct HoistExecutor {
    program: Option<Program>,
    /// Whether `CAP_SYS_ADMIN` was lent for the install only.
    drop_sys_admin: bool,
    /// The init's write end of the exec fifo (see the module docs); a
    /// number valid in the init, which inherits it from the creator.
    exec_fifo: Option<RawFd>,
}

impl HoistExecutor {
    pub(crate) fn new(
        program: Option<Program>,
        drop_sys_admin: bool,
        exec_fifo: Option<RawFd>,
    ) -> HoistExecutor {
        HoistExecutor {
            program,
            drop_sys_admin,
            exec_fifo,
        }
    }

    fn tell(&self, byte: u8) {
        if let Some(fd) = self.exec_fifo {
            // SAFETY: the fd is the fifo this executor was made with, open
            // in this process; a one-byte write to it does not block (the
            // fifo is opened non-blocking and its buffer is empty).
            #[allow(unsafe_code)]
            let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
            let _ = rustix::io::write(fd, &[byte]);
        }
    }
}

fn drop_sys_admin() -> std::io::Result<()> {
    let mut sets = rustix::thread::capabilities(None)?;
    sets.effective.remove(CapabilitySet::SYS_ADMIN);
    sets.permitted.remove(CapabilitySet::SYS_ADMIN);
    rustix::thread::set_capabilities(None, sets)?;
    Ok(())
}

/// The highest signal number the kernel knows (`_NSIG`).
const LAST_SIGNAL: i32 = 64;

/// Gives the workload every signal's default disposition. An ignored
/// signal stays ignored across exec, and a shell cannot even trap one it
/// found ignored: without this the workload would inherit what hoist's
/// runtime ignores (SIGPIPE, for Rust) and what the caller's did (`nohup
/// hoist run ...` ignores SIGHUP), where runc's workloads start clean.
/// Caught signals are reset by exec itself; this covers the ignored ones.
fn reset_signal_dispositions() {
    // The kernel's `struct sigaction` all zero: SIG_DFL, no flags, empty
    // mask, on every architecture. Larger than any of them needs.
    let default_action = [0u64; 8];
    for signal in 1..=LAST_SIGNAL {
        // SAFETY: rt_sigaction reads `default_action` (valid, big enough)
        // and writes nothing (null old action); it only changes this
        // process's disposition of `signal`. Through the raw system call,
        // as libc refuses the signals it reserves for itself (32, 33),
        // which a workload must get at their default too. SIGKILL and
        // SIGSTOP fail with EINVAL, which is fine: they cannot be ignored.
        #[allow(unsafe_code)]
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default_action.as_ptr(),
                std::ptr::null_mut::<libc::c_void>(),
                8usize,
            );
        }
    }
}

impl Executor for HoistExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let old_mask = crate::signal_mask::block_all();
        self.tell(EXEC_REACHED);
        let result = self.prepare_and_exec(spec, &old_mask);
        // Only reached when the exec failed.
        self.tell(EXEC_FAILED);
        crate::signal_mask::set_mask(&old_mask);
        result
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        // libcontainer's check insists on a PATH even for an absolute
        // command; runc's does not (`run --unsetenv-all IMAGE /bin/x`).
        // Look the command up on the default PATH instead.
        let no_path = spec
            .process()
            .as_ref()
            .and_then(|p| p.env().as_ref())
            .is_none_or(|env| !env.iter().any(|e| e.starts_with("PATH=")));
        if no_path {
            if let Some(mut process) = spec.process().clone() {
                let mut env = process.env().clone().unwrap_or_default();
                env.push(format!("PATH={}", crate::spec::DEFAULT_PATH));
                process.set_env(Some(env));
                let mut with_path = spec.clone();
                with_path.set_process(Some(process));
                return libcontainer::workload::default::get_executor().validate(&with_path);
            }
        }
        libcontainer::workload::default::get_executor().validate(spec)
    }
}

impl HoistExecutor {
    fn prepare_and_exec(
        &self,
        spec: &Spec,
        old_mask: &libc::sigset_t,
    ) -> Result<(), ExecutorError> {
        // Before the seccomp filter, which may not allow rt_sigaction.
        reset_signal_dispositions();
        if let Some(program) = &self.program {
            program
                .install()
                .map_err(|e| ExecutorError::Other(format!("installing the seccomp filter: {e}")))?;
        }
        if self.drop_sys_admin {
            // See the module docs: exec drops it anyway.
            if let Err(e) = drop_sys_admin() {
                tracing::debug!("dropping CAP_SYS_ADMIN before exec: {e}");
            }
        }
        let args = spec
            .process()
            .as_ref()
            .and_then(|p| p.args().as_deref())
            .unwrap_or(&[]);
        if !runs_hoist_init(args) {
            crate::signal_mask::set_mask(old_mask);
        }
        libcontainer::workload::default::get_executor().exec(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn hoist_init_is_recognized_directly_and_through_the_loader() {
        assert!(runs_hoist_init(&s(&[
            HOIST_INIT_PATH,
            HOIST_INIT_COMMAND,
            "--",
            "sh"
        ])));
        assert!(runs_hoist_init(&s(&[
            "/run/hoist-init.lib/ld.so",
            "--library-path",
            "/run/hoist-init.lib",
            HOIST_INIT_PATH,
            HOIST_INIT_COMMAND,
            "--",
            "sh"
        ])));
        assert!(!runs_hoist_init(&s(&["sh", "-c", "true"])));
        assert!(!runs_hoist_init(&s(&[HOIST_INIT_PATH])));
        // Only as the program run, not as an argument of another one.
        assert!(!runs_hoist_init(&s(&[
            "a",
            "b",
            "c",
            "d",
            "e",
            HOIST_INIT_PATH,
            HOIST_INIT_COMMAND
        ])));
    }
}

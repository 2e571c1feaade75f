//! Running containers from bundles: the [`Runtime`] operations of the OCI
//! runtime spec (create, start, state, kill, delete) and exec, in-process with
//! libcontainer or through an external runtime binary.
//!
//! Exit codes: the container's init process is a child of the process that
//! called [`Runtime::create`] with [`InProcessRuntime`]; with
//! [`ExternalRuntime`] it is the runtime's child, and becomes ours only if we
//! are a child subreaper ([`set_child_subreaper`]), as podman's conmon is.
//! Either way [`wait_exit`] then collects its exit status.

mod bundle;
mod error;
mod external;
mod in_process;

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use bundle::{read_bundle_config, write_bundle_config, CONFIG_FILE};
pub use error::RuntimeError;
pub use external::ExternalRuntime;
pub use in_process::{runs_hoist_init, InProcessRuntime, HOIST_INIT_COMMAND, HOIST_INIT_PATH};

/// The standard streams given to a container's process. Use pipes, files or
/// a terminal; not /dev/null for output (libcontainer swaps a /dev/null
/// stdio for the container's /dev/null opened read-only, so writes fail).
#[derive(Debug)]
pub struct Stdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// Also pass this process's file descriptors 3 .. 3+N to the
    /// container's process (runc's `--preserve-fds`).
    pub preserve_fds: u32,
}

impl Stdio {
    pub fn new(stdin: OwnedFd, stdout: OwnedFd, stderr: OwnedFd) -> Stdio {
        Stdio {
            stdin,
            stdout,
            stderr,
            preserve_fds: 0,
        }
    }

    /// Passes descriptors 3 .. 3+`n` on too (they must be open and not
    /// close-on-exec... the runtime clears that flag).
    pub fn with_preserved_fds(mut self, n: u32) -> Stdio {
        self.preserve_fds = n;
        self
    }

    /// Copies of this process's own standard streams.
    pub fn inherit() -> Result<Stdio, RuntimeError> {
        use std::os::fd::AsFd;
        let dup = |fd: std::os::fd::BorrowedFd<'_>, name: &'static str| {
            fd.try_clone_to_owned()
                .map_err(error::io_err("duplicating", name))
        };
        Ok(Stdio {
            stdin: dup(std::io::stdin().as_fd(), "stdin")?,
            stdout: dup(std::io::stdout().as_fd(), "stdout")?,
            stderr: dup(std::io::stderr().as_fd(), "stderr")?,
            preserve_fds: 0,
        })
    }
}

/// A container's status, as the OCI runtime spec names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Stopped,
    Paused,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
            Status::Paused => "paused",
        })
    }
}

/// A container's state (the OCI `state` document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub oci_version: String,
    pub id: String,
    pub status: Status,
    /// The init process (in the host's pid namespace); `None` once stopped
    /// or when the runtime reports none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub bundle: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The operations of an OCI runtime on one state root.
pub trait Runtime {
    /// Creates container `id` from the bundle (a directory with
    /// `config.json`): namespaces, cgroups and mounts are set up and the
    /// init process waits for [`Runtime::start`]. Returns its pid.
    /// `console_socket` (with `process.terminal`) receives the pty master.
    fn create(
        &self,
        id: &str,
        bundle: &Path,
        stdio: Stdio,
        console_socket: Option<&Path>,
    ) -> Result<i32, RuntimeError>;

    /// Runs the user's program in a created container. Returns once that
    /// program has been exec'd (as runc does), so a signal sent afterwards
    /// reaches it rather than the runtime's code.
    fn start(&self, id: &str) -> Result<(), RuntimeError>;

    fn state(&self, id: &str) -> Result<State, RuntimeError>;

    /// Sends `signal` (a number such as `libc::SIGTERM`) to the init process.
    fn kill(&self, id: &str, signal: i32) -> Result<(), RuntimeError>;

    /// Removes a stopped (or, with `force`, any: it is killed) container's
    /// state and cgroups.
    fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError>;

    /// Runs `process` inside running container `id`, joining its
    /// namespaces and cgroup with its spec's seccomp filter, as `runc exec`
    /// does. Returns the new process's pid once it runs; it is (or, once the
    /// runtime exits, becomes) a child of the caller, to be collected with
    /// [`wait_exit`]. `console_socket` (with `process.terminal`) receives
    /// the pty master. May fork: call it single-threaded.
    fn exec(
        &self,
        id: &str,
        process: &oci_spec::runtime::Process,
        stdio: Stdio,
        console_socket: Option<&Path>,
    ) -> Result<i32, RuntimeError>;
}

/// Writes `process` to a file in `dir` (runc's `--process`; the name is
/// unique among concurrent execs), runs `exec` with its path and removes
/// the file again.
fn with_exec_process_file<T>(
    dir: &Path,
    id: &str,
    process: &oci_spec::runtime::Process,
    exec: impl FnOnce(&Path) -> Result<T, RuntimeError>,
) -> Result<T, RuntimeError> {
    let file = dir.join(format!(
        "exec-{}-{}.json",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let json = serde_json::to_vec(process).map_err(|e| RuntimeError::BadProcess {
        id: id.to_string(),
        detail: e.to_string(),
    })?;
    std::fs::write(&file, json).map_err(error::io_err("writing exec process", &file))?;
    let result = exec(&file);
    let _ = std::fs::remove_file(&file);
    result
}

/// How a container's init process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The shell-style code: the exit code, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }
}

/// Waits for process `pid` (a child of this process) to end.
pub fn wait_exit(pid: i32) -> Result<ExitStatus, RuntimeError> {
    let p = rustix::process::Pid::from_raw(pid).ok_or(RuntimeError::Wait {
        pid,
        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
    })?;
    loop {
        match rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, st))) => {
                if let Some(code) = st.exit_status() {
                    return Ok(ExitStatus::Exited(code));
                }
                if let Some(sig) = st.terminating_signal() {
                    return Ok(ExitStatus::Signaled(sig));
                }
            }
            Ok(None) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(RuntimeError::Wait {
                    pid,
                    source: e.into(),
                })
            }
        }
    }
}

/// Makes this process a child subreaper: orphaned descendants (such as the
/// init process an external runtime forked) become its children, so
/// [`wait_exit`] can collect them. Process-wide and permanent.
pub fn set_child_subreaper() -> Result<(), RuntimeError> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(|e| error::io_err("setting child subreaper on", "this process")(e.into()))
}

/// Whether `id` is a valid container id (the characters runc and
/// libcontainer accept; never `.` or `..`, so it is a safe file name).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'))
}

pub(crate) fn check_id(id: &str) -> Result<(), RuntimeError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(RuntimeError::InvalidId { id: id.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_valid_id("abc-1.2_x+y"));
        for bad in ["", ".", "..", "a/b", "a b", "é"] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn state_json_matches_oci() {
        let s = State {
            oci_version: "1.0.2".into(),
            id: "c".into(),
            status: Status::Created,
            pid: Some(42),
            bundle: "/b".into(),
            created: None,
            annotations: BTreeMap::new(),
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ociVersion":"1.0.2","id":"c","status":"created","pid":42,"bundle":"/b"})
        );
        let runc = r#"{"ociVersion":"1.0.2-dev","id":"x","pid":0,"status":"stopped","bundle":"/b","rootfs":"/b/rootfs","created":"2024-01-02T03:04:05.123456789Z","owner":""}"#;
        let s: State = serde_json::from_str(runc).unwrap();
        assert_eq!((s.status, s.pid), (Status::Stopped, Some(0)));
        assert!(s.created.is_some());
    }

    #[test]
    #[allow(clippy::zombie_processes)] // reaped by wait_exit, which is under test
    fn exit_codes_and_wait() {
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Signaled(9).code(), 137);
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .spawn()
            .unwrap();
        assert_eq!(wait_exit(child.id() as i32).unwrap(), ExitStatus::Exited(7));
        assert!(matches!(wait_exit(1), Err(RuntimeError::Wait { .. })));
    }
}

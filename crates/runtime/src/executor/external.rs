//! Any OCI runtime binary (runc, crun, youki) driven through runc's command
//! line, as podman does: `--root R create --bundle B --pid-file F
//! [--console-socket S] ID`, `start ID`, `state ID` (JSON), `kill ID SIG`,
//! `delete [--force] ID`, `exec --detach --process F ID`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::error::{io_err, RuntimeError};
use super::{check_id, Runtime, State, Stdio};

/// An external OCI runtime at `path` keeping its state under `root`.
#[derive(Debug, Clone)]
pub struct ExternalRuntime {
    path: PathBuf,
    root: PathBuf,
    leading_args: Vec<String>,
    global_args: Vec<String>,
}

/// The runtime's error log of a `create`, kept in the bundle (the
/// container's own directory) like podman's `oci-log`.
const CREATE_LOG: &str = "oci-log";

impl ExternalRuntime {
    pub fn new(path: impl Into<PathBuf>, root: impl Into<PathBuf>) -> ExternalRuntime {
        ExternalRuntime {
            path: path.into(),
            root: root.into(),
            leading_args: Vec::new(),
            global_args: Vec::new(),
        }
    }

    /// Arguments placed before everything else: hoist serves as a runtime
    /// as `hoist oci ...`.
    pub fn with_leading_args(mut self, args: Vec<String>) -> ExternalRuntime {
        self.leading_args = args;
        self
    }

    /// The leading arguments the runtime binary at `path` needs: `oci`
    /// when it is a hoist (any copy of it answers `--version` with
    /// `hoist version ...`), none for runc, crun and the like.
    pub fn leading_args_for(path: &Path) -> Vec<String> {
        let out = Command::new(path)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
        match out {
            Ok(o) if String::from_utf8_lossy(&o.stdout).starts_with("hoist version") => {
                vec!["oci".into()]
            }
            _ => Vec::new(),
        }
    }

    /// Extra global options placed before the command (e.g.
    /// `--cgroup-manager=cgroupfs` for crun, `--systemd-cgroup`).
    pub fn with_global_args(mut self, args: Vec<String>) -> ExternalRuntime {
        self.global_args = args;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.path);
        c.args(&self.leading_args)
            .arg("--root")
            .arg(&self.root)
            .args(&self.global_args);
        c
    }

    fn run(&self, op: &'static str, id: &str, mut cmd: Command) -> Result<Output, RuntimeError> {
        tracing::debug!(runtime = %self.path.display(), op, id, "running OCI runtime");
        let out = cmd
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|source| RuntimeError::Spawn {
                runtime: self.path.clone(),
                source,
            })?;
        if out.status.success() {
            return Ok(out);
        }
        let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(self.failure(op, id, &out.status, message))
    }

    fn failure(
        &self,
        op: &'static str,
        id: &str,
        status: &std::process::ExitStatus,
        message: String,
    ) -> RuntimeError {
        let lower = message.to_ascii_lowercase();
        if lower.contains("does not exist")
            || (lower.contains("not found") && lower.contains("container"))
        {
            return RuntimeError::NotFound {
                id: id.to_string(),
                root: self.root.clone(),
            };
        }
        if lower.contains("already exists") {
            return RuntimeError::AlreadyExists {
                id: id.to_string(),
                root: self.root.clone(),
            };
        }
        RuntimeError::Command {
            runtime: self.path.clone(),
            op,
            id: id.to_string(),
            status: status.to_string(),
            message: if message.is_empty() {
                "no error message".into()
            } else {
                message
            },
        }
    }

    /// Runs the runtime with the container process's stdio (runc hands its
    /// own to the process) and its messages in a JSON log, then reads the
    /// pid it wrote.
    fn run_with_stdio(
        &self,
        op: &'static str,
        id: &str,
        mut cmd: Command,
        stdio: Stdio,
        log: &Path,
        pid_file: &Path,
    ) -> Result<i32, RuntimeError> {
        cmd.stdin(stdio.stdin)
            .stdout(stdio.stdout)
            .stderr(stdio.stderr);
        tracing::debug!(runtime = %self.path.display(), op, id, "running OCI runtime");
        let status = cmd.status().map_err(|source| RuntimeError::Spawn {
            runtime: self.path.clone(),
            source,
        })?;
        if !status.success() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            return Err(self.failure(op, id, &status, log_errors(&text)));
        }
        let text =
            std::fs::read_to_string(pid_file).map_err(io_err("reading pid file", pid_file))?;
        text.trim().parse().map_err(|_| RuntimeError::BadOutput {
            runtime: self.path.clone(),
            op,
            id: id.to_string(),
            detail: format!("pid file {} holds {text:?}", pid_file.display()),
        })
    }

    /// `exec --detach` of the process described in `process_file`.
    fn run_exec(
        &self,
        id: &str,
        process_file: &Path,
        stdio: Stdio,
        console_socket: Option<&Path>,
    ) -> Result<i32, RuntimeError> {
        let log = process_file.with_extension("log");
        let pid_file = process_file.with_extension("pid");
        let mut cmd = self.command();
        cmd.arg("--log")
            .arg(&log)
            .arg("--log-format")
            .arg("json")
            .arg("exec")
            .arg("--detach")
            .arg("--process")
            .arg(process_file)
            .arg("--pid-file")
            .arg(&pid_file);
        if let Some(s) = console_socket {
            cmd.arg("--console-socket").arg(s);
        }
        cmd.arg(id);
        let result = self.run_with_stdio("exec", id, cmd, stdio, &log, &pid_file);
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_file(&pid_file);
        result
    }
}

/// The error lines of a runtime log: runc and crun write JSON lines
/// (`{"level":"error","msg":...}`) with `--log-format json`; anything else is
/// kept as it is.
fn log_errors(text: &str) -> String {
    let mut msgs = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) => {
                let level = v["level"].as_str().unwrap_or("");
                if matches!(level, "error" | "fatal" | "panic") {
                    msgs.push(v["msg"].as_str().unwrap_or(line).to_string());
                }
            }
            Err(_) => msgs.push(line.to_string()),
        }
    }
    msgs.join("; ")
}

impl Runtime for ExternalRuntime {
    fn create(
        &self,
        id: &str,
        bundle: &Path,
        stdio: Stdio,
        console_socket: Option<&Path>,
    ) -> Result<i32, RuntimeError> {
        check_id(id)?;
        let pid_file = bundle.join("pidfile");
        let log = bundle.join(CREATE_LOG);
        let _ = std::fs::remove_file(&pid_file);
        std::fs::write(&log, b"").map_err(io_err("creating runtime log", &log))?;
        let mut cmd = self.command();
        cmd.arg("--log")
            .arg(&log)
            .arg("--log-format")
            .arg("json")
            .arg("create")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(&pid_file);
        if let Some(s) = console_socket {
            cmd.arg("--console-socket").arg(s);
        }
        if stdio.preserve_fds > 0 {
            cmd.arg("--preserve-fds")
                .arg(stdio.preserve_fds.to_string());
        }
        cmd.arg(id);
        // The container's init inherits the runtime's stdio.
        self.run_with_stdio("create", id, cmd, stdio, &log, &pid_file)
    }

    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        check_id(id)?;
        let mut cmd = self.command();
        cmd.arg("start").arg(id);
        self.run("start", id, cmd).map(drop)
    }

    fn state(&self, id: &str) -> Result<State, RuntimeError> {
        check_id(id)?;
        let mut cmd = self.command();
        cmd.arg("state").arg(id);
        let out = self.run("state", id, cmd)?;
        let mut st: State =
            serde_json::from_slice(&out.stdout).map_err(|e| RuntimeError::BadOutput {
                runtime: self.path.clone(),
                op: "state",
                id: id.to_string(),
                detail: e.to_string(),
            })?;
        // runc prints pid 0 for a stopped container.
        st.pid = st.pid.filter(|p| *p > 0);
        Ok(st)
    }

    fn kill(&self, id: &str, signal: i32) -> Result<(), RuntimeError> {
        check_id(id)?;
        if !(1..=64).contains(&signal) {
            return Err(RuntimeError::BadSignal(signal));
        }
        let mut cmd = self.command();
        cmd.arg("kill").arg(id).arg(signal.to_string());
        self.run("kill", id, cmd).map(drop)
    }

    fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        check_id(id)?;
        let mut cmd = self.command();
        cmd.arg("delete");
        if force {
            cmd.arg("--force");
        }
        cmd.arg(id);
        self.run("delete", id, cmd).map(drop)
    }

    /// `exec --detach`: the runtime returns once the process runs and
    /// leaves it orphaned, so the caller is made a child subreaper to
    /// receive it (as podman's conmon is).
    fn exec(
        &self,
        id: &str,
        process: &oci_spec::runtime::Process,
        stdio: Stdio,
        console_socket: Option<&Path>,
    ) -> Result<i32, RuntimeError> {
        check_id(id)?;
        super::set_child_subreaper()?;
        super::with_exec_process_file(&self.root, id, process, |file| {
            self.run_exec(id, file, stdio, console_socket)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_reduced_to_errors() {
        let log = "{\"level\":\"info\",\"msg\":\"hello\"}\n{\"level\":\"error\",\"msg\":\"exec failed\"}\nplain text\n";
        assert_eq!(log_errors(log), "exec failed; plain text");
    }

    #[test]
    fn missing_binary_is_a_spawn_error() {
        let r = ExternalRuntime::new("/nonexistent/runc", "/tmp/x");
        assert!(matches!(r.start("abc"), Err(RuntimeError::Spawn { .. })));
        assert!(matches!(r.kill("abc", 0), Err(RuntimeError::BadSignal(0))));
        assert!(matches!(
            r.state("a/b"),
            Err(RuntimeError::InvalidId { .. })
        ));
    }

    #[test]
    fn failures_map_to_typed_errors() {
        // Canned failures stand in for a runtime's.
        let r = ExternalRuntime::new("sh", "/tmp/x");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'container \"abc\" does not exist' >&2; exit 1"]);
        assert!(matches!(
            r.run("state", "abc", cmd),
            Err(RuntimeError::NotFound { .. })
        ));
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo boom >&2; exit 3"]);
        match r.run("start", "abc", cmd) {
            Err(RuntimeError::Command { message, .. }) => assert_eq!(message, "boom"),
            other => panic!("{other:?}"),
        }
    }
}

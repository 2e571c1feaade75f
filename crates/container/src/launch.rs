//! Starting containers: each runs under its own monitor process (see
//! [`crate::monitor`]), started from the hoist binary as
//! `hoist container-monitor ID`, so that it is single threaded when the
//! runtime forks and outlives the front end that started it.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{io_err, ContainerError, Result};
use crate::monitor::{read_report, MonitorMode};
use crate::store::Containers;

/// How to start a monitor process.
#[derive(Debug, Clone)]
pub struct MonitorLauncher {
    /// The hoist binary (it has the hidden `container-monitor` command).
    pub exe: PathBuf,
    /// The monitor's `--log-level` (`warn`, `debug`...).
    pub log_level: String,
}

impl MonitorLauncher {
    pub fn new(exe: impl Into<PathBuf>, log_level: impl Into<String>) -> MonitorLauncher {
        MonitorLauncher {
            exe: exe.into(),
            log_level: log_level.into(),
        }
    }

    /// The command line of the monitor of container `id`.
    fn command(&self, cs: &Containers, id: &str, attach: bool) -> Command {
        self.command_with(cs, id, attach, MonitorMode::default())
    }

    /// [`Self::command`], passing the streams `mode` mutes on.
    fn command_with(&self, cs: &Containers, id: &str, attach: bool, mode: MonitorMode) -> Command {
        let mut cmd = Command::new(&self.exe);
        // libcontainer warns about every cgroup controller the host lacks.
        cmd.arg("--root")
            .arg(cs.root())
            .arg("--log-level")
            .arg(format!(
                "{},libcgroups=error,libcontainer=error",
                self.log_level
            ))
            // The same event backend as ours.
            .args(hoist_events::child_flags())
            .arg("container-monitor")
            .arg(if attach { "--attach" } else { "--detached" });
        if mode.mute_stdout {
            cmd.arg("--mute-stdout");
        }
        if mode.mute_stderr {
            cmd.arg("--mute-stderr");
        }
        if mode.after_gate {
            cmd.arg("--after-gate");
        }
        cmd.arg(id);
        cmd
    }

    /// Starts a detached monitor for container `id` and waits until the
    /// container runs; the monitor's own log goes to `monitor.log` in the
    /// container directory.
    pub fn start_detached(&self, cs: &Containers, id: &str) -> Result<()> {
        self.launch_detached(cs, id)?.wait()
    }

    /// Starts the detached monitors of `ids` one after the other without
    /// waiting, then waits for each: their containers start together. The
    /// first failure is returned once every one has reported.
    pub fn start_all_detached<'a>(
        &self,
        cs: &Containers,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<()> {
        let launched: Vec<Result<PendingStart>> = ids
            .into_iter()
            .map(|id| self.launch_detached(cs, id))
            .collect();
        PendingStart::wait_all(launched)
    }

    /// Starts the detached monitor of container `id`; its start is
    /// reported to [`PendingStart::wait`].
    pub fn launch_detached(&self, cs: &Containers, id: &str) -> Result<PendingStart> {
        self.launch(cs, id, None)
    }

    /// [`Self::launch_detached`] for a container that cannot start before
    /// something else runs: its monitor starts up now and waits for
    /// `gate` to open before it touches the container.
    pub fn launch_detached_gated(
        &self,
        cs: &Containers,
        id: &str,
        gate: &StartGate,
    ) -> Result<PendingStart> {
        self.launch(cs, id, Some(gate))
    }

    fn launch(&self, cs: &Containers, id: &str, gate: Option<&StartGate>) -> Result<PendingStart> {
        self.start_required(cs, id)?;
        let log_path = cs.dir_of(id).join("monitor.log");
        let log = std::fs::File::create(&log_path).map_err(io_err("creating", &log_path))?;
        let (mode, stdin) = match gate {
            None => (MonitorMode::default(), Stdio::null()),
            Some(gate) => (
                MonitorMode {
                    after_gate: true,
                    ..MonitorMode::default()
                },
                gate.reader()?,
            ),
        };
        let mut child = self
            .command_with(cs, id, false, mode)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(io_err("starting the container monitor", &self.exe))?;
        let report = child.stdout.take().expect("stdout is piped");
        // The monitor lives on; it is reaped by init once we exit.
        drop(child);
        Ok(PendingStart(report.into()))
    }

    /// Runs container `id` under a child monitor attached to this
    /// process's stdout and stderr (its stdin is empty) and returns its
    /// exit code: for a front end that goes on after the container ends
    /// (`build` runs one container per `RUN`), whatever its threads.
    pub fn run_to_exit(&self, cs: &Containers, id: &str) -> Result<i32> {
        self.run_child(cs, id, Stdio::null())
    }

    /// [`Self::run_to_exit`], the container reading this process's stdin
    /// (it must be `interactive`, without a terminal): `build --stdin`.
    pub fn run_to_exit_reading_stdin(&self, cs: &Containers, id: &str) -> Result<i32> {
        self.run_child(cs, id, Stdio::inherit())
    }

    fn run_child(&self, cs: &Containers, id: &str, stdin: Stdio) -> Result<i32> {
        self.start_required(cs, id)?;
        let status = self
            .command(cs, id, true)
            .stdin(stdin)
            .status()
            .map_err(io_err("running the container monitor", &self.exe))?;
        // A monitor killed by a signal reports no code: podman's 125 +
        // signal convention is the container's own, so say "unknown".
        Ok(status.code().unwrap_or(crate::EXIT_UNKNOWN))
    }

    /// `--requires`: starts the containers `id` depends on that are not
    /// running (and, first, theirs).
    fn start_required(&self, cs: &Containers, id: &str) -> Result<()> {
        // One that cannot be read is the monitor's to report.
        let Ok(c) = cs.load(id) else {
            return Ok(());
        };
        for name in &c.config.options.run_flags.requires {
            let dep = crate::run_flags::required(cs, name)?;
            if !dep.status().is_active() {
                self.start_detached(cs, dep.id())?;
            }
        }
        Ok(())
    }

    /// Makes this process the attached monitor of container `id`, keeping
    /// its pid and stdio, and returns the container's exit code: in this
    /// process when it is single-threaded (the runtime forks, which is safe
    /// only then), else by exec'ing a fresh monitor (then it returns only
    /// on failure). The first saves a second start-up of the binary on
    /// every foreground `run`.
    pub fn run_attached(&self, cs: &Containers, id: &str) -> Result<i32> {
        self.run_attached_muting(cs, id, false, false)
    }

    /// [`Self::run_attached`], not copying the container's stdout or
    /// stderr where asked (`run --attach`).
    pub fn run_attached_muting(
        &self,
        cs: &Containers,
        id: &str,
        mute_stdout: bool,
        mute_stderr: bool,
    ) -> Result<i32> {
        self.start_required(cs, id)?;
        let mode = MonitorMode {
            attach: true,
            detached: false,
            mute_stdout,
            mute_stderr,
            ..MonitorMode::default()
        };
        if is_single_threaded() {
            return Ok(crate::monitor::run(cs, id, mode));
        }
        let err = self.command_with(cs, id, true, mode).exec();
        Err(io_err("running the container monitor", &self.exe)(err))
    }
}

/// A go-ahead for monitors launched before what their containers need
/// runs (a pod's members, before its infra container does), so that their
/// start-up overlaps its start: each gets the reading end of a pipe as
/// stdin and waits for a byte of its own. Dropped unopened (the infra container
/// failed, or the front end died), the pipe just closes and the monitors
/// leave their containers untouched.
#[derive(Debug)]
pub struct StartGate {
    read: std::os::fd::OwnedFd,
    write: std::os::fd::OwnedFd,
    /// Monitors given the reading end: each takes one byte.
    readers: std::cell::Cell<usize>,
}

impl StartGate {
    pub fn new() -> Result<StartGate> {
        // Close-on-exec: no other child may hold the writing end open.
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| io_err("creating a pipe", "start gate")(e.into()))?;
        Ok(StartGate {
            read,
            write,
            readers: std::cell::Cell::new(0),
        })
    }

    fn reader(&self) -> Result<Stdio> {
        let fd = self
            .read
            .try_clone()
            .map_err(io_err("duplicating", "start gate"))?;
        self.readers.set(self.readers.get() + 1);
        Ok(Stdio::from(fd))
    }

    /// Lets every monitor waiting on the gate go on: one byte each (far
    /// below a pipe's capacity).
    pub fn open(self) {
        // A monitor that is gone cannot read it; nothing to report then.
        let _ = rustix::io::write(&self.write, &vec![b'1'; self.readers.get()]);
    }

    /// In a gated monitor: whether the gate opened. Stdin is /dev/null
    /// afterwards, as for any detached monitor.
    pub(crate) fn wait_in_monitor() -> bool {
        let mut byte = [0u8; 1];
        let opened =
            matches!(rustix::io::read(std::io::stdin(), &mut byte), Ok(1) if byte[0] == b'1');
        if let Ok(null) = std::fs::File::open("/dev/null") {
            let _ = rustix::stdio::dup2_stdin(std::os::fd::AsFd::as_fd(&null));
        }
        opened
    }
}

/// A detached monitor started and not yet heard from: the reading end of
/// the pipe its report comes through.
#[derive(Debug)]
pub struct PendingStart(std::os::fd::OwnedFd);

impl PendingStart {
    /// Waits for every monitor `launched` (a launch that failed counts as
    /// its report); the first failure once all have reported.
    pub fn wait_all(launched: Vec<Result<PendingStart>>) -> Result<()> {
        let reports: Vec<Result<()>> = launched
            .into_iter()
            .map(|l| l.and_then(PendingStart::wait))
            .collect();
        reports.into_iter().find(|r| r.is_err()).unwrap_or(Ok(()))
    }

    /// Waits until the monitor reports that its container runs, or why
    /// it could not start it.
    pub fn wait(self) -> Result<()> {
        let report = read_report(std::fs::File::from(self.0));
        if report.code != 0 {
            return Err(ContainerError::StartFailed {
                code: report.code,
                message: report
                    .error
                    .unwrap_or_else(|| "the container did not start".into()),
            });
        }
        Ok(())
    }
}

/// Whether this process has one thread (a pull, for one, leaves worker
/// threads behind).
pub fn is_single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_command_line() {
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let l = MonitorLauncher::new("/usr/bin/hoist", "debug");
        let cmd = l.command(&cs, "abc", false);
        assert_eq!(cmd.get_program(), "/usr/bin/hoist");
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--root",
                &cs.root().to_string_lossy(),
                "--log-level",
                "debug,libcgroups=error,libcontainer=error",
                "container-monitor",
                "--detached",
                "abc"
            ]
        );
        assert!(l
            .command(&cs, "abc", true)
            .get_args()
            .any(|a| a == "--attach"));
    }

    #[test]
    fn a_monitor_that_reports_nothing_is_a_failed_start() {
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        std::fs::create_dir_all(cs.dir_of("abc")).unwrap();
        // `true` exits at once without a report.
        let l = MonitorLauncher::new("/bin/true", "warn");
        let e = l.start_detached(&cs, "abc").unwrap_err();
        assert_eq!(e.exit_code(), crate::EXIT_ENGINE);
        assert!(e.to_string().contains("without reporting"), "{e}");
        assert!(cs.dir_of("abc").join("monitor.log").exists());
    }
}

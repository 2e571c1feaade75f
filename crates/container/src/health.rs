//! Healthchecks as podman 4.3 has them: a command run in the container
//! (like `exec`) by `healthcheck run` and, every interval, by a timer
//! process the container's monitor starts with the container (podman
//! uses systemd timers; hoist has no daemon). Each run is logged in the
//! container's state (at most [`MAX_LOG`] entries), counted towards the
//! `unhealthy` status, reported as a `health_status` event, and may
//! trigger the `--health-on-failure` action.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio as ProcStdio};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use hoist_runtime::executor::{wait_exit, Stdio};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{io_err, ContainerError, Result};
use crate::exec::ExecOptions;
use crate::record::{Container, Status};
use crate::store::Containers;

/// podman keeps this many results.
pub const MAX_LOG: usize = 5;
/// podman keeps this much of a check's output.
const MAX_OUTPUT: usize = 500;
const SECOND: u64 = 1_000_000_000;
/// podman's defaults.
const DEFAULT_INTERVAL: u64 = 30 * SECOND;
const DEFAULT_TIMEOUT: u64 = 30 * SECOND;
const DEFAULT_RETRIES: u32 = 3;

/// The statuses, with podman's names.
pub const STARTING: &str = "starting";
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";

/// A container's healthcheck, as docker's image config and podman's
/// `inspect` (`.Config.Healthcheck`) have it: durations in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["CMD", arg...]`, `["CMD-SHELL", "command line"]`.
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: u64,
    /// 0: no timer (checks run only on `healthcheck run`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: u64,
    #[serde(default)]
    pub timeout: u64,
    #[serde(default)]
    pub retries: u32,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl HealthConfig {
    /// The command line to run, or `None` for `NONE` (no healthcheck).
    pub fn command(&self) -> Option<Vec<String>> {
        let (kind, rest) = self.test.split_first()?;
        match kind.as_str() {
            "CMD" if !rest.is_empty() => Some(rest.to_vec()),
            "CMD-SHELL" if !rest.is_empty() => {
                Some(vec!["/bin/sh".into(), "-c".into(), rest.join(" ")])
            }
            _ => None,
        }
    }
}

/// `--health-on-failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    #[default]
    None,
    Kill,
    Restart,
    Stop,
}

impl OnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::None => "none",
            OnFailure::Kill => "kill",
            OnFailure::Restart => "restart",
            OnFailure::Stop => "stop",
        }
    }
}

impl std::str::FromStr for OnFailure {
    type Err = ContainerError;
    fn from_str(s: &str) -> Result<OnFailure> {
        Ok(match s {
            "none" => OnFailure::None,
            "kill" => OnFailure::Kill,
            "restart" => OnFailure::Restart,
            "stop" => OnFailure::Stop,
            _ => {
                return Err(ContainerError::Invalid(format!(
                    "invalid on-failure action \"{s}\" for health check: supported actions are none,kill,restart,stop"
                )))
            }
        })
    }
}

/// The `--health-*` flags as given (strings as the user wrote them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthRequest {
    pub cmd: Option<String>,
    pub interval: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
    pub timeout: Option<String>,
    /// `--no-healthcheck`.
    pub disabled: bool,
}

/// Parses a Go duration: `30s`, `1m30s`, `500ms`, `0`.
pub fn parse_duration(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Some(total as u64)
}

/// Go's way of printing a duration, for messages: `1s`, `1m30s`, `500ms`.
pub fn format_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if ns < SECOND {
        return format!("{}ms", ns / 1_000_000);
    }
    let secs = ns / SECOND;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

fn bad(msg: impl Into<String>) -> ContainerError {
    ContainerError::Invalid(msg.into())
}

/// `--health-cmd` to a test: a JSON array as given (`CMD` added when it
/// does not name its kind), anything else a shell command line; `none`
/// means no healthcheck.
fn test_of(cmd: &str) -> Result<Vec<String>> {
    if cmd.eq_ignore_ascii_case("none") {
        return Ok(vec!["NONE".into()]);
    }
    if cmd.trim_start().starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(cmd) {
            if v.is_empty() {
                return Err(bad("--health-cmd: the command array is empty"));
            }
            return Ok(match v[0].as_str() {
                "CMD" | "CMD-SHELL" | "NONE" => v,
                _ => std::iter::once("CMD".to_string()).chain(v).collect(),
            });
        }
    }
    if cmd.is_empty() {
        return Err(bad("--health-cmd: must not be empty"));
    }
    Ok(vec!["CMD-SHELL".into(), cmd.to_string()])
}

fn flag_duration(flag: &str, v: &str) -> Result<u64> {
    if v.starts_with('-') {
        return Err(bad(format!("{flag} must be 0 seconds or greater")));
    }
    parse_duration(v).ok_or_else(|| {
        bad(format!(
            "invalid {flag} {v:?}: give a duration such as 30s, 1m or 500ms"
        ))
    })
}

/// The image's HEALTHCHECK (docker's `config.Healthcheck`), if any.
fn image_healthcheck(image_config: &[u8]) -> Option<HealthConfig> {
    let v: serde_json::Value = serde_json::from_slice(image_config).ok()?;
    serde_json::from_value(v.get("config")?.get("Healthcheck")?.clone()).ok()
}

/// The container's healthcheck: `--health-cmd` with the other flags, else
/// the image's with the flags given overriding it; `None` with
/// `--no-healthcheck`, `--health-cmd none`, or neither.
pub fn resolve(req: Option<&HealthRequest>, image_config: &[u8]) -> Result<Option<HealthConfig>> {
    let default = HealthRequest::default();
    let req = req.unwrap_or(&default);
    if req.disabled {
        return Ok(None);
    }
    let mut hc = match &req.cmd {
        Some(cmd) => HealthConfig {
            test: test_of(cmd)?,
            interval: 0,
            timeout: 0,
            start_period: 0,
            retries: 0,
        },
        None => match image_healthcheck(image_config) {
            Some(hc) => hc,
            None => return Ok(None),
        },
    };
    if hc.command().is_none() {
        return Ok(None);
    }
    match req.interval.as_deref() {
        Some("disable") => hc.interval = 0,
        Some(v) => hc.interval = flag_duration("healthcheck-interval", v)?,
        None if hc.interval == 0 => hc.interval = DEFAULT_INTERVAL,
        None => {}
    }
    if let Some(v) = &req.timeout {
        hc.timeout = flag_duration("healthcheck-timeout", v)?;
    } else if hc.timeout == 0 {
        hc.timeout = DEFAULT_TIMEOUT;
    }
    if let Some(v) = &req.start_period {
        hc.start_period = flag_duration("healthcheck-start-period", v)?;
    }
    match req.retries {
        Some(0) => return Err(bad("healthcheck-retries must be greater than 0")),
        Some(n) => hc.retries = n,
        None if hc.retries == 0 => hc.retries = DEFAULT_RETRIES,
        None => {}
    }
    Ok(Some(hc))
}

/// Checks the health options of a new container (podman refuses an
/// on-failure action without a healthcheck).
pub(crate) fn check_options(o: &crate::options::CreateOptions) -> Result<()> {
    if o.healthcheck.is_none() && o.health_on_failure != OnFailure::None {
        return Err(bad(format!(
            "cannot set on-failure action to {} without a health check",
            o.health_on_failure.as_str()
        )));
    }
    Ok(())
}

/// One check's result, as `inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthLog {
    pub start: String,
    pub end: String,
    pub exit_code: i32,
    pub output: String,
}

/// `.State.Health`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthState {
    /// Empty before the first start, then starting, healthy or unhealthy.
    pub status: String,
    pub failing_streak: u32,
    /// Oldest first; `null` when empty, as podman prints it.
    #[serde(
        serialize_with = "null_if_empty",
        deserialize_with = "empty_if_null",
        default
    )]
    pub log: Vec<HealthLog>,
}

fn empty_if_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<HealthLog>, D::Error> {
    Ok(Option::<Vec<HealthLog>>::deserialize(d)?.unwrap_or_default())
}

fn null_if_empty<S: Serializer>(log: &[HealthLog], s: S) -> std::result::Result<S::Ok, S::Error> {
    if log.is_empty() {
        s.serialize_none()
    } else {
        s.collect_seq(log)
    }
}

impl HealthState {
    /// Adds a result: success makes it healthy; failures outside the
    /// start period count, `retries` of them in a row make it unhealthy.
    fn record(&mut self, entry: HealthLog, retries: u32, in_start_period: bool) {
        if entry.exit_code == 0 {
            self.failing_streak = 0;
            self.status = HEALTHY.into();
        } else if !in_start_period {
            self.failing_streak += 1;
            if self.failing_streak >= retries {
                self.status = UNHEALTHY.into();
            }
        }
        if self.status.is_empty() {
            self.status = STARTING.into();
        }
        self.log.push(entry);
        let extra = self.log.len().saturating_sub(MAX_LOG);
        self.log.drain(..extra);
    }
}

impl Container {
    /// The health status (`starting`, `healthy`, `unhealthy`), if the
    /// container has a healthcheck and has started.
    pub fn health_status(&self) -> Option<&str> {
        self.config.options.healthcheck.as_ref()?;
        let s = self.state.health.as_ref()?.status.as_str();
        (!s.is_empty()).then_some(s)
    }

    /// `.State.Health` for `inspect` (podman shows it, empty, for a
    /// container without a healthcheck too).
    pub fn health_state(&self) -> HealthState {
        match &self.config.options.healthcheck {
            Some(_) => self.state.health.clone().unwrap_or_default(),
            None => HealthState::default(),
        }
    }
}

/// The outcome of `healthcheck run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// The check command's exit code.
    pub exit_code: i32,
    /// The container's health status after it.
    pub status: String,
}

impl CheckOutcome {
    pub fn healthy(&self) -> bool {
        self.exit_code == 0
    }
}

/// Errors `healthcheck run` reports with podman's words.
fn no_healthcheck(c: &Container) -> ContainerError {
    ContainerError::Invalid(format!("container {} has no defined healthcheck", c.id()))
}

/// Runs the healthcheck of running container `c` once, records it, and
/// takes the on-failure action when it made the container unhealthy.
pub fn run_check(cs: &Containers, c: &Container) -> Result<CheckOutcome> {
    let hc = c
        .config
        .options
        .healthcheck
        .clone()
        .ok_or_else(|| no_healthcheck(c))?;
    let command = hc.command().ok_or_else(|| no_healthcheck(c))?;
    if c.status() != Status::Running {
        return Err(ContainerError::Invalid(format!(
            "container {} is not running",
            c.id()
        )));
    }
    let start = Utc::now();
    let timeout = if hc.timeout == 0 {
        DEFAULT_TIMEOUT
    } else {
        hc.timeout
    };
    let (exit_code, output) = exec_captured(c, command, Duration::from_nanos(timeout));
    let end = Utc::now();
    let in_start_period = c.state.started_at.is_some_and(|t| {
        (start - t).num_nanoseconds().unwrap_or(i64::MAX) < hc.start_period as i64
    });
    let entry = HealthLog {
        start: rfc3339_nano(start),
        end: rfc3339_nano(end),
        exit_code,
        output,
    };
    let st = cs.update_state(c.id(), |s| {
        s.health.get_or_insert_with(HealthState::default).record(
            entry,
            hc.retries.max(1),
            in_start_period,
        );
    })?;
    let status = st.health.map(|h| h.status).unwrap_or_default();
    // containers.conf's `healthcheck_events = false` keeps them out of the log.
    let events_on = hoist_config::ContainersConf::load()
        .map(|conf| conf.engine().healthcheck_events())
        .unwrap_or(true);
    if events_on {
        crate::events::health_status(c, &status);
    }
    if exit_code != 0 && status == UNHEALTHY {
        on_failure(cs, c)?;
    }
    Ok(CheckOutcome { exit_code, status })
}

/// `--health-on-failure`: what an unhealthy container has done to it.
fn on_failure(cs: &Containers, c: &Container) -> Result<()> {
    const SIGKILL: i32 = 9;
    match c.config.options.health_on_failure {
        OnFailure::None => Ok(()),
        OnFailure::Kill => {
            crate::lifecycle::kill(cs, c, SIGKILL)?;
            // As podman: once this returns, the container is no longer running.
            crate::lifecycle::wait_stopped(cs, c.id(), Some(Duration::from_secs(30)))?;
            Ok(())
        }
        OnFailure::Stop => crate::lifecycle::stop(cs, c, None),
        OnFailure::Restart => {
            // The monitor starts it again (see `health_restart`); wait
            // for that, so that the caller sees it running again.
            let before = c.state.started_at;
            cs.update_state(c.id(), |s| s.health_restart = true)?;
            if let Some(pid) = c.state.pid {
                crate::lifecycle::send_signal(pid, SIGKILL)?;
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                let now = cs.load(c.id())?;
                let restarted = now.status() == Status::Running && now.state.started_at != before;
                if restarted || !now.monitor_alive() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(())
        }
    }
}

/// A time as Go's RFC3339Nano prints it (podman's log times): the
/// fraction without trailing zeros.
fn rfc3339_nano(t: chrono::DateTime<Utc>) -> String {
    let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let (main, _) = s.split_once('Z').unwrap_or((&s, ""));
    let trimmed = main.trim_end_matches('0').trim_end_matches('.');
    format!("{trimmed}Z")
}

/// Runs `command` in `c` with its output (stdout and stderr together)
/// captured; kills it after `timeout`. Returns the exit code and output
/// (a failure to run it is exit code 125/126/127 with the reason).
fn exec_captured(c: &Container, command: Vec<String>, timeout: Duration) -> (i32, String) {
    match try_exec_captured(c, command, timeout) {
        Ok(r) => r,
        Err(e) => (e.exit_code(), e.to_string()),
    }
}

fn try_exec_captured(
    c: &Container,
    command: Vec<String>,
    timeout: Duration,
) -> Result<(i32, String)> {
    let opts = ExecOptions {
        command,
        ..ExecOptions::default()
    };
    let process = crate::exec::prepared_process(c, &opts)?;
    let null: OwnedFd = std::fs::File::open("/dev/null")
        .map_err(io_err("opening", "/dev/null"))?
        .into();
    let (r, w) = std::io::pipe().map_err(io_err("creating", "a pipe"))?;
    let w: OwnedFd = w.into();
    let w2 = w.try_clone().map_err(io_err("duplicating", "a pipe"))?;
    let rt = crate::monitor::runtime_of(c);
    crate::userns::enter_for_exec(c)?;
    let pid = rt.exec(c.id(), &process, Stdio::new(null, w, w2), None)?;
    let deadline = Instant::now() + timeout;
    let (mut output, timed_out) = read_until(r.as_fd(), deadline);
    if timed_out {
        let _ = crate::lifecycle::send_signal(pid, 9);
    }
    let status = wait_exit(pid)?;
    if timed_out {
        return Ok((
            1,
            format!(
                "healthcheck command exceeded timeout of {}",
                format_duration(timeout.as_nanos() as u64)
            ),
        ));
    }
    while output.ends_with('\n') {
        output.pop();
    }
    if output.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !output.is_char_boundary(cut) {
            cut -= 1;
        }
        output.truncate(cut);
    }
    Ok((status.code(), output))
}

/// Reads `fd` to its end or the deadline; the text and whether the
/// deadline came first.
fn read_until(fd: std::os::fd::BorrowedFd<'_>, deadline: Instant) -> (String, bool) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&out).into_owned(), true);
        }
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => continue,
            Ok(_) => match rustix::io::read(fd, &mut buf) {
                Ok(0) => return (String::from_utf8_lossy(&out).into_owned(), false),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => {}
                Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
            },
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

/// The timer of a started container: a `hoist healthcheck-timer ID`
/// process, killed when dropped (by the monitor, once the container has
/// exited).
pub(crate) struct Timer {
    child: Child,
}

impl Timer {
    /// Marks `c` as starting and, when its healthcheck has an interval,
    /// starts its timer process. Failing to start the timer is logged,
    /// not fatal: the container runs, and `healthcheck run` still works.
    pub(crate) fn start(cs: &Containers, c: &Container) -> Option<Timer> {
        let hc = c.config.options.healthcheck.as_ref()?;
        let _ = cs.update_state(c.id(), |s| {
            let h = s.health.get_or_insert_with(HealthState::default);
            h.status = STARTING.into();
            h.failing_streak = 0;
        });
        if hc.interval == 0 {
            return None;
        }
        let spawned = Command::new("/proc/self/exe")
            .arg("--root")
            .arg(cs.root())
            .arg("healthcheck-timer")
            .arg(c.id())
            .stdin(ProcStdio::null())
            .stdout(ProcStdio::null())
            .stderr(ProcStdio::null())
            .spawn();
        match spawned {
            Ok(child) => Some(Timer { child }),
            Err(e) => {
                tracing::warn!(error = %e, container = crate::short_id(c.id()), "cannot start the healthcheck timer");
                None
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The timer process: runs the healthcheck of container `id` every
/// interval while this start of it runs. Returns the process exit code.
pub fn run_timer(root: &Path, id: &str) -> Result<i32> {
    let cs = Containers::open(root)?;
    let c = cs.load(id)?;
    let Some(hc) = c.config.options.healthcheck.clone() else {
        return Ok(0);
    };
    if hc.interval == 0 {
        return Ok(0);
    }
    let started = c.state.started_at;
    let interval = Duration::from_nanos(hc.interval);
    let mut next = Instant::now() + interval;
    loop {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next += interval;
        let c = match cs.load(id) {
            Ok(c) => c,
            Err(_) => return Ok(0),
        };
        if c.status() != Status::Running || c.state.started_at != started {
            return Ok(0);
        }
        if let Err(e) = run_check(&cs, &c) {
            tracing::warn!(error = %e, container = crate::short_id(id), "healthcheck");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("30s"), Some(30 * SECOND));
        assert_eq!(parse_duration("1m30s"), Some(90 * SECOND));
        assert_eq!(parse_duration("500ms"), Some(SECOND / 2));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("x"), None);
        assert_eq!(format_duration(90 * SECOND), "1m30s");
    }

    #[test]
    fn flags_make_a_healthcheck() {
        let req = HealthRequest {
            cmd: Some("/healthcheck".into()),
            interval: Some("1s".into()),
            ..HealthRequest::default()
        };
        let hc = resolve(Some(&req), b"{}").unwrap().unwrap();
        assert_eq!(hc.test, vec!["CMD-SHELL", "/healthcheck"]);
        assert_eq!(
            (hc.interval, hc.timeout, hc.retries),
            (SECOND, 30 * SECOND, 3)
        );
        let req = HealthRequest {
            cmd: Some(r#"["ls","/"]"#.into()),
            ..HealthRequest::default()
        };
        let hc = resolve(Some(&req), b"{}").unwrap().unwrap();
        assert_eq!(hc.command().unwrap(), vec!["ls", "/"]);
        let req = HealthRequest {
            cmd: Some("none".into()),
            ..HealthRequest::default()
        };
        assert_eq!(resolve(Some(&req), b"{}").unwrap(), None);
    }

    #[test]
    fn image_healthcheck_is_the_default_and_flags_override_it() {
        let img = br#"{"config":{"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":2}}}"#;
        let hc = resolve(None, img).unwrap().unwrap();
        assert_eq!(
            (hc.interval, hc.retries, hc.timeout),
            (5 * SECOND, 2, 30 * SECOND)
        );
        let req = HealthRequest {
            retries: Some(7),
            ..HealthRequest::default()
        };
        assert_eq!(resolve(Some(&req), img).unwrap().unwrap().retries, 7);
        let off = HealthRequest {
            disabled: true,
            ..HealthRequest::default()
        };
        assert_eq!(resolve(Some(&off), img).unwrap(), None);
    }

    #[test]
    fn log_times_print_as_go_prints_them() {
        use chrono::TimeZone;
        let t = Utc.with_ymd_and_hms(2026, 12, 4, 21, 0, 5).unwrap();
        assert_eq!(rfc3339_nano(t), "2026-12-04T21:00:05Z");
        let t = t + chrono::Duration::nanoseconds(120_000_000);
        assert_eq!(rfc3339_nano(t), "2026-12-04T21:00:05.12Z");
    }

    #[test]
    fn an_empty_log_round_trips_as_null() {
        let h = HealthState::default();
        let text = serde_json::to_string(&h).unwrap();
        assert!(text.contains(r#""Log":null"#), "{text}");
        assert_eq!(serde_json::from_str::<HealthState>(&text).unwrap(), h);
    }

    #[test]
    fn failures_count_towards_unhealthy() {
        let log = |code| HealthLog {
            start: String::new(),
            end: String::new(),
            exit_code: code,
            output: String::new(),
        };
        let mut h = HealthState::default();
        h.record(log(0), 2, false);
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 0));
        h.record(log(1), 2, false);
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 1));
        h.record(log(1), 2, false);
        assert_eq!((h.status.as_str(), h.failing_streak), (UNHEALTHY, 2));
        for _ in 0..5 {
            h.record(log(1), 2, true);
        }
        assert_eq!((h.log.len(), h.failing_streak), (MAX_LOG, 2));
    }
}

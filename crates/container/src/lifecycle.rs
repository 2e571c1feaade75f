//! Operations on containers from any process: stop, kill, remove, wait,
//! pause, and the recovery of containers whose monitor died.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::error::{ContainerError, Result};
use crate::lock::Lock;
use crate::monitor::runtime_of;
use crate::netsetup;
use crate::record::{Container, Status};
use crate::store::{Containers, MONITOR_LOCK};

/// podman's default `stop` timeout.
pub const DEFAULT_STOP_TIMEOUT: u64 = 10;

fn signal(sig: i32) -> Result<Signal> {
    Signal::try_from(sig).map_err(|_| ContainerError::Invalid(format!("invalid signal {sig}")))
}

/// Parses a signal name (`TERM`, `SIGKILL`) or number.
pub fn parse_signal(s: &str) -> Result<i32> {
    hoist_runtime::oci_cli::parse_signal(s).map_err(|_| {
        ContainerError::Invalid(format!(
            "invalid signal {s:?}: use a name like TERM or KILL, or a number"
        ))
    })
}

/// Cleans up after a monitor that died with the container active: kills
/// what is left of the container, tears down its network, unmounts its
/// root filesystem and marks it exited. Does nothing for a container whose
/// monitor lives or which left nothing behind.
///
/// The caller must hold the container's monitor lock (so no monitor lives).
pub(crate) fn recover(cs: &Containers, c: &Container) -> Result<()> {
    let st = &c.state;
    let leftovers = st.status.is_active() || st.mounted || st.netns.is_some() || st.pid.is_some();
    if !leftovers {
        return Ok(());
    }
    tracing::info!(id = c.id(), "cleaning up after a dead monitor");
    kill_cgroup(c.id());
    let rt = runtime_of(c);
    let _ = rt.delete(c.id(), true);
    netsetup::teardown(st.netns.as_deref(), st.network_request.as_ref());
    unmount_rootfs(c)?;
    let was_active = st.status.is_active();
    cs.update_state(c.id(), |s| {
        if was_active {
            s.status = Status::Exited;
            s.exit_code = s.exit_code.or(Some(crate::EXIT_UNKNOWN));
            s.finished_at = s.finished_at.or(Some(chrono::Utc::now()));
        }
        s.pid = None;
        s.mounted = false;
        s.netns = None;
        s.network_request = None;
    })?;
    Ok(())
}

/// Removes a container that is not running (cleaning up after a dead
/// monitor first).
///
/// The caller must hold the container's monitor lock.
pub(crate) fn remove_stopped(cs: &Containers, c: &Container) -> Result<()> {
    recover(cs, c)?;
    // Never delete the record of a container whose files are still mounted.
    unmount_rootfs(c)?;
    cs.delete_record(c)
}

/// Unmounts the root filesystem if it is mounted, lazily if it is busy,
/// and detaches lazy layers a dead server left mounted.
pub(crate) fn unmount_rootfs(c: &Container) -> Result<()> {
    let rootfs = c.rootfs();
    let result = unmount_overlay(&rootfs);
    if let Ok(entries) = std::fs::read_dir(c.lazy_mount_root()) {
        for e in entries.flatten() {
            hoist_lazy::serve::unmount_stale(&e.path());
        }
    }
    result
}

fn unmount_overlay(rootfs: &std::path::Path) -> Result<()> {
    if hoist_runtime::rootfs::unmount(rootfs).is_ok() {
        return Ok(());
    }
    match rustix::mount::unmount(rootfs, rustix::mount::UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(crate::error::io_err("unmounting", rootfs)(e.into())),
    }
}

/// SIGKILLs every process in the container's cgroup (what is left after
/// its monitor died: no one else will reap or stop them).
fn kill_cgroup(id: &str) {
    let cg = hoist_runtime::spec::default_cgroups_path(id);
    let files = [
        format!("/sys/fs/cgroup/pids{cg}/cgroup.procs"),
        format!("/sys/fs/cgroup/memory{cg}/cgroup.procs"),
        format!("/sys/fs/cgroup/cpu,cpuacct{cg}/cgroup.procs"),
        format!("/sys/fs/cgroup{cg}/cgroup.procs"),
    ];
    for _ in 0..50 {
        let pids: Vec<i32> = files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .flat_map(|t| {
                t.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect();
        if pids.is_empty() {
            return;
        }
        for p in pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `sig` to the container's init process.
pub fn kill(cs: &Containers, c: &Container, sig: i32) -> Result<()> {
    let status = c.status();
    if !matches!(status, Status::Running | Status::Stopping | Status::Paused) {
        return Err(ContainerError::BadState {
            id: crate::short_id(c.id()).into(),
            status: status.to_string(),
            op: "send it a signal",
            hint: "it is not running; start it first",
        });
    }
    let sig = signal(sig)?;
    cs.update_state(c.id(), |s| s.stopped_by_user = true)?;
    let pid = c
        .state
        .pid
        .ok_or_else(|| ContainerError::Monitor("no pid recorded".into()))?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig)
        .map_err(|e| ContainerError::Monitor(format!("signalling process {pid}: {e}")))?;
    Ok(())
}

/// Waits until the container is no longer running (its monitor recorded
/// the exit, or died); `None` waits forever. Returns whether it stopped.
pub fn wait_stopped(cs: &Containers, id: &str, timeout: Option<Duration>) -> Result<bool> {
    let start = Instant::now();
    loop {
        let c = match cs.load(id) {
            Ok(c) => c,
            Err(ContainerError::NotFound(_)) => return Ok(true),
            Err(e) => return Err(e),
        };
        let running = match c.state.status {
            Status::Running | Status::Paused | Status::Stopping => c.monitor_alive(),
            // A monitor that is still starting it.
            Status::Created => c.monitor_alive(),
            Status::Exited => false,
        };
        if !running {
            return Ok(true);
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `stop`: the stop signal, then SIGKILL after `timeout` seconds.
pub fn stop(cs: &Containers, c: &Container, timeout: Option<u64>) -> Result<()> {
    if !matches!(
        c.status(),
        Status::Running | Status::Stopping | Status::Paused
    ) {
        // Stopping a stopped container is fine in podman; clean up the
        // leftovers of a dead monitor.
        if let Some(_guard) = Lock::try_exclusive(&c.dir.join(MONITOR_LOCK))? {
            recover(cs, &cs.load(c.id())?)?;
        } else {
            cancel_restart(cs, c)?;
        }
        return Ok(());
    }
    if c.status() == Status::Paused {
        let _ = unpause(cs, c);
    }
    let t = timeout
        .or(c.config.options.stop_timeout)
        .unwrap_or(DEFAULT_STOP_TIMEOUT);
    let sig = c.config.options.stop_signal.unwrap_or(libc::SIGTERM);
    cs.update_state(c.id(), |s| {
        s.stopped_by_user = true;
        s.status = Status::Stopping;
    })?;
    if t > 0 {
        let _ = kill(cs, c, sig);
        if wait_stopped(cs, c.id(), Some(Duration::from_secs(t)))? {
            return Ok(());
        }
    }
    let _ = kill(cs, c, libc::SIGKILL);
    wait_stopped(cs, c.id(), Some(Duration::from_secs(30)))?;
    Ok(())
}

/// An exited container whose monitor lives is waiting to be restarted:
/// tells the monitor not to, and waits for it to end.
fn cancel_restart(cs: &Containers, c: &Container) -> Result<()> {
    cs.update_state(c.id(), |s| s.stopped_by_user = true)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.monitor_alive() && std::time::Instant::now() < deadline {
        let now = cs.load(c.id())?;
        if now.state.status.is_active() {
            // It restarted just before it saw the flag: stop that run.
            return stop(cs, &now, None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// `rm`: removes a stopped container; with `force` a running one is
/// killed first. Idempotent: a container that someone else (its own
/// `--rm` monitor, another `rm`) removes meanwhile counts as removed.
pub fn remove(cs: &Containers, c: &Container, force: bool) -> Result<()> {
    let result = remove_once(cs, c, force);
    // Leftovers of removals interrupted earlier go with this one.
    cs.sweep(crate::store::LEFTOVER_AGE);
    if result.is_err() && !cs.exists(c.id()) {
        return Ok(());
    }
    result
}

/// How long `rm -f` waits for a monitor to finish after killing its container.
const REMOVE_WAIT: Duration = Duration::from_secs(30);

fn remove_once(cs: &Containers, c: &Container, force: bool) -> Result<()> {
    if c.status().is_active() && !force {
        return Err(ContainerError::BadState {
            id: crate::short_id(c.id()).into(),
            status: c.status().to_string(),
            op: "remove it",
            hint: "stop it first or use rm -f",
        });
    }
    if force {
        kill_until_monitor_ends(cs, c.id())?;
    } else if c.monitor_alive() {
        cancel_restart(cs, c)?;
    }
    // Hold the monitor lock so no monitor starts it meanwhile.
    let lock_path = c.dir.join(MONITOR_LOCK);
    let guard = match crate::lock::try_exclusive_existing(&lock_path)? {
        Some(Some(g)) => g,
        // Gone: removed by someone else.
        None => return Ok(()),
        Some(None) => {
            // A monitor still finishing (e.g. an --rm clean-up): wait for it.
            wait_stopped(cs, c.id(), Some(REMOVE_WAIT))?;
            match crate::lock::exclusive_existing(&lock_path)? {
                Some(g) => g,
                None => return Ok(()),
            }
        }
    };
    let result = match cs.load(c.id()) {
        Ok(c) => remove_stopped(cs, &c),
        Err(ContainerError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    };
    drop(guard);
    result
}

/// `rm -f`: no restart and no start from now on; SIGKILLs the container
/// whenever it runs (a monitor may be starting it right now) until its
/// monitor has ended, which for `run --rm` includes removing it.
fn kill_until_monitor_ends(cs: &Containers, id: &str) -> Result<()> {
    let deadline = Instant::now() + REMOVE_WAIT;
    // Each init process is signalled once: its pid may be reused once the
    // monitor has reaped it.
    let mut killed: Option<i32> = None;
    loop {
        let now = match cs.load(id) {
            Ok(c) => c,
            Err(ContainerError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        if !now.monitor_alive() {
            return Ok(());
        }
        if !now.state.stopped_by_user {
            cs.update_state(id, |s| s.stopped_by_user = true)?;
        }
        let fresh = now.state.pid.is_some() && now.state.pid != killed;
        match now.state.status {
            Status::Paused if fresh => {
                let _ = unpause(cs, &now);
                let _ = kill(cs, &now, libc::SIGKILL);
                killed = now.state.pid;
            }
            Status::Running | Status::Stopping if fresh => {
                let _ = kill(cs, &now, libc::SIGKILL);
                killed = now.state.pid;
            }
            Status::Paused | Status::Running | Status::Stopping => {}
            // Starting, or exited and being cleaned up or about to restart:
            // the monitor sees stopped_by_user.
            Status::Created | Status::Exited => {}
        }
        if Instant::now() >= deadline {
            return Err(ContainerError::Monitor(format!(
                "container {} still has a live monitor (pid {}) {}s after it was killed; kill that process and run rm again",
                crate::short_id(id),
                now.state.monitor_pid.unwrap_or(0),
                REMOVE_WAIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn freezer_path(id: &str) -> Vec<std::path::PathBuf> {
    let cg = hoist_runtime::spec::default_cgroups_path(id);
    vec![
        format!("/sys/fs/cgroup/freezer{cg}/freezer.state").into(),
        format!("/sys/fs/cgroup{cg}/cgroup.freeze").into(),
    ]
}

fn freeze(c: &Container, on: bool) -> Result<()> {
    for p in freezer_path(c.id()) {
        if p.exists() {
            let v = if p.ends_with("freezer.state") {
                if on {
                    "FROZEN"
                } else {
                    "THAWED"
                }
            } else if on {
                "1"
            } else {
                "0"
            };
            return std::fs::write(&p, v).map_err(crate::error::io_err("writing", &p));
        }
    }
    Err(ContainerError::Invalid(
        "no cgroup freezer found for the container; pause needs the freezer controller".into(),
    ))
}

/// `pause`: freezes every process of the container.
pub fn pause(cs: &Containers, c: &Container) -> Result<()> {
    if c.status() != Status::Running {
        return Err(ContainerError::BadState {
            id: crate::short_id(c.id()).into(),
            status: c.status().to_string(),
            op: "pause it",
            hint: "only running containers can be paused",
        });
    }
    freeze(c, true)?;
    cs.update_state(c.id(), |s| s.status = Status::Paused)?;
    Ok(())
}

/// `unpause`.
pub fn unpause(cs: &Containers, c: &Container) -> Result<()> {
    if c.status() != Status::Paused {
        return Err(ContainerError::BadState {
            id: crate::short_id(c.id()).into(),
            status: c.status().to_string(),
            op: "unpause it",
            hint: "it is not paused",
        });
    }
    freeze(c, false)?;
    cs.update_state(c.id(), |s| s.status = Status::Running)?;
    Ok(())
}

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

/// The highest signal number podman takes (SIGRTMAX on Linux).
const MAX_SIGNAL: i64 = 64;

/// Parses a signal as podman does: a number, or a name with or without
/// `SIG` in any case (`TERM`, `sigusr1`, `RTMIN+3`); one leading `-` is
/// allowed (`-9`, `-HUP`). Valid signals are 1 through 64.
pub fn parse_signal(s: &str) -> Result<i32> {
    let base = s.strip_prefix('-').unwrap_or(s);
    let invalid = || ContainerError::Invalid(format!("invalid signal: {base}"));
    let n = match base.parse::<i64>() {
        Ok(0) => return Err(invalid()),
        Ok(n) => n,
        Err(_) => hoist_runtime::oci_cli::parse_signal(base)
            .map(i64::from)
            .map_err(|_| invalid())?,
    };
    if !(1..=MAX_SIGNAL).contains(&n) {
        return Err(ContainerError::Invalid(
            "valid signals are 1 through 64".into(),
        ));
    }
    Ok(n as i32)
}

/// A signal's name as podman prints it (`SIGTERM`, `SIGRTMIN+2`).
pub fn signal_name(sig: i32) -> String {
    match Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) if sig >= libc::SIGRTMIN() => format!("SIGRTMIN+{}", sig - libc::SIGRTMIN()),
        Err(_) => sig.to_string(),
    }
}

/// Sends signal number `sig` (real-time ones too, which nix's `Signal`
/// cannot name) to process `pid`.
pub(crate) fn send_signal(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    #[allow(unsafe_code)]
    let r = unsafe { libc::kill(pid, sig) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(ContainerError::Monitor(format!(
            "sending signal {sig} to process {pid}: {e}"
        )));
    }
    Ok(())
}

/// Cleans up after a monitor that died with the container active: kills
/// what is left of the container, tears down its network, unmounts its
/// root filesystem and marks it exited. Does nothing for a container whose
/// monitor lives or which left nothing behind.
///
/// The caller must hold the container's monitor lock (so no monitor lives).
pub(crate) fn recover(cs: &Containers, c: &Container) -> Result<()> {
    let st = &c.state;
    // A network or root filesystem kept for a restore is no leftover (see
    // release_kept_network and crate::checkpoint::checkpoint).
    let keep_rootfs = st.rootfs_kept && !st.status.is_active();
    let leftovers = st.status.is_active()
        || (st.mounted && !keep_rootfs)
        || (st.netns.is_some() && !st.network_kept)
        || st.pid.is_some();
    if !leftovers {
        return Ok(());
    }
    tracing::info!(id = c.id(), "cleaning up after a dead monitor");
    // What is left after its monitor died: no one else will reap or stop it.
    let cgroup = crate::run_flags::cgroups_path(c);
    hoist_runtime::cgroup_removal::kill_all(std::path::Path::new(&cgroup));
    let rt = runtime_of(c);
    let _ = rt.delete(c.id(), true);
    let keep_network = st.network_kept;
    if !keep_network {
        netsetup::teardown(st.netns.as_deref(), st.network_request.as_ref());
    }
    if keep_rootfs {
        unmount_all_but_rootfs(c)?;
    } else {
        unmount_rootfs(c)?;
    }
    let was_active = st.status.is_active();
    cs.update_state(c.id(), |s| {
        if was_active {
            s.status = Status::Exited;
            s.exit_code = s.exit_code.or(Some(crate::EXIT_UNKNOWN));
            s.finished_at = s.finished_at.or(Some(chrono::Utc::now()));
        }
        s.pid = None;
        s.mounted = s.mounted && keep_rootfs;
        if !keep_network {
            s.netns = None;
            s.network_request = None;
            s.network_kept = false;
        }
    })?;
    Ok(())
}

/// `container cleanup`: releases what a stopped container whose monitor
/// died left behind (its processes, network, root filesystem mount). A
/// container whose monitor lives is refused: its monitor cleans up itself.
pub fn cleanup(cs: &Containers, c: &Container) -> Result<()> {
    let Some(_guard) = Lock::try_exclusive(&c.dir.join(MONITOR_LOCK))? else {
        return Err(ContainerError::StateImproper(format!(
            "container {} is running or paused, refusing to clean up",
            c.id()
        )));
    };
    let c = cs.load(c.id())?;
    recover(cs, &c)?;
    release_kept_rootfs(cs, &cs.load(c.id())?)
}

/// Unmounts the root filesystem a checkpoint kept mounted for its restore
/// (see crate::checkpoint::checkpoint), for whoever needs it otherwise.
pub(crate) fn release_kept_rootfs(cs: &Containers, c: &Container) -> Result<()> {
    if !c.state.rootfs_kept {
        return Ok(());
    }
    if c.state.mounted {
        unmount_rootfs(c)?;
    }
    cs.update_state(c.id(), |s| {
        s.mounted = false;
        s.rootfs_kept = false;
    })?;
    Ok(())
}

/// Tears down the network a checkpoint of established TCP connections
/// kept for its restore (see crate::checkpoint): a start that is no such
/// restore, and `rm`, do.
pub(crate) fn release_kept_network(cs: &Containers, c: &Container) -> Result<()> {
    let st = &c.state;
    if !st.network_kept {
        return Ok(());
    }
    netsetup::teardown(st.netns.as_deref(), st.network_request.as_ref());
    cs.update_state(c.id(), |s| {
        s.netns = None;
        s.network_request = None;
        s.network_kept = false;
    })?;
    Ok(())
}

/// Removes a container that is not running (cleaning up after a dead
/// monitor first).
///
/// The caller must hold the container's monitor lock.
pub(crate) fn remove_stopped(cs: &Containers, c: &Container) -> Result<()> {
    recover(cs, c)?;
    release_kept_network(cs, &cs.load(c.id())?)?;
    // Its checkpoint goes first: unmounting syncs the file system, and
    // images deleted before are never written out.
    crate::checkpoint::remove_images(c);
    // Never delete the record of a container whose files are still mounted.
    unmount_rootfs(c)?;
    let removed = crate::events::prepare(c, hoist_events::Status::Remove);
    cs.delete_record(c)?;
    if let Some(e) = removed {
        hoist_events::emit(e);
    }
    Ok(())
}

/// Unmounts the root filesystem if it is mounted, lazily if it is busy,
/// and detaches lazy layers a dead server left mounted.
pub(crate) fn unmount_rootfs(c: &Container) -> Result<()> {
    let overlay = unmount_overlay(&c.rootfs());
    overlay.and(unmount_all_but_rootfs(c))
}

/// Unmounts what a run mounted beside the root filesystem (copies made
/// for `cp`, the shareable /dev/shm, stale lazy layers): what a stop
/// releases when it keeps the root filesystem mounted for a restore.
pub(crate) fn unmount_all_but_rootfs(c: &Container) -> Result<()> {
    let copies = crate::copy::copyup::unmount_copies(c);
    let result = copies.and(crate::shm::unmount(c));
    if let Ok(entries) = std::fs::read_dir(c.lazy_mount_root()) {
        for e in entries.flatten() {
            hoist_lazy::serve::unmount_stale(&e.path());
        }
    }
    result
}

/// Whether the container's root filesystem is mounted now (a mount has
/// a device of its own).
pub(crate) fn rootfs_mounted(c: &Container) -> bool {
    hoist_fsutil::mountinfo::has_own_filesystem(&c.rootfs())
}

fn unmount_overlay(rootfs: &std::path::Path) -> Result<()> {
    if hoist_runtime::rootfs::unmount(rootfs).is_ok() {
        return Ok(());
    }
    crate::detach::unmount(rootfs)
}

/// Sends `sig` to the container's init process (`kill`).
pub fn kill(cs: &Containers, c: &Container, sig: i32) -> Result<()> {
    signal_init(cs, c, sig)?;
    crate::events::emit(c, hoist_events::Status::Kill);
    Ok(())
}

/// Sends `sig` to the container's init process, recording no event.
fn signal_init(cs: &Containers, c: &Container, sig: i32) -> Result<()> {
    let status = c.status();
    if !matches!(status, Status::Running | Status::Stopping | Status::Paused) {
        return Err(ContainerError::StateImproper(format!(
            "can only kill running containers. {} is in state {status}",
            c.id()
        )));
    }
    cs.update_state(c.id(), |s| s.stopped_by_user = true)?;
    let pid = c
        .state
        .pid
        .ok_or_else(|| ContainerError::Monitor("no pid recorded".into()))?;
    send_signal(pid, sig)
}

/// How long [`monitor_will_run`] waits for a monitor that recorded its
/// container's exit to end: what it does after (events, a pod's or `--rm`'s
/// work) takes milliseconds. One still there after this is waiting to
/// restart the container, as its restart policy says.
const FINISHING_MONITOR: Duration = Duration::from_secs(2);

/// Whether container `id` has a live monitor that runs it, starts it or
/// will restart it: a `start` then has nothing to do. A monitor that has
/// recorded the exit and is only finishing is waited for, so that a
/// `start` right after a `wait` starts the container instead of finding
/// the old monitor and doing nothing.
pub fn monitor_will_run(cs: &Containers, id: &str) -> Result<bool> {
    let deadline = Instant::now() + FINISHING_MONITOR;
    let mut said = false;
    loop {
        let c = cs.load(id)?;
        if !c.monitor_alive() {
            return Ok(false);
        }
        if c.state.status != Status::Exited || Instant::now() >= deadline {
            return Ok(true);
        }
        if !said {
            tracing::debug!(id, "waiting for the monitor that recorded the exit to end");
            said = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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
            Status::Created | Status::Initialized => c.monitor_alive(),
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
        let _ = signal_init(cs, c, sig);
        if wait_stopped(cs, c.id(), Some(Duration::from_secs(t)))? {
            return Ok(());
        }
        // podman's warning, which scripts look for.
        tracing::warn!(
            "StopSignal {} failed to stop container {} in {t} seconds, resorting to SIGKILL",
            signal_name(sig),
            c.name()
        );
    }
    let _ = signal_init(cs, c, libc::SIGKILL);
    wait_stopped(cs, c.id(), Some(Duration::from_secs(30)))?;
    Ok(())
}

/// `restart`: stops the container (when it runs) and starts it again
/// with `launcher`, once the old monitor has finished its clean-up (which
/// would otherwise take the new run's cgroup and mounts with it).
pub fn restart(
    cs: &Containers,
    c: &Container,
    timeout: Option<u64>,
    launcher: &crate::MonitorLauncher,
) -> Result<()> {
    crate::events::emit(c, hoist_events::Status::Restart);
    stop(cs, c, timeout)?;
    wait_monitor_gone(cs, c.id())?;
    launcher.start_detached(cs, c.id())?;
    Ok(())
}

/// Waits until the monitor of stopped container `id` has ended: it records
/// the end first, then unmounts, tears down the network, removes the
/// cgroup and lets go of its lock last.
pub(crate) fn wait_monitor_gone(cs: &Containers, id: &str) -> Result<()> {
    let c = cs.load(id)?;
    let lock = c.dir.join(MONITOR_LOCK);
    let deadline = Instant::now() + Duration::from_secs(30);
    // Polling the lock costs one flock: often enough that a waiting
    // `checkpoint` or `restart` returns within a few ms of the monitor.
    while crate::lock::is_held(&lock) {
        if Instant::now() >= deadline {
            return Err(ContainerError::StateImproper(format!(
                "the monitor of {} is still cleaning up after its stop 30 s later: try again",
                c.name()
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
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

/// After container `c` of a pod exited for good: with the pod's exit
/// policy `stop` (kept on its infra container) and no other container of
/// the pod still running, the infra container stops too, and so the pod.
pub(crate) fn pod_member_exited(cs: &Containers, c: &Container) {
    let o = &c.config.options;
    let (Some(pod), false) = (o.pod.as_deref(), o.infra) else {
        return;
    };
    let Ok(all) = cs.list() else { return };
    let in_pod = |x: &&Container| x.config.options.pod.as_deref() == Some(pod);
    let others_running = all
        .iter()
        .filter(in_pod)
        .any(|x| !x.config.options.infra && x.id() != c.id() && x.status().is_active());
    let infra = all.iter().filter(in_pod).find(|x| x.config.options.infra);
    if let Some(infra) = infra {
        if !others_running
            && infra.config.options.pod_exit_policy.as_deref() == Some("stop")
            && infra.status().is_active()
        {
            if let Err(e) = stop(cs, infra, None) {
                tracing::warn!(error = %e, "stopping the pod's infra container (exit policy stop)");
            }
        }
    }
}

/// After container `c` exited for good: when it was the last running
/// container using a `kube play` service container (its pod's infra
/// container), the service container stops too, as podman stops it when
/// the last of its pods exits.
pub(crate) fn service_user_exited(cs: &Containers, c: &Container) {
    let Some(service) = c.config.options.service_container.as_deref() else {
        return;
    };
    let Ok(users) = service_users(cs, service) else {
        return;
    };
    if users
        .iter()
        .any(|u| u.id() != c.id() && u.status().is_active())
    {
        return;
    }
    if let Ok(s) = cs.load(service) {
        if s.status().is_active() {
            if let Err(e) = stop(cs, &s, None) {
                tracing::warn!(error = %e, "stopping the service container of the pod's kube play");
            }
        }
    }
}

/// The containers (infra containers of pods) that service container
/// `service` (an ID) serves.
pub fn service_users(cs: &Containers, service: &str) -> Result<Vec<Container>> {
    Ok(cs
        .list()?
        .into_iter()
        .filter(|c| c.config.options.service_container.as_deref() == Some(service))
        .collect())
}

/// Whether `other` joins a namespace of container `id` (`--network
/// container:NAME|ID`).
fn joins(cs: &Containers, other: &Container, id: &str) -> bool {
    other
        .config
        .options
        .networks
        .iter()
        .flat_map(|n| n.split(','))
        .filter_map(|n| n.strip_prefix("container:"))
        // `--requires` containers must stay too, as in podman.
        .chain(
            other
                .config
                .options
                .run_flags
                .requires
                .iter()
                .map(String::as_str),
        )
        .any(|target| cs.lookup(target).is_ok_and(|t| t == id))
}

/// The containers that join `c`'s namespaces and so must go before it.
pub fn dependents(cs: &Containers, c: &Container) -> Result<Vec<Container>> {
    Ok(cs
        .list()?
        .into_iter()
        .filter(|o| o.id() != c.id() && joins(cs, o, c.id()))
        .collect())
}

/// `rm --depend`: removes the containers that depend on `c` (theirs
/// first), then `c`; returns the ids removed, in order.
pub fn remove_with_dependents(cs: &Containers, c: &Container, force: bool) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for d in dependents(cs, c)? {
        // One reached through two paths is gone by the second.
        if cs.exists(d.id()) {
            removed.extend(remove_with_dependents(cs, &d, force)?);
        }
    }
    remove(cs, c, force)?;
    removed.push(c.id().to_string());
    Ok(removed)
}

/// `rm`: removes a stopped container; with `force` a running one is
/// killed first. A container others join is refused (see
/// [`remove_with_dependents`]). Idempotent: a container that someone else
/// (its own `--rm` monitor, another `rm`) removes meanwhile counts as
/// removed.
pub fn remove(cs: &Containers, c: &Container, force: bool) -> Result<()> {
    if c.config.options.infra {
        return Err(ContainerError::Invalid(format!(
            "container {} is the infra container of pod {} and cannot be removed without removing the pod",
            c.id(),
            c.config.options.pod.as_deref().unwrap_or_default()
        )));
    }
    if c.config.options.is_service {
        let users = service_users(cs, c.id())?;
        if !users.is_empty() {
            let pods: Vec<&str> = users
                .iter()
                .filter_map(|u| u.config.options.pod.as_deref())
                .collect();
            return Err(ContainerError::Invalid(format!(
                "container {} is the service container of pod(s) {} and cannot be removed without removing the pod(s)",
                c.id(),
                pods.join(", ")
            )));
        }
    }
    remove_member(cs, c, force)
}

/// `rm` without the infra container check: how `pod rm` removes a pod's
/// infra container, after its other containers.
pub fn remove_member(cs: &Containers, c: &Container, force: bool) -> Result<()> {
    let deps = dependents(cs, c)?;
    if !deps.is_empty() {
        return Err(ContainerError::HasDependents {
            id: c.id().to_string(),
            dependents: deps.iter().map(|d| d.id()).collect::<Vec<_>>().join(", "),
        });
    }
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
        return Err(ContainerError::StateImproper(format!(
            "cannot remove container {} as it is {} - running or paused containers cannot be removed without force",
            c.id(),
            c.status()
        )));
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
                let _ = signal_init(cs, &now, libc::SIGKILL);
                killed = now.state.pid;
            }
            Status::Running | Status::Stopping if fresh => {
                let _ = signal_init(cs, &now, libc::SIGKILL);
                killed = now.state.pid;
            }
            Status::Paused | Status::Running | Status::Stopping => {}
            // Starting, or exited and being cleaned up or about to restart:
            // the monitor sees stopped_by_user.
            Status::Created | Status::Initialized | Status::Exited => {}
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

fn freezer_path(cg: &str) -> Vec<std::path::PathBuf> {
    vec![
        format!("/sys/fs/cgroup/freezer{cg}/freezer.state").into(),
        format!("/sys/fs/cgroup{cg}/cgroup.freeze").into(),
    ]
}

fn freeze(c: &Container, on: bool) -> Result<()> {
    for p in freezer_path(&crate::run_flags::cgroups_path(c)) {
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
        return Err(ContainerError::StateImproper(format!(
            "{:?} is not running, can't pause",
            c.id()
        )));
    }
    freeze(c, true)?;
    cs.update_state(c.id(), |s| s.status = Status::Paused)?;
    crate::events::emit(c, hoist_events::Status::Pause);
    Ok(())
}

/// `unpause`.
pub fn unpause(cs: &Containers, c: &Container) -> Result<()> {
    if c.status() != Status::Paused {
        return Err(ContainerError::StateImproper(format!(
            "{:?} is not paused, can't unpause",
            c.id()
        )));
    }
    freeze(c, false)?;
    cs.update_state(c.id(), |s| s.status = Status::Running)?;
    crate::events::emit(c, hoist_events::Status::Unpause);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_as_podman_parses_them() {
        for (text, n) in [
            ("KILL", 9),
            ("-1", 1),
            ("-INT", 2),
            ("sigusr1", 10),
            ("SIGUSR2", 12),
            ("64", 64),
            ("RTMAX", 64),
            ("SIGRTMIN+2", 36),
        ] {
            assert_eq!(parse_signal(text).unwrap(), n, "{text}");
        }
        for (text, message) in [
            ("0", "invalid signal: 0"),
            ("-0", "invalid signal: 0"),
            ("SIG", "invalid signal: SIG"),
            ("-BADSIG", "invalid signal: BADSIG"),
            ("-", "invalid signal: "),
            ("65", "valid signals are 1 through 64"),
            ("-65", "valid signals are 1 through 64"),
            ("--5", "valid signals are 1 through 64"),
        ] {
            assert_eq!(
                parse_signal(text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(libc::SIGRTMIN() + 1), "SIGRTMIN+1");
    }
}

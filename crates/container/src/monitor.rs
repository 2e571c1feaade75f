//! The monitor: the process that runs one container from start to exit,
//! podman's conmon folded into hoist. The CLI starts it as
//! `hoist container-monitor ID` (detached, in its own session, for `-d` and
//! `start`; in the CLI's own process, via exec, for an attached `run`).
//!
//! It holds `monitor.lock` for its whole life, so any other process can
//! tell whether it is alive, whatever happened to it. It must be single
//! threaded: libcontainer forks it.
//!
//! For each start it mounts the overlay root filesystem, sets up the
//! network, writes /etc/hosts, /etc/hostname and /etc/resolv.conf, builds
//! the runtime spec, creates and starts the container with pipes for its
//! output, copies that output to the k8s-file log (and, attached, to its
//! own stdout/stderr), forwards signals, and when the container ends
//! records its exit code, time and OOM kill, tears everything down and
//! applies the restart policy; finally `--rm` removes the container.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use hoist_lazy::serve::LazyServer;
use hoist_lazy::{FirstProgram, LazyLayerSpec};
use hoist_runtime::executor::{
    wait_exit, ExitStatus, ExternalRuntime, InProcessRuntime, Runtime, Stdio,
};
use hoist_runtime::rootfs::{
    mount_overlay, mount_overlay_volatile, unmount, write_etc_files, EtcOptions,
};
use hoist_runtime::spec::{
    build_spec, program_and_path, MountSpec, SeccompChoice, SpecOptions, Ulimit,
};
use oci_spec::image::ImageConfiguration;

use crate::error::{io_err, ContainerError, Result};
use crate::logs::LogWriter;
use crate::netsetup::{self, NetSetup};
use crate::options::MountOption;
use crate::pump::{Pump, Stream};
use crate::record::{Container, Status};
use crate::store::{Containers, MONITOR_LOCK};
use crate::tty::{ConsoleSocket, RawMode};
use crate::volumes::Volumes;

/// Call first thing when a container is about to start: the kernel lock
/// its cgroup join needs is then usually ready by the time the runtime
/// asks for it (see [`hoist_runtime::cgroup_warmup`]).
pub fn warm_up_cgroup_join() {
    hoist_runtime::cgroup_warmup::warm_up();
}

/// The libcontainer state root of a container (inside its directory), with
/// the seccomp program cache all containers of the hoist root share
/// (`<root>/cache/seccomp`; `dir` is `<root>/containers/<id>`).
pub(crate) fn in_process_runtime(dir: &Path) -> InProcessRuntime {
    let rt = InProcessRuntime::new(dir.join("runtime"));
    match dir.parent().and_then(Path::parent) {
        Some(root) => rt.with_program_cache(root.join("cache").join("seccomp")),
        None => rt,
    }
}

/// The runtime a container runs with: `--runtime PATH` (runc, crun: any
/// binary with runc's command line), else libcontainer in this process.
/// Either keeps its state under the container's `runtime` directory.
pub(crate) fn runtime_of(c: &Container) -> Box<dyn Runtime> {
    let o = &c.config.options;
    match &o.runtime {
        Some(path) => Box::new(
            ExternalRuntime::new(path, c.dir.join("runtime"))
                .with_leading_args(o.runtime_leading_args.clone())
                .with_global_args(
                    [
                        o.runtime_flags.clone(),
                        crate::run_flags::runtime_cgroup_args(c),
                    ]
                    .concat(),
                ),
        ),
        None => Box::new(in_process_runtime(&c.dir)),
    }
}

/// What the monitor reports to the CLI that started it detached: one JSON
/// line on its stdout once the container runs or could not start.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct StartReport {
    /// 0 when the container started; else the exit code to use.
    pub code: i32,
    pub error: Option<String>,
}

/// How the monitor is run.
#[derive(Debug, Clone, Copy, Default)]
pub struct MonitorMode {
    /// Copy the container's output to this process's stdout/stderr too and
    /// give it this process's stdin (with `-i`); exit with its exit code.
    pub attach: bool,
    /// Report the start on stdout (then point stdout at /dev/null) and
    /// leave the caller's session.
    pub detached: bool,
    /// Attached, do not copy the container's stdout (`run --attach` without
    /// `stdout`); it still goes to the log.
    pub mute_stdout: bool,
    /// Likewise for stderr.
    pub mute_stderr: bool,
    /// Detached, launched before what the container depends on runs (a
    /// pod's infra container): wait for the go-ahead on stdin before
    /// touching the container (see [`crate::launch::StartGate`]).
    pub after_gate: bool,
}

/// Runs container `id` to its end and returns the exit code for the
/// monitor process (the container's, or 125/126/127).
pub fn run(cs: &Containers, id: &str, mode: MonitorMode) -> i32 {
    if mode.detached {
        let _ = rustix::process::setsid();
    }
    let mut reported = !mode.detached;
    let mut report = |code: i32, error: Option<String>| {
        if reported {
            return;
        }
        reported = true;
        let line = serde_json::to_string(&StartReport { code, error }).expect("serializes");
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
            let _ = rustix::stdio::dup2_stdout(null.as_fd());
        }
    };
    if mode.after_gate && !crate::launch::StartGate::wait_in_monitor() {
        let e =
            ContainerError::Invalid("not started: the pod's infra container did not start".into());
        report(e.exit_code(), Some(e.to_string()));
        return e.exit_code();
    }
    match monitor(cs, id, mode, &mut report) {
        Ok(code) => code,
        Err(e) => {
            let code = e.exit_code();
            report(code, Some(e.to_string()));
            if mode.attach {
                eprintln!("Error: {e}");
            }
            code
        }
    }
}

fn monitor(
    cs: &Containers,
    id: &str,
    mode: MonitorMode,
    report: &mut dyn FnMut(i32, Option<String>),
) -> Result<i32> {
    let dir = cs.dir_of(id);
    let _alive = crate::lock::try_exclusive_existing(&dir.join(MONITOR_LOCK))?
        // Removed (e.g. by `rm -f`) before it could start.
        .ok_or_else(|| ContainerError::NotFound(id.to_string()))?
        .ok_or_else(|| ContainerError::BadState {
            id: crate::short_id(id).into(),
            status: "running".into(),
            op: "start it again",
            hint: "another monitor is looking after it; stop it first",
        })?;
    let c = cs.load(id)?;
    crate::lifecycle::recover(cs, &c)?;
    if crate::checkpoint::kept_network(&c).is_none() {
        crate::lifecycle::release_kept_network(cs, &cs.load(id)?)?;
    }
    let _ = hoist_runtime::executor::set_child_subreaper();
    cs.update_state(id, |s| {
        s.monitor_pid = Some(std::process::id() as i32);
        s.stopped_by_user = false;
        s.error = None;
    })?;
    crate::run_setup::write_monitor_pidfile(&c)?;
    let mut log = LogWriter::for_container(&c)?;
    // `--seccomp-record`: loaded once, before the first start (a failure
    // fails that start), kept across restarts.
    let mut storage = hoist_trace::ObjectStorage::uninit();
    let loaded = crate::syscall_record::start(&c, &mut storage);
    let (mut recording, mut recording_failed) = match loaded {
        Ok(r) => (r, None),
        Err(e) => (None, Some(e)),
    };
    let mut first = true;
    // A restore's images, unless kept, go once the container runs again.
    let discard_images = crate::checkpoint::pending_restore(&c).is_some_and(|m| !m.keep);
    let mut backoff = RestartBackoff::default();
    let code = loop {
        let c = cs.load(id)?;
        let ran_since = Instant::now();
        let attempt = match recording_failed.take() {
            Some(e) => Err(e),
            None => start_once(cs, &c, mode, recording.as_mut().map(|(r, _)| r)),
        };
        let mut started = match attempt {
            Ok(s) => s,
            Err(e) => {
                let code = e.exit_code();
                cs.update_state(id, |s| {
                    s.status = Status::Exited;
                    s.exit_code = Some(code);
                    s.error = Some(e.to_string());
                    s.finished_at = Some(Utc::now());
                    s.pid = None;
                })?;
                if first {
                    if c.config.options.auto_remove {
                        let _ = crate::lifecycle::remove_stopped(cs, &cs.load(id)?);
                        let _ = crate::volumes::remove_anonymous_volumes(cs, &c.config);
                    }
                    return Err(e);
                }
                break code;
            }
        };
        // Ready before the start is reported: an `attach` right after
        // `run -d -i` returns must find the socket, or its input is lost,
        // and a `healthcheck run` right after `run -d` must not have its
        // result overwritten by the timer's "starting".
        let mut attach_in = attach_input(&c, &mut started, mode);
        // Runs the healthcheck every interval while this start lasts.
        let health_timer = crate::health::Timer::start(cs, &cs.load(id)?);
        if first {
            report(0, None);
            first = false;
            if discard_images {
                crate::checkpoint::discard_images(&c);
            }
        }
        let timer = c
            .config
            .options
            .timeout
            .and_then(|t| crate::run_setup::Timeout::start(started.pid, t));
        let (status, lazy_failure) = pump(
            &mut started,
            log.as_mut(),
            mode,
            c.config.options.interactive,
            attach_in.as_mut(),
        )?;
        drop(attach_in);
        drop(health_timer);
        // Killed at its --timeout: podman's exit code for that is -1.
        let timed_out = timer.is_some_and(crate::run_setup::Timeout::stop);
        let code = if timed_out {
            crate::EXIT_UNKNOWN
        } else {
            status.code()
        };
        let oom = oom_killed(&crate::run_flags::cgroups_path(&c));
        // Renamed meanwhile (`rename`): the events carry the current name.
        let named = cs.load(id).unwrap_or_else(|_| c.clone());
        crate::events::died(&named, code);
        finish(cs, &c, &started.net);
        // Before the state says exited: whoever waits for that reads it.
        if let Some((recorder, request)) = &recording {
            if let Err(e) = crate::syscall_record::write_profile(&c, recorder, request) {
                tracing::error!(container = crate::short_id(id), "{e}");
                if mode.attach {
                    eprintln!("Error: {e}");
                }
            }
        }
        // podman records the clean-up of containers it keeps.
        if !c.config.options.auto_remove {
            crate::events::emit(&named, hoist_events::Status::Cleanup);
        }
        if let Some(server) = started.lazy.take() {
            server.stop();
        }
        if let Some(why) = &lazy_failure {
            tracing::error!(container = crate::short_id(id), "{why}");
            // In the container's log too, where `hoist logs` shows it.
            if let Some(log) = log.as_mut() {
                let _ = log.write("stderr", format!("hoist: {why}\n").as_bytes());
            }
            if mode.attach {
                eprintln!("Error: {why}");
            }
        }
        let st = cs.update_state(id, |s| {
            s.status = Status::Exited;
            s.exit_code = Some(code);
            s.finished_at = Some(Utc::now());
            s.oom_killed = oom;
            s.pid = None;
            s.mounted = s.rootfs_kept;
            if !s.network_kept {
                s.netns = None;
                s.network_request = None;
            }
            s.error = lazy_failure.clone();
        })?;
        if st.health_restart {
            // Killed by `--health-on-failure=restart`: start it again now.
            cs.update_state(id, |s| {
                s.health_restart = false;
                s.restart_count += 1;
            })?;
            continue;
        }
        let policy = c.config.options.restart;
        if !timed_out && policy.should_restart(code, st.restart_count, st.stopped_by_user) {
            cs.update_state(id, |s| s.restart_count += 1)?;
            let delay = backoff.next(ran_since.elapsed());
            if wait_unless_stopped(cs, id, delay)? {
                continue;
            }
        }
        break code;
    };
    let c = cs.load(id)?;
    crate::lifecycle::pod_member_exited(cs, &c);
    crate::lifecycle::service_user_exited(cs, &c);
    if c.config.options.auto_remove {
        // `rm -f` may be removing it too; whoever comes last finds it gone.
        crate::lifecycle::remove_stopped(cs, &c).or_else(|e| {
            if cs.exists(id) {
                Err(e)
            } else {
                Ok(())
            }
        })?;
        // podman's `run --rm` takes the anonymous volumes along.
        if let Err(e) = crate::volumes::remove_anonymous_volumes(cs, &c.config) {
            tracing::warn!(error = %e, "removing anonymous volumes");
        }
        if c.config.options.remove_image {
            crate::run_setup::remove_image(cs, &c);
        }
    }
    Ok(code)
}

/// The pause before each restart, as docker's: 100 ms, doubled after every
/// restart up to a minute, back to 100 ms once the container has run for
/// 10 s. A crash loop costs little, and a service that fails now and then
/// comes back at once.
#[derive(Debug)]
struct RestartBackoff {
    delay: Duration,
}

impl RestartBackoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(60);
    const STABLE_RUN: Duration = Duration::from_secs(10);

    /// The pause before the next start, after a run of `ran`.
    fn next(&mut self, ran: Duration) -> Duration {
        if ran >= Self::STABLE_RUN {
            self.delay = Self::FIRST;
        }
        let now = self.delay;
        self.delay = (self.delay * 2).min(Self::MAX);
        now
    }
}

impl Default for RestartBackoff {
    fn default() -> RestartBackoff {
        RestartBackoff { delay: Self::FIRST }
    }
}

/// Waits `delay` before a restart; false when `stop` or `rm` asked for no
/// more restarts meanwhile.
fn wait_unless_stopped(cs: &Containers, id: &str, delay: Duration) -> Result<bool> {
    let until = Instant::now() + delay;
    loop {
        if cs.load(id)?.state.stopped_by_user {
            return Ok(false);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(true);
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// What `create_and_start` gives back: the init's pid, its outputs, and
/// the writing end of its stdin pipe when we keep one.
type Launched = (i32, Vec<(OwnedFd, Stream)>, Option<OwnedFd>);

/// A started container.
pub(crate) struct Started {
    pid: i32,
    /// Its output: stdout and stderr pipes, or the pty master with `-t`.
    outputs: Vec<(OwnedFd, Stream)>,
    /// The writing end of its stdin pipe (`-i` without `-t`), unless it
    /// reads the stdin of `run`.
    stdin_w: Option<OwnedFd>,
    tty: bool,
    net: NetSetup,
    /// The server of the container's lazy layers, if it has any.
    lazy: Option<LazyServer>,
    /// The published host ports, bound while it runs (see
    /// [`crate::run_setup::reserve_ports`]).
    _ports: Vec<OwnedFd>,
}

/// The overlay's lower directories, top first. Layers still lazy are
/// mounted by a lazy-layer server started here, which the caller stops
/// when the container ends. With the image's config (a start, not a
/// copy), the server fetches the program the container runs first.
pub(crate) fn lower_dirs(
    c: &Container,
    image: Option<&ImageConfiguration>,
) -> Result<(Vec<PathBuf>, Option<LazyServer>)> {
    let mut dirs = c.config.layer_dirs.clone();
    let mut pending: Vec<LazyLayerSpec> = c
        .config
        .lazy_layers
        .iter()
        .filter(|s| s.recording.is_some() || dirs.get(s.index).is_some_and(|d| !d.is_dir()))
        .cloned()
        .collect();
    let server = if pending.is_empty() {
        None
    } else {
        let program = image.and_then(|image| first_program(c, image));
        for spec in &mut pending {
            spec.first_program = program.clone();
        }
        let server = LazyServer::start(&pending, &c.lazy_mount_root(), &c.lazy_log_path())?;
        for (spec, mountpoint) in pending.iter().zip(server.mountpoints()) {
            dirs[spec.index] = mountpoint.clone();
        }
        Some(server)
    };
    dirs.reverse();
    Ok((dirs, server))
}

/// The program the container's process runs and the `PATH` it is looked
/// up in (the command line merged as the spec will merge it), for the
/// lazy server to fetch before the process asks for it.
fn first_program(c: &Container, image: &ImageConfiguration) -> Option<FirstProgram> {
    let o = &c.config.options;
    let opts = SpecOptions {
        args: o.command.clone(),
        entrypoint: o.entrypoint.clone(),
        env: o.env.clone(),
        ..SpecOptions::default()
    };
    let (name, path) = program_and_path(image.config().as_ref(), &opts)?;
    Some(FirstProgram { name, path })
}

/// Mounts, networks and starts the container once.
fn start_once(
    cs: &Containers,
    c: &Container,
    mode: MonitorMode,
    recorder: Option<&mut hoist_trace::Recorder>,
) -> Result<Started> {
    let rootfs = c.rootfs();
    let work = c.dir.join("work");
    // The restore of a checkpoint finds the root filesystem still mounted
    // (see crate::checkpoint::checkpoint) and uses it as it is.
    let reuse = c.state.rootfs_kept
        && c.state.mounted
        && c.config.lazy_layers.is_empty()
        && crate::checkpoint::pending_restore(c).is_some()
        && crate::lifecycle::rootfs_mounted(c);
    // Read once: the spec is built from it, and a lazy layer's server
    // fetches the program it names first.
    let image = c.image_config()?;
    if reuse {
        return start_mounted(cs, c, &image, mode, recorder, None, None);
    }
    // A root filesystem `hoist mount` left mounted uses the same upper and
    // work directories: it goes before the container's own is mounted.
    if c.state.mounted {
        crate::lifecycle::unmount_rootfs(c)?;
    }
    // The work directory must be empty for overlayfs.
    hoist_fsutil::empty_dir(&work).map_err(io_err("emptying", &work))?;
    std::fs::create_dir_all(&rootfs).map_err(io_err("creating", &rootfs))?;
    let (lower, lazy) = lower_dirs(c, Some(&image))?;
    // With ID maps: the user namespace the layers are seen through, the
    // network namespace is made in, and the container joins.
    let userns = crate::userns::namespace(cs, c)?;
    // An --rm container's writable layer goes with it: nothing to sync.
    let mount = if c.config.options.auto_remove {
        mount_overlay_volatile
    } else {
        mount_overlay
    };
    let mounted = match &c.config.options.rootfs {
        // `--rootfs DIR` without `:O`: the container changes DIR itself.
        Some(dir) if !c.config.options.rootfs_overlay => rustix::mount::mount_bind(dir, &rootfs)
            .map_err(|e| {
                ContainerError::Invalid(format!(
                    "--rootfs: mounting {} on {}: {e}",
                    dir.display(),
                    rootfs.display()
                ))
            }),
        _ if userns.is_some() => crate::userns::mount_rootfs(
            c,
            userns.as_ref().expect("checked"),
            &lower,
            &c.dir.join("upper"),
            &work,
            &rootfs,
            c.config.options.auto_remove,
        ),
        _ => mount(&lower, &c.dir.join("upper"), &work, &rootfs).map_err(ContainerError::from),
    };
    if let Err(e) = mounted {
        stop_lazy(lazy);
        return Err(e);
    }
    start_mounted(cs, c, &image, mode, recorder, lazy, userns)
}

/// Networks and starts the container whose root filesystem is mounted.
fn start_mounted(
    cs: &Containers,
    c: &Container,
    image: &ImageConfiguration,
    mode: MonitorMode,
    recorder: Option<&mut hoist_trace::Recorder>,
    lazy: Option<LazyServer>,
    userns: Option<hoist_idmap::UserNamespace>,
) -> Result<Started> {
    let id = c.id();
    cs.update_state(id, |s| {
        s.mounted = true;
        s.rootfs_kept = false;
    })?;
    let ports = match crate::run_setup::reserve_ports(&c.config.options.ports) {
        Ok(p) => p,
        Err(e) => {
            abandon_mount(cs, c, lazy)?;
            return Err(e);
        }
    };
    // A restore takes the network its checkpoint kept, or asks for the
    // addresses the checkpointed processes had.
    let restoring = crate::checkpoint::restore_network_config(c);
    let set_up = match crate::checkpoint::kept_network(c) {
        Some(kept) => Ok(kept),
        None => netsetup::setup(
            cs.root(),
            restoring.as_ref().unwrap_or(&c.config),
            userns.as_ref().map(|n| n.as_fd()),
        ),
    };
    let net = match set_up {
        Ok(n) => n,
        Err(e) => {
            abandon_mount(cs, c, lazy)?;
            return Err(e);
        }
    };
    cs.update_state(id, |s| {
        // Now this start's to tear down.
        s.network_kept = false;
        s.netns = net.netns.clone();
        s.network_request = net.request.clone();
        s.network_status = net.status.clone();
        s.ports = net
            .request
            .as_ref()
            .map(|r| r.port_mappings.clone())
            .unwrap_or_default();
    })?;
    match create_and_start(cs, c, image, &net, mode, recorder, userns.as_ref()) {
        Ok((pid, outputs, stdin_w)) => Ok(Started {
            pid,
            outputs,
            stdin_w,
            tty: c.config.options.tty,
            net,
            lazy,
            _ports: ports,
        }),
        Err(e) => {
            finish(cs, c, &net);
            stop_lazy(lazy);
            Err(e)
        }
    }
}

/// Stops the lazy layers' server, when the container has one.
fn stop_lazy(lazy: Option<LazyServer>) {
    if let Some(server) = lazy {
        server.stop();
    }
}

/// Undoes the mount of a start that failed before its container existed.
fn abandon_mount(cs: &Containers, c: &Container, lazy: Option<LazyServer>) -> Result<()> {
    let _ = unmount(&c.rootfs());
    stop_lazy(lazy);
    cs.update_state(c.id(), |s| s.mounted = false).map(drop)
}

/// A pod's container sharing the infra container's network: /etc/hosts as
/// podman writes it there (the pod's host name beside the infra
/// container's name, the container's own name on 127.0.0.1) and the pod's
/// `--add-host` and DNS settings, which the infra container holds.
fn pod_etc_options(cs: &Containers, c: &Container, net: &NetSetup, etc: &mut EtcOptions) {
    let o = &c.config.options;
    if o.pod.is_none() || net.joined.is_none() {
        return;
    }
    let infra = o
        .networks
        .first()
        .and_then(|n| n.strip_prefix("container:"))
        .and_then(|id| cs.load(id).ok());
    let Some(infra) = infra else { return };
    etc.container_name = Some(infra.name().to_string());
    let io = &infra.config.options;
    etc.extra_hosts.extend(io.add_hosts.iter().cloned());
    etc.extra_hosts
        .push((c.name().to_string(), std::net::Ipv4Addr::LOCALHOST.into()));
    if o.dns_servers.is_empty() && !io.dns_servers.is_empty() {
        etc.dns_servers = io.dns_servers.clone();
    }
    if o.dns_search.is_empty() && !io.dns_search.is_empty() {
        etc.dns_search = io.dns_search.clone();
    }
    if o.dns_options.is_empty() && !io.dns_options.is_empty() {
        etc.dns_options = io.dns_options.clone();
    }
}

fn spec_options(cs: &Containers, c: &Container, net: &NetSetup) -> Result<SpecOptions> {
    let o = &c.config.options;
    let hostname = o
        .hostname
        .clone()
        .unwrap_or_else(|| crate::short_id(c.id()).to_string());
    let mut etc = EtcOptions::new(hostname.clone());
    etc.host_network = net.host;
    etc.resolv_conf = !o.networks.iter().any(|n| n == "none");
    if let Some(st) = &net.status {
        etc.hostname_ip = st.addresses().first().map(|a| a.address);
        etc.dns_servers = st.dns_servers();
        etc.dns_search = st.dns_search_domains();
    }
    // podman lists the container's name beside its host name.
    etc.container_name = Some(c.name().to_string());
    crate::networks::etc_network_options(o, net.status.as_ref(), &mut etc);
    pod_etc_options(cs, c, net, &mut etc);
    let etc_files = write_etc_files(&c.dir.join("userdata"), &c.rootfs(), &etc)?;
    let mut mounts = Vec::new();
    for (index, m) in o.mounts.iter().enumerate() {
        mounts.push(match m {
            MountOption::Image {
                source,
                destination,
                read_write,
            } => MountSpec::Bind {
                source: crate::snapshot::mount_image_for(cs, c, index, source, *read_write)?,
                destination: destination.clone(),
                read_only: !read_write,
                options: Vec::new(),
            },
            MountOption::Bind {
                source,
                destination,
                read_only,
                options,
            } => {
                if !source.exists() {
                    return Err(ContainerError::Invalid(format!(
                        "bind mount source {} does not exist; create it first",
                        source.display()
                    )));
                }
                MountSpec::Bind {
                    source: source.clone(),
                    destination: destination.clone(),
                    read_only: *read_only,
                    options: options.clone(),
                }
            }
            MountOption::Volume {
                name,
                destination,
                read_only,
                options,
                ..
            } => {
                let vols = Volumes::open(cs.root())?;
                let v = vols.get_or_create(name)?;
                MountSpec::Bind {
                    source: v.mountpoint,
                    destination: destination.clone(),
                    read_only: *read_only,
                    // `nocopy` is hoist's, not the kernel's.
                    options: options.iter().filter(|o| *o != "nocopy").cloned().collect(),
                }
            }
            MountOption::Tmpfs {
                destination,
                size,
                mode,
                options,
            } => {
                // Filled from the image's directory (podman's tmpcopyup).
                let filled =
                    crate::copy::copyup::fill_tmpfs(c, index, destination, *size, *mode, options)?;
                let read_only = options.iter().any(|o| o == "ro");
                match filled {
                    Some(source) => MountSpec::Bind {
                        source,
                        destination: destination.clone(),
                        read_only,
                        options: Vec::new(),
                    },
                    None => MountSpec::Tmpfs {
                        destination: destination.clone(),
                        size: *size,
                        mode: *mode,
                        options: crate::copy::copyup::kernel_options(options),
                    },
                }
            }
        });
    }
    let ulimits = o
        .ulimits
        .iter()
        .map(|u| u.parse::<Ulimit>())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let seccomp = match o.seccomp.as_deref() {
        None => SeccompChoice::Default,
        Some("unconfined") => SeccompChoice::Unconfined,
        Some(p) => SeccompChoice::Profile(PathBuf::from(p)),
    };
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert("io.hoist.container.name".to_string(), c.name().to_string());
    let mut spec = SpecOptions {
        rootfs: c.rootfs(),
        args: o.command.clone(),
        entrypoint: o.entrypoint.clone(),
        env: o.env.clone(),
        user: o.user.clone(),
        workdir: o.workdir.clone(),
        hostname: Some(hostname),
        tty: o.tty,
        read_only: o.read_only,
        privileged: o.privileged,
        cap_add: o.cap_add.clone(),
        cap_drop: o.cap_drop.clone(),
        no_new_privileges: o.no_new_privileges,
        seccomp,
        memory: o.memory,
        memory_swap: o.memory_swap,
        cpus: o.cpus,
        pids_limit: o.pids_limit,
        ulimits,
        shm_size: o.shm_size.unwrap_or(64 << 20),
        mounts,
        network: net.namespace_mode(),
        annotations,
        cgroups_path: crate::run_flags::spec_cgroups_path(c)?,
        etc_files: Some(etc_files),
        ..SpecOptions::default()
    };
    crate::run_setup::apply(cs, c, &mut spec)?;
    crate::secrets::apply(cs.root(), c, &mut spec)?;
    Ok(spec)
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let (r, w) = std::io::pipe().map_err(io_err("creating", "a pipe"))?;
    Ok((r.into(), w.into()))
}

fn create_and_start(
    cs: &Containers,
    c: &Container,
    image: &ImageConfiguration,
    net: &NetSetup,
    mode: MonitorMode,
    recorder: Option<&mut hoist_trace::Recorder>,
    userns: Option<&hoist_idmap::UserNamespace>,
) -> Result<Launched> {
    let opts = spec_options(cs, c, net)?;
    let mut spec = build_spec(image, &opts)?;
    crate::run_flags::apply_to_spec(c, &mut spec)?;
    if let Some(ns) = userns {
        crate::userns::apply_to_spec(c, &mut spec, ns)?;
    }
    // Volumes are mounted, filled from the image and given their owner
    // once the user is known; [`finish`] lets go of them. In a user
    // namespace that owner is the host ID the user maps to.
    if let Some(p) = spec.process() {
        let user = p.user();
        let (uid, gid) = crate::userns::host_ids(c, user.uid(), user.gid());
        crate::volumes::prepare_volumes(cs, &c.config, &c.rootfs(), uid, gid)?;
    }
    if let Some(p) = spec.process() {
        crate::run_setup::ensure_workdir(c, p.cwd().to_str().unwrap_or("/"))?;
    }
    crate::run_setup::ensure_mtab(c)?;
    crate::userns::give_made_files_to_root(c)?;
    crate::run_setup::check_runtime_flags(c)?;
    if let Some(p) = spec.process() {
        let args = p.args().clone().unwrap_or_default();
        let path = p
            .env()
            .as_ref()
            .and_then(|e| e.iter().find_map(|v| v.strip_prefix("PATH=")))
            .unwrap_or(hoist_runtime::spec::DEFAULT_PATH)
            .to_string();
        // A command on a mount (`-v DIR:/x /x/script`) is not in the root
        // filesystem: the runtime finds it, or says why not.
        let on_mount = args
            .first()
            .is_some_and(|cmd| crate::volumes::on_mount(&c.config.options.mounts, cmd));
        if let Some(cmd) = args.first().filter(|_| !on_mount) {
            crate::exec_check::check_command(
                &c.rootfs(),
                cmd,
                &path,
                p.cwd().to_str().unwrap_or("/"),
            )?;
        }
    }
    if c.config.options.init {
        wrap_in_init(&mut spec, c.config.options.init_path.as_deref())?;
    }
    let bundle = c.bundle();
    hoist_runtime::executor::write_bundle_config(&bundle, &spec)?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let tty = c.config.options.tty;
    let interactive = c.config.options.interactive;
    // Interactive without our terminal: we keep the writing end for
    // `attach` clients (see crate::attach_input).
    let (stdin, stdin_w) = if mode.attach && interactive && !tty {
        let fd = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map_err(io_err("duplicating", "stdin"))?;
        (fd, None)
    } else {
        let (r, w) = pipe()?;
        (r, (interactive && !tty).then_some(w))
    };
    // `container restore`: CRIU brings the checkpointed processes back
    // instead of the runtime creating new ones.
    if let Some(marker) = crate::checkpoint::pending_restore(c) {
        let pid = crate::checkpoint::restore_in_monitor(c, &spec, &marker, [stdin, out_w, err_w])?;
        cs.update_state(c.id(), |s| {
            s.status = Status::Running;
            s.pid = Some(pid);
            s.started_at = Some(Utc::now());
            s.exit_code = None;
            s.finished_at = None;
            s.oom_killed = false;
            s.restored_at = Some(Utc::now());
        })?;
        crate::run_setup::write_pidfile(c, pid)?;
        crate::events::emit(c, hoist_events::Status::Restore);
        return Ok((
            pid,
            vec![(out_r, Stream::Stdout), (err_r, Stream::Stderr)],
            stdin_w,
        ));
    }
    // With -t the runtime makes a pty inside the container and hands its
    // master over this socket; the pipes above then go unused.
    let console = if tty {
        Some(ConsoleSocket::bind()?)
    } else {
        None
    };
    let rt = runtime_of(c);
    // A leftover runtime state (crash between create and delete) blocks create.
    let _ = rt.delete(c.id(), true);
    // The descriptors of `run`, which the monitor inherited (a detached
    // one too: they are not close-on-exec).
    let preserve = c.config.options.preserve_fds;
    crate::run_setup::check_preserved_fds(preserve)?;
    let mut recorder = recorder;
    // runc and crun load the seccomp filter while they create the
    // container, so what they do in its namespaces from then on must be
    // in a recorded profile: record from the namespaces' birth. hoist's
    // own runtime loads it after start: recording from create on is exact.
    let external = c.config.options.runtime.is_some();
    if let Some(r) = recorder.as_deref_mut().filter(|_| external) {
        r.expect_child_of(std::process::id());
    }
    let pid = rt
        .create(
            c.id(),
            &bundle,
            Stdio::new(stdin, out_w, err_w).with_preserved_fds(preserve),
            console.as_ref().map(|s| s.path()),
        )
        .map_err(crate::run_setup::oci_runtime_error)?;
    // The namespaces exist, the user's process has not started: from here
    // on every call in them is recorded.
    if let Some(Err(e)) = recorder.map(|r| r.follow(pid)) {
        let _ = rt.delete(c.id(), true);
        let _ = wait_exit(pid);
        return Err(e.into());
    }
    let outputs = match &console {
        Some(sock) => match sock.receive() {
            Ok(master) => {
                // Before the program starts, so it sees the right size.
                if mode.attach {
                    crate::tty::copy_window_size(master.as_fd());
                }
                vec![(master, Stream::Stdout)]
            }
            Err(e) => {
                let _ = rt.delete(c.id(), true);
                let _ = wait_exit(pid);
                return Err(e);
            }
        },
        None => vec![(out_r, Stream::Stdout), (err_r, Stream::Stderr)],
    };
    cs.update_state(c.id(), |s| {
        s.status = Status::Running;
        s.pid = Some(pid);
        s.started_at = Some(Utc::now());
        s.exit_code = None;
        s.finished_at = None;
        s.oom_killed = false;
    })?;
    // `container init` already reported this container initialized.
    if c.state.status != Status::Initialized {
        crate::events::emit(c, hoist_events::Status::Init);
    }
    if let Err(e) = rt.start(c.id()) {
        let _ = rt.delete(c.id(), true);
        let status = wait_exit(pid).ok();
        return Err(killed_while_starting(cs, c, status)
            .unwrap_or_else(|| crate::run_setup::oci_runtime_error(e)));
    }
    crate::run_setup::write_pidfile(c, pid)?;
    crate::events::emit(c, hoist_events::Status::Start);
    if mode.attach {
        crate::events::emit(c, hoist_events::Status::Attach);
    }
    Ok((pid, outputs, stdin_w))
}

/// `rm -f`, `stop` or `kill` that reached the init between create and
/// start (the state says running from create on): the start fails because
/// the init died of the user's signal. That is the container's end, with
/// the code a killed container has (137 for SIGKILL, as podman reports),
/// not a runtime failure (126).
fn killed_while_starting(
    cs: &Containers,
    c: &Container,
    status: Option<ExitStatus>,
) -> Option<ContainerError> {
    let Some(ExitStatus::Signaled(signal)) = status else {
        return None;
    };
    let stopped = cs.load(c.id()).is_ok_and(|now| now.state.stopped_by_user);
    stopped.then(|| ContainerError::StartFailed {
        code: 128 + signal,
        message: format!("the container was killed (signal {signal}) before its program started"),
    })
}

/// `--init`: runs the process under hoist's init (see [`crate::init`]).
fn wrap_in_init(
    spec: &mut oci_spec::runtime::Spec,
    init_path: Option<&std::path::Path>,
) -> Result<()> {
    let Some(mut process) = spec.process().clone() else {
        return Ok(());
    };
    let command = process.args().clone().unwrap_or_default();
    let (mounts, args) = match init_path {
        Some(path) => crate::init::external_init_setup(path, &command)?,
        None => crate::init::init_setup(&command)?,
    };
    process.set_args(Some(args));
    spec.set_process(Some(process));
    let mut all = spec.mounts().clone().unwrap_or_default();
    for m in &mounts {
        if let MountSpec::Bind {
            source,
            destination,
            ..
        } = m
        {
            let mount = oci_spec::runtime::MountBuilder::default()
                .destination(destination)
                .typ("bind")
                .source(source)
                .options(vec![
                    "rbind".to_string(),
                    "ro".to_string(),
                    "nosuid".to_string(),
                    "nodev".to_string(),
                ])
                .build()
                .map_err(|e| ContainerError::Invalid(format!("--init mount: {e}")))?;
            all.push(mount);
        }
    }
    spec.set_mounts(Some(all));
    Ok(())
}

/// Where `attach` clients write the stdin of an interactive container
/// that does not read ours: its stdin pipe, or its pty master.
fn attach_input(
    c: &Container,
    s: &mut Started,
    mode: MonitorMode,
) -> Option<crate::attach_input::AttachInput> {
    if !c.config.options.interactive {
        return None;
    }
    let target = match s.stdin_w.take() {
        Some(w) => w,
        None if s.tty && !mode.attach => s.outputs.first()?.0.try_clone().ok()?,
        None => return None,
    };
    crate::attach_input::AttachInput::listen(c, target, s.tty)
        .map_err(|e| tracing::warn!(error = %e, "attach clients cannot send input"))
        .ok()
}

/// Copies the container's output until its init process exits; forwards
/// signals (and, attached to a terminal, keys and window sizes) meanwhile.
/// When the lazy layer server dies first, the container (whose files are
/// then gone) is killed, and the second value says what happened.
fn pump(
    s: &mut Started,
    log: Option<&mut LogWriter>,
    mode: MonitorMode,
    interactive: bool,
    attach_in: Option<&mut crate::attach_input::AttachInput>,
) -> Result<(ExitStatus, Option<String>)> {
    let master = s.tty.then(|| s.outputs[0].0.as_fd());
    let attached_tty = mode.attach && master.is_some();
    // The server is our child: its pidfd becomes readable when it exits.
    let lifeline = s.lazy.as_ref().and_then(|server| {
        let pid = rustix::process::Pid::from_raw(server.pid())?;
        rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            .map_err(|e| tracing::warn!(error = %e, "cannot watch the lazy layer server"))
            .ok()
    });
    let end = {
        // Raw mode only while attached to a real terminal; restored on return.
        let _raw = if attached_tty { RawMode::enter() } else { None };
        Pump {
            pid: s.pid,
            outputs: s.outputs.iter().map(|(fd, st)| (fd.as_fd(), *st)).collect(),
            log,
            echo: mode.attach,
            muted: [
                (mode.mute_stdout, Stream::Stdout),
                (mode.mute_stderr, Stream::Stderr),
            ]
            .into_iter()
            .filter_map(|(mute, s)| mute.then_some(s))
            .collect(),
            stdin_to: if attached_tty && interactive {
                master
            } else {
                None
            },
            winch_to: if attached_tty { master } else { None },
            lifeline: lifeline.as_ref().map(|fd| fd.as_fd()),
            attach_in,
        }
        .run_watching()?
    };
    // Before the reaping below, which would take its exit status.
    // The container may have died of its dead files (SIGBUS on a mapped
    // binary) before the pidfd told; the server's own end says it anyway.
    let failure = s.lazy.as_mut().and_then(|server| {
        let ended = server.exit_reason();
        if !end.lifeline_lost && ended.is_none() {
            return None;
        }
        let how = ended.unwrap_or_else(|| "it stopped answering".into());
        Some(format!(
            "lazy layer server (pid {}) for layer{} {} exited: {how}; the container's files were gone, so it was stopped",
            server.pid(),
            if server.layers().len() > 1 { "s" } else { "" },
            server.layers().join(", ")
        ))
    });
    // Reap whatever else was reparented to us meanwhile.
    while let Ok(Some(_)) = rustix::process::wait(rustix::process::WaitOptions::NOHANG) {}
    Ok((end.status, failure))
}

/// Tears down what [`start_once`] set up: runtime state and cgroups, the
/// network, the root filesystem mount.
fn finish(cs: &Containers, c: &Container, net: &NetSetup) {
    let rt = runtime_of(c);
    if let Err(e) = rt.delete(c.id(), true) {
        tracing::debug!(error = %e, "deleting runtime state");
    }
    // `network connect`/`disconnect` change the request while it runs:
    // the recorded one is the current one.
    let now = cs.load(c.id()).ok().map(|now| now.state);
    // Kept for the restore of a checkpoint (see crate::checkpoint).
    let keep_network = now.as_ref().is_some_and(|s| s.network_kept);
    let keep_rootfs = now.as_ref().is_some_and(|s| s.rootfs_kept);
    if !keep_network {
        let recorded = now.and_then(|s| s.network_request);
        netsetup::teardown(
            net.netns.as_deref(),
            recorded.as_ref().or(net.request.as_ref()),
        );
    }
    crate::volumes::release_volumes(cs, &c.config);
    crate::snapshot::release_image_mounts(cs, c);
    let unmounted = if keep_rootfs {
        crate::lifecycle::unmount_all_but_rootfs(c)
    } else {
        crate::lifecycle::unmount_rootfs(c)
    };
    if let Err(e) = unmounted {
        tracing::warn!(error = %e, "unmounting the root filesystem");
    }
    let _ = cs.update_state(c.id(), |s| {
        s.mounted = keep_rootfs;
        if !s.network_kept {
            s.netns = None;
            s.network_request = None;
        }
    });
}

/// Whether the kernel's OOM killer killed a process of the container's
/// cgroup (read before the runtime deletes the cgroup).
fn oom_killed(cg: &str) -> bool {
    let candidates = [
        format!("/sys/fs/cgroup/memory{cg}/memory.oom_control"),
        format!("/sys/fs/cgroup{cg}/memory.events"),
        format!("/sys/fs/cgroup/unified{cg}/memory.events"),
    ];
    candidates.iter().any(|p| {
        std::fs::read_to_string(p).is_ok_and(|t| {
            t.lines().any(|l| {
                let mut w = l.split_whitespace();
                w.next() == Some("oom_kill")
                    && w.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0) > 0
            })
        })
    })
}

/// Reads a detached monitor's [`StartReport`] from its stdout.
pub fn read_report(from: impl Read) -> StartReport {
    let mut text = String::new();
    let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(from), &mut text);
    serde_json::from_str(text.lines().next().unwrap_or("")).unwrap_or(StartReport {
        code: crate::EXIT_ENGINE,
        error: Some("the container monitor exited without reporting; see monitor.log in the container directory".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_backoff_doubles_to_a_minute_and_resets_after_a_stable_run() {
        let mut b = RestartBackoff::default();
        let quick = Duration::from_millis(5);
        let delays: Vec<u64> = (0..12).map(|_| b.next(quick).as_millis() as u64).collect();
        assert_eq!(
            delays,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]
        );
        assert_eq!(b.next(Duration::from_secs(10)), Duration::from_millis(100));
        assert_eq!(b.next(quick), Duration::from_millis(200));
    }
}

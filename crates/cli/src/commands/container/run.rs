//! `run`, `create`, `start` and the hidden `container-monitor`.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hoist_container::monitor::{read_report, MonitorMode};
use hoist_container::{
    parse_mount_flag, parse_size, parse_tmpfs_flag, parse_volume_flag, ContainerError, Containers,
    CreateOptions, NewContainer, RestartPolicy,
};
use hoist_engine::{Engine, PullOptions, PullPolicy};

use crate::container_args::{CreateArgs, MonitorArgs, RunArgs, StartArgs};
use crate::exit::ExitWith;

use super::{labels, open};

fn fail(e: ContainerError) -> anyhow::Error {
    let code = e.exit_code();
    anyhow::Error::new(ExitWith {
        code,
        message: e.to_string(),
    })
}

/// `--env-file` lines and `-e` values; `-e KEY` takes KEY from our environment.
fn env(a: &CreateArgs) -> Result<Vec<String>> {
    let mut env = Vec::new();
    for f in &a.env_file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading --env-file {}", f.display()))?;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            env.push(super::env_value(line).map_err(invalid)?);
        }
    }
    for e in &a.env {
        env.push(super::env_value(e).map_err(invalid)?);
    }
    Ok(env.into_iter().flatten().collect())
}

/// A bad flag value: podman's exit code 125 with the message as is.
fn invalid(message: String) -> anyhow::Error {
    anyhow::Error::new(ExitWith {
        code: crate::exit::ENGINE_ERROR,
        message,
    })
}

/// A size flag (`--memory 512m`) in bytes, at most [`i64::MAX`] (what
/// the kernel takes).
fn size_flag(flag: &str, value: &str) -> Result<i64> {
    let bytes = parse_size(value).map_err(|e| invalid(format!("invalid {flag} value: {e}")))?;
    i64::try_from(bytes).map_err(|_| invalid(format!("invalid {flag} value {value:?}: too large")))
}

/// `--cpus`: a CFS quota over podman's 100 ms period, so at least 0.01 and
/// at most what a 64-bit quota in microseconds holds.
fn cpus_flag(cpus: f64) -> Result<f64> {
    const PERIOD_US: f64 = 100_000.0;
    if !cpus.is_finite() || cpus <= 0.0 {
        return Err(invalid(format!(
            "invalid --cpus value {cpus}: use a positive number of CPUs such as 0.5 or 2"
        )));
    }
    let quota = cpus * PERIOD_US;
    if quota.round() < 1000.0 {
        return Err(invalid(format!(
            "invalid --cpus value {cpus}: the least is 0.01 (a CPU quota of 1 ms per 100 ms)"
        )));
    }
    if quota >= i64::MAX as f64 {
        return Err(invalid(format!(
            "invalid --cpus value {cpus}: too large for a CPU quota"
        )));
    }
    Ok(cpus)
}

/// `--pids-limit`: -1 (or 0) for no limit, else a positive count.
fn pids_flag(limit: i64) -> Result<i64> {
    if limit < -1 {
        return Err(invalid(format!(
            "invalid --pids-limit value {limit}: use a positive number, or -1 for no limit"
        )));
    }
    Ok(limit)
}

fn entrypoint(s: &str) -> Vec<String> {
    if s.trim_start().starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(s) {
            return v;
        }
    }
    if s.is_empty() {
        Vec::new()
    } else {
        vec![s.to_string()]
    }
}

/// `--runtime`: a path, or a name looked up in $PATH (`runc`, `crun`).
fn resolve_runtime(r: &Path) -> Result<std::path::PathBuf> {
    if r.components().count() > 1 {
        return std::path::absolute(r)
            .with_context(|| format!("resolving --runtime {}", r.display()));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(r))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "--runtime {}: not found in $PATH; give its full path",
                r.display()
            )
        })
}

fn options(a: &CreateArgs) -> Result<CreateOptions> {
    let mut o = CreateOptions {
        command: (!a.command.is_empty()).then(|| a.command.clone()),
        entrypoint: a.entrypoint.as_deref().map(entrypoint),
        env: env(a)?,
        user: a.user.clone(),
        workdir: a.workdir.clone(),
        hostname: a.hostname.clone(),
        interactive: a.interactive,
        tty: a.tty,
        read_only: a.read_only,
        privileged: a.privileged,
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        memory: a
            .memory
            .as_deref()
            .map(|m| size_flag("--memory", m))
            .transpose()?,
        memory_swap: match a.memory_swap.as_deref() {
            Some("-1") => Some(-1),
            Some(s) => Some(size_flag("--memory-swap", s)?),
            None => None,
        },
        cpus: a.cpus.map(cpus_flag).transpose()?,
        pids_limit: a.pids_limit.map(pids_flag).transpose()?,
        ulimits: a.ulimit.clone(),
        networks: a.network.clone(),
        labels: labels(&a.label),
        restart: a.restart.parse::<RestartPolicy>()?,
        auto_remove: a.rm,
        init: a.init,
        stop_signal: a
            .stop_signal
            .as_deref()
            .map(hoist_container::lifecycle::parse_signal)
            .transpose()?,
        stop_timeout: a.stop_timeout,
        shm_size: a
            .shm_size
            .as_deref()
            .map(|v| size_flag("--shm-size", v).map(|b| b as u64))
            .transpose()?,
        runtime: a.runtime.as_deref().map(resolve_runtime).transpose()?,
        ..Default::default()
    };
    for s in &a.security_opt {
        match s.split_once(['=', ':']) {
            Some(("seccomp", v)) => o.seccomp = Some(v.to_string()),
            Some(("no-new-privileges", v)) => o.no_new_privileges = v != "false",
            None if s == "no-new-privileges" => o.no_new_privileges = true,
            Some(("label", _)) | Some(("apparmor", _)) => {}
            _ => bail!("unsupported --security-opt {s:?}: use seccomp=unconfined|PROFILE or no-new-privileges"),
        }
    }
    if o.restart != RestartPolicy::No && o.auto_remove {
        bail!("the --rm option conflicts with --restart other than \"no\"");
    }
    // Checked now, not when the container starts: a bad value is the
    // user's to fix before anything is created.
    for u in &a.ulimit {
        u.parse::<hoist_runtime::spec::Ulimit>()
            .map_err(|e| invalid(e.to_string()))?;
    }
    for v in &a.volume {
        o.mounts.push(parse_volume_flag(v)?);
    }
    for m in &a.mount {
        o.mounts.push(parse_mount_flag(m)?);
    }
    for t in &a.tmpfs {
        o.mounts.push(parse_tmpfs_flag(t)?);
    }
    o.ports = hoist_network::parse_port_specs(&a.publish)?;
    if !o.ports.is_empty() {
        let mode = hoist_network::NetworkMode::parse(&o.networks)?;
        if !mode.uses_netavark() {
            bail!("-p needs a bridge network; it cannot be used with --network none or host");
        }
    }
    Ok(o)
}

/// Makes the container record; returns its id.
fn create_record(root: &Path, a: &CreateArgs) -> Result<String> {
    let mut opts = options(a)?;
    let engine =
        Engine::open(root).with_context(|| format!("opening the store at {}", root.display()))?;
    let policy: PullPolicy = a.pull.parse()?;
    let pull = PullOptions {
        registry: super::super::registry_options(&a.registry)?,
        pull_mode: a.pull_mode.parse()?,
        ..Default::default()
    };
    let progress: Arc<dyn hoist_engine::progress::Progress> =
        Arc::new(hoist_engine::progress::Silent);
    let mut image = engine.image_for_container(&a.image, policy, &pull, &progress)?;
    if let Some(dir) = &a.record_access {
        image.lazy_layers = engine.recording_specs(&a.image, dir)?;
    }
    let cs = open(root)?;
    if a.replace {
        if let Some(name) = &a.name {
            if let Ok(old) = cs.get(name) {
                hoist_container::lifecycle::remove(&cs, &old, true)?;
            }
        }
    }
    let anonymous = hoist_container::volumes::create_anonymous_volumes(root, &mut opts)?;
    let made = cs.create(NewContainer {
        name: a.name.clone(),
        image: a.image.clone(),
        image_id: image.record.id.hex().to_string(),
        layer_dirs: image.layer_dirs,
        lazy_layers: image.lazy_layers,
        image_config: image.config,
        options: opts,
    });
    let config = match made {
        Ok(c) => c,
        Err(e) => {
            // The volumes were made for a container that does not exist.
            if let Ok(vols) = hoist_container::volumes::Volumes::open(root) {
                for v in &anonymous {
                    let _ = vols.remove(v, &[]);
                }
            }
            return Err(fail(e));
        }
    };
    Ok(config.id)
}

fn monitor_command(root: &Path, id: &str, attach: bool) -> Result<std::process::Command> {
    let exe = std::env::current_exe()
        .context("finding the hoist executable to start the container monitor")?;
    let mut cmd = std::process::Command::new(exe);
    // libcontainer warns about every cgroup controller the host lacks.
    let args: Vec<String> = std::env::args().collect();
    let level = args
        .iter()
        .position(|a| a == "--log-level")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--log-level=").map(String::from))
        })
        .unwrap_or_else(|| "warn".into());
    cmd.arg("--root")
        .arg(root)
        .arg("--log-level")
        .arg(format!("{level},libcgroups=error,libcontainer=error"))
        .arg("container-monitor");
    if attach {
        cmd.arg("--attach");
    } else {
        cmd.arg("--detached");
    }
    cmd.arg(id);
    Ok(cmd)
}

/// Starts a detached monitor for `id` and waits until the container runs.
fn start_detached(root: &Path, cs: &Containers, id: &str) -> Result<()> {
    let dir = cs.dir_of(id);
    let log = std::fs::File::create(dir.join("monitor.log")).context("creating monitor.log")?;
    let mut child = monitor_command(root, id, false)?
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("starting the container monitor")?;
    let report = read_report(child.stdout.take().expect("piped"));
    // The monitor lives on; it is reaped by init once we exit.
    drop(child);
    if report.code != 0 {
        return Err(anyhow::Error::new(ExitWith {
            code: report.code,
            message: report
                .error
                .unwrap_or_else(|| "the container did not start".into()),
        }));
    }
    Ok(())
}

/// Becomes the attached monitor of `id`, keeping pid and stdio: in this
/// process when it is single-threaded (the runtime forks, which is safe
/// only then), else by exec'ing a fresh `hoist container-monitor`. The
/// first saves a second start-up of the binary on every foreground `run`.
fn exec_attached(root: &Path, id: &str) -> Result<i32> {
    if is_single_threaded() {
        let mode = MonitorMode {
            attach: true,
            detached: false,
        };
        return run_monitor(root, id, mode);
    }
    let err = monitor_command(root, id, true)?.exec();
    Err(anyhow::Error::new(err).context("running the container monitor"))
}

/// Whether this process has one thread (a pull, for one, leaves worker
/// threads behind).
fn is_single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1)
}

pub fn run(root: &Path, a: RunArgs) -> Result<i32> {
    hoist_container::monitor::warm_up_cgroup_join();
    let id = create_record(root, &a.create)?;
    if a.detach {
        let cs = open(root)?;
        start_detached(root, &cs, &id)?;
        println!("{id}");
        Ok(0)
    } else {
        exec_attached(root, &id)
    }
}

pub fn create(root: &Path, a: CreateArgs) -> Result<i32> {
    let id = create_record(root, &a)?;
    println!("{id}");
    Ok(0)
}

pub fn start(root: &Path, a: StartArgs) -> Result<i32> {
    hoist_container::monitor::warm_up_cgroup_join();
    let cs = open(root)?;
    if a.attach {
        if a.containers.len() != 1 {
            bail!("start --attach takes exactly one container");
        }
        let c = cs.get(&a.containers[0]).map_err(fail)?;
        if c.monitor_alive() {
            bail!("container {} is already running", c.name());
        }
        return exec_attached(root, c.id());
    }
    for name in &a.containers {
        let c = cs.get(name).map_err(fail)?;
        if !c.monitor_alive() {
            start_detached(root, &cs, c.id())?;
        }
        println!("{name}");
    }
    Ok(0)
}

/// The hidden `container-monitor ID`.
pub fn monitor(root: &Path, a: MonitorArgs) -> Result<i32> {
    let mode = MonitorMode {
        attach: a.attach,
        detached: a.detached,
    };
    run_monitor(root, &a.id, mode)
}

/// Monitors container `id` in this process until it ends.
fn run_monitor(root: &Path, id: &str, mode: MonitorMode) -> Result<i32> {
    let cs = open(root)?;
    Ok(hoist_container::monitor::run(&cs, id, mode))
}

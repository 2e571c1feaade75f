//! `run`, `create`, `start` and the hidden `container-monitor`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use hoist_container::monitor::MonitorMode;
use hoist_container::{
    parse_mount_flag, parse_size, parse_tmpfs_flag, parse_volume_flag, ContainerError, Containers,
    CreateOptions, CreateRequest, MonitorLauncher, RestartPolicy,
};
use hoist_engine::{Engine, PullOptions, PullPolicy};

use crate::container_args::{CreateArgs, MonitorArgs, RunArgs, StartArgs};
use crate::exit::ExitWith;

use super::{labels, open};

/// A container failure with podman's exit code: 125 keeps the error (and
/// its causes, printed by `exit::report`); other codes travel in an
/// [`ExitWith`].
fn fail(e: ContainerError) -> anyhow::Error {
    match e.exit_code() {
        crate::exit::ENGINE_ERROR => anyhow::Error::new(e),
        code => anyhow::Error::new(ExitWith {
            code,
            message: e.to_string(),
        }),
    }
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
    let options = options(a)?;
    let engine =
        Engine::open(root).with_context(|| format!("opening the store at {}", root.display()))?;
    let pull_policy: PullPolicy = a.pull.parse()?;
    let pull = PullOptions {
        registry: super::super::registry_options(&a.registry)?,
        pull_mode: a.pull_mode.parse()?,
        ..Default::default()
    };
    let cs = open(root)?;
    let req = CreateRequest {
        image: a.image.clone(),
        name: a.name.clone(),
        options,
        pull_policy,
        pull,
        record_access: a.record_access.clone(),
        replace: a.replace,
    };
    let config = hoist_container::create(&engine, &cs, req).map_err(fail)?;
    Ok(config.id)
}

/// How this binary starts container monitors: itself, at our log level.
fn launcher() -> Result<MonitorLauncher> {
    let exe = std::env::current_exe()
        .context("finding the hoist executable to start the container monitor")?;
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
    Ok(MonitorLauncher::new(exe, level))
}

/// Starts a detached monitor for `id` and waits until the container runs.
fn start_detached(cs: &Containers, id: &str) -> Result<()> {
    launcher()?.start_detached(cs, id).map_err(fail)
}

/// Becomes the attached monitor of `id` (see
/// [`MonitorLauncher::run_attached`]).
fn exec_attached(cs: &Containers, id: &str) -> Result<i32> {
    launcher()?.run_attached(cs, id).map_err(fail)
}

pub fn run(root: &Path, a: RunArgs) -> Result<i32> {
    hoist_container::monitor::warm_up_cgroup_join();
    let id = create_record(root, &a.create)?;
    let cs = open(root)?;
    if a.detach {
        start_detached(&cs, &id)?;
        println!("{id}");
        Ok(0)
    } else {
        exec_attached(&cs, &id)
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
        return exec_attached(&cs, c.id());
    }
    for name in &a.containers {
        let c = cs.get(name).map_err(fail)?;
        if !c.monitor_alive() {
            start_detached(&cs, c.id())?;
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

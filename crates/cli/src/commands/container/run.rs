//! `run`, `create` and the hidden `container-monitor`; how containers are
//! started (for `start` too).

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hoist_container::monitor::MonitorMode;
use hoist_container::{
    parse_mount_flag, parse_size, parse_tmpfs_flag, parse_volume_flag, BlkioOption, ContainerError,
    Containers, CreateOptions, CreateRequest, MonitorLauncher, RestartPolicy,
};
use hoist_engine::{Engine, PullOptions, PullPolicy};

use crate::cli::GlobalArgs;
use crate::container_args::{CreateArgs, MonitorArgs, RunArgs};
use crate::exit::ExitWith;

use super::{labels, open};

/// A container failure with podman's exit code: 125 keeps the error (and
/// its causes, printed by `exit::report`); other codes travel in an
/// [`ExitWith`].
pub(super) fn fail(e: ContainerError) -> anyhow::Error {
    match e.exit_code() {
        crate::exit::ENGINE_ERROR => anyhow::Error::new(e),
        code => anyhow::Error::new(ExitWith {
            code,
            message: e.to_string(),
        }),
    }
}

/// `--env-file` lines and `-e` values.
fn env(a: &CreateArgs) -> Result<Vec<String>> {
    super::env_entries(&a.env_file, &a.env)
}

/// A bad flag value: podman's exit code 125 with the message as is.
pub(crate) fn invalid(message: String) -> anyhow::Error {
    anyhow::Error::new(ExitWith {
        code: crate::exit::ENGINE_ERROR,
        message,
    })
}

/// A size flag (`--memory 512m`) in bytes, at most [`i64::MAX`] (what
/// the kernel takes).
pub(crate) fn size_flag(flag: &str, value: &str) -> Result<i64> {
    let bytes = parse_size(value).map_err(|e| invalid(format!("invalid {flag} value: {e}")))?;
    i64::try_from(bytes).map_err(|_| invalid(format!("invalid {flag} value {value:?}: too large")))
}

/// `--memory-swap`: a size, or -1 for swap without limit.
pub(crate) fn memory_swap_flag(value: Option<&str>) -> Result<Option<i64>> {
    match value {
        Some("-1") => Ok(Some(-1)),
        Some(s) => size_flag("--memory-swap", s).map(Some),
        None => Ok(None),
    }
}

/// `--shm-size`: the size of the container's /dev/shm.
pub(crate) fn shm_size_flag(value: Option<&str>) -> Result<Option<u64>> {
    value
        .map(|v| size_flag("--shm-size", v).map(|b| b as u64))
        .transpose()
}

/// `--pid`, `--ipc`, `--uts` and `--cgroupns` (in that order), checked
/// and put into a container's options.
pub(crate) fn apply_namespaces(values: [Option<&String>; 4], o: &mut CreateOptions) -> Result<()> {
    for (kind, value, slot) in [
        ("pid", values[0], &mut o.pid),
        ("ipc", values[1], &mut o.ipc),
        ("uts", values[2], &mut o.uts),
        ("cgroupns", values[3], &mut o.cgroupns),
    ] {
        if let Some(v) = value {
            hoist_container::check_namespace_flag(kind, v).map_err(|e| invalid(e.to_string()))?;
            *slot = Some(v.clone());
        }
    }
    Ok(())
}

/// `--cpus`: a CFS quota over podman's 100 ms period, so at least 0.01 and
/// at most what a 64-bit quota in microseconds holds.
pub(super) fn cpus_flag(cpus: f64) -> Result<f64> {
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
pub(super) fn pids_flag(limit: i64) -> Result<i64> {
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
        memory_swap: memory_swap_flag(a.memory_swap.as_deref())?,
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
        shm_size: shm_size_flag(a.shm_size.as_deref())?,
        ..Default::default()
    };
    apply_security_opts(&a.security_opt, &mut o)?;
    if o.restart != RestartPolicy::No && o.auto_remove {
        bail!("the --rm option conflicts with --restart other than \"no\"");
    }
    check_ulimits(&a.ulimit)?;
    for v in &a.volume {
        o.mounts.push(parse_volume_flag(v)?);
    }
    for m in &a.mount {
        o.mounts.push(parse_mount_flag(m)?);
    }
    for t in &a.tmpfs {
        o.mounts.push(parse_tmpfs_flag(t)?);
    }
    o.log = hoist_container::logs::LogConfig::parse(a.log_driver.as_deref(), &a.log_opt)?;
    a.net.apply(&mut o)?;
    a.vol.apply(&mut o)?;
    a.health.apply(&mut o)?;
    a.secrets.apply(&mut o)?;
    a.run_flags.apply(&mut o)?;
    o.ports = hoist_network::parse_port_specs(&a.publish)?;
    if !o.ports.is_empty() {
        let mode = hoist_network::NetworkMode::parse(&o.networks)?;
        if !mode.uses_netavark() {
            // podman's warning, word for word: scripts look for it.
            eprintln!("Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use");
            o.ports.clear();
        }
    }
    Ok(o)
}

/// `--security-opt` values into a container's options (`run`, `create`,
/// `build`).
pub(crate) fn apply_security_opts(list: &[String], o: &mut CreateOptions) -> Result<()> {
    for s in list {
        match s.split_once(['=', ':']) {
            Some(("seccomp", v)) => o.seccomp = Some(v.to_string()),
            Some(("no-new-privileges", v)) => o.no_new_privileges = v != "false",
            None if s == "no-new-privileges" => o.no_new_privileges = true,
            Some(("label", _)) | Some(("apparmor", _)) => {}
            _ => bail!("unsupported --security-opt {s:?}: use seccomp=unconfined|PROFILE or no-new-privileges"),
        }
    }
    Ok(())
}

/// `--ulimit` values, checked now, not when the container starts: a bad
/// value is the user's to fix before anything is created.
pub(crate) fn check_ulimits(list: &[String]) -> Result<()> {
    for u in list {
        u.parse::<hoist_runtime::spec::Ulimit>()
            .map_err(|e| invalid(e.to_string()))?;
    }
    Ok(())
}

/// `--umask`: octal, at most 0777.
fn umask_flag(v: &str) -> Result<u32> {
    u32::from_str_radix(v, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| {
            invalid(format!(
                "invalid umask string {v}: use an octal mode such as 0022"
            ))
        })
}

/// `--device-read-bps DEVICE:RATE` and the like.
pub(super) fn blkio_flag(kind: &str, v: &str) -> Result<BlkioOption> {
    let flag = if kind == "weight" {
        "--blkio-weight-device".to_string()
    } else {
        format!("--device-{kind}")
    };
    let bad = |why: &str| invalid(format!("invalid {flag} {v:?}: {why}"));
    let (device, rate) = v
        .rsplit_once(':')
        .ok_or_else(|| bad("use DEVICE:RATE, e.g. /dev/sda:1mb"))?;
    if !device.starts_with("/dev/") {
        return Err(bad("the device must be a path under /dev"));
    }
    let rate = if kind.ends_with("bps") {
        parse_size(rate).map_err(|e| bad(&e.to_string()))?
    } else if kind == "weight" {
        rate.parse::<u64>()
            .ok()
            .filter(|w| (10..=1000).contains(w))
            .ok_or_else(|| bad("the weight must be from 10 to 1000"))?
    } else {
        rate.parse::<u64>()
            .map_err(|_| bad("the rate must be a number of operations"))?
    };
    Ok(BlkioOption {
        kind: kind.to_string(),
        device: device.into(),
        rate,
    })
}

/// The run flags beyond [`options`], and the global `--runtime` and
/// `--runtime-flag`.
fn more_options(
    a: &CreateArgs,
    globals: &GlobalArgs,
    conf: &hoist_config::ContainersConf,
    o: &mut CreateOptions,
) -> Result<()> {
    o.unset_env = a.unsetenv.clone();
    for e in &a.env_merge {
        if !e.contains('=') {
            return Err(invalid(format!(
                "invalid --env-merge {e:?}: use KEY=VALUE, e.g. PATH=/opt/bin:${{PATH}}"
            )));
        }
        o.env_merge.push(e.clone());
    }
    o.unset_env_all = a.unsetenv_all;
    o.umask = a.umask.as_deref().map(umask_flag).transpose()?;
    o.devices = a.device.clone();
    o.device_cgroup_rules = a.device_cgroup_rule.clone();
    for (kind, values) in [
        ("read-bps", &a.device_read_bps),
        ("write-bps", &a.device_write_bps),
        ("read-iops", &a.device_read_iops),
        ("write-iops", &a.device_write_iops),
        ("weight", &a.blkio_weight_device),
    ] {
        for v in values {
            o.blkio.push(blkio_flag(kind, v)?);
        }
    }
    if let Some(tz) = &a.tz {
        hoist_container::zone_file(tz).map_err(|e| invalid(e.to_string()))?;
        o.tz = Some(tz.clone());
    }
    o.preserve_fds = a.preserve_fds;
    o.timeout = a.timeout;
    o.systemd = a.systemd.clone();
    o.monitor_pidfile = a
        .conmon_pidfile
        .as_deref()
        .map(std::path::absolute)
        .transpose()
        .context("resolving --conmon-pidfile")?;
    o.init_path = a.init_path.clone();
    o.create_command = std::env::args().collect();
    apply_namespaces(
        [
            a.pid.as_ref(),
            a.ipc.as_ref(),
            a.uts.as_ref(),
            a.cgroupns.as_ref(),
        ],
        o,
    )?;
    o.pidfile = a
        .pidfile
        .as_deref()
        .map(std::path::absolute)
        .transpose()
        .context("resolving --pidfile")?;
    if let Some(sw) = a.memory_swappiness {
        if sw > 100 {
            return Err(invalid(format!(
                "invalid --memory-swappiness {sw}: use 0 to 100"
            )));
        }
        o.memory_swappiness = Some(sw);
    }
    o.oom_kill_disable = a.oom_kill_disable;
    o.publish_all = a.publish_all;
    o.volumes_from = a.volumes_from.clone();
    o.expose = a.expose.clone();
    o.cpu_rt_period = a.cpu_rt_period;
    o.cpu_rt_runtime = a.cpu_rt_runtime;
    o.cpu_shares = a.cpu_shares;
    o.cpu_period = a.cpu_period;
    o.cpu_quota = a.cpu_quota;
    o.cpuset_cpus = a.cpuset_cpus.clone();
    o.cpuset_mems = a.cpuset_mems.clone();
    o.memory_reservation = a
        .memory_reservation
        .as_deref()
        .map(|v| size_flag("--memory-reservation", v))
        .transpose()?;
    if let Some(w) = a.blkio_weight {
        if !(10..=1000).contains(&w) {
            return Err(invalid(format!(
                "invalid --blkio-weight {w}: use a weight from 10 to 1000"
            )));
        }
        o.blkio_weight = Some(w);
    }
    if let Some(adj) = a.oom_score_adj {
        if !(-1000..=1000).contains(&adj) {
            return Err(invalid(format!(
                "oom_score_adj {adj} is invalid: it must be between -1000 and 1000"
            )));
        }
        o.oom_score_adj = Some(adj);
    }
    for kv in &a.sysctl {
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            invalid(format!(
                "{kv} is invalid, sysctl values must be in the form of KEY=VALUE"
            ))
        })?;
        o.sysctls.insert(k.to_string(), v.to_string());
    }
    hoist_container::run_flags::check_group_add(&a.group_add).map_err(fail)?;
    o.group_add = a.group_add.clone();
    for kv in &a.annotation {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| invalid(format!("annotation {kv:?} must be in the form KEY=VALUE")))?;
        o.annotations.insert(k.to_string(), v.to_string());
    }
    // After --annotation: it may carry the recording request.
    a.seccomp_record.apply(o)?;
    o.read_only_tmpfs = a.read_only_tmpfs;
    if a.env_host {
        // Below -e and --env-file: they were given on purpose.
        let given = std::mem::take(&mut o.env);
        o.env = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        o.env.extend(given);
    }
    for f in &a.label_file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading --label-file {}", f.display()))?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            o.labels
                .entry(k.to_string())
                .or_insert_with(|| v.to_string());
        }
    }
    if a.rootfs {
        let (dir, overlay) = match a.image.strip_suffix(":O") {
            Some(dir) => (dir, true),
            None => (a.image.as_str(), false),
        };
        o.rootfs = Some(std::path::absolute(dir).context("resolving --rootfs")?);
        o.rootfs_overlay = overlay;
    }
    if a.kernel_memory.is_some() {
        tracing::warn!("The --kernel-memory flag is no longer supported. This flag is a noop.");
    }
    apply_runtime(a.runtime.clone(), globals, conf, o)
}

/// `--runtime` (the command's, else the global one) and the global
/// `--runtime-flag`s into a container's options: `run`, `create` and every
/// RUN of `build` go through here.
pub(crate) fn apply_runtime(
    runtime: Option<std::path::PathBuf>,
    globals: &GlobalArgs,
    conf: &hoist_config::ContainersConf,
    o: &mut CreateOptions,
) -> Result<()> {
    let runtime = runtime.or_else(|| globals.runtime.as_ref().map(std::path::PathBuf::from));
    if let Some(r) = runtime {
        let path = hoist_container::runtime_path(conf, &r.to_string_lossy())?;
        o.runtime_leading_args = hoist_runtime::executor::ExternalRuntime::leading_args_for(&path);
        o.runtime = Some(path);
    }
    o.runtime_flags = globals
        .runtime_flag
        .iter()
        .map(String::as_str)
        .map(runtime_flag)
        .collect();
    Ok(())
}

/// A `--runtime-flag` as the runtime takes it: podman passes `X` on as
/// `--X` (`-X` for one letter).
pub(crate) fn runtime_flag(f: &str) -> String {
    match f.len() {
        _ if f.starts_with('-') => f.to_string(),
        1 => format!("-{f}"),
        _ => format!("--{f}"),
    }
}

/// `--cidfile`: refused when the file exists, as podman does (another
/// container may own it).
fn check_cidfile(a: &CreateArgs) -> Result<()> {
    if let Some(p) = &a.cidfile {
        if p.exists() {
            return Err(invalid(format!(
                "container id file exists. Ensure another container is not using it or delete {}",
                p.display()
            )));
        }
    }
    Ok(())
}

/// Makes the container record (and the `--cidfile`); returns its id.
fn create_record(
    root: &Path,
    globals: &GlobalArgs,
    a: &CreateArgs,
    remove_image: bool,
) -> Result<String> {
    check_cidfile(a)?;
    let conf = hoist_config::ContainersConf::load()?;
    let mut options = options(a)?;
    more_options(a, globals, &conf, &mut options)?;
    options.remove_image = remove_image;
    join_pod(root, a, &mut options)?;
    let engine =
        Engine::open(root).with_context(|| format!("opening the store at {}", root.display()))?;
    let pull_policy: PullPolicy = match &a.pull {
        Some(p) => p.parse()?,
        None => conf.engine().pull_policy().to_string().parse()?,
    };
    let pull = PullOptions {
        registry: super::super::registry_options(&a.registry)?,
        pull_mode: a.pull_mode.parse()?,
        platform: super::super::platform(&a.platform)?,
        signature_policy: None,
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
        conf,
        progress: Some(Arc::new(crate::progress::Display::new(a.quiet))),
    };
    let new_pod = options_pod(a);
    let config = match hoist_container::create(&engine, &cs, req) {
        Ok(c) => c,
        Err(e) => {
            // A `--pod new:NAME` pod made for this container goes with it.
            if let Some(name) = new_pod {
                let pods = hoist_pod::Pods::open(root);
                if let Ok((pods, pod)) = pods.and_then(|p| p.get(&name).map(|pod| (p, pod))) {
                    let _ = hoist_pod::remove(&cs, &pods, &pod, true, Some(0));
                }
            }
            return Err(fail(e));
        }
    };
    if let Some(p) = &a.cidfile {
        std::fs::write(p, &config.id)
            .with_context(|| format!("writing the container ID to {}", p.display()))?;
    }
    Ok(config.id)
}

/// How this binary starts container monitors: itself, at our log level.
pub(crate) fn launcher() -> Result<MonitorLauncher> {
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
pub(super) fn start_detached(cs: &Containers, id: &str) -> Result<()> {
    prepare_start(cs, id)?;
    launcher()?.start_detached(cs, id).map_err(fail)
}

/// A container of a pod needs the pod's infra container running first.
fn prepare_start(cs: &Containers, id: &str) -> Result<()> {
    let c = cs.load(id).map_err(fail)?;
    hoist_pod::prepare_start(cs, &c, &launcher()?).map_err(|e| invalid(e.to_string()))
}

/// The name of the pod `--pod new:NAME` makes.
fn options_pod(a: &CreateArgs) -> Option<String> {
    a.pod
        .as_deref()
        .and_then(|p| p.strip_prefix("new:"))
        .map(String::from)
}

/// `--pod NAME|new:NAME` and `--pod-id-file`: the container joins the pod
/// (a `new:` pod is made first, with the container's host name).
fn join_pod(root: &Path, a: &CreateArgs, options: &mut CreateOptions) -> Result<()> {
    let query = match (&a.pod, &a.pod_id_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .with_context(|| format!("reading the pod ID from {}", f.display()))?
            .trim()
            .to_string(),
        (None, None) => return Ok(()),
    };
    let pod = crate::commands::pod::pod_for_container(root, &query, options.hostname.as_deref())?;
    if query.starts_with("new:") {
        // The new pod has the container's host name.
        options.hostname = None;
    }
    hoist_pod::join_pod(&pod, options).map_err(|e| invalid(e.to_string()))
}

/// `restart` of one container, with this binary's monitors.
pub(super) fn restart(
    cs: &Containers,
    c: &hoist_container::Container,
    time: Option<u64>,
) -> Result<()> {
    hoist_container::lifecycle::restart(cs, c, time, &launcher()?).map_err(fail)
}

/// Becomes the attached monitor of `id` (see
/// [`MonitorLauncher::run_attached`]).
pub(super) fn exec_attached(cs: &Containers, id: &str) -> Result<i32> {
    launcher()?.run_attached(cs, id).map_err(fail)
}

pub fn run(root: &Path, globals: &GlobalArgs, mut a: RunArgs) -> Result<i32> {
    // A detached monitor warms up for itself (see `monitor`).
    if !a.detach {
        hoist_container::monitor::warm_up_cgroup_join();
    }
    if a.rmi {
        // The image can go only with the container.
        a.create.rm = true;
    }
    let id = create_record(root, globals, &a.create, a.rmi)?;
    let cs = open(root)?;
    if a.detach {
        start_detached(&cs, &id)?;
        println!("{id}");
        return Ok(0);
    }
    // `--attach` names the streams to copy; without stdout and stderr
    // podman prints the ID, as for a detached run, and waits.
    let attach = &a.create.attach;
    let wants = |s: &str| attach.is_empty() || attach.iter().any(|x| x.eq_ignore_ascii_case(s));
    let (mute_stdout, mute_stderr) = (!wants("stdout"), !wants("stderr"));
    if mute_stdout && mute_stderr {
        println!("{id}");
    }
    prepare_start(&cs, &id)?;
    launcher()?
        .run_attached_muting(&cs, &id, mute_stdout, mute_stderr)
        .map_err(fail)
}

pub fn create(root: &Path, globals: &GlobalArgs, a: CreateArgs) -> Result<i32> {
    let id = create_record(root, globals, &a, false)?;
    println!("{id}");
    Ok(0)
}

/// The hidden `container-monitor ID`.
pub fn monitor(root: &Path, a: MonitorArgs) -> Result<i32> {
    // A detached monitor (`run -d`, `start`, a pod's members, `kube play`)
    // joins its container's cgroups about 10 ms from now: it warms the lock
    // up itself, and the front ends leave that to it.
    if a.detached {
        hoist_container::monitor::warm_up_cgroup_join();
    }
    let mode = MonitorMode {
        attach: a.attach,
        detached: a.detached,
        mute_stdout: a.mute_stdout,
        mute_stderr: a.mute_stderr,
        after_gate: a.after_gate,
    };
    run_monitor(root, &a.id, mode)
}

/// Monitors container `id` in this process until it ends.
fn run_monitor(root: &Path, id: &str, mode: MonitorMode) -> Result<i32> {
    let cs = open(root)?;
    Ok(hoist_container::monitor::run(&cs, id, mode))
}

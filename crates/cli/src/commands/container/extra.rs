//! The container commands beyond the basic life cycle: `init`, `rename`,
//! `attach`, `container prune`, `container clone`, `update`.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use hoist_container::attach::{parse_detach_keys, AttachOptions, DEFAULT_DETACH_KEYS};
use hoist_container::clone::CloneRequest;
use hoist_container::update::ResourceUpdate;
use hoist_container::{Container, ContainerError, ContainerFilter};

use super::run::{blkio_flag, cpus_flag, fail, invalid, pids_flag, size_flag};
use super::{open, volume::confirm};
use crate::exit::ExitWith;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Initialize all containers.
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Clean up every container whose monitor is gone.
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Remove the container once cleaned up.
    #[arg(long)]
    pub rm: bool,
    /// Remove the container and then its image (kept if another container
    /// uses it).
    #[arg(long)]
    pub rmi: bool,
    /// An exec session to clean up (hoist's clean up after themselves:
    /// refused).
    #[arg(long, value_name = "SESSION")]
    pub exec: Option<String>,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The container to rename (name or ID).
    pub container: String,
    /// Its new name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Key sequence for detaching: a letter, or ctrl-<key>, comma separated.
    #[arg(long, value_name = "KEYS", default_value = DEFAULT_DETACH_KEYS)]
    pub detach_keys: String,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Do not attach standard input (no detach keys are read).
    #[arg(long)]
    pub no_stdin: bool,
    /// Pass received signals on to the container (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: Option<bool>,
    pub container: Option<String>,
}

#[derive(Debug, Args)]
pub struct ContainerPruneArgs {
    /// Only containers that match: label=KEY[=VALUE], label!=..., until=TIME.
    #[arg(long)]
    pub filter: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// The cgroup limits `update` and `container clone` set.
#[derive(Debug, Args, Default)]
pub struct ResourceArgs {
    /// Block IO weight, 10 to 1000.
    #[arg(long, value_name = "WEIGHT")]
    pub blkio_weight: Option<String>,
    /// Block IO weight of a device (DEVICE_NAME:WEIGHT).
    #[arg(long, value_name = "DEVICE_NAME:WEIGHT")]
    pub blkio_weight_device: Vec<String>,
    /// CPU CFS period, microseconds.
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota, microseconds.
    #[arg(long)]
    pub cpu_quota: Option<i64>,
    /// CPU real-time period, microseconds.
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    /// CPU real-time runtime, microseconds.
    #[arg(long)]
    pub cpu_rt_runtime: Option<i64>,
    /// The container's CPU weight against others (cpu.shares; 1024 is the default).
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<u64>,
    /// Number of CPUs.
    #[arg(long)]
    pub cpus: Option<f64>,
    /// CPUs to run on (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use (0-3, 0,1).
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Read rate limit of a device (e.g. /dev/sda:1mb).
    #[arg(long)]
    pub device_read_bps: Vec<String>,
    /// Read IO limit of a device (e.g. /dev/sda:1000).
    #[arg(long)]
    pub device_read_iops: Vec<String>,
    /// Write rate limit of a device (e.g. /dev/sda:1mb).
    #[arg(long)]
    pub device_write_bps: Vec<String>,
    /// Write IO limit of a device (e.g. /dev/sda:1000).
    #[arg(long)]
    pub device_write_iops: Vec<String>,
    /// Memory limit (e.g. 512m, 1g).
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap.
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Swappiness, 0 to 100 (-1: the system's).
    #[arg(long)]
    pub memory_swappiness: Option<i64>,
    /// Most processes the container may have (-1: no limit).
    #[arg(long)]
    pub pids_limit: Option<i64>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub resources: ResourceArgs,
    pub container: String,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    #[command(flatten)]
    pub resources: ResourceArgs,
    /// Remove the original container.
    #[arg(long)]
    pub destroy: bool,
    /// With --destroy: remove the original even when it runs.
    #[arg(short, long)]
    pub force: bool,
    /// Name of the copy (also the second argument).
    #[arg(long = "name", value_name = "NAME")]
    pub new_name: Option<String>,
    /// Run the copy in a pod (hoist has no pods).
    #[arg(long)]
    pub pod: Option<String>,
    /// Start the copy.
    #[arg(long)]
    pub run: bool,
    pub container: String,
    pub name: Option<String>,
    pub image: Option<String>,
}

/// A usage error: exit 125 with podman's message.
fn usage_error(message: &str) -> anyhow::Error {
    anyhow::Error::new(ExitWith {
        code: crate::exit::ENGINE_ERROR,
        message: message.to_string(),
    })
}

/// The name we were invoked by (podman's messages name the program).
fn program() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| crate::usage::BIN.to_string())
}

/// `init`: prints each container as named (IDs with --all/--latest).
/// The containers `--all`, `--latest` or the names pick (one way only),
/// each with the label to print for it: what was typed, else its ID.
#[allow(clippy::type_complexity)]
fn picked(
    cs: &hoist_container::Containers,
    all: bool,
    latest: bool,
    names: &[String],
) -> Result<Vec<(String, Result<Container, ContainerError>)>> {
    if all && latest {
        return Err(usage_error("--all and --latest cannot be used together"));
    }
    if !names.is_empty() && (all || latest) {
        return Err(usage_error(
            "--all, --latest and containers cannot be used together",
        ));
    }
    if names.is_empty() && !all && !latest {
        return Err(usage_error("you must provide at least one name or id"));
    }
    if !names.is_empty() {
        return Ok(names.iter().map(|n| (n.clone(), cs.get(n))).collect());
    }
    let chosen = if latest {
        cs.newest()?.into_iter().collect()
    } else {
        cs.list()?
    };
    Ok(chosen
        .into_iter()
        .map(|c| (c.id().to_string(), Ok(c)))
        .collect())
}

pub fn init(root: &Path, a: InitArgs) -> Result<i32> {
    let cs = open(root)?;
    let targets = picked(&cs, a.all, a.latest, &a.containers)?;
    let mut code = 0;
    for (label, c) in targets {
        match c.and_then(|c| hoist_container::initialize::initialize(&cs, &c)) {
            Ok(()) => println!("{label}"),
            // --all passes over containers that are already initialized or running.
            Err(ContainerError::StateImproper(_)) if a.all => {}
            Err(e) => {
                code = crate::exit::report(&fail(e));
            }
        }
    }
    Ok(code)
}

/// `container cleanup`: releases what stopped containers left behind
/// (their monitor died); prints each one cleaned up. With --all, running
/// containers are passed over.
pub fn cleanup(root: &Path, a: CleanupArgs) -> Result<i32> {
    if a.exec.is_some() {
        return Err(usage_error(
            "--exec: hoist's exec sessions clean up after themselves; clean up the container instead",
        ));
    }
    let cs = open(root)?;
    let mut code = 0;
    for (label, c) in picked(&cs, a.all, a.latest, &a.containers)? {
        let done = c.and_then(|c| {
            hoist_container::lifecycle::cleanup(&cs, &c)?;
            if a.rm || a.rmi {
                hoist_container::lifecycle::remove(&cs, &c, false)?;
            }
            if a.rmi {
                remove_image(&cs, &c);
            }
            Ok(())
        });
        match done {
            Ok(()) => println!("{label}"),
            Err(ContainerError::StateImproper(_)) if a.all => {}
            Err(e) => code = crate::exit::report(&fail(e)),
        }
    }
    Ok(code)
}

/// `cleanup --rmi`: the container's image goes too, unless another
/// container uses it (then it stays, without an error).
fn remove_image(cs: &hoist_container::Containers, c: &Container) {
    let Ok(engine) = hoist_engine::Engine::open(cs.root()) else {
        return;
    };
    if let Err(e) = engine.remove_image(&c.config.image_id, false, cs) {
        tracing::info!(image = %c.config.image_id, error = %e, "cleanup --rmi kept the image");
    }
}

/// `rename`: prints nothing.
pub fn rename(root: &Path, a: RenameArgs) -> Result<i32> {
    let cs = open(root)?;
    let c = cs.get(&a.container).map_err(fail)?;
    hoist_container::rename::rename(&cs, &c, &a.name).map_err(fail)?;
    Ok(0)
}

/// `attach`: the container's exit code.
pub fn attach(root: &Path, a: AttachArgs) -> Result<i32> {
    let cs = open(root)?;
    let c = match (&a.container, a.latest) {
        (Some(_), true) => {
            return Err(usage_error(
                "--latest and containers cannot be used together",
            ))
        }
        (Some(name), false) => cs.get(name).map_err(fail)?,
        (None, true) => cs
            .newest()?
            .ok_or_else(|| usage_error("no containers to attach to"))?,
        (None, false) => {
            return Err(usage_error(&format!(
                "\"{} attach\" requires a name, id, or the \"--latest\" flag",
                program()
            )))
        }
    };
    let keys = parse_detach_keys(&a.detach_keys)
        .map_err(|e| anyhow::anyhow!("attaching to container {}: {e}", c.id()))?;
    let o = AttachOptions {
        sig_proxy: a.sig_proxy.unwrap_or(true),
        stdin: !a.no_stdin,
        detach_keys: &keys,
    };
    // podman 4.3's attach exits 0 when the container ends, whatever its
    // exit code (`wait` or `inspect` tell it).
    hoist_container::attach::attach(&cs, &c, o).map_err(fail)?;
    Ok(0)
}

/// `container prune`: asks first unless --force; prints the removed IDs.
pub fn prune(root: &Path, a: ContainerPruneArgs) -> Result<i32> {
    let cs = open(root)?;
    let filter = ContainerFilter::parse(&cs, &a.filter).map_err(fail)?;
    if !a.force {
        println!("WARNING! This will remove all non running containers.");
        if !confirm("Are you sure you want to continue? [y/N] ")? {
            return Ok(0);
        }
    }
    let mut code = 0;
    for (id, result) in hoist_container::prune::prune(&cs, &filter).map_err(fail)? {
        match result {
            Ok(()) => println!("{id}"),
            Err(e) => code = crate::exit::report(&fail(e)),
        }
    }
    Ok(code)
}

/// `update`: prints the container's ID.
pub fn update(root: &Path, a: UpdateArgs) -> Result<i32> {
    let u = resources(&a.resources)?;
    let cs = open(root)?;
    let c = cs.get(&a.container).map_err(fail)?;
    hoist_container::update::update(&cs, &c, &u).map_err(fail)?;
    println!("{}", c.id());
    Ok(0)
}

/// `container clone`: prints the new container's ID.
pub fn clone(root: &Path, a: CloneArgs) -> Result<i32> {
    if a.pod.is_some() {
        return Err(usage_error(
            "--pod: hoist has no pods; clone the container without --pod",
        ));
    }
    let resources = resources(&a.resources)?;
    let cs = open(root)?;
    let c = cs.get(&a.container).map_err(fail)?;
    let engine = hoist_engine::Engine::open(root)
        .with_context(|| format!("opening the store at {}", root.display()))?;
    let req = CloneRequest {
        name: a.new_name.clone().or(a.name.clone()),
        image: a.image.clone(),
        resources,
        conf: hoist_config::ContainersConf::load()?,
    };
    if a.destroy && !a.force && c.status().is_active() {
        // Refused before a copy is made, so a failed clone leaves nothing behind.
        return Err(fail(ContainerError::StateImproper(format!(
            "cannot remove container {} as it is {} - running or paused containers cannot be removed without force",
            c.id(),
            c.status()
        ))));
    }
    let made = hoist_container::clone::clone(&engine, &cs, &c, req).map_err(fail)?;
    if a.destroy {
        hoist_container::lifecycle::remove(&cs, &c, a.force).map_err(fail)?;
    }
    if a.run {
        super::run::start_detached(&cs, &made.id)?;
    }
    println!("{}", made.id);
    Ok(0)
}

/// The limits the flags ask for, checked as `run` checks them.
fn resources(a: &ResourceArgs) -> Result<ResourceUpdate> {
    let size =
        |flag: &str, v: &Option<String>| v.as_deref().map(|v| size_flag(flag, v)).transpose();
    let mut u = ResourceUpdate {
        // 0: no limit, as podman's help says.
        cpus: match a.cpus {
            Some(0.0) => Some(0.0),
            other => other.map(cpus_flag).transpose()?,
        },
        cpu_shares: a.cpu_shares,
        cpu_period: a.cpu_period,
        cpu_quota: a.cpu_quota,
        cpu_rt_period: a.cpu_rt_period,
        cpu_rt_runtime: a.cpu_rt_runtime,
        cpuset_cpus: a.cpuset_cpus.clone(),
        cpuset_mems: a.cpuset_mems.clone(),
        memory: size("--memory", &a.memory)?,
        memory_swap: match a.memory_swap.as_deref() {
            Some("-1") => Some(-1),
            other => other.map(|s| size_flag("--memory-swap", s)).transpose()?,
        },
        memory_reservation: size("--memory-reservation", &a.memory_reservation)?,
        memory_swappiness: match a.memory_swappiness {
            None | Some(-1) => None,
            Some(s @ 0..=100) => Some(s as u64),
            Some(s) => {
                return Err(invalid(format!(
                    "invalid --memory-swappiness {s}: use 0 to 100, or -1 for the system's"
                )))
            }
        },
        pids_limit: a.pids_limit.map(pids_flag).transpose()?,
        blkio_weight: a.blkio_weight.as_deref().map(blkio_weight).transpose()?,
        ..ResourceUpdate::default()
    };
    for d in &a.blkio_weight_device {
        let (dev, w) = d.rsplit_once(':').ok_or_else(|| {
            invalid(format!(
                "invalid --blkio-weight-device {d:?}: use DEVICE_NAME:WEIGHT, e.g. /dev/sda:200"
            ))
        })?;
        u.blkio_weight_device.push((dev.into(), blkio_weight(w)?));
    }
    for (kind, values) in [
        ("read-bps", &a.device_read_bps),
        ("write-bps", &a.device_write_bps),
        ("read-iops", &a.device_read_iops),
        ("write-iops", &a.device_write_iops),
    ] {
        for v in values {
            u.throttles.push(blkio_flag(kind, v)?);
        }
    }
    Ok(u)
}

fn blkio_weight(v: &str) -> Result<u16> {
    match v.parse::<u16>() {
        Ok(w) if (10..=1000).contains(&w) => Ok(w),
        _ => Err(invalid(format!(
            "invalid block IO weight {v:?}: use a weight from 10 to 1000"
        ))),
    }
}

//! `pod clone POD [NAME]`: a copy of a pod's configuration with podman
//! 4.3's overrides (`pod create`'s resource, volume, device, label and
//! infra flags), `--start` to start it and `--destroy` to remove the
//! original; prints the new pod's ID.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use hoist_container::{Containers, CreateOptions};
use hoist_engine::Engine;
use hoist_pod::{PodError, PodSpec, Pods};

use crate::commands::pod_flags::PodResourceArgs;
use crate::exit::{ExitWith, ENGINE_ERROR};

#[derive(Debug, Args)]
pub struct PodCloneArgs {
    /// The name of the new pod (default: NAME-clone).
    #[arg(short, long)]
    pub name: Option<String>,
    /// Start the new pod.
    #[arg(long)]
    pub start: bool,
    /// Remove the original pod (and its containers).
    #[arg(long)]
    pub destroy: bool,
    /// The cgroup parent of the new pod.
    #[arg(long)]
    pub cgroup_parent: Option<String>,
    /// The new pod's host name.
    #[arg(long)]
    pub hostname: Option<String>,
    /// The command of the new infra container.
    #[arg(long)]
    pub infra_command: Option<String>,
    /// The name of the new infra container.
    #[arg(long)]
    pub infra_name: Option<String>,
    /// Add metadata: KEY=VALUE.
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Labels from files of KEY=VALUE lines, added to the copied ones
    /// (--label wins over the files).
    #[arg(long)]
    pub label_file: Vec<std::path::PathBuf>,
    /// The new pod's PID namespace: host, private or ns:PATH.
    #[arg(long)]
    pub pid: Option<String>,
    /// The new pod's UTS namespace: host or private.
    #[arg(long)]
    pub uts: Option<String>,
    /// --memory, --cpus, --volume, --device, --sysctl, --security-opt, ...
    #[command(flatten)]
    pub resources: PodResourceArgs,
    /// The pod to copy.
    pub pod: String,
    /// The new pod's name, as a positional argument.
    pub new_name: Option<String>,
}

fn fail(e: PodError) -> anyhow::Error {
    anyhow::Error::new(ExitWith {
        code: e.exit_code(),
        message: e.to_string(),
    })
}

/// The flags given on top of the copied spec: new mounts replace copied
/// ones at the same destination, devices and sysctls are added.
fn override_spec(spec: &mut PodSpec, a: &PodCloneArgs) -> Result<()> {
    if let Some(n) = a.name.clone().or(a.new_name.clone()) {
        spec.name = Some(n);
    }
    if a.cgroup_parent.is_some() {
        spec.cgroup_parent = a.cgroup_parent.clone();
    }
    if a.hostname.is_some() {
        spec.hostname = a.hostname.clone();
    }
    if let Some(c) = &a.infra_command {
        spec.infra_command =
            Some(serde_json::from_str::<Vec<String>>(c).unwrap_or_else(|_| vec![c.clone()]));
    }
    if a.infra_name.is_some() {
        spec.infra_name = a.infra_name.clone();
    }
    let given = a
        .label
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let labels = hoist_pod::labels::merge_label_files(&a.label_file, given).map_err(fail)?;
    spec.labels.extend(labels);
    // `private` is a choice too: it replaces a copied `host`.
    if let Some(pid) = &a.pid {
        spec.pid = Some(pid.clone());
    }
    if let Some(uts) = &a.uts {
        spec.uts = Some(uts.clone());
    }
    spec.resources.merge(&a.resources.resources()?);
    let mut extra = CreateOptions::default();
    a.resources.apply(&mut extra)?;
    let o = &mut spec.infra_options;
    o.mounts.retain(|m| {
        !extra
            .mounts
            .iter()
            .any(|n| n.destination() == m.destination())
    });
    o.mounts.extend(extra.mounts);
    o.volumes_from = extra.volumes_from;
    for d in extra.devices {
        if !o.devices.contains(&d) {
            o.devices.push(d);
        }
    }
    o.sysctls.extend(extra.sysctls);
    if extra.seccomp.is_some() {
        o.seccomp = extra.seccomp;
    }
    o.no_new_privileges |= extra.no_new_privileges;
    spec.security_opt
        .extend(a.resources.security_opt.iter().cloned());
    Ok(())
}

pub fn clone(root: &Path, a: PodCloneArgs) -> Result<i32> {
    let cs = Containers::open(root)?;
    let pods = Pods::open(root).map_err(fail)?;
    let old = pods.get(&a.pod).map_err(|e| match e {
        PodError::NotFound(q) => anyhow::Error::new(ExitWith {
            code: ENGINE_ERROR,
            message: format!("no pod with name or ID {q} found: no such pod"),
        }),
        e => fail(e),
    })?;
    let conf = hoist_config::ContainersConf::load()?;
    let mut spec = hoist_pod::clone::spec_of(&cs, &pods, &old, conf).map_err(fail)?;
    override_spec(&mut spec, &a)?;
    spec.create_command = std::env::args().collect();
    let engine =
        Engine::open(root).with_context(|| format!("opening the store at {}", root.display()))?;
    let new = hoist_pod::create(&engine, &cs, &pods, spec).map_err(fail)?;
    if a.destroy {
        hoist_pod::remove(&cs, &pods, &old, true, None).map_err(fail)?;
    }
    if a.start {
        let launcher = crate::commands::container::launcher()?;
        hoist_pod::start(&cs, &new, &launcher).map_err(fail)?;
    }
    println!("{}", new.id);
    Ok(0)
}

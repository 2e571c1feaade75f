//! `kube generate` (also `generate kube`): flags and output over
//! `hoist_kube`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hoist_kube::{GenerateOptions, Kind};

use crate::exit::ExitWith;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum KubeCommand {
    // The help texts are the argument structs' own.
    Generate(GenerateArgs),
    Play(Box<super::kube_play::PlayArgs>),
    Down(super::kube_play::DownArgs),
}

/// Describe containers, pods or volumes as Kubernetes YAML.
///
/// Writes a Kubernetes Pod (or, with --type deployment, a Deployment) and,
/// with --service, a NodePort Service for the published ports. Containers
/// named together become one pod. The YAML passes Kubernetes' schema
/// validation, so `kubectl create -f` takes it.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The containers to describe.
    #[arg(value_name = "{CONTAINER...|POD...|VOLUME...}", required = true)]
    pub names: Vec<String>,
    /// Write the YAML to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub filename: Option<PathBuf>,
    /// Add a Service exposing the published ports.
    #[arg(short, long)]
    pub service: bool,
    /// Generate YAML for the given Kubernetes kind (pod or deployment)
    #[arg(short = 't', long = "type", value_name = "KIND", default_value = "pod")]
    pub kind: String,
    /// Number of replicas of a deployment
    #[arg(short, long, default_value_t = 1, value_name = "N")]
    pub replicas: i32,
}

/// The volume `name` names, else podman's error for a name that is
/// neither container, pod nor volume.
fn volume(root: &Path, name: &str) -> Result<hoist_kube::VolumeDesc> {
    let vs = hoist_container::volumes::Volumes::open(root)?;
    let v = vs
        .get(name)
        .map_err(|_| usage_error(format!("name or ID {name:?} not found")))?;
    Ok(hoist_kube::VolumeDesc {
        name: v.name,
        driver: v.driver,
        labels: v.labels.into_iter().collect(),
        options: v.options.into_iter().collect(),
    })
}

/// The pod `name` names, described with its own containers; `None` when
/// no pod has that name.
fn pod(
    root: &Path,
    cs: &hoist_container::Containers,
    name: &str,
) -> Result<Option<hoist_kube::PodDesc>> {
    let pods = hoist_pod::Pods::open(root)?;
    let pod = match pods.get(name) {
        Ok(p) => p,
        Err(hoist_pod::PodError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let all = hoist_pod::containers(cs, &pod)?;
    let (infra, members): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.config.options.infra);
    let info = hoist_kube::PodInfo {
        id: &pod.id,
        name: &pod.name,
        hostname: &pod.hostname,
        infra: infra.first(),
    };
    Ok(Some(hoist_kube::from_pod(info, &members)?))
}

pub fn run(root: &Path, cmd: KubeCommand) -> Result<i32> {
    match cmd {
        KubeCommand::Generate(a) => generate(root, a),
        KubeCommand::Play(a) => super::kube_play::play(root, *a),
        KubeCommand::Down(a) => super::kube_play::down(root, a),
    }
}

fn usage_error(message: String) -> anyhow::Error {
    ExitWith { code: 125, message }.into()
}

pub fn generate(root: &Path, a: GenerateArgs) -> Result<i32> {
    let kind: Kind = a.kind.parse().map_err(|e| usage_error(format!("{e}")))?;
    if a.replicas < 1 {
        return Err(usage_error(format!(
            "--replicas {}: a deployment needs at least one replica",
            a.replicas
        )));
    }
    if kind == Kind::Pod && a.replicas != 1 {
        return Err(usage_error(
            "--replicas is only for --type deployment".into(),
        ));
    }
    if let Some(f) = &a.filename {
        // Never overwrite: the user may have named the wrong file.
        if f.symlink_metadata().is_ok() {
            return Err(usage_error(format!(
                "cannot write to {:?}; file exists",
                f.display().to_string()
            )));
        }
    }
    let cs = super::container::open(root)?;
    let mut containers = Vec::new();
    let mut pods = Vec::new();
    let mut volumes = Vec::new();
    for name in &a.names {
        match cs.get(name) {
            Ok(c) => containers.push(hoist_kube::from_container(&c)?),
            Err(hoist_container::ContainerError::NotFound(_)) => match pod(root, &cs, name)? {
                Some(p) => pods.push(p),
                None => volumes.push(volume(root, name)?),
            },
            Err(e) => return Err(e.into()),
        }
    }
    // Containers named on their own become one pod, before the pods.
    if !containers.is_empty() {
        pods.insert(0, hoist_kube::pod_from_lone_container(containers)?);
    }
    let opts = GenerateOptions {
        kind,
        service: a.service,
        replicas: a.replicas,
        generator: format!("hoist {}", env!("CARGO_PKG_VERSION")),
    };
    let out = hoist_kube::generate(&pods, &volumes, &opts)?;
    for w in &out.warnings {
        eprintln!("{w}");
    }
    match &a.filename {
        Some(f) => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(f)
                .with_context(|| format!("creating {}", f.display()))?;
            file.write_all(out.yaml.as_bytes())
                .with_context(|| format!("writing {}", f.display()))?;
        }
        None => print!("{}", out.yaml),
    }
    Ok(0)
}

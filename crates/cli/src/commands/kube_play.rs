//! `kube play` (also `play kube`) and `kube down`: flags and output over
//! `hoist_kube::play`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use hoist_kube::play::{self, DownReport, Engines, PlanOptions, PlayOptions, PlayReport};
use hoist_kube::KubeDocument;

use crate::exit::ExitWith;

/// Make and start the pods and volumes a Kubernetes YAML describes.
///
/// Creates pods, volumes and secrets from the Kubernetes kinds in the
/// YAML: Pod, Deployment, PersistentVolumeClaim, ConfigMap and Secret
/// (Services are read and ignored). KUBEFILE is a file, `-` for standard
/// input, or an http(s) URL. Either the whole YAML is made or nothing of
/// it is left behind.
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// The YAML: a file, `-` (standard input) or an http(s) URL.
    #[arg(value_name = "KUBEFILE")]
    pub file: String,
    /// An annotation for every pod made: KEY=VALUE; may be repeated.
    #[arg(long, value_delimiter = ',')]
    pub annotation: Vec<String>,
    /// Build an image the YAML names from a directory of that name holding a Containerfile, even when the image exists.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub build: Option<bool>,
    /// Where the build directories of --build are looked for (default: the YAML's directory).
    #[arg(long)]
    pub context_dir: Option<PathBuf>,
    /// A file of ConfigMaps the pods' env and volumes may refer to; may be repeated.
    #[arg(long, value_delimiter = ',')]
    pub configmap: Vec<PathBuf>,
    /// Logging driver for the containers (default: containers.conf's, k8s-file)
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Logging driver options
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// The network(s) or mode of every pod made (none, host, NAME[,NAME]).
    #[arg(long, alias = "net")]
    pub network: Vec<String>,
    /// Publish a port (or a range) on the host: [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO].
    #[arg(long)]
    pub publish: Vec<String>,
    /// Leave each image's own /etc/hosts in place instead of writing one.
    #[arg(long)]
    pub no_hosts: bool,
    /// Print no pull progress.
    #[arg(short, long)]
    pub quiet: bool,
    /// Remove pods of the YAML that exist already, then make them again.
    #[arg(long)]
    pub replace: bool,
    /// Start the pod after creating it
    #[arg(long, default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub start: bool,
    /// Start a service container before the pods; it runs while any of
    /// them does
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub service_container: Option<bool>,
    /// Remove the pods the YAML describes (as `kube down`)
    #[arg(long, hide = true)]
    pub down: bool,
    /// A fixed address for each pod, in the YAML's order.
    #[arg(long, value_delimiter = ',')]
    pub ip: Vec<String>,
    /// A fixed MAC address for each pod, in the YAML's order.
    #[arg(long, value_delimiter = ',')]
    pub mac_address: Vec<String>,
    /// Where localhost/ seccomp profiles of the YAML are read from (default /var/lib/kubelet/seccomp).
    #[arg(long)]
    pub seccomp_profile_root: Option<PathBuf>,
    /// User namespace to use (only the host's)
    #[arg(long)]
    pub userns: Option<String>,
    #[command(flatten)]
    pub registry: crate::cli::RegistryArgs,
}

/// Stop and remove the pods and volumes a Kubernetes YAML made.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// The YAML: a file, `-` (standard input) or an http(s) URL.
    #[arg(value_name = "KUBEFILE")]
    pub file: String,
}

fn fail(e: hoist_kube::KubeError) -> anyhow::Error {
    ExitWith {
        // podman ends every failed play with 125.
        code: crate::exit::ENGINE_ERROR,
        message: e.to_string(),
    }
    .into()
}

fn usage(message: String) -> anyhow::Error {
    ExitWith {
        code: crate::exit::ENGINE_ERROR,
        message,
    }
    .into()
}

/// The documents of `source`; kinds `kube play` does not read are left
/// out, as podman leaves them.
fn documents(source: &str) -> Result<Vec<KubeDocument>> {
    let text = play::source::read(source).map_err(fail)?;
    parse_documents(&text)
}

fn parse_documents(text: &str) -> Result<Vec<KubeDocument>> {
    let parsed = hoist_kube::parse_lenient(text).map_err(fail)?;
    for kind in &parsed.skipped {
        tracing::info!(%kind, "kube play ignores this kind");
    }
    if parsed.documents.is_empty() {
        return Err(fail(hoist_kube::KubeError::NoKinds));
    }
    Ok(parsed.documents)
}

/// The ConfigMaps of the `--configmap` files.
fn configmaps(files: &[PathBuf]) -> Result<Vec<hoist_kube::k8s_openapi::api::core::v1::ConfigMap>> {
    let mut out = Vec::new();
    for f in files {
        let text = play::source::read(&f.display().to_string()).map_err(fail)?;
        let before = out.len();
        for d in hoist_kube::parse_lenient(&text).map_err(fail)?.documents {
            if let KubeDocument::ConfigMap(c) = d {
                out.push(*c);
            }
        }
        if out.len() == before {
            return Err(usage(format!(
                "--configmap {}: the file holds no ConfigMap",
                f.display()
            )));
        }
    }
    Ok(out)
}

fn engines_then<T>(root: &Path, f: impl FnOnce(&Engines<'_>) -> Result<T>) -> Result<T> {
    let engine = hoist_engine::Engine::open(root)
        .with_context(|| format!("opening the store at {}", root.display()))?;
    let cs = hoist_container::Containers::open(root)?;
    let pods = hoist_pod::Pods::open(root).map_err(|e| usage(e.to_string()))?;
    let launcher = super::container::launcher()?;
    f(&Engines {
        engine: &engine,
        cs: &cs,
        pods: &pods,
        launcher: &launcher,
    })
}

pub fn down(root: &Path, a: DownArgs) -> Result<i32> {
    let docs = documents(&a.file)?;
    let names = play::pod_names(&docs);
    let report = engines_then(root, |e| play::down(e, &names).map_err(fail))?;
    print_down(&report);
    if let Some(name) = report.missing.first() {
        return Err(usage(format!(
            "no pod with name or ID {name} found: no such pod"
        )));
    }
    Ok(0)
}

fn print_down(r: &DownReport) {
    println!("Pods stopped:");
    for id in &r.stopped {
        println!("{id}");
    }
    println!("Pods removed:");
    for id in &r.removed {
        println!("{id}");
    }
}

fn options(a: &PlayArgs) -> Result<PlayOptions> {
    let rf = |e: hoist_container::ContainerError| usage(e.to_string());
    let static_ips =
        a.ip.iter()
            .map(|v| hoist_container::run_flags::parse_static_ip(v, false).map_err(rf))
            .collect::<Result<Vec<_>>>()?;
    let static_macs = a
        .mac_address
        .iter()
        .map(|v| hoist_container::run_flags::parse_mac(v).map_err(rf))
        .collect::<Result<Vec<_>>>()?;
    if let Some(u) = &a.userns {
        hoist_container::run_flags::check_pod_userns(u).map_err(|e| usage(e.to_string()))?;
    }
    let mut plan = PlanOptions::default();
    for flag in &a.annotation {
        let (k, v) = play::parse_annotation(flag).map_err(fail)?;
        plan.annotations.insert(k, v);
    }
    plan.configmaps = configmaps(&a.configmap)?;
    plan.seccomp_profile_root = a.seccomp_profile_root.clone();
    plan.publish = hoist_network::parse_port_specs(&a.publish)?;
    if a.log_driver.is_some() || !a.log_opt.is_empty() {
        plan.log = Some(
            hoist_container::logs::LogConfig::parse(a.log_driver.as_deref(), &a.log_opt)
                .map_err(|e| usage(e.to_string()))?,
        );
    }
    Ok(PlayOptions {
        start: a.start,
        replace: a.replace,
        networks: a.network.clone(),
        no_hosts: a.no_hosts,
        static_ips,
        static_macs,
        conf: hoist_config::ContainersConf::load()?,
        pull: hoist_engine::PullOptions {
            registry: super::registry_options(&a.registry)?,
            ..Default::default()
        },
        progress: Some(Arc::new(crate::progress::Display::new(a.quiet))),
        create_command: std::env::args().collect(),
        plan,
        build: a.build,
        context_dir: a.context_dir.clone(),
        service_container: None,
    })
}

pub fn play(root: &Path, a: PlayArgs) -> Result<i32> {
    if a.down {
        return down(root, DownArgs { file: a.file });
    }
    let mut opts = options(&a)?;
    let text = play::source::read(&a.file).map_err(fail)?;
    let docs = parse_documents(&text)?;
    if a.service_container == Some(true) {
        opts.service_container = Some(play::service_container_name(&text));
    }
    let report = engines_then(root, |e| play::play(e, &docs, &opts).map_err(fail))?;
    print_play(&report);
    Ok(0)
}

/// podman's layout: what `--replace` removed, the volumes, then each pod
/// with its containers (init containers are not listed, as in podman) and
/// a blank line.
fn print_play(r: &PlayReport) {
    if let Some(d) = &r.replaced {
        print_down(d);
    }
    if !r.volumes.is_empty() {
        println!("Volumes:");
        for v in &r.volumes {
            println!("{v}");
        }
    }
    for p in &r.pods {
        println!("Pod:\n{}", p.id);
        match p.containers.len() {
            0 => {}
            1 => println!("Container:"),
            _ => println!("Containers:"),
        }
        for id in &p.containers {
            println!("{id}");
        }
        println!();
    }
}

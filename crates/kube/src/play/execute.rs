//! Making what a [`Plan`] describes: claims, secrets, then each pod with
//! its volumes and containers, then starting them. Everything made is
//! recorded, and on the first failure taken away again in reverse order,
//! so a play either makes the whole of the YAML or leaves nothing behind.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use hoist_container::volumes::{NewVolume, Volumes};
use hoist_container::{lifecycle, CreateOptions, CreateRequest, MountOption};
use hoist_pod::{Pod, PodSpec};

use super::hostpath;
use super::plan::{ClaimPlan, Plan, PodPlan};
use super::volumes::{VolumeFile, VolumePlan};
use super::{Engines, PlayOptions, PlayedPod};
use crate::error::{io_err, KubeError, Result};

/// One thing a play made, to take away when a later step fails.
#[derive(Debug)]
enum Made {
    Pod(Box<Pod>),
    /// A service container (its ID): it goes after the pods.
    Service(String),
    Volume(String),
    Secret(String),
    HostPath(hostpath::Made),
}

/// What has been made so far.
pub struct Rollback<'a> {
    e: &'a Engines<'a>,
    made: Vec<Made>,
}

impl<'a> Rollback<'a> {
    pub fn new(e: &'a Engines<'a>) -> Rollback<'a> {
        Rollback {
            e,
            made: Vec::new(),
        }
    }

    /// Takes everything away, newest first; failures are logged, as the
    /// error that caused the rollback is the one to report.
    pub fn undo(self) {
        // The pods (with their containers) first: the volumes and paths
        // are theirs, and are free only once they are gone.
        let (pods, rest): (Vec<Made>, Vec<Made>) = self
            .made
            .into_iter()
            .partition(|m| matches!(m, Made::Pod(_)));
        for m in pods.into_iter().rev().chain(rest.into_iter().rev()) {
            let r: Result<()> = match &m {
                Made::Pod(p) => hoist_pod::remove(self.e.cs, self.e.pods, p, true, Some(0))
                    .map_err(KubeError::from),
                // Gone with its last pod, unless no pod was made yet.
                Made::Service(id) => match self.e.cs.load(id) {
                    Ok(c) => lifecycle::remove(self.e.cs, &c, true).map_err(KubeError::from),
                    Err(_) => Ok(()),
                },
                Made::Volume(name) => Volumes::open(self.e.cs.root())
                    .and_then(|v| v.remove(name, &[]))
                    .map_err(KubeError::from),
                Made::Secret(name) => hoist_secrets::Secrets::open(self.e.cs.root())
                    .remove(name)
                    .map(|_| ())
                    .map_err(KubeError::from),
                Made::HostPath(h) => {
                    hostpath::undo(h);
                    Ok(())
                }
            };
            if let Err(err) = r {
                tracing::warn!(what = ?m, error = %err, "undoing part of a failed kube play");
            }
        }
    }
}

/// Makes everything `plan` describes, recording it in `rb`.
pub fn run(rb: &mut Rollback<'_>, plan: &Plan, opts: &PlayOptions) -> Result<Vec<PlayedPod>> {
    let e = rb.e;
    for c in &plan.claims {
        claim(rb, c, opts.replace)?;
    }
    let secrets = hoist_secrets::Secrets::open(e.cs.root());
    for s in &plan.secrets {
        if opts.replace && secrets.exists(&s.name)? {
            secrets.remove(&s.name)?;
        }
        secrets.create(hoist_secrets::NewSecret {
            name: s.name.clone(),
            driver: None,
            driver_options: BTreeMap::new(),
            labels: BTreeMap::new(),
            data: s.data.clone(),
        })?;
        rb.made.push(Made::Secret(s.name.clone()));
    }
    let service = match &opts.service_container {
        Some(name) => {
            let c = hoist_pod::create_service_container(e.engine, e.cs, name, opts.conf.clone())?;
            rb.made.push(Made::Service(c.id.clone()));
            Some(c.id)
        }
        None => None,
    };
    let mut played = Vec::new();
    for (index, p) in plan.pods.iter().enumerate() {
        played.push(pod(rb, p, opts, service.as_deref(), index)?);
    }
    if opts.start {
        for (p, out) in plan.pods.iter().zip(&mut played) {
            start(e, p, out)?;
        }
    }
    Ok(played)
}

/// A PersistentVolumeClaim's volume; one that exists is an error (as in
/// podman) unless `--replace`, which keeps it and its data.
fn claim(rb: &mut Rollback<'_>, c: &ClaimPlan, replace: bool) -> Result<()> {
    let vols = Volumes::open(rb.e.cs.root())?;
    if vols.get(&c.name).is_ok() {
        if replace {
            return Ok(());
        }
        return Err(KubeError::Play(format!(
            "volume with name {} already exists: volume already exists",
            c.name
        )));
    }
    vols.create(NewVolume {
        name: Some(c.name.clone()),
        labels: c.labels.clone(),
        options: c.options.clone(),
        ..Default::default()
    })?;
    rb.made.push(Made::Volume(c.name.clone()));
    Ok(())
}

/// The static address and MAC of the `index`th pod of the play, on its
/// infra container (podman hands `--ip` and `--mac-address` out in order;
/// pods past the end get what the network picks).
fn addressing(infra: &mut CreateOptions, opts: &PlayOptions, index: usize) {
    let f = &mut infra.run_flags;
    match opts.static_ips.get(index) {
        Some(ip) => f.static_ips = vec![*ip],
        None if !opts.static_ips.is_empty() => {
            tracing::warn!("No more static ips left using a random one")
        }
        None => {}
    }
    match opts.static_macs.get(index) {
        Some(mac) => f.static_mac = Some(mac.clone()),
        None if !opts.static_macs.is_empty() => {
            tracing::warn!("No more static macs left using a random one")
        }
        None => {}
    }
}

fn pod_spec(p: &PodPlan, opts: &PlayOptions, service: Option<&str>, index: usize) -> PodSpec {
    let mut infra = CreateOptions::default();
    if p.host_network {
        infra.networks = vec!["host".into()];
    } else {
        infra.networks = opts.networks.clone();
        infra.ports = p.ports.clone();
    }
    infra.run_flags.no_hosts = opts.no_hosts;
    addressing(&mut infra, opts, index);
    PodSpec {
        name: Some(p.name.clone()),
        labels: p.labels.clone(),
        infra: true,
        hostname: p.hostname.clone(),
        // podman's pods from YAML stop when their last container ends.
        exit_policy: Some("stop".into()),
        infra_options: infra,
        create_command: opts.create_command.clone(),
        conf: opts.conf.clone(),
        service_container: service.map(str::to_string),
        ..Default::default()
    }
}

fn pod(
    rb: &mut Rollback<'_>,
    p: &PodPlan,
    opts: &PlayOptions,
    service: Option<&str>,
    index: usize,
) -> Result<PlayedPod> {
    let e = rb.e;
    let spec = pod_spec(p, opts, service, index);
    let pod = hoist_pod::create(e.engine, e.cs, e.pods, spec)?;
    rb.made.push(Made::Pod(Box::new(pod.clone())));
    let volumes = volumes(rb, p)?;
    let mut out = PlayedPod {
        id: pod.id.clone(),
        name: pod.name.clone(),
        ..Default::default()
    };
    for c in &p.init_containers {
        out.init_containers
            .push(container(e, &pod, c, &volumes, opts)?);
    }
    for c in &p.containers {
        out.containers.push(container(e, &pod, c, &volumes, opts)?);
    }
    Ok(out)
}

/// A pod volume as mounts take it.
enum Ready {
    Bind(std::path::PathBuf),
    Volume { name: String, anonymous: bool },
    Tmpfs(Option<u64>),
}

fn volumes(rb: &mut Rollback<'_>, p: &PodPlan) -> Result<BTreeMap<String, Ready>> {
    let vols = Volumes::open(rb.e.cs.root())?;
    let mut out = BTreeMap::new();
    for (name, v) in &p.volumes {
        let ready = match v {
            VolumePlan::HostPath { path, kind } => {
                if let Some(made) = hostpath::prepare(path, *kind)? {
                    rb.made.push(Made::HostPath(made));
                }
                Ready::Bind(path.clone())
            }
            VolumePlan::Claim(claim) => {
                named(rb, &vols, claim)?;
                Ready::Volume {
                    name: claim.clone(),
                    anonymous: false,
                }
            }
            VolumePlan::EmptyDir => {
                let v = vols.create_anonymous()?;
                rb.made.push(Made::Volume(v.name.clone()));
                // Writable by every container of the pod, whatever its
                // user, as Kubernetes makes an emptyDir.
                std::fs::set_permissions(&v.mountpoint, std::fs::Permissions::from_mode(0o777))
                    .map_err(io_err("setting the mode of", &v.mountpoint))?;
                Ready::Volume {
                    name: v.name,
                    anonymous: true,
                }
            }
            VolumePlan::Tmpfs { size } => Ready::Tmpfs(*size),
            VolumePlan::Files { name, files } => {
                named(rb, &vols, name)?;
                fill(&vols.get(name)?.mountpoint, files)?;
                Ready::Volume {
                    name: name.clone(),
                    anonymous: false,
                }
            }
        };
        out.insert(name.clone(), ready);
    }
    Ok(out)
}

/// The named volume `name`, made (and recorded) when missing.
fn named(rb: &mut Rollback<'_>, vols: &Volumes, name: &str) -> Result<()> {
    if vols.get(name).is_err() {
        vols.create(NewVolume {
            name: Some(name.to_string()),
            ..Default::default()
        })?;
        rb.made.push(Made::Volume(name.to_string()));
    }
    Ok(())
}

/// Writes a ConfigMap's or Secret's keys as files of a volume.
fn fill(dir: &std::path::Path, files: &[VolumeFile]) -> Result<()> {
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
        }
        std::fs::write(&path, &f.data).map_err(io_err("writing", &path))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode))
            .map_err(io_err("setting the mode of", &path))?;
    }
    Ok(())
}

fn container(
    e: &Engines<'_>,
    pod: &Pod,
    c: &super::container::ContainerPlan,
    volumes: &BTreeMap<String, Ready>,
    opts: &PlayOptions,
) -> Result<String> {
    let mut o = c.options.clone();
    o.create_command = opts.create_command.clone();
    for m in &c.mounts {
        let Some(v) = volumes.get(&m.volume) else {
            continue;
        };
        o.mounts.push(match v {
            Ready::Bind(path) => MountOption::Bind {
                source: {
                    let source = match &m.sub_path {
                        Some(s) => path.join(s),
                        None => path.clone(),
                    };
                    if let Some(label) = &m.relabel {
                        hostpath::relabel(&source, label)?;
                    }
                    source
                },
                destination: m.destination.clone(),
                read_only: m.read_only,
                options: Vec::new(),
            },
            Ready::Volume { name, anonymous } => MountOption::Volume {
                name: name.clone(),
                destination: m.destination.clone(),
                read_only: m.read_only,
                anonymous: *anonymous,
                options: Vec::new(),
            },
            Ready::Tmpfs(size) => MountOption::Tmpfs {
                destination: m.destination.clone(),
                size: *size,
                mode: None,
                options: if m.read_only {
                    vec!["ro".into()]
                } else {
                    Vec::new()
                },
            },
        });
    }
    hoist_pod::join_pod(pod, &mut o)?;
    // The image is pulled here, as its policy says, to read its user:
    // podman gives a played container the image's user when the YAML
    // names none.
    let progress = opts
        .progress
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(hoist_engine::progress::Silent));
    super::build_image::maybe_build(e, &c.image, opts)?;
    let image = e
        .engine
        .image_for_container(&c.image, c.pull_policy, &opts.pull, &progress)?;
    if o.user.is_none() {
        o.user = image_user(&image.config);
    }
    let req = CreateRequest {
        image: c.image.clone(),
        name: Some(c.name.clone()),
        options: o,
        pull_policy: hoist_engine::PullPolicy::Missing,
        pull: opts.pull.clone(),
        record_access: None,
        replace: false,
        conf: opts.conf.clone(),
        progress: opts.progress.clone(),
    };
    let made = hoist_container::create(e.engine, e.cs, req)?;
    Ok(made.id)
}

/// The `User` of an image config, when it names one.
fn image_user(config: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(config).ok()?;
    v["config"]["User"]
        .as_str()
        .filter(|u| !u.is_empty())
        .map(String::from)
}

/// Runs the init containers one after the other (each must end with 0),
/// removes them unless the pod keeps them, then starts the containers
/// together.
fn start(e: &Engines<'_>, p: &PodPlan, out: &mut PlayedPod) -> Result<()> {
    for id in &out.init_containers {
        let c = e.cs.load(id)?;
        hoist_pod::prepare_start(e.cs, &c, e.launcher)?;
        e.launcher.start_detached(e.cs, id)?;
        lifecycle::wait_stopped(e.cs, id, None)?;
        let code = e.cs.load(id)?.exit_code().unwrap_or(0);
        if code != 0 {
            return Err(KubeError::Play(format!(
                "init container {} of pod {} exited with code {code}: the pod's containers are not started",
                e.cs.load(id).map(|c| c.config.name.clone()).unwrap_or_else(|_| id.clone()),
                p.name
            )));
        }
        if !p.keep_init {
            lifecycle::remove_member(e.cs, &e.cs.load(id)?, true)?;
        }
    }
    if !p.keep_init {
        out.init_containers.clear();
    }
    let members: Vec<&str> = out.containers.iter().map(String::as_str).collect();
    hoist_pod::start_members(e.cs, &e.pods.load(&out.id)?, &members, e.launcher)?;
    Ok(())
}

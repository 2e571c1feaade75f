//! One container of a pod spec as hoist's create options: command, env,
//! working directory, security context, limits and mounts.

use std::collections::BTreeMap;

use hoist_container::{CreateOptions, RestartPolicy};
use hoist_engine::PullPolicy;
use k8s_openapi::api::core::v1::{Container, PodSecurityContext, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::env::environment;
use super::quantity;
use super::sources::Sources;
use crate::error::{KubeError, Result};

/// A volume mounted into a container, by the pod volume's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPlan {
    pub volume: String,
    pub destination: String,
    pub read_only: bool,
    /// A path inside a hostPath volume.
    pub sub_path: Option<String>,
    /// `:z` (shared) or `:Z` (private): the SELinux label to give the
    /// host path.
    pub relabel: Option<String>,
}

/// A container to create in the pod.
#[derive(Debug, Clone)]
pub struct ContainerPlan {
    /// `POD-CONTAINER`, as podman names it.
    pub name: String,
    /// The name the YAML gives it.
    pub kube_name: String,
    pub image: String,
    pub pull_policy: PullPolicy,
    /// Without the pod's namespaces (joined when the pod exists) and
    /// without the mounts (made from `mounts` then).
    pub options: CreateOptions,
    pub mounts: Vec<MountPlan>,
}

/// What every container of a pod shares.
pub struct PodContext<'a> {
    pub pod_name: &'a str,
    pub meta: &'a ObjectMeta,
    /// The pod's annotations with `--annotation`s.
    pub annotations: &'a BTreeMap<String, String>,
    pub restart: RestartPolicy,
    pub security: Option<&'a PodSecurityContext>,
    pub log: Option<&'a hoist_container::logs::LogConfig>,
    pub volumes: &'a BTreeMap<String, super::volumes::VolumePlan>,
    pub sources: &'a Sources<'a>,
    /// The pod's SELinux MCS level (`seLinuxOptions.level`), for `:Z`.
    pub level: Option<&'a str>,
    /// Where `localhost/` seccomp profiles of the annotations are.
    pub seccomp_root: &'a std::path::Path,
}

pub fn plan(c: &Container, pod: &PodContext<'_>) -> Result<ContainerPlan> {
    let what = format!("container {:?} of pod {:?}", c.name, pod.pod_name);
    let image = c
        .image
        .clone()
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| {
            KubeError::Play(format!(
                "{what} has no image: every container needs spec.containers[].image"
            ))
        })?;
    if c.name.is_empty() {
        return Err(KubeError::Play(format!(
            "a container of pod {:?} has no name: every container needs spec.containers[].name",
            pod.pod_name
        )));
    }
    let mut o = CreateOptions::default();
    // Kubernetes' command replaces the entrypoint, its args the cmd; a
    // command alone drops the image's cmd.
    match (&c.command, &c.args) {
        (Some(cmd), args) => {
            o.entrypoint = Some(cmd.clone());
            o.command = Some(args.clone().unwrap_or_default());
        }
        (None, Some(args)) => o.command = Some(args.clone()),
        (None, None) => {}
    }
    o.env = environment(c, pod.meta, pod.sources)?;
    o.workdir = c.working_dir.clone().filter(|w| !w.is_empty());
    o.tty = c.tty == Some(true);
    o.interactive = c.stdin == Some(true);
    o.labels = pod.meta.labels.clone().unwrap_or_default();
    o.annotations = pod.annotations.clone();
    o.restart = pod.restart;
    if let Some(log) = pod.log {
        o.log = log.clone();
    }
    security(c, pod.security, &mut o)?;
    o.seccomp = super::seccomp::for_container(pod.annotations, &c.name, pod.seccomp_root)?;
    resources(c, &what, &mut o)?;
    let mounts = c
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| mount(m, &what, pod))
        .collect::<Result<_>>()?;
    Ok(ContainerPlan {
        name: format!("{}-{}", pod.pod_name, c.name),
        kube_name: c.name.clone(),
        image,
        pull_policy: pull_policy(c.image_pull_policy.as_deref())?,
        options: o,
        mounts,
    })
}

fn pull_policy(p: Option<&str>) -> Result<PullPolicy> {
    Ok(match p {
        None | Some("") | Some("IfNotPresent") => PullPolicy::Missing,
        Some("Always") => PullPolicy::Always,
        Some("Never") => PullPolicy::Never,
        Some(other) => {
            return Err(KubeError::Play(format!(
                "imagePullPolicy {other:?}: use Always, IfNotPresent or Never"
            )))
        }
    })
}

/// `runAsUser`/`runAsGroup` (the container's over the pod's), capabilities,
/// privileged, a read-only root and `allowPrivilegeEscalation: false`.
fn security(c: &Container, pod: Option<&PodSecurityContext>, o: &mut CreateOptions) -> Result<()> {
    let sc = c.security_context.as_ref();
    let user = sc
        .and_then(|s| s.run_as_user)
        .or(pod.and_then(|p| p.run_as_user));
    let group = sc
        .and_then(|s| s.run_as_group)
        .or(pod.and_then(|p| p.run_as_group));
    o.user = match (user, group) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        // A group alone: the image's user cannot be known here, root is
        // what Kubernetes runs an image without USER as.
        (None, Some(g)) => Some(format!("0:{g}")),
        (None, None) => None,
    };
    if let Some(p) = pod {
        o.group_add = p
            .supplemental_groups
            .iter()
            .flatten()
            .map(|g| g.to_string())
            .collect();
        sysctls(p, o);
    }
    let Some(sc) = sc else { return Ok(()) };
    o.privileged = sc.privileged == Some(true);
    o.read_only = sc.read_only_root_filesystem == Some(true);
    o.no_new_privileges = sc.allow_privilege_escalation == Some(false);
    if let Some(caps) = &sc.capabilities {
        o.cap_add = caps.add.iter().flatten().map(|c| cap_name(c)).collect();
        o.cap_drop = caps.drop.iter().flatten().map(|c| cap_name(c)).collect();
    }
    Ok(())
}

/// `NET_ADMIN` as podman records it: `CAP_NET_ADMIN` (`ALL` stays).
fn cap_name(c: &str) -> String {
    let c = c.to_ascii_uppercase();
    if c == "ALL" || c.starts_with("CAP_") {
        c
    } else {
        format!("CAP_{c}")
    }
}

fn sysctls(p: &PodSecurityContext, o: &mut CreateOptions) {
    for s in p.sysctls.iter().flatten() {
        o.sysctls.insert(s.name.clone(), s.value.clone());
    }
}

/// `limits` are the container's limits; `requests` its reservation and
/// CPU weight, as podman maps them.
fn resources(c: &Container, what: &str, o: &mut CreateOptions) -> Result<()> {
    let Some(r) = &c.resources else { return Ok(()) };
    let get =
        |m: &Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
         k: &str| m.as_ref().and_then(|m| m.get(k)).map(|q| q.0.clone());
    if let Some(q) = get(&r.limits, "memory") {
        o.memory = Some(quantity::bytes(&format!("{what}: limits.memory"), &q)?);
    }
    if let Some(q) = get(&r.limits, "cpu") {
        let cpus = quantity::cpus(&format!("{what}: limits.cpu"), &q)?;
        if cpus > 0.0 {
            o.cpus = Some(cpus);
        }
    }
    if let Some(q) = get(&r.requests, "memory") {
        o.memory_reservation = Some(quantity::bytes(&format!("{what}: requests.memory"), &q)?);
    }
    if let Some(q) = get(&r.requests, "cpu") {
        let cpus = quantity::cpus(&format!("{what}: requests.cpu"), &q)?;
        // Kubernetes' weight: 1024 shares a CPU, at least 2.
        o.cpu_shares = Some(((cpus * 1024.0) as u64).max(2));
    }
    Ok(())
}

/// A volumeMount; podman reads `mountPath: /dir:ro,z` with options after
/// a colon.
fn mount(m: &VolumeMount, what: &str, pod: &PodContext<'_>) -> Result<MountPlan> {
    if !pod.volumes.contains_key(&m.name) {
        return Err(KubeError::Play(format!(
            "{what}: volumeMount {:?} names no volume of the pod: add it to spec.volumes",
            m.name
        )));
    }
    let (destination, opts) = match m.mount_path.split_once(':') {
        Some((d, o)) => (d, o),
        None => (m.mount_path.as_str(), ""),
    };
    if !destination.starts_with('/') {
        return Err(KubeError::Play(format!(
            "{what}: mountPath {:?} must be an absolute path",
            m.mount_path
        )));
    }
    let mut read_only = m.read_only == Some(true);
    let mut relabel = None;
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => read_only = true,
            "rw" => read_only = false,
            "z" => relabel = Some(super::hostpath::SHARED_LABEL.to_string()),
            // Private to the container: its MCS level, when it has one.
            "Z" => relabel = Some(private_label(pod.level)),
            other => {
                return Err(KubeError::Play(format!(
                    "{what}: mount option {other:?} in mountPath {:?}: use ro, rw, z or Z",
                    m.mount_path
                )))
            }
        }
    }
    let sub_path = m.sub_path.clone().filter(|s| !s.is_empty());
    if let Some(s) = &sub_path {
        let hostpath = matches!(
            pod.volumes.get(&m.name),
            Some(super::volumes::VolumePlan::HostPath { .. })
        );
        if !hostpath || s.starts_with('/') || s.split('/').any(|p| p == "..") {
            return Err(KubeError::Play(format!(
                "{what}: subPath {s:?}: kube play supports a relative subPath of a hostPath volume only"
            )));
        }
    }
    Ok(MountPlan {
        volume: m.name.clone(),
        destination: destination.to_string(),
        read_only,
        sub_path,
        relabel,
    })
}

/// The label of a `:Z` mount: container_file_t at the container's level.
fn private_label(level: Option<&str>) -> String {
    format!(
        "system_u:object_r:container_file_t:{}",
        level.unwrap_or("s0")
    )
}

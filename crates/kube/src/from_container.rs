//! A [`ContainerDesc`] from one of hoist's containers, by way of its
//! inspect data and the image config it was created from.

use hoist_container::{Container, InspectMount, MountOption};

use crate::error::KubeError;
use crate::error::Result;
use crate::model::{ContainerDesc, MountDesc, PodDesc, PortDesc};

/// What `kube generate` needs of a pod (hoist-pod keeps the record).
#[derive(Debug, Clone, Copy)]
pub struct PodInfo<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub hostname: &'a str,
    /// The container holding its namespaces and published ports.
    pub infra: Option<&'a Container>,
}

/// Describes a pod and its own containers (`members`, infra excluded).
pub fn from_pod(pod: PodInfo<'_>, members: &[Container]) -> Result<PodDesc> {
    if members.is_empty() {
        return Err(KubeError::OnlyInfra(pod.id.to_string()));
    }
    let mut containers: Vec<ContainerDesc> =
        members.iter().map(from_container).collect::<Result<_>>()?;
    // `kube play` names a pod's containers POD-NAME: the YAML has NAME,
    // so that playing it again makes the same names.
    let prefix = format!("{}-", pod.name);
    for c in &mut containers {
        if let Some(rest) = c.name.strip_prefix(&prefix).filter(|r| !r.is_empty()) {
            c.name = rest.to_string();
        }
    }
    let ports = match pod.infra {
        Some(infra) => from_container(infra)?.ports,
        None => Vec::new(),
    };
    Ok(PodDesc {
        name: pod.name.to_string(),
        id: Some(pod.id.to_string()),
        hostname: (!pod.hostname.is_empty()).then(|| pod.hostname.to_string()),
        containers,
        ports,
        created: None,
    })
}

/// Variables the engine sets in every container: not the user's, so not
/// worth carrying into the YAML.
const ENGINE_ENV: &[&str] = &["container", "HOSTNAME", "HOME"];

/// Describes `c` for `kube generate`.
pub fn from_container(c: &Container) -> Result<ContainerDesc> {
    let i = c.inspect();
    let image = c.image_config()?;
    let img = image.config().as_ref();
    let image_entrypoint = img.and_then(|c| c.entrypoint().clone()).unwrap_or_default();
    let image_cmd = img.and_then(|c| c.cmd().clone()).unwrap_or_default();
    let image_env = img.and_then(|c| c.env().clone()).unwrap_or_default();
    let image_working_dir = img
        .and_then(|c| c.working_dir().clone())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let entrypoint = i
        .config
        .entrypoint
        .clone()
        .unwrap_or_else(|| image_entrypoint.clone());
    // The effective command line is the entrypoint followed by the
    // arguments; what follows the entrypoint is the cmd.
    let full: Vec<String> = std::iter::once(i.path.clone())
        .filter(|p| !p.is_empty())
        .chain(i.args.iter().cloned())
        .collect();
    let cmd = match full.strip_prefix(entrypoint.as_slice()) {
        Some(rest) => rest.to_vec(),
        None => full.clone(),
    };
    let env = i
        .config
        .env
        .iter()
        .filter(|e| {
            let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
            // The engine's TERM=xterm is no setting of the user's either.
            !ENGINE_ENV.contains(&key) && e.as_str() != "TERM=xterm"
        })
        .cloned()
        .collect();
    let ports = i
        .network_settings
        .ports
        .iter()
        .filter_map(|(key, bindings)| {
            let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
            Some(PortDesc {
                container_port: port.parse().ok()?,
                host_port: bindings
                    .first()
                    .and_then(|b| b.host_port.parse().ok())
                    .unwrap_or(0),
                protocol: proto.to_string(),
            })
        })
        .collect();
    let mounts = i
        .mounts
        .iter()
        .filter_map(|m| match m {
            InspectMount::Bind {
                source,
                destination,
                rw,
                ..
            } => Some(MountDesc::Bind {
                source: source.display().to_string(),
                destination: destination.clone(),
                read_only: !rw,
            }),
            InspectMount::Volume {
                name,
                destination,
                rw,
                ..
            } if anonymous(c, name) => Some(MountDesc::Anonymous {
                name: name.clone(),
                destination: destination.clone(),
                read_only: !rw,
            }),
            InspectMount::Volume {
                name,
                destination,
                rw,
                ..
            } => Some(MountDesc::Volume {
                name: name.clone(),
                destination: destination.clone(),
                read_only: !rw,
            }),
            InspectMount::Tmpfs { destination, .. } => Some(MountDesc::Tmpfs {
                destination: destination.clone(),
            }),
            // Kubernetes has no image volumes (before 1.31's alpha).
            InspectMount::Image { .. } => None,
        })
        .collect();
    Ok(ContainerDesc {
        name: i.name.clone(),
        image: i.config.image.clone(),
        entrypoint,
        cmd,
        image_entrypoint,
        image_cmd,
        env,
        image_env,
        working_dir: i.config.working_dir.clone(),
        image_working_dir,
        user: i.config.user.clone(),
        ports,
        mounts,
        cap_add: i.host_config.cap_add.clone(),
        cap_drop: i.host_config.cap_drop.clone(),
        privileged: i.host_config.privileged,
        read_only: i.host_config.readonly_rootfs,
        memory: i.host_config.memory,
        nano_cpus: i.host_config.nano_cpus,
        restart_policy: i.host_config.restart_policy.name.clone(),
        tty: i.config.tty,
        auto_remove: i.host_config.auto_remove,
        init: i.host_config.init,
        labels: i.config.labels.into_iter().collect(),
    })
}

/// Whether volume `name` is one of `c`'s anonymous volumes.
fn anonymous(c: &Container, name: &str) -> bool {
    c.config
        .options
        .mounts
        .iter()
        .any(|m| matches!(m, MountOption::Volume { name: n, anonymous: true, .. } if n == name))
}

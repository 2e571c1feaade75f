//! Checkpoints of containers that share namespaces with their pod: which
//! namespaces CRIU must leave to the pod (see hoist-checkpoint's
//! `namespaces`), and `restore --pod`, which puts an archived pod member
//! into another pod that shares the same namespaces.

use std::path::PathBuf;

use hoist_checkpoint::{NamespaceKind, SharedNamespace};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{ContainerError, Result};
use crate::options::CreateOptions;

/// The pod `restore --pod` restores into, as its caller (which knows pods)
/// describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodTarget {
    pub id: String,
    pub name: String,
    /// Its infra container, which holds the shared namespaces (running).
    pub infra_id: String,
    /// What the pod shares (`--share`): `ipc`, `net`, `uts`, `pid`, `cgroup`.
    pub shared: Vec<String>,
    pub hostname: String,
    /// The pod's cgroup, when its containers share it.
    pub cgroup_path: Option<String>,
}

/// The namespaces of `spec` joined from elsewhere (a path), by kind.
pub(crate) fn joined(spec: &Spec) -> Vec<(LinuxNamespaceType, PathBuf)> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| Some((n.typ(), n.path().clone()?)))
        .collect()
}

fn kind_of(typ: LinuxNamespaceType) -> Option<NamespaceKind> {
    match typ {
        LinuxNamespaceType::Ipc => Some(NamespaceKind::Ipc),
        LinuxNamespaceType::Uts => Some(NamespaceKind::Uts),
        LinuxNamespaceType::Cgroup => Some(NamespaceKind::Cgroup),
        _ => None,
    }
}

/// What the dump of the container running `spec` as `pid` must leave out:
/// its shared IPC, UTS and cgroup namespaces (its own view of each). A
/// shared PID namespace cannot be dumped at all: the tree's first process
/// is not that namespace's init.
pub(crate) fn shared_for_dump(name: &str, spec: &Spec, pid: i32) -> Result<Vec<SharedNamespace>> {
    let joined = joined(spec);
    if joined.iter().any(|(t, _)| *t == LinuxNamespaceType::Pid) {
        return Err(ContainerError::Invalid(format!(
            "cannot checkpoint {name}: it shares another container's PID namespace (--pid container:, or a pod made with --share pid), and CRIU can only dump a tree whose first process is its PID namespace's init"
        )));
    }
    Ok(joined
        .into_iter()
        .filter_map(|(t, _)| kind_of(t))
        .map(|kind| SharedNamespace {
            kind,
            path: format!("/proc/{pid}/ns/{}", kind.proc_name()).into(),
        })
        .collect())
}

/// The namespaces a restore must put the tree into: those `spec` (the
/// restored container's) joins. They must be the kinds the dump left out
/// (`dumped`): a namespace left out and not joined would leave the tree in
/// the host's; one dumped and joined as well would not be the pod's.
pub(crate) fn shared_for_restore(dumped: &Spec, spec: &Spec) -> Result<Vec<SharedNamespace>> {
    let kinds = |s: &Spec| -> Vec<NamespaceKind> {
        joined(s)
            .into_iter()
            .filter_map(|(t, _)| kind_of(t))
            .collect()
    };
    let (before, now) = (kinds(dumped), kinds(spec));
    let sorted = |mut v: Vec<NamespaceKind>| {
        v.sort_by_key(|k| k.proc_name());
        v
    };
    if sorted(before.clone()) != sorted(now) {
        return Err(ContainerError::Invalid(format!(
            "the checkpoint was taken while the container shared its {} namespaces with a pod, and the container it is restored into shares {}: restore it into a pod that shares the same namespaces (--pod)",
            names(&before),
            names(&kinds(spec)),
        )));
    }
    Ok(joined(spec)
        .into_iter()
        .filter_map(|(t, path)| {
            Some(SharedNamespace {
                kind: kind_of(t)?,
                path,
            })
        })
        .collect())
}

fn names(kinds: &[NamespaceKind]) -> String {
    if kinds.is_empty() {
        return "no".into();
    }
    kinds
        .iter()
        .map(|k| k.proc_name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether option value `v` (`--ipc`, `--uts`, ...) joins another
/// container's namespace.
fn joins_container(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| v.starts_with("container:"))
}

/// Makes `o`, the archived container's options, those of its restored
/// copy under `restore --pod` (`target`): a pod member goes into the
/// target pod (which must share what it shared), and only a pod member may.
pub(crate) fn apply_pod_target(o: &mut CreateOptions, target: Option<&PodTarget>) -> Result<()> {
    let in_pod = o.pod.is_some();
    let t = match (in_pod, target) {
        (false, None) => return Ok(()),
        (true, None) => {
            return Err(ContainerError::Invalid(
                "the checkpointed container was in a pod: restore it into a pod with --pod POD"
                    .into(),
            ))
        }
        (false, Some(t)) => {
            return Err(ContainerError::Invalid(format!(
                "cannot restore into pod {}: the checkpointed container was not in a pod",
                t.name
            )))
        }
        (true, Some(t)) => t,
    };
    let infra = format!("container:{}", t.infra_id);
    let shares = |ns: &str| t.shared.iter().any(|s| s == ns);
    let need = |ns: &str, label: &str| -> Result<()> {
        if shares(ns) {
            Ok(())
        } else {
            Err(ContainerError::Invalid(format!(
                "pod {} does not share the {label} namespace, which the checkpointed container shared with its pod: restore it into a pod created with --share including {ns}",
                t.name
            )))
        }
    };
    for (value, ns, label) in [
        (&mut o.ipc, "ipc", "IPC"),
        (&mut o.uts, "uts", "UTS"),
        (&mut o.pid, "pid", "PID"),
        (&mut o.cgroupns, "cgroup", "cgroup"),
    ] {
        if joins_container(value) {
            need(ns, label)?;
            *value = Some(infra.clone());
        }
    }
    if joins_container(&o.uts) {
        o.hostname = Some(t.hostname.clone());
    }
    if o.networks.len() == 1 && o.networks[0].starts_with("container:") {
        need("net", "network")?;
        o.networks = vec![infra];
        // The pod's network is the pod's: its addresses and ports.
        o.ports.clear();
        o.run_flags.static_ips.clear();
        o.run_flags.static_mac = None;
    }
    o.pod = Some(t.id.clone());
    o.pod_name = Some(t.name.clone());
    o.run_flags.cgroup_parent = t.cgroup_path.clone();
    Ok(())
}

/// For an archive podman made: its container's pod (config.dump's `pod`)
/// and the namespaces its spec joins, as hoist's options say them.
pub(crate) fn podman_pod_options(pod: Option<String>, spec: &Spec, o: &mut CreateOptions) {
    let Some(pod) = pod.filter(|p| !p.is_empty()) else {
        return;
    };
    o.pod = Some(pod.clone());
    let archived = Some(format!("container:{pod}"));
    for (typ, _) in joined(spec) {
        match typ {
            LinuxNamespaceType::Ipc => o.ipc = archived.clone(),
            LinuxNamespaceType::Uts => o.uts = archived.clone(),
            LinuxNamespaceType::Pid => o.pid = archived.clone(),
            LinuxNamespaceType::Cgroup => o.cgroupns = archived.clone(),
            LinuxNamespaceType::Network => o.networks = vec![archived.clone().unwrap_or_default()],
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBuilder, LinuxNamespaceBuilder, SpecBuilder};

    fn spec_joining(kinds: &[LinuxNamespaceType]) -> Spec {
        let mut ns = vec![LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::Mount)
            .build()
            .unwrap()];
        for k in kinds {
            ns.push(
                LinuxNamespaceBuilder::default()
                    .typ(*k)
                    .path(format!("/proc/4242/ns/{k:?}"))
                    .build()
                    .unwrap(),
            );
        }
        SpecBuilder::default()
            .linux(LinuxBuilder::default().namespaces(ns).build().unwrap())
            .build()
            .unwrap()
    }

    fn pod_member() -> CreateOptions {
        CreateOptions {
            pod: Some("oldpod".into()),
            pod_name: Some("old".into()),
            ipc: Some("container:oldinfra".into()),
            uts: Some("container:oldinfra".into()),
            networks: vec!["container:oldinfra".into()],
            hostname: Some("old".into()),
            ..CreateOptions::default()
        }
    }

    fn target(shared: &[&str]) -> PodTarget {
        PodTarget {
            id: "newpod".into(),
            name: "new".into(),
            infra_id: "newinfra".into(),
            shared: shared.iter().map(|s| s.to_string()).collect(),
            hostname: "new".into(),
            cgroup_path: Some("/hoist/newpod".into()),
        }
    }

    #[test]
    fn dump_leaves_shared_ipc_uts_and_cgroup_out() {
        use LinuxNamespaceType::*;
        let spec = spec_joining(&[Network, Ipc, Uts]);
        let shared = shared_for_dump("c", &spec, 77).unwrap();
        let paths: Vec<_> = shared
            .iter()
            .map(|s| s.path.display().to_string())
            .collect();
        assert_eq!(paths, ["/proc/77/ns/ipc", "/proc/77/ns/uts"]);
    }

    #[test]
    fn a_shared_pid_namespace_cannot_be_dumped() {
        let spec = spec_joining(&[LinuxNamespaceType::Pid]);
        let err = shared_for_dump("c", &spec, 77).unwrap_err().to_string();
        assert!(err.contains("PID namespace"), "{err}");
    }

    #[test]
    fn restore_joins_the_new_pods_namespaces_of_the_same_kinds() {
        use LinuxNamespaceType::*;
        let dumped = spec_joining(&[Ipc, Uts]);
        let now = spec_joining(&[Uts, Ipc, Network]);
        let shared = shared_for_restore(&dumped, &now).unwrap();
        assert_eq!(shared.len(), 2);
        assert!(shared.iter().all(|s| s.path.starts_with("/proc/4242")));
    }

    #[test]
    fn restore_refuses_other_kinds_than_were_left_out() {
        use LinuxNamespaceType::*;
        let err = shared_for_restore(&spec_joining(&[Ipc, Uts]), &spec_joining(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ipc, uts") && err.contains("--pod"), "{err}");
        assert!(shared_for_restore(&spec_joining(&[]), &spec_joining(&[Ipc])).is_err());
    }

    #[test]
    fn a_pod_member_moves_into_the_target_pod() {
        let mut o = pod_member();
        o.ports = vec![hoist_network::PortMapping::parse("8080:80").unwrap()];
        apply_pod_target(&mut o, Some(&target(&["ipc", "net", "uts", "cgroup"]))).unwrap();
        assert_eq!(o.ipc.as_deref(), Some("container:newinfra"));
        assert_eq!(o.uts.as_deref(), Some("container:newinfra"));
        assert_eq!(o.networks, ["container:newinfra"]);
        assert_eq!(o.hostname.as_deref(), Some("new"));
        assert_eq!(o.pod.as_deref(), Some("newpod"));
        assert_eq!(o.pod_name.as_deref(), Some("new"));
        assert_eq!(o.run_flags.cgroup_parent.as_deref(), Some("/hoist/newpod"));
        assert!(o.ports.is_empty());
    }

    #[test]
    fn the_target_pod_must_share_what_the_member_shared() {
        let mut o = pod_member();
        let err = apply_pod_target(&mut o, Some(&target(&["net", "uts"])))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not share the IPC namespace"), "{err}");
    }

    #[test]
    fn pod_members_need_pod_and_others_refuse_it() {
        let err = apply_pod_target(&mut pod_member(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--pod"), "{err}");
        let err = apply_pod_target(&mut CreateOptions::default(), Some(&target(&["ipc"])))
            .unwrap_err()
            .to_string();
        assert!(err.contains("was not in a pod"), "{err}");
        let mut plain = CreateOptions::default();
        apply_pod_target(&mut plain, None).unwrap();
        assert_eq!(plain, CreateOptions::default());
    }
}

//! `pod clone`: a new pod with the configuration of an existing one (its
//! shared namespaces, limits, mounts, devices, labels and the infra
//! container's options), which the caller may change before it is made.
//! As podman 4.3, the clone gets a new infra container
//! (`INFRA-NAME-clone`) and none of the other containers.

use hoist_container::Containers;

use crate::{Pod, PodSpec, Pods, Result};

/// `NAME-clone`, or the first of `NAME-clone1`, `NAME-clone2`, ... that is
/// free by `taken`.
fn free_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = format!("{name}-clone");
    if !taken(&base) {
        return base;
    }
    (1..)
        .map(|i| format!("{base}{i}"))
        .find(|n| !taken(n))
        .expect("some suffix is free")
}

/// The spec that makes a copy of `pod`, named `NAME-clone` (its infra
/// container `INFRA-clone`) unless the caller names it.
pub fn spec_of(
    cs: &Containers,
    pods: &Pods,
    pod: &Pod,
    conf: hoist_config::ContainersConf,
) -> Result<PodSpec> {
    let infra = pod.infra_id.as_deref().map(|id| cs.load(id)).transpose()?;
    let mut infra_options = infra
        .as_ref()
        .map(|c| c.config.options.clone())
        .unwrap_or_default();
    // What `create` sets again for the new pod, or resolved already.
    infra_options.volumes_from.clear();
    infra_options.run_flags.cgroup_parent = None;
    infra_options.pod = None;
    infra_options.pod_name = None;
    let infra_command = infra_options.entrypoint.take();
    let share = if pod.shared.is_empty() {
        "none".to_string()
    } else {
        pod.shared.join(",")
    };
    Ok(PodSpec {
        name: Some(free_name(&pod.name, |n| pods.get(n).is_ok())),
        labels: pod.labels.clone(),
        infra: infra.is_some(),
        infra_image: pod.infra_image.clone(),
        infra_command,
        infra_name: infra
            .as_ref()
            .map(|c| free_name(c.name(), |n| cs.id_of_name(n).is_some())),
        share: Some(share),
        pid: pod.pid.clone(),
        uts: pod.uts.clone(),
        // A host name that was the old pod's name follows the new name.
        hostname: (pod.hostname != pod.name).then(|| pod.hostname.clone()),
        exit_policy: Some(pod.exit_policy.clone()),
        cgroup_parent: pod.cgroup_parent.clone(),
        share_parent: Some(pod.share_parent),
        resources: pod.resources.clone(),
        security_opt: pod.security_opt.clone(),
        replace: false,
        infra_options,
        create_command: Vec::new(),
        conf,
        // A clone is nobody's kube play.
        service_container: None,
    })
}

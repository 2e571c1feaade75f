//! Pods: groups of containers that share namespaces (by default ipc, net
//! and uts) held by an infra container, and are started, stopped
//! and removed together, as podman 4.3's pods. The records live under the
//! engine root (`pods/`); containers are made and run only through
//! hoist-container's public functions.

pub mod cgroup;
pub mod clone;
mod error;
pub mod infra;
pub mod labels;
pub mod namespaces;
mod store;

use std::collections::BTreeMap;

use hoist_container::{
    lifecycle, Container, ContainerError, Containers, CreateOptions, CreateRequest,
    MonitorLauncher, MountOption, PendingStart, StartGate, Status,
};
use hoist_engine::Engine;

pub use cgroup::Resources;
pub use error::{PodError, Result};
pub use store::{Pod, Pods};

/// The namespaces a pod shares unless `--share` says otherwise (podman
/// 4.3's default; `cgroup` only when asked for).
pub const DEFAULT_SHARE: &[&str] = &["ipc", "net", "uts"];
const KNOWN_NAMESPACES: &[&str] = &["cgroup", "ipc", "net", "pid", "uts"];

/// What `pod create` asks for.
#[derive(Debug, Default)]
pub struct PodSpec {
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Whether it gets an infra container (`--infra`, default true).
    pub infra: bool,
    pub infra_image: Option<String>,
    pub infra_command: Option<Vec<String>>,
    pub infra_name: Option<String>,
    /// `--share`: a list, or `+ns` to add to the default.
    pub share: Option<String>,
    /// `--pid` (`host`, `private` or `ns:PATH`) and `--uts` (`host` or
    /// `private`).
    pub pid: Option<String>,
    pub uts: Option<String>,
    pub hostname: Option<String>,
    pub exit_policy: Option<String>,
    pub cgroup_parent: Option<String>,
    /// `--share-parent` (`None`: true).
    pub share_parent: Option<bool>,
    /// `--memory`, `--cpus`, ...: the pod cgroup's limits.
    pub resources: Resources,
    /// `--security-opt` as given (applied to the infra container through
    /// `infra_options`; kept for `pod inspect`).
    pub security_opt: Vec<String>,
    /// `--replace`: remove a pod of the same name first.
    pub replace: bool,
    /// The infra container's options (networks, ports, hosts, DNS, mounts,
    /// devices, sysctls, security options); its mounts and devices are
    /// given to every container of the pod.
    pub infra_options: CreateOptions,
    pub create_command: Vec<String>,
    /// containers.conf (`infra_image`, ...).
    pub conf: hoist_config::ContainersConf,
    /// `kube play --service-container`: the ID of the service container
    /// that runs while the pod does.
    pub service_container: Option<String>,
}

/// `--share`: the namespaces to share.
pub fn parse_share(value: Option<&str>) -> Result<Vec<String>> {
    let Some(value) = value else {
        return Ok(DEFAULT_SHARE.iter().map(|s| s.to_string()).collect());
    };
    let (mut out, list) = match value.strip_prefix('+') {
        Some(rest) => (
            DEFAULT_SHARE
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
            rest,
        ),
        None => (Vec::new(), value),
    };
    for ns in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if ns == "none" {
            continue;
        }
        if !KNOWN_NAMESPACES.contains(&ns) {
            return Err(PodError::Invalid(format!(
                "invalid kernel namespace to share: {ns}. Options are: cgroup, ipc, net, pid, uts or none"
            )));
        }
        if !out.iter().any(|s| s == ns) {
            out.push(ns.to_string());
        }
    }
    Ok(out)
}

/// `--exit-policy`.
pub fn parse_exit_policy(value: Option<&str>) -> Result<String> {
    match value.unwrap_or("continue") {
        p @ ("continue" | "stop") => Ok(p.to_string()),
        other => Err(PodError::Invalid(format!(
            "running pod create option: invalid pod exit policy: {other:?}"
        ))),
    }
}

fn random_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| format!("{:02x}", rng.gen::<u8>()))
        .collect()
}

/// podman's random pod names are adjective_noun like containers'; a short
/// hex suffix keeps them unique here.
fn random_name(id: &str) -> String {
    format!("pod_{}", &id[..8])
}

/// `pod create`: the record, and the infra container (created, not
/// started). Nothing is left behind on failure.
pub fn create(engine: &Engine, cs: &Containers, pods: &Pods, spec: PodSpec) -> Result<Pod> {
    let shared = parse_share(spec.share.as_deref())?;
    let exit_policy = parse_exit_policy(spec.exit_policy.as_deref())?;
    let pid = namespaces::parse_mode("pid", spec.pid.as_deref())?;
    let uts = namespaces::parse_mode("uts", spec.uts.as_deref())?;
    if uts.as_deref() == Some("host") && spec.hostname.is_some() {
        // podman's wording.
        return Err(PodError::Invalid(
            "invalid config provided: cannot set hostname when running in the host UTS namespace: invalid configuration".into(),
        ));
    }
    if let Some(p) = &spec.cgroup_parent {
        cgroup::check_parent(p)?;
    }
    let id = random_id();
    let name = spec.name.clone().unwrap_or_else(|| random_name(&id));
    if spec.replace {
        if let Ok(old) = pods.get(&name) {
            remove(cs, pods, &old, true, Some(0))?;
        }
    }
    let host_network = spec.infra_options.networks.iter().any(|n| n == "host");
    let share_parent = spec.share_parent.unwrap_or(true);
    let mut pod = Pod {
        id: id.clone(),
        name: name.clone(),
        labels: spec.labels.clone(),
        created: chrono::Utc::now(),
        shared,
        exit_policy,
        cgroup_parent: spec.cgroup_parent.clone(),
        hostname: spec.hostname.clone().unwrap_or_else(|| name.clone()),
        host_network,
        create_command: spec.create_command.clone(),
        share_parent,
        // podman sets a pod's limits on its cgroup only: without one
        // (`--share-parent=false`) they have nowhere to go.
        resources: if share_parent {
            spec.resources.clone()
        } else {
            Resources::default()
        },
        mounts: spec.infra_options.mounts.clone(),
        devices: spec.infra_options.devices.clone(),
        security_opt: spec.security_opt.clone(),
        infra_image: spec.infra_image.clone(),
        pid,
        uts,
        ..Default::default()
    };
    let undo = |pod: &Pod| {
        let _ = pods.delete(pod);
        cgroup::remove(pod);
    };
    if let Err(e) = pods.claim_name(&name, &id) {
        undo(&pod);
        return Err(e);
    }
    if let Err(e) = cgroup::ensure(&pod) {
        undo(&pod);
        return Err(e);
    }
    if spec.infra {
        match create_infra(engine, cs, &pod, spec) {
            Ok(infra) => {
                // `--volumes-from` is resolved by now: the pod's
                // containers get the infra container's mounts.
                pod.mounts = inherited_mounts(&infra.options.mounts);
                pod.uid_map = infra.options.run_flags.uid_map.clone();
                pod.gid_map = infra.options.run_flags.gid_map.clone();
                pod.infra_id = Some(infra.id);
            }
            Err(e) => {
                undo(&pod);
                return Err(e);
            }
        }
    }
    if let Err(e) = pods.save(&pod) {
        undo(&pod);
        return Err(e);
    }
    Ok(pod)
}

/// The infra container's mounts as its pod's other containers get them:
/// its anonymous volumes are shared, not theirs to remove.
fn inherited_mounts(mounts: &[MountOption]) -> Vec<MountOption> {
    mounts
        .iter()
        .cloned()
        .map(|mut m| {
            if let MountOption::Volume { anonymous, .. } = &mut m {
                *anonymous = false;
            }
            m
        })
        .collect()
}

fn create_infra(
    engine: &Engine,
    cs: &Containers,
    pod: &Pod,
    spec: PodSpec,
) -> Result<hoist_container::ContainerConfig> {
    let image = match spec
        .infra_image
        .clone()
        .or_else(|| spec.conf.engine().infra_image().map(String::from))
    {
        Some(i) => i,
        None => infra::ensure_pause_image(engine)?,
    };
    let mut o = spec.infra_options;
    o.entrypoint = spec.infra_command.clone();
    if spec.infra_command.is_some() {
        o.command = Some(Vec::new());
    }
    // A namespace that is not the pod's own keeps the host name it has.
    o.hostname = pod.uts.is_none().then(|| pod.hostname.clone());
    o.pid = pod.pid.clone();
    o.uts = pod.uts.clone();
    o.pod = Some(pod.id.clone());
    o.pod_name = Some(pod.name.clone());
    o.infra = true;
    o.pod_exit_policy = Some(pod.exit_policy.clone());
    o.service_container = spec.service_container.clone();
    o.labels.clear();
    o.create_command = pod.create_command.clone();
    if let Some(path) = pod.cgroup_path() {
        o.run_flags.cgroup_parent = Some(path);
    }
    let req = CreateRequest {
        image,
        name: Some(
            spec.infra_name
                .clone()
                .unwrap_or_else(|| format!("{}-infra", &pod.id[..12])),
        ),
        options: o,
        pull_policy: hoist_engine::PullPolicy::Missing,
        pull: hoist_engine::PullOptions::default(),
        record_access: None,
        replace: false,
        conf: spec.conf,
        progress: None,
    };
    match hoist_container::create(engine, cs, req) {
        Ok(c) => Ok(c),
        // podman's wording: scripts match it.
        Err(ContainerError::NameInUse { name, id }) => Err(PodError::Invalid(format!(
            "creating container storage: the container name {name:?} is already in use by {id}. You have to remove that container to be able to reuse that name: that name is already in use"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Makes `o` the options of a container of `pod`: it joins the infra
/// container's shared namespaces and gets the pod's host name.
pub fn join_pod(pod: &Pod, o: &mut CreateOptions) -> Result<()> {
    o.pod = Some(pod.id.clone());
    o.pod_name = Some(pod.name.clone());
    join_user_namespace(pod, o)?;
    inherit(pod, o);
    let Some(infra) = &pod.infra_id else {
        return Ok(());
    };
    let target = format!("container:{infra}");
    if pod.shares("uts") {
        if o.hostname.is_some() {
            return Err(PodError::Invalid(
                "invalid config provided: cannot set hostname when joining the pod UTS namespace: invalid configuration".into(),
            ));
        }
        match &pod.uts {
            None => {
                o.uts = Some(target.clone());
                o.hostname = Some(pod.hostname.clone());
            }
            // The infra container is in the host's UTS namespace: members
            // name it directly, so none sets a host name in it (podman
            // leaves the host's name alone).
            Some(mode) => o.uts = Some(mode.clone()),
        }
    }
    if pod.shares("ipc") {
        o.ipc = Some(target.clone());
    }
    if pod.shares("pid") {
        o.pid = Some(target.clone());
    }
    if pod.shares("net") {
        if !o.ports.is_empty() {
            return Err(PodError::Invalid(
                "invalid config provided: published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod".into(),
            ));
        }
        o.networks = vec![target];
    }
    Ok(())
}

/// A pod's containers share its user namespace (`pod create --uidmap`):
/// they get its maps, and none may ask for other ones.
fn join_user_namespace(pod: &Pod, o: &mut CreateOptions) -> Result<()> {
    let f = &mut o.run_flags;
    let own = f.user_namespace().map(|(u, g)| (u.to_vec(), g.to_vec()));
    let pods = (!pod.uid_map.is_empty()).then(|| (pod.uid_map.clone(), pod.gid_map.clone()));
    match (own, pods) {
        (None, None) => Ok(()),
        (None, Some((uids, gids))) => {
            f.uid_map = uids;
            f.gid_map = gids;
            Ok(())
        }
        (Some(own), Some(pods)) if own == pods => Ok(()),
        (Some(_), _) => Err(PodError::Invalid(
            "--uidmap/--gidmap: a container of a pod uses the pod's user namespace: give the maps to `pod create` instead".into(),
        )),
    }
}

/// What every container of `pod` gets from it: the pod's cgroup as its
/// parent (unless it names its own), and the pod's mounts and devices (its
/// own win where they name the same destination).
fn inherit(pod: &Pod, o: &mut CreateOptions) {
    if let Some(path) = pod.cgroup_path() {
        if o.run_flags.cgroup_parent.is_none() {
            o.run_flags.cgroup_parent = Some(path);
        }
    }
    for m in &pod.mounts {
        if !o.mounts.iter().any(|x| x.destination() == m.destination()) {
            o.mounts.push(m.clone());
        }
    }
    for d in &pod.devices {
        if !o.devices.contains(d) {
            o.devices.push(d.clone());
        }
    }
}

/// The containers of `pod`, oldest first (the infra container first).
pub fn containers(cs: &Containers, pod: &Pod) -> Result<Vec<Container>> {
    let mut out: Vec<Container> = cs
        .list()?
        .into_iter()
        .filter(|c| c.config.options.pod.as_deref() == Some(pod.id.as_str()))
        .collect();
    out.sort_by_key(|c| (!c.config.options.infra, c.config.created));
    Ok(out)
}

/// podman's pod status from its containers' states.
pub fn status(cs: &Containers, pod: &Pod) -> Result<&'static str> {
    let states: Vec<Status> = containers(cs, pod)?.iter().map(|c| c.status()).collect();
    Ok(status_of(&states))
}

fn status_of(states: &[Status]) -> &'static str {
    let count = |f: fn(&Status) -> bool| states.iter().filter(|s| f(s)).count();
    let total = states.len();
    let running = count(|s| matches!(s, Status::Running | Status::Stopping));
    let paused = count(|s| *s == Status::Paused);
    let exited = count(|s| *s == Status::Exited);
    match () {
        _ if total == 0 => "Created",
        _ if running == total => "Running",
        _ if running > 0 => "Degraded",
        _ if paused == total => "Paused",
        _ if paused > 0 => "Degraded",
        _ if exited == total => "Exited",
        _ if exited > 0 => "Stopped",
        _ => "Created",
    }
}

/// Starts the infra container of `pod` (and the service container, which
/// runs whenever one of its pods does) unless it runs.
fn ensure_infra_running(cs: &Containers, pod: &Pod, launcher: &MonitorLauncher) -> Result<()> {
    match launch_infra(cs, pod, launcher)? {
        Some(pending) => Ok(pending.wait()?),
        None => Ok(()),
    }
}

/// Before container `c` starts: the infra container of its pod must run
/// (its namespaces are joined).
pub fn prepare_start(cs: &Containers, c: &Container, launcher: &MonitorLauncher) -> Result<()> {
    let Some(pod_id) = &c.config.options.pod else {
        return Ok(());
    };
    if c.config.options.infra {
        return Ok(());
    }
    let pods = Pods::open(cs.root())?;
    match pods.load(pod_id) {
        Ok(pod) => ensure_infra_running(cs, &pod, launcher),
        Err(PodError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `pod start`: the infra container, then the others together (each in
/// the infra container's namespaces, none waiting for another, as podman
/// starts a pod's containers in parallel); the first failure is returned
/// once all have been tried.
pub fn start(cs: &Containers, pod: &Pod, launcher: &MonitorLauncher) -> Result<()> {
    let members: Vec<Container> = containers(cs, pod)?
        .into_iter()
        .filter(|c| !c.config.options.infra && !c.status().is_active())
        .collect();
    let ids: Vec<&str> = members.iter().map(|c| c.id()).collect();
    start_members(cs, pod, &ids, launcher)
}

/// Starts containers `members` of `pod` together, and its infra container
/// first when it is not running. Their monitors are then launched with the
/// infra container's and wait (on a [`StartGate`]) until it runs: their own
/// start-up, a start of the hoist binary, overlaps its. The first failure
/// is returned once all have reported.
pub fn start_members(
    cs: &Containers,
    pod: &Pod,
    members: &[&str],
    launcher: &MonitorLauncher,
) -> Result<()> {
    let Some(infra) = launch_infra(cs, pod, launcher)? else {
        return Ok(launcher.start_all_detached(cs, members.iter().copied())?);
    };
    let gate = StartGate::new()?;
    let launched: Vec<_> = members
        .iter()
        .map(|id| launcher.launch_detached_gated(cs, id, &gate))
        .collect();
    let infra_started = infra.wait();
    if infra_started.is_ok() {
        gate.open();
    } else {
        drop(gate);
    }
    let members_started = PendingStart::wait_all(launched);
    infra_started?;
    Ok(members_started?)
}

/// [`ensure_infra_running`] without waiting for the infra container: its
/// pending start, or `None` when it already runs (or the pod has none).
fn launch_infra(
    cs: &Containers,
    pod: &Pod,
    launcher: &MonitorLauncher,
) -> Result<Option<PendingStart>> {
    cgroup::ensure(pod)?;
    let Some(infra) = &pod.infra_id else {
        return Ok(None);
    };
    let c = cs.load(infra)?;
    if c.status().is_active() {
        return Ok(None);
    }
    if let Some(service) = &c.config.options.service_container {
        if !cs.load(service)?.status().is_active() {
            launcher.start_detached(cs, service)?;
        }
    }
    Ok(Some(launcher.launch_detached(cs, infra)?))
}

/// `pod stop`: the containers in reverse creation order, the infra
/// container last.
pub fn stop(cs: &Containers, pod: &Pod, timeout: Option<u64>) -> Result<()> {
    for c in containers(cs, pod)?.iter().rev() {
        let now = cs.load(c.id())?;
        ignore_gone(lifecycle::stop(cs, &now, timeout))?;
    }
    Ok(())
}

fn ignore_gone(r: hoist_container::Result<()>) -> Result<()> {
    match r {
        Ok(()) | Err(ContainerError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `pod kill`: signals every running container.
pub fn kill(cs: &Containers, pod: &Pod, signal: i32) -> Result<()> {
    for c in containers(cs, pod)?.iter().rev() {
        if c.status().is_active() {
            ignore_gone(lifecycle::kill(cs, c, signal))?;
        }
    }
    Ok(())
}

/// `pod pause`.
pub fn pause(cs: &Containers, pod: &Pod) -> Result<()> {
    for c in containers(cs, pod)? {
        if c.status() == Status::Running {
            lifecycle::pause(cs, &c)?;
        }
    }
    Ok(())
}

/// `pod unpause`.
pub fn unpause(cs: &Containers, pod: &Pod) -> Result<()> {
    for c in containers(cs, pod)? {
        if c.status() == Status::Paused {
            lifecycle::unpause(cs, &c)?;
        }
    }
    Ok(())
}

/// `pod rm`: a pod with running containers only with `force` (they are
/// stopped first, within `timeout`); its containers go, then the record.
pub fn remove(
    cs: &Containers,
    pods: &Pods,
    pod: &Pod,
    force: bool,
    timeout: Option<u64>,
) -> Result<()> {
    let members = containers(cs, pod)?;
    let members_only = members.iter().filter(|c| !c.config.options.infra);
    if !force {
        if let Some(c) = members_only.clone().find(|c| c.status().is_active()) {
            return Err(PodError::Invalid(format!(
                "pod {} has containers that are not ready to be removed: cannot remove container {} as it is running - running or paused containers cannot be removed without force: container state improper",
                pod.id,
                c.id()
            )));
        }
    }
    if force {
        stop(cs, pod, timeout)?;
    }
    let service = members
        .iter()
        .find(|c| c.config.options.infra)
        .and_then(|c| c.config.options.service_container.clone());
    for c in members.iter().rev() {
        let Ok(now) = cs.load(c.id()) else { continue };
        ignore_gone(lifecycle::remove_member(cs, &now, true))?;
    }
    pods.delete(pod)?;
    cgroup::remove(pod);
    if let Some(service) = service {
        remove_unused_service(cs, &service)?;
    }
    Ok(())
}

/// A `kube play` service container goes with the last of its pods.
fn remove_unused_service(cs: &Containers, service: &str) -> Result<()> {
    if !lifecycle::service_users(cs, service)?.is_empty() {
        return Ok(());
    }
    match cs.load(service) {
        Ok(s) => ignore_gone(lifecycle::remove(cs, &s, true)),
        Err(ContainerError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `kube play --service-container`: a container of the pause image named
/// `name`, marked as a service container, that runs while any of the pods
/// made with it (`PodSpec::service_container`) does. Created, not started.
pub fn create_service_container(
    engine: &Engine,
    cs: &Containers,
    name: &str,
    conf: hoist_config::ContainersConf,
) -> Result<hoist_container::ContainerConfig> {
    let image = match conf.engine().infra_image() {
        Some(i) => i.to_string(),
        None => infra::ensure_pause_image(engine)?,
    };
    let options = CreateOptions {
        is_service: true,
        // It holds nothing the pods use: no network to set up.
        networks: vec!["none".into()],
        ..CreateOptions::default()
    };
    let req = CreateRequest {
        image,
        name: Some(name.to_string()),
        options,
        pull_policy: hoist_engine::PullPolicy::Missing,
        pull: hoist_engine::PullOptions::default(),
        record_access: None,
        replace: false,
        conf,
        progress: None,
    };
    Ok(hoist_container::create(engine, cs, req)?)
}

/// `rm -f -a` or `rm --depend` of a `kube play` service container: the
/// pods it serves go first (each whole), then it; returns the container
/// IDs removed.
pub fn remove_service(cs: &Containers, service: &Container) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for infra in lifecycle::service_users(cs, service.id())? {
        removed.extend(remove_by_infra(cs, &infra)?);
    }
    remove_unused_service(cs, service.id())?;
    removed.push(service.id().to_string());
    Ok(removed)
}

/// `rm --depend INFRA` (and `rm -f -a`): removes the pod of infra
/// container `infra` with all its containers; returns the container IDs
/// removed, the infra container's last.
pub fn remove_by_infra(cs: &Containers, infra: &Container) -> Result<Vec<String>> {
    let pods = Pods::open(cs.root())?;
    let pod = infra
        .config
        .options
        .pod
        .as_deref()
        .map(|id| pods.load(id))
        .transpose();
    match pod {
        Ok(Some(pod)) => {
            let mut ids: Vec<String> = containers(cs, &pod)?
                .iter()
                .rev()
                .map(|c| c.id().to_string())
                .collect();
            remove(cs, &pods, &pod, true, None)?;
            ids.dedup();
            Ok(ids)
        }
        // Its pod is gone already: only the container is left.
        Ok(None) | Err(PodError::NotFound(_)) => {
            lifecycle::remove_member(cs, infra, true)?;
            Ok(vec![infra.id().to_string()])
        }
        Err(e) => Err(e),
    }
}

/// `container restore --pod POD`: the pod an archived pod member is
/// restored into, with its infra container running (the restored
/// processes join its namespaces).
pub fn restore_target(
    cs: &Containers,
    pods: &Pods,
    query: &str,
    launcher: &MonitorLauncher,
) -> Result<hoist_container::checkpoint::PodTarget> {
    let pod = pods.get(query)?;
    let Some(infra_id) = pod.infra_id.clone() else {
        return Err(PodError::Invalid(format!(
            "pod {} has no infra container, which would hold the namespaces to restore into: create the pod with an infra container",
            pod.name
        )));
    };
    ensure_infra_running(cs, &pod, launcher)?;
    Ok(hoist_container::checkpoint::PodTarget {
        cgroup_path: pod.cgroup_path(),
        id: pod.id,
        name: pod.name,
        infra_id,
        shared: pod.shared,
        hostname: pod.hostname,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_values() {
        assert_eq!(parse_share(None).unwrap(), DEFAULT_SHARE);
        assert_eq!(parse_share(Some("ipc")).unwrap(), ["ipc"]);
        let plus = parse_share(Some("+pid")).unwrap();
        assert!(plus.iter().any(|s| s == "pid") && plus.len() == 4);
        let e = parse_share(Some("bogus")).unwrap_err().to_string();
        assert!(
            e.contains("invalid kernel namespace to share: bogus"),
            "{e}"
        );
        assert!(parse_exit_policy(Some("invalid")).is_err());
    }

    #[test]
    fn status_from_states() {
        use Status::*;
        assert_eq!(status_of(&[]), "Created");
        assert_eq!(status_of(&[Running, Running]), "Running");
        assert_eq!(status_of(&[Running, Exited]), "Degraded");
        assert_eq!(status_of(&[Exited, Exited]), "Exited");
        assert_eq!(status_of(&[Created, Created]), "Created");
    }
}

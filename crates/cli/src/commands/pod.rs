//! `pod create|start|stop|kill|pause|unpause|restart|rm|ps|inspect|exists|
//! top|prune`: flags and output over hoist-pod.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hoist_container::Containers;
use hoist_engine::Engine;
use hoist_pod::{Pod, PodError, PodSpec, Pods};
use serde_json::{json, Value};

use crate::exit::{ExitWith, ENGINE_ERROR};
use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum PodCommand {
    /// Create a copy of an existing pod.
    Clone(Box<crate::commands::pod_clone::PodCloneArgs>),
    /// Make a pod (with its infra container unless --infra=false).
    // `-h` is --hostname here, as in podman: help is `--help` only.
    #[command(disable_help_flag = true)]
    Create(Box<PodCreateArgs>),
    /// Check if a pod exists (exit 0 if it does, 1 if not).
    Exists { pod: String },
    /// Print the full record of pods as JSON.
    Inspect(PodInspectArgs),
    /// Fetch the logs of the containers of a pod.
    Logs(crate::commands::pod_logs::PodLogsArgs),
    /// Display the resource usage of the containers of one or more pods.
    Stats(crate::commands::pod_stats::PodStatsArgs),
    /// Kill the main process of every container in one or more pods.
    Kill(PodKillArgs),
    /// Freeze every container of pods.
    Pause(PodNamesArgs),
    /// Thaw the containers of paused pods.
    Unpause(PodNamesArgs),
    /// List pods.
    #[command(alias = "ls", alias = "list")]
    Ps(PodPsArgs),
    /// Remove every pod that is not running, with its containers.
    Prune(PodPruneArgs),
    /// Stop and start pods again.
    Restart(PodNamesArgs),
    /// Remove one or more stopped pods and their containers.
    Rm(PodRmArgs),
    /// Start pods (their infra container first).
    Start(PodNamesArgs),
    /// Stop every container of pods.
    Stop(PodStopArgs),
    /// Display the running processes of the containers in a pod.
    Top(PodTopArgs),
}

#[derive(Debug, Args)]
pub struct PodCreateArgs {
    /// Assign a name to the pod.
    #[arg(short, long)]
    pub name: Option<String>,
    /// Give the pod an infra container that holds the namespaces its members share (default true).
    #[arg(long, default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub infra: bool,
    /// The image of the infra container (default: a local pause image around catatonit).
    #[arg(long)]
    pub infra_image: Option<String>,
    /// The command to run in the infra container.
    #[arg(long)]
    pub infra_command: Option<String>,
    /// The name of the infra container.
    #[arg(long)]
    pub infra_name: Option<String>,
    /// Namespaces to share: cgroup, ipc, net, pid, uts or none (default ipc,net,uts; +NS adds to it).
    #[arg(long)]
    pub share: Option<String>,
    /// PID namespace of the pod's infra container: host, private or ns:PATH.
    #[arg(long)]
    pub pid: Option<String>,
    /// UTS namespace of the pod: host or private.
    #[arg(long)]
    pub uts: Option<String>,
    /// Publish ports of the pod: [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO].
    #[arg(short, long = "publish")]
    pub publish: Vec<String>,
    /// none, host, bridge or network names.
    #[arg(long, alias = "net")]
    pub network: Vec<String>,
    /// --add-host, --dns, --dns-option, --dns-search.
    #[command(flatten)]
    pub net: crate::commands::container::network::NetworkFlags,
    /// The pod's host name (default: its name).
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Print help (`-h` is --hostname).
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Set metadata: KEY=VALUE.
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Read labels from a file of KEY=VALUE lines (--label wins).
    #[arg(long)]
    pub label_file: Vec<std::path::PathBuf>,
    /// Write the pod ID to this file.
    #[arg(long)]
    pub pod_id_file: Option<std::path::PathBuf>,
    /// Remove a pod of the same name first.
    #[arg(long)]
    pub replace: bool,
    /// continue, or stop: stop the pod when its last container exits.
    #[arg(long)]
    pub exit_policy: Option<String>,
    /// The cgroup parent of the pod.
    #[arg(long)]
    pub cgroup_parent: Option<String>,
    /// --share-parent, --memory, --cpus, --volume, --device, ...
    #[command(flatten)]
    pub resources: crate::commands::pod_flags::PodResourceArgs,
    /// --ip, --ip6, --mac-address, --network-alias, --no-hosts.
    #[command(flatten)]
    pub net_iface: crate::commands::pod_flags::PodNetArgs,
    /// The pod's name, as a positional argument.
    pub pod_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct PodNamesArgs {
    /// Act on every pod.
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest pod.
    #[arg(short, long)]
    pub latest: bool,
    pub pods: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PodStopArgs {
    #[command(flatten)]
    pub names: PodNamesArgs,
    /// Seconds to wait before killing the containers.
    #[arg(short, long)]
    pub time: Option<u64>,
    /// Do not fail on pods that do not exist.
    #[arg(short, long)]
    pub ignore: bool,
}

#[derive(Debug, Args)]
pub struct PodKillArgs {
    #[command(flatten)]
    pub names: PodNamesArgs,
    /// The signal to send.
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct PodRmArgs {
    #[command(flatten)]
    pub names: PodNamesArgs,
    /// Stop and remove running pods with their containers.
    #[arg(short, long)]
    pub force: bool,
    /// Do not fail on pods that do not exist.
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait before killing the containers.
    #[arg(short, long)]
    pub time: Option<u64>,
    /// Read the pod ID from this file.
    #[arg(long)]
    pub pod_id_file: Vec<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct PodPsArgs {
    /// Go template or json.
    #[arg(long)]
    pub format: Option<String>,
    /// Filter: name=, id=, label=, status=.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Do not print the header.
    #[arg(long)]
    pub noheading: bool,
    /// Print only the pod IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate the IDs.
    #[arg(long)]
    pub no_trunc: bool,
    /// Sort by created, id, name, number or status.
    #[arg(long, default_value = "created")]
    pub sort: String,
    /// Show the latest pod only.
    #[arg(short, long)]
    pub latest: bool,
    /// Show the containers of each pod (names).
    #[arg(long)]
    pub ctr_names: bool,
    /// Show the container IDs of each pod.
    #[arg(long)]
    pub ctr_ids: bool,
    /// Show the container statuses of each pod.
    #[arg(long)]
    pub ctr_status: bool,
    /// Show the namespaces of each pod.
    #[arg(long)]
    pub ns: bool,
}

#[derive(Debug, Args)]
pub struct PodInspectArgs {
    /// Go template or json.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Inspect the latest pod.
    #[arg(short, long)]
    pub latest: bool,
    pub pods: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PodTopArgs {
    /// Use the latest pod.
    #[arg(short, long)]
    pub latest: bool,
    pub pod: String,
    /// ps format descriptors (ignored: hoist prints its default columns).
    pub descriptors: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PodPruneArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

fn fail(e: PodError) -> anyhow::Error {
    anyhow::Error::new(ExitWith {
        code: e.exit_code(),
        message: e.to_string(),
    })
}

fn open(root: &Path) -> Result<(Containers, Pods)> {
    let cs = Containers::open(root)?;
    let pods = Pods::open(root).map_err(fail)?;
    Ok((cs, pods))
}

pub fn dispatch(root: &Path, cmd: PodCommand) -> Result<i32> {
    match cmd {
        PodCommand::Create(a) => create(root, *a),
        PodCommand::Clone(a) => crate::commands::pod_clone::clone(root, *a),
        PodCommand::Logs(a) => crate::commands::pod_logs::logs(root, a),
        PodCommand::Stats(a) => crate::commands::pod_stats::stats(root, a),
        PodCommand::Exists { pod } => {
            let (_, pods) = open(root)?;
            Ok(if pods.get(&pod).is_ok() { 0 } else { 1 })
        }
        PodCommand::Inspect(a) => inspect(root, a),
        PodCommand::Kill(a) => {
            let sig = hoist_container::lifecycle::parse_signal(&a.signal)?;
            each(root, &a.names, false, |cs, p| hoist_pod::kill(cs, p, sig))
        }
        PodCommand::Pause(a) => each(root, &a, false, hoist_pod::pause),
        PodCommand::Unpause(a) => each(root, &a, false, hoist_pod::unpause),
        PodCommand::Start(a) => {
            let launcher = crate::commands::container::launcher()?;
            each(root, &a, false, |cs, p| hoist_pod::start(cs, p, &launcher))
        }
        PodCommand::Stop(a) => {
            let time = a.time;
            each(root, &a.names, a.ignore, |cs, p| {
                hoist_pod::stop(cs, p, time)
            })
        }
        PodCommand::Restart(a) => {
            let launcher = crate::commands::container::launcher()?;
            each(root, &a, false, |cs, p| {
                hoist_pod::stop(cs, p, None)?;
                hoist_pod::start(cs, p, &launcher)
            })
        }
        PodCommand::Rm(a) => rm(root, a),
        PodCommand::Ps(a) => ps(root, a),
        PodCommand::Top(a) => top(root, a),
        PodCommand::Prune(_) => prune(root),
    }
}

/// The pods a command names (`--all`, `--latest` or names).
fn selected(pods: &Pods, a: &PodNamesArgs) -> Result<Vec<std::result::Result<Pod, PodError>>> {
    let all = pods.list().map_err(fail)?;
    if a.all {
        return Ok(all.into_iter().map(Ok).collect());
    }
    if a.latest {
        return Ok(all.into_iter().last().map(Ok).into_iter().collect());
    }
    if a.pods.is_empty() {
        return Err(anyhow::Error::new(ExitWith {
            code: ENGINE_ERROR,
            message: "you must provide at least one pod name or id".into(),
        }));
    }
    Ok(a.pods.iter().map(|q| pods.get(q)).collect())
}

/// Runs `op` on each pod named, printing its ID; the last error decides
/// the exit code, as podman.
fn each(
    root: &Path,
    a: &PodNamesArgs,
    ignore: bool,
    op: impl Fn(&Containers, &Pod) -> hoist_pod::Result<()>,
) -> Result<i32> {
    let (cs, pods) = open(root)?;
    let mut code = 0;
    for p in selected(&pods, a)? {
        let r = p.and_then(|p| op(&cs, &p).map(|_| p));
        match r {
            Ok(p) => println!("{}", p.id),
            Err(PodError::NotFound(_)) if ignore => {}
            Err(e) => {
                code = report(&e);
            }
        }
    }
    Ok(code)
}

fn report(e: &PodError) -> i32 {
    eprintln!("Error: {e}");
    match e {
        PodError::NotFound(_) => 1,
        e => e.exit_code(),
    }
}

fn create(root: &Path, a: PodCreateArgs) -> Result<i32> {
    let id = create_pod(root, a)?;
    println!("{id}");
    Ok(0)
}

/// `pod create`, and `run/create --pod new:NAME`; returns the pod.
pub fn create_pod(root: &Path, a: PodCreateArgs) -> Result<String> {
    let conf = hoist_config::ContainersConf::load()?;
    let mut infra_options = hoist_container::CreateOptions::default();
    a.net.apply(&mut infra_options)?;
    infra_options.networks = a.network.clone();
    infra_options.ports = hoist_network::parse_port_specs(&a.publish)?;
    a.resources.apply(&mut infra_options)?;
    a.net_iface.apply(&mut infra_options)?;
    let spec = PodSpec {
        name: a.name.clone().or(a.pod_name.clone()),
        labels: hoist_pod::labels::merge_label_files(&a.label_file, flag_labels(&a.label))
            .map_err(fail)?,
        infra: a.infra,
        infra_image: a.infra_image.clone(),
        infra_command: a.infra_command.as_deref().map(infra_command),
        infra_name: a.infra_name.clone(),
        share: a.share.clone(),
        pid: a.pid.clone(),
        uts: a.uts.clone(),
        hostname: a.hostname.clone(),
        exit_policy: a.exit_policy.clone(),
        cgroup_parent: a.cgroup_parent.clone(),
        share_parent: a.resources.share_parent,
        resources: a.resources.resources()?,
        security_opt: a.resources.security_opt.clone(),
        replace: a.replace,
        infra_options,
        create_command: std::env::args().collect(),
        conf,
        service_container: None,
    };
    let engine =
        Engine::open(root).with_context(|| format!("opening the store at {}", root.display()))?;
    let (cs, pods) = open(root)?;
    let pod = hoist_pod::create(&engine, &cs, &pods, spec).map_err(fail)?;
    if let Some(p) = &a.pod_id_file {
        std::fs::write(p, &pod.id)
            .with_context(|| format!("writing the pod ID to {}", p.display()))?;
    }
    Ok(pod.id)
}

/// `--label KEY=VALUE` (a bare KEY has an empty value).
fn flag_labels(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// `--infra-command`: a JSON array or one word.
fn infra_command(s: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(s).unwrap_or_else(|_| vec![s.to_string()])
}

/// The pod `--pod` names for a new container: `new:NAME` makes it (with
/// the container's host name, if it sets one).
pub fn pod_for_container(root: &Path, value: &str, hostname: Option<&str>) -> Result<Pod> {
    let (_, pods) = open(root)?;
    let query = match value.strip_prefix("new:") {
        Some(name) => {
            let args = PodCreateArgs {
                name: Some(name.to_string()),
                infra: true,
                infra_image: None,
                infra_command: None,
                infra_name: None,
                share: None,
                pid: None,
                uts: None,
                publish: Vec::new(),
                network: Vec::new(),
                net: crate::commands::container::network::NetworkFlags {
                    add_host: Vec::new(),
                    dns: Vec::new(),
                    dns_option: Vec::new(),
                    dns_search: Vec::new(),
                    http_proxy: None,
                },
                hostname: hostname.map(String::from),
                help: None,
                label: Vec::new(),
                label_file: Vec::new(),
                pod_id_file: None,
                replace: false,
                exit_policy: None,
                cgroup_parent: None,
                resources: Default::default(),
                net_iface: Default::default(),
                pod_name: None,
            };
            create_pod(root, args)?
        }
        None => value.to_string(),
    };
    pods.get(&query).map_err(|e| match e {
        PodError::NotFound(q) => anyhow::Error::new(ExitWith {
            code: ENGINE_ERROR,
            message: format!("{q}: no such pod"),
        }),
        e => fail(e),
    })
}

fn rm(root: &Path, a: PodRmArgs) -> Result<i32> {
    let (cs, pods) = open(root)?;
    let mut names = a.names;
    for f in &a.pod_id_file {
        match std::fs::read_to_string(f) {
            Ok(id) => names.pods.push(id.trim().to_string()),
            Err(_) if a.ignore => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", f.display())),
        }
    }
    if names.pods.is_empty() && !names.all && !names.latest {
        return Ok(0);
    }
    let mut code = 0;
    for p in selected(&pods, &names)? {
        match p.and_then(|p| hoist_pod::remove(&cs, &pods, &p, a.force, a.time).map(|_| p)) {
            Ok(p) => println!("{}", p.id),
            // podman: `pod rm -f` of a missing pod is quiet.
            Err(PodError::NotFound(_)) if a.ignore || a.force => {}
            Err(e) => code = report(&e),
        }
    }
    Ok(code)
}

fn prune(root: &Path) -> Result<i32> {
    let (cs, pods) = open(root)?;
    for p in pods.list().map_err(fail)? {
        let status = hoist_pod::status(&cs, &p).map_err(fail)?;
        if matches!(status, "Exited" | "Stopped" | "Created") {
            hoist_pod::remove(&cs, &pods, &p, true, Some(0)).map_err(fail)?;
            println!("{}", p.id);
        }
    }
    Ok(0)
}

/// A pod as `pod inspect` shows it (podman's field names).
fn inspect_doc(cs: &Containers, p: &Pod) -> Result<Value> {
    let members = hoist_pod::containers(cs, p).map_err(fail)?;
    let status = hoist_pod::status(cs, p).map_err(fail)?;
    let infra = p.infra_id.as_ref().and_then(|id| cs.load(id).ok());
    let ports: BTreeMap<String, Value> = infra
        .as_ref()
        .map(|c| {
            c.config
                .options
                .ports
                .iter()
                .map(|m| {
                    (
                        format!("{}/{}", m.container_port, m.protocol),
                        json!([{"HostIp": m.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                                "HostPort": m.host_port.to_string()}]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut doc = json!({
        "Id": p.id,
        "ID": p.id,
        "Name": p.name,
        "Created": p.created.to_rfc3339(),
        "CreateCommand": p.create_command,
        "ExitPolicy": p.exit_policy,
        "State": status,
        // podman shows only a host name given with --hostname.
        "Hostname": if p.hostname == p.name { "" } else { p.hostname.as_str() },
        "Labels": p.labels,
        "CreateCgroup": p.share_parent,
        "CgroupParent": p.cgroup_parent(),
        "CreateInfra": p.infra_id.is_some(),
        "InfraContainerID": p.infra_id.clone().unwrap_or_default(),
        "InfraConfig": {
            "PortBindings": ports,
            "HostNetwork": p.host_network,
            "StaticIP": "",
            "StaticMAC": "",
            "NoManageResolvConf": false,
            "DNSServer": infra.as_ref().map(|c| c.config.options.dns_servers.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
            "DNSSearch": infra.as_ref().map(|c| c.config.options.dns_search.clone()).unwrap_or_default(),
            "DNSOption": infra.as_ref().map(|c| c.config.options.dns_options.clone()).unwrap_or_default(),
            "NoManageHosts": false,
            "HostAdd": infra.as_ref().map(|c| c.config.options.add_hosts.iter().map(|(h, ip)| format!("{h}:{ip}")).collect::<Vec<_>>()).unwrap_or_default(),
            "Networks": infra.as_ref().map(|c| c.config.options.networks.clone()).unwrap_or_default(),
            "NetworkOptions": null,
            // The infra container's modes, whether or not shared.
            "pid_ns": p.pid.as_deref().unwrap_or("private"),
            "userns": "host",
            "uts_ns": p.uts.as_deref().unwrap_or("private"),
        },
        "SharedNamespaces": p.shared,
        "NumContainers": members.len(),
        "Containers": members.iter().map(|c| json!({
            "Id": c.id(),
            "ID": c.id(),
            "Name": c.name(),
            "State": c.status().as_str(),
        })).collect::<Vec<_>>(),
    });
    add_resources(&mut doc, p);
    Ok(doc)
}

/// podman's pod inspect fields for the pod's cgroup and what its
/// containers inherit, each only when set.
fn add_resources(doc: &mut Value, p: &Pod) {
    let r = &p.resources;
    let mut top = serde_json::Map::new();
    let mut infra = serde_json::Map::new();
    if let Some(path) = p.cgroup_path() {
        top.insert("CgroupPath".into(), json!(path));
    }
    if let Some(v) = r.cpu_period {
        top.insert("cpu_period".into(), json!(v));
        infra.insert("cpu_period".into(), json!(v));
    }
    if let Some(v) = r.cpu_quota {
        top.insert("cpu_quota".into(), json!(v));
        infra.insert("cpu_quota".into(), json!(v));
    }
    if let Some(v) = r.cpu_shares {
        top.insert("cpu_shares".into(), json!(v));
    }
    if let Some(v) = &r.cpuset_cpus {
        top.insert("cpuset_cpus".into(), json!(v));
        infra.insert("cpuset_cpus".into(), json!(v));
    }
    if let Some(v) = &r.cpuset_mems {
        top.insert("cpuset_mems".into(), json!(v));
    }
    if let Some(v) = r.blkio_weight {
        top.insert("blkio_weight".into(), json!(v));
    }
    if !p.mounts.is_empty() {
        top.insert(
            "mounts".into(),
            Value::Array(p.mounts.iter().map(mount_doc).collect()),
        );
    }
    if let Some(v) = r.memory {
        top.insert("memory_limit".into(), json!(v));
    }
    if let Some(v) = r.memory_swap {
        top.insert("memory_swap".into(), json!(v));
    }
    if !p.security_opt.is_empty() {
        top.insert("security_opt".into(), json!(p.security_opt));
    }
    if let Some(o) = doc.as_object_mut() {
        o.extend(top);
        if let Some(ic) = o.get_mut("InfraConfig").and_then(|v| v.as_object_mut()) {
            ic.extend(infra);
        }
    }
}

/// One of the pod's mounts, as podman's pod inspect prints it.
fn mount_doc(m: &hoist_container::MountOption) -> Value {
    use hoist_container::MountOption as M;
    let (kind, source, driver, ro, options) = match m {
        M::Bind {
            source,
            read_only,
            options,
            ..
        } => {
            let mut opts = vec!["rbind".to_string()];
            opts.extend(
                options
                    .iter()
                    .filter(|o| !matches!(o.as_str(), "ro" | "rw"))
                    .cloned(),
            );
            ("bind", source.display().to_string(), "", *read_only, opts)
        }
        M::Volume {
            name,
            read_only,
            options,
            ..
        } => ("volume", name.clone(), "local", *read_only, options.clone()),
        M::Tmpfs { .. } => ("tmpfs", "tmpfs".to_string(), "", false, Vec::new()),
        M::Image {
            source, read_write, ..
        } => ("image", source.clone(), "", !read_write, Vec::new()),
    };
    json!({
        "Type": kind,
        "Source": source,
        "Destination": m.destination(),
        "Driver": driver,
        "Mode": "",
        "Options": options,
        "RW": !ro,
        "Propagation": "rprivate",
    })
}

/// The inspect document of pod `name` (`inspect --type pod`); `None`
/// when there is no such pod.
pub(crate) fn inspect_value(root: &Path, name: &str) -> Result<Option<Value>> {
    let (cs, pods) = open(root)?;
    match pods.get(name) {
        Ok(p) => Ok(Some(inspect_doc(&cs, &p)?)),
        Err(_) => Ok(None),
    }
}

fn inspect(root: &Path, a: PodInspectArgs) -> Result<i32> {
    let (cs, pods) = open(root)?;
    let names = PodNamesArgs {
        all: false,
        latest: a.latest,
        pods: a.pods.clone(),
    };
    let mut docs = Vec::new();
    let mut code = 0;
    for p in selected(&pods, &names)? {
        match p {
            Ok(p) => docs.push(inspect_doc(&cs, &p)?),
            Err(e) => {
                eprintln!("Error: {e}");
                code = ENGINE_ERROR;
            }
        }
    }
    match Format::parse(a.format.as_deref())? {
        Format::Template(t) => {
            for d in &docs {
                println!("{}", t.render(d)?);
            }
        }
        // podman prints one pod as an object, several as a list.
        _ if docs.len() == 1 => output::print_json(&docs[0])?,
        _ => output::print_json(&docs)?,
    }
    Ok(code)
}

fn ps_row(cs: &Containers, p: &Pod, no_trunc: bool) -> Result<Value> {
    let members = hoist_pod::containers(cs, p).map_err(fail)?;
    let status = hoist_pod::status(cs, p).map_err(fail)?;
    let id = if no_trunc {
        p.id.clone()
    } else {
        p.id[..12].to_string()
    };
    let infra = p
        .infra_id
        .as_deref()
        .map(|i| if no_trunc { i } else { &i[..12] })
        .unwrap_or_default()
        .to_string();
    let age = (chrono::Utc::now() - p.created).num_seconds();
    Ok(json!({
        "Id": p.id,
        "ID": id,
        "Name": p.name,
        "Status": status,
        "Created": format!("{} ago", output::human_age(age)).replace(" ago ago", " ago"),
        "CreatedAt": p.created.to_rfc3339(),
        "InfraId": infra,
        "InfraID": infra,
        "Labels": p.labels,
        "NumberOfContainers": members.len(),
        "ContainerNames": members.iter().map(|c| c.name().to_string()).collect::<Vec<_>>().join(","),
        "ContainerIds": members.iter().map(|c| c.id()[..12].to_string()).collect::<Vec<_>>().join(","),
        "ContainerStatuses": members.iter().map(|c| c.status().as_str()).collect::<Vec<_>>().join(","),
        "Networks": "",
        "Cgroup": p.cgroup_parent(),
    }))
}

/// `pod ps --filter`: name=, id=, label=KEY[=VALUE], status=.
fn ps_matches(cs: &Containers, p: &Pod, filters: &[String]) -> Result<bool> {
    for f in filters {
        let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
        let ok = match k {
            "name" => p.name.contains(v),
            "id" => p.id.starts_with(v),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => p.labels.get(lk).is_some_and(|x| x == lv),
                None => p.labels.contains_key(v),
            },
            "status" => hoist_pod::status(cs, p)
                .map_err(fail)?
                .eq_ignore_ascii_case(v),
            _ => {
                return Err(anyhow::Error::new(ExitWith {
                    code: ENGINE_ERROR,
                    message: format!("{k} is an invalid filter"),
                }))
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn ps(root: &Path, a: PodPsArgs) -> Result<i32> {
    let (cs, pods) = open(root)?;
    let mut list = Vec::new();
    for p in pods.list().map_err(fail)? {
        if ps_matches(&cs, &p, &a.filter)? {
            list.push(p);
        }
    }
    match a.sort.as_str() {
        "name" => list.sort_by(|x, y| x.name.cmp(&y.name)),
        "id" => list.sort_by(|x, y| x.id.cmp(&y.id)),
        _ => list.sort_by_key(|p| std::cmp::Reverse(p.created)),
    }
    if a.latest {
        list.truncate(1);
    }
    if a.quiet {
        for p in &list {
            println!("{}", if a.no_trunc { &p.id[..] } else { &p.id[..12] });
        }
        return Ok(0);
    }
    let rows = list
        .iter()
        .map(|p| ps_row(&cs, p, a.no_trunc))
        .collect::<Result<Vec<_>>>()?;
    match Format::parse(a.format.as_deref())? {
        Format::Json => output::print_json(&rows)?,
        Format::Template(t) => {
            crate::commands::container::volume::print_rows(
                &t,
                &rows,
                a.noheading,
                &[
                    ("ID", "POD ID"),
                    ("Name", "NAME"),
                    ("Status", "STATUS"),
                    ("Created", "CREATED"),
                    ("InfraID", "INFRA ID"),
                    ("NumberOfContainers", "# OF CONTAINERS"),
                ],
            )?;
        }
        Format::Default => {
            let mut lines = Vec::new();
            if !a.noheading {
                lines.push("POD ID\tNAME\tSTATUS\tCREATED\tINFRA ID\t# OF CONTAINERS".to_string());
            }
            for r in &rows {
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    r["ID"].as_str().unwrap_or_default(),
                    r["Name"].as_str().unwrap_or_default(),
                    r["Status"].as_str().unwrap_or_default(),
                    r["Created"].as_str().unwrap_or_default(),
                    r["InfraID"].as_str().unwrap_or_default(),
                    r["NumberOfContainers"],
                ));
            }
            output::print_aligned(&lines);
        }
    }
    Ok(0)
}

fn top(root: &Path, a: PodTopArgs) -> Result<i32> {
    let (cs, pods) = open(root)?;
    let pod = pods.get(&a.pod).map_err(fail)?;
    let mut lines = vec!["USER\tPID\tPPID\t%CPU\tELAPSED\tTTY\tTIME\tCOMMAND".to_string()];
    for c in hoist_pod::containers(&cs, &pod).map_err(fail)? {
        if !c.status().is_active() {
            continue;
        }
        for r in hoist_container::stats::top(&c)? {
            lines.push(format!(
                "{}\t{}\t{}\t{:.3}\t{}s\t?\t{}s\t{}",
                r.user, r.pid, r.ppid, r.cpu_percent, r.elapsed_secs, r.time_secs, r.command
            ));
        }
    }
    output::print_aligned(&lines);
    Ok(0)
}

//! `ps` and `inspect`: containers in podman's field names.

use std::path::Path;

use anyhow::Result;
use chrono::Utc;
use hoist_container::{Container, Status};
use serde_json::{json, Value};

use crate::container_args::{ContainerInspectArgs, PsArgs};
use crate::output::{self, Format};

use super::open;

fn rfc3339(t: Option<chrono::DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

/// The effective command line, as the spec of the last start had it.
fn command(c: &Container) -> Vec<String> {
    if let Ok(spec) = hoist_runtime::executor::read_bundle_config(&c.bundle()) {
        if let Some(args) = spec.process().as_ref().and_then(|p| p.args().clone()) {
            return args;
        }
    }
    let img = image_config(c);
    let o = &c.config.options;
    let ep: Vec<String> = o.entrypoint.clone().unwrap_or_else(|| {
        img["config"]["Entrypoint"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    });
    let cmd: Vec<String> = o.command.clone().unwrap_or_else(|| {
        if o.entrypoint.is_some() {
            return Vec::new();
        }
        img["config"]["Cmd"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    });
    ep.into_iter().chain(cmd).collect()
}

fn image_config(c: &Container) -> Value {
    std::fs::read(c.dir.join("image-config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

fn env(c: &Container) -> Vec<String> {
    if let Ok(spec) = hoist_runtime::executor::read_bundle_config(&c.bundle()) {
        if let Some(env) = spec.process().as_ref().and_then(|p| p.env().clone()) {
            return env;
        }
    }
    let mut env: Vec<String> = image_config(c)["config"]["Env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    env.extend(c.config.options.env.iter().cloned());
    env
}

fn ports_text(c: &Container) -> String {
    let ports = if c.state.ports.is_empty() {
        &c.config.options.ports
    } else {
        &c.state.ports
    };
    ports
        .iter()
        .flat_map(|p| p.describe())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One `ps --format json` row.
fn ps_row(c: &Container) -> Value {
    let now = Utc::now();
    let st = c.status();
    json!({
        "Id": c.id(),
        "Names": [c.name()],
        "Image": c.config.image,
        "ImageID": c.config.image_id,
        "Command": command(c),
        "Created": c.config.created.timestamp(),
        "CreatedAt": c.config.created.to_rfc3339(),
        "State": st.as_str(),
        "Status": c.status_text(now),
        "ExitCode": c.exit_code().unwrap_or(0),
        "Exited": st == Status::Exited,
        "ExitedAt": c.state.finished_at.map(|t| t.timestamp()).unwrap_or(0),
        "StartedAt": c.state.started_at.map(|t| t.timestamp()).unwrap_or(0),
        "Pid": if st.is_active() { c.state.pid.unwrap_or(0) } else { 0 },
        "Ports": ports_text(c),
        "Labels": c.config.options.labels,
        "AutoRemove": c.config.options.auto_remove,
        "Networks": c.config.options.networks,
    })
}

fn matches(c: &Container, filter: &str) -> Result<bool> {
    let (k, v) = filter
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("invalid --filter {filter:?}: use KEY=VALUE"))?;
    Ok(match k {
        "id" => c.id().starts_with(v),
        "name" => c.name().contains(v),
        "status" => c.status().as_str() == v,
        "ancestor" => c.config.image == v || c.config.image_id.starts_with(v),
        "label" => match v.split_once('=') {
            Some((lk, lv)) => c.config.options.labels.get(lk).is_some_and(|x| x == lv),
            None => c.config.options.labels.contains_key(v),
        },
        "exited" => {
            c.status() == Status::Exited
                && c.exit_code().map(|x| x.to_string()).as_deref() == Some(v)
        }
        _ => anyhow::bail!(
            "unsupported --filter {k:?}: use id, name, status, label, ancestor or exited"
        ),
    })
}

pub fn ps(root: &Path, a: PsArgs) -> Result<i32> {
    let cs = open(root)?;
    let mut list = Vec::new();
    for c in cs.list()? {
        let st = c.status();
        if !a.all
            && !a.filter.iter().any(|f| f.starts_with("status="))
            && st != Status::Running
            && st != Status::Paused
            && st != Status::Stopping
        {
            continue;
        }
        let mut ok = true;
        for f in &a.filter {
            ok &= matches(&c, f)?;
        }
        if ok {
            list.push(c);
        }
    }
    if a.latest {
        list.truncate(1);
    }
    let id = |c: &Container| {
        if a.no_trunc {
            c.id().to_string()
        } else {
            hoist_container::short_id(c.id()).to_string()
        }
    };
    if a.quiet {
        for c in &list {
            println!("{}", id(c));
        }
        return Ok(0);
    }
    match Format::parse(a.format.as_deref())? {
        Format::Json => output::print_json(&list.iter().map(ps_row).collect::<Vec<_>>())?,
        Format::Template(t) => {
            let rows: Vec<Value> = list
                .iter()
                .map(|c| {
                    let mut r = ps_row(c);
                    r["ID"] = json!(id(c));
                    r["Names"] = json!(c.name());
                    r["Command"] = json!(command(c).join(" "));
                    r["CreatedAt"] = json!(c.config.created.to_rfc3339());
                    r
                })
                .collect();
            output::print_template(&t, &rows)?;
        }
        Format::Default => {
            let now = Utc::now();
            let mut lines =
                vec!["CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES".to_string()];
            for c in &list {
                let mut cmd = command(c).join(" ");
                if !a.no_trunc && cmd.chars().count() > 20 {
                    cmd = format!("{}...", cmd.chars().take(17).collect::<String>());
                }
                lines.push(format!(
                    "{}\t{}\t{}\t{} ago\t{}\t{}\t{}",
                    id(c),
                    c.config.image,
                    cmd,
                    hoist_container::record_age(now - c.config.created),
                    c.status_text(now),
                    ports_text(c),
                    c.name()
                ));
            }
            output::print_aligned(&lines);
        }
    }
    Ok(0)
}

/// The `inspect` document of a container.
pub fn inspect_doc(c: &Container) -> Value {
    let st = c.status();
    let o = &c.config.options;
    let cmd = command(c);
    let mounts: Vec<Value> = o
        .mounts
        .iter()
        .map(|m| match m {
            hoist_container::MountOption::Bind { source, destination, read_only, .. } => json!({
                "Type": "bind", "Source": source, "Destination": destination, "RW": !read_only,
                "Mode": "", "Propagation": "rprivate"
            }),
            hoist_container::MountOption::Volume { name, destination, read_only, .. } => json!({
                "Type": "volume", "Name": name,
                "Source": c.dir.parent().and_then(|p| p.parent()).map(|r| r.join("volumes").join(name).join("_data")),
                "Destination": destination, "Driver": "local", "RW": !read_only
            }),
            hoist_container::MountOption::Tmpfs { destination, .. } => json!({
                "Type": "tmpfs", "Source": "tmpfs", "Destination": destination, "RW": true
            }),
        })
        .collect();
    let mut networks = serde_json::Map::new();
    let mut ip = String::new();
    if let Some(status) = &c.state.network_status {
        for a in status.addresses() {
            if ip.is_empty() {
                ip = a.address.to_string();
            }
            networks.insert(
                a.network.clone(),
                json!({"IPAddress": a.address.to_string(), "IPPrefixLen": a.prefix_len,
                       "Gateway": a.gateway.map(|g| g.to_string()).unwrap_or_default(),
                       "MacAddress": a.mac_address}),
            );
        }
    }
    let mut ports = serde_json::Map::new();
    for p in if c.state.ports.is_empty() {
        &o.ports
    } else {
        &c.state.ports
    } {
        for i in 0..p.range.max(1) {
            ports.insert(
                format!("{}/{}", p.container_port + i, p.protocol.as_str()),
                json!([{"HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                        "HostPort": (p.host_port + i).to_string()}]),
            );
        }
    }
    json!({
        "Id": c.id(),
        "Created": c.config.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "Path": cmd.first().cloned().unwrap_or_default(),
        "Args": cmd.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": st.as_str(),
            "Running": st == Status::Running,
            "Paused": st == Status::Paused,
            "Restarting": false,
            "OOMKilled": c.state.oom_killed,
            "Dead": false,
            "Pid": if st.is_active() { c.state.pid.unwrap_or(0) } else { 0 },
            "ConmonPid": if st.is_active() { c.state.monitor_pid.unwrap_or(0) } else { 0 },
            "ExitCode": c.exit_code().unwrap_or(0),
            "Error": c.state.error.clone().unwrap_or_default(),
            "StartedAt": rfc3339(c.state.started_at),
            "FinishedAt": rfc3339(c.state.finished_at),
        },
        "Image": c.config.image_id,
        "ImageName": c.config.image,
        "Rootfs": "",
        "ResolvConfPath": c.dir.join("userdata/resolv.conf"),
        "HostnamePath": c.dir.join("userdata/hostname"),
        "HostsPath": c.dir.join("userdata/hosts"),
        "LogPath": c.log_path(),
        "Name": c.name(),
        "RestartCount": c.state.restart_count,
        "Driver": "overlay",
        "Mounts": mounts,
        "NetworkSettings": {"IPAddress": ip, "Ports": ports, "Networks": networks},
        "Config": {
            "Hostname": o.hostname.clone().unwrap_or_else(|| hoist_container::short_id(c.id()).to_string()),
            "Env": env(c),
            "Cmd": o.command.clone().unwrap_or_else(|| cmd.clone()),
            "Entrypoint": o.entrypoint.clone(),
            "WorkingDir": o.workdir.clone().unwrap_or_else(|| image_config(c)["config"]["WorkingDir"].as_str().unwrap_or("/").to_string()),
            "User": o.user.clone().unwrap_or_default(),
            "Labels": o.labels,
            "Image": c.config.image,
            "Tty": o.tty,
            "OpenStdin": o.interactive,
            "StopSignal": o.stop_signal.unwrap_or(libc_sigterm()),
        },
        "HostConfig": {
            "AutoRemove": o.auto_remove,
            "RestartPolicy": {"Name": o.restart.name(), "MaximumRetryCount": match o.restart { hoist_container::RestartPolicy::OnFailure { max } => max, _ => 0 }},
            "Memory": o.memory.unwrap_or(0),
            "MemorySwap": o.memory_swap.unwrap_or(0),
            "NanoCpus": o.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
            "PidsLimit": o.pids_limit.unwrap_or(0),
            "Privileged": o.privileged,
            "ReadonlyRootfs": o.read_only,
            "CapAdd": o.cap_add,
            "CapDrop": o.cap_drop,
            "NetworkMode": if o.networks.is_empty() { "bridge".to_string() } else { o.networks.join(",") },
            "Init": o.init,
        },
    })
}

fn libc_sigterm() -> i32 {
    15
}

pub fn inspect(root: &Path, a: ContainerInspectArgs) -> Result<i32> {
    let cs = open(root)?;
    let docs: Vec<Value> = super::lookup_all(&cs, &a.containers)?
        .iter()
        .map(inspect_doc)
        .collect();
    match Format::parse(a.format.as_deref())? {
        Format::Default | Format::Json => output::print_json(&docs)?,
        Format::Template(t) => {
            for d in &docs {
                println!("{}", t.render(d)?);
            }
        }
    }
    Ok(0)
}

//! podman's view of a container: the `container inspect` document and the
//! `ps --format json` row, typed. Field names and values are podman's
//! (and the order of the fields is the order they are printed in).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};
use oci_spec::image::ImageConfiguration;
use serde::Serialize;

use crate::error::{io_err, ContainerError, Result};
use crate::options::{MountOption, RestartPolicy};
use crate::record::{Container, Status};

/// The file in a container directory holding its image's config.
const IMAGE_CONFIG: &str = "image-config.json";

/// SIGTERM, the stop signal when none was asked for.
const DEFAULT_STOP_SIGNAL: i32 = 15;

/// `podman container inspect`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectContainer {
    pub id: String,
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub state: InspectState,
    pub image: String,
    /// The digest of the image's manifest.
    pub image_digest: String,
    pub image_name: String,
    pub rootfs: String,
    pub resolv_conf_path: PathBuf,
    pub hostname_path: PathBuf,
    pub hosts_path: PathBuf,
    pub log_path: PathBuf,
    /// The runtime: `hoist` (in-process) or the `--runtime` path.
    #[serde(rename = "OCIRuntime")]
    pub oci_runtime: String,
    /// `--conmon-pidfile`, else empty.
    pub conmon_pid_file: String,
    /// `--pidfile`, else empty.
    pub pid_file: String,
    pub name: String,
    pub restart_count: u32,
    pub driver: String,
    /// The ID of its pod, or empty.
    pub pod: String,
    /// It is the service container of a `kube play --service-container`.
    pub is_service: bool,
    /// `CAP_` names, sorted (udica builds its SELinux policy from these).
    pub effective_caps: Vec<String>,
    pub bounding_caps: Vec<String>,
    /// Bytes in the writable layer; only asked for (`inspect --size`),
    /// since finding it walks the whole tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<u64>,
    /// The writable layer plus the image's layers, with `size_rw`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<u64>,
    pub mounts: Vec<InspectMount>,
    pub network_settings: InspectNetworkSettings,
    pub config: InspectConfig,
    pub host_config: InspectHostConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectState {
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i32,
    pub conmon_pid: i32,
    pub exit_code: i32,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// The healthcheck's status and last results (empty without one).
    pub health: crate::health::HealthState,
    /// Checkpoint/restore (see [`crate::checkpoint`]); podman omits them
    /// until a container was checkpointed.
    #[serde(flatten)]
    pub checkpoint: crate::checkpoint::InspectCheckpoint,
}

/// One mount; each kind has podman's own set of fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum InspectMount {
    #[serde(rename_all = "PascalCase")]
    Bind {
        r#type: String,
        source: PathBuf,
        destination: String,
        driver: String,
        mode: String,
        options: Vec<String>,
        #[serde(rename = "RW")]
        rw: bool,
        propagation: String,
    },
    #[serde(rename_all = "PascalCase")]
    Volume {
        r#type: String,
        name: String,
        source: Option<PathBuf>,
        destination: String,
        driver: String,
        mode: String,
        options: Vec<String>,
        #[serde(rename = "RW")]
        rw: bool,
        propagation: String,
    },
    /// podman leaves tmpfs mounts out; hoist lists them (kube generate
    /// reads them), with every field docker's shape has (udica reads
    /// `Mode` of each mount of a docker-shaped document).
    #[serde(rename_all = "PascalCase")]
    Tmpfs {
        r#type: String,
        source: String,
        destination: String,
        mode: String,
        #[serde(rename = "RW")]
        rw: bool,
    },
    /// `--mount type=image`: the source is the image as named.
    #[serde(rename_all = "PascalCase")]
    Image {
        r#type: String,
        source: String,
        destination: String,
        mode: String,
        #[serde(rename = "RW")]
        rw: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectNetworkSettings {
    /// The first address on any network, else empty.
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// `PORT/PROTO` to the host ends.
    pub ports: BTreeMap<String, Vec<InspectPortBinding>>,
    pub networks: BTreeMap<String, InspectNetwork>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectPortBinding {
    pub host_ip: String,
    pub host_port: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectNetwork {
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    pub gateway: String,
    pub mac_address: String,
    /// DNS names of the container on the network (its short id first).
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectConfig {
    pub hostname: String,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    /// podman 4.3 prints it as one string, the words joined by spaces.
    #[serde(serialize_with = "joined_words")]
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: String,
    pub user: String,
    pub labels: BTreeMap<String, String>,
    /// `--annotation`s (and a played pod's annotations).
    pub annotations: BTreeMap<String, String>,
    pub image: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub stop_signal: i32,
    /// The command line that made the container.
    pub create_command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<crate::health::HealthConfig>,
    pub healthcheck_on_failure_action: String,
    /// The secrets mounted as files (not those given as variables).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<crate::secrets::InspectSecret>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectHostConfig {
    pub auto_remove: bool,
    pub restart_policy: InspectRestartPolicy,
    pub memory: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub pids_limit: i64,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--device`s.
    pub devices: Vec<crate::inspect_security::InspectDevice>,
    pub network_mode: String,
    /// The published ports, as under `NetworkSettings.Ports`.
    pub port_bindings: BTreeMap<String, Vec<InspectPortBinding>>,
    pub init: bool,
    /// `--log-driver` and `--log-opt`.
    pub log_config: crate::logs::InspectLogConfig,
    /// `--cgroup-parent` (empty for hoist's own).
    pub cgroup_parent: String,
    /// `--cgroups`: podman's `default` unless given.
    pub cgroups: String,
    /// `private` with a user namespace of its own, else empty (podman's
    /// `host` is shown as empty too).
    pub userns_mode: String,
    /// The ID maps of that user namespace (`CONTAINER:HOST:SIZE`).
    #[serde(rename = "IDMappings", skip_serializing_if = "Option::is_none")]
    pub id_mappings: Option<InspectIdMappings>,
}

/// podman's `HostConfig.IDMappings`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectIdMappings {
    pub uid_map: Vec<String>,
    pub gid_map: Vec<String>,
}

impl InspectIdMappings {
    fn of(o: &crate::CreateOptions) -> Option<InspectIdMappings> {
        let text = |maps: &[hoist_idmap::IdMap]| {
            maps.iter()
                .map(|m| format!("{}:{}:{}", m.container, m.host, m.size))
                .collect()
        };
        o.run_flags
            .user_namespace()
            .map(|(uids, gids)| InspectIdMappings {
                uid_map: text(uids),
                gid_map: text(gids),
            })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectRestartPolicy {
    pub name: String,
    pub maximum_retry_count: u32,
}

/// One `ps --format json` row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PsRow {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Names")]
    pub names: Vec<String>,
    #[serde(rename = "Image")]
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    #[serde(rename = "Command")]
    pub command: Vec<String>,
    /// Unix seconds.
    #[serde(rename = "Created")]
    pub created: i64,
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    #[serde(rename = "State")]
    pub state: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "ExitCode")]
    pub exit_code: i32,
    #[serde(rename = "Exited")]
    pub exited: bool,
    /// Unix seconds, 0 when it has not.
    #[serde(rename = "ExitedAt")]
    pub exited_at: i64,
    #[serde(rename = "StartedAt")]
    pub started_at: i64,
    #[serde(rename = "Pid")]
    pub pid: i32,
    #[serde(rename = "Ports")]
    pub ports: String,
    #[serde(rename = "Labels")]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "AutoRemove")]
    pub auto_remove: bool,
    #[serde(rename = "Networks")]
    pub networks: Vec<String>,
    /// Mount destinations.
    #[serde(rename = "Mounts")]
    pub mounts: Vec<String>,
    /// The ID of its pod, if any.
    #[serde(rename = "Pod")]
    pub pod: String,
    #[serde(rename = "PodName")]
    pub pod_name: String,
    #[serde(rename = "IsInfra")]
    pub is_infra: bool,
    /// With `ps --ns`: namespace ids by podman's keys (`Net`, `Pidns`...).
    #[serde(rename = "Namespaces")]
    pub namespaces: BTreeMap<String, String>,
    /// With `ps --size`.
    #[serde(rename = "Size")]
    pub size: Option<crate::ps_extra::PsSize>,
}

/// One mapping as podman's `ps` prints it: `0.0.0.0:8080->80/tcp`, a
/// range as `0.0.0.0:8080-8081->80-81/tcp`.
fn ps_port(p: &hoist_network::PortMapping) -> String {
    let host = match p.host_ip {
        None => "0.0.0.0".to_string(),
        Some(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
        Some(ip) => ip.to_string(),
    };
    let span = |start: u16| {
        if p.range > 1 {
            format!("{start}-{}", u32::from(start) + u32::from(p.range) - 1)
        } else {
            start.to_string()
        }
    };
    format!(
        "{host}:{}->{}/{}",
        span(p.host_port),
        span(p.container_port),
        p.protocol
    )
}

/// `Config.Entrypoint` as podman 4.3 has it: a string (empty for none).
fn joined_words<S: serde::Serializer>(
    v: &Option<Vec<String>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&v.as_deref().unwrap_or_default().join(" "))
}

fn rfc3339(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Nanos, true))
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

impl Container {
    /// The config of the image the container was made from, as kept at
    /// create time.
    pub fn image_config(&self) -> Result<ImageConfiguration> {
        let p = self.dir.join(IMAGE_CONFIG);
        let bytes = std::fs::read(&p).map_err(io_err("reading", &p))?;
        serde_json::from_slice(&bytes).map_err(|source| ContainerError::Corrupt { path: p, source })
    }

    /// The process of the spec of the last start, if it started.
    fn started_process(&self) -> Option<oci_spec::runtime::Process> {
        hoist_runtime::executor::read_bundle_config(&self.bundle())
            .ok()?
            .process()
            .clone()
    }

    /// The effective command line: the spec's of the last start, else what
    /// the options and the image say.
    pub fn command(&self) -> Vec<String> {
        if let Some(args) = self.started_process().and_then(|p| p.args().clone()) {
            return args;
        }
        let img = self.image_config().ok();
        let img = img.as_ref().and_then(|i| i.config().as_ref());
        let o = &self.config.options;
        let ep = o
            .entrypoint
            .clone()
            .unwrap_or_else(|| img.and_then(|c| c.entrypoint().clone()).unwrap_or_default());
        let cmd = o.command.clone().unwrap_or_else(|| {
            if o.entrypoint.is_some() {
                return Vec::new();
            }
            img.and_then(|c| c.cmd().clone()).unwrap_or_default()
        });
        ep.into_iter().chain(cmd).collect()
    }

    /// The environment: the spec's of the last start, else the image's
    /// followed by `-e`.
    pub fn env(&self) -> Vec<String> {
        if let Some(mut env) = self.started_process().and_then(|p| p.env().clone()) {
            // Secrets given as variables stay out of sight.
            let hidden = crate::secrets::env_names(self);
            env.retain(|e| {
                !hidden
                    .iter()
                    .any(|h| e.split('=').next() == Some(h.as_str()))
            });
            return env;
        }
        let mut env = self
            .image_config()
            .ok()
            .and_then(|i| i.config().as_ref().and_then(|c| c.env().clone()))
            .unwrap_or_default();
        env.extend(self.config.options.env.iter().cloned());
        // The spec adds it at start (unless -e sets it); tools such as
        // udica tell podman's inspect from docker's by it.
        if !env.iter().any(|e| e.starts_with("container=")) {
            env.push("container=podman".into());
        }
        env
    }

    /// The working directory: `-w`, else the image's, else `/`.
    pub(crate) fn working_dir(&self) -> String {
        if let Some(w) = &self.config.options.workdir {
            return w.clone();
        }
        self.image_config()
            .ok()
            .and_then(|i| i.config().as_ref().and_then(|c| c.working_dir().clone()))
            .unwrap_or_else(|| "/".into())
    }

    /// The published ports: as assigned at start, else as asked for.
    fn port_mappings(&self) -> &[hoist_network::PortMapping] {
        if self.state.ports.is_empty() {
            &self.config.options.ports
        } else {
            &self.state.ports
        }
    }

    /// podman's `PORTS` column: `0.0.0.0:8080->80/tcp, ...`.
    pub fn ports_text(&self) -> String {
        self.port_mappings()
            .iter()
            .map(ps_port)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The pid to show: none (0) unless it is running.
    fn shown_pid(&self, pid: Option<i32>) -> i32 {
        if self.status().is_active() {
            pid.unwrap_or(0)
        } else {
            0
        }
    }

    /// The `ps --format json` row, ages as of `now`.
    pub fn ps_row(&self, now: DateTime<Utc>) -> PsRow {
        let st = self.status();
        PsRow {
            id: self.id().to_string(),
            names: vec![self.name().to_string()],
            image: self.config.image.clone(),
            image_id: self.config.image_id.clone(),
            command: self.command(),
            created: self.config.created.timestamp(),
            created_at: self.config.created.to_rfc3339(),
            state: st.as_str().to_string(),
            status: self.status_text(now),
            exit_code: self.exit_code().unwrap_or(0),
            exited: st == Status::Exited,
            exited_at: self.state.finished_at.map(|t| t.timestamp()).unwrap_or(0),
            started_at: self.state.started_at.map(|t| t.timestamp()).unwrap_or(0),
            pid: self.shown_pid(self.state.pid),
            ports: self.ports_text(),
            labels: self.config.options.labels.clone(),
            auto_remove: self.config.options.auto_remove,
            networks: crate::filter::network_names(self),
            mounts: self
                .config
                .options
                .mounts
                .iter()
                .map(|m| m.destination().to_string())
                .collect(),
            pod: self.config.options.pod.clone().unwrap_or_default(),
            pod_name: self.config.options.pod_name.clone().unwrap_or_default(),
            is_infra: self.config.options.infra,
            namespaces: BTreeMap::new(),
            size: None,
        }
    }

    /// The `container inspect --size` document: [`Self::inspect`] with the
    /// sizes `ps --size` shows.
    pub fn inspect_with_size(&self) -> InspectContainer {
        let size = self.disk_size();
        InspectContainer {
            size_rw: Some(size.rw_size),
            size_root_fs: Some(size.root_fs_size),
            ..self.inspect()
        }
    }

    /// The `container inspect` document.
    pub fn inspect(&self) -> InspectContainer {
        let st = self.status();
        let o = &self.config.options;
        let cmd = self.command();
        // `<root>/containers/<id>` -> `<root>/volumes/<name>/_data`.
        let volumes = self
            .dir
            .parent()
            .and_then(|p| p.parent())
            .map(|r| r.join("volumes"));
        let mounts = o
            .mounts
            .iter()
            .map(|m| match m {
                MountOption::Bind {
                    source,
                    destination,
                    read_only,
                    options,
                } => InspectMount::Bind {
                    r#type: "bind".into(),
                    source: source.clone(),
                    destination: destination.clone(),
                    driver: String::new(),
                    mode: String::new(),
                    options: crate::inspect_security::bind_options(options),
                    rw: !read_only,
                    propagation: "rprivate".into(),
                },
                MountOption::Volume {
                    name,
                    destination,
                    read_only,
                    options,
                    ..
                } => InspectMount::Volume {
                    r#type: "volume".into(),
                    name: name.clone(),
                    source: volumes.as_ref().map(|v| v.join(name).join("_data")),
                    destination: destination.clone(),
                    driver: "local".into(),
                    mode: String::new(),
                    options: crate::inspect_security::volume_options(options),
                    rw: !read_only,
                    propagation: "rprivate".into(),
                },
                MountOption::Tmpfs { destination, .. } => InspectMount::Tmpfs {
                    r#type: "tmpfs".into(),
                    source: "tmpfs".into(),
                    destination: destination.clone(),
                    mode: String::new(),
                    rw: true,
                },
                MountOption::Image {
                    source,
                    destination,
                    read_write,
                } => InspectMount::Image {
                    r#type: "image".into(),
                    source: source.clone(),
                    destination: destination.clone(),
                    mode: String::new(),
                    rw: *read_write,
                },
            })
            .collect();
        let mut networks = BTreeMap::new();
        let mut ip = String::new();
        if let Some(status) = &self.state.network_status {
            for a in status.addresses() {
                if ip.is_empty() {
                    ip = a.address.to_string();
                }
                networks.insert(
                    a.network.clone(),
                    InspectNetwork {
                        ip_address: a.address.to_string(),
                        ip_prefix_len: a.prefix_len,
                        gateway: a.gateway.map(|g| g.to_string()).unwrap_or_default(),
                        aliases: self
                            .state
                            .network_request
                            .as_ref()
                            .and_then(|r| r.networks.iter().find(|n| n.network.name == a.network))
                            .map(|n| n.aliases.clone())
                            .unwrap_or_default(),
                        mac_address: a.mac_address,
                    },
                );
            }
        }
        let mut ports = BTreeMap::new();
        for p in self.port_mappings() {
            for i in 0..p.range.max(1) {
                ports.insert(
                    format!("{}/{}", p.container_port + i, p.protocol.as_str()),
                    vec![InspectPortBinding {
                        host_ip: p.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                        host_port: (p.host_port + i).to_string(),
                    }],
                );
            }
        }
        let (effective_caps, bounding_caps) = crate::inspect_security::capabilities(self);
        InspectContainer {
            id: self.id().to_string(),
            created: self
                .config
                .created
                .to_rfc3339_opts(SecondsFormat::Nanos, true),
            path: cmd.first().cloned().unwrap_or_default(),
            args: cmd.iter().skip(1).cloned().collect(),
            state: InspectState {
                status: st.as_str().to_string(),
                running: st == Status::Running,
                paused: st == Status::Paused,
                restarting: false,
                oom_killed: self.state.oom_killed,
                dead: false,
                pid: self.shown_pid(self.state.pid),
                conmon_pid: self.shown_pid(self.state.monitor_pid),
                exit_code: self.exit_code().unwrap_or(0),
                error: self.state.error.clone().unwrap_or_default(),
                started_at: rfc3339(self.state.started_at),
                finished_at: rfc3339(self.state.finished_at),
                health: self.health_state(),
                checkpoint: crate::checkpoint::InspectCheckpoint::of(self),
            },
            image: self.config.image_id.clone(),
            image_digest: self.config.image_digest.clone(),
            image_name: self.config.image.clone(),
            rootfs: String::new(),
            resolv_conf_path: self.dir.join("userdata/resolv.conf"),
            hostname_path: self.dir.join("userdata/hostname"),
            hosts_path: self.dir.join("userdata/hosts"),
            log_path: self.log_path(),
            oci_runtime: o
                .runtime
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "hoist".into()),
            conmon_pid_file: o
                .monitor_pidfile
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            pid_file: o
                .pidfile
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            name: self.name().to_string(),
            restart_count: self.state.restart_count,
            pod: o.pod.clone().unwrap_or_default(),
            is_service: o.is_service,
            driver: "overlay".into(),
            effective_caps,
            bounding_caps,
            size_rw: None,
            size_root_fs: None,
            mounts,
            network_settings: InspectNetworkSettings {
                ip_address: ip,
                ports: ports.clone(),
                networks,
            },
            config: InspectConfig {
                hostname: o
                    .hostname
                    .clone()
                    .unwrap_or_else(|| crate::short_id(self.id()).to_string()),
                env: self.env(),
                cmd: o.command.clone().unwrap_or_else(|| cmd.clone()),
                entrypoint: o.entrypoint.clone(),
                working_dir: self.working_dir(),
                user: o.user.clone().unwrap_or_default(),
                labels: o.labels.clone(),
                annotations: o.annotations.clone(),
                image: self.config.image.clone(),
                tty: o.tty,
                open_stdin: o.interactive,
                stop_signal: o.stop_signal.unwrap_or(DEFAULT_STOP_SIGNAL),
                create_command: o.create_command.clone(),
                healthcheck: o.healthcheck.clone(),
                healthcheck_on_failure_action: o.health_on_failure.as_str().into(),
                secrets: crate::secrets::inspect(o),
            },
            host_config: InspectHostConfig {
                auto_remove: o.auto_remove,
                restart_policy: InspectRestartPolicy {
                    name: o.restart.name().to_string(),
                    maximum_retry_count: match o.restart {
                        RestartPolicy::OnFailure { max } => max,
                        _ => 0,
                    },
                },
                memory: o.memory.unwrap_or(0),
                memory_swap: o.memory_swap.unwrap_or(0),
                nano_cpus: o.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
                pids_limit: o.pids_limit.unwrap_or(0),
                privileged: o.privileged,
                readonly_rootfs: o.read_only,
                cap_add: o.cap_add.clone(),
                cap_drop: o.cap_drop.clone(),
                devices: crate::inspect_security::devices(o),
                network_mode: if o.networks.is_empty() {
                    "bridge".to_string()
                } else {
                    o.networks.join(",")
                },
                port_bindings: ports,
                init: o.init,
                log_config: o.log.inspect(&self.log_path()),
                cgroup_parent: o.run_flags.cgroup_parent.clone().unwrap_or_default(),
                cgroups: match o.run_flags.cgroups.as_deref() {
                    None | Some("enabled") => "default".into(),
                    Some(mode) => mode.into(),
                },
                userns_mode: if o.run_flags.user_namespace().is_some() {
                    "private".into()
                } else {
                    String::new()
                },
                id_mappings: InspectIdMappings::of(o),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::CreateOptions;
    use crate::store::{Containers, NewContainer};

    const IMAGE: &str = r#"{"architecture":"amd64","os":"linux",
        "config":{"Entrypoint":["/bin/ep"],"Cmd":["a","b"],"Env":["PATH=/bin"],"WorkingDir":"/srv"},
        "rootfs":{"type":"layers","diff_ids":[]}}"#;

    fn container(options: CreateOptions) -> (tempfile::TempDir, Container) {
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let config = cs
            .create(NewContainer {
                name: Some("web".into()),
                image: "busybox".into(),
                image_id: "ab".repeat(32),
                image_digest: String::new(),
                layer_dirs: vec![],
                lazy_layers: vec![],
                image_config: IMAGE.as_bytes().to_vec(),
                options,
            })
            .unwrap();
        let c = cs.load(&config.id).unwrap();
        (d, c)
    }

    #[test]
    fn a_created_container_takes_command_env_and_workdir_from_its_image() {
        let (_d, c) = container(CreateOptions {
            env: vec!["X=1".into()],
            ..Default::default()
        });
        assert_eq!(c.command(), ["/bin/ep", "a", "b"]);
        let doc = c.inspect();
        assert_eq!(doc.path, "/bin/ep");
        assert_eq!(doc.args, ["a", "b"]);
        // podman's spec (made at create) adds container=podman.
        assert_eq!(doc.config.env, ["PATH=/bin", "X=1", "container=podman"]);
        assert_eq!(doc.config.working_dir, "/srv");
        assert_eq!(doc.config.hostname, crate::short_id(c.id()));
        assert_eq!(doc.config.stop_signal, 15);
        assert_eq!(doc.state.status, "created");
        assert_eq!(doc.state.started_at, "0001-01-01T00:00:00Z");
        assert_eq!(doc.host_config.network_mode, "bridge");
        let row = c.ps_row(Utc::now());
        assert_eq!(row.names, ["web"]);
        assert_eq!(row.status, "Created");
        assert_eq!(row.pid, 0);
    }

    #[test]
    fn an_entrypoint_option_drops_the_image_cmd() {
        let (_d, c) = container(CreateOptions {
            entrypoint: Some(vec!["/bin/sh".into()]),
            workdir: Some("/w".into()),
            ..Default::default()
        });
        assert_eq!(c.command(), ["/bin/sh"]);
        assert_eq!(c.inspect().config.working_dir, "/w");
    }

    #[test]
    fn the_document_has_podmans_field_names() {
        let (_d, c) = container(CreateOptions {
            mounts: vec![MountOption::Volume {
                name: "data".into(),
                destination: "/data".into(),
                read_only: true,
                anonymous: false,
                options: Vec::new(),
            }],
            ..Default::default()
        });
        let v = serde_json::to_value(c.inspect()).unwrap();
        assert_eq!(v["State"]["OOMKilled"], false);
        assert_eq!(v["State"]["ConmonPid"], 0);
        assert_eq!(v["NetworkSettings"]["IPAddress"], "");
        assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "no");
        assert_eq!(v["HostConfig"]["ReadonlyRootfs"], false);
        // podman 4.3: a string, empty without an entrypoint.
        assert_eq!(v["Config"]["Entrypoint"], "");
        assert_eq!(v["Config"]["OpenStdin"], false);
        let m = &v["Mounts"][0];
        assert_eq!(m["Type"], "volume");
        assert_eq!(m["RW"], false);
        assert_eq!(m["Driver"], "local");
        assert!(m["Source"]
            .as_str()
            .unwrap()
            .ends_with("/volumes/data/_data"));
        let row = serde_json::to_value(c.ps_row(Utc::now())).unwrap();
        assert_eq!(row["ImageID"], "ab".repeat(32));
        assert_eq!(row["Names"][0], "web");
    }
}

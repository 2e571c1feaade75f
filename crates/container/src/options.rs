//! What `create`/`run` asked for, kept in the container's record so every
//! start (and restart) builds the runtime spec the same way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use hoist_network::PortMapping;
use serde::{Deserialize, Serialize};

use crate::error::ContainerError;

/// The run flags of a container, as stored in its `config.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateOptions {
    /// The command after the image name (replaces the image's Cmd).
    pub command: Option<Vec<String>>,
    /// The command line that made the container (podman's
    /// `CreateCommand`); `generate systemd --new` runs it again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub create_command: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub hostname: Option<String>,
    pub interactive: bool,
    pub tty: bool,
    pub read_only: bool,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub no_new_privileges: bool,
    /// `None`: the default profile; `"unconfined"` or a profile file.
    pub seccomp: Option<String>,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    /// `--ulimit` values (`nofile=1024:2048`).
    pub ulimits: Vec<String>,
    pub mounts: Vec<MountOption>,
    /// `--network` values; empty means the default network.
    pub networks: Vec<String>,
    /// Per network joined with `network connect`: its aliases, addresses
    /// and MAC address, by network name.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub network_options: std::collections::BTreeMap<String, crate::run_flags::NetworkOptions>,
    /// `-p` mappings (host ports 0 until the container starts).
    pub ports: Vec<PortMapping>,
    /// `--dns`: name servers instead of the network's or the host's.
    pub dns_servers: Vec<std::net::IpAddr>,
    /// `--dns-option` (`--dns-opt`): resolv.conf `options`.
    pub dns_options: Vec<String>,
    /// `--dns-search`: resolv.conf `search` domains.
    pub dns_search: Vec<String>,
    /// `--add-host NAME:IP` lines for /etc/hosts.
    pub add_hosts: Vec<(String, std::net::IpAddr)>,
    /// `--http-proxy`: `None` follows containers.conf (default on).
    pub http_proxy: Option<bool>,
    /// containers.conf `base_hosts_file`: empty for the host's
    /// /etc/hosts, `image`, `none` or a path.
    pub base_hosts_file: Option<String>,
    /// containers.conf `host_containers_internal_ip`: an address, `none`,
    /// or empty for the network's gateway.
    pub host_containers_internal_ip: Option<String>,
    /// `--image-volume`: what the image's VOLUMEs become (see
    /// [`crate::volumes::ImageVolumeMode`]); `None` is `bind`.
    pub image_volume: Option<crate::volumes::ImageVolumeMode>,
    pub labels: BTreeMap<String, String>,
    pub restart: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--init`: run the command under hoist's init (see [`crate::init`]).
    pub init: bool,
    /// `--stop-signal` (number), default SIGTERM.
    pub stop_signal: Option<i32>,
    /// `--stop-timeout` seconds, default 10.
    pub stop_timeout: Option<u64>,
    pub shm_size: Option<u64>,
    /// `--runtime`: an OCI runtime binary (runc, crun) to run it with
    /// instead of the in-process one.
    pub runtime: Option<PathBuf>,
    /// `--log-driver` and `--log-opt`.
    pub log: crate::logs::LogConfig,
    /// Global options for the runtime (`--runtime-flag debug` is
    /// `--debug`), as podman passes them on.
    pub runtime_flags: Vec<String>,
    /// Arguments before runc's command line: `oci` when the runtime is a
    /// hoist binary (see [`hoist_runtime::executor::ExternalRuntime::leading_args_for`]).
    pub runtime_leading_args: Vec<String>,
    /// The engine's default environment (containers.conf `env`), below
    /// the image's.
    pub default_env: Vec<String>,
    /// `--env-merge KEY=VALUE` (with `$NAME` expanded at start).
    pub env_merge: Vec<String>,
    /// `--unsetenv` names.
    pub unset_env: Vec<String>,
    /// `--unsetenv-all`.
    pub unset_env_all: bool,
    /// The process umask (`--umask`, containers.conf `umask`).
    pub umask: Option<u32>,
    /// The capability set before `--cap-add`/`--cap-drop`
    /// (containers.conf `default_capabilities`).
    pub default_capabilities: Option<Vec<String>>,
    /// `--device HOST[:CONTAINER[:PERMISSIONS]]`.
    pub devices: Vec<String>,
    /// `--device-cgroup-rule` values (checked at create).
    pub device_cgroup_rules: Vec<String>,
    /// `--device-read-bps` and the other block I/O throttles.
    pub blkio: Vec<BlkioOption>,
    /// `--tz`: a zone name (`Europe/Berlin`), or `local` for the host's.
    pub tz: Option<String>,
    /// `--preserve-fds N`: file descriptors 3 .. 3+N-1 of the `run`
    /// process are passed to the container.
    pub preserve_fds: u32,
    /// `--timeout`: seconds the container may run before it is killed.
    pub timeout: Option<u64>,
    /// `--systemd`: `true` (when the command is systemd or init),
    /// `false` or `always`.
    pub systemd: Option<String>,
    /// `--conmon-pidfile`: where the monitor writes its pid.
    pub monitor_pidfile: Option<PathBuf>,
    /// `--init-path` (or containers.conf `init_path`): the init binary to
    /// use with `--init` instead of hoist's own.
    pub init_path: Option<PathBuf>,
    /// `run --rmi`: once the container is removed, remove its image too
    /// unless another container uses it.
    pub remove_image: bool,
    /// `--rootfs PATH`: run from this directory instead of an image; with
    /// `rootfs_overlay` (`PATH:O`) changes go to the container's own layer,
    /// else to the directory itself.
    pub rootfs: Option<PathBuf>,
    pub rootfs_overlay: bool,
    /// `--pid`, `--ipc`, `--uts`: `host`, `private`, `container:NAME` or
    /// `ns:PATH`; `None` for a namespace of its own.
    pub pid: Option<String>,
    pub ipc: Option<String>,
    pub uts: Option<String>,
    /// `--cgroupns`: `host`, `private`, `container:NAME` or `ns:PATH`.
    pub cgroupns: Option<String>,
    /// `--cpu-shares`, `--cpu-period`, `--cpu-quota`, `--cpuset-cpus`,
    /// `--cpuset-mems`, `--memory-reservation`, `--blkio-weight`,
    /// `--oom-score-adj`.
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub memory_reservation: Option<i64>,
    pub blkio_weight: Option<u16>,
    pub oom_score_adj: Option<i32>,
    /// `--sysctl` and containers.conf `default_sysctls`.
    pub sysctls: BTreeMap<String, String>,
    /// `--group-add`.
    pub group_add: Vec<String>,
    /// `--annotation`: passed to the runtime in the spec.
    pub annotations: BTreeMap<String, String>,
    /// `--volumes-from CONTAINER[:ro|rw]`: that container's volumes and
    /// bind mounts (resolved at create time into `mounts`).
    pub volumes_from: Vec<String>,
    /// `--publish-all`: publish every exposed port (the image's and
    /// `--expose`'s) on a free host port.
    pub publish_all: bool,
    /// `--expose PORT[/PROTO]` (or a range): exposed, published with `-P`.
    pub expose: Vec<String>,
    /// `--pidfile`: where the monitor writes the container process's pid.
    pub pidfile: Option<PathBuf>,
    /// `--memory-swappiness`, `--oom-kill-disable`, `--cpu-rt-period`,
    /// `--cpu-rt-runtime`.
    pub memory_swappiness: Option<u64>,
    pub oom_kill_disable: bool,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    /// `--read-only-tmpfs` (podman's default: true): tmpfs on /tmp,
    /// /var/tmp and /run of a `--read-only` container.
    pub read_only_tmpfs: Option<bool>,
    /// The healthcheck (`--health-*`, else the image's), resolved at create.
    pub healthcheck: Option<crate::health::HealthConfig>,
    /// `--health-on-failure`.
    pub health_on_failure: crate::health::OnFailure,
    /// The `--health-*` flags as given, resolved against the image's
    /// HEALTHCHECK by `create` (not stored).
    #[serde(skip)]
    pub health_request: Option<crate::health::HealthRequest>,
    /// `--secret`: which secrets to give it, and how (names only: the data
    /// is read from the secret store at each start).
    pub secrets: Vec<crate::secrets::SecretUse>,
    /// `--pod`: the ID and name of the pod it belongs to (hoist-pod keeps
    /// the pod records; pods cannot be renamed, so the name stays right).
    pub pod: Option<String>,
    pub pod_name: Option<String>,
    /// It is its pod's infra container (it holds the pod's namespaces).
    pub infra: bool,
    /// On an infra container: the pod's `--exit-policy` (`stop`: the pod
    /// stops when its last other container exits), applied by the
    /// monitor of that container.
    pub pod_exit_policy: Option<String>,
    /// On an infra container: the ID of the service container of the
    /// `kube play --service-container` that made its pod; it runs while
    /// any of its pods does.
    pub service_container: Option<String>,
    /// It is a `kube play` service container (podman's `IsService`).
    pub is_service: bool,
    /// `--cgroup-parent`, `--ip`, `--no-hosts`, `--personality`, ... (see
    /// [`crate::run_flags`]).
    pub run_flags: crate::run_flags::RunFlags,
}

/// One block I/O throttle, resolved to a device number at start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioOption {
    /// `read-bps`, `write-bps`, `read-iops`, `write-iops` or `weight`
    /// (`--blkio-weight-device`, the weight as `rate`).
    pub kind: String,
    pub device: PathBuf,
    pub rate: u64,
}

/// A mount asked for with `-v`, `--mount` or `--tmpfs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MountOption {
    Bind {
        source: PathBuf,
        destination: String,
        read_only: bool,
        options: Vec<String>,
    },
    Volume {
        name: String,
        destination: String,
        read_only: bool,
        /// Made for this container by `-v /dest` (named at create time);
        /// `rm -v` removes it with the container.
        #[serde(default)]
        anonymous: bool,
        /// Mount options (`noexec`, `nocopy`, ...).
        #[serde(default)]
        options: Vec<String>,
    },
    Tmpfs {
        destination: String,
        size: Option<u64>,
        mode: Option<u32>,
        options: Vec<String>,
    },
    /// `--mount type=image`: an image's files, read-only unless
    /// `read_write` (then changes go to a layer of the container's own).
    Image {
        /// The image as the user named it.
        source: String,
        destination: String,
        read_write: bool,
    },
}

impl MountOption {
    pub fn destination(&self) -> &str {
        match self {
            MountOption::Bind { destination, .. }
            | MountOption::Volume { destination, .. }
            | MountOption::Tmpfs { destination, .. }
            | MountOption::Image { destination, .. } => destination,
        }
    }
}

/// `--restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    No,
    /// Restart after a non-zero exit, at most `max` times (0: no limit).
    OnFailure {
        max: u32,
    },
    Always,
    UnlessStopped,
}

impl RestartPolicy {
    /// podman's name (`no`, `on-failure`, `always`, `unless-stopped`).
    pub fn name(&self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure { .. } => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    /// Whether to start again after exit `code`, having restarted
    /// `restarts` times; never after a `stop`/`kill` by the user.
    pub fn should_restart(&self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match *self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure { max } => code != 0 && (max == 0 || restarts < max),
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

impl FromStr for RestartPolicy {
    type Err = ContainerError;
    fn from_str(s: &str) -> Result<RestartPolicy, ContainerError> {
        let bad = || {
            ContainerError::Invalid(format!(
                "invalid --restart {s:?}: use no, on-failure[:MAX], always or unless-stopped"
            ))
        };
        let (name, max) = match s.split_once(':') {
            Some((n, m)) => (n, Some(m.parse::<u32>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let p = match name {
            "" | "no" => RestartPolicy::No,
            "on-failure" => RestartPolicy::OnFailure {
                max: max.unwrap_or(0),
            },
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            _ => return Err(bad()),
        };
        if max.is_some() && !matches!(p, RestartPolicy::OnFailure { .. }) {
            return Err(bad());
        }
        Ok(p)
    }
}

/// Checks every `--device-cgroup-rule`, so a bad one fails the create
/// (with podman's message) rather than the start.
pub(crate) fn check_device_rules(o: &CreateOptions) -> Result<(), ContainerError> {
    for r in &o.device_cgroup_rules {
        r.parse::<hoist_runtime::spec::DeviceRule>()?;
    }
    Ok(())
}

/// The largest size any limit takes: the kernel's cgroup and mount
/// interfaces read sizes as signed 64-bit numbers.
pub const MAX_SIZE: u64 = i64::MAX as u64;

/// Parses a size such as `512m`, `1.5g`, `100k` or `1048576` into bytes.
/// Sizes beyond [`MAX_SIZE`] are refused rather than wrapped or clamped, so
/// a typo never becomes "unlimited" (or -1).
pub fn parse_size(s: &str) -> Result<u64, ContainerError> {
    let bad = || {
        ContainerError::Invalid(format!(
            "invalid size {s:?}: use a number of bytes with an optional unit b, k, m, g or t (e.g. 512m)"
        ))
    };
    let too_big = || {
        ContainerError::Invalid(format!(
            "invalid size {s:?}: too large, the most is {MAX_SIZE} bytes (8 EiB)"
        ))
    };
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let bytes = match num.split_once('.') {
        // Whole numbers exactly, without going through a float.
        None => num
            .parse::<u64>()
            .ok()
            .and_then(|v| v.checked_mul(mult))
            .ok_or_else(too_big)?,
        Some((whole, frac)) => {
            if frac.contains('.') || (whole.is_empty() && frac.is_empty()) {
                return Err(bad());
            }
            let v: f64 = num.parse().map_err(|_| bad())?;
            let bytes = v * mult as f64;
            // 2^63 is the first f64 beyond i64::MAX.
            if !bytes.is_finite() || bytes >= 9_223_372_036_854_775_808.0 {
                return Err(too_big());
            }
            bytes as u64
        }
    };
    if bytes > MAX_SIZE {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Parses a `-v SRC:DST[:OPTS]` value: an absolute (or `./`) SRC is a bind
/// mount, anything else a named volume; a lone DEST (`-v /data`) an
/// anonymous volume, whose empty name is filled in when the container is
/// created ([`crate::volumes::create_anonymous_volumes`]).
pub fn parse_volume_flag(v: &str) -> Result<MountOption, ContainerError> {
    let parts: Vec<&str> = v.split(':').collect();
    let bad = |why: &str| ContainerError::Invalid(format!("invalid -v {v:?}: {why}"));
    let (src, dst, opts) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        [d] => {
            if !d.starts_with('/') {
                return Err(bad("an anonymous volume needs an absolute destination"));
            }
            return Ok(MountOption::Volume {
                name: String::new(),
                destination: d.to_string(),
                read_only: false,
                anonymous: true,
                options: Vec::new(),
            });
        }
        _ => return Err(bad("expected SOURCE:DEST[:OPTIONS]")),
    };
    if !dst.starts_with('/') {
        return Err(bad("the destination must be an absolute path"));
    }
    let mut read_only = false;
    let mut options = Vec::new();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => read_only = true,
            "rw" => read_only = false,
            "z" | "Z" | "U" => {}
            other => options.push(other.to_string()),
        }
    }
    if src.starts_with('/') || src.starts_with('.') {
        let source = std::path::absolute(src)
            .map_err(|e| bad(&format!("cannot resolve the source: {e}")))?;
        Ok(MountOption::Bind {
            source,
            destination: dst.to_string(),
            read_only,
            options,
        })
    } else {
        crate::volumes::validate_name(src)?;
        Ok(MountOption::Volume {
            name: src.to_string(),
            destination: dst.to_string(),
            read_only,
            anonymous: false,
            options,
        })
    }
}

/// Parses `--mount type=bind|volume|tmpfs,source=..,target=..[,ro][,tmpfs-size=..]`.
pub fn parse_mount_flag(v: &str) -> Result<MountOption, ContainerError> {
    let bad = |why: &str| ContainerError::Invalid(format!("invalid --mount {v:?}: {why}"));
    let mut typ = "volume".to_string();
    let mut src = None;
    let mut dst = None;
    let mut ro = false;
    // Only image mounts start read-only: `rw=true` makes them writable.
    let mut rw = None;
    let mut size = None;
    let mut mode = None;
    for kv in v.split(',') {
        let (k, val) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "type" => typ = val.to_string(),
            "source" | "src" => src = Some(val.to_string()),
            "target" | "destination" | "dst" => dst = Some(val.to_string()),
            "ro" | "readonly" => ro = val.is_empty() || val == "true",
            "rw" | "readwrite" => {
                let on = val.is_empty() || val == "true";
                ro = !on;
                rw = Some(on);
            }
            "tmpfs-size" => size = Some(parse_size(val)?),
            "tmpfs-mode" => {
                mode =
                    Some(u32::from_str_radix(val, 8).map_err(|_| bad("tmpfs-mode must be octal"))?)
            }
            "z" | "Z" | "U" | "relabel" | "bind-propagation" => {}
            other => return Err(bad(&format!("unknown option {other:?}"))),
        }
    }
    let dst = dst.ok_or_else(|| bad("target= is required"))?;
    if !dst.starts_with('/') {
        return Err(bad("the target must be an absolute path"));
    }
    match typ.as_str() {
        "bind" => {
            let s = src.ok_or_else(|| bad("source= is required for bind mounts"))?;
            Ok(MountOption::Bind {
                source: std::path::absolute(&s).map_err(|e| bad(&e.to_string()))?,
                destination: dst,
                read_only: ro,
                options: Vec::new(),
            })
        }
        "volume" => {
            let name = src.ok_or_else(|| bad("source= (the volume name) is required"))?;
            crate::volumes::validate_name(&name)?;
            Ok(MountOption::Volume {
                name,
                destination: dst,
                read_only: ro,
                anonymous: false,
                options: Vec::new(),
            })
        }
        "tmpfs" => Ok(MountOption::Tmpfs {
            destination: dst,
            size,
            mode,
            options: if ro { vec!["ro".into()] } else { Vec::new() },
        }),
        "image" => Ok(MountOption::Image {
            source: src.ok_or_else(|| bad("source= (the image) is required for image mounts"))?,
            destination: dst,
            read_write: rw.unwrap_or(false) && !ro,
        }),
        other => Err(bad(&format!(
            "unknown type {other:?}: use bind, volume, tmpfs or image"
        ))),
    }
}

/// Parses `--tmpfs DEST[:OPTIONS]`.
pub fn parse_tmpfs_flag(v: &str) -> Result<MountOption, ContainerError> {
    let (dst, opts) = v.split_once(':').unwrap_or((v, ""));
    if !dst.starts_with('/') {
        return Err(ContainerError::Invalid(format!(
            "invalid --tmpfs {v:?}: the destination must be an absolute path"
        )));
    }
    let mut size = None;
    let mut mode = None;
    let mut options = Vec::new();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        if let Some(s) = o.strip_prefix("size=") {
            size = Some(parse_size(s)?);
        } else if let Some(m) = o.strip_prefix("mode=") {
            mode = u32::from_str_radix(m, 8).ok();
        } else {
            options.push(o.to_string());
        }
    }
    Ok(MountOption::Tmpfs {
        destination: dst.to_string(),
        size,
        mode,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies() {
        assert_eq!("no".parse::<RestartPolicy>().unwrap(), RestartPolicy::No);
        assert_eq!(
            "on-failure:3".parse::<RestartPolicy>().unwrap(),
            RestartPolicy::OnFailure { max: 3 }
        );
        assert!("always:3".parse::<RestartPolicy>().is_err());
        assert!("sometimes".parse::<RestartPolicy>().is_err());
        let p = RestartPolicy::OnFailure { max: 2 };
        assert!(p.should_restart(1, 1, false));
        assert!(!p.should_restart(1, 2, false));
        assert!(!p.should_restart(0, 0, false));
        assert!(!RestartPolicy::Always.should_restart(0, 0, true));
        assert!(RestartPolicy::Always.should_restart(0, 9, false));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("10kb").unwrap(), 10240);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1m").is_err());
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert_eq!(parse_size("8589934591g").unwrap(), 8589934591 << 30);
        assert_eq!(parse_size("9223372036854775807").unwrap(), MAX_SIZE);
        for big in [
            "99999999999999999g",
            "8589934592g",
            "9223372036854775808",
            "99999999999999999999",
            "1e30",
            "99999999999999999.5g",
        ] {
            let e = parse_size(big).unwrap_err().to_string();
            assert!(e.contains("invalid size"), "{big}: {e}");
        }
        for junk in ["", "k", ".", "1..2m", "nan", "inf", "1e3"] {
            assert!(parse_size(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn volume_flags() {
        match parse_volume_flag("/srv:/data:ro").unwrap() {
            MountOption::Bind {
                source,
                destination,
                read_only,
                ..
            } => {
                assert_eq!(source, PathBuf::from("/srv"));
                assert_eq!(destination, "/data");
                assert!(read_only);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_volume_flag("vol1:/data").unwrap(),
            MountOption::Volume { .. }
        ));
        assert!(matches!(
            parse_volume_flag("/data").unwrap(),
            MountOption::Volume { anonymous: true, ref name, .. } if name.is_empty()
        ));
        assert!(parse_volume_flag("data").is_err());
        assert!(parse_volume_flag("a:rel").is_err());
        assert!(matches!(
            parse_mount_flag("type=tmpfs,target=/t,tmpfs-size=1m").unwrap(),
            MountOption::Tmpfs {
                size: Some(1048576),
                ..
            }
        ));
        assert!(parse_mount_flag("type=bind,target=/t").is_err());
        assert!(matches!(
            parse_tmpfs_flag("/run/x:size=64k,mode=700").unwrap(),
            MountOption::Tmpfs {
                size: Some(65536),
                mode: Some(0o700),
                ..
            }
        ));
    }
}

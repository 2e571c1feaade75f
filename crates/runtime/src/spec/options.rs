//! What a caller (the `run`/`create` flags) asks of a container's spec.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use super::SpecError;
use crate::rootfs::EtcFiles;

/// Everything [`build_spec`](super::build_spec) needs besides the image
/// config. `Default` gives podman's defaults for a plain `podman run IMAGE`.
#[derive(Debug, Clone)]
pub struct SpecOptions {
    /// The container's root filesystem (absolute; usually the overlay mount
    /// point). It becomes `root.path`, and user and group names are looked
    /// up in its `/etc/passwd` and `/etc/group`, so mount it first.
    pub rootfs: PathBuf,
    /// The command, replacing the image's `Cmd` (`podman run IMAGE ARGS...`).
    pub args: Option<Vec<String>>,
    /// Replaces the image's `Entrypoint`; `Some(vec![])` clears it. Setting
    /// it also drops the image's `Cmd`, as podman does.
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE` (or `KEY`, meaning empty) overriding the image's Env.
    pub env: Vec<String>,
    /// The engine's default environment (containers.conf `env`: podman's
    /// `PATH` and `TERM=xterm`), below the image's Env.
    pub default_env: Vec<String>,
    /// `KEY=VALUE` entries whose `$NAME` and `${NAME}` are replaced with
    /// the environment's values so far (`--env-merge PATH=/x:${PATH}`).
    pub env_merge: Vec<String>,
    /// Names removed from the defaults and the image's Env (`--unsetenv`).
    pub unset_env: Vec<String>,
    /// Keep none of the defaults nor the image's Env, only `env`
    /// (`--unsetenv-all`); `HOME` and `HOSTNAME` are still set.
    pub unset_env_all: bool,
    /// The process's umask (podman: 0022).
    pub umask: u32,
    /// The capabilities before `cap_add`/`cap_drop` (containers.conf
    /// `default_capabilities`); `None` for [`DEFAULT_CAPABILITIES`](super::DEFAULT_CAPABILITIES).
    pub default_capabilities: Option<Vec<String>>,
    /// Device nodes to create in the container (`--device`, and every host
    /// device with `--privileged`).
    pub devices: Vec<DeviceSpec>,
    /// Extra device cgroup rules (`--device-cgroup-rule`).
    pub device_rules: Vec<DeviceRule>,
    /// Block I/O throttles (`--device-read-bps` and the like).
    pub blkio: Vec<BlkioThrottle>,
    /// Further CPU, memory and I/O controls (`--cpu-shares`, ...).
    pub tuning: Tuning,
    /// Kernel parameters (`--sysctl`, containers.conf `default_sysctls`).
    pub sysctls: BTreeMap<String, String>,
    /// Supplementary groups added to the user's (`--group-add`): gids or
    /// names of the image's /etc/group.
    pub group_add: Vec<String>,
    /// `uid`, `uid:gid`, `name`, `name:group` (names resolved in the rootfs).
    pub user: Option<String>,
    /// The working directory, replacing the image's `WorkingDir`.
    pub workdir: Option<String>,
    /// The container's host name; also exported as `HOSTNAME`.
    pub hostname: Option<String>,
    /// Allocate a terminal (`process.terminal`); sets `TERM=xterm`.
    pub tty: bool,
    /// Mount the root filesystem read-only (`--read-only`).
    pub read_only: bool,
    /// With `read_only`, mount tmpfs on /tmp, /var/tmp and /run
    /// (podman's `--read-only-tmpfs`, on by default).
    pub read_only_tmpfs: bool,
    /// All capabilities this process may give, no masked or read-only paths,
    /// /sys and cgroups writable, no seccomp filter unless one is asked for.
    pub privileged: bool,
    /// Capability names (`NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`), any case.
    pub cap_add: Vec<String>,
    /// Capability names to remove from the default set, or `ALL`.
    pub cap_drop: Vec<String>,
    pub no_new_privileges: bool,
    pub seccomp: SeccompChoice,
    /// Memory limit in bytes.
    pub memory: Option<i64>,
    /// Memory + swap limit in bytes (`-1` for unlimited swap).
    pub memory_swap: Option<i64>,
    /// CPUs as a fraction (`1.5`): a CFS quota over a 100ms period.
    pub cpus: Option<f64>,
    /// Maximum number of processes (`-1` for unlimited).
    pub pids_limit: Option<i64>,
    /// Explicit rlimits; they replace the defaults of the same kind.
    pub ulimits: Vec<Ulimit>,
    /// Size of /dev/shm in bytes (podman: 64 MiB).
    pub shm_size: u64,
    /// Mount /dev/shm at all (not with podman's `--ipc none`).
    pub shm: bool,
    /// Extra mounts; one on the same destination as a default mount
    /// replaces it.
    pub mounts: Vec<MountSpec>,
    pub network: NamespaceMode,
    pub pid: NamespaceMode,
    pub ipc: NamespaceMode,
    pub uts: NamespaceMode,
    /// The cgroup namespace; `None` for podman's default (a private one on
    /// cgroup v2, the host's on v1).
    pub cgroupns: Option<NamespaceMode>,
    /// Copied into the spec's annotations (labels are the container
    /// manager's business, not the runtime's).
    pub annotations: BTreeMap<String, String>,
    /// `linux.cgroupsPath`, e.g. from [`default_cgroups_path`](super::default_cgroups_path).
    /// Leave it set: without one libcontainer names the cgroup literally.
    pub cgroups_path: Option<String>,
    /// Files written by [`crate::rootfs::write_etc_files`], bind-mounted on
    /// /etc/hosts, /etc/hostname and /etc/resolv.conf.
    pub etc_files: Option<EtcFiles>,
}

impl Default for SpecOptions {
    fn default() -> Self {
        SpecOptions {
            rootfs: PathBuf::new(),
            args: None,
            entrypoint: None,
            env: Vec::new(),
            default_env: Vec::new(),
            env_merge: Vec::new(),
            unset_env: Vec::new(),
            unset_env_all: false,
            umask: 0o022,
            default_capabilities: None,
            devices: Vec::new(),
            device_rules: Vec::new(),
            blkio: Vec::new(),
            tuning: Tuning::default(),
            sysctls: BTreeMap::new(),
            group_add: Vec::new(),
            user: None,
            workdir: None,
            hostname: None,
            tty: false,
            read_only: false,
            read_only_tmpfs: true,
            privileged: false,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            no_new_privileges: false,
            seccomp: SeccompChoice::Default,
            memory: None,
            memory_swap: None,
            cpus: None,
            pids_limit: None,
            ulimits: Vec::new(),
            shm_size: 64 << 20,
            shm: true,
            mounts: Vec::new(),
            network: NamespaceMode::Private,
            pid: NamespaceMode::Private,
            ipc: NamespaceMode::Private,
            uts: NamespaceMode::Private,
            cgroupns: None,
            annotations: BTreeMap::new(),
            cgroups_path: None,
            etc_files: None,
        }
    }
}

/// Which seccomp filter the container gets.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum SeccompChoice {
    /// hoist's default profile ([`crate::seccomp::default_profile`]).
    #[default]
    Default,
    /// No filter (`--security-opt seccomp=unconfined`).
    Unconfined,
    /// A JSON profile file in the OCI or podman/docker format.
    Profile(PathBuf),
}

/// How one namespace is set up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NamespaceMode {
    /// A new namespace of its own. For the network that means only a
    /// loopback device (podman's `--network none`).
    #[default]
    Private,
    /// Share the host's namespace.
    Host,
    /// Join the namespace at this path (e.g. `/run/netns/NAME`).
    Path(PathBuf),
}

/// A mount asked for on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSpec {
    /// A recursive bind mount of a host path.
    Bind {
        source: PathBuf,
        destination: String,
        read_only: bool,
        /// Further mount options (e.g. `nosuid`, `rshared`).
        options: Vec<String>,
    },
    /// A tmpfs, by default `rw,nosuid,nodev` with mode 1777 like podman's.
    Tmpfs {
        destination: String,
        size: Option<u64>,
        mode: Option<u32>,
        options: Vec<String>,
    },
}

/// The resource controls beyond `--memory`, `--cpus` and `--pids-limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tuning {
    /// `--cpu-shares`: relative CPU weight.
    pub cpu_shares: Option<u64>,
    /// `--cpu-period` and `--cpu-quota` (microseconds), instead of `--cpus`.
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    /// `--cpuset-cpus`, `--cpuset-mems`: e.g. `0-2,4`.
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// `--memory-reservation`: the soft limit in bytes.
    pub memory_reservation: Option<i64>,
    /// `--blkio-weight`: 10 to 1000.
    pub blkio_weight: Option<u16>,
    /// `--oom-score-adj`: -1000 to 1000.
    pub oom_score_adj: Option<i32>,
    /// `--memory-swappiness`: 0 to 100.
    pub memory_swappiness: Option<u64>,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: bool,
    /// `--cpu-rt-period`, `--cpu-rt-runtime` (microseconds).
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
}

/// A device node made in the container, with the cgroup rule allowing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    /// Where it appears in the container.
    pub path: String,
    /// `c` (character) or `b` (block).
    pub kind: char,
    pub major: i64,
    pub minor: i64,
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Access allowed through the device cgroup: some of `rwm`.
    pub access: String,
}

/// A device cgroup rule: `TYPE MAJOR:MINOR ACCESS` (`c 7:* rmw`); `None`
/// for `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    /// `a` (all), `c` or `b`.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

/// Which block I/O limit a [`BlkioThrottle`] sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlkioKind {
    ReadBps,
    WriteBps,
    ReadIops,
    WriteIops,
    /// `--blkio-weight-device`: the device's weight (10 to 1000) as `rate`.
    Weight,
}

/// A block I/O limit on one device (`--device-read-bps /dev/sda:1mb`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlkioThrottle {
    pub kind: BlkioKind,
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

/// One rlimit, as given by `--ulimit nofile=1024:2048`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// The short name (`nofile`, `nproc`, `core`, ...).
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// The rlimit names `--ulimit` knows, with their resource numbers.
pub(crate) const ULIMIT_NAMES: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

fn parse_limit(text: &str, whole: &str) -> Result<u64, SpecError> {
    if text == "-1" || text == "unlimited" {
        return Ok(u64::MAX);
    }
    text.parse().map_err(|_| SpecError::BadUlimit {
        value: whole.to_string(),
        reason: format!("{text:?} is not a number, -1 or unlimited"),
    })
}

impl FromStr for Ulimit {
    type Err = SpecError;

    /// Parses `name=soft[:hard]`; without `hard`, hard equals soft.
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let bad = |reason: String| SpecError::BadUlimit {
            value: s.to_string(),
            reason,
        };
        let (name, limits) = s
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=SOFT[:HARD]".into()))?;
        let name = name.trim().to_ascii_lowercase();
        let name = name.strip_prefix("rlimit_").unwrap_or(&name).to_string();
        if !ULIMIT_NAMES.contains(&name.as_str()) {
            return Err(bad(format!(
                "unknown limit {name:?}; known: {}",
                ULIMIT_NAMES.join(", ")
            )));
        }
        let (soft, hard) = match limits.split_once(':') {
            Some((s1, h)) => (parse_limit(s1, s)?, parse_limit(h, s)?),
            None => {
                let v = parse_limit(limits, s)?;
                (v, v)
            }
        };
        if soft > hard {
            return Err(bad(format!("soft limit {soft} is above hard limit {hard}")));
        }
        Ok(Ulimit { name, soft, hard })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimit_parsing() {
        let u: Ulimit = "nofile=1024:2048".parse().unwrap();
        assert_eq!((u.name.as_str(), u.soft, u.hard), ("nofile", 1024, 2048));
        let u: Ulimit = "NPROC=50".parse().unwrap();
        assert_eq!((u.name.as_str(), u.soft, u.hard), ("nproc", 50, 50));
        let u: Ulimit = "core=-1".parse().unwrap();
        assert_eq!(u.hard, u64::MAX);
        assert!("nofile=2048:1024".parse::<Ulimit>().is_err());
        assert!("bogus=1".parse::<Ulimit>().is_err());
        assert!("nofile".parse::<Ulimit>().is_err());
        assert!("nofile=x".parse::<Ulimit>().is_err());
    }

    #[test]
    fn defaults_match_podman() {
        let o = SpecOptions::default();
        assert_eq!(o.shm_size, 64 * 1024 * 1024);
        assert!(o.read_only_tmpfs);
        assert_eq!(o.seccomp, SeccompChoice::Default);
        assert_eq!(o.network, NamespaceMode::Private);
    }
}

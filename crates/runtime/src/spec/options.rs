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
    /// Extra mounts; one on the same destination as a default mount
    /// replaces it.
    pub mounts: Vec<MountSpec>,
    pub network: NamespaceMode,
    pub pid: NamespaceMode,
    pub ipc: NamespaceMode,
    pub uts: NamespaceMode,
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
            mounts: Vec::new(),
            network: NamespaceMode::Private,
            pid: NamespaceMode::Private,
            ipc: NamespaceMode::Private,
            uts: NamespaceMode::Private,
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

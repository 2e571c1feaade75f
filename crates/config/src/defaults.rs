//! podman 4.3's built-in values (containers/common 0.50, root), used for
//! every key no file sets. Lists are built once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;

use crate::parse::{EnvEntry, Subnet, SubnetPool};

pub const APPARMOR_PROFILE: &str = "containers-default-0.50.1";
pub const CGROUPS: &str = "enabled";
pub const IPCNS: &str = "shareable";
pub const LOG_DRIVER: &str = "k8s-file";
pub const NAMESPACE_PRIVATE: &str = "private";
pub const USERNS: &str = "host";
pub const USERNS_SIZE: u32 = 65536;
pub const PIDS_LIMIT: i64 = 2048;
pub const SHM_SIZE: &str = "65536k";
pub const UMASK: u32 = 0o022;
pub const SECCOMP_ADMIN: &str = "/etc/containers/seccomp.json";
pub const SECCOMP_SYSTEM: &str = "/usr/share/containers/seccomp.json";

pub const RUNTIME: &str = "crun";
pub const CGROUP_MANAGER: &str = "systemd";
pub const DETACH_KEYS: &str = "ctrl-p,ctrl-q";
pub const EVENTS_LOGFILE_MAX_SIZE: u64 = 1_000_000;
pub const IMAGE_COPY_TMP_DIR: &str = "/var/tmp";
pub const IMAGE_DEFAULT_TRANSPORT: &str = "docker://";
pub const INFRA_COMMAND: &str = "/pause";
pub const NUM_LOCKS: u32 = 2048;
pub const STOP_TIMEOUT: u64 = 10;
pub const TMP_DIR: &str = "/run/libpod";

pub const DEFAULT_NETWORK: &str = "podman";
pub const DEFAULT_SUBNET: &str = "10.88.0.0/16";
pub const DNS_BIND_PORT: u16 = 53;
pub const SECRETS_DRIVER: &str = "file";

pub static CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

pub static ENV: LazyLock<Vec<EnvEntry>> = LazyLock::new(|| {
    [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=xterm",
    ]
    .iter()
    .map(|e| e.parse().expect("built-in env entry parses"))
    .collect()
});

fn paths(list: &[&str]) -> Vec<PathBuf> {
    list.iter().map(PathBuf::from).collect()
}

pub static CONMON_PATH: LazyLock<Vec<PathBuf>> = LazyLock::new(|| {
    paths(&[
        "/usr/libexec/podman/conmon",
        "/usr/local/libexec/podman/conmon",
        "/usr/local/lib/podman/conmon",
        "/usr/bin/conmon",
        "/usr/sbin/conmon",
        "/usr/local/bin/conmon",
        "/usr/local/sbin/conmon",
    ])
});

pub static CONMON_ENV: LazyLock<Vec<EnvEntry>> = LazyLock::new(|| {
    vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            .parse()
            .expect("built-in env entry parses"),
    ]
});

pub static HELPER_BINARIES_DIR: LazyLock<Vec<PathBuf>> = LazyLock::new(|| {
    paths(&[
        "/usr/local/libexec/podman",
        "/usr/local/lib/podman",
        "/usr/libexec/podman",
        "/usr/lib/podman",
    ])
});

pub static HOOKS_DIR: LazyLock<Vec<PathBuf>> =
    LazyLock::new(|| paths(&["/usr/share/containers/oci/hooks.d"]));

pub static CNI_PLUGIN_DIRS: LazyLock<Vec<PathBuf>> = LazyLock::new(|| {
    paths(&[
        "/usr/local/libexec/cni",
        "/usr/libexec/cni",
        "/usr/local/lib/cni",
        "/usr/lib/cni",
        "/opt/cni/bin",
    ])
});

pub static SUBNET_POOLS: LazyLock<Vec<SubnetPool>> = LazyLock::new(|| {
    [
        "10.89.0.0/16",
        "10.90.0.0/15",
        "10.92.0.0/14",
        "10.96.0.0/11",
        "10.128.0.0/9",
    ]
    .iter()
    .map(|base| SubnetPool {
        base: base.parse::<Subnet>().expect("built-in subnet parses"),
        size: 24,
    })
    .collect()
});

/// The runtimes podman knows without configuration.
pub static RUNTIMES: LazyLock<BTreeMap<String, Vec<PathBuf>>> = LazyLock::new(|| {
    let standard = |bin: &str| {
        let mut list: Vec<PathBuf> = [
            "/usr/bin",
            "/usr/sbin",
            "/usr/local/bin",
            "/usr/local/sbin",
            "/sbin",
            "/bin",
        ]
        .iter()
        .map(|dir| PathBuf::from(dir).join(bin))
        .collect();
        list.push(PathBuf::from("/run/current-system/sw/bin").join(bin));
        list
    };
    let mut runc = standard("runc");
    runc.pop();
    runc.push(PathBuf::from("/usr/lib/cri-o-runc/sbin/runc"));
    let mut kata = standard("kata-runtime");
    kata.pop();
    kata.extend(paths(&["/usr/bin/kata-qemu", "/usr/bin/kata-fc"]));
    let mut map = BTreeMap::new();
    map.insert("crun".to_string(), standard("crun"));
    map.insert("runc".to_string(), runc);
    map.insert("kata".to_string(), kata);
    map.insert(
        "runsc".to_string(),
        paths(&[
            "/usr/bin/runsc",
            "/usr/sbin/runsc",
            "/usr/local/bin/runsc",
            "/usr/local/sbin/runsc",
            "/bin/runsc",
            "/sbin/runsc",
            "/run/current-system/sw/bin/runsc",
        ]),
    );
    map.insert(
        "krun".to_string(),
        paths(&["/usr/bin/krun", "/usr/local/bin/krun"]),
    );
    map
});

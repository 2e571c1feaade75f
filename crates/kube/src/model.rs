//! The engine-neutral description of what becomes a Pod.

/// The capabilities a container gets when it asks for no others; `kube
/// generate` writes only what differs from these (podman 4.3's defaults).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
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

/// One container, with what its image says beside it so the YAML carries
/// only what the container changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerDesc {
    pub name: String,
    /// The image as the user named it.
    pub image: String,
    /// The entrypoint the container runs (its own or the image's).
    pub entrypoint: Vec<String>,
    /// The arguments after the entrypoint.
    pub cmd: Vec<String>,
    pub image_entrypoint: Vec<String>,
    pub image_cmd: Vec<String>,
    /// KEY=VALUE, as the process sees them.
    pub env: Vec<String>,
    pub image_env: Vec<String>,
    pub working_dir: String,
    pub image_working_dir: String,
    /// `--user`: `UID[:GID]` or names.
    pub user: String,
    pub ports: Vec<PortDesc>,
    pub mounts: Vec<MountDesc>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub read_only: bool,
    /// Bytes; 0 for no limit.
    pub memory: i64,
    /// Billionths of a CPU; 0 for no limit.
    pub nano_cpus: i64,
    /// podman's policy name: `no`, `always`, `on-failure`, `unless-stopped`.
    pub restart_policy: String,
    pub tty: bool,
    pub auto_remove: bool,
    pub init: bool,
    pub labels: Vec<(String, String)>,
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortDesc {
    pub container_port: u16,
    /// 0 when not published on the host.
    pub host_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// What is mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountDesc {
    Bind {
        source: String,
        destination: String,
        read_only: bool,
    },
    Volume {
        name: String,
        destination: String,
        read_only: bool,
    },
    Tmpfs {
        destination: String,
    },
    /// An anonymous volume (`-v /dest`, or a played pod's emptyDir): the
    /// container's scratch space, an emptyDir in the YAML.
    Anonymous {
        name: String,
        destination: String,
        read_only: bool,
    },
}

/// A pod: its containers and the settings they share.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodDesc {
    pub name: String,
    pub containers: Vec<ContainerDesc>,
    /// The pod's ID when it is an existing pod (not a lone container
    /// described as one): its containers carry it as their sandbox.
    pub id: Option<String>,
    /// The pod's hostname, when it sets one.
    pub hostname: Option<String>,
    /// The ports the pod publishes (its infra container's): Kubernetes
    /// has them on a container, the first.
    pub ports: Vec<PortDesc>,
    /// When the pod was made (RFC 3339 in the YAML); `None`: now.
    pub created: Option<chrono::DateTime<chrono::Utc>>,
}

/// A named volume, written as the PersistentVolumeClaim podman writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumeDesc {
    pub name: String,
    pub driver: String,
    pub labels: Vec<(String, String)>,
    /// `volume create -o`: `type`, `device`, `o`.
    pub options: Vec<(String, String)>,
}

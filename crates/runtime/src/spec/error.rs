//! Errors of building a runtime spec.

use std::io;
use std::path::PathBuf;

use crate::seccomp::SeccompError;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the image has no Entrypoint or Cmd and no command was given; pass a command after the image name")]
    NoCommand,

    #[error("invalid --ulimit {value:?}: {reason}")]
    BadUlimit { value: String, reason: String },

    #[error("--ulimit {name}: {requested} is above the current hard limit {hard} and this process lacks CAP_SYS_RESOURCE to raise it; use at most {hard}")]
    UlimitAboveHard {
        name: String,
        requested: u64,
        hard: u64,
    },

    #[error("unknown capability {0:?}; use a name like NET_ADMIN or CAP_NET_ADMIN, or ALL")]
    UnknownCapability(String),

    #[error(
        "capability {0} is both added and dropped; remove it from one of --cap-add and --cap-drop"
    )]
    CapabilityAddedAndDropped(String),

    #[error("capability {0} is not in this process's bounding set, so no container started from here can have it; do not add it")]
    CapabilityNotAvailable(String),

    #[error("invalid user {user:?}: {reason}")]
    BadUser { user: String, reason: String },

    #[error("user {user:?} is not in the image's /etc/passwd; use a numeric uid[:gid] or a user the image defines")]
    UnknownUser { user: String },

    #[error("group {group:?} is not in the image's /etc/group; use a numeric gid or a group the image defines")]
    UnknownGroup { group: String },

    #[error("reading {file} in the container's root filesystem {}: {source}; check that the rootfs is mounted", rootfs.display())]
    RootfsFile {
        rootfs: PathBuf,
        file: &'static str,
        #[source]
        source: io::Error,
    },

    #[error("invalid --cpus {0}: use a positive number of CPUs such as 0.5 or 2")]
    BadCpus(f64),

    #[error("invalid {what} {value:?}: {reason}")]
    BadValue {
        what: &'static str,
        value: String,
        reason: String,
    },

    /// A `--device-cgroup-rule` podman would refuse, in podman's words.
    #[error("{0}")]
    DeviceRule(String),

    #[error(transparent)]
    Seccomp(#[from] SeccompError),

    #[error("assembling the OCI runtime spec: {0}; this is a bug in hoist")]
    Build(#[from] oci_spec::OciSpecError),
}

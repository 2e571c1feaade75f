//! What can go wrong making a policy.

use std::path::PathBuf;

/// A failure to read the inputs of a policy or to find a label for them.
#[derive(Debug, thiserror::Error)]
pub enum SelinuxError {
    #[error("the inspect data is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error(
        "the inspect data has no {0}: give it `hoist inspect CONTAINER` (or `podman inspect`) output"
    )]
    MissingField(String),
    #[error(
        "CRI-O inspect data (a JSON object) is not supported: give it `hoist inspect CONTAINER` (or `podman inspect`) output, a JSON list"
    )]
    CrioFormat,
    #[error("port {0:?} has no protocol: ports are named PORT/PROTOCOL, as `80/tcp`")]
    PortWithoutProtocol(String),
    #[error(
        "port {port:?}: {protocol:?} is not a protocol SELinux policies name (tcp, udp, sctp)"
    )]
    UnknownProtocol { port: String, protocol: String },
    #[error("port {port:?}: the host port {host_port:?} is not a number")]
    BadHostPort { port: String, host_port: String },
    #[error(
        "capability {0:?} has no SELinux `capability` permission udica knows: drop it or name the capabilities with --caps"
    )]
    UnknownCapability(String),
    #[error("the append-rules file, line {line}: {reason}")]
    Avc { line: usize, reason: String },
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no SELinux policy store at {0}: file and port types come from the host's policy; install one (Debian: apt-get install selinux-policy-default) or name the policy in /etc/selinux/config (SELINUXTYPE=)"
    )]
    NoStore(PathBuf),
    #[error("no SELinux port type covers {port}/{protocol} in the host policy: label it first (semanage port -a -t TYPE -p {protocol} {port})")]
    NoPortType { port: u32, protocol: String },
    #[error("no SELinux file context for {0}: the host policy gives it none (<<none>>); mount a directory the policy labels")]
    NoFileContext(String),
}

pub type Result<T, E = SelinuxError> = std::result::Result<T, E>;

/// The `map_err` for I/O on `path`.
pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SelinuxError + '_ {
    move |source| SelinuxError::Io {
        path: path.to_path_buf(),
        source,
    }
}

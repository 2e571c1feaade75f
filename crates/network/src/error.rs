//! The one error type of this crate. Messages name the object that failed and,
//! where there is one, the way out.

use std::net::IpAddr;
use std::path::PathBuf;

/// Result alias used throughout hoist-network.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while defining networks, creating network
/// namespaces or driving netavark.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filesystem or system call failed on `path`.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid network name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },

    #[error("network name {name} already used: network already exists")]
    NetworkExists { name: String },

    /// podman's wording, which scripts match on.
    #[error("unable to find network with name or ID {name}: network not found")]
    NetworkNotFound { name: String },

    #[error("network id prefix {prefix:?} is ambiguous: it matches {}", matches.join(", "))]
    AmbiguousNetwork {
        prefix: String,
        matches: Vec<String>,
    },

    #[error("default network {name} cannot be removed")]
    DefaultNetworkRemoval { name: String },

    #[error("{name:?} has associated containers with it ({}). Use -f to forcibly delete containers and pods: network is being used", users.join(", "))]
    NetworkInUse { name: String, users: Vec<String> },

    #[error("network file {} is not valid network JSON: {source}", path.display())]
    CorruptNetworkFile {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("network driver {driver:?} is not supported: only \"bridge\" is")]
    UnsupportedDriver { driver: String },

    #[error("invalid subnet {subnet:?}: {reason}")]
    InvalidSubnet { subnet: String, reason: String },

    #[error("invalid gateway {gateway}: {reason}")]
    InvalidGateway { gateway: IpAddr, reason: String },

    #[error("subnet {subnet} overlaps {used_by}: choose another subnet")]
    SubnetInUse { subnet: String, used_by: String },

    #[error("no free subnet left in {pool}: remove unused networks or pass a subnet explicitly")]
    NoFreeSubnet { pool: String },

    #[error("invalid bridge interface name {name:?}: {reason}")]
    InvalidInterfaceName { name: String, reason: String },

    #[error("bridge interface {name:?} is already used by {used_by}")]
    InterfaceInUse { name: String, used_by: String },

    #[error("invalid network namespace name {name:?}: {reason}")]
    InvalidNetnsName { name: String, reason: String },

    #[error("network namespace {} already exists: remove it first", path.display())]
    NetnsExists { path: PathBuf },

    #[error("network namespace {} does not exist", path.display())]
    NetnsNotFound { path: PathBuf },

    #[error("no free IP address left in subnet {subnet} of network {network:?}")]
    NoFreeIp { network: String, subnet: String },

    #[error("IP address {ip} of network {network:?} is already used by container {container}")]
    IpInUse {
        ip: IpAddr,
        network: String,
        container: String,
    },

    #[error("IP address {ip} is not in any subnet of network {network:?}")]
    IpNotInNetwork { ip: IpAddr, network: String },

    #[error(
        "{what} not found (looked in {}): install it with `apt-get install netavark aardvark-dns`",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    BinaryMissing {
        what: &'static str,
        searched: Vec<PathBuf>,
    },

    #[error("running {}: {source}", binary.display())]
    NetavarkSpawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A netlink request of the built-in bridge driver failed.
    #[error("{operation}: {source}")]
    Netlink {
        operation: String,
        #[source]
        source: std::io::Error,
    },

    /// iptables-save or iptables-restore failed for the built-in bridge
    /// driver's firewall rules.
    #[error("firewall: {action}: {message}")]
    Firewall { action: String, message: String },

    #[error("netavark {command} of namespace {} failed: {message}", netns.display())]
    NetavarkFailed {
        command: &'static str,
        netns: PathBuf,
        message: String,
    },

    #[error("netavark {command} printed output that is not a status block ({source}): {output}")]
    NetavarkOutput {
        command: &'static str,
        output: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("invalid network setup request: {reason}")]
    InvalidRequest { reason: String },

    #[error("invalid port mapping {spec:?}: {reason}")]
    InvalidPortSpec { spec: String, reason: String },

    #[error("port mappings {first:?} and {second:?} both use host port {port}/{protocol}")]
    PortConflict {
        first: String,
        second: String,
        port: u16,
        protocol: String,
    },

    #[error("no free host port for {spec:?}: {reason}")]
    NoFreePort { spec: String, reason: String },

    #[error("invalid network mode {mode:?}: {reason}")]
    InvalidNetworkMode { mode: String, reason: String },

    /// podman's wording.
    #[error("unsupported bridge network option {key}")]
    UnsupportedOption { key: String },

    #[error("invalid value {value:?} for network option {key}: expected {expected}")]
    InvalidOptionValue {
        key: String,
        value: String,
        expected: String,
    },

    #[error("{reason}")]
    UnsupportedIpamDriver { driver: String, reason: String },

    #[error("invalid filter {key:?}")]
    InvalidFilter { key: String },

    #[error("invalid {key} filter value {value:?}: {reason}")]
    InvalidFilterValue {
        key: String,
        value: String,
        reason: String,
    },

    #[error("invalid dangling filter value {value:?}")]
    InvalidDanglingFilter { value: String },
}

/// Attaches "what was being done to which path" to io errors.
pub(crate) trait IoContext<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl From<hoist_fsutil::Error> for Error {
    fn from(e: hoist_fsutil::Error) -> Error {
        Error::Io {
            action: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            action,
            path: path.into(),
            source,
        })
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|errno| Error::Io {
            action,
            path: path.into(),
            source: errno.into(),
        })
    }
}

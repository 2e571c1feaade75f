//! Container networking for hoist. IPv4 bridge networks without DNS (the
//! default network among them) are set up by a built-in driver: netlink
//! for links, one iptables-restore for netavark's firewall rules. The rest
//! goes to the backend podman uses: netavark configures bridges, veths,
//! firewall rules and port forwarding, aardvark-dns resolves names.
//!
//! * [`NetworkStore`]: network definitions in podman's JSON format, one
//!   file per network, plus the built-in default network `podman`.
//! * [`Netns`]: named network namespaces pinned by bind mounts.
//! * [`Netavark`]: `setup` / `teardown` of a namespace, with IP allocation
//!   ([`Ipam`]) in front, since netavark 1.4 wants static IPs; it sends the
//!   networks the built-in driver covers to it.
//! * [`PortMapping`]: `-p` parsing and host port assignment.
//! * [`resolv_conf`]: the container's resolv.conf from the setup status.
//!
//! Everything here needs root for the kernel parts (namespaces, netavark).
//! All calls block.

mod bridge;
mod error;
mod filter;
mod ipam;
mod mode;
mod names;
mod netavark;
mod netns;
mod network;
mod ports;
mod resolv;
mod store;
mod subnets;

pub use bridge::DRIVER_ENV as NETWORK_DRIVER_ENV;
pub use error::{Error, Result};
pub use filter::{FilterUse, NetworkFilter};
pub use ipam::Ipam;
pub use ipnet::IpNet;
pub use mode::NetworkMode;
pub use names::{validate_interface_name, validate_network_name, MAX_INTERFACE_NAME};
pub use netavark::{
    find_aardvark, find_netavark, ContainerAddress, NetAddress, NetInterface, Netavark,
    NetworkAttachment, NetworkStatus, SetupRequest, StatusBlock,
};
pub use netns::{Netns, DEFAULT_NETNS_DIR};
pub use network::{LeaseRange, Network, Subnet, BRIDGE_DRIVER, HOST_LOCAL_IPAM};
pub use ports::{assign_host_ports, check_conflicts, parse_port_specs, PortMapping, Protocol};
pub use resolv::resolv_conf;
pub use store::{CreateOptions, NetworkStore, DEFAULT_BRIDGE, DEFAULT_NETWORK_NAME};
pub use subnets::{parse_subnet, DEFAULT_SUBNET};

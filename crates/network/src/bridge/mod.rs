//! The built-in bridge driver: what netavark 1.4 does for an IPv4 bridge
//! network without DNS, done in-process. Links and addresses go through
//! netlink; the firewall rules (netavark's own chains and rules, so either
//! tool can undo what the other made) go through one iptables-restore.
//!
//! netavark runs `iptables` about 24 times for one setup and as many for
//! one teardown, most of a container's start-up. What this driver does not
//! cover (DNS through aardvark-dns, IPv6, bridge options, internal
//! networks) stays with netavark: [`handles`] decides.

pub(crate) mod firewall;
mod link;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;
use std::path::Path;

use ipnet::{IpNet, Ipv4Net};

use crate::error::{Error, Result};
use crate::netavark::StatusBlock;
use crate::netavark::{NetAddress, NetInterface, NetworkAttachment, NetworkStatus, SetupRequest};
use crate::network::Network;
use link::{format_mac, in_netns, parse_mac, random_mac, Rtnl};

/// Set to `netavark` to send every setup to netavark (comparisons, and a
/// way around a problem in this driver).
pub const DRIVER_ENV: &str = "HOIST_NETWORK_DRIVER";

/// Whether this driver can set up `request`: every network an IPv4-only
/// bridge without DNS, options or internal mode, every host IP IPv4.
pub(crate) fn handles(request: &SetupRequest) -> bool {
    let network_ok = |a: &NetworkAttachment| {
        let n = &a.network;
        !n.dns_enabled
            && !n.ipv6_enabled
            && !n.internal
            && n.options.is_empty()
            && n.extra.is_empty()
            && !n.subnets.is_empty()
            && n.subnets.iter().all(|s| matches!(s.subnet, IpNet::V4(_)))
    };
    request.networks.iter().all(network_ok)
        && request
            .port_mappings
            .iter()
            .all(|p| p.host_ip.is_none_or(|ip| ip.is_ipv4()))
}

/// Connects `netns` to the request's networks with the addresses `ips`
/// (one list per network, allocated by the caller). Undoes what it did
/// when a step fails.
pub(crate) fn setup(
    netns: &Path,
    request: &SetupRequest,
    ips: &[Vec<IpAddr>],
) -> Result<StatusBlock> {
    let mut status = StatusBlock::default();
    for (index, attachment) in request.networks.iter().enumerate() {
        let joined = Joined::new(request, index, &ips[index])?;
        match joined.setup(netns, request, attachment.static_mac.as_deref()) {
            Ok(network_status) => {
                status
                    .networks
                    .insert(attachment.network.name.clone(), network_status);
            }
            Err(err) => {
                let in_use = vec![true; ips.len()];
                if let Err(undo) = teardown(netns, request, ips, &in_use, NamespaceFate::Stays) {
                    tracing::debug!("undoing a failed network setup: {undo}");
                }
                return Err(err);
            }
        }
    }
    Ok(status)
}

/// What happens to the container's network namespace after a teardown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NamespaceFate {
    /// It lives on (`network disconnect`, `network reload`): the
    /// container's interfaces are deleted.
    Stays,
    /// It is removed next, and its interfaces with it.
    Removed,
}

/// Undoes [`setup`]: the container's interfaces (unless its namespace is
/// going anyway) and firewall rules, and the bridge with its network's
/// rules once no container is left on it (`in_use[i]` says whether another
/// container holds an address on network `i`). The default network keeps
/// its bridge and rules, as docker0 does: it cannot be removed, and
/// deleting a bridge waits for an RCU grace period (about 40 ms here) on
/// every last container's exit. Goes on past a failing step and reports
/// the first failure.
pub(crate) fn teardown(
    netns: &Path,
    request: &SetupRequest,
    ips: &[Vec<IpAddr>],
    in_use: &[bool],
    fate: NamespaceFate,
) -> Result<()> {
    let mut first_error = None;
    for (index, network_ips) in ips.iter().enumerate() {
        let network = &request.networks[index].network;
        // A failed setup's undo (`in_use` all true) still removes a bridge
        // it left without ports. Setups and teardowns hold one lock, so no
        // other container is half-way onto the bridge.
        let unused = network.name != crate::store::DEFAULT_NETWORK_NAME
            && (!in_use[index] || bridge_ports(&network.network_interface) == Some(0));
        let outcome = Joined::new(request, index, network_ips)
            .and_then(|joined| joined.teardown(netns, request, fate, unused));
        if let Err(err) = outcome {
            first_error.get_or_insert(err);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// One network of one container: what setup and teardown both need.
struct Joined<'a> {
    network: &'a Network,
    interface: String,
    /// The container's addresses on the network, each with its subnet.
    addresses: Vec<(Ipv4Addr, Ipv4Net)>,
    subnets: Vec<Ipv4Net>,
}

impl<'a> Joined<'a> {
    fn new(request: &'a SetupRequest, index: usize, ips: &[IpAddr]) -> Result<Joined<'a>> {
        let network = &request.networks[index].network;
        let subnets: Vec<Ipv4Net> = network
            .subnets
            .iter()
            .filter_map(|s| match s.subnet {
                IpNet::V4(v4) => Some(v4),
                IpNet::V6(_) => None,
            })
            .collect();
        let mut addresses = Vec::new();
        for ip in ips {
            let IpAddr::V4(v4) = *ip else { continue };
            let subnet =
                subnets
                    .iter()
                    .find(|s| s.contains(&v4))
                    .ok_or_else(|| Error::IpNotInNetwork {
                        ip: *ip,
                        network: network.name.clone(),
                    })?;
            addresses.push((v4, *subnet));
        }
        Ok(Joined {
            network,
            interface: request.interface_name(index),
            addresses,
            subnets,
        })
    }

    fn setup(
        &self,
        netns: &Path,
        request: &SetupRequest,
        static_mac: Option<&str>,
    ) -> Result<NetworkStatus> {
        let mac = match static_mac {
            Some(text) => parse_mac(text).ok_or_else(|| Error::InvalidRequest {
                reason: format!("invalid MAC address {text:?}"),
            })?,
            None => random_mac(),
        };
        let mut host = Rtnl::open()?;
        let bridge = self.bridge(&mut host)?;
        enable_forwarding(
            &self.network.network_interface,
            !request.port_mappings.is_empty(),
        )?;
        let namespace = std::fs::File::open(netns).map_err(|source| Error::Io {
            action: "opening network namespace",
            path: netns.to_path_buf(),
            source,
        })?;
        host.add_veth(bridge, &self.interface, mac, namespace.as_fd())?;
        in_netns(netns, || self.configure_inside())?;
        self.firewall(request)
            .and_then(|rules| firewall::add(&rules))?;
        Ok(self.status(mac))
    }

    fn teardown(
        &self,
        netns: &Path,
        request: &SetupRequest,
        fate: NamespaceFate,
        unused: bool,
    ) -> Result<()> {
        let bridge = &self.network.network_interface;
        let removed = match fate {
            NamespaceFate::Removed => Ok(()),
            NamespaceFate::Stays => self.delete_interface(netns),
        };
        let rules = self.firewall(request)?;
        let mut outcome = removed.and(firewall::remove(&rules, unused));
        if unused {
            outcome = outcome.and(delete_bridge(bridge));
        }
        outcome
    }

    /// Deletes the container's end of the veth pair (and so both ends).
    fn delete_interface(&self, netns: &Path) -> Result<()> {
        match in_netns(netns, || Rtnl::open()?.delete_link(&self.interface)) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// The network's bridge, made (with its gateway addresses) if missing.
    fn bridge(&self, host: &mut Rtnl) -> Result<u32> {
        let name = &self.network.network_interface;
        let index = match host.link(name)? {
            Some(link) if link.kind == Some(netlink_packet_route::link::InfoKind::Bridge) => {
                link.index
            }
            Some(_) => {
                return Err(Error::InterfaceInUse {
                    name: name.clone(),
                    used_by: "an interface that is not a bridge".into(),
                })
            }
            None => host.add_bridge(name)?,
        };
        for (gateway, subnet) in self.gateways() {
            let net = Ipv4Net::new(gateway, subnet.prefix_len()).expect("prefix of a subnet");
            host.add_address(index, IpNet::V4(net))?;
        }
        Ok(index)
    }

    /// Addresses and the default route on the container's interface.
    fn configure_inside(&self) -> Result<()> {
        let mut rtnl = Rtnl::open()?;
        let index = rtnl
            .link(&self.interface)?
            .ok_or_else(|| Error::InvalidRequest {
                reason: format!("interface {} missing in the container", self.interface),
            })?
            .index;
        for (address, subnet) in &self.addresses {
            let net = Ipv4Net::new(*address, subnet.prefix_len()).expect("prefix of a subnet");
            rtnl.add_address(index, IpNet::V4(net))?;
        }
        rtnl.set_up(index)?;
        if let Some((gateway, _)) = self.gateways().first() {
            match rtnl.add_default_route(*gateway) {
                // A container on several networks keeps the first one's.
                Err(Error::Netlink { source, .. })
                    if source.raw_os_error() == Some(libc::EEXIST) => {}
                other => other?,
            }
        }
        Ok(())
    }

    fn firewall(&self, request: &'a SetupRequest) -> Result<firewall::ContainerRules<'_>> {
        let (address, _) = self
            .addresses
            .first()
            .ok_or_else(|| Error::InvalidRequest {
                reason: format!("no IPv4 address on network {}", self.network.name),
            })?;
        Ok(firewall::ContainerRules {
            network_name: &self.network.name,
            subnets: &self.subnets,
            internal: self.network.internal,
            container_id: &request.container_id,
            address: *address,
            ports: &request.port_mappings,
        })
    }

    /// Each subnet's gateway: the one recorded, else its first address.
    fn gateways(&self) -> Vec<(Ipv4Addr, Ipv4Net)> {
        self.network
            .subnets
            .iter()
            .filter_map(|s| match (s.subnet, s.gateway) {
                (IpNet::V4(net), Some(IpAddr::V4(gw))) => Some((gw, net)),
                (IpNet::V4(net), _) => net.hosts().next().map(|gw| (gw, net)),
                _ => None,
            })
            .collect()
    }

    fn status(&self, mac: [u8; 6]) -> NetworkStatus {
        let gateways = self.gateways();
        let subnets = self
            .addresses
            .iter()
            .map(|(address, subnet)| NetAddress {
                ipnet: IpNet::V4(Ipv4Net::new(*address, subnet.prefix_len()).expect("prefix")),
                gateway: gateways
                    .iter()
                    .find(|(_, s)| s == subnet)
                    .map(|(gw, _)| IpAddr::V4(*gw)),
            })
            .collect();
        let interface = NetInterface {
            mac_address: format_mac(mac),
            subnets,
        };
        NetworkStatus {
            dns_search_domains: Vec::new(),
            dns_server_ips: Vec::new(),
            interfaces: BTreeMap::from([(self.interface.clone(), interface)]),
        }
    }
}

/// Routing between the bridge and the world, as netavark turns it on; with
/// published ports also from 127.0.0.1 (route_localnet), so that the host
/// reaches them on localhost.
fn enable_forwarding(bridge: &str, ports: bool) -> Result<()> {
    write_sysctl("/proc/sys/net/ipv4/ip_forward")?;
    if ports {
        write_sysctl(&format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"))?;
    }
    Ok(())
}

fn write_sysctl(path: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1") {
        return Ok(());
    }
    std::fs::write(path, "1").map_err(|source| Error::Io {
        action: "enabling",
        path: path.into(),
        source,
    })
}

/// How many interfaces are attached to bridge `bridge`; `None` when there
/// is no bridge of that name.
fn bridge_ports(bridge: &str) -> Option<usize> {
    std::fs::read_dir(format!("/sys/class/net/{bridge}/brif"))
        .ok()
        .map(|d| d.count())
}

/// Deletes bridge `name`: only a bridge, so that an interface of another
/// kind that happens to carry the name (the reason a setup failed) stays.
fn delete_bridge(name: &str) -> Result<()> {
    let mut rtnl = Rtnl::open()?;
    match rtnl.link(name)? {
        Some(link) if link.kind == Some(netlink_packet_route::link::InfoKind::Bridge) => {
            rtnl.delete_link(name).map(|_| ())
        }
        _ => Ok(()),
    }
}

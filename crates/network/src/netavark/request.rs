//! What a container asks of netavark, and the "network options" JSON
//! netavark reads on stdin for `setup` and `teardown`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::validate_interface_name;
use crate::network::{Network, BRIDGE_DRIVER};
use crate::ports::{check_conflicts, PortMapping};

/// The networking of one container. Serializable so the runtime can keep it
/// with the container and hand the same request to
/// [`crate::Netavark::teardown`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetupRequest {
    pub container_id: String,
    /// Resolvable through aardvark-dns on networks with DNS.
    pub container_name: String,
    pub networks: Vec<NetworkAttachment>,
    /// Must have host ports assigned (see [`crate::assign_host_ports`]).
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    /// Upstream servers aardvark-dns should ask instead of the host's.
    #[serde(default)]
    pub dns_servers: Vec<IpAddr>,
}

/// One network a container joins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkAttachment {
    pub network: Network,
    /// Extra names aardvark-dns resolves to this container on the network.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Fixed addresses (`--ip`); the others are allocated.
    #[serde(default)]
    pub static_ips: Vec<IpAddr>,
    /// Interface inside the container; `None` means `eth<index>`.
    #[serde(default)]
    pub interface_name: Option<String>,
    /// A fixed MAC address (`network reload` keeps the one it had).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_mac: Option<String>,
}

impl NetworkAttachment {
    /// Joins `network` with no aliases and allocated addresses.
    pub fn new(network: Network) -> Self {
        NetworkAttachment {
            network,
            aliases: Vec::new(),
            static_ips: Vec::new(),
            interface_name: None,
            static_mac: None,
        }
    }

    /// The same attachment with DNS aliases.
    pub fn with_aliases<I, S>(mut self, aliases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.aliases = aliases.into_iter().map(Into::into).collect();
        self
    }
}

impl SetupRequest {
    /// A request without networks or ports yet.
    pub fn new(container_id: impl Into<String>, container_name: impl Into<String>) -> Self {
        SetupRequest {
            container_id: container_id.into(),
            container_name: container_name.into(),
            networks: Vec::new(),
            port_mappings: Vec::new(),
            dns_servers: Vec::new(),
        }
    }

    /// Interface name inside the container for the attachment at `index`.
    pub fn interface_name(&self, index: usize) -> String {
        self.networks[index]
            .interface_name
            .clone()
            .unwrap_or_else(|| format!("eth{index}"))
    }

    /// Checks everything netavark would otherwise reject half-way.
    pub fn validate(&self) -> Result<()> {
        let invalid = |reason: String| Err(Error::InvalidRequest { reason });
        if self.container_id.is_empty()
            || !self.container_id.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return invalid(format!(
                "container id {:?} must be non-empty and alphanumeric",
                self.container_id
            ));
        }
        if self.networks.is_empty() {
            return invalid("no network to join".into());
        }
        let mut names = BTreeSet::new();
        let mut interfaces = BTreeSet::new();
        for (index, attachment) in self.networks.iter().enumerate() {
            let net = &attachment.network;
            if net.driver != BRIDGE_DRIVER {
                return Err(Error::UnsupportedDriver {
                    driver: net.driver.clone(),
                });
            }
            if !names.insert(net.name.as_str()) {
                return invalid(format!("network {:?} is listed twice", net.name));
            }
            let iface = self.interface_name(index);
            validate_interface_name(&iface)?;
            if !interfaces.insert(iface.clone()) {
                return invalid(format!("interface name {iface:?} is used twice"));
            }
        }
        if let Some(m) = self.port_mappings.iter().find(|m| m.host_port == 0) {
            return invalid(format!(
                "port mapping {:?} has no host port yet: assign host ports first",
                m.to_spec()
            ));
        }
        check_conflicts(&self.port_mappings)
    }

    /// The JSON netavark reads, with the addresses each network got.
    pub(crate) fn to_netavark_json(&self, ips: &[Vec<IpAddr>]) -> Vec<u8> {
        let networks = self
            .networks
            .iter()
            .enumerate()
            .map(|(index, a)| {
                (
                    a.network.name.as_str(),
                    PerNetwork {
                        aliases: &a.aliases,
                        interface_name: self.interface_name(index),
                        static_ips: &ips[index],
                        static_mac: a.static_mac.as_deref(),
                    },
                )
            })
            .collect();
        let network_info = self
            .networks
            .iter()
            .map(|a| (a.network.name.as_str(), &a.network))
            .collect();
        let wire = Wire {
            container_id: &self.container_id,
            container_name: &self.container_name,
            networks,
            network_info,
            port_mappings: (!self.port_mappings.is_empty()).then_some(&self.port_mappings),
            dns_servers: (!self.dns_servers.is_empty()).then_some(&self.dns_servers),
        };
        serde_json::to_vec(&wire).expect("network options serialize")
    }
}

#[derive(Serialize)]
struct Wire<'a> {
    container_id: &'a str,
    container_name: &'a str,
    networks: BTreeMap<&'a str, PerNetwork<'a>>,
    network_info: BTreeMap<&'a str, &'a Network>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_mappings: Option<&'a Vec<PortMapping>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns_servers: Option<&'a Vec<IpAddr>>,
}

#[derive(Serialize)]
struct PerNetwork<'a> {
    aliases: &'a [String],
    interface_name: String,
    static_ips: &'a [IpAddr],
    #[serde(skip_serializing_if = "Option::is_none")]
    static_mac: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortMapping;

    fn network(name: &str) -> Network {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "id": "ab".repeat(32),
            "driver": "bridge",
            "network_interface": "br-x",
            "created": "2024-01-01T00:00:00Z",
            "subnets": [{"subnet": "10.9.0.0/24", "gateway": "10.9.0.1"}],
            "dns_enabled": true,
            "ipam_options": {"driver": "host-local"}
        }))
        .unwrap()
    }

    fn request() -> SetupRequest {
        let mut req = SetupRequest::new("0123abcd", "web");
        req.networks
            .push(NetworkAttachment::new(network("front")).with_aliases(["w"]));
        req.networks.push(NetworkAttachment::new(network("back")));
        req.port_mappings
            .push(PortMapping::parse("127.0.0.1:8080:80").unwrap());
        req
    }

    #[test]
    fn wire_format_is_what_netavark_reads() {
        let req = request();
        req.validate().unwrap();
        let ips = vec![
            vec!["10.9.0.2".parse().unwrap()],
            vec!["10.9.0.3".parse().unwrap()],
        ];
        let v: serde_json::Value = serde_json::from_slice(&req.to_netavark_json(&ips)).unwrap();
        assert_eq!(v["container_id"], "0123abcd");
        assert_eq!(v["container_name"], "web");
        assert_eq!(
            v["networks"]["front"],
            serde_json::json!({"aliases": ["w"], "interface_name": "eth0", "static_ips": ["10.9.0.2"]})
        );
        assert_eq!(v["networks"]["back"]["interface_name"], "eth1");
        assert_eq!(v["network_info"]["back"]["name"], "back");
        assert_eq!(
            v["network_info"]["front"]["subnets"][0]["subnet"],
            "10.9.0.0/24"
        );
        assert_eq!(v["port_mappings"][0]["host_port"], 8080);
        assert_eq!(v["port_mappings"][0]["host_ip"], "127.0.0.1");
        assert!(v.get("dns_servers").is_none());
    }

    #[test]
    fn validation_catches_mistakes() {
        let mut r = request();
        r.container_id = "../x".into();
        assert!(r.validate().is_err());

        let mut r = request();
        r.networks.clear();
        assert!(r.validate().is_err());

        let mut r = request();
        r.networks[1].network.name = "front".into();
        assert!(r.validate().is_err(), "duplicate network");

        let mut r = request();
        r.networks[1].interface_name = Some("eth0".into());
        assert!(r.validate().is_err(), "duplicate interface");

        let mut r = request();
        r.port_mappings.push(PortMapping::parse("90").unwrap());
        assert!(r.validate().is_err(), "unassigned host port");

        let mut r = request();
        r.networks[0].network.driver = "macvlan".into();
        assert!(matches!(r.validate(), Err(Error::UnsupportedDriver { .. })));
    }

    #[test]
    fn request_round_trips_through_json() {
        let req = request();
        let text = serde_json::to_string(&req).unwrap();
        let back: SetupRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, req);
    }
}

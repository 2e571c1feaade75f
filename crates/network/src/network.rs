//! A network definition in the JSON form podman stores in
//! `/etc/containers/networks/<name>.json` and hands to netavark as
//! `network_info`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, FixedOffset};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The only driver hoist creates networks with.
pub const BRIDGE_DRIVER: &str = "bridge";

/// The IPAM driver podman records for bridge networks: addresses come from
/// the engine's own allocator and reach netavark as static IPs.
pub const HOST_LOCAL_IPAM: &str = "host-local";

/// One network. Fields this crate does not know (say `routes` or
/// `network_dns_servers` written by a newer tool) are kept in `extra` and
/// written back and passed on to netavark unchanged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    /// 64 lowercase hex digits.
    pub id: String,
    pub driver: String,
    /// The host bridge interface, such as `hoist0`.
    #[serde(default)]
    pub network_interface: String,
    pub created: DateTime<FixedOffset>,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    #[serde(default)]
    pub ipv6_enabled: bool,
    /// No route out of the network, no masquerading.
    #[serde(default)]
    pub internal: bool,
    /// Whether netavark runs aardvark-dns on the gateway for name resolution.
    #[serde(default)]
    pub dns_enabled: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One subnet of a network with its gateway on the bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub subnet: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// `--ip-range`: the addresses the allocator hands out (a fixed `--ip`
    /// may lie outside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_range: Option<LeaseRange>,
}

/// The first and last address a subnet's allocator may hand out (either
/// end open when missing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ip: Option<IpAddr>,
}

impl LeaseRange {
    /// Whether `ip` lies within the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.start_ip.is_none_or(|s| ip >= s) && self.end_ip.is_none_or(|e| ip <= e)
    }
}

impl Subnet {
    /// `subnet` with its first host address as gateway, the whole of it
    /// handed out.
    pub fn with_default_gateway(subnet: IpNet) -> Subnet {
        Subnet {
            subnet,
            gateway: Some(crate::subnets::default_gateway(&subnet)),
            lease_range: None,
        }
    }
}

impl Network {
    /// The first 12 hex digits of the id, as `network ls` shows it.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }

    /// Gateway addresses of all subnets that have one.
    pub fn gateways(&self) -> Vec<IpAddr> {
        self.subnets.iter().filter_map(|s| s.gateway).collect()
    }

    /// The subnet `ip` belongs to, if any.
    pub fn subnet_of(&self, ip: IpAddr) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.subnet.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODMAN_STYLE: &str = r#"{
     "name": "web",
     "id": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
     "driver": "bridge",
     "network_interface": "hoist3",
     "created": "2021-10-06T18:50:54.25770461+02:00",
     "subnets": [ { "subnet": "10.90.3.0/24", "gateway": "10.90.3.1" } ],
     "ipv6_enabled": false,
     "internal": false,
     "dns_enabled": true,
     "ipam_options": { "driver": "host-local" },
     "network_dns_servers": ["1.1.1.1"]
}"#;

    #[test]
    fn reads_podman_json_and_keeps_unknown_fields() {
        let net: Network = serde_json::from_str(PODMAN_STYLE).unwrap();
        assert_eq!(net.name, "web");
        assert_eq!(net.short_id(), "0123456789ab");
        assert_eq!(net.network_interface, "hoist3");
        assert_eq!(net.subnets[0].subnet.to_string(), "10.90.3.0/24");
        assert_eq!(net.gateways(), vec!["10.90.3.1".parse::<IpAddr>().unwrap()]);
        assert!(net.dns_enabled);
        assert_eq!(net.ipam_options["driver"], "host-local");

        let back = serde_json::to_value(&net).unwrap();
        assert_eq!(back["network_dns_servers"], serde_json::json!(["1.1.1.1"]));
        assert_eq!(back["subnets"][0]["gateway"], "10.90.3.1");
        assert!(back.get("labels").is_none(), "empty maps are left out");
        let again: Network = serde_json::from_value(back).unwrap();
        assert_eq!(again, net);
    }

    #[test]
    fn subnet_of_finds_the_containing_subnet() {
        let net: Network = serde_json::from_str(PODMAN_STYLE).unwrap();
        assert!(net.subnet_of("10.90.3.77".parse().unwrap()).is_some());
        assert!(net.subnet_of("10.90.4.1".parse().unwrap()).is_none());
    }
}

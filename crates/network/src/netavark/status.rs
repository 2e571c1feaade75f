//! netavark's answer to `setup`: per network, the interfaces it made in the
//! container with their addresses, and the DNS servers to use.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};

/// Status of every network a container joined, keyed by network name.
/// Serializes exactly as netavark prints it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusBlock {
    pub networks: BTreeMap<String, NetworkStatus>,
}

/// What netavark set up for one network.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkStatus {
    /// `dns.podman` when aardvark-dns serves the network.
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns_search_domains: Vec<String>,
    /// The aardvark-dns addresses (the network's gateways) when DNS is on.
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns_server_ips: Vec<IpAddr>,
    /// Keyed by interface name inside the container.
    #[serde(default, deserialize_with = "null_as_default")]
    pub interfaces: BTreeMap<String, NetInterface>,
}

/// One interface inside the container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetInterface {
    pub mac_address: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub subnets: Vec<NetAddress>,
}

/// An address of the container (with its prefix) and the gateway to use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetAddress {
    pub ipnet: IpNet,
    #[serde(default)]
    pub gateway: Option<IpAddr>,
}

/// One container address with where it lives, flattened for callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerAddress {
    pub network: String,
    pub interface: String,
    pub mac_address: String,
    pub address: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
}

impl StatusBlock {
    /// Every address the container got, in network then interface order.
    pub fn addresses(&self) -> Vec<ContainerAddress> {
        let mut out = Vec::new();
        for (network, status) in &self.networks {
            for (interface, iface) in &status.interfaces {
                for addr in &iface.subnets {
                    out.push(ContainerAddress {
                        network: network.clone(),
                        interface: interface.clone(),
                        mac_address: iface.mac_address.clone(),
                        address: addr.ipnet.addr(),
                        prefix_len: addr.ipnet.prefix_len(),
                        gateway: addr.gateway,
                    });
                }
            }
        }
        out
    }

    /// The container's addresses on one network.
    pub fn addresses_on(&self, network: &str) -> Vec<IpAddr> {
        self.addresses()
            .into_iter()
            .filter(|a| a.network == network)
            .map(|a| a.address)
            .collect()
    }

    /// Nameservers for the container's resolv.conf (aardvark-dns on the
    /// gateways), without duplicates; empty when no network has DNS.
    pub fn dns_servers(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        for ip in self.networks.values().flat_map(|s| &s.dns_server_ips) {
            if !out.contains(ip) {
                out.push(*ip);
            }
        }
        out
    }

    /// Search domains for resolv.conf, without duplicates.
    pub fn dns_search_domains(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in self.networks.values().flat_map(|s| &s.dns_search_domains) {
            if !out.contains(d) {
                out.push(d.clone());
            }
        }
        out
    }
}

/// netavark writes `null` for absent lists.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from `netavark setup` 1.4 on bookworm.
    const OUTPUT: &str = r#"{"tnet":{"dns_search_domains":["dns.podman"],"dns_server_ips":["10.201.7.1"],"interfaces":{"eth0":{"mac_address":"52:7b:24:1f:a9:03","subnets":[{"gateway":"10.201.7.1","ipnet":"10.201.7.2/24"}]}}},
        "plain":{"dns_search_domains":null,"dns_server_ips":null,"interfaces":{"eth1":{"mac_address":"aa:bb:cc:dd:ee:ff","subnets":[{"gateway":null,"ipnet":"10.202.0.5/16"}]}}}}"#;

    #[test]
    fn parses_netavark_output() {
        let status: StatusBlock = serde_json::from_str(OUTPUT).unwrap();
        let addrs = status.addresses();
        assert_eq!(addrs.len(), 2);
        assert_eq!(addrs[0].network, "plain");
        assert_eq!(addrs[0].address.to_string(), "10.202.0.5");
        assert_eq!(addrs[0].prefix_len, 16);
        assert_eq!(addrs[0].gateway, None);
        assert_eq!(addrs[1].interface, "eth0");
        assert_eq!(addrs[1].mac_address, "52:7b:24:1f:a9:03");
        assert_eq!(addrs[1].gateway.unwrap().to_string(), "10.201.7.1");
        assert_eq!(
            status.addresses_on("tnet"),
            vec!["10.201.7.2".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            status.dns_servers(),
            vec!["10.201.7.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(status.dns_search_domains(), vec!["dns.podman".to_string()]);

        let again: StatusBlock =
            serde_json::from_str(&serde_json::to_string(&status).unwrap()).unwrap();
        assert_eq!(again, status);
    }
}

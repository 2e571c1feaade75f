//! Subnet arithmetic: parsing, the pool new networks draw from, and the
//! host's own routes a new subnet must not shadow.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use crate::error::{Error, Result};

/// Subnet of the built-in default network. podman's default is
/// 10.88.0.0/16 and its user networks take 10.89.N.0/24, so hoist stays out
/// of both and a host running both engines sees no collision.
pub const DEFAULT_SUBNET: &str = "10.90.0.0/24";

/// New networks without an explicit subnet get the first free
/// 10.90.N.0/24 (N = 1..=255; N = 0 is the default network).
const POOL_SECOND: u8 = 90;
pub(crate) const POOL_DESCRIPTION: &str = "10.90.1.0/24 - 10.90.255.0/24";

/// Parses `10.90.3.0/24` (host bits are cleared: `10.90.3.7/24` means the
/// same subnet, as in podman) and refuses subnets too small for a gateway
/// and one container.
pub fn parse_subnet(text: &str) -> Result<IpNet> {
    let net: IpNet = text.trim().parse().map_err(|_| Error::InvalidSubnet {
        subnet: text.to_string(),
        reason: "expected an address and prefix length such as 10.90.3.0/24".into(),
    })?;
    normalize_subnet(net)
}

/// Clears host bits and checks the subnet leaves room for the network
/// address, a gateway, a container and (IPv4) the broadcast address.
pub(crate) fn normalize_subnet(net: IpNet) -> Result<IpNet> {
    let net = net.trunc();
    let too_small = match net {
        IpNet::V4(n) => n.prefix_len() > 29,
        IpNet::V6(n) => n.prefix_len() > 126,
    };
    if too_small {
        return Err(Error::InvalidSubnet {
            subnet: net.to_string(),
            reason: "it is too small to hold a gateway and containers".into(),
        });
    }
    Ok(net)
}

/// Whether two subnets share any address.
pub(crate) fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The conventional gateway: the first address after the network address.
pub(crate) fn default_gateway(subnet: &IpNet) -> IpAddr {
    offset(subnet.network(), 1)
}

/// `ip + n` within its address family (wrapping is the caller's concern).
pub(crate) fn offset(ip: IpAddr, n: u128) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4).wrapping_add(n as u32))),
        IpAddr::V6(v6) => IpAddr::V6(u128::from(v6).wrapping_add(n).into()),
    }
}

/// Gateways must be usable host addresses of their subnet.
pub(crate) fn validate_gateway(subnet: &IpNet, gateway: IpAddr) -> Result<()> {
    let invalid = |reason: String| Error::InvalidGateway { gateway, reason };
    if !subnet.contains(&gateway) {
        return Err(invalid(format!("it is not inside subnet {subnet}")));
    }
    if gateway == subnet.network() {
        return Err(invalid(format!("it is the network address of {subnet}")));
    }
    if subnet.addr().is_ipv4() && gateway == subnet.broadcast() {
        return Err(invalid(format!("it is the broadcast address of {subnet}")));
    }
    Ok(())
}

/// The first pool subnet that overlaps none of `used`.
pub(crate) fn pick_free_subnet(used: &[IpNet]) -> Result<IpNet> {
    (1..=255u8)
        .map(|n| IpNet::V4(Ipv4Net::new(Ipv4Addr::new(10, POOL_SECOND, n, 0), 24).expect("/24")))
        .find(|candidate| !used.iter().any(|u| overlaps(candidate, u)))
        .ok_or_else(|| Error::NoFreeSubnet {
            pool: POOL_DESCRIPTION.into(),
        })
}

/// IPv4 destinations the host already routes (its own interfaces and
/// static routes), except default routes. A network on one of them would
/// cut the host off from it.
pub(crate) fn host_routes() -> Vec<(IpNet, String)> {
    match std::fs::read_to_string("/proc/net/route") {
        Ok(text) => parse_proc_net_route(&text),
        Err(err) => {
            tracing::warn!("cannot read /proc/net/route, not checking host routes: {err}");
            Vec::new()
        }
    }
}

/// `/proc/net/route` lists `Iface Destination Gateway Flags RefCnt Use
/// Metric Mask ...` with addresses as hex u32 in host byte order.
fn parse_proc_net_route(text: &str) -> Vec<(IpNet, String)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let iface = cols.first()?;
            let dest = u32::from_str_radix(cols.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(cols.get(7)?, 16).ok()?;
            if mask == 0 {
                return None;
            }
            // The kernel prints the in-memory u32, whose bytes are in
            // network order.
            let dest = Ipv4Addr::from(dest.to_ne_bytes());
            let prefix = u32::from_be_bytes(mask.to_ne_bytes()).leading_ones() as u8;
            let net = Ipv4Net::new(dest, prefix).ok()?.trunc();
            Some((IpNet::V4(net), iface.to_string()))
        })
        .collect()
}

/// `--ip-range RANGE` within `subnet`: the addresses from the one after
/// RANGE's first to its last, as podman records them.
pub(crate) fn lease_range(subnet: &IpNet, range: IpNet) -> Result<crate::LeaseRange> {
    let range = range.trunc();
    let start = offset(range.network(), 1);
    let end = range.broadcast();
    for (which, ip) in [("start", start), ("end", end)] {
        if !subnet.contains(&ip) {
            return Err(Error::InvalidSubnet {
                subnet: subnet.to_string(),
                reason: format!(
                    "the lease range {which} address {ip} (of --ip-range {range}) is outside it: give a range inside the subnet"
                ),
            });
        }
    }
    Ok(crate::LeaseRange {
        start_ip: Some(start),
        end_ip: Some(end),
    })
}

/// A unique local IPv6 /64 (fd00::/8 with 56 random bits, as RFC 4193
/// asks) that overlaps none of `used`.
pub(crate) fn pick_free_ula(used: &[IpNet]) -> Result<IpNet> {
    for _ in 0..64 {
        let random: [u8; 7] = rand::random();
        let mut octets = [0u8; 16];
        octets[0] = 0xfd;
        octets[1..8].copy_from_slice(&random);
        let net =
            IpNet::V6(ipnet::Ipv6Net::new(std::net::Ipv6Addr::from(octets), 64).expect("/64"));
        if !used.iter().any(|u| overlaps(&net, u)) {
            return Ok(net);
        }
    }
    Err(Error::NoFreeSubnet {
        pool: "fd00::/8".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn parse_clears_host_bits_and_rejects_garbage() {
        assert_eq!(parse_subnet("10.90.3.7/24").unwrap(), net("10.90.3.0/24"));
        assert_eq!(parse_subnet("fd00::5/64").unwrap(), net("fd00::/64"));
        assert!(parse_subnet("10.90.3.0").is_err());
        assert!(parse_subnet("10.90.3.0/33").is_err());
        assert!(parse_subnet("10.90.3.0/30").is_err());
        assert!(parse_subnet("nonsense").is_err());
    }

    #[test]
    fn overlap_is_symmetric_and_exact() {
        assert!(overlaps(&net("10.0.0.0/8"), &net("10.90.1.0/24")));
        assert!(overlaps(&net("10.90.1.0/24"), &net("10.0.0.0/8")));
        assert!(!overlaps(&net("10.90.1.0/24"), &net("10.90.2.0/24")));
        assert!(!overlaps(&net("10.90.1.0/24"), &net("fd00::/64")));
    }

    #[test]
    fn gateways() {
        let s = net("10.90.3.0/24");
        assert_eq!(default_gateway(&s), "10.90.3.1".parse::<IpAddr>().unwrap());
        assert_eq!(
            default_gateway(&net("fd00::/64")),
            "fd00::1".parse::<IpAddr>().unwrap()
        );
        validate_gateway(&s, "10.90.3.254".parse().unwrap()).unwrap();
        for bad in ["10.90.3.0", "10.90.3.255", "10.90.4.1"] {
            assert!(validate_gateway(&s, bad.parse().unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn pool_skips_used_subnets() {
        assert_eq!(pick_free_subnet(&[]).unwrap(), net("10.90.1.0/24"));
        let used = [
            net("10.90.0.0/24"),
            net("10.90.1.0/24"),
            net("10.90.2.0/23"),
        ];
        assert_eq!(pick_free_subnet(&used).unwrap(), net("10.90.4.0/24"));
        assert!(pick_free_subnet(&[net("10.90.0.0/16")]).is_err());
    }

    // The sample was captured on a little-endian host.
    #[cfg(target_endian = "little")]
    #[test]
    fn proc_net_route_is_decoded() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                    br0\t00005A0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let routes = parse_proc_net_route(text);
        assert_eq!(
            routes,
            vec![
                (net("192.0.2.0/24"), "eth0".to_string()),
                (net("10.90.0.0/16"), "br0".to_string()),
            ]
        );
    }
}

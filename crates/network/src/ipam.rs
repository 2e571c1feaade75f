//! IP address allocation for bridge networks.
//!
//! netavark 1.4 does no allocation for `host-local` networks: it requires
//! every container to arrive with `static_ips`, so the engine owns IPAM (as
//! podman does with its own database). Allocations live as files
//! `<dir>/<network id>/<ip>` holding the container id; `dir` belongs on a
//! tmpfs (hoist uses its run directory) because no container survives a
//! reboot. Per-network flocks serialise allocation between processes.
//!
//! Addresses are handed out round-robin from the last one given, so a
//! freshly released address is not reused at once while peers may still
//! cache its old MAC or DNS answer.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::error::{Error, IoContext, Result};
use crate::network::Network;
use crate::subnets::offset;
use hoist_fsutil::{write_file, FileLock};

/// IPv6 subnets are huge; looking further than this for a free address is
/// pointless for one host's containers.
const MAX_V6_CANDIDATES: u128 = 1 << 16;

/// The allocator; cheap to clone.
#[derive(Clone, Debug)]
pub struct Ipam {
    dir: PathBuf,
}

impl Ipam {
    /// Opens (creating if needed) the allocation directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Ipam> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).ctx("creating IPAM directory", &dir)?;
        Ok(Ipam { dir })
    }

    /// The directory holding the allocations.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Gives `container_id` one address in every subnet of `network`.
    /// `requested` (podman's `--ip`) pins the address of the subnets it falls
    /// in; the others are picked. If the container already holds addresses
    /// on this network they are returned unchanged, so a retried setup keeps
    /// its IPs.
    pub fn allocate(
        &self,
        network: &Network,
        container_id: &str,
        requested: &[IpAddr],
    ) -> Result<Vec<IpAddr>> {
        if container_id.is_empty() || container_id.contains('/') {
            return Err(Error::InvalidRequest {
                reason: format!("container id {container_id:?} is not usable"),
            });
        }
        let _lock = self.lock(network)?;
        let net_dir = self.net_dir(network);
        std::fs::create_dir_all(&net_dir).ctx("creating IPAM directory", &net_dir)?;
        let taken = read_allocations(&net_dir)?;
        let mine: Vec<IpAddr> = taken
            .iter()
            .filter(|(_, owner)| owner.as_str() == container_id)
            .map(|(ip, _)| *ip)
            .collect();
        if !mine.is_empty() {
            return Ok(mine);
        }

        // Validate every request before writing anything.
        let mut plan: Vec<IpAddr> = Vec::new();
        for ip in requested {
            let subnet = network
                .subnet_of(*ip)
                .ok_or_else(|| Error::IpNotInNetwork {
                    ip: *ip,
                    network: network.name.clone(),
                })?;
            if !usable(&subnet.subnet, subnet.gateway, *ip) {
                return Err(Error::InvalidRequest {
                    reason: format!(
                        "{ip} is the network, broadcast or gateway address of {}",
                        subnet.subnet
                    ),
                });
            }
            if let Some(owner) = taken.get(ip) {
                return Err(Error::IpInUse {
                    ip: *ip,
                    network: network.name.clone(),
                    container: owner.clone(),
                });
            }
            plan.push(*ip);
        }
        for (index, subnet) in network.subnets.iter().enumerate() {
            if plan.iter().any(|ip| subnet.subnet.contains(ip)) {
                continue;
            }
            let last = read_last(&net_dir, index);
            let range = subnet.lease_range.as_ref();
            let ip = pick(&subnet.subnet, subnet.gateway, last, |ip| {
                taken.contains_key(&ip) || range.is_some_and(|r| !r.contains(ip))
            })
            .ok_or_else(|| Error::NoFreeIp {
                network: network.name.clone(),
                subnet: subnet.subnet.to_string(),
            })?;
            write_file(
                &last_file(&net_dir, index),
                ip.to_string().as_bytes(),
                0o644,
            )?;
            plan.push(ip);
        }

        let mut written = Vec::new();
        for ip in &plan {
            let path = net_dir.join(ip.to_string());
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|mut f| f.write_all(container_id.as_bytes()));
            if let Err(e) = created {
                for p in &written {
                    let _ = std::fs::remove_file(p);
                }
                return Err(e).ctx("recording IP allocation", path);
            }
            written.push(path);
        }
        tracing::debug!(network = %network.name, container_id, ips = ?plan, "allocated IPs");
        Ok(plan)
    }

    /// The addresses `container_id` holds on `network` (empty if none).
    pub fn allocated(&self, network: &Network, container_id: &str) -> Result<Vec<IpAddr>> {
        let net_dir = self.net_dir(network);
        if !net_dir.exists() {
            return Ok(Vec::new());
        }
        let _lock = self.lock(network)?;
        Ok(read_allocations(&net_dir)?
            .into_iter()
            .filter(|(_, owner)| owner == container_id)
            .map(|(ip, _)| ip)
            .collect())
    }

    /// Whether a container other than `container_id` holds an address on
    /// `network`: whether the network is still in use without it.
    pub fn held_by_others(&self, network: &Network, container_id: &str) -> Result<bool> {
        let net_dir = self.net_dir(network);
        if !net_dir.exists() {
            return Ok(false);
        }
        let _lock = self.lock(network)?;
        Ok(read_allocations(&net_dir)?
            .values()
            .any(|owner| owner != container_id))
    }

    /// Frees every address `container_id` holds on `network`.
    pub fn release(&self, network: &Network, container_id: &str) -> Result<()> {
        let net_dir = self.net_dir(network);
        if !net_dir.exists() {
            return Ok(());
        }
        let _lock = self.lock(network)?;
        for (ip, owner) in read_allocations(&net_dir)? {
            if owner == container_id {
                let path = net_dir.join(ip.to_string());
                std::fs::remove_file(&path).ctx("releasing IP allocation", path)?;
            }
        }
        Ok(())
    }

    /// Forgets every allocation of a removed network.
    pub fn release_network(&self, network: &Network) -> Result<()> {
        let net_dir = self.net_dir(network);
        let _lock = self.lock(network)?;
        match std::fs::remove_dir_all(&net_dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).ctx("removing IPAM directory", net_dir)
            }
            _ => {}
        }
        let lock = self.lock_path(network);
        let _ = std::fs::remove_file(lock);
        Ok(())
    }

    fn net_dir(&self, network: &Network) -> PathBuf {
        // Keyed by id, not name: a network re-created under the same name
        // starts with a clean slate.
        self.dir.join(&network.id)
    }

    fn lock_path(&self, network: &Network) -> PathBuf {
        self.dir.join(format!("{}.lock", network.id))
    }

    fn lock(&self, network: &Network) -> Result<FileLock> {
        Ok(FileLock::exclusive(&self.lock_path(network))?)
    }
}

fn last_file(net_dir: &Path, subnet_index: usize) -> PathBuf {
    net_dir.join(format!(".last-{subnet_index}"))
}

fn read_last(net_dir: &Path, subnet_index: usize) -> Option<IpAddr> {
    std::fs::read_to_string(last_file(net_dir, subnet_index))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// ip -> owning container id, for every allocation file in `net_dir`.
fn read_allocations(net_dir: &Path) -> Result<BTreeMap<IpAddr, String>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(net_dir).ctx("listing IPAM directory", net_dir)? {
        let entry = entry.ctx("listing IPAM directory", net_dir)?;
        let Ok(ip) = entry.file_name().to_string_lossy().parse::<IpAddr>() else {
            continue;
        };
        let path = entry.path();
        let owner = std::fs::read_to_string(&path).ctx("reading IP allocation", &path)?;
        out.insert(ip, owner.trim().to_string());
    }
    Ok(out)
}

/// Host addresses containers may get: not the network address, not the
/// gateway, not the IPv4 broadcast address.
fn usable(subnet: &IpNet, gateway: Option<IpAddr>, ip: IpAddr) -> bool {
    subnet.contains(&ip)
        && ip != subnet.network()
        && Some(ip) != gateway
        && !(subnet.addr().is_ipv4() && ip == subnet.broadcast())
}

/// The first usable free address after `last` (wrapping), or from the start.
fn pick(
    subnet: &IpNet,
    gateway: Option<IpAddr>,
    last: Option<IpAddr>,
    taken: impl Fn(IpAddr) -> bool,
) -> Option<IpAddr> {
    let host_bits = u32::from(subnet.max_prefix_len() - subnet.prefix_len());
    let size: u128 = if host_bits >= 128 {
        u128::MAX
    } else {
        1u128 << host_bits
    };
    let count = match subnet {
        IpNet::V4(_) => size,
        IpNet::V6(_) => size.min(MAX_V6_CANDIDATES),
    };
    let base = subnet.network();
    let start = last
        .filter(|l| subnet.contains(l))
        .map(|l| distance(base, l) + 1)
        .unwrap_or(1);
    (0..count)
        .map(|i| offset(base, (start + i) % count))
        .find(|ip| usable(subnet, gateway, *ip) && !taken(*ip))
}

fn distance(from: IpAddr, to: IpAddr) -> u128 {
    match (from, to) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u128::from(u32::from(b).wrapping_sub(u32::from(a))),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(b).wrapping_sub(u128::from(a)),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Subnet;

    fn network(id: &str, subnets: &[(&str, &str)]) -> Network {
        Network {
            name: format!("net-{id}"),
            id: id.repeat(64 / id.len()),
            driver: "bridge".into(),
            network_interface: "br-test".into(),
            created: chrono::Local::now().fixed_offset(),
            subnets: subnets
                .iter()
                .map(|(s, g)| Subnet {
                    subnet: s.parse().unwrap(),
                    gateway: Some(g.parse().unwrap()),
                    lease_range: None,
                })
                .collect(),
            ipv6_enabled: false,
            internal: false,
            dns_enabled: false,
            labels: Default::default(),
            options: Default::default(),
            ipam_options: Default::default(),
            extra: Default::default(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn picks_stay_in_the_lease_range_and_fixed_addresses_need_not() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::open(dir.path()).unwrap();
        let mut net = network("r", &[("10.2.0.0/24", "10.2.0.1")]);
        net.subnets[0].lease_range = Some(crate::LeaseRange {
            start_ip: Some(ip("10.2.0.200")),
            end_ip: Some(ip("10.2.0.201")),
        });
        assert_eq!(
            ipam.allocate(&net, "c1", &[]).unwrap(),
            vec![ip("10.2.0.200")]
        );
        assert_eq!(
            ipam.allocate(&net, "c2", &[]).unwrap(),
            vec![ip("10.2.0.201")]
        );
        assert!(matches!(
            ipam.allocate(&net, "c3", &[]),
            Err(Error::NoFreeIp { .. })
        ));
        assert_eq!(
            ipam.allocate(&net, "c4", &[ip("10.2.0.5")]).unwrap(),
            vec![ip("10.2.0.5")]
        );
    }

    #[test]
    fn allocates_in_order_skipping_gateway_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::open(dir.path()).unwrap();
        let net = network("a", &[("10.1.0.0/24", "10.1.0.1")]);
        assert_eq!(
            ipam.allocate(&net, "c1", &[]).unwrap(),
            vec![ip("10.1.0.2")]
        );
        assert_eq!(
            ipam.allocate(&net, "c2", &[]).unwrap(),
            vec![ip("10.1.0.3")]
        );
        assert_eq!(
            ipam.allocate(&net, "c1", &[]).unwrap(),
            vec![ip("10.1.0.2")],
            "retry keeps the IP"
        );
        assert_eq!(ipam.allocated(&net, "c2").unwrap(), vec![ip("10.1.0.3")]);
        assert_eq!(
            ipam.allocated(&net, "nobody").unwrap(),
            Vec::<IpAddr>::new()
        );
    }

    #[test]
    fn released_addresses_come_back_only_after_a_full_round() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::open(dir.path()).unwrap();
        // /29: .0 network, .1 gateway, .7 broadcast, so .2 - .6 usable.
        let net = network("b", &[("10.2.0.0/29", "10.2.0.1")]);
        for c in ["c2", "c3", "c4", "c5", "c6"] {
            ipam.allocate(&net, c, &[]).unwrap();
        }
        assert!(matches!(
            ipam.allocate(&net, "c7", &[]),
            Err(Error::NoFreeIp { .. })
        ));
        ipam.release(&net, "c3").unwrap();
        ipam.release(&net, "c5").unwrap();
        // Round robin continues after .6 and wraps to the lowest free one.
        assert_eq!(
            ipam.allocate(&net, "c7", &[]).unwrap(),
            vec![ip("10.2.0.3")]
        );
        assert_eq!(
            ipam.allocate(&net, "c8", &[]).unwrap(),
            vec![ip("10.2.0.5")]
        );
    }

    #[test]
    fn static_requests_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::open(dir.path()).unwrap();
        let net = network(
            "c",
            &[("10.3.0.0/24", "10.3.0.1"), ("fd00:3::/64", "fd00:3::1")],
        );
        let got = ipam.allocate(&net, "c1", &[ip("10.3.0.50")]).unwrap();
        assert_eq!(
            got,
            vec![ip("10.3.0.50"), ip("fd00:3::2")],
            "v6 picked, v4 pinned"
        );
        assert!(matches!(
            ipam.allocate(&net, "c2", &[ip("10.3.0.50")]),
            Err(Error::IpInUse { .. })
        ));
        assert!(matches!(
            ipam.allocate(&net, "c2", &[ip("10.4.0.5")]),
            Err(Error::IpNotInNetwork { .. })
        ));
        for reserved in ["10.3.0.0", "10.3.0.1", "10.3.0.255"] {
            assert!(
                ipam.allocate(&net, "c2", &[ip(reserved)]).is_err(),
                "{reserved}"
            );
        }
        assert!(
            ipam.allocated(&net, "c2").unwrap().is_empty(),
            "failed requests hold nothing"
        );
    }

    #[test]
    fn networks_are_independent_and_removable() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::open(dir.path()).unwrap();
        let a = network("d", &[("10.5.0.0/24", "10.5.0.1")]);
        let b = network("e", &[("10.5.0.0/24", "10.5.0.1")]);
        assert_eq!(ipam.allocate(&a, "c1", &[]).unwrap(), vec![ip("10.5.0.2")]);
        assert_eq!(ipam.allocate(&b, "c1", &[]).unwrap(), vec![ip("10.5.0.2")]);
        ipam.release_network(&a).unwrap();
        assert!(ipam.allocated(&a, "c1").unwrap().is_empty());
        assert_eq!(ipam.allocated(&b, "c1").unwrap(), vec![ip("10.5.0.2")]);
    }

    #[test]
    fn pick_handles_large_v6_and_wrapping() {
        let subnet: IpNet = "fd00::/48".parse().unwrap();
        let got = pick(&subnet, Some(ip("fd00::1")), Some(ip("fd00::9")), |_| false);
        assert_eq!(got, Some(ip("fd00::a")));
        let v4: IpNet = "10.9.0.0/30".parse().unwrap();
        // Only .1 and .2 are hosts; .1 is the gateway.
        assert_eq!(
            pick(&v4, Some(ip("10.9.0.1")), Some(ip("10.9.0.2")), |_| false),
            Some(ip("10.9.0.2"))
        );
        assert_eq!(
            pick(&v4, Some(ip("10.9.0.1")), None, |i| i == ip("10.9.0.2")),
            None
        );
    }
}

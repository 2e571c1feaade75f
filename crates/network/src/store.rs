//! Network definitions on disk: one `<name>.json` per network in a
//! directory the caller owns, plus the built-in default network.
//!
//! Creation and removal run under an exclusive flock on `<dir>/.lock` so two
//! processes creating networks at once never pick the same subnet or bridge.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::names::{validate_interface_name, validate_network_name};
use crate::network::{Network, Subnet, BRIDGE_DRIVER, HOST_LOCAL_IPAM};
use crate::subnets::{
    default_gateway, host_routes, normalize_subnet, overlaps, pick_free_subnet, validate_gateway,
    DEFAULT_SUBNET,
};
use hoist_fsutil::{write_file, FileLock};

/// Name of the built-in network containers join when none is named:
/// podman's, which scripts name (`--network podman`, `network inspect
/// podman`).
pub const DEFAULT_NETWORK_NAME: &str = "podman";

/// Host bridge of the default network; user networks get hoist1, hoist2, ...
/// (not podman's podman0, podman1: both engines may run on one host).
pub const DEFAULT_BRIDGE: &str = "hoist0";

const BRIDGE_PREFIX: &str = "hoist";

/// Unnamed networks are podman1, podman2, ... as in podman.
const NAME_PREFIX: &str = "podman";

/// What `network create` asks for. Unset fields get podman's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// Empty means "pick one": the first free `podmanN`.
    pub name: String,
    /// `None` or `"bridge"`; nothing else is supported.
    pub driver: Option<String>,
    /// `--subnet`, each a subnet of the network; none picks the first free
    /// 10.90.N.0/24.
    pub subnets: Vec<IpNet>,
    /// `--gateway`: the gateway of the subnet in the same place (the first
    /// host address of a subnet without one).
    pub gateways: Vec<IpAddr>,
    /// No outbound route and no masquerading.
    pub internal: bool,
    /// aardvark-dns name resolution; `None` means on, as podman does for
    /// user networks.
    pub dns: Option<bool>,
    /// Host bridge name; `None` picks the first free `hoistN`.
    pub interface_name: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// `--opt`: bridge options netavark applies (`mtu`, `vlan`, `isolate`).
    pub options: BTreeMap<String, String>,
    /// `--ipam-driver`: `None` or `host-local` (the only one hoist has).
    pub ipam_driver: Option<String>,
    /// `--ip-range`: the part of the subnet in the same place that
    /// addresses are handed out from.
    pub ip_ranges: Vec<IpNet>,
    /// `--ipv6`: dual stack; a family the subnets lack gets a subnet of its
    /// own (a unique local /64 for IPv6, the pool's next /24 for IPv4).
    pub ipv6: bool,
}

impl CreateOptions {
    /// Options for a network called `name` with every default.
    pub fn named(name: impl Into<String>) -> Self {
        CreateOptions {
            name: name.into(),
            ..CreateOptions::default()
        }
    }
}

/// The network definitions of one hoist root.
#[derive(Clone, Debug)]
pub struct NetworkStore {
    dir: PathBuf,
}

impl NetworkStore {
    /// Opens (creating if needed) the definitions directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<NetworkStore> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).ctx("creating network config directory", &dir)?;
        Ok(NetworkStore { dir })
    }

    /// The directory holding the `<name>.json` files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The default network: `<dir>/podman.json` if an administrator wrote
    /// one (as podman honours it), else the built-in definition.
    pub fn default_network(&self) -> Result<Network> {
        let path = self.file_of(DEFAULT_NETWORK_NAME);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let net: Network = serde_json::from_slice(&bytes)
                    .map_err(|source| Error::CorruptNetworkFile { path, source })?;
                if net.name == DEFAULT_NETWORK_NAME {
                    return Ok(net);
                }
                tracing::warn!(
                    "{} names network {:?}, not {DEFAULT_NETWORK_NAME:?}; using the built-in default",
                    self.file_of(DEFAULT_NETWORK_NAME).display(),
                    net.name
                );
                Ok(builtin_default())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(builtin_default()),
            Err(e) => Err(e).ctx("reading", path),
        }
    }

    /// All networks, the default included, sorted by name. Unreadable files
    /// are skipped with a warning so one bad file does not hide the rest.
    pub fn list(&self) -> Result<Vec<Network>> {
        let mut all = vec![self.default_network()?];
        all.extend(self.user_networks()?);
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// Looks a network up by exact name, full id, or unique id prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Network> {
        let all = self.list()?;
        if let Some(net) = all
            .iter()
            .find(|n| n.name == name_or_id || n.id == name_or_id)
        {
            return Ok(net.clone());
        }
        let is_hex = !name_or_id.is_empty() && name_or_id.chars().all(|c| c.is_ascii_hexdigit());
        let matches: Vec<&Network> = if is_hex {
            all.iter()
                .filter(|n| n.id.starts_with(name_or_id))
                .collect()
        } else {
            Vec::new()
        };
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::NetworkNotFound {
                name: name_or_id.to_string(),
            }),
            many => Err(Error::AmbiguousNetwork {
                prefix: name_or_id.to_string(),
                matches: many.iter().map(|n| n.name.clone()).collect(),
            }),
        }
    }

    /// Defines a new bridge network and stores it.
    pub fn create(&self, opts: CreateOptions) -> Result<Network> {
        let driver = opts.driver.as_deref().unwrap_or(BRIDGE_DRIVER);
        if driver != BRIDGE_DRIVER {
            return Err(Error::UnsupportedDriver {
                driver: driver.to_string(),
            });
        }
        check_bridge_options(&opts.options)?;
        match opts.ipam_driver.as_deref() {
            None | Some("") | Some(HOST_LOCAL_IPAM) => {}
            Some("dhcp") => {
                return Err(Error::UnsupportedIpamDriver {
                    driver: "dhcp".into(),
                    reason: "dhcp ipam driver is not yet supported with netavark".into(),
                })
            }
            Some(other) => {
                return Err(Error::UnsupportedIpamDriver {
                    driver: other.into(),
                    reason: format!("unsupported ipam driver {other:?}"),
                })
            }
        }
        let _lock = self.lock()?;
        let existing = self.list()?;

        let name = if opts.name.is_empty() {
            first_free_numbered(NAME_PREFIX, |candidate| {
                existing.iter().any(|n| n.name == candidate)
            })
        } else {
            opts.name.clone()
        };
        validate_network_name(&name)?;
        if existing.iter().any(|n| n.name == name) || self.file_of(&name).exists() {
            return Err(Error::NetworkExists { name });
        }

        let interface = match &opts.interface_name {
            Some(iface) => {
                validate_interface_name(iface)?;
                if let Some(other) = existing.iter().find(|n| &n.network_interface == iface) {
                    return Err(Error::InterfaceInUse {
                        name: iface.clone(),
                        used_by: format!("network {:?}", other.name),
                    });
                }
                iface.clone()
            }
            None => first_free_numbered(BRIDGE_PREFIX, |candidate| {
                existing.iter().any(|n| n.network_interface == candidate)
                    || Path::new("/sys/class/net").join(candidate).exists()
            }),
        };

        let subnets = self.choose_subnets(&opts, &existing)?;

        let mut id = random_id();
        while existing.iter().any(|n| n.id == id) {
            id = random_id();
        }
        let network = Network {
            name,
            id,
            driver: BRIDGE_DRIVER.to_string(),
            network_interface: interface,
            created: chrono::Local::now().fixed_offset(),
            ipv6_enabled: subnets.iter().any(|s| s.subnet.addr().is_ipv6()),
            subnets,
            internal: opts.internal,
            dns_enabled: opts.dns.unwrap_or(true),
            labels: opts.labels,
            options: opts.options,
            ipam_options: host_local_ipam(),
            extra: serde_json::Map::new(),
        };
        let path = self.file_of(&network.name);
        write_file(&path, to_podman_json(&network).as_bytes(), 0o644)?;
        tracing::debug!(network = %network.name, subnets = ?network.subnets, "created network");
        Ok(network)
    }

    /// Deletes a network definition. `users` names the containers still
    /// attached (the store does not know containers); any name refuses the
    /// removal. Returns the removed definition so the caller can release
    /// what it held (see [`crate::Ipam::release_network`]).
    pub fn remove<F>(&self, name_or_id: &str, users: F) -> Result<Network>
    where
        F: FnOnce(&Network) -> Vec<String>,
    {
        let _lock = self.lock()?;
        let network = self.get(name_or_id)?;
        if network.name == DEFAULT_NETWORK_NAME {
            return Err(Error::DefaultNetworkRemoval { name: network.name });
        }
        let users = users(&network);
        if !users.is_empty() {
            return Err(Error::NetworkInUse {
                name: network.name,
                users,
            });
        }
        let path = self.file_of(&network.name);
        std::fs::remove_file(&path).ctx("removing network file", &path)?;
        tracing::debug!(network = %network.name, "removed network");
        Ok(network)
    }

    /// `network inspect`: the named networks as a JSON array in podman's
    /// layout.
    pub fn inspect(&self, names_or_ids: &[&str]) -> Result<String> {
        let networks = names_or_ids
            .iter()
            .map(|n| self.get(n))
            .collect::<Result<Vec<_>>>()?;
        Ok(to_podman_json(&networks))
    }

    fn user_networks(&self) -> Result<Vec<Network>> {
        let mut out = Vec::new();
        let entries =
            std::fs::read_dir(&self.dir).ctx("listing network config directory", &self.dir)?;
        for entry in entries {
            let entry = entry.ctx("listing network config directory", &self.dir)?;
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            if !file_name.ends_with(".json") || file_name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let parsed = std::fs::read(&path)
                .ctx("reading", &path)
                .and_then(|bytes| {
                    serde_json::from_slice::<Network>(&bytes).map_err(|source| {
                        Error::CorruptNetworkFile {
                            path: path.clone(),
                            source,
                        }
                    })
                });
            match parsed {
                Ok(net) if net.name == DEFAULT_NETWORK_NAME => {} // the default override
                Ok(net) => out.push(net),
                Err(err) => tracing::warn!("skipping network definition: {err}"),
            }
        }
        Ok(out)
    }

    /// The subnets of a new network: those asked for, checked against the
    /// other networks, the host's routes and each other, with their
    /// gateways and lease ranges; a free pool subnet when none is asked
    /// for; with `ipv6`, one more for the family they lack.
    fn choose_subnets(&self, opts: &CreateOptions, existing: &[Network]) -> Result<Vec<Subnet>> {
        let invalid = |reason: &str| Error::InvalidSubnet {
            subnet: String::new(),
            reason: reason.to_string(),
        };
        if opts.subnets.is_empty() && !(opts.gateways.is_empty() && opts.ip_ranges.is_empty()) {
            return Err(invalid(
                "a --gateway or --ip-range needs the --subnet it belongs to",
            ));
        }
        if opts.gateways.len() > opts.subnets.len() {
            return Err(invalid(
                "more gateways than subnets: each --gateway goes with the --subnet in the same place",
            ));
        }
        if opts.ip_ranges.len() > opts.subnets.len() {
            return Err(invalid(
                "more ranges than subnets: each --ip-range goes with the --subnet in the same place",
            ));
        }
        let routes = host_routes();
        let mut used: Vec<IpNet> = existing
            .iter()
            .flat_map(|n| n.subnets.iter().map(|s| s.subnet))
            .chain(routes.iter().map(|(net, _)| *net))
            .collect();
        let mut chosen = Vec::new();
        for (i, requested) in opts.subnets.iter().enumerate() {
            let subnet = normalize_subnet(*requested)?;
            check_free(&subnet, existing, &routes, &chosen)?;
            let gateway = match opts.gateways.get(i) {
                Some(gw) => {
                    validate_gateway(&subnet, *gw)?;
                    *gw
                }
                None => default_gateway(&subnet),
            };
            let lease_range = opts
                .ip_ranges
                .get(i)
                .map(|r| crate::subnets::lease_range(&subnet, *r))
                .transpose()?;
            used.push(subnet);
            chosen.push(Subnet {
                subnet,
                gateway: Some(gateway),
                lease_range,
            });
        }
        if chosen.is_empty() {
            let subnet = pick_free_subnet(&used)?;
            used.push(subnet);
            chosen.push(Subnet::with_default_gateway(subnet));
        }
        if opts.ipv6 {
            let has = |v6: bool| chosen.iter().any(|s| s.subnet.addr().is_ipv6() == v6);
            if !has(true) {
                let ula = crate::subnets::pick_free_ula(&used)?;
                chosen.push(Subnet::with_default_gateway(ula));
            } else if !has(false) {
                chosen.push(Subnet::with_default_gateway(pick_free_subnet(&used)?));
            }
        }
        Ok(chosen)
    }

    fn file_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    fn lock(&self) -> Result<FileLock> {
        Ok(FileLock::exclusive(&self.dir.join(".lock"))?)
    }
}

/// `subnet` must overlap no subnet of another network, no host route and
/// no other subnet of the same request.
fn check_free(
    subnet: &IpNet,
    existing: &[Network],
    routes: &[(IpNet, String)],
    chosen: &[Subnet],
) -> Result<()> {
    for net in existing {
        if let Some(s) = net.subnets.iter().find(|s| overlaps(&s.subnet, subnet)) {
            return Err(Error::SubnetInUse {
                subnet: subnet.to_string(),
                used_by: format!("subnet {} of network {:?}", s.subnet, net.name),
            });
        }
    }
    if let Some((route, iface)) = routes.iter().find(|(r, _)| overlaps(r, subnet)) {
        return Err(Error::SubnetInUse {
            subnet: subnet.to_string(),
            used_by: format!("host route {route} on {iface}"),
        });
    }
    if let Some(s) = chosen.iter().find(|s| overlaps(&s.subnet, subnet)) {
        return Err(Error::SubnetInUse {
            subnet: subnet.to_string(),
            used_by: format!("subnet {} given before it", s.subnet),
        });
    }
    Ok(())
}

/// The built-in default: bridge hoist0 on 10.90.0.0/24 without DNS, like
/// podman's own default network. Its id is fixed so it is stable across
/// runs.
fn builtin_default() -> Network {
    let subnet: IpNet = DEFAULT_SUBNET.parse().expect("constant subnet");
    Network {
        name: DEFAULT_NETWORK_NAME.to_string(),
        id: hex::encode(Sha256::digest(DEFAULT_NETWORK_NAME.as_bytes())),
        driver: BRIDGE_DRIVER.to_string(),
        network_interface: DEFAULT_BRIDGE.to_string(),
        created: chrono::Local::now().fixed_offset(),
        subnets: vec![Subnet {
            subnet,
            gateway: Some(default_gateway(&subnet)),
            lease_range: None,
        }],
        ipv6_enabled: false,
        internal: false,
        dns_enabled: false,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
        ipam_options: host_local_ipam(),
        extra: serde_json::Map::new(),
    }
}

/// The bridge options netavark knows, with their value types.
fn check_bridge_options(options: &BTreeMap<String, String>) -> Result<()> {
    for (key, value) in options {
        let bad = |expected: &str| Error::InvalidOptionValue {
            key: key.clone(),
            value: value.clone(),
            expected: expected.to_string(),
        };
        match key.as_str() {
            "mtu" | "vlan" => {
                value.parse::<u32>().map_err(|_| bad("a number"))?;
            }
            "isolate" => {
                value.parse::<bool>().map_err(|_| bad("true or false"))?;
            }
            _ => return Err(Error::UnsupportedOption { key: key.clone() }),
        }
    }
    Ok(())
}

fn host_local_ipam() -> BTreeMap<String, String> {
    BTreeMap::from([("driver".to_string(), HOST_LOCAL_IPAM.to_string())])
}

/// `PREFIX1`, `PREFIX2`, ...: the first for which `taken` says no.
fn first_free_numbered(prefix: &str, taken: impl Fn(&str) -> bool) -> String {
    (1u32..)
        .map(|n| format!("{prefix}{n}"))
        .find(|c| !taken(c))
        .expect("some number is free")
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// podman writes and prints network JSON indented by five spaces.
pub(crate) fn to_podman_json<T: serde::Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"     ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    value.serialize(&mut ser).expect("network JSON serializes");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, NetworkStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = NetworkStore::open(dir.path().join("networks")).unwrap();
        (dir, store)
    }

    /// Subnets in 10.90/16 can be taken by host routes on a busy test
    /// machine; tests that care about exact picks compare with what the
    /// pool logic computes from the same routes.
    fn expected_pick(used: &[IpNet]) -> IpNet {
        let mut used = used.to_vec();
        used.extend(host_routes().into_iter().map(|(n, _)| n));
        pick_free_subnet(&used).unwrap()
    }

    #[test]
    fn default_network_is_always_listed() {
        let (_d, store) = store();
        let all = store.list().unwrap();
        assert_eq!(all.len(), 1);
        let def = &all[0];
        assert_eq!(def.name, "podman");
        assert_eq!(def.network_interface, "hoist0");
        assert_eq!(def.subnets[0].subnet.to_string(), "10.90.0.0/24");
        assert_eq!(def.subnets[0].gateway.unwrap().to_string(), "10.90.0.1");
        assert!(!def.dns_enabled);
        assert_eq!(def.id.len(), 64);
        assert_eq!(store.get("podman").unwrap().id, def.id, "stable id");
        // podman's id of its default network: sha256 of the name.
        assert!(def.id.starts_with("2f259bab93aa"));
        assert!(def.id.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn create_picks_names_bridges_and_subnets_and_persists() {
        let (_d, store) = store();
        let default_subnet: IpNet = DEFAULT_SUBNET.parse().unwrap();
        let a = store.create(CreateOptions::named("alpha")).unwrap();
        assert_eq!(a.driver, "bridge");
        assert!(a.dns_enabled, "user networks resolve names by default");
        assert_eq!(a.subnets[0].subnet, expected_pick(&[default_subnet]));
        assert_eq!(
            a.subnets[0].gateway,
            Some(default_gateway(&a.subnets[0].subnet))
        );
        assert!(a.network_interface.starts_with("hoist"));
        assert_ne!(a.network_interface, "hoist0");
        assert_eq!(a.ipam_options["driver"], "host-local");

        let b = store.create(CreateOptions::default()).unwrap();
        assert_eq!(b.name, "podman1", "unnamed networks are numbered");
        assert_ne!(b.network_interface, a.network_interface);
        assert!(!overlaps(&a.subnets[0].subnet, &b.subnets[0].subnet));

        // Persisted as <name>.json in podman's layout.
        let text = std::fs::read_to_string(store.dir().join("alpha.json")).unwrap();
        assert!(text.contains("\n     \"name\": \"alpha\""), "{text}");
        let reopened = NetworkStore::open(store.dir()).unwrap();
        assert_eq!(reopened.get("alpha").unwrap(), a);
        let names: Vec<String> = reopened
            .list()
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect();
        assert_eq!(names, ["alpha", "podman", "podman1"]);
    }

    #[test]
    fn create_with_explicit_settings() {
        let (_d, store) = store();
        let net = store
            .create(CreateOptions {
                name: "custom".into(),
                subnets: vec!["10.231.5.9/24".parse().unwrap()],
                gateways: vec!["10.231.5.254".parse().unwrap()],
                internal: true,
                dns: Some(false),
                interface_name: Some("br-custom".into()),
                ..CreateOptions::default()
            })
            .unwrap();
        assert_eq!(net.subnets[0].subnet.to_string(), "10.231.5.0/24");
        assert_eq!(net.subnets[0].gateway.unwrap().to_string(), "10.231.5.254");
        assert!(net.internal && !net.dns_enabled);
        assert_eq!(net.network_interface, "br-custom");

        let v6 = store
            .create(CreateOptions {
                name: "six".into(),
                subnets: vec!["fd42:1::/64".parse().unwrap()],
                ..CreateOptions::default()
            })
            .unwrap();
        assert!(v6.ipv6_enabled);
        assert_eq!(v6.subnets[0].gateway.unwrap().to_string(), "fd42:1::1");
    }

    #[test]
    fn create_refuses_conflicts() {
        let (_d, store) = store();
        store
            .create(CreateOptions {
                name: "one".into(),
                subnets: vec!["10.232.0.0/16".parse().unwrap()],
                interface_name: Some("br-one".into()),
                ..CreateOptions::default()
            })
            .unwrap();
        let err = |opts| store.create(opts).unwrap_err();
        assert!(matches!(
            err(CreateOptions::named("one")),
            Error::NetworkExists { .. }
        ));
        assert!(matches!(
            err(CreateOptions::named("podman")),
            Error::NetworkExists { .. }
        ));
        assert!(matches!(
            err(CreateOptions::named("bad/name")),
            Error::InvalidName { .. }
        ));
        assert!(matches!(
            err(CreateOptions::named("host")),
            Error::InvalidName { .. }
        ));
        assert!(matches!(
            err(CreateOptions {
                name: "two".into(),
                subnets: vec!["10.232.7.0/24".parse().unwrap()],
                ..CreateOptions::default()
            }),
            Error::SubnetInUse { .. }
        ));
        assert!(matches!(
            err(CreateOptions {
                name: "two".into(),
                subnets: vec![DEFAULT_SUBNET.parse().unwrap()],
                ..CreateOptions::default()
            }),
            Error::SubnetInUse { .. }
        ));
        assert!(matches!(
            err(CreateOptions {
                name: "two".into(),
                interface_name: Some("br-one".into()),
                ..CreateOptions::default()
            }),
            Error::InterfaceInUse { .. }
        ));
        assert!(matches!(
            err(CreateOptions {
                name: "two".into(),
                gateways: vec!["10.1.1.1".parse().unwrap()],
                ..CreateOptions::default()
            }),
            Error::InvalidSubnet { .. }
        ));
        assert!(matches!(
            err(CreateOptions {
                name: "two".into(),
                driver: Some("macvlan".into()),
                ..CreateOptions::default()
            }),
            Error::UnsupportedDriver { .. }
        ));
    }

    #[test]
    fn get_by_id_prefix() {
        let (_d, store) = store();
        let net = store.create(CreateOptions::named("web")).unwrap();
        assert_eq!(store.get(&net.id).unwrap().name, "web");
        assert_eq!(store.get(&net.id[..12]).unwrap().name, "web");
        assert!(matches!(
            store.get("nope"),
            Err(Error::NetworkNotFound { .. })
        ));
        // A second network whose id shares the first four digits.
        let mut twin = net.clone();
        twin.name = "twin".into();
        twin.id = format!("{}{}", &net.id[..4], "f".repeat(60));
        if twin.id == net.id {
            twin.id = format!("{}{}", &net.id[..4], "e".repeat(60));
        }
        std::fs::write(store.dir().join("twin.json"), to_podman_json(&twin)).unwrap();
        assert!(matches!(
            store.get(&net.id[..4]),
            Err(Error::AmbiguousNetwork { .. })
        ));
        assert_eq!(store.get(&net.id[..20]).unwrap().name, "web");
        assert!(matches!(
            store.get("web-not"),
            Err(Error::NetworkNotFound { .. })
        ));
    }

    #[test]
    fn remove_respects_default_and_users() {
        let (_d, store) = store();
        store.create(CreateOptions::named("web")).unwrap();
        assert!(matches!(
            store.remove("podman", |_| Vec::new()),
            Err(Error::DefaultNetworkRemoval { .. })
        ));
        let err = store
            .remove("web", |n| vec![format!("c-on-{}", n.name)])
            .unwrap_err();
        assert!(err.to_string().contains("c-on-web"), "{err}");
        assert!(
            store.get("web").is_ok(),
            "refused removal keeps the network"
        );
        let removed = store.remove("web", |_| Vec::new()).unwrap();
        assert_eq!(removed.name, "web");
        assert!(matches!(
            store.get("web"),
            Err(Error::NetworkNotFound { .. })
        ));
        assert!(!store.dir().join("web.json").exists());
    }

    #[test]
    fn corrupt_files_are_skipped_and_override_replaces_default() {
        let (_d, store) = store();
        std::fs::write(store.dir().join("broken.json"), "{not json").unwrap();
        assert_eq!(store.list().unwrap().len(), 1);

        let mut custom = store.default_network().unwrap();
        custom.network_interface = "hoistdef".into();
        std::fs::write(store.dir().join("podman.json"), to_podman_json(&custom)).unwrap();
        let all = store.list().unwrap();
        assert_eq!(all.len(), 1, "the override is not a second network");
        assert_eq!(all[0].network_interface, "hoistdef");
    }

    #[test]
    fn inspect_is_a_json_array() {
        let (_d, store) = store();
        store.create(CreateOptions::named("web")).unwrap();
        let text = store.inspect(&["web", "podman"]).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let arr = value.as_array().unwrap();
        assert_eq!(arr.len(), 2);
        assert_eq!(arr[0]["name"], "web");
        assert_eq!(arr[1]["network_interface"], "hoist0");
        assert!(store.inspect(&["missing"]).is_err());
    }
}

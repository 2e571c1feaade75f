//! Networks and the containers on them: which containers use a network,
//! `network rm --force` (their containers go first), `network ls
//! --filter dangling=`, `network prune`.

use hoist_network::{FilterUse, Network, NetworkFilter, NetworkMode, NetworkStore};

use crate::error::Result;
use crate::netsetup::network_store;
use crate::record::{Container, ContainerConfig};
use crate::store::Containers;

/// Whether `config` joins `net` (by name, id or id prefix; the default
/// network when it names none).
fn joins(store: &NetworkStore, config: &ContainerConfig, net: &Network) -> bool {
    match NetworkMode::parse(&config.options.networks) {
        Ok(NetworkMode::Default) => net.name == hoist_network::DEFAULT_NETWORK_NAME,
        Ok(NetworkMode::Networks(names)) => names.iter().any(|n| {
            n == &net.name || n == &net.id || store.get(n).is_ok_and(|found| found.id == net.id)
        }),
        _ => false,
    }
}

/// The containers that use network `net`.
pub fn users(cs: &Containers, net: &Network) -> Result<Vec<Container>> {
    let store = network_store(cs.root())?;
    Ok(cs
        .list()?
        .into_iter()
        .filter(|c| joins(&store, &c.config, net))
        .collect())
}

/// `network rm`: removes network `query` (name, id or id prefix). One in
/// use is refused unless `force`, which removes its containers first
/// (stopping running ones with `timeout` seconds, as `stop -t`). Returns
/// the network's name.
pub fn remove_network(
    cs: &Containers,
    query: &str,
    force: bool,
    timeout: Option<u64>,
) -> Result<String> {
    let store = network_store(cs.root())?;
    let net = store.get(query)?;
    if force && net.name != hoist_network::DEFAULT_NETWORK_NAME {
        for c in users(cs, &net)? {
            if timeout.is_some() {
                crate::lifecycle::stop(cs, &c, timeout)?;
            }
            crate::lifecycle::remove(cs, &c, true)?;
        }
    }
    let holders: Vec<String> = users(cs, &net)?
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let removed = store.remove(&net.id, |_| holders)?;
    Ok(removed.name)
}

/// `network ls`: the networks that pass `filter`, by name.
pub fn list_networks(cs: &Containers, filter: &NetworkFilter) -> Result<Vec<Network>> {
    let store = network_store(cs.root())?;
    let containers = if filter.needs_users() {
        cs.list()?
    } else {
        Vec::new()
    };
    Ok(store
        .list()?
        .into_iter()
        .filter(|n| {
            let in_use = containers.iter().any(|c| joins(&store, &c.config, n));
            filter.matches(n, in_use)
        })
        .collect())
}

/// Parses `--filter` values for `network ls` or `network prune`.
pub fn parse_filter(items: &[String], usage: FilterUse) -> Result<NetworkFilter> {
    Ok(NetworkFilter::parse(items, usage, |s| {
        crate::logs::parse_time(s)
    })?)
}

/// `network prune`: removes every network but the default that no
/// container uses and that passes `filter`; returns their names.
pub fn prune_networks(cs: &Containers, filter: &NetworkFilter) -> Result<Vec<String>> {
    let store = network_store(cs.root())?;
    let containers = cs.list()?;
    let mut removed = Vec::new();
    for net in store.list()? {
        if net.name == hoist_network::DEFAULT_NETWORK_NAME
            || containers.iter().any(|c| joins(&store, &c.config, &net))
            || !filter.matches(&net, false)
        {
            continue;
        }
        match store.remove(&net.id, |_| Vec::new()) {
            Ok(n) => removed.push(n.name),
            // Removed by someone else meanwhile.
            Err(hoist_network::Error::NetworkNotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(removed)
}

/// The proxy variables `--http-proxy` (on by default) copies from the
/// host's environment, as podman does.
const PROXY_VARS: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "ftp_proxy",
    "FTP_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Fills a new container's network options from containers.conf where the
/// command line left them unset (`dns_servers`, `dns_options`,
/// `dns_searches`, `http_proxy`), and adds the host's proxy variables to
/// its default environment (below the image's and `-e`).
pub fn apply_network_conf(
    options: &mut crate::options::CreateOptions,
    conf: &hoist_config::ContainersConf,
) -> Result<()> {
    let c = conf.containers();
    if options.dns_servers.is_empty() {
        for s in c.dns_servers() {
            options.dns_servers.push(parse_dns_server(s)?);
        }
    }
    if options.dns_options.is_empty() {
        options.dns_options = c.dns_options().to_vec();
    }
    if options.dns_search.is_empty() {
        options.dns_search = c.dns_searches().to_vec();
    }
    options.base_hosts_file = Some(c.base_hosts_file().to_string());
    options.host_containers_internal_ip = Some(c.host_containers_internal_ip().to_string());
    if options.http_proxy.unwrap_or_else(|| c.http_proxy()) {
        for var in PROXY_VARS {
            if let Ok(v) = std::env::var(var) {
                options.default_env.push(format!("{var}={v}"));
            }
        }
    }
    Ok(())
}

/// `--dns`, `--dns-search` and `--dns-option` configure a network's name
/// resolution: without a network (`--network none`) podman refuses them.
pub fn check_dns_has_network(options: &crate::options::CreateOptions) -> Result<()> {
    let dns = !options.dns_servers.is_empty()
        || !options.dns_search.is_empty()
        || !options.dns_options.is_empty();
    if dns && options.networks.iter().any(|n| n == "none") {
        return Err(crate::error::ContainerError::Invalid(
            "conflicting options: dns and the network mode: none".into(),
        ));
    }
    Ok(())
}

/// A `--dns` value: an IP address.
pub fn parse_dns_server(s: &str) -> Result<std::net::IpAddr> {
    s.trim().parse().map_err(|_| {
        crate::error::ContainerError::Invalid(format!(
            "{s} is not an ip address: give --dns an IPv4 or IPv6 address"
        ))
    })
}

/// An `--add-host NAME:IP` value (the IP may be IPv6, with colons).
pub fn parse_add_host(s: &str) -> Result<(String, std::net::IpAddr)> {
    let bad = |why: &str| {
        crate::error::ContainerError::Invalid(format!("invalid --add-host {s:?}: {why}"))
    };
    let (name, ip) = s
        .split_once(':')
        .ok_or_else(|| bad("use HOST:IP, e.g. db:10.0.0.5"))?;
    if name.is_empty() {
        return Err(bad("the host name is empty"));
    }
    let ip = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| bad(&format!("{ip:?} is not an IP address")))?;
    Ok((name.to_string(), ip))
}

/// The resolv.conf and /etc/hosts settings of `options` for a starting
/// container with network `status`: `--dns` replaces the network's name
/// servers; /etc/hosts starts from `base_hosts_file` (the host's
/// /etc/hosts unless set) and names the host `host.containers.internal`
/// (the network's gateway, unless containers.conf says otherwise).
pub(crate) fn etc_network_options(
    options: &crate::options::CreateOptions,
    status: Option<&hoist_network::StatusBlock>,
    etc: &mut hoist_runtime::rootfs::EtcOptions,
) {
    use hoist_runtime::rootfs::BaseHosts;
    etc.base_hosts = match options.base_hosts_file.as_deref().unwrap_or("") {
        "" => BaseHosts::File("/etc/hosts".into()),
        "image" => BaseHosts::Image,
        "none" => BaseHosts::Empty,
        path => BaseHosts::File(path.into()),
    };
    etc.host_containers_internal = match options.host_containers_internal_ip.as_deref() {
        Some("none") => None,
        Some(ip) if !ip.is_empty() => ip.parse().ok(),
        _ => status.and_then(|s| s.addresses().into_iter().find_map(|a| a.gateway)),
    };
    if !options.dns_servers.is_empty() {
        etc.dns_servers = options.dns_servers.clone();
    }
    if !options.dns_search.is_empty() {
        etc.dns_search = options.dns_search.clone();
    }
    if !options.dns_options.is_empty() {
        etc.dns_options = options.dns_options.clone();
    }
    etc.extra_hosts.extend(options.add_hosts.iter().cloned());
}

/// The names of the networks `config` joins (the default network when it
/// names none); an error for `host` and `none`, except for a running
/// container that left all its networks (it keeps its namespace).
fn joined_names(store: &NetworkStore, c: &Container) -> Result<Vec<String>> {
    match NetworkMode::parse(&c.config.options.networks)? {
        NetworkMode::None if live_setup(c).is_some() => Ok(Vec::new()),
        NetworkMode::Default => Ok(vec![hoist_network::DEFAULT_NETWORK_NAME.to_string()]),
        NetworkMode::Networks(names) => names
            .iter()
            .map(|n| Ok(store.get(n)?.name))
            .collect::<Result<Vec<_>>>(),
        NetworkMode::Host | NetworkMode::None => Err(crate::error::ContainerError::Invalid(
            format!(
                "container {} has no network of its own (--network {}): it cannot join or leave networks",
                c.name(),
                c.config.options.networks.join(",")
            ),
        )),
    }
}

/// Writes `c`'s `config.json` with its networks set to `names` (`none`
/// when it leaves the last one) and its per-network options changed by
/// `edit`, under the container's lock.
fn set_networks(
    cs: &Containers,
    c: &Container,
    names: Vec<String>,
    edit: impl FnOnce(&mut std::collections::BTreeMap<String, crate::run_flags::NetworkOptions>),
) -> Result<()> {
    let _l = cs.lock(c.id())?;
    let mut fresh = cs.load(c.id())?;
    fresh.config.options.networks = if names.is_empty() {
        vec!["none".to_string()]
    } else {
        names
    };
    edit(&mut fresh.config.options.network_options);
    let path = fresh.dir.join(crate::store::CONFIG);
    crate::store::write_atomic(
        &path,
        &serde_json::to_vec_pretty(&fresh.config).expect("serializes"),
    )
}

/// The live network set-up of a running container: its namespace and the
/// request it was set up with.
fn live_setup(c: &Container) -> Option<(std::path::PathBuf, hoist_network::SetupRequest)> {
    if !c.status().is_active() {
        return None;
    }
    Some((c.state.netns.clone()?, c.state.network_request.clone()?))
}

/// `network connect`: joins container `c` to network `query` with the
/// extra DNS aliases, fixed addresses and MAC address of `given`, which
/// its record keeps for every later start; a running container gets the
/// interface right away. Joining a network it is on already changes
/// nothing.
pub fn connect(
    cs: &Containers,
    c: &Container,
    query: &str,
    given: &crate::run_flags::NetworkOptions,
) -> Result<()> {
    let store = network_store(cs.root())?;
    let net = store.get(query)?;
    let mut names = joined_names(&store, c)?;
    if names.contains(&net.name) {
        return Ok(());
    }
    if let Some((netns, mut request)) = live_setup(c) {
        let index = request.networks.len();
        let mut attachment = hoist_network::NetworkAttachment::new(net.clone())
            .with_aliases([crate::short_id(c.id()).to_string()]);
        attachment.interface_name = Some(format!("eth{index}"));
        given.apply(&mut attachment);
        let mut one = hoist_network::SetupRequest::new(c.id(), c.name());
        one.networks.push(attachment.clone());
        one.dns_servers = request.dns_servers.clone();
        // Published ports reach the container on every network it is on.
        one.port_mappings = request.port_mappings.clone();
        let netavark = hoist_network::Netavark::new(crate::netsetup::NETWORK_RUN_DIR)?;
        let status = netavark.setup(&netns, &one)?;
        update_hosts(c, &[], status.addresses().first().map(|a| a.address));
        request.networks.push(attachment);
        cs.update_state(c.id(), |s| {
            s.network_request = Some(request);
            let merged = s.network_status.get_or_insert_with(Default::default);
            merged.networks.extend(status.networks);
        })?;
    }
    let event =
        hoist_events::Event::network(hoist_events::Status::Connect, c.id(), c.name(), &net.name);
    let name = net.name.clone();
    names.push(net.name);
    set_networks(cs, c, names, |o| {
        if *given != Default::default() {
            o.insert(name, given.clone());
        }
    })?;
    hoist_events::emit(event);
    Ok(())
}

/// `network disconnect`: takes container `c` off network `query`; a
/// running container loses the interface right away.
pub fn disconnect(cs: &Containers, c: &Container, query: &str) -> Result<()> {
    let store = network_store(cs.root())?;
    let net = store.get(query)?;
    let mut names = joined_names(&store, c)?;
    if !names.contains(&net.name) {
        return Err(crate::error::ContainerError::Invalid(format!(
            "container {} is not connected to network {}",
            c.name(),
            net.name
        )));
    }
    if let Some((netns, mut request)) = live_setup(c) {
        if let Some(pos) = request
            .networks
            .iter()
            .position(|a| a.network.name == net.name)
        {
            let mut one = request.clone();
            one.networks = vec![request.networks.remove(pos)];
            let netavark = hoist_network::Netavark::new(crate::netsetup::NETWORK_RUN_DIR)?;
            netavark.teardown(&netns, &one)?;
            let gone = c
                .state
                .network_status
                .as_ref()
                .map(|s| s.addresses_on(&net.name))
                .unwrap_or_default();
            update_hosts(c, &gone, None);
            cs.update_state(c.id(), |s| {
                s.network_request = Some(request);
                if let Some(st) = s.network_status.as_mut() {
                    st.networks.remove(&net.name);
                }
            })?;
        }
    }
    names.retain(|n| n != &net.name);
    set_networks(cs, c, names, |o| {
        o.remove(&net.name);
    })?;
    hoist_events::emit(hoist_events::Event::network(
        hoist_events::Status::Disconnect,
        c.id(),
        c.name(),
        &net.name,
    ));
    Ok(())
}

/// Keeps a running container's /etc/hosts in step with its addresses:
/// the lines of addresses in `gone` leave, and `added` maps its host name
/// and name. Written in place: the file is bind-mounted into the
/// container. Best effort: a failure is logged.
fn update_hosts(c: &Container, gone: &[std::net::IpAddr], added: Option<std::net::IpAddr>) {
    let path = hoist_runtime::rootfs::EtcFiles::in_dir(&c.dir.join("userdata")).hosts;
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let gone: Vec<String> = gone.iter().map(|ip| ip.to_string()).collect();
    let mut out: String = text
        .lines()
        .filter(|l| {
            !l.split_whitespace()
                .next()
                .is_some_and(|ip| gone.iter().any(|g| g == ip))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    if let Some(ip) = added {
        let hostname = c
            .config
            .options
            .hostname
            .clone()
            .unwrap_or_else(|| crate::short_id(c.id()).to_string());
        out.push_str(&format!("{ip}\t{hostname} {}\n", c.name()));
    }
    let written = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, out.as_bytes()));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "updating /etc/hosts");
    }
}

/// `network reload`: sets a running container's networks up again (its
/// firewall rules may have been flushed), keeping its addresses. Returns
/// false for a container that is not running on a network.
pub fn reload(cs: &Containers, c: &Container) -> Result<bool> {
    let Some((netns, mut request)) = live_setup(c) else {
        return Ok(false);
    };
    let old = c.state.network_status.clone().unwrap_or_default();
    for a in &mut request.networks {
        if a.static_ips.is_empty() {
            a.static_ips = old.addresses_on(&a.network.name);
        }
        if a.static_mac.is_none() {
            a.static_mac = old
                .networks
                .get(&a.network.name)
                .and_then(|n| n.interfaces.values().next())
                .map(|i| i.mac_address.clone())
                .filter(|m| !m.is_empty());
        }
    }
    let netavark = hoist_network::Netavark::new(crate::netsetup::NETWORK_RUN_DIR)?;
    if let Err(e) = netavark.teardown(&netns, &request) {
        // Half gone already (that is why one reloads): set up regardless.
        tracing::debug!(error = %e, "teardown before reload");
    }
    let status = netavark.setup(&netns, &request)?;
    cs.update_state(c.id(), |s| s.network_status = Some(status))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_host_and_dns_values() {
        let (n, ip) = parse_add_host("db:10.0.0.5").unwrap();
        assert_eq!((n.as_str(), ip.to_string().as_str()), ("db", "10.0.0.5"));
        let (_, ip6) = parse_add_host("six:fd00::1").unwrap();
        assert_eq!(ip6.to_string(), "fd00::1");
        assert!(parse_add_host("nocolon").is_err());
        assert!(parse_add_host("x:notanip").is_err());
        assert!(parse_dns_server("1.1.1.1").is_ok());
        assert!(parse_dns_server("bogus").is_err());
    }
}

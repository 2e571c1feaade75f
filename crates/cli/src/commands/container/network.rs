//! `network create|exists|inspect|ls|prune|rm`: flags and output over
//! hoist-network's definitions and hoist-container's `networks`.

use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use hoist_container::netsetup::network_store;
use hoist_container::networks;
use hoist_container::ContainerError;
use hoist_network::{CreateOptions, FilterUse, Network};

use crate::output::{self, Format};

/// The network flags of `run` and `create` (flattened into their
/// arguments).
#[derive(Debug, Args, Clone)]
pub struct NetworkFlags {
    /// Add a custom host-to-IP mapping (HOST:IP).
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Set custom DNS servers.
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS options.
    #[arg(long = "dns-option", visible_alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Search domains for short host names, instead of the host's.
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Pass the host's proxy variables (http_proxy, https_proxy, ftp_proxy, no_proxy) to the container (default true).
    #[arg(
        long,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub http_proxy: Option<bool>,
}

impl NetworkFlags {
    /// Puts the flags into a new container's options.
    pub fn apply(&self, o: &mut hoist_container::CreateOptions) -> Result<()> {
        for s in &self.dns {
            o.dns_servers.push(networks::parse_dns_server(s)?);
        }
        o.dns_options.extend(self.dns_option.iter().cloned());
        o.dns_search.extend(self.dns_search.iter().cloned());
        for h in &self.add_host {
            o.add_hosts.push(networks::parse_add_host(h)?);
        }
        o.http_proxy = self.http_proxy;
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum NetworkCommand {
    /// Add a container to a network.
    Connect(NetworkConnectArgs),
    /// Create a network.
    Create(NetworkCreateArgs),
    /// Remove a container from a network.
    Disconnect(NetworkDisconnectArgs),
    /// Check if a network exists (exit 0 if it does, 1 if not).
    Exists(NetworkNameArg),
    /// Display the network's configuration.
    Inspect(NetworkInspectArgs),
    /// List networks.
    #[command(alias = "list")]
    Ls(NetworkLsArgs),
    /// Remove networks no container uses.
    Prune(NetworkPruneArgs),
    /// Set up the networks of running containers again (after a firewall reload).
    Reload(NetworkReloadArgs),
    /// Remove networks.
    #[command(alias = "remove")]
    Rm(NetworkRmArgs),
}

#[derive(Debug, Args)]
pub struct NetworkConnectArgs {
    pub network: String,
    pub container: String,
    /// Add a network-scoped alias for the container.
    #[arg(long)]
    pub alias: Vec<String>,
    /// A static IPv4 address for the container on this network.
    #[arg(long)]
    pub ip: Option<String>,
    /// A static IPv6 address for the container on this network.
    #[arg(long)]
    pub ip6: Option<String>,
    /// A fixed MAC address for the container's interface on this network.
    #[arg(long)]
    pub mac_address: Option<String>,
}

#[derive(Debug, Args)]
pub struct NetworkDisconnectArgs {
    pub network: String,
    pub container: String,
    /// Accepted as podman's; disconnecting never needs forcing here.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct NetworkReloadArgs {
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
    /// Reload every running container.
    #[arg(short, long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct NetworkCreateArgs {
    /// The network's name (podman1, podman2, ... if not given).
    pub name: Option<String>,
    /// A subnet of the network, in CIDR notation; may be repeated (one
    /// per family, or several).
    #[arg(long)]
    pub subnet: Vec<String>,
    /// The gateway of the --subnet in the same place; may be repeated.
    #[arg(long)]
    pub gateway: Vec<String>,
    /// No route out of the network.
    #[arg(long)]
    pub internal: bool,
    /// No name resolution between the network's containers.
    #[arg(long)]
    pub disable_dns: bool,
    /// Driver to manage the network (bridge).
    #[arg(short, long)]
    pub driver: Option<String>,
    /// The host bridge's name.
    #[arg(long)]
    pub interface_name: Option<String>,
    /// Set metadata for the network (KEY=VALUE).
    #[arg(long = "label")]
    pub label: Vec<String>,
    /// Driver options: mtu=, vlan=, isolate=.
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
    /// IP address management driver (host-local).
    #[arg(long)]
    pub ipam_driver: Option<String>,
    /// Hand out container addresses only from this part of the --subnet
    /// in the same place (CIDR); may be repeated.
    #[arg(long, value_name = "CIDR")]
    pub ip_range: Vec<String>,
    /// Dual stack: add an IPv6 subnet (a unique local /64) to an IPv4 one,
    /// or an IPv4 subnet to an IPv6 --subnet.
    #[arg(long)]
    pub ipv6: bool,
}

#[derive(Debug, Args)]
pub struct NetworkNameArg {
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct NetworkLsArgs {
    /// Filter output (name=REGEX, id=, driver=, label=, label!=, until=, dangling=).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output as json or with a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print the column headings.
    #[arg(long, short = 'n')]
    pub noheading: bool,
    /// Print network IDs in full.
    #[arg(long)]
    pub no_trunc: bool,
    /// Print only the network names.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct NetworkRmArgs {
    /// Remove the containers that use the network too; no error for a network that does not exist.
    #[arg(short, long)]
    pub force: bool,
    /// With --force: how long containers on the network get to stop before they are killed.
    #[arg(short, long, allow_hyphen_values = true)]
    pub time: Option<i64>,
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct NetworkInspectArgs {
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
    /// Format output as json or with a Go template.
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct NetworkPruneArgs {
    /// Only networks that match (label=KEY[=VALUE], label!=..., until=).
    #[arg(long)]
    pub filter: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// The inspect document of network `name` (`inspect --type network`);
/// `None` when there is no such network.
pub(crate) fn inspect_value(root: &Path, name: &str) -> Result<Option<serde_json::Value>> {
    let store = network_store(root)?;
    let Ok(net) = store.get(name) else {
        return Ok(None);
    };
    let docs: Vec<serde_json::Value> = serde_json::from_str(&store.inspect(&[net.id.as_str()])?)?;
    Ok(docs.into_iter().next())
}

pub fn dispatch(root: &Path, cmd: NetworkCommand) -> Result<i32> {
    let cs = super::open(root)?;
    let store = network_store(root)?;
    match cmd {
        NetworkCommand::Create(a) => {
            let opts = CreateOptions {
                name: a.name.unwrap_or_default(),
                driver: a.driver,
                subnets: a
                    .subnet
                    .iter()
                    .map(|s| hoist_network::parse_subnet(s))
                    .collect::<Result<_, _>>()?,
                gateways: a
                    .gateway
                    .iter()
                    .map(|g| {
                        g.parse()
                            .map_err(|e| anyhow::anyhow!("invalid --gateway {g:?}: {e}"))
                    })
                    .collect::<Result<_>>()?,
                internal: a.internal,
                dns: a.disable_dns.then_some(false),
                interface_name: a.interface_name,
                labels: super::labels(&a.label),
                options: super::labels(&a.opt),
                ipam_driver: a.ipam_driver,
                ip_ranges: a
                    .ip_range
                    .iter()
                    .map(|r| {
                        r.parse::<hoist_network::IpNet>().map_err(|_| {
                            anyhow::anyhow!("invalid --ip-range {r:?}: give a CIDR range such as 10.89.0.128/25")
                        })
                    })
                    .collect::<Result<_>>()?,
                ipv6: a.ipv6,
            };
            println!("{}", store.create(opts)?.name);
        }
        NetworkCommand::Exists(a) => return Ok(i32::from(store.get(&a.name).is_err())),
        NetworkCommand::Connect(a) => {
            let c = cs.get(&a.container)?;
            networks::connect(&cs, &c, &a.network, &connect_options(&a)?)?;
        }
        NetworkCommand::Disconnect(a) => {
            let c = cs.get(&a.container)?;
            networks::disconnect(&cs, &c, &a.network)?;
        }
        NetworkCommand::Reload(a) => {
            if a.all != a.containers.is_empty() {
                anyhow::bail!("provide one or more containers, or use --all");
            }
            let targets = if a.all {
                cs.list()?
            } else {
                a.containers
                    .iter()
                    .map(|n| cs.get(n))
                    .collect::<Result<Vec<_>, _>>()?
            };
            for c in targets {
                if networks::reload(&cs, &c)? {
                    println!("{}", c.id());
                } else if !a.all {
                    anyhow::bail!(
                        "container {} is not running on a network: nothing to reload",
                        c.name()
                    );
                }
            }
        }
        NetworkCommand::Ls(a) => ls(&cs, a)?,
        NetworkCommand::Rm(a) => return rm(&cs, a),
        NetworkCommand::Inspect(a) => {
            let found = a
                .names
                .iter()
                .map(|n| store.get(n))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("inspecting object: {e}"))?;
            match Format::parse(a.format.as_deref())? {
                Format::Template(t) => {
                    for n in &found {
                        println!("{}", t.render(&template_row(n, true))?);
                    }
                }
                _ => {
                    let names: Vec<&str> = found.iter().map(|n| n.id.as_str()).collect();
                    print!("{}", store.inspect(&names)?);
                }
            }
        }
        NetworkCommand::Prune(a) => {
            let filter = networks::parse_filter(&a.filter, FilterUse::Prune)?;
            if !a.force {
                println!(
                    "WARNING! This will remove all networks not used by at least one container."
                );
                if !super::volume::confirm("Are you sure you want to continue? [y/N] ")? {
                    return Ok(0);
                }
            }
            for name in networks::prune_networks(&cs, &filter)? {
                println!("{name}");
            }
        }
    }
    Ok(0)
}

/// A network as `--format` templates see it: podman's Go field names.
fn template_row(n: &Network, full_id: bool) -> serde_json::Value {
    let subnets: Vec<serde_json::Value> = n
        .subnets
        .iter()
        .map(|s| {
            serde_json::json!({
                "Subnet": s.subnet.to_string(),
                "Gateway": s.gateway.map(|g| g.to_string()).unwrap_or_default(),
                "LeaseRange": s.lease_range,
            })
        })
        .collect();
    serde_json::json!({
        "Name": n.name,
        "ID": if full_id { n.id.as_str() } else { n.short_id() },
        "Driver": n.driver,
        "NetworkInterface": n.network_interface,
        "Created": n.created.to_rfc3339(),
        "Subnets": subnets,
        "IPv6Enabled": n.ipv6_enabled,
        "Internal": n.internal,
        "DNSEnabled": n.dns_enabled,
        "Labels": n.labels,
        "Options": n.options,
        "IPAMOptions": n.ipam_options,
    })
}

fn ls(cs: &hoist_container::Containers, a: NetworkLsArgs) -> Result<()> {
    let filter = networks::parse_filter(&a.filter, FilterUse::List)?;
    let list = networks::list_networks(cs, &filter)?;
    if a.quiet {
        for n in &list {
            println!("{}", n.name);
        }
        return Ok(());
    }
    match Format::parse(a.format.as_deref())? {
        Format::Json => output::print_json(&list)?,
        Format::Template(t) => {
            let rows: Vec<serde_json::Value> =
                list.iter().map(|n| template_row(n, a.no_trunc)).collect();
            super::volume::print_rows(&t, &rows, a.noheading, &[("ID", "NETWORK ID")])?;
        }
        Format::Default => {
            let mut lines = Vec::new();
            if !a.noheading {
                lines.push("NETWORK ID\tNAME\tDRIVER".to_string());
            }
            lines.extend(list.iter().map(|n| {
                let id = if a.no_trunc { &n.id } else { n.short_id() };
                format!("{id}\t{}\t{}", n.name, n.driver)
            }));
            output::print_aligned(&lines);
        }
    }
    Ok(())
}

/// podman's exit codes of `network rm`: 1 when a network does not exist,
/// 2 when one is in use.
fn rm_exit_code(e: &ContainerError) -> i32 {
    match e {
        ContainerError::Network(hoist_network::Error::NetworkNotFound { .. }) => 1,
        ContainerError::Network(hoist_network::Error::NetworkInUse { .. }) => 2,
        _ => crate::exit::ENGINE_ERROR,
    }
}

fn rm(cs: &hoist_container::Containers, a: NetworkRmArgs) -> Result<i32> {
    if a.time.is_some() && !a.force {
        anyhow::bail!("--force option must be specified to use the --time option");
    }
    let timeout = a.time.and_then(|t| u64::try_from(t).ok());
    let mut failures: Vec<(i32, String)> = Vec::new();
    for name in &a.names {
        match networks::remove_network(cs, name, a.force, timeout) {
            Ok(removed) => println!("{removed}"),
            Err(e) => {
                let code = rm_exit_code(&e);
                if code == 1 && a.force {
                    continue;
                }
                failures.push((code, e.to_string()));
            }
        }
    }
    crate::exit::last_failure(failures)
}

/// `network connect`'s --alias, --ip, --ip6 and --mac-address.
fn connect_options(a: &NetworkConnectArgs) -> Result<hoist_container::run_flags::NetworkOptions> {
    use hoist_container::run_flags::{parse_mac, parse_static_ip};
    let mut static_ips = Vec::new();
    for (v, ip6) in [(&a.ip, false), (&a.ip6, true)] {
        if let Some(v) = v {
            static_ips.push(parse_static_ip(v, ip6)?);
        }
    }
    Ok(hoist_container::run_flags::NetworkOptions {
        aliases: a.alias.clone(),
        static_ips,
        static_mac: a.mac_address.as_deref().map(parse_mac).transpose()?,
    })
}

//! `network create|ls|rm|inspect` over hoist-network's definitions.

use std::path::Path;

use anyhow::Result;
use hoist_container::netsetup::network_store;
use hoist_network::CreateOptions;

use crate::container_args::NetworkCommand;
use crate::output::{self, Format};

pub fn dispatch(root: &Path, cmd: NetworkCommand) -> Result<i32> {
    let store = network_store(root)?;
    match cmd {
        NetworkCommand::Create(a) => {
            let opts = CreateOptions {
                name: a.name.unwrap_or_default(),
                driver: a.driver,
                subnet: a
                    .subnet
                    .as_deref()
                    .map(hoist_network::parse_subnet)
                    .transpose()?,
                gateway: a
                    .gateway
                    .as_deref()
                    .map(|g| g.parse())
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("invalid --gateway: {e}"))?,
                internal: a.internal,
                dns: a.disable_dns.then_some(false),
                interface_name: a.interface_name,
                labels: super::labels(&a.label),
            };
            let n = store.create(opts)?;
            println!("{}", n.name);
        }
        NetworkCommand::Ls(a) => {
            let list = store.list()?;
            if a.quiet {
                for n in &list {
                    println!("{}", n.name);
                }
                return Ok(0);
            }
            match Format::parse(a.format.as_deref())? {
                Format::Json => output::print_json(&list)?,
                Format::Template(t) => {
                    let rows: Vec<serde_json::Value> = list
                        .iter()
                        .map(|n| {
                            let mut v = serde_json::to_value(n).unwrap_or_default();
                            v["ID"] = serde_json::json!(&n.id[..12]);
                            v
                        })
                        .collect();
                    output::print_template(&t, &rows)?;
                }
                Format::Default => {
                    let mut lines = vec!["NETWORK ID\tNAME\tDRIVER".to_string()];
                    lines.extend(
                        list.iter()
                            .map(|n| format!("{}\t{}\t{}", &n.id[..12], n.name, n.driver)),
                    );
                    output::print_aligned(&lines);
                }
            }
        }
        NetworkCommand::Rm(a) => {
            let cs = super::open(root)?;
            for name in &a.names {
                let users_of = |net: &hoist_network::Network| -> Vec<String> {
                    cs.list()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|c| {
                            c.config
                                .options
                                .networks
                                .iter()
                                .any(|n| n == &net.name || n == &net.id)
                        })
                        .map(|c| c.name().to_string())
                        .collect()
                };
                if a.force {
                    let net = store.get(name)?;
                    for c in cs.list()?.into_iter().filter(|c| {
                        c.config
                            .options
                            .networks
                            .iter()
                            .any(|n| n == &net.name || n == &net.id)
                    }) {
                        hoist_container::lifecycle::remove(&cs, &c, true)?;
                    }
                }
                let net = store.remove(name, users_of)?;
                println!("{}", net.name);
            }
        }
        NetworkCommand::Inspect(a) => {
            let names: Vec<&str> = a.names.iter().map(String::as_str).collect();
            println!("{}", store.inspect(&names)?);
        }
    }
    Ok(0)
}

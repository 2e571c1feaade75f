//! `volume create|ls|rm|inspect|prune`.

use std::path::Path;

use anyhow::Result;
use hoist_container::volumes::Volumes;
use hoist_container::{Containers, MountOption};

use crate::container_args::VolumeCommand;
use crate::output::{self, Format};

/// Containers whose mounts name volume `name`.
fn users(cs: &Containers, name: &str) -> Result<Vec<hoist_container::Container>> {
    Ok(cs
        .list()?
        .into_iter()
        .filter(|c| {
            c.config
                .options
                .mounts
                .iter()
                .any(|m| matches!(m, MountOption::Volume { name: n, .. } if n == name))
        })
        .collect())
}

pub fn dispatch(root: &Path, cmd: VolumeCommand) -> Result<i32> {
    let vols = Volumes::open(root)?;
    let cs = super::open(root)?;
    match cmd {
        VolumeCommand::Create(a) => {
            let v = vols.create(a.name.as_deref(), super::labels(&a.label), a.ignore)?;
            println!("{}", v.name);
        }
        VolumeCommand::Ls(a) => {
            let list = vols.list()?;
            if a.quiet {
                for v in &list {
                    println!("{}", v.name);
                }
                return Ok(0);
            }
            match Format::parse(a.format.as_deref())? {
                Format::Json => output::print_json(&list)?,
                Format::Template(t) => {
                    let rows: Vec<serde_json::Value> = list
                        .iter()
                        .map(|v| serde_json::to_value(v).unwrap_or_default())
                        .collect();
                    output::print_template(&t, &rows)?;
                }
                Format::Default => {
                    let mut lines = vec!["DRIVER\tVOLUME NAME".to_string()];
                    lines.extend(list.iter().map(|v| format!("{}\t{}", v.driver, v.name)));
                    output::print_aligned(&lines);
                }
            }
        }
        VolumeCommand::Rm(a) => {
            let names: Vec<String> = if a.all {
                vols.list()?.into_iter().map(|v| v.name).collect()
            } else {
                a.names.clone()
            };
            if names.is_empty() {
                anyhow::bail!("no volume given: name one or more volumes, or use --all");
            }
            for n in names {
                let u = users(&cs, &n)?;
                if a.force {
                    for c in &u {
                        hoist_container::lifecycle::remove(&cs, c, true)?;
                    }
                    vols.remove(&n, &[])?;
                } else {
                    let ids: Vec<String> = u
                        .iter()
                        .map(|c| hoist_container::short_id(c.id()).to_string())
                        .collect();
                    vols.remove(&n, &ids)?;
                }
                println!("{n}");
            }
        }
        VolumeCommand::Inspect(a) => {
            let docs = a
                .names
                .iter()
                .map(|n| vols.get(n))
                .collect::<Result<Vec<_>, _>>()?;
            match Format::parse(a.format.as_deref())? {
                Format::Template(t) => {
                    for d in &docs {
                        println!("{}", t.render(&serde_json::to_value(d)?)?);
                    }
                }
                _ => output::print_json(&docs)?,
            }
        }
        VolumeCommand::Prune(_) => {
            for v in vols.list()? {
                if users(&cs, &v.name)?.is_empty() {
                    vols.remove(&v.name, &[])?;
                    println!("{}", v.name);
                }
            }
        }
    }
    Ok(0)
}

//! `ps` and `inspect`: containers in podman's field names.

use std::path::Path;

use anyhow::Result;
use chrono::Utc;
use hoist_container::{Container, Status};
use serde_json::{json, Value};

use crate::container_args::{ContainerInspectArgs, PsArgs};
use crate::output::{self, Format};

use super::open;

/// One `ps --format json` row, as JSON (templates add fields to it).
fn ps_row(c: &Container) -> Value {
    serde_json::to_value(c.ps_row(Utc::now())).expect("a ps row serializes")
}

fn matches(c: &Container, filter: &str) -> Result<bool> {
    let (k, v) = filter
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("invalid --filter {filter:?}: use KEY=VALUE"))?;
    Ok(match k {
        "id" => c.id().starts_with(v),
        "name" => c.name().contains(v),
        "status" => c.status().as_str() == v,
        "ancestor" => c.config.image == v || c.config.image_id.starts_with(v),
        "label" => match v.split_once('=') {
            Some((lk, lv)) => c.config.options.labels.get(lk).is_some_and(|x| x == lv),
            None => c.config.options.labels.contains_key(v),
        },
        "exited" => {
            c.status() == Status::Exited
                && c.exit_code().map(|x| x.to_string()).as_deref() == Some(v)
        }
        _ => anyhow::bail!(
            "unsupported --filter {k:?}: use id, name, status, label, ancestor or exited"
        ),
    })
}

pub fn ps(root: &Path, a: PsArgs) -> Result<i32> {
    let cs = open(root)?;
    let mut list = Vec::new();
    for c in cs.list()? {
        let st = c.status();
        if !a.all
            && !a.filter.iter().any(|f| f.starts_with("status="))
            && st != Status::Running
            && st != Status::Paused
            && st != Status::Stopping
        {
            continue;
        }
        let mut ok = true;
        for f in &a.filter {
            ok &= matches(&c, f)?;
        }
        if ok {
            list.push(c);
        }
    }
    if a.latest {
        list.truncate(1);
    }
    let id = |c: &Container| {
        if a.no_trunc {
            c.id().to_string()
        } else {
            hoist_container::short_id(c.id()).to_string()
        }
    };
    if a.quiet {
        for c in &list {
            println!("{}", id(c));
        }
        return Ok(0);
    }
    match Format::parse(a.format.as_deref())? {
        Format::Json => output::print_json(&list.iter().map(ps_row).collect::<Vec<_>>())?,
        Format::Template(t) => {
            let rows: Vec<Value> = list
                .iter()
                .map(|c| {
                    let mut r = ps_row(c);
                    r["ID"] = json!(id(c));
                    r["Names"] = json!(c.name());
                    r["Command"] = json!(c.command().join(" "));
                    r["CreatedAt"] = json!(c.config.created.to_rfc3339());
                    r
                })
                .collect();
            output::print_template(&t, &rows)?;
        }
        Format::Default => {
            let now = Utc::now();
            let mut lines =
                vec!["CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES".to_string()];
            for c in &list {
                let mut cmd = c.command().join(" ");
                if !a.no_trunc && cmd.chars().count() > 20 {
                    cmd = format!("{}...", cmd.chars().take(17).collect::<String>());
                }
                lines.push(format!(
                    "{}\t{}\t{}\t{} ago\t{}\t{}\t{}",
                    id(c),
                    c.config.image,
                    cmd,
                    hoist_container::record_age(now - c.config.created),
                    c.status_text(now),
                    c.ports_text(),
                    c.name()
                ));
            }
            output::print_aligned(&lines);
        }
    }
    Ok(0)
}

/// The `inspect` document of a container, as JSON (for templates).
pub fn inspect_doc(c: &Container) -> Value {
    serde_json::to_value(c.inspect()).expect("an inspect document serializes")
}

pub fn inspect(root: &Path, a: ContainerInspectArgs) -> Result<i32> {
    let cs = open(root)?;
    let docs: Vec<Value> = super::lookup_all(&cs, &a.containers)?
        .iter()
        .map(inspect_doc)
        .collect();
    match Format::parse(a.format.as_deref())? {
        Format::Default | Format::Json => output::print_json(&docs)?,
        Format::Template(t) => {
            for d in &docs {
                println!("{}", t.render(d)?);
            }
        }
    }
    Ok(0)
}

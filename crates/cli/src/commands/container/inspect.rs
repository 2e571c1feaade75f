//! `ps` and `inspect`: containers in podman's field names.

use std::path::Path;

use anyhow::Result;
use chrono::Utc;
use hoist_container::{Container, ContainerFilter, PsRow, PsSize, PsSort};
use serde_json::{json, Value};

use crate::container_args::{ContainerInspectArgs, PsArgs};
use crate::output::template::RenderedRows;
use crate::output::{self, Format};

use super::open;

pub fn ps(root: &Path, a: PsArgs) -> Result<i32> {
    let cs = open(root)?;
    let filter = ContainerFilter::parse(&cs, &a.filter)?;
    let sort: PsSort = a.sort.parse()?;
    let format = Format::parse(a.format.as_deref())?;
    match a.watch {
        Some(secs) if secs > 0 => loop {
            // Like podman: a cleared screen, then the list.
            print!("\x1b[2J\x1b[H");
            ps_once(&cs, &a, &filter, sort, &format)?;
            std::io::Write::flush(&mut std::io::stdout())?;
            std::thread::sleep(std::time::Duration::from_secs(secs));
        },
        _ => ps_once(&cs, &a, &filter, sort, &format)?,
    }
    Ok(0)
}

/// One listing of `ps`.
fn ps_once(
    cs: &hoist_container::Containers,
    a: &PsArgs,
    filter: &ContainerFilter,
    sort: PsSort,
    format: &Format,
) -> Result<()> {
    let now = Utc::now();
    // Newest first.
    let mut list = cs.list()?;
    // Only running containers unless asked for others (podman: a status
    // filter, --last and --latest look at every state too).
    let every_state = a.all || a.latest || a.last >= 0 || filter.has_status();
    list.retain(|c| (every_state || c.status().is_active()) && filter.matches(c));
    if a.latest {
        list.truncate(1);
    } else if a.last >= 0 {
        list.truncate(a.last as usize);
    }
    sort.sort(&mut list, now);
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
        return Ok(());
    }
    let rows: Vec<PsRow> = list.iter().map(|c| ps_row(cs, c, a, now)).collect();
    match format {
        Format::Json => output::print_json(&rows)?,
        Format::Template(t) => {
            let rows: Vec<Value> = list
                .iter()
                .zip(&rows)
                .map(|(c, r)| template_row(c, r, &id(c), now))
                .collect();
            match t.render_rows(&rows)? {
                RenderedRows::Text(text) => print!("{text}"),
                RenderedRows::Lines(mut lines) => {
                    if a.noheading && t.is_table() && !lines.is_empty() {
                        lines.remove(0);
                    }
                    output::print_aligned(&lines);
                }
            }
        }
        Format::Default => {
            let mut lines = Vec::new();
            if !a.noheading {
                lines.push(table_header(a));
            }
            for (c, r) in list.iter().zip(&rows) {
                lines.push(table_line(c, r, &id(c), a, now));
            }
            output::print_aligned(&lines);
        }
    }
    Ok(())
}

/// The `ps --format json` row, with what --size and --ns add.
fn ps_row(
    cs: &hoist_container::Containers,
    c: &Container,
    a: &PsArgs,
    now: chrono::DateTime<Utc>,
) -> PsRow {
    let mut r = c.ps_row(now);
    // A container in another's network namespace (a pod's, through its
    // infra container) shows that one's published ports, as podman does.
    if let [net] = c.config.options.networks.as_slice() {
        if let Some(owner) = net.strip_prefix("container:") {
            if let Ok(o) = cs.get(owner) {
                r.ports = o.ports_text();
            }
        }
    }
    if a.size {
        r.size = Some(c.disk_size());
    }
    if a.ns {
        r.namespaces = c.namespaces();
    }
    r
}

/// `ps --size`'s text: `102kB (virtual 2.75MB)`.
fn size_text(s: &PsSize) -> String {
    let unspaced = |n| output::human_size(n).replace(' ', "");
    format!(
        "{} (virtual {})",
        unspaced(s.rw_size),
        unspaced(s.root_fs_size)
    )
}

fn table_header(a: &PsArgs) -> String {
    if a.ns {
        let mut h = vec!["CONTAINER ID", "NAMES", "PID"];
        h.extend(["CGROUPNS", "IPC", "MNT", "NET", "PIDNS", "USERNS", "UTS"]);
        return h.join("\t");
    }
    let mut h = vec![
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ];
    if a.pod {
        h.extend(["POD ID", "PODNAME"]);
    }
    if a.size {
        h.push("SIZE");
    }
    h.join("\t")
}

fn table_line(
    c: &Container,
    r: &PsRow,
    id: &str,
    a: &PsArgs,
    now: chrono::DateTime<Utc>,
) -> String {
    if a.ns {
        let mut cells = vec![id.to_string(), c.name().to_string(), r.pid.to_string()];
        cells.extend(
            hoist_container::namespace_keys()
                .map(|k| r.namespaces.get(k).cloned().unwrap_or_default()),
        );
        return cells.join("\t");
    }
    let mut cmd = c.command().join(" ");
    if !a.no_trunc && cmd.chars().count() > 20 {
        cmd = format!("{}...", cmd.chars().take(17).collect::<String>());
    }
    let mut cells = vec![
        id.to_string(),
        c.config.image.clone(),
        cmd,
        format!(
            "{} ago",
            hoist_container::record_age(now - c.config.created)
        ),
        r.status.clone(),
        r.ports.clone(),
        c.name().to_string(),
    ];
    if a.pod {
        let pod = if a.no_trunc {
            r.pod.as_str()
        } else {
            hoist_container::short_id(&r.pod)
        };
        cells.extend([pod.to_string(), r.pod_name.clone()]);
    }
    if let Some(s) = &r.size {
        cells.push(size_text(s));
    }
    cells.join("\t")
}

/// A row for `ps --format TEMPLATE`: the JSON row with podman's template
/// fields (`.ID` as shown, `.Names`, `.Command`, `.Networks` and `.Size`
/// as text, `.State` as the status text, times as Go prints them, as
/// podman 4 renders them).
fn template_row(c: &Container, row: &PsRow, id: &str, now: chrono::DateTime<Utc>) -> Value {
    let mut r = serde_json::to_value(row).expect("a ps row serializes");
    let ago = format!(
        "{} ago",
        hoist_container::record_age(now - c.config.created)
    );
    let created = crate::output::go_time(c.config.created);
    r["ID"] = json!(id);
    // podman's template `.Pod` is the short pod ID.
    r["Pod"] = json!(hoist_container::short_id(&row.pod));
    r["Names"] = json!(c.name());
    r["Command"] = json!(c.command().join(" "));
    r["Created"] = json!(created);
    r["CreatedAt"] = json!(created);
    r["CreatedHuman"] = json!(ago);
    r["RunningFor"] = json!(ago);
    r["State"] = json!(row.status);
    r["Networks"] = json!(row.networks.join(","));
    r["Size"] = json!(row.size.as_ref().map(size_text).unwrap_or_default());
    r
}

/// The `inspect` document of a container, as JSON (for templates).
pub fn inspect_doc(c: &Container) -> Value {
    serde_json::to_value(c.inspect()).expect("an inspect document serializes")
}

/// Names templates reach that the JSON does not show: podman 4.3's
/// `.State.Healthcheck` is another name of `.State.Health` (a method of
/// its inspect struct).
pub(crate) fn with_template_aliases(mut d: Value) -> Value {
    if let Some(state) = d.get_mut("State").and_then(Value::as_object_mut) {
        let health = state.get("Health").cloned().unwrap_or(Value::Null);
        state.insert("Healthcheck".into(), health);
    }
    d
}

/// The inspect document, with the disk sizes when `size` (`--size`).
fn doc(c: &Container, size: bool) -> Value {
    if !size {
        return inspect_doc(c);
    }
    serde_json::to_value(c.inspect_with_size()).expect("an inspect document serializes")
}

/// The inspect document of container `name` (`inspect --type container`);
/// `None` when there is no such container.
pub fn inspect_value(root: &Path, name: &str, size: bool) -> Result<Option<Value>> {
    let cs = open(root)?;
    Ok(cs.get(name).ok().map(|c| doc(&c, size)))
}

pub fn inspect(root: &Path, a: ContainerInspectArgs) -> Result<i32> {
    if a.latest && !a.containers.is_empty() {
        return Err(anyhow::Error::new(crate::exit::ExitWith {
            code: crate::exit::ENGINE_ERROR,
            message: "--latest and containers cannot be used together".into(),
        }));
    }
    let cs = open(root)?;
    let mut containers = super::lookup_all(&cs, &a.containers)?;
    if a.latest {
        let latest = cs
            .newest()?
            .ok_or_else(|| anyhow::anyhow!("no containers to inspect: --latest found none"))?;
        containers.push(latest);
    }
    let docs: Vec<Value> = containers.iter().map(|c| doc(c, a.size)).collect();
    match Format::parse(a.format.as_deref())? {
        Format::Default | Format::Json => output::print_json(&docs)?,
        Format::Template(t) => {
            for d in &docs {
                println!("{}", t.render(&with_template_aliases(d.clone()))?);
            }
        }
    }
    Ok(0)
}

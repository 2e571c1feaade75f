//! `system df`, `system prune`, `system reset`: flags, questions and
//! podman's output over `hoist_container::system`.

use std::path::Path;

use anyhow::Result;
use chrono::Utc;
use clap::Args;
use hoist_container::system::{self, DiskSummary, DiskUsage, PruneOptions};
use serde_json::{json, Value};

use crate::exit::ExitWith;
use crate::output::{self, Format};

#[derive(Debug, Args)]
pub struct DfArgs {
    /// json, or a Go template over the summary (or each row with -v).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// List every image, container and volume with its size.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Remove all unused data
    #[arg(short, long)]
    pub all: bool,
    /// Only what matches: label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME; may be repeated.
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Remove without asking first.
    #[arg(short, long)]
    pub force: bool,
    /// Prune volumes
    #[arg(long)]
    pub volumes: bool,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Go ahead without asking.
    #[arg(short, long)]
    pub force: bool,
}

/// Sizes as podman's `system df` and `prune` print them (four significant
/// digits, decimal units, no space: "1.988MB", "0B").
pub fn df_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < UNITS.len() {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", four_digits(v), UNITS[i])
}

/// Go's `%.4g` for values below 1000.
fn four_digits(v: f64) -> String {
    let decimals = match v {
        v if v < 10.0 => 3,
        v if v < 100.0 => 2,
        v if v < 1000.0 => 1,
        _ => 0,
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn percent(part: u64, whole: u64) -> String {
    let p = if whole == 0 {
        0
    } else {
        (part as f64 * 100.0 / whole as f64).round() as u64
    };
    format!("{} ({p}%)", df_size(part))
}

/// Columns as Go's tabwriter lays out podman's `system df` (cells at
/// least 12 wide, two spaces of padding; the last cell as is).
pub(crate) fn columns(rows: &[Vec<String>]) -> Vec<String> {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter(|r| r.len() > i + 1)
                .map(|r| r[i].chars().count() + 2)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                if i + 1 < r.len() {
                    line.push_str(&format!("{cell:<width$}", width = widths[i]));
                } else {
                    line.push_str(cell);
                }
            }
            line
        })
        .collect()
}

fn summary_value(s: &DiskSummary) -> Value {
    json!({
        "Type": s.kind,
        "Total": s.total,
        "Active": s.active,
        "Size": df_size(s.size),
        "Reclaimable": percent(s.reclaimable, s.size),
        "RawSize": s.size,
        "RawReclaimable": s.reclaimable,
        "TotalCount": s.total,
    })
}

pub fn df(root: &Path, a: DfArgs) -> Result<i32> {
    let engine = super::open(root)?;
    let cs = super::container::open(root)?;
    let usage = system::disk_usage(&engine, &cs)?;
    let format = Format::parse(a.format.as_deref())?;
    if a.verbose {
        return match format {
            Format::Default => {
                print_verbose(&usage);
                Ok(0)
            }
            Format::Json => {
                output::print_json(&verbose_json(&usage))?;
                Ok(0)
            }
            Format::Template(_) => Err(ExitWith {
                code: 125,
                message: "cannot combine --format and --verbose flags".into(),
            }
            .into()),
        };
    }
    let rows: Vec<Value> = usage.summary().iter().map(summary_value).collect();
    match format {
        Format::Default => {
            let mut table = vec![["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
                .map(String::from)
                .to_vec()];
            for s in usage.summary() {
                table.push(vec![
                    s.kind.to_string(),
                    s.total.to_string(),
                    s.active.to_string(),
                    df_size(s.size),
                    percent(s.reclaimable, s.size),
                ]);
            }
            for line in columns(&table) {
                println!("{line}");
            }
        }
        Format::Json => output::print_json(&rows)?,
        Format::Template(t) => output::print_template(&t, &rows)?,
    }
    Ok(0)
}

/// NAME:TAG split at the tag's colon (not a registry port's).
fn repo_and_tag(name: &str) -> (String, String) {
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (name.to_string(), "<none>".to_string()),
    }
}

fn age(t: chrono::DateTime<Utc>) -> String {
    let text = output::human_age((Utc::now() - t).num_seconds());
    text.trim_end_matches(" ago").to_string()
}

fn print_verbose(u: &DiskUsage) {
    let mut images = vec![[
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "SHARED SIZE",
        "UNIQUE SIZE",
        "CONTAINERS",
    ]
    .map(String::from)
    .to_vec()];
    for i in &u.images {
        let (repo, tag) = i
            .name
            .as_deref()
            .map(repo_and_tag)
            .unwrap_or(("<none>".into(), "<none>".into()));
        images.push(vec![
            repo,
            tag,
            hoist_container::short_id(&i.id).to_string(),
            age(i.created),
            df_size(i.size),
            df_size(i.shared_size),
            df_size(i.size - i.shared_size),
            i.containers.to_string(),
        ]);
    }
    println!("Images space usage:\n");
    for line in columns(&images) {
        println!("{line}");
    }
    let mut containers = vec![[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "LOCAL VOLUMES",
        "SIZE",
        "CREATED",
        "STATUS",
        "NAMES",
    ]
    .map(String::from)
    .to_vec()];
    for c in &u.containers {
        containers.push(vec![
            hoist_container::short_id(&c.id).to_string(),
            hoist_container::short_id(&c.image_id).to_string(),
            c.command.clone(),
            c.local_volumes.to_string(),
            df_size(c.size),
            age(c.created),
            c.status.clone(),
            c.name.clone(),
        ]);
    }
    println!("\nContainers space usage:\n");
    for line in columns(&containers) {
        println!("{line}");
    }
    let mut volumes = vec![["VOLUME NAME", "LINKS", "SIZE"].map(String::from).to_vec()];
    for v in &u.volumes {
        volumes.push(vec![v.name.clone(), v.links.to_string(), df_size(v.size)]);
    }
    println!("\nLocal Volumes space usage:\n");
    for line in columns(&volumes) {
        println!("{line}");
    }
}

fn verbose_json(u: &DiskUsage) -> Value {
    json!({
        "Images": u.images.iter().map(|i| {
            let (repo, tag) = i.name.as_deref().map(repo_and_tag)
                .unwrap_or(("<none>".into(), "<none>".into()));
            json!({
                "Repository": repo, "Tag": tag, "ImageID": i.id,
                "Created": i.created.to_rfc3339(), "Size": i.size,
                "SharedSize": i.shared_size, "UniqueSize": i.size - i.shared_size,
                "Containers": i.containers,
            })
        }).collect::<Vec<_>>(),
        "Containers": u.containers.iter().map(|c| json!({
            "ContainerID": c.id, "Image": c.image_id, "Command": c.command,
            "LocalVolumes": c.local_volumes, "Size": c.size,
            "Created": c.created.to_rfc3339(), "Status": c.status, "Names": c.name,
        })).collect::<Vec<_>>(),
        "Volumes": u.volumes.iter().map(|v| json!({
            "VolumeName": v.name, "Links": v.links, "Size": v.size,
        })).collect::<Vec<_>>(),
    })
}

/// podman's question; any answer but y/Y/yes is no.
pub fn prune(root: &Path, a: SystemPruneArgs) -> Result<i32> {
    if !a.force {
        let mut what = String::from(
            "WARNING! This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container\n",
        );
        if a.volumes {
            what.push_str("\t- all volumes not used by at least one container\n");
        }
        what.push_str(if a.all {
            "\t- all images without at least one container associated with them\n\t- all build cache\n\n"
        } else {
            "\t- all dangling images\n\t- all dangling build cache\n\n"
        });
        let question = format!("{what}Are you sure you want to continue? [y/N] ");
        if !super::container::volume::confirm(&question)? {
            return Ok(0);
        }
    }
    let engine = super::open(root)?;
    let cs = super::container::open(root)?;
    let report = system::prune(
        &engine,
        &cs,
        &PruneOptions {
            all: a.all,
            volumes: a.volumes,
            filters: a.filter,
        },
    )?;
    let section = |title: &str, items: Vec<String>| {
        if !items.is_empty() {
            println!("Deleted {title}");
            for i in items {
                println!("{i}");
            }
        }
    };
    section(
        "Containers",
        report.containers.iter().map(|c| c.0.clone()).collect(),
    );
    section("Networks", report.networks.clone());
    section(
        "Volumes",
        report.volumes.iter().map(|v| v.0.clone()).collect(),
    );
    section(
        "Images",
        report
            .images
            .iter()
            .map(|i| i.0.hex().to_string())
            .collect(),
    );
    println!("Total reclaimed space: {}", df_size(report.reclaimed()));
    Ok(0)
}

pub fn reset(root: &Path, a: ResetArgs) -> Result<i32> {
    if !a.force {
        let warning = format!(
            "WARNING! This will remove:\n        - all containers\n        - all pods\n        - all images\n        - all networks\n        - all build cache\n        - all machines\n        - all volumes\n        - the graphRoot directory: {:?}\n",
            root.display().to_string()
        );
        let question = format!("{warning}Are you sure you want to continue? [y/N] ");
        if !super::container::volume::confirm(&question)? {
            return Ok(0);
        }
    }
    system::reset(root)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_podman_df() {
        assert_eq!(df_size(0), "0B");
        assert_eq!(df_size(1_988_000), "1.988MB");
        assert_eq!(df_size(11_330), "11.33kB");
        assert_eq!(df_size(999), "999B");
        assert_eq!(df_size(1_000), "1kB");
        assert_eq!(percent(5, 10), "5B (50%)");
        assert_eq!(percent(0, 0), "0B (0%)");
    }

    #[test]
    fn tags_split_after_the_port() {
        assert_eq!(
            repo_and_tag("127.0.0.1:5000/a/b:v1"),
            ("127.0.0.1:5000/a/b".to_string(), "v1".to_string())
        );
        assert_eq!(repo_and_tag("r:5/a").1, "<none>");
    }
}

//! `pod stats`: one row per container of the chosen pods (all pods when
//! none is named), with podman's fields (Pod, CID, Name, CPU, MemUsage,
//! MemUsageBytes, Mem, NetIO, BlockIO, PIDS; every value a string, `--`
//! for a container that does not run), sorted by pod and container ID.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use hoist_container::{Container, Containers};
use hoist_pod::{Pod, PodError, Pods};
use serde_json::{json, Value};

use crate::exit::{ExitWith, ENGINE_ERROR};
use crate::output::{self, Format};

#[derive(Debug, Args)]
pub struct PodStatsArgs {
    /// Show the statistics of every pod.
    #[arg(short, long)]
    pub all: bool,
    /// Go template, `table ...` or json.
    #[arg(long)]
    pub format: Option<String>,
    /// Use the latest pod.
    #[arg(short, long)]
    pub latest: bool,
    /// Do not clear the screen between samples when streaming.
    #[arg(long)]
    pub no_reset: bool,
    /// Print one sample and exit.
    #[arg(long)]
    pub no_stream: bool,
    pub pods: Vec<String>,
}

/// The column headers podman prints for each field.
const HEADERS: &[(&str, &str)] = &[
    ("Pod", "POD"),
    ("CID", "CID"),
    ("Name", "NAME"),
    ("CPU", "CPU %"),
    ("MemUsage", "MEM USAGE/ LIMIT"),
    ("MemUsageBytes", "MEM USAGE/ LIMIT"),
    ("Mem", "MEM"),
    ("NetIO", "NET IO"),
    ("BlockIO", "BLOCK IO"),
    ("PIDS", "PIDS"),
];

const DEFAULT_FORMAT: &str = "table {{.Pod}}\t{{.CID}}\t{{.Name}}\t{{.CPU}}\t{{.MemUsage}}\t{{.Mem}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}";

fn error(message: String) -> anyhow::Error {
    anyhow::Error::new(ExitWith {
        code: ENGINE_ERROR,
        message,
    })
}

/// A size with 4 significant digits and no space, as Go's units package
/// prints it (`540.7kB`, `23.54GiB`).
fn go_size(bytes: u64, base: f64, units: &[&str]) -> String {
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= base && i < units.len() - 1 {
        v /= base;
        i += 1;
    }
    let digits = if v >= 1.0 {
        v.log10().floor() as i32 + 1
    } else {
        1
    };
    let decimals = (4 - digits).max(0) as usize;
    let mut text = format!("{v:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{text}{}", units[i])
}

fn decimal(bytes: u64) -> String {
    go_size(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"])
}

fn binary(bytes: u64) -> String {
    go_size(bytes, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB"])
}

/// One container's row; `--` everywhere when it does not run.
fn row(pod: &Pod, c: &Container) -> Value {
    let mut r = json!({
        "Pod": &pod.id[..12],
        "CID": hoist_container::short_id(c.id()),
        "Name": c.name(),
        "CPU": "--",
        "MemUsage": "-- / --",
        "MemUsageBytes": "-- / --",
        "Mem": "--",
        "NetIO": "-- / --",
        "BlockIO": "-- / --",
        "PIDS": "--",
    });
    if let Ok(s) = hoist_container::stats::stats(c) {
        let pair = |a: u64, b: u64| format!("{} / {}", decimal(a), decimal(b));
        // Nothing read or written shows as podman's `-- / --`.
        let block = if s.block_input == 0 && s.block_output == 0 {
            "-- / --".to_string()
        } else {
            pair(s.block_input, s.block_output)
        };
        let fields = json!({
            "CPU": format!("{:.2}%", s.cpu_percent),
            "MemUsage": pair(s.mem_usage, s.mem_limit),
            "MemUsageBytes": format!("{} / {}", binary(s.mem_usage), binary(s.mem_limit)),
            "Mem": format!("{:.2}%", s.mem_percent),
            "NetIO": pair(s.net_input, s.net_output),
            "BlockIO": block,
            "PIDS": s.pids.to_string(),
        });
        if let (Some(r), Some(f)) = (r.as_object_mut(), fields.as_object()) {
            r.extend(f.clone());
        }
    }
    r
}

/// The pods to sample: those named, or every pod.
fn chosen(pods: &Pods, a: &PodStatsArgs) -> Result<Vec<Pod>> {
    let mut list = pods.list().map_err(|e| error(e.to_string()))?;
    if a.latest {
        return Ok(list.pop().into_iter().collect());
    }
    if a.all || a.pods.is_empty() {
        return Ok(list);
    }
    a.pods
        .iter()
        .map(|q| {
            pods.get(q).map_err(|e| match e {
                PodError::NotFound(_) => error(format!(
                    "unable to get list of pods: no pod with name or ID {q} found: no such pod"
                )),
                e => error(e.to_string()),
            })
        })
        .collect()
}

fn sample(cs: &Containers, pods: &[Pod]) -> Result<Vec<Value>> {
    let mut rows = Vec::new();
    for p in pods {
        let mut members = hoist_pod::containers(cs, p).map_err(|e| error(e.to_string()))?;
        members.sort_by(|x, y| x.id().cmp(y.id()));
        rows.extend(members.iter().map(|c| row(p, c)));
    }
    rows.sort_by(|x, y| x["Pod"].as_str().cmp(&y["Pod"].as_str()));
    Ok(rows)
}

fn print(format: &Format, rows: &[Value]) -> Result<()> {
    let parsed;
    let t = match format {
        Format::Json => return output::print_json(&rows),
        Format::Template(t) => t,
        Format::Default => {
            parsed = output::template::Template::parse(DEFAULT_FORMAT)?;
            &parsed
        }
    };
    let mut headers: std::collections::HashMap<&str, &str> = HEADERS.iter().copied().collect();
    if matches!(format, Format::Default) {
        headers.insert("Mem", "MEM %");
    }
    // podman 4.3 prints the header line for plain templates too.
    let mut lines = vec![t.header_with(&headers)];
    for r in rows {
        lines.push(t.render(r)?);
    }
    if t.is_table() {
        output::print_aligned(&lines);
    } else {
        for l in lines {
            println!("{l}");
        }
    }
    Ok(())
}

pub fn stats(root: &Path, a: PodStatsArgs) -> Result<i32> {
    let cs = Containers::open(root)?;
    let pods = Pods::open(root).map_err(|e| error(e.to_string()))?;
    let chosen = chosen(&pods, &a)?;
    let format = Format::parse(a.format.as_deref())?;
    loop {
        let rows = sample(&cs, &chosen)?;
        if !a.no_stream && !a.no_reset {
            // Clear the screen and go home, as podman's live view does.
            print!("\x1b[2J\x1b[0;0H");
        }
        print(&format, &rows)?;
        std::io::stdout().flush().ok();
        if a.no_stream {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units() {
        assert_eq!(decimal(726), "726B");
        assert_eq!(decimal(540_672), "540.7kB");
        assert_eq!(decimal(1640), "1.64kB");
        assert_eq!(decimal(4096), "4.096kB");
        assert_eq!(decimal(0), "0B");
        assert_eq!(binary(540_672), "528KiB");
        assert_eq!(binary(25_280_000_000), "23.54GiB");
    }
}

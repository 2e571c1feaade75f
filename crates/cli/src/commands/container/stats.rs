//! `top` and `stats`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Result;
use hoist_container::stats::{self, Stats};
use hoist_container::{Container, Containers, Status};

use crate::container_args::{StatsArgs, TopArgs};
use crate::exit::{ExitWith, ENGINE_ERROR};
use crate::output::{human_size, print_aligned, print_json, print_template, Format};

use super::{lookup_all, open};

/// `[[hh:]mm:]ss` as ps prints times.
fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// The container named, or with `--latest` the newest one.
fn named_or_latest(cs: &Containers, name: Option<&str>, latest: bool) -> Result<Container> {
    match name {
        Some(n) if !latest => Ok(cs.get(n)?),
        _ => cs
            .newest()?
            .ok_or_else(|| anyhow::anyhow!("no containers: --latest found none")),
    }
}

pub fn top(root: &Path, a: TopArgs) -> Result<i32> {
    let cs = open(root)?;
    let c = named_or_latest(&cs, a.container.as_deref(), a.latest)?;
    let rows = stats::top(&c)?;
    let mut lines = vec!["USER\tPID\tPPID\t%CPU\tELAPSED\tTTY\tTIME\tCOMMAND".to_string()];
    for r in rows {
        lines.push(format!(
            "{}\t{}\t{}\t{:.3}\t{}\t?\t{}\t{}",
            r.user,
            r.pid,
            r.ppid,
            r.cpu_percent,
            clock(r.elapsed_secs),
            clock(r.time_secs),
            r.command
        ));
    }
    print_aligned(&lines);
    Ok(0)
}

/// podman's field names for templates and JSON.
fn row(s: &Stats, full_id: bool) -> serde_json::Value {
    let id = if full_id {
        &s.id
    } else {
        hoist_container::short_id(&s.id)
    };
    serde_json::json!({
        "ID": id,
        "ContainerID": s.id,
        "Name": s.name,
        "CPUPerc": format!("{:.2}%", s.cpu_percent),
        "CPU": s.cpu_percent,
        "MemUsage": format!("{} / {}", human_size(s.mem_usage), human_size(s.mem_limit)),
        "MemUsageBytes": s.mem_usage,
        "MemLimit": s.mem_limit,
        "MemPerc": format!("{:.2}%", s.mem_percent),
        "NetIO": format!("{} / {}", human_size(s.net_input), human_size(s.net_output)),
        "NetInput": s.net_input,
        "NetOutput": s.net_output,
        "BlockIO": format!("{} / {}", human_size(s.block_input), human_size(s.block_output)),
        "BlockInput": s.block_input,
        "BlockOutput": s.block_output,
        "PIDs": s.pids,
    })
}

fn sample(list: &[Container]) -> Vec<Stats> {
    list.iter().filter_map(|c| stats::stats(c).ok()).collect()
}

pub fn stats(root: &Path, a: StatsArgs) -> Result<i32> {
    if a.interval < 1 {
        return Err(ExitWith {
            code: ENGINE_ERROR,
            message: format!(
                "invalid --interval {}: give the seconds between samples, 1 or more",
                a.interval
            ),
        }
        .into());
    }
    let cs = open(root)?;
    let list: Vec<Container> = if a.latest {
        vec![named_or_latest(&cs, None, true)?]
    } else if a.containers.is_empty() {
        cs.list()?
            .into_iter()
            .filter(|c| c.status() == Status::Running)
            .collect()
    } else {
        lookup_all(&cs, &a.containers)?
    };
    // A named container must be running.
    if a.latest || !a.containers.is_empty() {
        for c in &list {
            stats::stats(c)?;
        }
    }
    let format = Format::parse(a.format.as_deref())?;
    // As podman: a live view on a terminal starts each sample on a clean
    // screen; piped output is left as it is.
    let reset = !a.no_reset && std::io::stdout().is_terminal();
    loop {
        let rows: Vec<serde_json::Value> =
            sample(&list).iter().map(|s| row(s, a.no_trunc)).collect();
        if reset {
            print!("\x1b[2J\x1b[1;1H");
        }
        print_stats(&format, &rows)?;
        std::io::stdout().flush()?;
        if a.no_stream {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_secs(a.interval as u64));
    }
}

/// One sample in the format asked for.
fn print_stats(format: &Format, rows: &[serde_json::Value]) -> Result<()> {
    match format {
        Format::Json => print_json(&rows)?,
        Format::Template(t) => print_template(t, rows)?,
        Format::Default => {
            let mut lines = vec![
                "ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET IO\tBLOCK IO\tPIDS".to_string(),
            ];
            for r in rows {
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r["ID"].as_str().unwrap_or(""),
                    r["Name"].as_str().unwrap_or(""),
                    r["CPUPerc"].as_str().unwrap_or(""),
                    r["MemUsage"].as_str().unwrap_or(""),
                    r["MemPerc"].as_str().unwrap_or(""),
                    r["NetIO"].as_str().unwrap_or(""),
                    r["BlockIO"].as_str().unwrap_or(""),
                    r["PIDs"]
                ));
            }
            print_aligned(&lines);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks() {
        assert_eq!(clock(5), "00:05");
        assert_eq!(clock(3725), "1:02:05");
    }
}

//! `top` and `stats`.

use std::path::Path;

use anyhow::Result;
use hoist_container::stats::{self, Stats};
use hoist_container::{Container, Status};

use crate::container_args::{StatsArgs, TopArgs};
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

pub fn top(root: &Path, a: TopArgs) -> Result<i32> {
    let cs = open(root)?;
    let c = cs.get(&a.container)?;
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
fn row(s: &Stats) -> serde_json::Value {
    serde_json::json!({
        "ID": hoist_container::short_id(&s.id),
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
    let cs = open(root)?;
    let list: Vec<Container> = if a.containers.is_empty() {
        cs.list()?
            .into_iter()
            .filter(|c| c.status() == Status::Running)
            .collect()
    } else {
        let l = lookup_all(&cs, &a.containers)?;
        // A named container must be running.
        for c in &l {
            stats::stats(c)?;
        }
        l
    };
    let format = Format::parse(a.format.as_deref())?;
    loop {
        let rows: Vec<serde_json::Value> = sample(&list).iter().map(row).collect();
        match &format {
            Format::Json => print_json(&rows)?,
            Format::Template(t) => print_template(t, &rows)?,
            Format::Default => {
                let mut lines = vec![
                    "ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET IO\tBLOCK IO\tPIDS".to_string(),
                ];
                for r in &rows {
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
    fn clocks() {
        assert_eq!(clock(5), "00:05");
        assert_eq!(clock(3725), "1:02:05");
    }
}

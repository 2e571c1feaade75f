//! `top` and `stats`: a running container's processes (its cgroup's
//! `cgroup.procs`, described from /proc) and resource use (cgroup v1 or
//! v2 counters, the network counters of its namespace, block IO).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{ContainerError, Result};
use crate::record::{Container, Status};

/// Where the cgroup files of a container may be: the v2 unified tree,
/// or the v1 controller `ctl`.
fn cgroup_file(cg: &str, ctl: &str, file: &str) -> Option<PathBuf> {
    [
        format!("/sys/fs/cgroup{cg}/{file}"),
        format!("/sys/fs/cgroup/{ctl}{cg}/{file}"),
        format!("/sys/fs/cgroup/unified{cg}/{file}"),
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn read(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

fn running(c: &Container, op: &'static str) -> Result<()> {
    if matches!(c.status(), Status::Running | Status::Paused) {
        return Ok(());
    }
    Err(ContainerError::BadState {
        id: crate::short_id(c.id()).into(),
        status: c.status().to_string(),
        op,
        hint: "it is not running; start it first",
    })
}

/// The pids (in the host's namespace) of every process of the container.
pub fn pids(c: &Container) -> Vec<i32> {
    let mut pids: Vec<i32> = ["pids", "memory", "cpu,cpuacct", "freezer"]
        .iter()
        .find_map(|ctl| cgroup_file(&crate::run_flags::cgroups_path(c), ctl, "cgroup.procs"))
        .and_then(|p| read(&p))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

/// One row of `top`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessRow {
    pub user: String,
    /// In the container's pid namespace.
    pub pid: i32,
    pub ppid: i32,
    /// CPU time over its lifetime, percent of one CPU.
    pub cpu_percent: f64,
    pub elapsed_secs: u64,
    /// CPU time, seconds.
    pub time_secs: u64,
    pub command: String,
}

fn ticks_per_sec() -> u64 {
    rustix::param::clock_ticks_per_second()
}

fn uptime_secs() -> f64 {
    read(Path::new("/proc/uptime"))
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The user names of the container's /etc/passwd by uid.
fn passwd_names(rootfs: &Path) -> std::collections::HashMap<u32, String> {
    read(&rootfs.join("etc/passwd"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, f.first()?.to_string()))
        })
        .collect()
}

fn process_row(pid: i32, names: &std::collections::HashMap<u32, String>) -> Option<ProcessRow> {
    let stat = read(Path::new(&format!("/proc/{pid}/stat")))?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state).
    let num = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let tps = ticks_per_sec().max(1);
    let cpu_ticks = num(14) + num(15);
    let started = num(22) as f64 / tps as f64;
    let elapsed = (uptime_secs() - started).max(0.0);
    let status = read(Path::new(&format!("/proc/{pid}/status"))).unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let uid: u32 = field("Uid:")
        .first()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // The innermost namespace's pid is last on NSpid.
    let inner = |k: &str, host: i32| field(k).last().and_then(|v| v.parse().ok()).unwrap_or(host);
    let ppid_host = num(4) as i32;
    let ppid = if ppid_host == 0 {
        0
    } else {
        // The parent's pid in the container, when it is in the container.
        read(Path::new(&format!("/proc/{ppid_host}/status")))
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("NSpid:"))
                    .and_then(|v| v.split_whitespace().last()?.parse().ok())
            })
            .filter(|_| ppid_host != 0)
            .unwrap_or(0)
    };
    let cmdline = read(Path::new(&format!("/proc/{pid}/cmdline"))).unwrap_or_default();
    let command = if cmdline.is_empty() {
        format!("[{comm}]")
    } else {
        cmdline.trim_end_matches('\0').replace('\0', " ")
    };
    let time = cpu_ticks as f64 / tps as f64;
    Some(ProcessRow {
        user: names.get(&uid).cloned().unwrap_or_else(|| uid.to_string()),
        pid: inner("NSpid:", pid),
        ppid: if ppid_host == 0 { 0 } else { ppid },
        cpu_percent: if elapsed > 0.0 {
            time / elapsed * 100.0
        } else {
            0.0
        },
        elapsed_secs: elapsed as u64,
        time_secs: time as u64,
        command,
    })
}

/// `top`: the container's processes.
pub fn top(c: &Container) -> Result<Vec<ProcessRow>> {
    running(c, "list its processes")?;
    let names = passwd_names(&c.rootfs());
    Ok(pids(c)
        .into_iter()
        .filter_map(|p| process_row(p, &names))
        .collect())
}

/// One row of `stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub id: String,
    pub name: String,
    /// CPU time over its run time, percent of one CPU.
    pub cpu_percent: f64,
    pub mem_usage: u64,
    /// The memory limit, or the host's memory without one.
    pub mem_limit: u64,
    pub mem_percent: f64,
    pub net_input: u64,
    pub net_output: u64,
    pub block_input: u64,
    pub block_output: u64,
    pub pids: u64,
}

fn read_u64(p: Option<PathBuf>) -> Option<u64> {
    read(&p?)?.trim().parse().ok()
}

fn host_memory() -> u64 {
    read(Path::new("/proc/meminfo"))
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Bytes received and sent on every interface but `lo` of /proc/PID/net/dev.
pub(crate) fn parse_net_dev(text: &str) -> (u64, u64) {
    let mut rx = 0;
    let mut tx = 0;
    for line in text.lines().skip(2) {
        let Some((iface, rest)) = line.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        rx += f.first().copied().unwrap_or(0);
        tx += f.get(8).copied().unwrap_or(0);
    }
    (rx, tx)
}

/// Bytes read and written from v1 `blkio.throttle.io_service_bytes` or v2 `io.stat`.
pub(crate) fn parse_block_io(text: &str) -> (u64, u64) {
    let mut r = 0;
    let mut w = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 3 && f[0] != "Total" {
            match f[1] {
                "Read" => r += f[2].parse().unwrap_or(0),
                "Write" => w += f[2].parse().unwrap_or(0),
                _ => {}
            }
        }
        for kv in &f {
            if let Some(v) = kv.strip_prefix("rbytes=") {
                r += v.parse().unwrap_or(0);
            } else if let Some(v) = kv.strip_prefix("wbytes=") {
                w += v.parse().unwrap_or(0);
            }
        }
    }
    (r, w)
}

/// `stats --no-stream`: one sample of the container's resource use.
pub fn stats(c: &Container) -> Result<Stats> {
    running(c, "read its statistics")?;
    let cg = crate::run_flags::cgroups_path(c);
    let id = cg.as_str();
    // v2 memory.current, v1 memory.usage_in_bytes.
    let mem_usage = read_u64(cgroup_file(id, "memory", "memory.current"))
        .or_else(|| read_u64(cgroup_file(id, "memory", "memory.usage_in_bytes")))
        .unwrap_or(0);
    let host = host_memory();
    let limit = cgroup_file(id, "memory", "memory.max")
        .or_else(|| cgroup_file(id, "memory", "memory.limit_in_bytes"))
        .and_then(|p| read(&p))
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|l| *l < host || host == 0)
        .unwrap_or(host);
    // v2 cpu.stat usage_usec, v1 cpuacct.usage (ns).
    let cpu_ns = cgroup_file(id, "cpu", "cpu.stat")
        .and_then(|p| read(&p))
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("usage_usec "))?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|us| us * 1000)
        .or_else(|| read_u64(cgroup_file(id, "cpu,cpuacct", "cpuacct.usage")))
        .or_else(|| read_u64(cgroup_file(id, "cpuacct", "cpuacct.usage")))
        .unwrap_or(0);
    let run_ns = c
        .state
        .started_at
        .map(|t| {
            (chrono::Utc::now() - t)
                .num_nanoseconds()
                .unwrap_or(0)
                .max(0) as u64
        })
        .unwrap_or(0);
    let pids = pids(c);
    let (net_input, net_output) = c
        .state
        .pid
        .and_then(|p| read(Path::new(&format!("/proc/{p}/net/dev"))))
        .map(|t| parse_net_dev(&t))
        .unwrap_or((0, 0));
    let (block_input, block_output) = cgroup_file(id, "blkio", "io.stat")
        .or_else(|| cgroup_file(id, "blkio", "blkio.throttle.io_service_bytes"))
        .and_then(|p| read(&p))
        .map(|t| parse_block_io(&t))
        .unwrap_or((0, 0));
    Ok(Stats {
        // The container's ID (`id` above is its cgroup path).
        id: c.id().to_string(),
        name: c.name().to_string(),
        cpu_percent: if run_ns > 0 {
            cpu_ns as f64 / run_ns as f64 * 100.0
        } else {
            0.0
        },
        mem_usage,
        mem_limit: limit,
        mem_percent: if limit > 0 {
            mem_usage as f64 / limit as f64 * 100.0
        } else {
            0.0
        },
        net_input,
        net_output,
        block_input,
        block_output,
        pids: pids.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_sums_all_but_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  eth0:    1500      10    0    0    0     0          0         0      700       5    0    0    0     0       0          0\n";
        assert_eq!(parse_net_dev(text), (1500, 700));
    }

    #[test]
    fn block_io_v1_and_v2() {
        let v1 = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Total 12288\nTotal 12288\n";
        assert_eq!(parse_block_io(v1), (4096, 8192));
        let v2 = "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n";
        assert_eq!(parse_block_io(v2), (100, 200));
    }
}

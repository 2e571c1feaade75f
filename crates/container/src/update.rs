//! `update`: new cgroup resource limits for a container. They are written
//! to its cgroup when it runs (v1 controllers or the v2 unified tree) and
//! kept in its record, so the next start (and a restart) applies them.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{io_err, ContainerError, Result};
use crate::options::{BlkioOption, CreateOptions};
use crate::record::Container;
use crate::store::{write_atomic, Containers, CONFIG};

/// podman's CFS period when only `--cpus` is given (100 ms).
const DEFAULT_PERIOD_US: u64 = 100_000;

/// The limits `update` (and `container clone`) change; `None` leaves one
/// as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceUpdate {
    pub cpus: Option<f64>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// Bytes.
    pub memory: Option<i64>,
    /// Memory plus swap, bytes; -1 for unlimited.
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub memory_swappiness: Option<u64>,
    /// -1 (or 0) for no limit.
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    /// `--blkio-weight-device DEVICE:WEIGHT`: applied to a running
    /// container's cgroup.
    pub blkio_weight_device: Vec<(PathBuf, u16)>,
    /// `--device-read-bps` and the other throttles (replacing the ones of
    /// the same kind and device).
    pub throttles: Vec<BlkioOption>,
}

impl ResourceUpdate {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == ResourceUpdate::default()
    }

    /// Writes the new limits into a container's options.
    pub fn apply(&self, o: &mut CreateOptions) {
        fn set<T: Clone>(dst: &mut Option<T>, v: &Option<T>) {
            if v.is_some() {
                dst.clone_from(v);
            }
        }
        set(&mut o.cpus, &self.cpus);
        if self.cpus == Some(0.0) {
            // `--cpus 0`: no CPU limit.
            o.cpus = None;
            o.cpu_quota = None;
        }
        set(&mut o.cpu_shares, &self.cpu_shares);
        set(&mut o.cpu_period, &self.cpu_period);
        set(&mut o.cpu_quota, &self.cpu_quota);
        set(&mut o.cpu_rt_period, &self.cpu_rt_period);
        set(&mut o.cpu_rt_runtime, &self.cpu_rt_runtime);
        set(&mut o.cpuset_cpus, &self.cpuset_cpus);
        set(&mut o.cpuset_mems, &self.cpuset_mems);
        set(&mut o.memory, &self.memory);
        set(&mut o.memory_swap, &self.memory_swap);
        set(&mut o.memory_reservation, &self.memory_reservation);
        set(&mut o.memory_swappiness, &self.memory_swappiness);
        set(&mut o.pids_limit, &self.pids_limit);
        set(&mut o.blkio_weight, &self.blkio_weight);
        if self.cpu_quota.is_some() {
            // An explicit quota replaces what --cpus asked for.
            o.cpus = self.cpus;
        }
        for t in &self.throttles {
            o.blkio
                .retain(|b| !(b.kind == t.kind && b.device == t.device));
            o.blkio.push(t.clone());
        }
    }

    /// The CFS quota and period to write, if the CPU limit changes.
    fn cfs(&self, o: &CreateOptions) -> (Option<i64>, Option<u64>) {
        let period = self.cpu_period.or(o.cpu_period);
        match (self.cpus, self.cpu_quota) {
            (_, Some(q)) => (Some(q), period),
            // No limit: the kernel's -1.
            (Some(0.0), None) => (Some(-1), period),
            (Some(cpus), None) => {
                let period = period.unwrap_or(DEFAULT_PERIOD_US);
                (Some((cpus * period as f64).round() as i64), Some(period))
            }
            (None, None) => (None, self.cpu_period),
        }
    }
}

/// Updates the limits of `c`: its cgroup now when it runs, its record for
/// every later start.
pub fn update(cs: &Containers, c: &Container, u: &ResourceUpdate) -> Result<()> {
    let _lock = cs.lock(c.id())?;
    let mut now = cs.load(c.id())?;
    check_swap(u, &now.config.options)?;
    let cgroup = Cgroup::of(&crate::run_flags::cgroups_path(c));
    if now.status().is_active() && cgroup.exists() {
        cgroup.write_all(u, &now.config.options)?;
    }
    u.apply(&mut now.config.options);
    write_atomic(
        &now.dir.join(CONFIG),
        &serde_json::to_vec_pretty(&now.config).expect("serializes"),
    )
}

/// The memory+swap limit can be no lower than the memory limit it includes.
fn check_swap(u: &ResourceUpdate, o: &CreateOptions) -> Result<()> {
    let memory = u.memory.or(o.memory).filter(|m| *m > 0);
    match (u.memory_swap.or(o.memory_swap).filter(|s| *s > 0), memory) {
        (Some(swap), Some(memory)) if swap < memory => Err(ContainerError::Invalid(format!(
            "--memory-swap {swap} is lower than the memory limit {memory}: it is memory plus swap, so give at least the memory limit (or -1 for unlimited swap)"
        ))),
        (Some(_), None) if u.memory_swap.is_some() => Err(ContainerError::Invalid(
            "--memory-swap needs a memory limit: give --memory too".into(),
        )),
        _ => Ok(()),
    }
}

/// A container's cgroup: the v1 controller directories or the v2 one.
struct Cgroup {
    path: String,
    v2: bool,
}

impl Cgroup {
    /// `path`: the container's cgroup (see [`crate::run_flags::cgroups_path`]).
    fn of(path: &str) -> Cgroup {
        Cgroup {
            path: path.to_string(),
            v2: Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
        }
    }

    fn dir(&self, ctl: &str) -> PathBuf {
        if self.v2 {
            PathBuf::from(format!("/sys/fs/cgroup{}", self.path))
        } else {
            PathBuf::from(format!("/sys/fs/cgroup/{ctl}{}", self.path))
        }
    }

    fn exists(&self) -> bool {
        self.dir(if self.v2 { "" } else { "memory" }).is_dir()
            || self.dir("cpu").is_dir()
            || self.dir("pids").is_dir()
    }

    fn write(&self, ctl: &str, file: &str, value: &str) -> Result<()> {
        let p = self.dir(ctl).join(file);
        std::fs::write(&p, value).map_err(|e| {
            ContainerError::Invalid(format!(
                "setting {file} of the container's cgroup to {value}: {e} (writing {})",
                p.display()
            ))
        })
    }

    fn write_all(&self, u: &ResourceUpdate, o: &CreateOptions) -> Result<()> {
        if self.v2 {
            self.write_v2(u, o)
        } else {
            self.write_v1(u, o)
        }
    }

    fn write_v1(&self, u: &ResourceUpdate, o: &CreateOptions) -> Result<()> {
        if let Some(s) = u.cpu_shares {
            self.write("cpu", "cpu.shares", &s.to_string())?;
        }
        let (quota, period) = u.cfs(o);
        if let Some(p) = period {
            self.write("cpu", "cpu.cfs_period_us", &p.to_string())?;
        }
        if let Some(q) = quota {
            self.write("cpu", "cpu.cfs_quota_us", &q.to_string())?;
        }
        if let Some(p) = u.cpu_rt_period {
            self.write("cpu", "cpu.rt_period_us", &p.to_string())?;
        }
        if let Some(r) = u.cpu_rt_runtime {
            self.write("cpu", "cpu.rt_runtime_us", &r.to_string())?;
        }
        if let Some(c) = &u.cpuset_cpus {
            self.write("cpuset", "cpuset.cpus", c)?;
        }
        if let Some(m) = &u.cpuset_mems {
            self.write("cpuset", "cpuset.mems", m)?;
        }
        self.write_memory_v1(u)?;
        if let Some(r) = u.memory_reservation {
            self.write("memory", "memory.soft_limit_in_bytes", &r.to_string())?;
        }
        if let Some(s) = u.memory_swappiness {
            self.write("memory", "memory.swappiness", &s.to_string())?;
        }
        if let Some(p) = u.pids_limit {
            self.write("pids", "pids.max", &pids_value(p))?;
        }
        if let Some(w) = u.blkio_weight {
            self.write("blkio", "blkio.weight", &w.to_string())?;
        }
        for (dev, w) in &u.blkio_weight_device {
            let (maj, min) = device_numbers(dev)?;
            self.write("blkio", "blkio.weight_device", &format!("{maj}:{min} {w}"))?;
        }
        for t in &u.throttles {
            let (maj, min) = device_numbers(&t.device)?;
            let file = format!("blkio.throttle.{}_device", t.kind.replace('-', "_"));
            self.write("blkio", &file, &format!("{maj}:{min} {}", t.rate))?;
        }
        Ok(())
    }

    /// The memory limit must never exceed the memory+swap limit, at any
    /// moment: which file goes first depends on whether the limits grow.
    fn write_memory_v1(&self, u: &ResourceUpdate) -> Result<()> {
        let mem = u.memory.map(|m| m.to_string());
        let swap = u.memory_swap.map(|s| s.to_string());
        match (mem, swap) {
            (Some(m), Some(s)) => {
                let first = self.write("memory", "memory.limit_in_bytes", &m);
                self.write("memory", "memory.memsw.limit_in_bytes", &s)?;
                if first.is_err() {
                    self.write("memory", "memory.limit_in_bytes", &m)?;
                }
                Ok(())
            }
            (Some(m), None) => self.write("memory", "memory.limit_in_bytes", &m),
            (None, Some(s)) => self.write("memory", "memory.memsw.limit_in_bytes", &s),
            (None, None) => Ok(()),
        }
    }

    fn write_v2(&self, u: &ResourceUpdate, o: &CreateOptions) -> Result<()> {
        if let Some(s) = u.cpu_shares {
            // The kernel's mapping of v1 shares (2..262144) to weights (1..10000).
            let weight = 1 + (s.clamp(2, 262_144) - 2) * 9999 / 262_142;
            self.write("", "cpu.weight", &weight.to_string())?;
        }
        let (quota, period) = u.cfs(o);
        if quota.is_some() || period.is_some() {
            let q = match quota {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".to_string(),
            };
            let p = period.unwrap_or(DEFAULT_PERIOD_US);
            self.write("", "cpu.max", &format!("{q} {p}"))?;
        }
        if let Some(c) = &u.cpuset_cpus {
            self.write("", "cpuset.cpus", c)?;
        }
        if let Some(m) = &u.cpuset_mems {
            self.write("", "cpuset.mems", m)?;
        }
        if let Some(m) = u.memory {
            self.write("", "memory.max", &m.to_string())?;
        }
        if let Some(s) = u.memory_swap {
            // v2 limits swap alone; the flag is memory plus swap.
            let value = match (s, u.memory.or(o.memory)) {
                (-1, _) => "max".to_string(),
                (s, Some(m)) => (s - m).max(0).to_string(),
                (s, None) => s.to_string(),
            };
            self.write("", "memory.swap.max", &value)?;
        }
        if let Some(r) = u.memory_reservation {
            self.write("", "memory.low", &r.to_string())?;
        }
        if let Some(p) = u.pids_limit {
            self.write("", "pids.max", &pids_value(p))?;
        }
        if let Some(w) = u.blkio_weight {
            self.write("", "io.bfq.weight", &format!("default {w}"))?;
        }
        for (dev, w) in &u.blkio_weight_device {
            let (maj, min) = device_numbers(dev)?;
            self.write("", "io.bfq.weight", &format!("{maj}:{min} {w}"))?;
        }
        for t in &u.throttles {
            let (maj, min) = device_numbers(&t.device)?;
            let key = match t.kind.as_str() {
                "read-bps" => "rbps",
                "write-bps" => "wbps",
                "read-iops" => "riops",
                _ => "wiops",
            };
            self.write("", "io.max", &format!("{maj}:{min} {key}={}", t.rate))?;
        }
        Ok(())
    }
}

fn pids_value(limit: i64) -> String {
    if limit <= 0 {
        "max".into()
    } else {
        limit.to_string()
    }
}

/// The major and minor numbers of a block device.
fn device_numbers(dev: &Path) -> Result<(u32, u32)> {
    let meta = std::fs::metadata(dev).map_err(io_err("reading the device", dev))?;
    Ok((
        rustix::fs::major(meta.rdev()),
        rustix::fs::minor(meta.rdev()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applying_keeps_what_is_not_given() {
        let mut o = CreateOptions {
            memory: Some(1 << 30),
            cpu_shares: Some(100),
            ..Default::default()
        };
        let u = ResourceUpdate {
            cpu_shares: Some(512),
            pids_limit: Some(50),
            ..Default::default()
        };
        u.apply(&mut o);
        assert_eq!(
            (o.memory, o.cpu_shares, o.pids_limit),
            (Some(1 << 30), Some(512), Some(50))
        );
        assert!(ResourceUpdate::default().is_empty() && !u.is_empty());
    }

    #[test]
    fn cpus_become_a_quota_over_the_period() {
        let o = CreateOptions::default();
        let u = ResourceUpdate {
            cpus: Some(1.5),
            ..Default::default()
        };
        assert_eq!(u.cfs(&o), (Some(150_000), Some(100_000)));
        let u = ResourceUpdate {
            cpus: Some(2.0),
            cpu_period: Some(50_000),
            ..Default::default()
        };
        assert_eq!(u.cfs(&o), (Some(100_000), Some(50_000)));
        let none = ResourceUpdate {
            cpus: Some(0.0),
            ..Default::default()
        };
        assert_eq!(none.cfs(&o).0, Some(-1));
    }

    #[test]
    fn swap_is_at_least_the_memory() {
        let o = CreateOptions {
            memory: Some(1000),
            ..Default::default()
        };
        let low = ResourceUpdate {
            memory_swap: Some(500),
            ..Default::default()
        };
        assert!(check_swap(&low, &o).is_err());
        assert!(check_swap(&low, &CreateOptions::default()).is_err());
        let ok = ResourceUpdate {
            memory: Some(400),
            memory_swap: Some(500),
            ..Default::default()
        };
        assert!(check_swap(&ok, &o).is_ok());
    }
}

//! The pod's own cgroup. As podman with the cgroupfs manager, a pod whose
//! containers share its parent (`--share-parent`, the default) gets the
//! cgroup `PARENT/POD-ID`; its containers (the infra container too) are made
//! below it as `hoist-CONTAINER-ID`, and the pod's resource limits (`pod
//! create --memory`, `--cpus`, ...) are set on it, so they bound the pod's
//! containers together.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io_err, PodError, Result};
use crate::Pod;

/// Where pod cgroups go without `--cgroup-parent`.
pub const DEFAULT_PARENT: &str = "/hoist";

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Stands for the v1 per-device weight file, which differs by scheduler.
const WEIGHT_DEVICE: &str = "blkio.weight_device";

/// podman's CPU period for `--cpus`.
pub const CPU_PERIOD: u64 = 100_000;

/// The limits of a pod's cgroup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// Bytes (`--memory`).
    pub memory: Option<i64>,
    /// Memory plus swap in bytes, -1 for unlimited (`--memory-swap`;
    /// twice `--memory` when only that is given, as podman).
    pub memory_swap: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub blkio_weight: Option<u16>,
    /// `--device-read-bps` and `--device-write-bps`.
    pub throttle: Vec<Throttle>,
    /// `--blkio-weight-device`.
    pub weight_device: Vec<WeightDevice>,
}

/// One block device's I/O weight in the pod (`DEVICE:WEIGHT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightDevice {
    pub device: PathBuf,
    pub weight: u16,
}

impl std::str::FromStr for WeightDevice {
    type Err = PodError;

    /// `--blkio-weight-device DEVICE:WEIGHT`, checked as podman checks it
    /// (the device must exist now, the weight be 10 to 1000).
    fn from_str(v: &str) -> Result<WeightDevice> {
        let (device, weight) = v
            .rsplit_once(':')
            .filter(|(d, _)| d.starts_with('/'))
            .ok_or_else(|| {
                PodError::Invalid(format!(
                    "bad format: {v} (use --blkio-weight-device DEVICE:WEIGHT, e.g. /dev/sda:200)"
                ))
            })?;
        let weight = weight
            .parse::<u16>()
            .ok()
            .filter(|w| (10..=1000).contains(w))
            .ok_or_else(|| {
                PodError::Invalid(format!(
                    "invalid weight for device: {v} (use a weight from 10 to 1000)"
                ))
            })?;
        std::fs::metadata(device).map_err(|e| {
            PodError::Invalid(format!(
                "failed to inspect '{device}' in --blkio-weight-device: {e}"
            ))
        })?;
        Ok(WeightDevice {
            device: device.into(),
            weight,
        })
    }
}

/// The `MAJOR:MINOR` of device node `path`.
fn device_numbers(path: &Path) -> Result<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(io_err("reading", path))?;
    let rdev = meta.rdev();
    Ok(format!("{}:{}", libc::major(rdev), libc::minor(rdev)))
}

/// The v1 file for per-device weights: BFQ's when the kernel has it, else
/// CFQ's. With neither (no proportional I/O scheduler), the weight cannot
/// be set, and the pod is refused as podman refuses it.
fn v1_weight_device_file(dir: &Path) -> Result<PathBuf> {
    ["blkio.bfq.weight_device", "blkio.weight_device"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
        .ok_or_else(|| {
            PodError::Invalid(format!(
                "setting --blkio-weight-device on the pod's cgroup {}: this kernel has neither blkio.bfq.weight_device nor blkio.weight_device (no BFQ or CFQ I/O scheduler); leave the flag out",
                dir.display()
            ))
        })
}

/// One block device rate limit of the pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throttle {
    /// The device node (`/dev/sda`); its numbers are read when the limit
    /// is set.
    pub device: PathBuf,
    /// `read` or `write`.
    pub kind: String,
    /// Bytes per second.
    pub rate: u64,
}

impl Throttle {
    /// The device's `MAJOR:MINOR`.
    fn numbers(&self) -> Result<String> {
        device_numbers(&self.device)
    }
}

impl Resources {
    /// `--cpus N`: a quota of N periods.
    pub fn set_cpus(&mut self, cpus: f64) {
        self.cpu_period = Some(CPU_PERIOD);
        self.cpu_quota = Some((cpus * CPU_PERIOD as f64).round() as i64);
    }

    /// `--memory` and `--memory-swap` as podman combines them.
    pub fn set_memory(&mut self, memory: Option<i64>, swap: Option<i64>) {
        self.memory = memory;
        self.memory_swap = match (memory, swap) {
            (_, Some(s)) => Some(s),
            (Some(m), None) if m > 0 => Some(2 * m),
            _ => None,
        };
    }

    /// `self` with the limits `other` sets (`pod clone --memory ...`).
    pub fn merge(&mut self, other: &Resources) {
        if other.memory.is_some() || other.memory_swap.is_some() {
            self.memory = other.memory.or(self.memory);
            self.memory_swap = other.memory_swap;
        }
        if other.cpu_quota.is_some() {
            self.cpu_period = other.cpu_period;
            self.cpu_quota = other.cpu_quota;
        }
        self.cpu_shares = other.cpu_shares.or(self.cpu_shares);
        self.cpuset_cpus = other.cpuset_cpus.clone().or(self.cpuset_cpus.take());
        self.cpuset_mems = other.cpuset_mems.clone().or(self.cpuset_mems.take());
        self.blkio_weight = other.blkio_weight.or(self.blkio_weight);
        if !other.throttle.is_empty() {
            self.throttle = other.throttle.clone();
        }
        if !other.weight_device.is_empty() {
            self.weight_device = other.weight_device.clone();
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Resources::default()
    }

    /// The v1 files and values to write, in an order the kernel accepts
    /// (the memory limit before the memory+swap limit).
    fn v1_writes(&self) -> Result<Vec<(&'static str, &'static str, String)>> {
        let mut w = Vec::new();
        if let Some(m) = self.memory {
            w.push(("memory", "memory.limit_in_bytes", m.to_string()));
        }
        if let Some(s) = self.memory_swap {
            w.push(("memory", "memory.memsw.limit_in_bytes", s.to_string()));
        }
        if let Some(p) = self.cpu_period {
            w.push(("cpu", "cpu.cfs_period_us", p.to_string()));
        }
        if let Some(q) = self.cpu_quota {
            w.push(("cpu", "cpu.cfs_quota_us", q.to_string()));
        }
        if let Some(s) = self.cpu_shares {
            w.push(("cpu", "cpu.shares", s.to_string()));
        }
        if let Some(c) = &self.cpuset_cpus {
            w.push(("cpuset", "cpuset.cpus", c.clone()));
        }
        if let Some(m) = &self.cpuset_mems {
            w.push(("cpuset", "cpuset.mems", m.clone()));
        }
        if let Some(b) = self.blkio_weight {
            w.push(("blkio", "blkio.weight", b.to_string()));
        }
        for t in &self.throttle {
            let file = if t.kind == "read" {
                "blkio.throttle.read_bps_device"
            } else {
                "blkio.throttle.write_bps_device"
            };
            w.push(("blkio", file, format!("{} {}", t.numbers()?, t.rate)));
        }
        for d in &self.weight_device {
            // The file is picked per cgroup by `ensure`.
            let line = format!("{} {}", device_numbers(&d.device)?, d.weight);
            w.push(("blkio", WEIGHT_DEVICE, line));
        }
        Ok(w)
    }

    /// The same limits in cgroup v2 files.
    fn v2_writes(&self) -> Result<Vec<(&'static str, String)>> {
        let mut w = Vec::new();
        if let Some(m) = self.memory {
            w.push(("memory.max", m.to_string()));
        }
        if let (Some(s), Some(m)) = (self.memory_swap, self.memory) {
            let swap = if s < 0 {
                "max".into()
            } else {
                (s - m).to_string()
            };
            w.push(("memory.swap.max", swap));
        }
        if let Some(q) = self.cpu_quota {
            let period = self.cpu_period.unwrap_or(CPU_PERIOD);
            w.push(("cpu.max", format!("{q} {period}")));
        }
        if let Some(s) = self.cpu_shares {
            // The kernel's conversion of v1 shares (2..262144) to weights.
            let weight = 1 + ((s.clamp(2, 262_144) - 2) * 9999) / 262_142;
            w.push(("cpu.weight", weight.to_string()));
        }
        if let Some(c) = &self.cpuset_cpus {
            w.push(("cpuset.cpus", c.clone()));
        }
        if let Some(m) = &self.cpuset_mems {
            w.push(("cpuset.mems", m.clone()));
        }
        if let Some(b) = self.blkio_weight {
            w.push(("io.bfq.weight", b.to_string()));
        }
        for t in &self.throttle {
            let key = if t.kind == "read" { "rbps" } else { "wbps" };
            w.push(("io.max", format!("{} {key}={}", t.numbers()?, t.rate)));
        }
        for d in &self.weight_device {
            let line = format!("{} {}", device_numbers(&d.device)?, d.weight);
            w.push(("io.bfq.weight", line));
        }
        Ok(w)
    }
}

/// `--cgroup-parent`: a path below the cgroup root, never out of it.
pub fn check_parent(parent: &str) -> Result<()> {
    if parent.split('/').any(|c| c == "..") {
        return Err(PodError::Invalid(format!(
            "invalid --cgroup-parent {parent:?}: name a cgroup path without \"..\""
        )));
    }
    Ok(())
}

fn unified() -> bool {
    Path::new(CGROUP_ROOT).join("cgroup.controllers").exists()
}

/// The v1 hierarchies (controller name, mount point), named ones included;
/// the hybrid layout's `unified` mount is left to the runtime.
fn v1_hierarchies() -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(CGROUP_ROOT) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(n, p)| n != "unified" && p.join("cgroup.procs").exists())
        .collect();
    out.sort();
    out
}

/// Creates `rel` under hierarchy `base` level by level; in the cpuset
/// hierarchy each new level gets its parent's CPUs and memory nodes, which
/// a v1 cpuset needs before it can hold a process.
fn make_dirs(base: &Path, rel: &str, cpuset: bool) -> Result<PathBuf> {
    let mut dir = base.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        let parent = dir.clone();
        dir.push(part);
        if dir.exists() {
            continue;
        }
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("creating the pod's cgroup", &dir)(e)),
        }
        if cpuset {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let v = std::fs::read_to_string(parent.join(f)).unwrap_or_default();
                if !v.trim().is_empty() {
                    write(&dir.join(f), v.trim())?;
                }
            }
        }
    }
    Ok(dir)
}

fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| {
        PodError::Invalid(format!(
            "setting the pod's cgroup limit {} to {value}: {e}",
            path.display()
        ))
    })
}

/// Makes the pod's cgroup (when it has one) and sets its limits; run at
/// `pod create` and again before its containers start (cgroups do not
/// survive a reboot).
pub fn ensure(pod: &Pod) -> Result<()> {
    let Some(rel) = pod.cgroup_path() else {
        return Ok(());
    };
    if unified() {
        return ensure_v2(pod, &rel);
    }
    let writes = pod.resources.v1_writes()?;
    for (name, base) in v1_hierarchies() {
        let dir = make_dirs(&base, &rel, name == "cpuset")?;
        for (_, file, value) in writes.iter().filter(|(c, _, _)| *c == name) {
            let path = if *file == WEIGHT_DEVICE {
                v1_weight_device_file(&dir)?
            } else {
                dir.join(file)
            };
            // Swap accounting may be off (no memsw files): podman then
            // ignores the swap limit too.
            if *file == "memory.memsw.limit_in_bytes" && !path.exists() {
                continue;
            }
            write(&path, value)?;
        }
    }
    Ok(())
}

fn ensure_v2(pod: &Pod, rel: &str) -> Result<()> {
    let root = Path::new(CGROUP_ROOT);
    let dir = make_dirs(root, rel, false)?;
    // Each level above the pod must hand its controllers down.
    let mut level = root.to_path_buf();
    let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        for c in controllers.split_whitespace() {
            let _ = std::fs::write(level.join("cgroup.subtree_control"), format!("+{c}"));
        }
        level.push(part);
    }
    for (file, value) in pod.resources.v2_writes()? {
        write(&dir.join(file), &value)?;
    }
    Ok(())
}

/// Removes the pod's cgroup once its containers are gone, killing what is
/// still in it.
pub fn remove(pod: &Pod) {
    let Some(rel) = pod.cgroup_path() else {
        return;
    };
    // From every hierarchy, with what is left below it (the cgroups of
    // containers that never ran) first. Best effort, as the pod's record
    // is gone already.
    let _ = hoist_runtime::cgroup_removal::remove(Path::new(&rel));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_stay_below_the_root() {
        assert!(check_parent("/machine.slice/x").is_ok());
        assert!(check_parent("a/../../etc").is_err());
    }

    #[test]
    fn podman_limits() {
        let mut r = Resources::default();
        r.set_cpus(1.5);
        r.set_memory(Some(100 << 20), None);
        assert_eq!(r.cpu_quota, Some(150_000));
        assert_eq!(r.cpu_period, Some(100_000));
        assert_eq!(r.memory_swap, Some(200 << 20));
        let w = r.v1_writes().unwrap();
        assert_eq!(w[0].1, "memory.limit_in_bytes");
        assert_eq!(w[1].1, "memory.memsw.limit_in_bytes");
        assert!(r
            .v2_writes()
            .unwrap()
            .contains(&("cpu.max", "150000 100000".into())));
        r.throttle.push(Throttle {
            device: "/dev/null".into(),
            kind: "read".into(),
            rate: 1 << 20,
        });
        let w = r.v1_writes().unwrap();
        assert!(w.contains(&(
            "blkio",
            "blkio.throttle.read_bps_device",
            "1:3 1048576".into()
        )));
    }

    #[test]
    fn weight_devices_as_podman_checks_them() {
        let d: WeightDevice = "/dev/null:300".parse().unwrap();
        assert_eq!(d.weight, 300);
        let r = Resources {
            weight_device: vec![d],
            ..Default::default()
        };
        assert!(r
            .v1_writes()
            .unwrap()
            .contains(&("blkio", WEIGHT_DEVICE, "1:3 300".into())));
        assert!(r
            .v2_writes()
            .unwrap()
            .contains(&("io.bfq.weight", "1:3 300".into())));
        for bad in ["/dev/null:5", "/dev/null:x", "null", "/dev/no-such:300"] {
            assert!(bad.parse::<WeightDevice>().is_err(), "{bad}");
        }
    }
}

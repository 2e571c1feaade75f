//! The `pod create` (and `pod clone`) flags that give a pod resources and
//! what every container of it inherits: limits on the pod's cgroup,
//! volumes, devices, sysctls and security options of the infra container.

use anyhow::{bail, Result};
use clap::Args;
use hoist_container::CreateOptions;
use hoist_pod::Resources;

use super::container::run::invalid;

#[derive(Debug, Args, Default, Clone)]
pub struct PodResourceArgs {
    /// Make the pod's cgroup the parent of its members' cgroups (default true).
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub share_parent: Option<bool>,
    /// Memory limit of the pod: <number>[<unit>] (b, k, m, g).
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Memory plus swap limit of the pod; -1 for unlimited swap.
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Number of CPUs of the pod.
    #[arg(long)]
    pub cpus: Option<f64>,
    /// The pod's CPU weight against others (cpu.shares; 1024 is the default).
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<u64>,
    /// CPUs in which the pod may run (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes in which the pod may run (0-3, 0,1).
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Block IO weight (10 to 1000).
    #[arg(long)]
    pub blkio_weight: Option<String>,
    /// Block IO weight of a device in the pod: DEVICE_NAME:WEIGHT.
    #[arg(long)]
    pub blkio_weight_device: Vec<String>,
    /// Limit the pod's read rate from a device (e.g. /dev/sda:1mb).
    #[arg(long)]
    pub device_read_bps: Vec<String>,
    /// Limit the pod's write rate to a device (e.g. /dev/sda:1mb).
    #[arg(long)]
    pub device_write_bps: Vec<String>,
    /// Bind mount a volume into every container of the pod.
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Mount the volumes of these containers into every container of the pod.
    #[arg(long)]
    pub volumes_from: Vec<String>,
    /// Add a host device to every container of the pod.
    #[arg(long)]
    pub device: Vec<String>,
    /// Security options of the infra container.
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Sysctl options of the infra container (its namespaces are the pod's).
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// User namespace of the pod (only the host's is supported).
    #[arg(long)]
    pub userns: Option<String>,
    /// Size of /dev/shm of the pod's IPC namespace: <number>[<unit>].
    #[arg(long)]
    pub shm_size: Option<String>,
    /// ID maps of a user namespace (refused, as --userns).
    #[arg(long)]
    pub uidmap: Vec<String>,
    #[arg(long)]
    pub gidmap: Vec<String>,
    #[arg(long)]
    pub subuidname: Option<String>,
    #[arg(long)]
    pub subgidname: Option<String>,
    /// Where the infra container's monitor writes its PID.
    #[arg(long)]
    pub infra_conmon_pidfile: Option<std::path::PathBuf>,
}

/// `pod create`'s flags for the pod's network interface (its infra
/// container's).
#[derive(Debug, Args, Default, Clone)]
pub struct PodNetArgs {
    /// A static IPv4 address of the pod.
    #[arg(long)]
    pub ip: Option<String>,
    /// A static IPv6 address of the pod.
    #[arg(long)]
    pub ip6: Option<String>,
    /// The pod's MAC address (e.g. 92:d0:c6:0a:29:33).
    #[arg(long)]
    pub mac_address: Option<String>,
    /// Network-scoped aliases of the pod.
    #[arg(long)]
    pub network_alias: Vec<String>,
    /// Do not create /etc/hosts for the pod.
    #[arg(long)]
    pub no_hosts: bool,
}

impl PodNetArgs {
    pub fn apply(&self, o: &mut CreateOptions) -> Result<()> {
        super::container::run_flags::apply_addressing(
            [self.ip.as_deref(), self.ip6.as_deref()],
            self.mac_address.as_deref(),
            &self.network_alias,
            self.no_hosts,
            o,
        )
    }
}

fn size(flag: &str, v: &str) -> Result<i64> {
    let bytes = hoist_container::parse_size(v)
        .map_err(|e| invalid(format!("invalid {flag} value: {e}")))?;
    i64::try_from(bytes).map_err(|_| invalid(format!("invalid {flag} value {v:?}: too large")))
}

/// `--device-read-bps DEVICE:RATE` and `--device-write-bps`.
fn throttle(kind: &str, v: &str) -> Result<hoist_pod::cgroup::Throttle> {
    let bad = |why: &str| {
        invalid(format!(
            "invalid --device-{kind}-bps {v:?}: {why} (use /dev/DEVICE:RATE, e.g. /dev/sda:1mb)"
        ))
    };
    let (device, rate) = v.rsplit_once(':').ok_or_else(|| bad("no rate"))?;
    if !device.starts_with("/dev/") {
        return Err(bad("the device must be a path under /dev"));
    }
    let rate = hoist_container::parse_size(rate).map_err(|e| bad(&e.to_string()))?;
    Ok(hoist_pod::cgroup::Throttle {
        device: device.into(),
        kind: kind.to_string(),
        rate,
    })
}

impl PodResourceArgs {
    /// The limits of the pod's cgroup.
    pub fn resources(&self) -> Result<Resources> {
        let mut r = Resources::default();
        let memory = self
            .memory
            .as_deref()
            .map(|m| size("--memory", m))
            .transpose()?;
        let swap = match self.memory_swap.as_deref() {
            Some("-1") => Some(-1),
            Some(s) => Some(size("--memory-swap", s)?),
            None => None,
        };
        if let (Some(m), Some(s)) = (memory, swap) {
            if s >= 0 && s < m {
                bail!(invalid(
                    "must specify a memory-swap value greater than or equal to the memory limit: invalid argument".into()
                ));
            }
        }
        r.set_memory(memory, swap);
        if let Some(c) = self.cpus {
            if !c.is_finite() || c <= 0.0 {
                bail!(invalid(format!(
                    "invalid --cpus value {c}: use a positive number of CPUs such as 0.5 or 2"
                )));
            }
            r.set_cpus(c);
        }
        r.cpu_shares = self.cpu_shares;
        r.cpuset_cpus = self.cpuset_cpus.clone();
        r.cpuset_mems = self.cpuset_mems.clone();
        if let Some(w) = &self.blkio_weight {
            match w.parse::<u16>() {
                Ok(n) if (10..=1000).contains(&n) => r.blkio_weight = Some(n),
                _ => bail!(invalid(format!(
                    "invalid --blkio-weight {w:?}: use a number between 10 and 1000"
                ))),
            }
        }
        for (kind, list) in [
            ("read", &self.device_read_bps),
            ("write", &self.device_write_bps),
        ] {
            for v in list {
                r.throttle.push(throttle(kind, v)?);
            }
        }
        for v in &self.blkio_weight_device {
            r.weight_device.push(
                v.parse()
                    .map_err(|e: hoist_pod::PodError| invalid(e.to_string()))?,
            );
        }
        Ok(r)
    }

    /// The infra container's share: mounts, devices, sysctls, security.
    pub fn apply(&self, o: &mut CreateOptions) -> Result<()> {
        if let Some(u) = &self.userns {
            hoist_container::run_flags::check_pod_userns(u).map_err(|e| invalid(e.to_string()))?;
        }
        if self.subuidname.is_some() || self.subgidname.is_some() {
            bail!(invalid(
                "--subuidname and --subgidname are not supported by hoist yet: give the maps with --uidmap and --gidmap".into()
            ));
        }
        // The infra container's user namespace is the pod's.
        let rf = &mut o.run_flags;
        rf.uid_map = hoist_container::run_flags::id_maps("--uidmap", &self.uidmap)
            .map_err(|e| invalid(e.to_string()))?;
        rf.gid_map = hoist_container::run_flags::id_maps("--gidmap", &self.gidmap)
            .map_err(|e| invalid(e.to_string()))?;
        rf.check_root_mapped().map_err(|e| invalid(e.to_string()))?;
        if let Some(v) = &self.shm_size {
            o.shm_size = Some(size("--shm-size", v)? as u64);
        }
        o.monitor_pidfile = self.infra_conmon_pidfile.clone();
        for v in &self.volume {
            o.mounts
                .push(hoist_container::parse_volume_flag(v).map_err(|e| invalid(e.to_string()))?);
        }
        o.volumes_from = self.volumes_from.clone();
        o.devices = self.device.clone();
        for kv in &self.sysctl {
            let Some((k, v)) = kv.split_once('=') else {
                bail!(invalid(format!(
                    "{kv} is invalid, sysctl values must be in the form of KEY=VALUE"
                )));
            };
            o.sysctls.insert(k.to_string(), v.to_string());
        }
        for s in &self.security_opt {
            match s.split_once(['=', ':']) {
                Some(("seccomp", v)) => o.seccomp = Some(v.to_string()),
                Some(("no-new-privileges", v)) => o.no_new_privileges = v != "false",
                None if s == "no-new-privileges" => o.no_new_privileges = true,
                Some(("label", _)) | Some(("apparmor", _)) => {}
                _ => bail!(invalid(format!(
                    "unsupported --security-opt {s:?}: use seccomp=unconfined|PROFILE or no-new-privileges"
                ))),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_as_podman() {
        let a = PodResourceArgs {
            memory: Some("100m".into()),
            cpus: Some(1.5),
            cpu_shares: Some(512),
            ..Default::default()
        };
        let r = a.resources().unwrap();
        assert_eq!(r.memory, Some(100 << 20));
        assert_eq!(r.memory_swap, Some(200 << 20));
        assert_eq!(r.cpu_quota, Some(150_000));
        let bad = PodResourceArgs {
            memory: Some("100m".into()),
            memory_swap: Some("50m".into()),
            ..Default::default()
        };
        assert!(bad.resources().is_err());
        let mut o = CreateOptions::default();
        let refused = PodResourceArgs {
            userns: Some("auto".into()),
            ..Default::default()
        };
        assert!(refused.apply(&mut o).is_err());
    }
}

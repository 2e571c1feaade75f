//! cgroup resources and rlimits.

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxMemoryBuilder, LinuxPidsBuilder,
    LinuxResources, LinuxResourcesBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
};

use super::defaults::{DEFAULT_NOFILE, DEFAULT_NPROC};
use super::{HostFacts, SpecError, SpecOptions};

/// The CFS period `--cpus` quotas are expressed over (podman's: 100ms).
pub const CPU_PERIOD_US: u64 = 100_000;

pub(crate) fn resources(opts: &SpecOptions) -> Result<LinuxResources, SpecError> {
    // Deny every device; runtimes add the standard ones (null, zero, tty...).
    let deny_all = LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()?;
    let mut b = LinuxResourcesBuilder::default();
    let mut rules = vec![deny_all];
    if opts.privileged {
        // Every device, as podman gives a privileged container.
        rules.push(
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .access("rwm")
                .build()?,
        );
    }
    rules.extend(super::devices::cgroup_rules(
        &opts.devices,
        &opts.device_rules,
    )?);
    b = b.devices(rules);
    if let Some(io) = super::devices::block_io(&opts.blkio)? {
        b = b.block_io(io);
    }
    // podman's --memory 0: no limit.
    let memory = opts.memory.filter(|m| *m != 0);
    let t = &opts.tuning;
    if let Some(w) = t.blkio_weight {
        let mut io = super::devices::block_io(&opts.blkio)?.unwrap_or_default();
        io.set_weight(Some(w));
        b = b.block_io(io);
    }
    if memory.is_some()
        || opts.memory_swap.is_some()
        || t.memory_reservation.is_some()
        || t.memory_swappiness.is_some()
        || t.oom_kill_disable
    {
        let mut m = LinuxMemoryBuilder::default();
        if let Some(sw) = t.memory_swappiness {
            m = m.swappiness(sw);
        }
        if t.oom_kill_disable {
            m = m.disable_oom_killer(true);
        }
        if let Some(r) = t.memory_reservation {
            m = m.reservation(r);
        }
        if let Some(limit) = memory {
            if limit < 0 {
                return Err(SpecError::BadValue {
                    what: "memory limit",
                    value: limit.to_string(),
                    reason: "it must be a positive number of bytes".into(),
                });
            }
            m = m.limit(limit);
        }
        if let Some(swap) = opts.memory_swap {
            if swap != -1 && memory.is_some_and(|l| swap < l) {
                return Err(SpecError::BadValue {
                    what: "memory+swap limit",
                    value: swap.to_string(),
                    reason: "it must be at least the memory limit, or -1".into(),
                });
            }
            m = m.swap(swap);
        }
        b = b.memory(m.build()?);
    }
    let tuned_cpu = t.cpu_rt_period.is_some()
        || t.cpu_rt_runtime.is_some()
        || t.cpu_shares.is_some()
        || t.cpu_period.is_some()
        || t.cpu_quota.is_some()
        || t.cpuset_cpus.is_some()
        || t.cpuset_mems.is_some();
    if tuned_cpu || opts.cpus.is_some() {
        let mut c = LinuxCpuBuilder::default();
        if let Some(s) = t.cpu_shares {
            c = c.shares(s);
        }
        if let Some(p) = t.cpu_rt_period {
            c = c.realtime_period(p);
        }
        if let Some(r) = t.cpu_rt_runtime {
            c = c.realtime_runtime(r);
        }
        if let Some(p) = t.cpu_period {
            c = c.period(p);
        }
        if let Some(q) = t.cpu_quota {
            c = c.quota(q);
        }
        if let Some(s) = &t.cpuset_cpus {
            c = c.cpus(s.clone());
        }
        if let Some(s) = &t.cpuset_mems {
            c = c.mems(s.clone());
        }
        // --cpus is a quota over podman's period and wins over both.
        if let Some(cpus) = opts.cpus {
            if !(cpus.is_finite() && cpus > 0.0) {
                return Err(SpecError::BadCpus(cpus));
            }
            let quota = (cpus * CPU_PERIOD_US as f64).round() as i64;
            c = c.quota(quota.max(1000)).period(CPU_PERIOD_US);
        }
        b = b.cpu(c.build()?);
    }
    if let Some(pids) = opts.pids_limit {
        b = b.pids(LinuxPidsBuilder::default().limit(pids).build()?);
    }
    Ok(b.build()?)
}

fn rlimit_type(name: &str) -> PosixRlimitType {
    let json = format!("\"RLIMIT_{}\"", name.to_ascii_uppercase());
    serde_json::from_str(&json).expect("every ULIMIT_NAMES entry is an OCI rlimit type")
}

fn rlimit(name: &str, soft: u64, hard: u64) -> Result<PosixRlimit, SpecError> {
    Ok(PosixRlimitBuilder::default()
        .typ(rlimit_type(name))
        .soft(soft)
        .hard(hard)
        .build()?)
}

/// podman's nofile/nproc defaults clamped to this process's hard limits
/// (raising a hard limit needs CAP_SYS_RESOURCE, which hosts such as this
/// one do not give), then the explicit `--ulimit`s, which are refused when
/// above the hard limit and not raisable.
pub(crate) fn rlimits(opts: &SpecOptions, host: &HostFacts) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out = Vec::new();
    for (name, want) in [("nofile", DEFAULT_NOFILE), ("nproc", DEFAULT_NPROC)] {
        if opts.ulimits.iter().any(|u| u.name == name) {
            continue;
        }
        let v = if host.can_raise_rlimits {
            want
        } else {
            want.min(host.hard_limit(name))
        };
        out.push(rlimit(name, v, v)?);
    }
    for u in &opts.ulimits {
        let hard = host.hard_limit(&u.name);
        if u.hard > hard && !host.can_raise_rlimits {
            return Err(SpecError::UlimitAboveHard {
                name: u.name.clone(),
                requested: u.hard,
                hard,
            });
        }
        out.push(rlimit(&u.name, u.soft, u.hard)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Ulimit;
    use std::collections::BTreeMap;

    fn host(nofile: u64, nproc: u64, raise: bool) -> HostFacts {
        HostFacts {
            cap_bounding: u64::MAX,
            can_raise_rlimits: raise,
            hard_limits: BTreeMap::from([("nofile".into(), nofile), ("nproc".into(), nproc)]),
            cgroup_v2: false,
        }
    }

    #[test]
    fn default_rlimits_clamped_to_hard() {
        let r = rlimits(&SpecOptions::default(), &host(20000, 96365, false)).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].typ(), PosixRlimitType::RlimitNofile);
        assert_eq!((r[0].soft(), r[0].hard()), (20000, 20000));
        assert_eq!(r[1].typ(), PosixRlimitType::RlimitNproc);
        assert_eq!((r[1].soft(), r[1].hard()), (96365, 96365));
        // With CAP_SYS_RESOURCE podman's values are used as they are.
        let r = rlimits(&SpecOptions::default(), &host(20000, 96365, true)).unwrap();
        assert_eq!(r[0].hard(), DEFAULT_NOFILE);
        assert_eq!(r[1].hard(), DEFAULT_NPROC);
        // Lower hard limits than podman's default are never raised.
        let r = rlimits(&SpecOptions::default(), &host(u64::MAX, u64::MAX, false)).unwrap();
        assert_eq!(r[0].hard(), DEFAULT_NOFILE);
    }

    #[test]
    fn explicit_ulimits_replace_defaults_and_are_checked() {
        let mut o = SpecOptions::default();
        o.ulimits.push("nofile=100:200".parse::<Ulimit>().unwrap());
        o.ulimits.push("core=0".parse::<Ulimit>().unwrap());
        let r = rlimits(&o, &host(20000, 500, false)).unwrap();
        let kinds: Vec<_> = r.iter().map(|l| l.typ()).collect();
        assert_eq!(
            kinds,
            [
                PosixRlimitType::RlimitNproc,
                PosixRlimitType::RlimitNofile,
                PosixRlimitType::RlimitCore
            ]
        );
        assert_eq!((r[1].soft(), r[1].hard()), (100, 200));
        o.ulimits = vec!["nofile=30000".parse().unwrap()];
        assert!(matches!(
            rlimits(&o, &host(20000, 500, false)),
            Err(SpecError::UlimitAboveHard { hard: 20000, .. })
        ));
    }

    #[test]
    fn resources_from_flags() {
        let o = SpecOptions {
            memory: Some(64 << 20),
            cpus: Some(1.5),
            pids_limit: Some(100),
            ..Default::default()
        };
        let r = resources(&o).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(64 << 20));
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!((cpu.quota(), cpu.period()), (Some(150_000), Some(100_000)));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 100);
        let dev = &r.devices().as_ref().unwrap()[0];
        assert!(!dev.allow());
        assert_eq!(dev.access().as_deref(), Some("rwm"));

        let bad = SpecOptions {
            cpus: Some(0.0),
            ..Default::default()
        };
        assert!(matches!(resources(&bad), Err(SpecError::BadCpus(_))));
        let bad = SpecOptions {
            memory: Some(100),
            memory_swap: Some(50),
            ..Default::default()
        };
        assert!(resources(&bad).is_err());
        let tuned = SpecOptions {
            cpus: Some(0.5),
            tuning: super::super::Tuning {
                cpu_shares: Some(512),
                cpuset_cpus: Some("0".into()),
                memory_reservation: Some(1 << 20),
                blkio_weight: Some(300),
                ..Default::default()
            },
            ..Default::default()
        };
        let r = resources(&tuned).unwrap();
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(
            (cpu.shares(), cpu.quota(), cpu.cpus().as_deref()),
            (Some(512), Some(50_000), Some("0"))
        );
        assert_eq!(r.memory().as_ref().unwrap().reservation(), Some(1 << 20));
        assert_eq!(r.block_io().as_ref().unwrap().weight(), Some(300));
        let none = resources(&SpecOptions::default()).unwrap();
        assert!(none.memory().is_none() && none.cpu().is_none() && none.pids().is_none());
    }
}

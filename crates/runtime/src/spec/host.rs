//! Facts about the calling process and host that shape a spec. Kept apart so
//! tests can build specs for other hosts.

use std::collections::BTreeMap;

use rustix::process::Resource;

use super::caps;
use super::options::ULIMIT_NAMES;

/// What [`super::build_spec_for_host`] needs to know about where the
/// container will start.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// Capability bounding set of this process (bit n = capability n).
    pub cap_bounding: u64,
    /// Whether this process may raise hard rlimits (CAP_SYS_RESOURCE).
    pub can_raise_rlimits: bool,
    /// Current hard limit per `--ulimit` name (`u64::MAX` = unlimited).
    pub hard_limits: BTreeMap<String, u64>,
    /// Whether /sys/fs/cgroup is the unified (v2) hierarchy.
    pub cgroup_v2: bool,
}

fn resource(name: &str) -> Resource {
    match name {
        "as" => Resource::As,
        "core" => Resource::Core,
        "cpu" => Resource::Cpu,
        "data" => Resource::Data,
        "fsize" => Resource::Fsize,
        "locks" => Resource::Locks,
        "memlock" => Resource::Memlock,
        "msgqueue" => Resource::Msgqueue,
        "nice" => Resource::Nice,
        "nofile" => Resource::Nofile,
        "nproc" => Resource::Nproc,
        "rss" => Resource::Rss,
        "rtprio" => Resource::Rtprio,
        "rttime" => Resource::Rttime,
        "sigpending" => Resource::Sigpending,
        "stack" => Resource::Stack,
        other => unreachable!("ULIMIT_NAMES has no {other}"),
    }
}

impl HostFacts {
    /// Reads the facts of this process and host.
    pub fn current() -> HostFacts {
        let hard_limits = ULIMIT_NAMES
            .iter()
            .map(|n| {
                let max = rustix::process::getrlimit(resource(n))
                    .maximum
                    .unwrap_or(u64::MAX);
                (n.to_string(), max)
            })
            .collect();
        HostFacts {
            cap_bounding: caps::current_bounding_set(),
            can_raise_rlimits: caps::has_effective("SYS_RESOURCE"),
            hard_limits,
            cgroup_v2: is_cgroup_v2(),
        }
    }

    /// The hard limit for `name` (unknown names count as unlimited).
    pub fn hard_limit(&self, name: &str) -> u64 {
        self.hard_limits.get(name).copied().unwrap_or(u64::MAX)
    }
}

fn is_cgroup_v2() -> bool {
    rustix::fs::statfs("/sys/fs/cgroup")
        .map(|s| s.f_type as u64 == libc::CGROUP2_SUPER_MAGIC as u64)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_reads_real_limits() {
        let h = HostFacts::current();
        let want = rustix::process::getrlimit(Resource::Nofile)
            .maximum
            .unwrap_or(u64::MAX);
        assert_eq!(h.hard_limit("nofile"), want);
        assert_eq!(h.hard_limits.len(), ULIMIT_NAMES.len());
        assert_ne!(h.cap_bounding, 0);
    }
}

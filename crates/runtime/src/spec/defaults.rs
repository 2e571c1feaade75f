//! podman's defaults for what a container sees of the kernel.

use oci_spec::runtime::{Mount, MountBuilder};

use super::SpecError;

/// `PATH` when the image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Paths hidden from unprivileged containers (a /dev/null or empty tmpfs is
/// mounted over them by the runtime).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/dev/block",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
    "/sys/fs/selinux",
];

/// Paths remounted read-only in unprivileged containers.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// podman's default RLIMIT_NOFILE and RLIMIT_NPROC (soft = hard) for a root
/// container; [`super::build_spec`] clamps them to this process's hard limits.
pub const DEFAULT_NOFILE: u64 = 1_048_576;
pub const DEFAULT_NPROC: u64 = 4_194_304;

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()?)
}

/// /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys and the cgroup tree.
/// `privileged` leaves /sys and the cgroups writable.
pub(crate) fn default_mounts(privileged: bool, shm_size: u64) -> Result<Vec<Mount>, SpecError> {
    let shm = format!("size={}k", shm_size.div_ceil(1024));
    let ro_or_rw = if privileged { "rw" } else { "ro" };
    Ok(vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", ro_or_rw],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", ro_or_rw],
        )?,
    ])
}

/// The tmpfs mounts podman adds to `--read-only` containers so programs
/// still find writable scratch space.
pub(crate) fn read_only_tmpfs_mounts() -> Result<Vec<Mount>, SpecError> {
    ["/tmp", "/var/tmp", "/run"]
        .iter()
        .map(|d| {
            mount(
                d,
                "tmpfs",
                "tmpfs",
                &["rw", "nosuid", "nodev", "mode=1777", "size=65536k"],
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mounts_shape() {
        let m = default_mounts(false, 64 << 20).unwrap();
        let dests: Vec<_> = m
            .iter()
            .map(|m| m.destination().to_str().unwrap().to_string())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys",
                "/sys/fs/cgroup"
            ]
        );
        let shm = &m[3];
        assert!(shm
            .options()
            .as_ref()
            .unwrap()
            .contains(&"size=65536k".to_string()));
        let sys = &m[5];
        assert!(sys.options().as_ref().unwrap().contains(&"ro".to_string()));
        let priv_sys = &default_mounts(true, 1 << 20).unwrap()[5];
        assert!(priv_sys
            .options()
            .as_ref()
            .unwrap()
            .contains(&"rw".to_string()));
    }

    #[test]
    fn shm_size_rounds_up_to_kib() {
        let m = default_mounts(false, 1000).unwrap();
        assert!(m[3]
            .options()
            .as_ref()
            .unwrap()
            .contains(&"size=1k".to_string()));
    }
}

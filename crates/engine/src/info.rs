//! `info` and `system check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::Result;
use crate::Engine;

/// What `info` reports that the caller chose (podman's global options),
/// each with hoist's default when not given.
#[derive(Debug, Clone, Default)]
pub struct InfoOptions {
    /// Where state that does not outlive a reboot goes (default: the store root).
    pub run_root: Option<PathBuf>,
    /// Where named volumes live (default: ROOT/volumes).
    pub volume_path: Option<PathBuf>,
    /// The storage driver name asked for (default: overlay, what hoist mounts).
    pub graph_driver: Option<String>,
    /// Storage driver options, KEY=VALUE.
    pub graph_options: Vec<String>,
    /// Events backend (default: file).
    pub events_backend: Option<String>,
    /// The default log driver of new containers (default: k8s-file).
    pub log_driver: Option<String>,
    /// Cgroup manager (default: cgroupfs, the way hoist's runtime manages cgroups).
    pub cgroup_manager: Option<String>,
}

/// The version of the podman command line hoist follows: its API version.
pub const PODMAN_API_VERSION: &str = "4.3.1";

/// hoist's version facts in podman's `version` layout (`Client` of
/// `podman version --format json`).
pub fn version_info() -> Value {
    let exe = std::env::current_exe().ok();
    // hoist records no build time; the binary's modification time is when
    // it was built or installed.
    let built = exe
        .as_deref()
        .and_then(|p| std::fs::metadata(p).ok())
        .and_then(|m| m.modified().ok())
        .map(chrono::DateTime::<chrono::Utc>::from)
        .unwrap_or_default();
    json!({
        "APIVersion": PODMAN_API_VERSION,
        "Version": env!("CARGO_PKG_VERSION"),
        "GoVersion": "none (hoist is written in Rust)",
        "GitCommit": option_env!("HOIST_GIT_COMMIT").unwrap_or(""),
        "BuiltTime": built.format("%a %b %e %H:%M:%S %Y").to_string(),
        "Built": built.timestamp(),
        "OsArch": format!("{}/{}", std::env::consts::OS, go_arch()),
        "Os": std::env::consts::OS,
    })
}

impl Engine {
    /// Host and store facts, in podman's `info` layout (keys and nesting of
    /// `podman info --format json`) where hoist has the fact.
    pub fn info(&self, opts: &InfoOptions) -> Result<Value> {
        let images = self.store.images()?;
        let uname = rustix::system::uname();
        let text = |s: &std::ffi::CStr| s.to_string_lossy().into_owned();
        let root = self.store.root();
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let version = env!("CARGO_PKG_VERSION");
        let meminfo = meminfo();
        let mem = |key: &str| meminfo.get(key).copied().unwrap_or(0);
        let cgroup_version = cgroup_version();
        let graph_options: BTreeMap<String, String> = opts
            .graph_options
            .iter()
            .filter(|o| !o.is_empty())
            .map(|o| match o.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (o.to_string(), String::new()),
            })
            .collect();
        Ok(json!({
            "host": {
                "arch": go_arch(),
                // hoist builds images itself (`pack`): its builder is this version.
                "buildahVersion": version,
                "cgroupManager": opts.cgroup_manager.as_deref().unwrap_or("cgroupfs"),
                "cgroupVersion": cgroup_version,
                "cgroupControllers": cgroup_controllers(cgroup_version),
                // hoist's own monitor process does conmon's job.
                "conmon": {
                    "package": format!("hoist {version} (built-in container monitor)"),
                    "path": exe,
                    "version": format!("hoist container-monitor {version}"),
                },
                "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
                "distribution": distribution(),
                "eventLogger": opts.events_backend.as_deref().unwrap_or("file"),
                "hostname": text(uname.nodename()),
                "kernel": text(uname.release()),
                "logDriver": opts.log_driver.as_deref().unwrap_or("k8s-file"),
                "memFree": mem("MemFree"),
                "memTotal": mem("MemTotal"),
                "networkBackend": "netavark",
                "ociRuntime": {
                    "name": "hoist",
                    "package": format!("hoist {version} (built-in OCI runtime)"),
                    "path": exe,
                    "version": format!("hoist oci {version}"),
                },
                "os": std::env::consts::OS,
                "security": {
                    "rootless": !is_root(),
                },
                "serviceIsRemote": false,
                "swapFree": mem("SwapFree"),
                "swapTotal": mem("SwapTotal"),
            },
            "store": {
                "graphDriverName": opts.graph_driver.as_deref().unwrap_or("overlay"),
                "graphOptions": graph_options,
                "graphRoot": root.display().to_string(),
                "graphStatus": {},
                "imageCopyTmpDir": std::env::var("TMPDIR").unwrap_or_else(|_| "/var/tmp".into()),
                "imageStore": {"number": images.len()},
                "runRoot": opts.run_root.as_deref().unwrap_or(root).display().to_string(),
                "volumePath": opts
                    .volume_path
                    .clone()
                    .unwrap_or_else(|| root.join("volumes"))
                    .display()
                    .to_string(),
            },
            "registries": {
                "search": hoist_image::registries::RegistriesConf::load_default()
                    .map(|c| c.unqualified_search)
                    .unwrap_or_default(),
            },
            "version": version_info(),
        }))
    }

    /// Verifies every blob and layer (layer files against what was
    /// unpacked) and finds objects no image uses; with `repair`, removes
    /// what is broken or unused (so the next pull fetches it again) and
    /// unpacks modified layers again. What containers use is kept.
    pub fn check(
        &self,
        repair: bool,
        usage: &dyn crate::ContainerUsage,
    ) -> Result<hoist_store::CheckReport> {
        let keep = self.container_references(usage)?;
        Ok(self.store.check_keeping(repair, &keep)?)
    }
}

/// Go's name for the architecture (`amd64`, `arm64`), which podman prints.
fn go_arch() -> String {
    hoist_image::platform::Platform::host().architecture
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// /proc/meminfo in bytes, by key.
fn meminfo() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    parse_meminfo(&text)
}

fn parse_meminfo(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (key, rest) = line.split_once(':')?;
            let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some((key.to_string(), kib * 1024))
        })
        .collect()
}

/// The distribution from /etc/os-release: `distribution`, `version`, `codename`.
fn distribution() -> Value {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    parse_os_release(&text)
}

fn parse_os_release(text: &str) -> Value {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let mut doc = json!({
        "distribution": field("ID"),
        "version": field("VERSION_ID"),
    });
    let codename = field("VERSION_CODENAME");
    if !codename.is_empty() {
        doc["codename"] = json!(codename);
    }
    doc
}

/// The controllers available: cgroup v2 lists them in cgroup.controllers,
/// v1 has one hierarchy per enabled controller in /proc/cgroups.
fn cgroup_controllers(version: &str) -> Vec<String> {
    if version == "v2" {
        return std::fs::read_to_string(Path::new("/sys/fs/cgroup/cgroup.controllers"))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
    }
    std::fs::read_to_string("/proc/cgroups")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[3] == "1").then(|| f[0].to_string())
        })
        .collect()
}

fn cgroup_version() -> &'static str {
    match rustix::fs::statfs("/sys/fs/cgroup") {
        // CGROUP2_SUPER_MAGIC
        Ok(s) if s.f_type as u64 == 0x6367_7270 => "v2",
        _ => "v1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_fields_become_podmans_distribution() {
        let d = parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        );
        assert_eq!(
            d,
            json!({"distribution": "debian", "version": "12", "codename": "bookworm"})
        );
        assert_eq!(parse_os_release("ID=alpine\n")["codename"], Value::Null);
    }

    #[test]
    fn meminfo_is_read_in_bytes() {
        let m = parse_meminfo("MemTotal:       1000 kB\nSwapFree:          0 kB\nbad line\n");
        assert_eq!(m["MemTotal"], 1_024_000);
        assert_eq!(m["SwapFree"], 0);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn version_info_has_podmans_client_keys() {
        let v = version_info();
        for key in [
            "APIVersion",
            "Version",
            "GoVersion",
            "GitCommit",
            "BuiltTime",
            "Built",
            "OsArch",
            "Os",
        ] {
            assert!(v.get(key).is_some(), "{key} missing from {v}");
        }
        assert!(
            v["Built"].as_i64().unwrap() > 1_546_300_800,
            "built before 2019: {v}"
        );
    }
}

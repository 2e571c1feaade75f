//! `info` and `system check`.

use serde_json::{json, Value};

use crate::error::Result;
use crate::Engine;

impl Engine {
    /// Host and store facts, in podman's `info` layout where fields exist.
    pub fn info(&self) -> Result<Value> {
        let images = self.store.images()?;
        let uname = rustix::system::uname();
        let text = |s: &std::ffi::CStr| s.to_string_lossy().into_owned();
        Ok(json!({
            "host": {
                "arch": hoist_image::platform::Platform::host().architecture,
                "os": std::env::consts::OS,
                "kernel": text(uname.release()),
                "hostname": text(uname.nodename()),
                "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
                "cgroupVersion": cgroup_version(),
            },
            "store": {
                "graphRoot": self.store.root().display().to_string(),
                "graphDriverName": "overlay",
                "imageStore": {"number": images.len()},
            },
            "registries": {
                "search": hoist_image::registries::RegistriesConf::load_default()
                    .map(|c| c.unqualified_search)
                    .unwrap_or_default(),
            },
            "version": {"Version": env!("CARGO_PKG_VERSION")},
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

fn cgroup_version() -> &'static str {
    match rustix::fs::statfs("/sys/fs/cgroup") {
        // CGROUP2_SUPER_MAGIC
        Ok(s) if s.f_type as u64 == 0x6367_7270 => "v2",
        _ => "v1",
    }
}

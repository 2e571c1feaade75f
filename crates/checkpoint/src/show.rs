//! `checkpoint show`: what a checkpoint archive holds, as checkpointctl
//! shows it (container, image, ID, runtime, created, engine, sizes).

use std::path::Path;

use serde::Serialize;

use crate::archive::{CHECKPOINT_DIR, CONFIG_DUMP, ROOTFS_DIFF, SPEC_DUMP};
use crate::error::{io_err, Result};

/// One archive's summary.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ShowInfo {
    pub container: String,
    pub image: String,
    pub id: String,
    pub runtime: String,
    pub created: String,
    pub engine: String,
    /// Bytes of CRIU's images (the `checkpoint/` directory).
    pub checkpoint_size: u64,
    /// Bytes of memory pages (`pages-*.img`).
    pub memory_pages_size: u64,
    /// Bytes of `rootfs-diff.tar`, when there is one.
    pub rootfs_diff_size: Option<u64>,
}

/// Summarizes an archive extracted (with [`crate::import`]) into `dir`.
pub fn show(dir: &Path) -> Result<ShowInfo> {
    let path = dir.join(CONFIG_DUMP);
    let config: serde_json::Value = std::fs::read(&path)
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default();
    let spec: serde_json::Value = std::fs::read(dir.join(SPEC_DUMP))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default();
    let text = |k: &str| config[k].as_str().unwrap_or_default().to_string();
    let engine = match spec["annotations"]["io.container.manager"].as_str() {
        Some("libpod") => "Podman",
        _ => "unknown",
    };
    let images = dir.join(CHECKPOINT_DIR);
    let mut checkpoint_size = 0;
    let mut memory_pages_size = 0;
    for e in std::fs::read_dir(&images)
        .map_err(io_err("reading", &images))?
        .flatten()
    {
        let len = e.metadata().map(|m| m.len()).unwrap_or(0);
        checkpoint_size += len;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("pages-") && name.ends_with(".img") {
            memory_pages_size += len;
        }
    }
    let created = text("createdTime");
    Ok(ShowInfo {
        container: text("name"),
        image: text("rootfsImageName"),
        id: text("id").chars().take(12).collect(),
        runtime: text("runtime"),
        // checkpointctl's form: seconds, UTC.
        created: chrono::DateTime::parse_from_rfc3339(&created)
            .map(|t| {
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            })
            .unwrap_or(created),
        engine: engine.into(),
        checkpoint_size,
        memory_pages_size,
        rootfs_diff_size: std::fs::metadata(dir.join(ROOTFS_DIFF))
            .ok()
            .map(|m| m.len()),
    })
}

/// Bytes as checkpointctl prints them: "512 B", "384.7 KiB", "1.2 MiB".
pub fn human_bytes(b: u64) -> String {
    const UNIT: u64 = 1024;
    if b < UNIT {
        return format!("{b} B");
    }
    let (mut div, mut exp) = (UNIT, 0);
    let mut n = b / UNIT;
    while n >= UNIT {
        div *= UNIT;
        exp += 1;
        n /= UNIT;
    }
    let prefix = ['K', 'M', 'G', 'T', 'P', 'E'][exp];
    format!("{:.1} {prefix}iB", b as f64 / div as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_checkpointctl_prints_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(7680), "7.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 + 200 * 1024), "3.2 MiB");
    }
}

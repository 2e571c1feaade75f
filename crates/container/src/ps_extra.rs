//! What `ps --size` and `ps --ns` add to a container's row: its disk use
//! and the namespaces of its init process.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::record::Container;

/// `ps --size`: bytes in the container's own layer, and those plus its
/// image's layers (podman's `RwSize` and `RootFsSize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PsSize {
    pub root_fs_size: u64,
    pub rw_size: u64,
}

/// The namespaces `ps --ns` shows, as podman names its columns and keys.
const NAMESPACES: &[(&str, &str)] = &[
    ("Cgroup", "cgroup"),
    ("Ipc", "ipc"),
    ("Mnt", "mnt"),
    ("Net", "net"),
    ("Pidns", "pid"),
    ("User", "user"),
    ("Uts", "uts"),
];

/// The bytes of the files under `dir` (apparent sizes; links not
/// followed), 0 when it does not exist.
pub(crate) fn tree_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_size(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

impl Container {
    /// `ps --size`: what the container wrote (its upper directory), and
    /// that plus its image's unpacked layers.
    pub fn disk_size(&self) -> PsSize {
        let rw = tree_size(&self.dir.join("upper"));
        let image: u64 = self.config.layer_dirs.iter().map(|d| tree_size(d)).sum();
        PsSize {
            root_fs_size: rw + image,
            rw_size: rw,
        }
    }

    /// `ps --ns`: the namespace ids (inode numbers) of the running
    /// container's init, keyed as podman keys them; empty when it is not
    /// running.
    pub fn namespaces(&self) -> BTreeMap<String, String> {
        let Some(pid) = self.state.pid.filter(|_| self.status().is_active()) else {
            return BTreeMap::new();
        };
        NAMESPACES
            .iter()
            .filter_map(|(key, file)| {
                let link = std::fs::read_link(format!("/proc/{pid}/ns/{file}")).ok()?;
                // `net:[4026531992]`
                let text = link.to_string_lossy();
                let id = text.split_once('[')?.1.trim_end_matches(']').to_string();
                Some((key.to_string(), id))
            })
            .collect()
    }
}

/// The namespace keys in `ps --ns` column order.
pub fn namespace_keys() -> impl Iterator<Item = &'static str> {
    NAMESPACES.iter().map(|(k, _)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_sizes_add_up_file_lengths() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("a/one"), [0u8; 100]).unwrap();
        std::fs::write(d.path().join("a/b/two"), [0u8; 23]).unwrap();
        assert_eq!(tree_size(d.path()), 123);
        assert_eq!(tree_size(&d.path().join("missing")), 0);
    }

    #[test]
    fn this_process_has_every_namespace_column() {
        let keys: Vec<&str> = namespace_keys().collect();
        assert_eq!(
            keys,
            ["Cgroup", "Ipc", "Mnt", "Net", "Pidns", "User", "Uts"]
        );
        for (_, file) in NAMESPACES {
            let link = std::fs::read_link(format!("/proc/self/ns/{file}")).unwrap();
            assert!(link.to_string_lossy().contains('['), "{link:?}");
        }
    }
}

//! Paths inside a root directory that belongs to someone else (a build
//! context, a mounted image): symlinks are followed as the container would
//! see them, never out of the root.

use std::path::{Path, PathBuf};

/// How many symlinks one resolution follows before giving up (Linux's
/// own limit).
const MAX_LINKS: usize = 40;

/// `path` (absolute in the root's view) with every symlink resolved inside
/// `root`, as a `/`-rooted path in that view; `..` never climbs above the
/// root. Components that do not exist are kept as written. `None` when
/// the links loop.
pub fn resolve(root: &Path, path: &str) -> Option<String> {
    let mut done: Vec<String> = Vec::new();
    let mut todo: Vec<String> = components(path).into_iter().rev().collect();
    let mut links = 0;
    while let Some(part) = todo.pop() {
        if part == ".." {
            done.pop();
            continue;
        }
        let candidate = host_path(root, &done, &part);
        let meta = std::fs::symlink_metadata(&candidate);
        if meta.is_ok_and(|m| m.file_type().is_symlink()) {
            links += 1;
            if links > MAX_LINKS {
                return None;
            }
            let target = std::fs::read_link(&candidate).ok()?;
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                done.clear();
            }
            todo.extend(components(&target).into_iter().rev());
            continue;
        }
        done.push(part);
    }
    Some(format!("/{}", done.join("/")))
}

/// Where the resolved view path `view` is on the host.
pub fn on_host(root: &Path, view: &str) -> PathBuf {
    root.join(view.trim_start_matches('/'))
}

fn host_path(root: &Path, done: &[String], part: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    for d in done {
        p.push(d);
    }
    p.push(part);
    p
}

/// The names of a `/`-separated path without empty and `.` names.
fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_inside_the_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        std::os::unix::fs::symlink("usr/bin", root.join("bin")).unwrap();
        std::os::unix::fs::symlink("/../../../etc", root.join("escape")).unwrap();
        std::os::unix::fs::symlink("../../..", root.join("usr/up")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert_eq!(resolve(root, "/bin/sh").unwrap(), "/usr/bin/sh");
        assert_eq!(resolve(root, "escape/passwd").unwrap(), "/etc/passwd");
        assert_eq!(resolve(root, "/usr/up/x").unwrap(), "/x");
        assert_eq!(resolve(root, "/../../a/./b/").unwrap(), "/a/b");
        assert_eq!(resolve(root, "/").unwrap(), "/");
        assert!(resolve(root, "/loop").is_none());
    }
}

//! Processes a test leaves behind under its own `--root`.
//!
//! A test that fails (or forgets a `rm -f`) leaves detached monitors and
//! their containers running after its temp dir is gone; over a whole suite
//! they pile up and hold addresses, ports and memory that later tests need.
//! Every hoist process a test starts names the test's root after `--root`,
//! so that is how they are found.

use std::path::Path;
use std::process::{Command, Stdio};

struct Proc {
    pid: u32,
    ppid: u32,
    args: Vec<String>,
}

/// Kills every process started with `--root ROOT`, and their descendants
/// (containers are children of their monitor); whether there were any.
pub fn kill_processes_of_root(root: &Path) -> bool {
    let procs = snapshot();
    let root = root.to_string_lossy();
    let mut doomed: Vec<u32> = procs
        .iter()
        .filter(|p| names_root(&p.args, &root))
        .map(|p| p.pid)
        .collect();
    if doomed.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < doomed.len() {
        let parent = doomed[i];
        for p in &procs {
            if p.ppid == parent && !doomed.contains(&p.pid) {
                doomed.push(p.pid);
            }
        }
        i += 1;
    }
    // Monitors come first in the list, so none is left to restart a
    // container whose process dies a moment earlier.
    let _ = Command::new("kill")
        .arg("-KILL")
        .args(doomed.iter().map(u32::to_string))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    true
}

fn names_root(args: &[String], root: &str) -> bool {
    args.windows(2).any(|w| w[0] == "--root" && w[1] == root)
}

fn snapshot() -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter_map(read_proc)
        .collect()
}

fn read_proc(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let ppid = rest.split(' ').nth(1)?.parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(Proc { pid, ppid, args })
}

/// The mount points of the host's cgroup hierarchies (v1 and v2).
pub fn cgroup_hierarchies() -> Vec<std::path::PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    hoist_fsutil::mountinfo::mount_entries(&info)
        .filter(|m| m.fs_type.starts_with("cgroup"))
        .map(|m| std::path::PathBuf::from(m.mount_point))
        .collect()
}

/// Removes the cgroup a test named with `--cgroup-parent` (`/NAME`) from
/// every hierarchy, once its containers are gone: it lives outside the
/// test's root, so nothing else removes it. Only an empty cgroup can go;
/// one still in use is left and reported.
pub fn remove_cgroup_parent(parent: &str) {
    let rel = parent.trim_start_matches('/');
    for h in cgroup_hierarchies() {
        let dir = h.join(rel);
        match std::fs::remove_dir(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                eprintln!("cannot remove cgroup {}: {e}", dir.display())
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kills_a_process_started_with_the_root_and_its_children() {
        let root = tempfile::tempdir().unwrap();
        let root_arg = root.path().to_str().unwrap().to_string();
        // sh -c 'sleep & wait' --root ROOT: the shell names the root, its sleep child does not.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 600 & echo $!; wait", "sh", "--root", &root_arg])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        let sleeper: u32 = line.trim().parse().unwrap();
        kill_processes_of_root(root.path());
        assert!(!child.wait().unwrap().success(), "the shell was killed");
        crate::wait_until(
            std::time::Duration::from_secs(10),
            "the child to die",
            || {
                read_proc(sleeper).is_none_or(|p| {
                    std::fs::read_to_string(format!("/proc/{}/stat", p.pid))
                        .is_ok_and(|s| s.contains(") Z "))
                })
            },
        );
    }

    #[test]
    fn removes_a_test_cgroup_parent_from_every_hierarchy() {
        crate::require_root();
        let parent = format!("/hoist-testenv-parent-{}", std::process::id());
        let made: Vec<_> = cgroup_hierarchies()
            .into_iter()
            .map(|h| h.join(&parent[1..]))
            .filter(|d| std::fs::create_dir(d).is_ok())
            .collect();
        assert!(!made.is_empty(), "no cgroup hierarchy took a new cgroup");
        remove_cgroup_parent(&parent);
        let left: Vec<_> = made.iter().filter(|d| d.exists()).collect();
        assert!(left.is_empty(), "left: {left:?}");
    }
}

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
/// (containers are children of their monitor), and returns once they have
/// ended; whether there were any.
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
    // A SIGKILLed process still holds its files (a monitor its lock) until
    // it has finished exiting: what runs next must find them released.
    wait_gone(&doomed, std::time::Duration::from_secs(30));
    true
}

/// Waits until none of `pids` runs (each is gone, or a zombie that has
/// released what it held), or `limit` has passed.
fn wait_gone(pids: &[u32], limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    while pids.iter().any(|&pid| still_running(pid)) {
        if std::time::Instant::now() >= deadline {
            eprintln!("hoist-testenv: killed processes still run after {limit:?}: {pids:?}");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Whether `pid` exists and is not a zombie (or dead, `X`).
fn still_running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
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

    /// The first line `child` prints on its piped stdout.
    fn first_line(child: &mut std::process::Child) -> String {
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        line
    }

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
        let line = first_line(&mut child);
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

    /// Killed, a monitor lets go of its lock only once it has finished
    /// exiting; `container cleanup`, run right after, must find the lock
    /// free. A process with a gigabyte of touched memory takes a while to
    /// exit, which the kill must wait out.
    #[test]
    fn returns_once_the_killed_processes_let_go_of_their_locks() {
        crate::require(&["python3", "flock"]);
        let root = tempfile::tempdir().unwrap();
        let lock = root.path().join("monitor.lock");
        let holder = "import fcntl, sys\n\
            f = open(sys.argv[1], 'w')\n\
            fcntl.flock(f, fcntl.LOCK_EX)\n\
            ballast = bytearray(1 << 30)\n\
            print('held', flush=True)\n\
            sys.stdin.read()\n";
        let mut child = Command::new("python3")
            .args(["-c", holder, lock.to_str().unwrap(), "--root"])
            .arg(root.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let line = first_line(&mut child);
        assert_eq!(line.trim(), "held");
        assert!(kill_processes_of_root(root.path()));
        let free = Command::new("flock")
            .args(["--nonblock", "--exclusive"])
            .arg(&lock)
            .arg("true")
            .status()
            .unwrap();
        assert!(free.success(), "the killed process still held its lock");
        let _ = child.wait();
    }
}

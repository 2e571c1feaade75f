//! `top` and `stats` on real containers.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn top_and_stats_of_a_running_container() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "s1",
            "--network",
            "none",
            "-m",
            "64m",
            &img,
            "sh",
            "-c",
            "sleep 300 & exec sleep 301",
        ])
        .ok();
    // Processes from the cgroup, pids as the container sees them. Until
    // the forked child has exec'd, it shows the shell's command line.
    let mut out = String::new();
    hoist_testenv::wait_until(
        std::time::Duration::from_secs(20),
        "the child to exec sleep 300",
        || {
            out = hoist.run(&["top", "s1"]).ok().stdout;
            out.lines().any(|l| l.ends_with("sleep 300"))
        },
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("USER"), "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with("root ")
            && l.split_whitespace().nth(1) == Some("1")
            && l.ends_with("sleep 301")),
        "{out}"
    );
    assert!(lines.iter().any(|l| l.ends_with("sleep 300")), "{out}");
    assert_eq!(lines.len(), 3, "{out}");
    // stats: memory against the -m limit, two pids.
    let out = hoist
        .run(&["stats", "--no-stream", "--format", "json", "s1"])
        .ok();
    let v: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["Name"], "s1");
    assert_eq!(v[0]["PIDs"], 2, "{v:?}");
    assert_eq!(v[0]["MemLimit"], 64 << 20, "{v:?}");
    assert!(v[0]["MemUsageBytes"].as_u64().unwrap() > 0, "{v:?}");
    let out = hoist.run(&["stats", "--no-stream"]).ok();
    assert!(out.stdout.starts_with("ID"), "{out:?}");
    assert!(out.stdout.contains("s1"), "{out:?}");
    hoist.run(&["rm", "-f", "s1"]).ok();
    // Not running: an error.
    hoist
        .run(&["create", "--name", "s2", "--network", "none", &img, "true"])
        .ok();
    hoist.run(&["top", "s2"]).fails_with(125);
    hoist.run(&["stats", "--no-stream", "s2"]).fails_with(125);
}

#[test]
fn runtime_flag_runs_containers_with_runc() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist_testenv::require(&["runc"]);
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "echo from-runc; exit 6",
        ])
        .fails_with(6);
    assert_eq!(out.stdout, "from-runc\n");
    // Detached: stop, logs and rm go through runc too.
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "r1",
            "--runtime",
            "/usr/sbin/runc",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "echo up; exec sleep 60",
        ])
        .ok();
    // runc's own state is kept in the container's directory.
    let id = std::fs::read_link(hoist.root().join("containers/names/r1")).unwrap();
    let dir = hoist.root().join("containers").join(&id);
    assert!(dir.join("runtime").join(&id).join("state.json").exists());
    let out = hoist.run(&["top", "r1"]).ok();
    assert!(out.stdout.contains("sleep 60"), "{out:?}");
    // exec goes through `runc exec`: output, exit code, env, user, workdir.
    let out = hoist
        .run(&[
            "exec",
            "-e",
            "X=from-exec",
            "-u",
            "1234",
            "-w",
            "/tmp",
            "r1",
            "sh",
            "-c",
            "echo $X $(id -u) $(pwd); exit 3",
        ])
        .fails_with(3);
    assert_eq!(out.stdout, "from-exec 1234 /tmp\n");
    let out = hoist
        .run_stdin(&["exec", "-i", "r1", "cat"], b"piped in\n")
        .ok();
    assert_eq!(out.stdout, "piped in\n");
    hoist
        .run(&["exec", "-d", "r1", "sh", "-c", "echo detached > /tmp/mark"])
        .ok();
    let mut seen = String::new();
    for _ in 0..50 {
        seen = hoist.run(&["exec", "r1", "cat", "/tmp/mark"]).stdout;
        if seen == "detached\n" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(seen, "detached\n");
    hoist.run(&["exec", "r1", "no-such-cmd"]).fails_with(127);
    hoist.run(&["stop", "-t", "1", "r1"]).ok();
    let out = hoist.run(&["logs", "r1"]).ok();
    assert_eq!(out.stdout, "up\n");
    hoist.run(&["rm", "r1"]).ok();
    hoist
        .run(&["run", "--rm", "--runtime", "no-such-runtime", &img, "true"])
        .fails_with(125);
}

/// `hoist args` streaming on a pty (util-linux `script`) when `tty`, else
/// into a pipe; what it printed once `reports` samples (header lines)
/// have come. Stopped then.
fn stream(hoist: &hoist_testenv::Hoist, args: &[&str], tty: bool, reports: usize) -> String {
    use std::io::Read;
    let mut cmd = if tty {
        hoist.command_on_pty(args)
    } else {
        hoist.command(args)
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting stats");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut text = String::new();
    while text.matches("NAME").count() < reports {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(chunk) = rx.recv_timeout(left) else {
            break;
        };
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    child.kill().ok();
    child.wait().ok();
    assert!(
        text.matches("NAME").count() >= reports,
        "stats printed: {text:?}"
    );
    text
}

#[test]
fn stats_and_top_flags() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let id = hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "f1",
            "--network",
            "none",
            &img,
            "sleep",
            "301",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    // top --latest: the container run last.
    let mut out = String::new();
    hoist_testenv::wait_until(
        Duration::from_secs(5),
        "top --latest to show the sleep",
        || {
            out = hoist.run(&["top", "--latest"]).ok().stdout;
            out.contains("sleep 301")
        },
    );
    assert!(out.starts_with("USER"), "{out}");
    assert!(out.lines().any(|l| l.ends_with("sleep 301")), "{out}");

    // --no-trunc: the whole ID; else the short one.
    let row = |args: &[&str]| {
        let mut all = vec!["stats", "--no-stream"];
        all.extend(args);
        let out = hoist.run(&all).ok().stdout;
        out.lines().nth(1).unwrap_or_default().to_string()
    };
    assert!(row(&["--no-trunc", "f1"]).starts_with(&format!("{id} ")));
    assert!(row(&["f1"]).starts_with(&format!("{} ", &id[..12])));
    let out = hoist
        .run(&["stats", "--no-stream", "-l", "--format", "{{.Name}}"])
        .ok();
    assert_eq!(out.stdout, "f1\n");
    let out = hoist.run(&["stats", "-i", "0", "f1"]).fails_with(125);
    assert!(out.stderr.contains("--interval"), "{out:?}");

    // On a terminal each sample starts on a cleared screen.
    let text = stream(&hoist, &["stats", "--interval", "1", "f1"], true, 2);
    // Each sample after a clear: as many clears as headers.
    assert_eq!(
        text.matches("\x1b[2J\x1b[1;1H").count(),
        text.matches("NAME").count(),
        "{text:?}"
    );
    // --no-reset leaves the screen alone; so does output to a pipe.
    let text = stream(&hoist, &["stats", "-i", "1", "--no-reset", "f1"], true, 2);
    assert!(!text.contains("\x1b[2J"), "{text:?}");
    let text = stream(&hoist, &["stats", "-i", "1", "f1"], false, 2);
    assert!(!text.contains("\x1b[2J"), "{text:?}");
    hoist.run(&["rm", "-f", "f1"]).ok();
}

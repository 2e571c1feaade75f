//! `rm -f` racing the `run --rm` of the same container: whoever removes
//! last cleans up, nothing is left behind, and the run exits like
//! podman's (137 when `rm -f` killed it).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use hoist_testenv::Hoist;

/// Polls `cond` every few milliseconds (not backing off like
/// `hoist_testenv::wait_until`: the race point right after the record
/// appears is only a few milliseconds wide) until it holds; panics with
/// `what` after `limit`.
fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn status(h: &Hoist, name: &str) -> Option<String> {
    let out = h.run(&["inspect", "--format", "{{.State.Status}}", name]);
    out.success().then(|| out.stdout.trim().to_string())
}

/// Everything in `<root>/containers` besides the name index, and every name.
fn leftovers(h: &Hoist) -> Vec<String> {
    let dir = h.root().join("containers");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "names")
        .collect();
    found.extend(
        std::fs::read_dir(dir.join("names"))
            .unwrap()
            .map(|e| format!("names/{}", e.unwrap().file_name().to_string_lossy())),
    );
    found
}

#[test]
fn rm_force_racing_run_rm_leaves_nothing_and_run_exits_137() {
    let (_reg, h, img) = common::setup_with_busybox();
    for round in 0..20 {
        let name = format!("race{round}");
        let run = h
            .command(&[
                "run",
                "--rm",
                "--name",
                &name,
                "--network",
                "none",
                &img,
                "sleep",
                "30",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Two race points: as soon as the record exists (the monitor may
        // not even have started), and once the container runs.
        let link = h.root().join("containers/names").join(&name);
        if round % 2 == 0 {
            wait_for(Duration::from_secs(60), "the record", || {
                link.symlink_metadata().is_ok()
            });
        } else {
            wait_for(Duration::from_secs(60), "the container to run", || {
                status(&h, &name).as_deref() == Some("running")
            });
        }
        let rm = h.run(&["rm", "-f", &name]);
        let ran = run.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&ran.stderr);
        assert_eq!(rm.code(), Some(0), "round {round}: {rm:?}\nrun: {stderr}");
        match ran.status.code() {
            // Killed by rm -f, as podman reports it.
            Some(137) => {}
            // Removed before its monitor could start it.
            Some(125) if round % 2 == 0 && stderr.contains("no container") => {}
            other => panic!("round {round}: run exited with {other:?}: {stderr}"),
        }
        assert!(
            !stderr.contains("not empty"),
            "round {round}: run stderr: {stderr}"
        );
        assert_eq!(leftovers(&h), Vec::<String>::new(), "round {round}");
        let ps = h.run(&["ps", "-a", "--format", "{{.Names}}"]).ok();
        assert_eq!(ps.stdout, "", "round {round}");
    }
    assert!(hoist_testenv::hoist::mounts_below(&h.root()).is_empty());
    // Removing it again is fine, as in podman.
    h.run(&["rm", "-f", "race0"]).ok();
}

#[test]
fn a_leftover_directory_without_a_record_is_swept_by_ps() {
    let (_reg, h) = common::setup();
    // What an interrupted removal of an earlier hoist left behind.
    let dir = h.root().join("containers").join("d".repeat(64));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("monitor.lock"), "").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    let f = std::fs::File::open(&dir).unwrap();
    f.set_times(std::fs::FileTimes::new().set_modified(old))
        .unwrap();
    drop(f);
    let ps = h.run(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    assert_eq!(ps.stdout, "");
    assert!(!dir.exists(), "ps removed the leftover directory");
}

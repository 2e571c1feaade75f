//! `--restart`: on-failure with a limit, always with a growing pause
//! between starts, and `stop`/`rm` while the monitor waits to restart.
//! Needs root and the test registry.

mod common;

use std::time::{Duration, Instant};

use hoist_testenv::Hoist;

/// `container inspect NAME`.
fn inspect(hoist: &Hoist, name: &str) -> serde_json::Value {
    let out = hoist.run(&["container", "inspect", name]).ok();
    let all: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    all[0].clone()
}

fn restart_count(hoist: &Hoist, name: &str) -> u64 {
    inspect(hoist, name)["RestartCount"].as_u64().unwrap()
}

fn status(hoist: &Hoist, name: &str) -> String {
    inspect(hoist, name)["State"]["Status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn on_failure_stops_after_its_limit_and_not_on_success() {
    let Some((_reg, hoist, img)) = common::setup_with_busybox() else {
        return;
    };
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "flaky",
            "--network",
            "none",
            "--restart",
            "on-failure:2",
            &img,
            "sh",
            "-c",
            "echo run; exit 3",
        ])
        .ok();
    // The first run and two restarts, then the monitor gives up.
    wait_for("the monitor to give up", Duration::from_secs(20), || {
        hoist.run(&["wait", "flaky"]).ok();
        let c = inspect(&hoist, "flaky");
        c["State"]["Status"] == "exited"
            && c["State"]["Pid"].as_u64().unwrap_or(0) == 0
            && restart_count(&hoist, "flaky") == 2
            && hoist.run(&["logs", "flaky"]).ok().stdout == "run\nrun\nrun\n"
    });
    assert_eq!(inspect(&hoist, "flaky")["State"]["ExitCode"], 3);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(restart_count(&hoist, "flaky"), 2);
    hoist.run(&["rm", "flaky"]).ok();
    // Success is not a failure: no restart.
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "fine",
            "--network",
            "none",
            "--restart",
            "on-failure",
            &img,
            "true",
        ])
        .ok();
    hoist.run(&["wait", "fine"]).ok();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(restart_count(&hoist, "fine"), 0);
    hoist.run(&["rm", "fine"]).ok();
}

#[test]
fn always_backs_off_and_stop_cancels_a_pending_restart() {
    let Some((_reg, hoist, img)) = common::setup_with_busybox() else {
        return;
    };
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "loop",
            "--network",
            "none",
            "--restart",
            "always",
            &img,
            "sh",
            "-c",
            "exit 1",
        ])
        .ok();
    // Pauses of 0.1, 0.2, 0.4, 0.8, 1.6 s: five restarts take over 3 s
    // (a fixed 0.1 s pause would give about twenty).
    std::thread::sleep(Duration::from_secs(3));
    let n = restart_count(&hoist, "loop");
    assert!((3..=6).contains(&n), "{n} restarts in 3 s");
    // Wait until it sits in a long pause, then stop: no restart after.
    wait_for("a long pause", Duration::from_secs(10), || {
        restart_count(&hoist, "loop") >= 6 && status(&hoist, "loop") == "exited"
    });
    let t = Instant::now();
    hoist.run(&["stop", "loop"]).ok();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let n = restart_count(&hoist, "loop");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(restart_count(&hoist, "loop"), n);
    assert_eq!(status(&hoist, "loop"), "exited");
    // rm during a pause, too.
    hoist.run(&["start", "loop"]).ok();
    wait_for("a restart", Duration::from_secs(10), || {
        restart_count(&hoist, "loop") > n
    });
    hoist.run(&["rm", "-f", "loop"]).ok();
    let out = hoist.run(&["ps", "-a", "-q"]).ok();
    assert_eq!(out.stdout, "");
}

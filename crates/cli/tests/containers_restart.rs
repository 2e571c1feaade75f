//! `--restart`: on-failure with a limit, always with a growing pause
//! between starts, and `stop`/`rm` while the monitor waits to restart.
//! Needs root and the test registry.

mod common;

use std::time::Duration;

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

fn wait_for(what: &str, timeout: Duration, done: impl FnMut() -> bool) {
    hoist_testenv::wait_until(timeout, what, done);
}

/// Whether the container's monitor process is gone. Only the monitor
/// restarts a container, so once it has exited the restart count is final:
/// this replaces sleeping "long enough" before checking that nothing restarted.
fn monitor_gone(hoist: &Hoist, name: &str) -> bool {
    let id = inspect(hoist, name)["Id"].as_str().unwrap().to_string();
    let state = hoist.root().join("containers").join(id).join("state.json");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let Some(pid) = state["monitor_pid"].as_i64() else {
        return true;
    };
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // Exited but not yet reaped.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
    }
}

#[test]
fn on_failure_stops_after_its_limit_and_not_on_success() {
    let (_reg, hoist, img) = common::setup_with_busybox();
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
    // The first run and two restarts, then the monitor gives up. Its exit
    // is what says the state is final: read while it runs, the record
    // and the log can each be from either side of a restart.
    wait_for("the monitor to give up", Duration::from_secs(30), || {
        monitor_gone(&hoist, "flaky")
    });
    let c = inspect(&hoist, "flaky");
    assert_eq!(c["State"]["Status"], "exited", "{c}");
    assert_eq!(c["State"]["Pid"].as_u64().unwrap_or(0), 0, "{c}");
    assert_eq!(c["State"]["ExitCode"], 3, "{c}");
    assert_eq!(c["RestartCount"], 2, "{c}");
    assert_eq!(hoist.run(&["logs", "flaky"]).ok().stdout, "run\nrun\nrun\n");
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
    wait_for("fine's monitor to exit", Duration::from_secs(30), || {
        monitor_gone(&hoist, "fine")
    });
    assert_eq!(restart_count(&hoist, "fine"), 0);
    hoist.run(&["rm", "fine"]).ok();
}

#[test]
fn always_restarts_and_stop_cancels_a_pending_restart() {
    let (_reg, hoist, img) = common::setup_with_busybox();
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
    // The pause between restarts doubles each time (its schedule is the
    // monitor's unit test restart_backoff_doubles_...): after six restarts
    // the monitor sits in a pause of seconds. Stop it there: no restart after.
    wait_for(
        "a pause after six restarts",
        Duration::from_secs(60),
        || restart_count(&hoist, "loop") >= 6 && status(&hoist, "loop") == "exited",
    );
    hoist.run(&["stop", "loop"]).ok();
    let n = restart_count(&hoist, "loop");
    wait_for("loop's monitor to exit", Duration::from_secs(30), || {
        monitor_gone(&hoist, "loop")
    });
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

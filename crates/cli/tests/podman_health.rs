//! Healthchecks as podman 4.3 has them: `--health-*` flags, `healthcheck
//! run` (0 healthy, 1 "unhealthy", 125 without a healthcheck or when not
//! running), the timer the monitor runs every interval, `.State.Health`
//! (also as `.State.Healthcheck` in templates), `ps` STATUS and
//! `--filter health=`, and `--health-on-failure`. Needs root and the test
//! registry.

mod common;

use std::time::Duration;

use hoist_testenv::{wait_until, Hoist};

const WAIT: Duration = Duration::from_secs(60);

/// `inspect` of one container.
fn inspect(h: &Hoist, name: &str) -> serde_json::Value {
    let out = h.run(&["container", "inspect", name]).ok();
    let mut v: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).expect("a JSON array");
    v.remove(0)
}

fn health(h: &Hoist, name: &str) -> serde_json::Value {
    let out = h
        .run(&["inspect", "--format", "{{json .State.Healthcheck}}", name])
        .ok();
    serde_json::from_str(out.stdout.trim()).expect("health JSON")
}

const CHECK: &str =
    "if test -e /uh-oh; then echo bad; echo worse >&2; exit 1; else echo good; echo fine >&2; fi";

/// The health record says "starting" as soon as `run -d` returns, before
/// any check: the monitor sets it before it reports the start, so a check
/// run at once is never overwritten by it.
#[test]
fn health_is_starting_when_run_returns() {
    let (_reg, h, img) = common::setup_with_busybox();
    for n in 0..3 {
        let name = format!("early{n}");
        h.run(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            &name,
            "--health-cmd",
            "true",
            "--health-interval",
            "1h",
            &img,
            "sleep",
            "300",
        ])
        .ok();
        assert_eq!(health(&h, &name)["Status"], "starting");
        h.run(&["healthcheck", "run", &name]).ok();
        assert_eq!(health(&h, &name)["Status"], "healthy");
        h.run(&["rm", "-f", "-t", "0", &name]).ok();
    }
}

#[test]
fn healthcheck_run_timer_log_ps_and_inspect() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "hc",
        "--health-cmd",
        CHECK,
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        &img,
        "sleep",
        "300",
    ])
    .ok();
    let cfg = inspect(&h, "hc");
    assert_eq!(
        cfg["Config"]["Healthcheck"],
        serde_json::json!({"Test": ["CMD-SHELL", CHECK], "Interval": 1_000_000_000u64,
            "Timeout": 30_000_000_000u64, "Retries": 2})
    );
    assert_eq!(cfg["Config"]["HealthcheckOnFailureAction"], "none");

    // A check on request: healthy, silent, logged.
    let out = h.run(&["healthcheck", "run", "hc"]).ok();
    assert_eq!(out.stdout, "");
    let hs = health(&h, "hc");
    assert_eq!(hs["Status"], "healthy");
    assert_eq!(hs["FailingStreak"], 0);
    let last = hs["Log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["ExitCode"], 0);
    assert_eq!(last["Output"], "good\nfine");
    let ps = h
        .run(&[
            "ps",
            "--format",
            "{{.Status}}",
            "--filter",
            "health=healthy",
        ])
        .ok();
    assert!(ps.stdout.trim().ends_with("(healthy)"), "{}", ps.stdout);

    // The timer finds the failures; two in a row make it unhealthy.
    h.run(&["exec", "hc", "touch", "/uh-oh"]).ok();
    wait_until(WAIT, "the timer to make hc unhealthy", || {
        health(&h, "hc")["Status"] == "unhealthy"
    });
    let hs = health(&h, "hc");
    assert!(hs["FailingStreak"].as_u64().unwrap() >= 2, "{hs}");
    let log = hs["Log"].as_array().unwrap();
    assert!(log.len() <= 5);
    assert_eq!(log.last().unwrap()["Output"], "bad\nworse");
    let out = h.run(&["healthcheck", "run", "hc"]).fails_with(1);
    assert_eq!(out.stdout.trim(), "unhealthy");
    let ps = h.run(&["ps", "-q", "--filter", "health=unhealthy"]).ok();
    assert_eq!(ps.stdout.lines().count(), 1);
    wait_until(WAIT, "the log to keep its last 5 results", || {
        health(&h, "hc")["Log"].as_array().unwrap().len() == 5
    });

    // Stopped: podman's message and 125.
    h.run(&["stop", "-t", "0", "hc"]).ok();
    let err = h.run(&["healthcheck", "run", "hc"]).fails_with(125);
    assert!(err.stderr.contains("is not running"), "{}", err.stderr);
    h.run(&["rm", "-f", "hc"]).ok();
}

#[test]
fn no_healthcheck_and_flag_errors() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "plain",
        &img,
        "sleep",
        "300",
    ])
    .ok();
    let err = h.run(&["healthcheck", "run", "plain"]).fails_with(125);
    assert!(
        err.stderr.contains("has no defined healthcheck"),
        "{}",
        err.stderr
    );
    let doc = inspect(&h, "plain");
    // podman shows an empty health state without a healthcheck.
    assert_eq!(
        doc["State"]["Health"],
        serde_json::json!({"Status": "", "FailingStreak": 0, "Log": null})
    );
    let err = h
        .run(&["create", "--health-on-failure=kill", &img])
        .fails_with(125);
    assert!(
        err.stderr
            .contains("cannot set on-failure action to kill without a health check"),
        "{}",
        err.stderr
    );
    let err = h
        .run(&[
            "create",
            "--health-cmd",
            "true",
            "--health-start-period",
            "-1s",
            &img,
        ])
        .fails_with(125);
    assert!(
        err.stderr
            .contains("healthcheck-start-period must be 0 seconds or greater"),
        "{}",
        err.stderr
    );
    // A check that takes too long is killed and fails.
    h.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 30",
        "--health-timeout",
        "1s",
        "--health-interval",
        "disable",
        &img,
        "sleep",
        "300",
    ])
    .ok();
    let out = h.run(&["healthcheck", "run", "slow"]).fails_with(1);
    assert_eq!(out.stdout.trim(), "unhealthy");
    let last = &health(&h, "slow")["Log"][0];
    assert_eq!(last["ExitCode"], 1);
    assert_eq!(last["Output"], "healthcheck command exceeded timeout of 1s");
    assert!(inspect(&h, "slow")["Config"]["Healthcheck"]
        .get("Interval")
        .is_none());
    h.run(&["rm", "-f", "-t0", "slow"]).ok();
    // --no-healthcheck wins over nothing: no healthcheck at all.
    h.run(&["create", "--name", "off", "--no-healthcheck", &img])
        .ok();
    assert!(inspect(&h, "off")["Config"].get("Healthcheck").is_none());
    h.run(&["rm", "-f", "plain", "off"]).ok();
}

#[test]
fn health_on_failure_actions() {
    let (_reg, h, img) = common::setup_with_busybox();
    for policy in ["none", "kill", "stop", "restart"] {
        let name = format!("of-{policy}");
        h.run(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            &name,
            "--health-cmd",
            "if test -e /uh-oh; then rm /uh-oh; exit 1; fi",
            "--health-retries=1",
            "--health-interval=disable",
            "--stop-timeout=1",
            &format!("--health-on-failure={policy}"),
            &img,
            "sleep",
            "300",
        ])
        .ok();
        h.run(&["healthcheck", "run", &name]).ok();
        h.run(&["exec", &name, "touch", "/uh-oh"]).ok();
        let out = h.run(&["healthcheck", "run", &name]).fails_with(1);
        assert_eq!(out.stdout.trim(), "unhealthy");
        let state = || {
            h.run(&["inspect", "--format", "{{.State.Status}}", &name])
                .ok()
                .stdout
                .trim()
                .to_string()
        };
        // As podman: once `healthcheck run` returns, the action is done.
        if matches!(policy, "kill" | "stop") {
            assert_eq!(state(), "exited");
        } else {
            assert_eq!(state(), "running");
            h.run(&["healthcheck", "run", &name]).ok();
        }
        h.run(&["rm", "-f", "-t0", &name]).ok();
    }
}

#[test]
fn image_healthcheck_is_the_default_and_checks_are_events() {
    let (reg, mut h) = common::setup();
    hoist_testenv::ImageBuilder::single_layer()
        .healthcheck(serde_json::json!({
            "Test": ["CMD-SHELL", "echo from-image"],
            "Interval": 1_000_000_000u64,
            "Retries": 2
        }))
        .push(&reg, "hc:1");
    let img = reg.reference("hc:1");
    let conf = h.base_dir().join("containers.conf");
    let log = h.base_dir().join("events.log");
    std::fs::write(
        &conf,
        format!(
            "[engine]\nevents_logger = \"file\"\nevents_logfile_path = \"{}\"\n",
            log.display()
        ),
    )
    .unwrap();
    h.env("CONTAINERS_CONF", &conf);
    h.run(&["pull", &img]).ok();
    h.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "fromimg",
        "--health-retries",
        "5",
        &img,
        "sleep",
        "300",
    ])
    .ok();
    let hc = &inspect(&h, "fromimg")["Config"]["Healthcheck"];
    assert_eq!(
        hc["Test"],
        serde_json::json!(["CMD-SHELL", "echo from-image"])
    );
    assert_eq!(
        (hc["Interval"].as_u64(), hc["Retries"].as_u64()),
        (Some(1_000_000_000), Some(5))
    );
    // The timer's checks make it healthy and are recorded as events.
    wait_until(WAIT, "the image's healthcheck to run", || {
        health(&h, "fromimg")["Status"] == "healthy"
    });
    assert_eq!(health(&h, "fromimg")["Log"][0]["Output"], "from-image");
    let events = h
        .run(&[
            "events",
            "--stream=false",
            "--filter",
            "event=health_status",
            "--format",
            "{{.Name}} {{.HealthStatus}}",
        ])
        .ok();
    assert!(
        events.stdout.lines().any(|l| l == "fromimg healthy"),
        "{}",
        events.stdout
    );
    // containers.conf's healthcheck_events = false: checks record none.
    std::fs::write(
        &conf,
        format!(
            "[engine]\nevents_logger = \"file\"\nevents_logfile_path = \"{}\"\nhealthcheck_events = false\n",
            log.display()
        ),
    )
    .unwrap();
    h.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "quiet",
        "--health-interval",
        "disable",
        &img,
        "sleep",
        "300",
    ])
    .ok();
    h.run(&["healthcheck", "run", "quiet"]).ok();
    let events = h
        .run(&[
            "events",
            "--stream=false",
            "--filter",
            "event=health_status",
            "--filter",
            "container=quiet",
        ])
        .ok();
    assert_eq!(events.stdout, "");
    h.run(&["rm", "-f", "-t0", "quiet"]).ok();
    // --no-healthcheck turns the image's off.
    h.run(&["create", "--name", "nohc", "--no-healthcheck", &img])
        .ok();
    assert!(inspect(&h, "nohc")["Config"].get("Healthcheck").is_none());
    h.run(&["rm", "-f", "fromimg", "nohc"]).ok();
}

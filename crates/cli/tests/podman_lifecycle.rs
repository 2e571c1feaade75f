//! The container lifecycle commands as podman's users know them: `ps`
//! (filters, sort, --noheading, --last), `start`/`stop`/`rm`/`pause`/
//! `unpause`/`kill` with --all, --filter and --latest, what each prints
//! (the name typed, or the full id), podman's messages and exit codes,
//! `rm --depend`, the SIGKILL warning of `stop`, signal parsing and
//! delivery (real-time signals too), and `wait`. Needs root and the test
//! registry.

mod common;

use std::time::Duration;

use hoist_testenv::{wait_until, Hoist};

const WAIT: Duration = Duration::from_secs(60);

/// `ps` with `args`, as lines.
fn ps(h: &Hoist, args: &[&str]) -> Vec<String> {
    let mut all = vec!["ps"];
    all.extend_from_slice(args);
    let out = h.run(&all).ok();
    out.stdout.lines().map(str::to_string).collect()
}

fn state(h: &Hoist, name: &str) -> String {
    let out = h
        .run(&["inspect", "--format", "{{.State.Status}}", name])
        .ok();
    out.stdout.trim().to_string()
}

fn id_of(h: &Hoist, name: &str) -> String {
    let out = h.run(&["inspect", "--format", "{{.Id}}", name]).ok();
    out.stdout.trim().to_string()
}

/// Runs a detached container named `name`.
fn run_d(h: &Hoist, img: &str, name: &str, cmd: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--network", "none", "--name", name, img];
    args.extend_from_slice(cmd);
    h.run(&args).ok().stdout.trim().to_string()
}

/// Waits until `name`'s log has `times` lines `want`.
fn wait_for_lines(h: &Hoist, name: &str, want: &str, times: usize) {
    wait_until(
        WAIT,
        &format!("{times} {want:?} in the log of {name}"),
        || {
            h.run(&["logs", name])
                .stdout
                .lines()
                .filter(|l| *l == want)
                .count()
                >= times
        },
    );
}

fn wait_for_log(h: &Hoist, name: &str, want: &str) {
    wait_for_lines(h, name, want, 1);
}

#[test]
fn ps_filters_sort_noheading_and_last() {
    let (_reg, h, img) = common::setup_with_busybox();
    assert!(ps(&h, &["--noheading"]).is_empty());
    let runner = run_d(&h, &img, "runner", &["sleep", "100"]);
    run_d(&h, &img, "stopped", &["true"]);
    h.run(&["wait", "stopped"]).ok();
    run_d(&h, &img, "failed", &["false"]);
    h.run(&["wait", "failed"]).ok();
    h.run(&[
        "create",
        "--network",
        "none",
        "--name",
        "created",
        "--label",
        "a=b",
        &img,
        "echo",
    ])
    .ok();
    let names = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--format", "{{.Names}}"]);
        ps(&h, &all)
    };

    assert_eq!(
        ps(&h, &["--filter", "name=runner", "--format", "{{.ID}}"]),
        [&runner[..12]]
    );
    assert!(
        names(&["--filter", "name=stopped"]).is_empty(),
        "without -a"
    );
    assert_eq!(names(&["-a", "--filter", "name=^stop"]), ["stopped"]);
    // A status filter looks at every state; stopped is exited.
    assert_eq!(
        names(&["--filter", "status=stopped", "--sort", "names"]),
        ["failed", "stopped"]
    );
    assert_eq!(
        names(&["--filter", "status=exited", "--filter", "exited=1"]),
        ["failed"]
    );
    // Values of one key are alternatives; created order is oldest first.
    assert_eq!(
        names(&[
            "-a",
            "--filter",
            "status=exited",
            "--filter",
            "status=running",
            "--sort",
            "created"
        ]),
        ["runner", "stopped", "failed"]
    );
    assert_eq!(names(&["-a", "--filter", "label=a=b"]), ["created"]);
    assert_eq!(names(&["-a", "--filter", "since=failed"]), ["created"]);
    assert_eq!(names(&["-a", "--filter", "before=stopped"]), ["runner"]);
    assert_eq!(
        names(&[
            "-a",
            "--filter",
            "restart-policy=none",
            "--filter",
            "id=nomatch"
        ]),
        Vec::<String>::new()
    );
    assert_eq!(names(&["-n", "2"]), ["failed", "created"]);
    assert_eq!(names(&["--latest"]), ["created"]);
    // --size: the container's own bytes, and with its image's.
    let size = ps(
        &h,
        &["-s", "--filter", "name=runner", "--format", "{{.Size}}"],
    );
    assert!(size[0].contains(" (virtual "), "{size:?}");
    // --ns: the namespaces of its process, as /proc shows them.
    let pid = h
        .run(&["inspect", "--format", "{{.State.Pid}}", "runner"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let pidns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    let pidns = pidns.to_string_lossy();
    let pidns = pidns.trim_start_matches("pid:[").trim_end_matches(']');
    let ns = ps(&h, &["--ns", "--filter", "name=runner"]);
    assert!(
        ns[0].starts_with("CONTAINER ID") && ns[0].contains("PIDNS"),
        "{ns:?}"
    );
    assert!(ns[1].contains(&pid) && ns[1].contains(pidns), "{ns:?}");
    let table = ps(&h, &["-a", "--noheading"]);
    assert_eq!(table.len(), 4, "{table:?}");
    assert!(table.iter().all(|l| !l.starts_with("CONTAINER ID")));

    for (filter, message) in [
        (
            "status=foo",
            "Error: unknown container state: foo: invalid argument",
        ),
        ("foo=bar", "Error: foo is an invalid filter"),
        (
            "since=nosuch",
            "Error: no container with name or ID \"nosuch\" found: no such container",
        ),
    ] {
        let out = h.run(&["ps", "--filter", filter]).fails_with(125);
        assert_eq!(out.stderr.trim(), message);
    }
    let out = h.run(&["ps", "--sort", "foo"]).fails_with(125);
    assert!(
        out.stderr.contains("\"foo\" is not a valid value"),
        "{out:?}"
    );
    h.run(&["rm", "-f", "-t", "0", "runner"]).ok();
}

#[test]
fn start_all_filter_and_what_it_prints() {
    let (_reg, h, img) = common::setup_with_busybox();
    let out = h.run(&["start", "--all", "12333"]).fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: either start all containers or the container(s) provided in the arguments"
    );
    let ok0 = run_d(&h, &img, "ok0", &["true"]);
    let bad1 = run_d(&h, &img, "bad1", &["false"]);
    let always = h
        .run(&[
            "run",
            "-d",
            "--network",
            "none",
            "--restart",
            "always",
            "--name",
            "always",
            &img,
            "sleep",
            "100",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    h.run(&["wait", "ok0", "bad1"]).ok();

    let out = h
        .run(&["start", "--filter", "restart-policy=always", "ok0"])
        .ok();
    assert_eq!(out.stdout, "");
    let out = h
        .run(&["start", "--filter", "restart-policy=none", "ok0"])
        .ok();
    assert_eq!(out.stdout.trim(), "ok0", "the name as typed");
    let out = h
        .run(&["start", "--filter", "restart-policy=fakepolicy", "ok0"])
        .fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: fakepolicy invalid restart policy"
    );
    h.run(&["wait", "ok0"]).ok();

    let out = h.run(&["start", "--all", "--filter", "exited=0"]).ok();
    assert_eq!(out.stdout.trim(), ok0, "full ids with --all");
    h.run(&["wait", "ok0"]).ok();
    let out = h.run(&["start", "--all"]).ok();
    let started: Vec<&str> = out.stdout.lines().collect();
    assert!(
        started.contains(&ok0.as_str()) && started.contains(&bad1.as_str()),
        "{out:?}"
    );
    assert!(
        !started.contains(&always.as_str()),
        "a running container is left alone"
    );
    let out = h.run(&["start", "always"]).ok();
    assert_eq!(out.stdout, "", "nothing to start, nothing printed");

    // A container whose command cannot run: start fails with 125, wait 0.
    h.run(&[
        "create",
        "--network",
        "none",
        "--name",
        "nocmd",
        &img,
        "/no/such/command",
    ])
    .ok();
    let out = h.run(&["wait", "nocmd"]).ok();
    assert_eq!(out.stdout.trim(), "0");
    let out = h.run(&["start", "nocmd"]).fails_with(125);
    assert!(
        out.stderr.starts_with("Error: unable to start container"),
        "{out:?}"
    );
    h.run(&["wait", "nocmd"]).ok();
    h.run(&["rm", "-a", "-f", "-t", "0"]).ok();
}

#[test]
fn stop_ignore_timeout_warning_and_all() {
    let (_reg, h, img) = common::setup_with_busybox();
    let out = h.run(&["stop", "nosuch"]).fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: no container with name or ID \"nosuch\" found: no such container"
    );
    let out = h.run(&["stop", "--ignore", "nosuch"]).ok();
    assert_eq!(out.stdout, "");

    // A container that traps SIGTERM stops at once, exit code its own.
    run_d(
        &h,
        &img,
        "trapper",
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit' TERM; echo READY; while :; do sleep 0.1; done",
        ],
    );
    wait_for_log(&h, "trapper", "READY");
    let out = h.run(&["stop", "--timeout=5", "trapper"]).ok();
    assert_eq!(out.stdout.trim(), "trapper");
    assert!(h.run(&["logs", "trapper"]).ok().stdout.contains("got TERM"));
    let out = h
        .run(&["inspect", "--format", "{{.State.ExitCode}}", "trapper"])
        .ok();
    assert_eq!(out.stdout.trim(), "0");

    // pid 1 ignores SIGTERM: podman's warning, then SIGKILL.
    run_d(&h, &img, "stopme", &["sleep", "100"]);
    let out = h.run(&["stop", "-t", "1", "stopme"]).ok();
    assert!(
        out.stderr.contains(
            "StopSignal SIGTERM failed to stop container stopme in 1 seconds, resorting to SIGKILL"
        ),
        "{out:?}"
    );
    assert_eq!(out.stdout.trim(), "stopme");
    let out = h
        .run(&["inspect", "--format", "{{.State.ExitCode}}", "stopme"])
        .ok();
    assert_eq!(out.stdout.trim(), "137");

    h.run(&["rm", "-a"]).ok();
    let id = run_d(&h, &img, "c1", &["sleep", "100"]);
    let out = h.run(&["stop", "--all", "-t", "0"]).ok();
    assert_eq!(out.stdout.trim(), id, "--all prints full ids");
    assert_eq!(state(&h, "c1"), "exited");
    let out = h
        .run(&["stop", "--filter", "name=c1", "c1"])
        .fails_with(125);
    assert_eq!(out.stderr.trim(), "Error: --filter takes no arguments");
    h.run(&["stop"]).fails_with(125);

    // restart: the name as typed, or ids with --all (--running: only those).
    let out = h.run(&["restart", "-t", "0", "c1"]).ok();
    assert_eq!(out.stdout.trim(), "c1");
    assert_eq!(state(&h, "c1"), "running");
    h.run(&["create", "--network", "none", "--name", "c2", &img])
        .ok();
    let out = h.run(&["restart", "--all", "--running", "-t", "0"]).ok();
    assert_eq!(out.stdout.trim(), id);
    h.run(&["rm", "-a", "-f", "-t", "0"]).ok();
}

#[test]
fn rm_running_depend_and_missing() {
    let (_reg, h, img) = common::setup_with_busybox();
    let id = run_d(&h, &img, "busy", &["sleep", "100"]);
    let out = h.run(&["rm", &id]).fails_with(2);
    assert_eq!(
        out.stderr.trim(),
        format!("Error: cannot remove container {id} as it is running - running or paused containers cannot be removed without force: container state improper")
    );
    h.run(&["rm", "-t", "0", "-f", &id]).ok();

    let base = h.run(&["create", &img]).ok().stdout.trim().to_string();
    let net = format!("container:{base}");
    let dep = h
        .run(&["create", "--network", &net, &img])
        .ok()
        .stdout
        .trim()
        .to_string();
    let out = h.run(&["rm", &base]).fails_with(125);
    assert!(
        out.stderr.starts_with(&format!(
            "Error: container {base} has dependent containers which must be removed before it: {dep}"
        )),
        "{out:?}"
    );
    let out = h.run(&["rm", "--depend", &base]).ok();
    assert_eq!(out.stdout, format!("{dep}\n{base}\n"), "dependents first");

    let out = h.run(&["container", "rm", "bogus"]).fails_with(1);
    assert_eq!(
        out.stderr.trim(),
        "Error: no container with name or ID \"bogus\" found: no such container"
    );
    let out = h.run(&["container", "rm", "--force", "bogus"]).ok();
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "");
}

#[test]
fn pause_unpause_all_and_kill_signals() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&["create", "--network", "none", "--name", "notrunning", &img])
        .ok();
    // Traps plain, real-time and the highest signals; echoes what came.
    let cid = run_d(
        &h,
        &img,
        "sig",
        &[
            "sh",
            "-c",
            "for i in 1 2 10 12 13 34 64; do trap \"echo got: $i\" $i; done; echo READY; while :; do sleep 0.05; done",
        ],
    );
    wait_for_log(&h, "sig", "READY");
    let mut seen = std::collections::HashMap::new();
    for (signal, number) in [
        ("64", "64"),
        ("RTMAX", "64"),
        ("SIGRTMIN", "34"),
        ("-1", "1"),
        ("-INT", "2"),
        ("-SIGUSR1", "10"),
        ("usr2", "12"),
        // Ignored by hoist's own runtime: the container must still get it.
        ("PIPE", "13"),
    ] {
        let out = h.run(&["kill", "-s", signal, "sig"]).ok();
        assert_eq!(out.stdout.trim(), "sig");
        let n = seen.entry(number).or_insert(0);
        *n += 1;
        wait_for_lines(&h, "sig", &format!("got: {number}"), *n);
    }
    for (signal, message) in [
        ("0", "Error: invalid signal: 0"),
        ("SIGBADSIG", "Error: invalid signal: SIGBADSIG"),
        ("-SIG", "Error: invalid signal: SIG"),
        ("%%", "Error: invalid signal: %%"),
        ("65", "Error: valid signals are 1 through 64"),
        ("-65", "Error: valid signals are 1 through 64"),
        ("99999999", "Error: valid signals are 1 through 64"),
    ] {
        let out = h
            .run(&["kill", "-s", signal, "nosuchcontainer"])
            .fails_with(125);
        assert_eq!(out.stderr.trim(), message, "kill -s {signal}");
    }

    let nr = id_of(&h, "notrunning");
    let out = h.run(&["kill", "notrunning"]).fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        format!("Error: can only kill running containers. {nr} is in state created: container state improper")
    );
    let out = h.run(&["unpause", "sig"]).fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        format!("Error: \"{cid}\" is not paused, can't unpause: container state improper")
    );
    let out = h.run(&["create", "--stop-signal=99", &img]).fails_with(125);
    assert_eq!(out.stderr.trim(), "Error: valid signals are 1 through 64");

    h.run(&["pause", &cid]).ok();
    assert_eq!(state(&h, "sig"), "paused");
    assert_eq!(
        ps(
            &h,
            &[
                "-a",
                "--filter",
                "name=sig",
                "--format",
                "{{.Names}} {{.Status}}"
            ]
        ),
        ["sig Paused"]
    );
    let out = h.run(&["unpause", "--all"]).ok();
    assert_eq!(out.stdout.trim(), cid, "only the paused container, by id");
    assert_eq!(state(&h, "sig"), "running");
    let out = h.run(&["pause", "--all"]).ok();
    assert_eq!(out.stdout.trim(), cid, "only the running container");
    h.run(&["unpause", "sig"]).ok();

    let out = h.run(&["kill", "--all"]).ok();
    assert_eq!(out.stdout.trim(), cid);
    let out = h.run(&["wait", "sig"]).ok();
    assert_eq!(out.stdout.trim(), "137");
    assert_eq!(id_of(&h, "sig"), cid);
    h.run(&["rm", "-a"]).ok();
    for cmd in ["pause", "unpause"] {
        let out = h.run(&[cmd, "sig"]).fails_with(125);
        assert!(out.stderr.contains("no such container"), "{out:?}");
    }
}

/// `h`'s command for `args`, started through nohup (SIGHUP ignored).
fn under_nohup(h: &Hoist, args: &[&str]) -> std::process::Output {
    let inner = h.command(args);
    let mut cmd = std::process::Command::new("nohup");
    cmd.arg(inner.get_program()).args(inner.get_args());
    for (key, value) in inner.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd.stdin(std::process::Stdio::null()).output().unwrap()
}

#[test]
fn workloads_start_with_every_signal_at_its_default() {
    let (_reg, h, img) = common::setup_with_busybox();
    // A caller that ignores SIGHUP (nohup) must not pass that on: a shell
    // cannot even trap a signal it found ignored.
    let none = "SigIgn:\t0000000000000000";
    let out = under_nohup(
        &h,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            &img,
            "grep",
            "^SigIgn",
            "/proc/self/status",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), none);
    // Nor what a detached container's monitor ignores.
    let out = under_nohup(
        &h,
        &[
            "run",
            "-d",
            "--name",
            "bg",
            "--network",
            "none",
            &img,
            "sleep",
            "1000",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let pid = h
        .run(&["inspect", "--format", "{{.State.Pid}}", "bg"])
        .ok()
        .stdout;
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
    assert!(status.contains(none), "{status}");
    h.run(&["rm", "-f", "-t", "0", "bg"]).ok();
}

/// `flock` holding the monitor lock of exited container `name`, in the
/// place of a monitor that has recorded the exit but not yet ended (it is
/// sending events, or doing a pod's or `--rm`'s work). Write a line to
/// its stdin to let go.
fn stand_in_for_an_ending_monitor(h: &Hoist, name: &str) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    hoist_testenv::require(&["flock"]);
    let lock = h
        .root()
        .join("containers")
        .join(id_of(h, name))
        .join("monitor.lock");
    let mut holder = Command::new("flock")
        .arg("-x")
        .arg(&lock)
        .args(["sh", "-c", "echo held; read -r _"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut held = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut held)
        .unwrap();
    assert_eq!(held.trim(), "held");
    assert_eq!(state(h, name), "exited");
    holder
}

/// Runs hoist `args` (at debug level) while `holder` stands in for the
/// ending monitor; lets go once the command logs that it waits for that
/// monitor, and returns the command's output. Fails if it never waited.
fn run_past_an_ending_monitor(
    h: &Hoist,
    mut holder: std::process::Child,
    args: &[&str],
) -> std::process::Output {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut cmd = h
        .command(&[&["--log-level", "debug"], args].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(cmd.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let waiting = line.contains("waiting for the monitor that recorded the exit to end");
        seen.push(line);
        if waiting {
            break;
        }
    }
    // The monitor's stand-in ends only now.
    writeln!(holder.stdin.take().unwrap()).unwrap();
    assert!(holder.wait().unwrap().success());
    let out = cmd.wait_with_output().unwrap();
    assert!(
        seen.last()
            .is_some_and(|l| l.contains("waiting for the monitor")),
        "{args:?} did not wait: {seen:?}"
    );
    out
}

/// A monitor that has recorded its container's exit but not yet ended
/// does not make a `start` right after `wait` a no-op: the start waits for
/// it, then starts the container.
#[test]
fn start_waits_for_a_monitor_that_is_ending() {
    let (_reg, h, img) = common::setup_with_busybox();
    run_d(&h, &img, "ended", &["true"]);
    h.run(&["wait", "ended"]).ok();
    let holder = stand_in_for_an_ending_monitor(&h, "ended");
    let out = run_past_an_ending_monitor(&h, holder, &["start", "ended"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ended");
    h.run(&["wait", "ended"]).ok();
    let starts = h
        .run(&[
            "events",
            "--stream=false",
            "--filter",
            "container=ended",
            "--filter",
            "event=start",
            "--format",
            "{{.Status}}",
        ])
        .ok();
    assert_eq!(starts.stdout.lines().count(), 2, "{starts:?}");
}

/// The same for `container init`: it used to refuse the container as
/// "already created in runtime" while its old monitor was ending.
#[test]
fn init_waits_for_a_monitor_that_is_ending() {
    let (_reg, h, img) = common::setup_with_busybox();
    run_d(&h, &img, "ended", &["true"]);
    h.run(&["wait", "ended"]).ok();
    let holder = stand_in_for_an_ending_monitor(&h, "ended");
    let out = run_past_an_ending_monitor(&h, holder, &["container", "init", "ended"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ended");
    assert_eq!(state(&h, "ended"), "initialized");
    h.run(&["start", "ended"]).ok();
    assert_eq!(h.run(&["wait", "ended"]).ok().stdout.trim(), "0");
}

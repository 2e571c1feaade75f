//! `logs` and the log drivers as podman's users know them: the k8s-file
//! log kept across restarts, `--tail`, `-t`, `--since`/`--until`, `-f` over
//! several containers in time order with id or name prefixes, and
//! `--log-driver`/`--log-opt` (json-file, none, passthrough, journald,
//! path=, max-size=) with podman's messages. Needs root and the test
//! registry.

mod common;

use std::time::Duration;

use hoist_testenv::{wait_until, Hoist};

const WAIT: Duration = Duration::from_secs(60);

fn log_lines(h: &Hoist, args: &[&str]) -> Vec<String> {
    let mut all = vec!["logs"];
    all.extend_from_slice(args);
    h.run(&all)
        .ok()
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// `<RFC 3339 time> <text>`, as `logs -t` prints a line.
fn assert_timestamped(line: &str, text: &str) {
    let (time, rest) = line.split_once(' ').expect("a time, a space, the text");
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok(),
        "not an RFC 3339 time: {line:?}"
    );
    assert_eq!(rest, text, "{line:?}");
}

#[test]
fn logs_tail_timestamps_since_until_and_restarts() {
    let (_reg, h, img) = common::setup_with_busybox();
    let run = [
        "run",
        "-d",
        "--network",
        "none",
        "--log-driver=k8s-file",
        "--name",
        "tl",
        &img,
        "sh",
        "-c",
        "echo test1; echo test2",
    ];
    h.run(&run).ok();
    h.run(&["wait", "tl"]).ok();
    let first = log_lines(&h, &["--tail", "1", "--timestamps", "tl"]);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_timestamped(&first[0], "test2");
    // A restart appends to the same log.
    h.run(&["restart", "tl"]).ok();
    h.run(&["wait", "tl"]).ok();
    assert_eq!(log_lines(&h, &["tl"]), ["test1", "test2", "test1", "test2"]);
    let second = log_lines(&h, &["-t", "--tail", "1", "tl"]);
    assert_timestamped(&second[0], "test2");
    assert_ne!(first, second, "the restart's line has its own time");
    // Unix times, RFC 3339 and durations.
    assert_eq!(log_lines(&h, &["--since", "1000", "tl"]).len(), 4);
    assert!(log_lines(&h, &["--until", "1000", "tl"]).is_empty());
    assert!(log_lines(&h, &["--since", "2099-01-01T00:00:00Z", "tl"]).is_empty());
    assert_eq!(log_lines(&h, &["--since", "10m", "tl"]).len(), 4);
    // A created container has an empty log, and -f on an exited one returns.
    h.run(&["create", "--name", "fresh", &img, "true"]).ok();
    assert!(log_lines(&h, &["fresh"]).is_empty());
    assert!(
        log_lines(&h, &["--latest"]).is_empty(),
        "fresh is the latest"
    );
    assert_eq!(log_lines(&h, &["-f", "tl"]).len(), 4);
    // -f stops at --until, even while the container runs on.
    h.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "long",
        &img,
        "sh",
        "-c",
        "echo up; sleep 300",
    ])
    .ok();
    wait_until(WAIT, "the first line of long", || {
        log_lines(&h, &["long"]) == ["up"]
    });
    let now = chrono::Utc::now().to_rfc3339();
    assert_eq!(log_lines(&h, &["-f", "--until", &now, "long"]), ["up"]);
    h.run(&["rm", "-f", "-t", "0", "long"]).ok();
}

#[test]
fn follow_several_containers_in_time_order_with_prefixes() {
    let (_reg, h, img) = common::setup_with_busybox();
    // Each line is stamped when its container's monitor reads it, not
    // when it is written: so each container waits for a file the test
    // creates only once the other's lines are in its log, and the lines
    // are stamped a, b, c, d however slow a monitor is.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let vol = format!("{d}:/s");
    let run_with = |name: &str, script: &str| -> String {
        let out = h
            .run(&[
                "run",
                "-d",
                "--network",
                "none",
                "-v",
                &vol,
                "--name",
                name,
                &img,
                "sh",
                "-c",
                script,
            ])
            .ok();
        out.stdout.trim()[..12].to_string()
    };
    let c1 = run_with(
        "c1",
        "echo a; until test -e /s/d; do sleep 0.1; done; echo d",
    );
    let c2 = run_with(
        "c2",
        "until test -e /s/b; do sleep 0.1; done; echo b; echo c",
    );
    let logged = |name: &str, lines: &[&str]| {
        wait_until(WAIT, &format!("{lines:?} in the log of {name}"), || {
            log_lines(&h, &[name]) == lines
        });
    };
    logged("c1", &["a"]);
    std::fs::write(dir.path().join("b"), "").unwrap();
    logged("c2", &["b", "c"]);
    std::fs::write(dir.path().join("d"), "").unwrap();
    let lines = log_lines(&h, &["-f", "c1", "c2"]);
    assert_eq!(
        lines,
        [
            format!("{c1} a"),
            format!("{c2} b"),
            format!("{c2} c"),
            format!("{c1} d")
        ]
    );
    let named = log_lines(&h, &["--names", "c2", "c1"]);
    assert_eq!(named, ["c1 a", "c2 b", "c2 c", "c1 d"]);
    // One container: no prefix, even with --names.
    assert_eq!(log_lines(&h, &["--names", "c2"]), ["b", "c"]);
    // --color: each container's lines in its own color (by its place on
    // the command line, podman's order), reset before the newline.
    let out = h.run(&["logs", "--color", "--names", "c2", "c1"]).ok();
    assert_eq!(
        out.stdout,
        "\x1b[31mc1 a\x1b[0m\n\x1b[37mc2 b\x1b[0m\n\x1b[37mc2 c\x1b[0m\n\x1b[31mc1 d\x1b[0m\n"
    );
    let out = h.run(&["logs", "--color", "c2"]).ok();
    assert_eq!(out.stdout, "\x1b[37mb\x1b[0m\n\x1b[37mc\x1b[0m\n");
}

#[test]
fn log_drivers_and_log_options() {
    let (_reg, h, img) = common::setup_with_busybox();
    let dir = tempfile::tempdir().unwrap();
    // none and passthrough keep nothing, but the attached output is there.
    for driver in ["none", "passthrough"] {
        let name = format!("d-{driver}");
        let out = h
            .run(&[
                "run",
                "--network",
                "none",
                "--log-driver",
                driver,
                "--name",
                &name,
                &img,
                "echo",
                "hi",
            ])
            .ok();
        assert_eq!(out.stdout, "hi\n");
        let err = h.run(&["logs", &name]).fails_with(125);
        assert_eq!(
            err.stderr.trim(),
            format!("Error: this container is using the '{driver}' log driver, cannot read logs: this container is not logging output")
        );
    }
    // json-file is written in the k8s-file format; path= puts it elsewhere.
    let path = dir.path().join("ctr.log");
    let opt = format!("path={}", path.display());
    h.run(&[
        "run",
        "--network",
        "none",
        "--log-driver",
        "json-file",
        "--log-opt",
        &opt,
        "--log-opt",
        "tag=x",
        "--name",
        "jf",
        &img,
        "echo",
        "hello",
    ])
    .ok();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with(" stdout F hello\n"), "{text:?}");
    assert_eq!(log_lines(&h, &["jf"]), ["hello"]);
    let conf = h
        .run(&[
            "inspect",
            "--format",
            "{{.HostConfig.LogConfig.Type}} {{.HostConfig.LogConfig.Tag}} {{.HostConfig.LogConfig.Size}} {{.HostConfig.LogConfig.Path}}",
            "jf",
        ])
        .ok();
    assert_eq!(
        conf.stdout.trim(),
        format!("json-file x 0B {}", path.display())
    );
    // max-size: the log starts over instead of growing past the limit.
    let small = dir.path().join("small.log");
    let opt = format!("path={}", small.display());
    h.run(&[
        "run",
        "--network",
        "none",
        "--log-opt",
        &opt,
        "--log-opt",
        "max-size=1k",
        &img,
        "sh",
        "-c",
        "for i in $(seq 1 200); do echo line $i; done",
    ])
    .ok();
    let len = std::fs::metadata(&small).unwrap().len();
    // podman's sizes are decimal: 1k is 1000 bytes.
    assert!(len <= 1000, "the log is {len} bytes");
    assert!(std::fs::read_to_string(&small)
        .unwrap()
        .ends_with(" stdout F line 200\n"));
    // podman's errors.
    let bad = h
        .run(&["create", "--log-opt", "bogus", &img, "true"])
        .fails_with(125);
    assert_eq!(bad.stderr.trim(), "Error: invalid log option \"bogus\"");
    let bad = h
        .run(&["create", "--log-driver", "syslog", &img, "true"])
        .fails_with(125);
    assert!(bad.stderr.contains("invalid log driver"), "{bad:?}");
    let journald = h.run(&["create", "--log-driver", "journald", &img, "true"]);
    if std::path::Path::new("/run/systemd/journal/socket").exists() {
        journald.ok();
    } else {
        let out = journald.fails_with(125);
        assert!(
            out.stderr
                .starts_with("Error: failed to initialize journal"),
            "{out:?}"
        );
    }
}

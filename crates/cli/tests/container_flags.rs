//! Bad `run`/`create`/`exec` flag values are refused when the command line
//! is read, with podman's exit code 125 and a message naming the flag and
//! the value, before anything is created; and log lines carry no colour
//! codes when stderr is not a terminal.

mod common;

use hoist_testenv::Hoist;

fn no_containers(h: &Hoist) {
    let ps = h.run(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    assert_eq!(ps.stdout, "", "nothing was created");
}

#[test]
fn an_environment_entry_without_a_name_is_refused() {
    let (_reg, h, img) = common::setup_with_busybox();
    for e in ["=x", "="] {
        let out = h
            .run(&["run", "--rm", "--network", "none", "-e", e, &img, "true"])
            .fails_with(125);
        assert!(
            out.stderr
                .contains(&format!("invalid environment variable: {e:?}")),
            "{out:?}"
        );
    }
    let file = h.base_dir().join("env");
    std::fs::write(&file, "A=1\n=oops\n").unwrap();
    let out = h
        .run(&["create", "--env-file", file.to_str().unwrap(), &img, "true"])
        .fails_with(125);
    assert!(
        out.stderr
            .contains("invalid environment variable: \"=oops\""),
        "{out:?}"
    );
    no_containers(&h);

    // exec checks its -e the same way.
    h.run(&[
        "run",
        "-d",
        "--name",
        "up",
        "--network",
        "none",
        &img,
        "sleep",
        "60",
    ])
    .ok();
    let out = h.run(&["exec", "-e", "=x", "up", "true"]).fails_with(125);
    assert!(
        out.stderr.contains("invalid environment variable: \"=x\""),
        "{out:?}"
    );
    h.run(&["rm", "-f", "-t", "0", "up"]).ok();
}

#[test]
fn numbers_that_overflow_are_refused_by_name() {
    let (_reg, h, img) = common::setup_with_busybox();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--memory", "99999999999999999g"],
            "invalid --memory value",
        ),
        (
            &["--memory", "9223372036854775808"],
            "invalid --memory value",
        ),
        (
            &["--memory", "1g", "--memory-swap", "99999999999999999g"],
            "invalid --memory-swap value",
        ),
        (
            &["--shm-size", "99999999999999999g"],
            "invalid --shm-size value",
        ),
        (&["--cpus", "1e30"], "invalid --cpus value"),
        (&["--cpus", "0.001"], "invalid --cpus value"),
        (&["--pids-limit", "-5"], "invalid --pids-limit value"),
        (
            &["--ulimit", "nofile=99999999999999999999:1"],
            "nofile=99999999999999999999:1",
        ),
        (&["--ulimit", "nofile=10:5"], "nofile=10:5"),
    ];
    for (flags, message) in cases {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&img, "true"]);
        let out = h.run(&args).fails_with(125);
        assert!(out.stderr.contains(message), "{flags:?}: {out:?}");
        if flags[0] != "--pids-limit" && flags[0] != "--ulimit" {
            assert!(!out.stderr.contains("-1"), "no wrapped value: {out:?}");
        }
    }
    no_containers(&h);
    // The largest values still work.
    h.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--memory",
        "8589934591g",
        "--cpus",
        "0.5",
        &img,
        "true",
    ])
    .ok();
}

#[test]
fn log_lines_have_no_colour_codes_off_a_terminal() {
    let (reg, h) = common::setup();
    // A debug-level pull of a missing image logs its connections.
    let out = h.run(&["--log-level", "debug", "pull", &reg.reference("nosuch:1")]);
    assert!(!out.success());
    assert!(
        out.stderr.contains(" level=debug "),
        "there are log lines: {out:?}"
    );
    assert!(!out.stderr.contains('\u{1b}'), "{out:?}");
}

/// podman's own system tests clean up with `ps --all --external` before
/// every test: hoist accepts it and lists the same containers.
#[test]
fn ps_accepts_external_and_lists_the_same_containers() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&["create", "--name", "ext1", &img, "true"]).ok();
    let plain = h.run(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    let external = h
        .run(&["ps", "--all", "--external", "--format", "{{.Names}}"])
        .ok();
    assert_eq!(plain.stdout, "ext1\n");
    assert_eq!(external.stdout, plain.stdout);
    h.run(&["rm", "ext1"]).ok();
}

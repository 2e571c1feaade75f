//! podman's command-line conventions through the real binary: usage errors
//! and their exit codes, global options, `version` and `info` layouts.
//! No registry is needed.

use std::process::Command;

use hoist_testenv::{Hoist, Output};

fn hoist() -> Hoist {
    Hoist::new(env!("CARGO_BIN_EXE_hoist"))
}

/// hoist run with exactly `args` (no `--root` first), its store in a temp dir.
fn bare(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
    cmd.args(args)
        .env("HOIST_ROOT", dir.path().join("root"))
        .env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Output {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout_bytes: out.stdout,
        command: format!("hoist {}", args.join(" ")),
    }
}

#[test]
fn no_command_prints_help_and_fails_with_125() {
    let out = bare(&[], &[]).fails_with(125);
    assert!(
        out.stdout.contains("Usage:\n  hoist [options] [command]"),
        "{out:?}"
    );
    assert!(out.stdout.contains("Available Commands:"), "{out:?}");
    assert_eq!(out.stderr, "Error: missing command 'hoist COMMAND'\n");
}

#[test]
fn unknown_flags_are_125_with_podmans_wording() {
    let h = hoist();
    let out = h.run(&["version", "--foo"]).fails_with(125);
    assert_eq!(
        out.stderr,
        "Error: unknown flag: --foo\nSee 'hoist version --help'\n"
    );
    let out = h.run(&["--foo=1", "version"]).fails_with(125);
    assert_eq!(
        out.stderr,
        "Error: unknown flag: --foo\nSee 'hoist --help'\n"
    );
    let out = h.run(&["ps", "-Z"]).fails_with(125);
    assert_eq!(
        out.stderr,
        "Error: unknown shorthand flag: 'Z' in -Z\nSee 'hoist ps --help'\n"
    );
    let out = h.run(&["image", "ls", "--bogus"]).fails_with(125);
    assert!(
        out.stderr.ends_with("See 'hoist image ls --help'\n"),
        "{out:?}"
    );
}

#[test]
fn argument_errors_are_125() {
    let h = hoist();
    let out = h.run(&["version", "extra"]).fails_with(125);
    assert_eq!(out.stderr, "Error: `hoist version` takes no arguments\n");
    let out = h.run(&["pull"]).fails_with(125);
    assert!(
        out.stderr
            .starts_with("Error: `hoist pull` requires at least one more argument: IMAGES"),
        "{out:?}"
    );
    let out = h.run(&["ps", "--format"]).fails_with(125);
    assert_eq!(
        out.stderr,
        "Error: flag needs an argument: --format\nSee 'hoist ps --help'\n"
    );
    // A shorthand is named as typed; on run, create and pod create `-h`
    // is --hostname (help is --help only), as in podman.
    for (args, see) in [
        (vec!["run", "-u"], "'u' in -u\nSee 'hoist run --help'"),
        (vec!["run", "-h"], "'h' in -h\nSee 'hoist run --help'"),
        (vec!["create", "-h"], "'h' in -h\nSee 'hoist create --help'"),
        (
            vec!["container", "run", "-dh"],
            "'h' in -h\nSee 'hoist container run --help'",
        ),
        (
            vec!["pod", "create", "-h"],
            "'h' in -h\nSee 'hoist pod create --help'",
        ),
    ] {
        let out = h.run(&args).fails_with(125);
        assert_eq!(
            out.stderr,
            format!("Error: flag needs an argument: {see}\n")
        );
    }
    for cmd in [vec!["run", "--help"], vec!["pod", "create", "--help"]] {
        let help = h.run(&cmd).ok().stdout;
        assert!(help.contains("-h, --hostname"), "{help}");
    }
    let out = h
        .run(&["--events-backend", "carrier-pigeon", "version"])
        .fails_with(125);
    assert!(
        out.stderr.starts_with(
            "Error: invalid argument \"carrier-pigeon\" for \"--events-backend\" flag"
        ),
        "{out:?}"
    );
}

#[test]
fn unknown_and_missing_subcommands_are_125() {
    let h = hoist();
    let out = h.run(&["nosuch"]).fails_with(125);
    assert_eq!(
        out.stderr,
        "Error: unrecognized command `hoist nosuch`\nTry 'hoist --help' for more information\n"
    );
    // A near miss gets the commands within two edits or that start with
    // it; a group's own commands get none, and a bad flag is told first.
    let out = h.run(&["pss"]).fails_with(125);
    let (said, meant) = out
        .stderr
        .split_once("\n\nDid you mean this?\n")
        .expect(&out.stderr);
    assert_eq!(said, "Error: unrecognized command `hoist pss`");
    let mut meant: Vec<&str> = meant.lines().take_while(|l| !l.is_empty()).collect();
    meant.sort_unstable();
    assert_eq!(meant, ["\tpod", "\tps", "\tpush"]);
    assert!(
        out.stderr
            .ends_with("\n\nTry 'hoist --help' for more information\n"),
        "{out:?}"
    );
    let out = h.run(&["image", "bad"]).fails_with(125);
    assert_eq!(
        out.stderr,
        "Error: unrecognized command `hoist image bad`\nTry 'hoist image --help' for more information\n"
    );
    let out = h.run(&["bad", "--invalid"]).fails_with(125);
    assert_eq!(
        out.stderr,
        "Error: unknown flag: --invalid\nSee 'hoist --help'\n"
    );
    let out = h.run(&["image"]).fails_with(125);
    assert!(
        out.stdout.contains("Usage:\n  hoist image [command]"),
        "{out:?}"
    );
    assert_eq!(out.stderr, "Error: missing command 'hoist image COMMAND'\n");
}

#[test]
fn help_in_every_spelling() {
    for args in [&["help"][..], &["--help"], &["-h"]] {
        let out = bare(args, &[]).ok();
        assert!(
            out.stdout.contains("Usage:\n  hoist [options] [command]"),
            "{out:?}"
        );
        assert!(out.stdout.contains(" --remote "), "{out:?}");
    }
    let out = hoist().run(&["pull", "--help"]).ok();
    assert!(
        out.stdout
            .contains("Usage:\n  hoist pull [options] IMAGE [IMAGE...]\n"),
        "{out:?}"
    );
    assert!(out.stdout.contains("\nOptions:\n"), "{out:?}");
    let out = hoist().run(&["help", "version"]).ok();
    assert!(
        out.stdout.contains("Usage:\n  hoist version [options]"),
        "{out:?}"
    );
}

#[test]
fn remote_is_hidden_from_help_when_a_service_is_named() {
    for (args, env) in [
        (&["--url", "foobar", "--help"][..], &[][..]),
        (&["--connection", "foobar", "--help"], &[]),
        (&["--help"], &[("CONTAINER_HOST", "foobar")]),
        (&["--help"], &[("CONTAINER_CONNECTION", "foobar")]),
    ] {
        let out = bare(args, env).ok();
        assert!(!out.stdout.contains(" --remote "), "{out:?}");
    }
}

#[test]
fn remote_mode_is_refused_clearly() {
    let out = bare(&["--remote"], &[]).fails_with(125);
    assert!(out.stdout.contains("Usage:"), "{out:?}");
    let out = hoist().run(&["--remote", "version"]).fails_with(125);
    assert!(out.stderr.contains("hoist has no remote mode"), "{out:?}");
    let out = hoist()
        .run(&["--url", "unix:/x.sock", "ps"])
        .fails_with(125);
    assert!(out.stderr.contains("--url"), "{out:?}");
    // --remote belongs before the command.
    let out = hoist().run(&["version", "--remote"]).fails_with(125);
    assert_eq!(
        out.stderr,
        "Error: unknown flag: --remote\nSee 'hoist version --help'\n"
    );
    hoist().run(&["--context=default", "version"]).ok();
}

#[test]
fn a_flag_given_twice_keeps_the_last_value() {
    let out = hoist()
        .run(&[
            "version",
            "--format",
            "json",
            "--format",
            "{{.Client.Version}}",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn negative_numbers_are_values() {
    // `--memory-swap -1` must reach the flag as its value, not fail as an
    // unknown flag `-1`; the container cannot be created (no image), which
    // is a different error.
    let out = hoist().run(&["create", "--memory-swap", "-1", "no-such-image-here"]);
    assert!(!out.stderr.contains("unknown"), "{out:?}");
    assert!(!out.stderr.contains("flag"), "{out:?}");
}

#[test]
fn log_levels_as_podman() {
    let h = hoist();
    let out = h.run(&["--log-level=telepathic", "info"]).fails_with(1);
    assert_eq!(
        out.stderr,
        "Log Level \"telepathic\" is not supported, choose from: trace, debug, info, warn, warning, error, fatal, panic\n"
    );
    let out = h.run(&["--log-level=trace", "info"]).ok();
    for level in ["trace", "debug", "info"] {
        assert!(out.stderr.contains(&format!(" level={level} ")), "{out:?}");
    }
    assert!(out.stderr.starts_with("time=\""), "{out:?}");
    assert!(!out.stderr.contains(" level=warn"), "{out:?}");
    let out = h.run(&["--log-level=info", "info"]).ok();
    assert!(out.stderr.contains(" level=info "), "{out:?}");
    assert!(!out.stderr.contains(" level=debug "), "{out:?}");
    for level in ["warn", "warning", "error", "fatal", "panic"] {
        let out = h.run(&[&format!("--log-level={level}"), "info"]).ok();
        assert!(!out.stderr.contains(" level="), "{level}: {out:?}");
    }
    for flag in ["--debug", "-D"] {
        let out = h.run(&[flag, "info"]).ok();
        assert!(out.stderr.contains(" level=debug "), "{out:?}");
    }
    let out = h
        .run(&["--debug", "--log-level=panic", "info"])
        .fails_with(1);
    assert_eq!(
        out.stderr,
        "Setting --log-level and --debug is not allowed\n"
    );
}

/// A containers.conf key hoist does not know is skipped, as podman skips
/// the keys of other tools; `--log-level=debug` names it, quieter levels
/// say nothing of it. A value of the wrong type is still an error.
#[test]
fn unknown_containers_conf_keys_are_named_only_at_debug() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("containers.conf");
    std::fs::write(
        &conf,
        "[containers]\npids_limit = 77\nfuture_key = 1\n[machine]\ncpus = 2\n",
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    let named = |out: &Output, key: &str| {
        out.stderr.lines().any(|l| {
            l.contains("ignoring containers.conf key") && l.contains(&format!("key={key}"))
        })
    };
    let out = bare(&["--log-level=debug", "info"], &[("CONTAINERS_CONF", conf)]).ok();
    assert!(named(&out, "containers.future_key"), "{out:?}");
    assert!(named(&out, "machine"), "{out:?}");
    assert!(!named(&out, "containers.pids_limit"), "{out:?}");
    let out = bare(&["info"], &[("CONTAINERS_CONF", conf)]).ok();
    assert!(!out.stderr.contains("future_key"), "{out:?}");
    std::fs::write(conf, "[containers]\npids_limit = \"many\"\n").unwrap();
    let out = bare(&["create", "busybox"], &[("CONTAINERS_CONF", conf)]).fails_with(125);
    assert!(
        out.stderr.contains("at line 2, column 14: invalid type"),
        "{out:?}"
    );
}

#[test]
fn version_in_podmans_layout() {
    let h = hoist();
    let out = h.run(&["version"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "Client:       hoist");
    assert_eq!(
        lines[1],
        format!("Version:      {}", env!("CARGO_PKG_VERSION"))
    );
    for key in [
        "API Version:  ",
        "Go Version:   ",
        "Built:        ",
        "OS/Arch:      ",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(key)), "{key}: {out:?}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&h.run(&["version", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(json["Client"]["Version"], env!("CARGO_PKG_VERSION"));
    assert!(json["Client"]["Built"].as_i64().unwrap() > 1_546_300_800);
    let out = h
        .run(&[
            "version",
            "--format",
            "{{.Client.Version}} {{.Server.Version}}",
        ])
        .ok();
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(out.stdout, format!("{v} {v}\n"));
    for flag in ["-v", "--version"] {
        let out = bare(&[flag], &[]).ok();
        assert_eq!(out.stdout, format!("hoist version {v}\n"));
    }
}

#[test]
fn info_is_yaml_with_podmans_keys() {
    let out = hoist().run(&["info"]).ok();
    for key in [
        "host:\n",
        "  buildahVersion: ",
        "  conmon:\n    package: ",
        "  distribution:\n",
        "  logDriver: k8s-file\n",
        "  ociRuntime:\n    name: hoist\n",
        "  cgroupManager: cgroupfs\n",
        "  cgroupVersion: v",
        "  rootless: ",
        "registries:\n",
        "store:\n",
        "  graphDriverName: overlay\n",
        "  graphOptions: {}\n",
        "  graphRoot: /",
        "  graphStatus: {}\n",
        "  imageStore:\n    number: 0\n",
        "  runRoot: /",
    ] {
        assert!(out.stdout.contains(key), "{key:?} missing: {out:?}");
    }
}

#[test]
fn info_json_and_templates_follow_the_global_options() {
    let h = hoist();
    let json: serde_json::Value =
        serde_json::from_str(&h.run(&["info", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(json["store"]["graphRoot"], h.root().display().to_string());
    assert_eq!(json["store"]["imageStore"]["number"], 0);
    assert!(json["host"]["ociRuntime"]["path"]
        .as_str()
        .unwrap()
        .starts_with('/'));
    assert_eq!(json["host"]["eventLogger"], "file");

    let volumes = h.base_dir().join("volumes-here");
    let run = h.base_dir().join("run-here");
    let out = h
        .run(&[
            "--storage-driver=vfs",
            "--storage-opt=",
            "--volumepath",
            volumes.to_str().unwrap(),
            "--runroot",
            run.to_str().unwrap(),
            "--events-backend=none",
            "--cgroup-manager=cgroupfs",
            "info",
            "--format",
            "{{.Store.GraphDriverName}} {{ .Store.GraphOptions }} {{.Store.VolumePath}} {{.Store.RunRoot}} {{.Host.EventLogger}} {{.Host.CgroupsVersion}} {{.Host.LogDriver}}",
        ])
        .ok();
    let fields: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fields[0], "vfs");
    assert_eq!(fields[1], "map[]");
    assert_eq!(fields[2], volumes.to_str().unwrap());
    assert_eq!(fields[3], run.to_str().unwrap());
    assert_eq!(fields[4], "none");
    assert!(fields[5].starts_with('v'), "{out:?}");
    assert_eq!(fields[6], "k8s-file");
}

#[test]
fn podmans_other_global_options_are_accepted() {
    let h = hoist();
    h.run(&[
        "--runtime",
        "runc",
        "--runtime-flag",
        "--debug",
        "--tmpdir",
        "/tmp",
        "--network-config-dir",
        "/tmp",
        "--default-mounts-file",
        "/dev/null",
        "--identity",
        "/dev/null",
        "--ssh",
        "native",
        "--hooks-dir",
        "/tmp",
        "--syslog",
        "version",
    ])
    .ok();
    let out = h.run(&["--config", "/tmp", "version"]).ok();
    assert!(out.stderr.contains("level=warning"), "{out:?}");
    assert!(out.stderr.contains("--config flag is ignored"), "{out:?}");
    let out = h.run(&["--noout", "version"]).ok();
    assert_eq!(out.stdout, "");
}

#[test]
fn ps_accepts_external() {
    let out = hoist().run(&["ps", "--all", "--external"]).ok();
    assert!(out.stdout.starts_with("CONTAINER ID"), "{out:?}");
}

#[test]
fn a_reader_that_goes_away_ends_hoist_quietly() {
    // The read end is closed before hoist starts: its first write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["--root", dir.path().to_str().unwrap(), "version"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

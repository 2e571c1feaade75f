//! `exec` and `-t` through the hoist binary with real containers: exit
//! codes, env/user/workdir, stdin, detached execs, terminals (a pty made
//! for the test by `script`), window sizes, logs of terminal output.

mod common;

use std::process::Command;

use hoist_testenv::Hoist;

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Runs `hoist args` on a fresh pty (util-linux `script`), with `stty`
/// run first on that pty; returns what the terminal showed and the exit code.
fn on_tty(hoist: &Hoist, stty: &str, args: &[&str]) -> (String, i32) {
    let mut cmd = hoist.command_on_pty_after(&format!("stty {stty}"), args);
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running script");
    (
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn exec_runs_in_the_container_with_podman_exit_codes() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "e1",
            "--network",
            "none",
            "--hostname",
            "boxy",
            &img,
            "sh",
            "-c",
            "echo marker > /tmp/m; exec sleep 60",
        ])
        .ok();
    // Same mount, uts and pid namespaces as the init.
    let out = hoist
        .run(&[
            "exec",
            "e1",
            "sh",
            "-c",
            "cat /tmp/m; hostname; cat /proc/1/comm",
        ])
        .ok();
    assert_eq!(out.stdout, "marker\nboxy\nsleep\n");
    // The container's seccomp filter and capabilities, not more: podman's
    // default set (CAP_SYS_ADMIN, lent for the filter install, is gone).
    let out = hoist
        .run(&[
            "exec",
            "e1",
            "grep",
            "-E",
            "^(CapPrm|CapEff|Seccomp):",
            "/proc/self/status",
        ])
        .ok();
    assert_eq!(
        out.stdout,
        "CapPrm:\t00000000800405fb\nCapEff:\t00000000800405fb\nSeccomp:\t2\n"
    );
    hoist
        .run(&["exec", "e1", "sh", "-c", "exit 5"])
        .fails_with(5);
    let out = hoist.run(&["exec", "e1", "nosuchcmd"]).fails_with(127);
    assert!(out.stderr.contains("nosuchcmd"), "{out:?}");
    hoist.run(&["exec", "e1", "/etc/passwd"]).fails_with(126);
    let out = hoist
        .run(&[
            "exec",
            "-e",
            "FOO=bar",
            "-u",
            "1000:1000",
            "-w",
            "/tmp",
            "e1",
            "sh",
            "-c",
            "echo $FOO; id -u; id -g; pwd",
        ])
        .ok();
    assert_eq!(out.stdout, "bar\n1000\n1000\n/tmp\n");
    // -i gives it our stdin; without -i it reads nothing.
    let out = hoist
        .run_stdin(&["exec", "-i", "e1", "cat"], b"fed in\n")
        .ok();
    assert_eq!(out.stdout, "fed in\n");
    let out = hoist.run_stdin(&["exec", "e1", "cat"], b"fed in\n").ok();
    assert_eq!(out.stdout, "");
    // -d returns while its process still runs (it waits for /tmp/go, which
    // only appears after -d returned), and the process carries on.
    hoist
        .run(&[
            "exec",
            "-d",
            "e1",
            "sh",
            "-c",
            "while [ ! -f /tmp/go ]; do sleep 0.05; done; touch /tmp/done",
        ])
        .ok();
    hoist
        .run(&["exec", "e1", "test", "-f", "/tmp/done"])
        .fails_with(1);
    hoist.run(&["exec", "e1", "touch", "/tmp/go"]).ok();
    hoist_testenv::wait_until(
        std::time::Duration::from_secs(30),
        "the detached exec to finish its work",
        || {
            hoist
                .run(&["exec", "e1", "test", "-f", "/tmp/done"])
                .success()
        },
    );
    hoist.run(&["exec", "nosuch", "true"]).fails_with(125);
    hoist.run(&["stop", "-t", "0", "e1"]).ok();
    let out = hoist.run(&["exec", "e1", "true"]).fails_with(125);
    assert!(
        out.stderr.contains("not") || out.stderr.contains("exited"),
        "{out:?}"
    );
    hoist.run(&["rm", "e1"]).ok();
}

#[test]
fn terminals_for_run_and_exec() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    // run -t: a pty from the container's own devpts, our size, exit code kept.
    let (out, code) = on_tty(
        &hoist,
        "rows 33 cols 101",
        &[
            "run",
            "--rm",
            "-t",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "tty; stty size; test -t 0 && echo stdin-tty; exit 3",
        ],
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("/dev/pts/0\n"), "{out:?}");
    assert!(out.contains("33 101\n"), "{out:?}");
    assert!(out.contains("stdin-tty\n"), "{out:?}");
    // The terminal output is logged too.
    hoist
        .run(&[
            "run",
            "-d",
            "-t",
            "--name",
            "t1",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "echo logged-line; exec sleep 60",
        ])
        .ok();
    hoist_testenv::wait_until(
        std::time::Duration::from_secs(30),
        "the container's first line in its log",
        || {
            hoist
                .run(&["logs", "t1"])
                .ok()
                .stdout
                .contains("logged-line")
        },
    );
    // exec -t.
    let (out, code) = on_tty(
        &hoist,
        "rows 20 cols 70",
        &[
            "exec",
            "-t",
            "t1",
            "sh",
            "-c",
            "tty; sleep 0.3; stty size; exit 4",
        ],
    );
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("/dev/pts/"), "{out:?}");
    assert!(out.contains("20 70\n"), "{out:?}");
    // Without -t there is no terminal, even on a terminal.
    let (out, _) = on_tty(&hoist, "sane", &["exec", "t1", "sh", "-c", "tty || true"]);
    assert!(out.contains("not a tty"), "{out:?}");
    hoist.run(&["rm", "-f", "t1"]).ok();
}

/// Runs `hoist args` from a shell that opens `file` as descriptor 3.
fn with_fd3(hoist: &Hoist, file: &std::path::Path, args: &[&str]) -> std::process::Output {
    let inner = hoist.command(args);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "exec \"$0\" \"$@\" 3<{}",
            quote(file.to_str().unwrap())
        ))
        .arg(inner.get_program())
        .args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.stdin(std::process::Stdio::null())
        .output()
        .expect("running hoist from sh")
}

/// Starts container `name` of `img`, detached, sleeping for ten minutes.
fn start_sleeper(hoist: &Hoist, img: &str, name: &str) {
    let args = [
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        img,
        "sleep",
        "600",
    ];
    hoist.run(&args).ok();
}

#[test]
fn exec_takes_env_files_privileges_passed_descriptors_and_latest() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    start_sleeper(&hoist, &img, "x1");
    let dir = tempfile::tempdir().unwrap();
    // --env-file lines, then -e over them; comments and blank lines skipped.
    let env_file = dir.path().join("env");
    std::fs::write(&env_file, "A=from-file\n# a comment\n\nB=two words\n").unwrap();
    let out = hoist
        .run(&[
            "exec",
            "--env-file",
            env_file.to_str().unwrap(),
            "-e",
            "A=from-flag",
            "x1",
            "sh",
            "-c",
            "echo \"$A|$B\"",
        ])
        .ok();
    assert_eq!(out.stdout, "from-flag|two words\n");
    // --privileged: every capability of the host's bounding set, where the
    // container's own processes keep podman's default set.
    let caps = |args: &[&str]| {
        let mut all = vec!["exec"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["x1", "grep", "^CapEff:", "/proc/self/status"]);
        hoist.run(&all).ok().stdout
    };
    assert_eq!(caps(&[]), "CapEff:\t00000000800405fb\n");
    let host_bounding = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_string()))
        .unwrap();
    assert_eq!(
        caps(&["--privileged"]),
        format!("CapEff:\t{host_bounding}\n")
    );
    // --preserve-fds 1: descriptor 3 reaches the process as it is.
    let given = dir.path().join("given");
    std::fs::write(&given, "through fd 3\n").unwrap();
    let out = with_fd3(
        &hoist,
        &given,
        &[
            "exec",
            "--preserve-fds",
            "1",
            "x1",
            "cat",
            "/proc/self/fd/3",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "through fd 3\n",
        "{out:?}"
    );
    // Without the flag the process does not get it; asking for one more
    // than was opened is podman's usage error.
    let out = with_fd3(&hoist, &given, &["exec", "x1", "cat", "/proc/self/fd/3"]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    let out = with_fd3(
        &hoist,
        &given,
        &["exec", "--preserve-fds", "2", "x1", "true"],
    );
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("descriptor 4"),
        "{out:?}"
    );
    // -l: the newest container; every argument is the command's.
    start_sleeper(&hoist, &img, "x2");
    let out = hoist
        .run(&["exec", "-l", "sh", "-c", "hostname; echo $0", "zero"])
        .ok();
    let x2_host = hoist
        .run(&["inspect", "-f", "{{.Config.Hostname}}", "x2"])
        .ok()
        .stdout;
    assert_eq!(out.stdout, format!("{}zero\n", x2_host));
    // podman's messages for what cannot work.
    let out = hoist.run(&["exec"]).fails_with(125);
    assert!(
        out.stderr
            .contains("requires the name or ID of a container or the --latest flag"),
        "{out:?}"
    );
    let out = hoist
        .run(&["exec", "--detach-keys", "bogus", "x1", "true"])
        .fails_with(125);
    assert!(out.stderr.contains("detach keys"), "{out:?}");
    hoist.run(&["rm", "-f", "-t", "0", "x1", "x2"]).ok();
}

//! The container commands podman 4.3 has beyond the basic life cycle:
//! `container init` (state `initialized`, then `start` only starts it),
//! `rename`, `attach` (output, exit code, --sig-proxy, detach keys),
//! `container prune` (asks unless --force, --filter), `container clone`
//! (--name, resource overrides, --destroy, --run) and `update` (cgroup v1
//! limits of a running container, kept across a restart), with podman's
//! messages, exit codes and events. Needs root and the test registry.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use hoist_testenv::{wait_until, Hoist};

const WAIT: Duration = Duration::from_secs(60);

/// The test registry and a hoist with the busybox image, recording events
/// in its own file (whatever this machine's journald offers).
fn setup() -> (hoist_testenv::Registry, Hoist, String) {
    let (reg, mut h, img) = common::setup_with_busybox();
    h.global_args(&["--events-backend", "file"]);
    (reg, h, img)
}

fn fmt(h: &Hoist, format: &str, name: &str) -> String {
    let out = h.run(&["inspect", "--format", format, name]).ok();
    out.stdout.trim().to_string()
}

fn events(h: &Hoist, name: &str) -> Vec<String> {
    let out = h
        .run(&[
            "events",
            "--stream=false",
            "--filter",
            &format!("container={name}"),
            "--format",
            "{{.Status}}",
        ])
        .ok();
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn init_rename_and_prune() {
    let (_reg, h, img) = setup();
    let create = |name: &str, extra: &[&str]| {
        let mut args = vec!["create", "--network", "none", "--name", name];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&img, "sleep", "100"]);
        h.run(&args).ok().stdout.trim().to_string()
    };
    let id = create("c1", &[]);

    // init: initialized, then start only starts it.
    assert_eq!(h.run(&["container", "init", "c1"]).ok().stdout, "c1\n");
    assert_eq!(fmt(&h, "{{.State.Status}}", "c1"), "initialized");
    let ps = h
        .run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .ok();
    assert!(ps.stdout.contains("c1 Initialized"), "{ps:?}");
    let ps = h
        .run(&[
            "ps",
            "-a",
            "--filter",
            "status=initialized",
            "--format",
            "{{.Names}}",
        ])
        .ok();
    assert_eq!(ps.stdout, "c1\n");
    let again = h.run(&["init", "c1"]).fails_with(125);
    assert_eq!(
        again.stderr.trim(),
        format!(
            "Error: container {id} has already been created in runtime: container state improper"
        )
    );
    h.run(&["start", "c1"]).ok();
    assert_eq!(fmt(&h, "{{.State.Status}}", "c1"), "running");
    assert_eq!(events(&h, "c1"), ["create", "init", "start"]);
    let none = h.run(&["init"]).fails_with(125);
    assert!(none.stderr.contains("at least one name or id"), "{none:?}");
    let missing = h.run(&["init", "nosuch"]).fails_with(125);
    assert!(missing.stderr.contains("no such container"), "{missing:?}");

    // rename, running: the new name finds it, the old one no longer does.
    assert_eq!(h.run(&["rename", "c1", "c2"]).ok().stdout, "");
    assert_eq!(fmt(&h, "{{.Id}}", "c2"), id);
    h.run(&["inspect", "c1"]).fails_with(125);
    assert_eq!(events(&h, "c2").last().map(String::as_str), Some("rename"));
    create("other", &[]);
    let taken = h
        .run(&["container", "rename", "c2", "other"])
        .fails_with(125);
    assert_eq!(
        taken.stderr.trim(),
        format!("Error: renaming container {id}: name other already in use, cannot rename container {id}: container already exists")
    );
    let bad = h.run(&["rename", "c2", "bad/name"]).fails_with(125);
    assert_eq!(
        bad.stderr.trim(),
        "Error: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
    );
    let few = h.run(&["rename", "c2"]).fails_with(125);
    assert_eq!(few.stderr.trim(), "Error: accepts 2 arg(s), received 1");
    h.run(&["rename", "nosuch", "x"]).fails_with(125);
    // The old name is free again.
    create("c1", &[]);

    // prune: asks first, keeps running containers, --filter picks.
    let labelled = create("labelled", &["--label", "drop=yes"]);
    let asked = h.run_stdin(&["container", "prune"], b"n\n").ok();
    assert!(asked
        .stdout
        .contains("Are you sure you want to continue? [y/N]"));
    assert_eq!(h.run(&["ps", "-aq"]).ok().stdout.lines().count(), 4);
    let pruned = h
        .run(&["container", "prune", "-f", "--filter", "label=drop=yes"])
        .ok();
    assert_eq!(pruned.stdout.trim(), labelled);
    let pruned = h.run(&["container", "prune", "--force"]).ok();
    assert_eq!(pruned.stdout.lines().count(), 2, "{pruned:?}");
    let left = h.run(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    assert_eq!(left.stdout.trim(), "c2");
    h.run(&["container", "prune", "extra"]).fails_with(125);
    // The monitor's events after a rename carry the new name.
    h.run(&["stop", "-t0", "c2"]).ok();
    let after = events(&h, "c2");
    assert!(
        after.ends_with(&["died".into(), "cleanup".into()]),
        "{after:?}"
    );
    h.run(&["rm", "-f", "-t0", "c2"]).ok();
}

/// A cgroup v1 file of container `id`.
fn cgroup(ctl: &str, id: &str, file: &str) -> String {
    let p = format!("/sys/fs/cgroup/{ctl}/hoist/{id}/{file}");
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("reading {p}: {e}"))
        .trim()
        .to_string()
}

#[test]
fn update_sets_limits_that_outlive_a_restart() {
    let (_reg, h, img) = setup();
    let id = h
        .run(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "u",
            &img,
            "sleep",
            "1000",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    let out = h
        .run(&[
            "update",
            "--cpu-shares",
            "512",
            "--cpus",
            "1.5",
            "--memory",
            "256m",
            "--memory-reservation",
            "100m",
            "--pids-limit",
            "50",
            "u",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), id);
    let check = || {
        assert_eq!(cgroup("cpu", &id, "cpu.shares"), "512");
        assert_eq!(cgroup("cpu", &id, "cpu.cfs_quota_us"), "150000");
        assert_eq!(cgroup("memory", &id, "memory.limit_in_bytes"), "268435456");
        assert_eq!(
            cgroup("memory", &id, "memory.soft_limit_in_bytes"),
            "104857600"
        );
        assert_eq!(cgroup("pids", &id, "pids.max"), "50");
    };
    check();
    // The container sees its own limits.
    let inside = h
        .run(&["exec", "u", "cat", "/sys/fs/cgroup/cpu/cpu.shares"])
        .ok();
    assert_eq!(inside.stdout.trim(), "512");
    let kept = fmt(
        &h,
        "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}",
        "u",
    );
    assert_eq!(kept, "268435456 1500000000 50");
    h.run(&["restart", "-t0", "u"]).ok();
    check();

    // A stopped container keeps them for its next start.
    h.run(&["stop", "-t0", "u"]).ok();
    h.run(&[
        "container",
        "update",
        "--memory",
        "128m",
        "--cpu-shares",
        "256",
        "u",
    ])
    .ok();
    h.run(&["start", "u"]).ok();
    assert_eq!(cgroup("memory", &id, "memory.limit_in_bytes"), "134217728");
    assert_eq!(cgroup("cpu", &id, "cpu.shares"), "256");

    // --cpus 0: no CPU limit.
    h.run(&["update", "--cpus", "0", "u"]).ok();
    assert_eq!(cgroup("cpu", &id, "cpu.cfs_quota_us"), "-1");
    let swap = h
        .run(&["update", "--memory-swap", "64m", "u"])
        .fails_with(125);
    assert!(
        swap.stderr.contains("lower than the memory limit"),
        "{swap:?}"
    );
    let bad = h
        .run(&["update", "--blkio-weight", "5", "u"])
        .fails_with(125);
    assert!(bad.stderr.contains("10 to 1000"), "{bad:?}");
    h.run(&["update", "--memory", "lots", "u"]).fails_with(125);
    let missing = h.run(&["update", "--cpus", "1", "nosuch"]).fails_with(125);
    assert!(missing.stderr.contains("no such container"), "{missing:?}");
    h.run(&["update", "--cpus", "1"]).fails_with(125);
    h.run(&["rm", "-f", "-t0", "u"]).ok();
}

#[test]
fn clone_copies_a_container() {
    let (_reg, h, img) = setup();
    h.run(&[
        "create",
        "--network",
        "none",
        "--name",
        "orig",
        "--label",
        "a=b",
        "--env",
        "X=1",
        &img,
        "sh",
        "-c",
        "echo cloned $X",
    ])
    .ok();
    let id = h
        .run(&["container", "clone", "orig"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(fmt(&h, "{{.Name}}", &id), "orig-clone");
    assert_eq!(fmt(&h, "{{.Config.Labels.a}}", "orig-clone"), "b");
    assert_eq!(events(&h, "orig-clone"), ["create"]);
    // The next free name; a new memory limit.
    let id2 = h
        .run(&["container", "clone", "--memory", "64m", "orig"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(fmt(&h, "{{.Name}}", &id2), "orig-clone1");
    assert_eq!(fmt(&h, "{{.HostConfig.Memory}}", &id2), "67108864");
    // Named, started, the original destroyed.
    h.run(&["container", "clone", "--destroy", "--run", "orig", "runner"])
        .ok();
    h.run(&["inspect", "orig"]).fails_with(125);
    h.run(&["wait", "runner"]).ok();
    assert_eq!(h.run(&["logs", "runner"]).ok().stdout, "cloned 1\n");
    let taken = h
        .run(&["container", "clone", "runner", "orig-clone"])
        .fails_with(125);
    assert!(taken.stderr.contains("already in use"), "{taken:?}");
    h.run(&["container", "clone", "nosuch"]).fails_with(125);
    let many = h
        .run(&["container", "clone", "a", "b", "c", "d"])
        .fails_with(125);
    assert_eq!(
        many.stderr.trim(),
        "Error: accepts between 1 and 3 arg(s), received 4"
    );
}

#[test]
fn attach_follows_output_passes_signals_and_detaches() {
    let (_reg, h, img) = setup();
    let script = "trap 'echo term; exit 7' TERM; \
                  while [ ! -e /tmp/go ]; do sleep 0.1; done; echo hello; \
                  while :; do sleep 0.1; done";
    h.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "a",
        &img,
        "sh",
        "-c",
        script,
    ])
    .ok();
    let attached = |name: &str| {
        wait_until(WAIT, "the attach event", || {
            events(&h, name).iter().any(|e| e == "attach")
        });
    };
    let child = h
        .command(&["attach", "--no-stdin", "a"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    attached("a");
    h.run(&["exec", "a", "touch", "/tmp/go"]).ok();
    // SIGTERM to attach goes to the container, whose code attach returns.
    wait_until(WAIT, "hello in the log", || {
        h.run(&["logs", "a"]).stdout.contains("hello")
    });
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let out = child.wait_with_output().unwrap();
    // podman 4.3's attach exits 0 when the container ends; inspect tells its code.
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\nterm\n");
    assert_eq!(fmt(&h, "{{.State.ExitCode}}", "a"), "7");

    let stopped = h.run(&["attach", "a"]).fails_with(125);
    assert_eq!(
        stopped.stderr.trim(),
        "Error: you can only attach to running containers"
    );
    let none = h.run(&["attach"]).fails_with(125);
    assert!(none
        .stderr
        .contains("requires a name, id, or the \"--latest\" flag"));

    // The detach keys (default ctrl-p,ctrl-q), typed on a terminal, leave
    // the container running; piped in, they are no keys.
    h.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "d",
        &img,
        "sleep",
        "1000",
    ])
    .ok();
    let bad = h
        .run(&["attach", "--detach-keys", "ctrl-1", "d"])
        .fails_with(125);
    assert!(
        bad.stderr
            .contains("invalid detach keys: Unknown character: 'ctrl-1'"),
        "{bad:?}"
    );
    let piped = h.command(&["attach", "d"]);
    let line: Vec<String> = std::iter::once(piped.get_program())
        .chain(piped.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &line.join(" "), "/dev/null"])
        .envs(piped.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = script
        .spawn()
        .expect("script (Debian package bsdutils) runs");
    wait_until(WAIT, "the attach to d", || {
        events(&h, "d").iter().any(|e| e == "attach")
    });
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"x\x10\x11")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(fmt(&h, "{{.State.Status}}", "d"), "running");
    h.run(&["rm", "-f", "-t0", "a", "d"]).ok();
}

/// `container runlabel`: the label's command with this hoist for `podman`,
/// IMAGE, NAME and the options filled in; printed with --display, else run
/// (on the same store) with its exit status.
#[test]
fn runlabel_displays_and_runs_a_labels_command() {
    let (reg, h) = common::setup();
    let install = "/usr/bin/podman run -t --rm ${OPT1} -e NAME=${NAME} -e IMAGE=${IMAGE} \
                   ${IMAGE} ${OPT2} /bin/install.sh ${OPT3}";
    hoist_testenv::ImageBuilder::single_layer()
        .label("INSTALL", install)
        .label(
            "RUN",
            "podman run --rm --name ${NAME} ${IMAGE} echo hello $OPT1",
        )
        .label("fail", "podman run --rm $IMAGE sh -c 'exit 3'")
        .push(&reg, "labelled:1");
    let image = reg.reference("labelled:1");
    let bin = env!("CARGO_BIN_EXE_hoist");

    let out = h
        .run(&[
            "container",
            "runlabel",
            "--opt1=a",
            "--opt2=b",
            "--opt3=c",
            "--name",
            "test1",
            "--display",
            "install",
            &image,
        ])
        .ok();
    assert_eq!(
        out.stdout.trim(),
        format!("command: {bin} run -t --rm a -e NAME=test1 -e IMAGE={image} {image} b /bin/install.sh c")
    );
    let out = h
        .run(&["container", "runlabel", "--display", "install", &image])
        .ok();
    assert_eq!(
        out.stdout.trim(),
        format!(
            "command: {bin} run -t --rm -e NAME=labelled -e IMAGE={image} {image} /bin/install.sh"
        )
    );

    let out = h
        .run(&["container", "runlabel", "--opt1", "world", "run", &image])
        .ok();
    assert!(out.stdout.contains("hello world"), "{out:?}");
    h.run(&["container", "runlabel", "-q", "fail", &image])
        .fails_with(3);
    let out = h
        .run(&["container", "runlabel", "nosuch", &image])
        .fails_with(125);
    assert!(
        out.stderr.contains(&format!(
            "cannot find the value of label: nosuch in image: {image}"
        )),
        "{out:?}"
    );
}

//! Checkpoints of pod members with real CRIU: a member keeps its pod's IPC
//! and UTS namespaces across an in-place restore, and `restore --pod` puts
//! an exported member into another pod that shares the same namespaces,
//! also a member podman exported from a podman pod.
//! Needs root, CRIU 4.x and podman (with catatonit, for its pods).

mod common;

use common::criu::{counted, podman, require_criu, share_image_with_podman, wait_counted};
use hoist_testenv::Hoist;

/// Counts in memory and prints each value (see checkpoint.rs).
const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done";

fn out(h: &Hoist, args: &[&str]) -> String {
    h.run(args).ok().stdout.trim().to_string()
}

fn pid_of(h: &Hoist, container: &str) -> String {
    out(h, &["inspect", "--format", "{{.State.Pid}}", container])
}

/// The namespace `kind` of `pid`, as the host sees it (`ipc:[4026...]`).
fn ns(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

fn infra_pid(h: &Hoist, pod: &str) -> String {
    let infra = out(
        h,
        &["pod", "inspect", "--format", "{{.InfraContainerID}}", pod],
    );
    pid_of(h, &infra)
}

/// The cgroup `pid` is in (its pids controller's, or the v2 one) and the
/// one that holds it: a pod's containers share the pod's parent cgroup.
fn cgroup_parent(pid: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let line = text
        .lines()
        .find(|l| l.split(':').nth(1) == Some("pids"))
        .or_else(|| text.lines().find(|l| l.starts_with("0::")))
        .unwrap_or_else(|| panic!("no pids cgroup in {text}"));
    let path = line.rsplit(':').next().unwrap();
    path.rsplit_once('/').unwrap().0.to_string()
}

/// The member runs in the pod's IPC, UTS and network namespaces and its
/// cgroup, and has its name.
fn assert_in_pod(h: &Hoist, member: &str, pod: &str) {
    let (mine, infra) = (pid_of(h, member), infra_pid(h, pod));
    for kind in ["ipc", "uts", "net"] {
        assert_eq!(
            ns(&mine, kind),
            ns(&infra, kind),
            "{member} {kind} vs pod {pod}"
        );
    }
    assert_eq!(
        cgroup_parent(&mine),
        cgroup_parent(&infra),
        "{member} is not in pod {pod}'s cgroup"
    );
    assert_eq!(out(h, &["exec", member, "hostname"]), pod);
}

fn containers(h: &Hoist) -> usize {
    out(h, &["ps", "-a", "-q", "--no-trunc"]).lines().count()
}

/// A pod without a network (none of the tests' pods needs one).
fn create_pod(h: &Hoist, name: &str, extra: &[&str]) {
    let mut all = vec!["pod", "create", "--network", "none", "--name", name];
    all.extend_from_slice(extra);
    h.run(&all).ok();
}

/// `container restore ARGS`, which must fail with 125; its error.
fn refused(h: &Hoist, args: &[&str]) -> String {
    let mut all = vec!["container", "restore"];
    all.extend_from_slice(args);
    h.run(&all).fails_with(125).stderr
}

fn start_counter_in(h: &Hoist, image: &str, pod: &str, name: &str) {
    create_pod(h, pod, &[]);
    h.run(&[
        "run", "-d", "--pod", pod, "--name", name, image, "sh", "-c", COUNTER,
    ])
    .ok();
    wait_counted(h, name, 3);
}

#[test]
fn a_pod_member_stays_in_its_pod_and_moves_into_another() {
    require_criu();
    let (_reg, h, image) = common::setup_with_busybox();
    start_counter_in(&h, &image, "p1", "member");
    assert_in_pod(&h, "member", "p1");

    // In place: back into the same pod's namespaces, counting on.
    h.run(&["container", "checkpoint", "member"]).ok();
    let before = counted(&h, "member");
    h.run(&["container", "restore", "member"]).ok();
    wait_counted(&h, "member", before.len() + 2);
    assert_in_pod(&h, "member", "p1");

    // Exported, then restored as a copy into a second pod.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("member.tar.gz");
    let archive = archive.to_str().unwrap();
    h.run(&["container", "checkpoint", "-e", archive, "member"])
        .ok();
    let last = *counted(&h, "member").last().unwrap();
    create_pod(&h, "p2", &[]);
    let id = out(
        &h,
        &[
            "container",
            "restore",
            "--import",
            archive,
            "--pod",
            "p2",
            "-n",
            "moved",
        ],
    );
    assert_eq!(
        out(&h, &["inspect", "--format", "{{.Pod}}", &id]),
        out(&h, &["pod", "inspect", "--format", "{{.Id}}", "p2"])
    );
    assert_in_pod(&h, "moved", "p2");
    wait_counted(&h, "moved", 2);
    let first = counted(&h, "moved")[0];
    assert!(
        first > last,
        "the copy started over ({first}) instead of going on after {last}"
    );
    assert!(out(&h, &["pod", "inspect", "--format", "{{.Containers}}", "p2"]).contains(&id));
    h.run(&["pod", "rm", "-f", "-t", "0", "p2"]).ok();
    h.run(&["pod", "rm", "-f", "-t", "0", "p1"]).ok();
}

#[test]
fn restore_into_a_pod_refuses_what_cannot_fit_and_creates_nothing() {
    require_criu();
    let (_reg, h, image) = common::setup_with_busybox();
    let dir = tempfile::tempdir().unwrap();
    start_counter_in(&h, &image, "src", "member");
    let member = dir.path().join("member.tar");
    let member = member.to_str().unwrap();
    h.run(&["container", "checkpoint", "-e", member, "member"])
        .ok();
    h.run(&["run", "-d", "--name", "alone", &image, "sh", "-c", COUNTER])
        .ok();
    wait_counted(&h, "alone", 2);
    let alone = dir.path().join("alone.tar");
    let alone = alone.to_str().unwrap();
    h.run(&["container", "checkpoint", "-e", alone, "alone"])
        .ok();
    create_pod(&h, "dest", &[]);
    create_pod(&h, "netonly", &["--share", "net"]);
    let count = containers(&h);

    let err = refused(&h, &["--import", member, "-n", "x1"]);
    assert!(
        err.contains("was in a pod") && err.contains("--pod"),
        "{err}"
    );
    let err = refused(&h, &["--import", alone, "--pod", "dest", "-n", "x2"]);
    assert!(err.contains("was not in a pod"), "{err}");
    let err = refused(&h, &["--import", member, "--pod", "netonly", "-n", "x3"]);
    assert!(err.contains("does not share the IPC namespace"), "{err}");
    let err = refused(&h, &["--import", member, "--pod", "nosuch", "-n", "x4"]);
    assert!(err.contains("nosuch: no such pod"), "{err}");
    let err = refused(&h, &["--pod", "dest", "member"]);
    assert!(
        err.contains("--pod can only be used with --import"),
        "{err}"
    );
    assert_eq!(
        containers(&h),
        count,
        "a refused restore left a container behind"
    );

    // A shared PID namespace cannot be dumped: said plainly, and the
    // member keeps running.
    create_pod(&h, "pids", &["--share", "+pid"]);
    h.run(&[
        "run",
        "-d",
        "--pod",
        "pids",
        "--name",
        "pidmember",
        &image,
        "sh",
        "-c",
        COUNTER,
    ])
    .ok();
    wait_counted(&h, "pidmember", 2);
    let err = h
        .run(&["container", "checkpoint", "pidmember"])
        .fails_with(125)
        .stderr;
    assert!(err.contains("PID namespace"), "{err}");
    assert_eq!(
        out(
            &h,
            &["inspect", "--format", "{{.State.Status}}", "pidmember"]
        ),
        "running"
    );
    for pod in ["pids", "netonly", "dest", "src"] {
        h.run(&["pod", "rm", "-f", "-t", "0", pod]).ok();
    }
    h.run(&["rm", "-f", "-t", "0", "alone"]).ok();
}

#[test]
fn a_member_of_a_podman_pod_restores_into_a_hoist_pod() {
    require_criu();
    let (_reg, h, image) = common::setup_with_busybox();
    share_image_with_podman(&h, &image);
    let pod = format!("hoist-ckpt-pod-{}", std::process::id());
    let member = format!("{pod}-member");
    podman(&["pod", "create", "--name", &pod]);
    podman(&[
        "run", "-d", "--pod", &pod, "--name", &member, &image, "sh", "-c", COUNTER,
    ]);
    hoist_testenv::wait_until(
        std::time::Duration::from_secs(20),
        "podman's counter",
        || podman(&["logs", &member]).lines().count() >= 3,
    );
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("member.tar.gz");
    let archive = archive.to_str().unwrap();
    podman(&["container", "checkpoint", "-e", archive, &member]);
    let last: u64 = podman(&["logs", &member])
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap();
    podman(&["pod", "rm", "-f", "-t", "0", &pod]);
    podman(&["rmi", &image]);

    // It was in a pod: hoist asks for one, as podman does.
    let err = refused(&h, &["--import", archive, "-n", "lost"]);
    assert!(err.contains("was in a pod"), "{err}");
    create_pod(&h, "mine", &[]);
    h.run(&[
        "container",
        "restore",
        "--import",
        archive,
        "--pod",
        "mine",
        "-n",
        "moved",
    ])
    .ok();
    assert_in_pod(&h, "moved", "mine");
    wait_counted(&h, "moved", 2);
    let first = counted(&h, "moved")[0];
    assert!(
        first > last,
        "restarted from {first}, podman stopped at {last}"
    );
    h.run(&["pod", "rm", "-f", "-t", "0", "mine"]).ok();
}

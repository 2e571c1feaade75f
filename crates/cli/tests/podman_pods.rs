//! Pods as podman 4.3 has them (podman's system tests, 200-pod, check the
//! same): `pod create|ps|inspect|exists|stop|start|rm`, containers joining
//! a pod's infra container (one host name, network, IPC and /dev/shm),
//! `ps --filter pod=`, the infra container's protection, exit policies.

mod common;

use std::time::Duration;

use hoist_testenv::{wait_until, Hoist};

const WAIT: Duration = Duration::from_secs(60);

fn out(h: &Hoist, args: &[&str]) -> String {
    h.run(args).ok().stdout.trim().to_string()
}

fn pod_state(h: &Hoist, pod: &str) -> String {
    out(h, &["pod", "inspect", "--format", "{{.State}}", pod])
}

#[test]
fn pod_containers_share_namespaces_and_move_together() {
    let (_reg, h, img) = common::setup_with_busybox();
    assert_eq!(out(&h, &["pod", "ps", "--noheading"]), "");
    let id = out(
        &h,
        &["pod", "create", "--name", "p1", "--label", "tier=web"],
    );
    assert_eq!(id.len(), 64, "{id}");
    h.run(&["pod", "exists", "p1"]).ok();
    h.run(&["pod", "exists", &id]).ok();
    h.run(&["pod", "exists", "nope"]).fails_with(1);
    assert_eq!(
        out(
            &h,
            &[
                "pod",
                "ps",
                "--format",
                "{{.ID}} {{.Name}} {{.Status}} {{.Labels}}"
            ]
        ),
        format!("{} p1 Created map[tier:web]", &id[..12])
    );

    let c1 = out(
        &h,
        &[
            "run", "-d", "--pod", "p1", "--name", "c1", &img, "sleep", "1000",
        ],
    );
    // The pod's host name, network and IPC namespaces, and its /dev/shm.
    assert_eq!(
        out(&h, &["run", "--rm", "--pod", "p1", &img, "hostname"]),
        "p1"
    );
    let net = |h: &Hoist| {
        out(
            h,
            &[
                "run",
                "--rm",
                "--pod",
                "p1",
                &img,
                "readlink",
                "/proc/self/ns/net",
            ],
        )
    };
    let in_c1 = out(&h, &["exec", "c1", "readlink", "/proc/self/ns/net"]);
    assert_eq!(net(&h), in_c1);
    // The same without a pod: --network container:NAME.
    let joined = out(
        &h,
        &[
            "run",
            "--rm",
            "--network",
            "container:c1",
            &img,
            "readlink",
            "/proc/self/ns/net",
        ],
    );
    assert_eq!(joined, in_c1);
    h.run(&[
        "run",
        "--rm",
        "--pod",
        "p1",
        &img,
        "touch",
        "/dev/shm/shared",
    ])
    .ok();
    h.run(&["exec", "c1", "ls", "/dev/shm/shared"]).ok();
    let err = h
        .run(&[
            "run",
            "--rm",
            "--pod",
            "p1",
            "--hostname",
            "x",
            &img,
            "true",
        ])
        .fails_with(125);
    assert!(
        err.stderr
            .contains("cannot set hostname when joining the pod UTS namespace"),
        "{err:?}"
    );

    // /etc/hosts as podman writes it in a pod: the pod's host name with
    // the infra container's name, the container's own name on 127.0.0.1.
    let hosts = out(
        &h,
        &[
            "run",
            "--rm",
            "--pod",
            "p1",
            "--name",
            "c9",
            &img,
            "cat",
            "/etc/hosts",
        ],
    );
    assert!(
        hosts.contains(&format!("\tp1 {}-infra", &id[..12])),
        "{hosts}"
    );
    assert!(hosts.contains("127.0.0.1\tc9"), "{hosts}");

    // inspect and ps know the pod; the infra container is protected.
    assert_eq!(out(&h, &["inspect", "--format", "{{.Pod}}", "c1"]), id);
    let infra = out(
        &h,
        &["pod", "inspect", "--format", "{{.InfraContainerID}}", "p1"],
    );
    let names = out(
        &h,
        &["ps", "--filter", "pod=p1", "--format", "{{.ID}} {{.Pod}}"],
    );
    assert!(
        names.contains(&format!("{} {}", &c1[..12], &id[..12])),
        "{names}"
    );
    assert!(names.contains(&infra[..12]), "{names}");
    let err = h.run(&["rm", "-f", &infra]).fails_with(125);
    assert!(
        err.stderr
            .contains("and cannot be removed without removing the pod"),
        "{err:?}"
    );
    assert_eq!(
        out(
            &h,
            &[
                "pod",
                "inspect",
                "--format",
                "{{.State}} {{.NumContainers}}",
                "p1"
            ]
        ),
        "Running 2"
    );

    // stop, start, rm.
    assert_eq!(out(&h, &["pod", "stop", "-t", "0", "p1"]), id);
    assert_eq!(pod_state(&h, "p1"), "Exited");
    out(&h, &["pod", "start", "p1"]);
    assert_eq!(pod_state(&h, "p1"), "Running");
    h.run(&["pod", "rm", "p1"]).fails_with(125);
    assert_eq!(out(&h, &["pod", "rm", "-f", "-t", "0", "p1"]), id);
    h.run(&["pod", "exists", "p1"]).fails_with(1);
    h.run(&["inspect", "c1"]).fails_with(125);
    let err = h.run(&["pod", "rm", "bogus"]).fails_with(1);
    assert!(err.stderr.contains("bogus: no such pod"), "{err:?}");
    assert_eq!(out(&h, &["pod", "rm", "-f", "bogus"]), "");
}

#[test]
fn pod_flags_exit_policy_and_new_pods() {
    let (_reg, h, img) = common::setup_with_busybox();
    let err = h
        .run(&["pod", "create", "--share", "bogus"])
        .fails_with(125);
    assert!(
        err.stderr.contains("invalid kernel namespace to share: bogus. Options are: cgroup, ipc, net, pid, uts or none"),
        "{err:?}"
    );
    let err = h
        .run(&["pod", "create", "--exit-policy", "invalid"])
        .fails_with(125);
    assert!(
        err.stderr.contains("invalid pod exit policy: \"invalid\""),
        "{err:?}"
    );

    // Not sharing UTS: a container may set its own host name.
    out(
        &h,
        &["pod", "create", "--share", "ipc", "--name", "ipc-only"],
    );
    assert_eq!(
        out(
            &h,
            &[
                "pod",
                "inspect",
                "--format",
                "{{.SharedNamespaces}}",
                "ipc-only"
            ]
        ),
        "[ipc]"
    );
    assert_eq!(
        out(
            &h,
            &[
                "run",
                "--rm",
                "--pod",
                "ipc-only",
                "--hostname",
                "own",
                &img,
                "hostname"
            ]
        ),
        "own"
    );

    // new:NAME makes the pod, named after it unless --hostname says.
    assert_eq!(
        out(&h, &["run", "--rm", "--pod", "new:fresh", &img, "hostname"]),
        "fresh"
    );
    assert_eq!(
        out(
            &h,
            &[
                "run",
                "--rm",
                "--pod",
                "new:other",
                "--hostname",
                "set",
                &img,
                "hostname"
            ]
        ),
        "set"
    );

    // Exit policies: continue leaves the pod Degraded, stop stops it.
    let keep = out(&h, &["pod", "create"]);
    assert_eq!(
        out(
            &h,
            &["pod", "inspect", "--format", "{{.ExitPolicy}}", &keep]
        ),
        "continue"
    );
    h.run(&["run", "--pod", &keep, &img, "true"]).ok();
    assert_eq!(pod_state(&h, &keep), "Degraded");
    let stop = out(&h, &["pod", "create", "--exit-policy", "stop"]);
    h.run(&["run", "--pod", &stop, &img, "true"]).ok();
    wait_until(WAIT, "the exit-policy=stop pod to stop", || {
        pod_state(&h, &stop) == "Exited"
    });

    // rm --depend of an infra container takes its pod along.
    let c = out(&h, &["create", "--pod", "new:dep", &img, "true"]);
    let infra = out(
        &h,
        &["pod", "inspect", "--format", "{{.InfraContainerID}}", "dep"],
    );
    let removed = out(&h, &["rm", "--depend", &infra]);
    assert!(
        removed.contains(&c) && removed.contains(&infra),
        "{removed}"
    );
    h.run(&["pod", "exists", "dep"]).fails_with(1);

    // A new:NAME pod goes again when its container cannot be made.
    h.run(&[
        "create", "--pull", "never", "--pod", "new:bad", "nosuch:1", "true",
    ])
    .fails_with(125);
    h.run(&["pod", "exists", "bad"]).fails_with(1);

    // Concurrent creates: distinct names all succeed, one name only once.
    let made: Vec<bool> = std::thread::scope(|s| {
        let runs: Vec<_> = ["c1", "c2", "c3", "same", "same"]
            .iter()
            .map(|n| s.spawn(|| h.run(&["pod", "create", "--name", n]).success()))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(made.iter().filter(|ok| **ok).count(), 4, "{made:?}");
    for n in ["c1", "c2", "c3", "same"] {
        h.run(&["pod", "exists", n]).ok();
    }

    // rmi -af takes the pods whose containers use the images along,
    // the pause image too; podman prints every Untagged, then every Deleted.
    out(&h, &["create", "--pod", "new:imgs", &img, "true"]);
    let rmi = out(&h, &["rmi", "-af"]);
    let lines: Vec<&str> = rmi.lines().collect();
    assert!(lines[0].starts_with("Untagged: "), "{rmi}");
    assert!(lines[lines.len() - 1].starts_with("Deleted: "), "{rmi}");
    assert!(rmi.contains("Untagged: localhost/podman-pause:"), "{rmi}");
    assert_eq!(out(&h, &["pod", "ps", "-q"]), "");
    assert_eq!(out(&h, &["ps", "-a", "-q"]), "");
}

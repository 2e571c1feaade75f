//! Containers in a user namespace of their own (`--uidmap`, `--gidmap`),
//! as a rootful podman runs them: root inside, an unprivileged host ID
//! outside, the image's shared layers untouched on disk.

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use hoist_testenv::wait_until;

fn out(h: &hoist_testenv::Hoist, args: &[&str]) -> String {
    h.run(args).ok().stdout.trim().to_string()
}

/// /proc/self/uid_map's lines with their columns' spacing normalised.
fn map_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn uidmap_runs_root_inside_as_a_host_id_over_shared_layers() {
    let (_reg, h, img) = common::setup_with_busybox();
    let probe = "id -u; id -g; cat /proc/self/uid_map; stat -c %u:%g /bin/busybox; \
                 touch /new && stat -c %u /new; mount | grep -c ' /sys/kernel' ; \
                 echo 10.1.1.1 extra >> /etc/hosts && echo hosts-writable";
    let lines = map_lines(&out(
        &h,
        &[
            "run",
            "--rm",
            "--uidmap",
            "0:100000:65536",
            &img,
            "sh",
            "-c",
            probe,
        ],
    ));
    assert_eq!(
        lines,
        [
            "0",
            "0",
            "0 100000 65536",
            "0:0",
            "0",
            "0",
            "hosts-writable"
        ],
        "root inside, the maps, the image's files owned by root, a file made \
         by root, no /sys/kernel mounts, /etc/hosts its own"
    );
    // The host's network as well.
    assert_eq!(
        out(
            &h,
            &[
                "run",
                "--rm",
                "--net",
                "host",
                "--uidmap",
                "0:100000:65536",
                &img,
                "id",
                "-u"
            ]
        ),
        "0"
    );
    // The layer it ran on still belongs to the host's root.
    let layer = &common::lower_dirs(&h, &img)[0];
    assert_eq!(
        std::fs::metadata(layer.join("bin/busybox")).unwrap().uid(),
        0
    );
}

#[test]
fn a_mapped_container_is_exec_cp_commit_and_volume_aware() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&[
        "run",
        "-d",
        "--name",
        "u",
        "--uidmap",
        "0:200000:65536",
        "--gidmap",
        "0:300000:65536",
        "-v",
        "uvol:/data",
        &img,
        "sh",
        "-c",
        "mkdir -p /made && touch /made/f && exec sleep 300",
    ])
    .ok();
    // inspect shows the maps as podman does.
    assert_eq!(
        out(
            &h,
            &[
                "inspect",
                "--format",
                "{{.HostConfig.UsernsMode}} {{.HostConfig.IDMappings.UidMap}} {{.HostConfig.IDMappings.GidMap}}",
                "u"
            ]
        ),
        "private [0:200000:65536] [0:300000:65536]"
    );
    let dir = std::path::PathBuf::from(out(&h, &["inspect", "--format", "{{.Id}}", "u"]));
    let upper = h.root().join("containers").join(&dir).join("upper");
    wait_until(
        Duration::from_secs(30),
        "the container's first file",
        || upper.join("made/f").exists(),
    );
    let made = std::fs::metadata(upper.join("made/f")).unwrap();
    assert_eq!(
        (made.uid(), made.gid()),
        (200000, 300000),
        "host IDs on disk"
    );
    let pid = out(&h, &["inspect", "--format", "{{.State.Pid}}", "u"]);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.contains("200000")),
        "the container's process is host user 200000: {status}"
    );

    // exec joins the user namespace: root inside, the same maps.
    let exec = out(
        &h,
        &[
            "exec",
            "u",
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map /proc/self/gid_map",
        ],
    );
    assert_eq!(
        map_lines(&exec),
        ["0", "0 200000 65536", "0 300000 65536"],
        "{exec}"
    );
    // A new named volume is the container's root's, a copied file too.
    h.run(&["exec", "u", "touch", "/data/x"]).ok();
    let host_file = h.base_dir().join("copied");
    std::fs::write(&host_file, "hello").unwrap();
    h.run(&["cp", host_file.to_str().unwrap(), "u:/copied"])
        .ok();
    assert_eq!(
        out(
            &h,
            &["exec", "u", "stat", "-c", "%u:%g", "/copied", "/data/x"]
        ),
        "0:0\n0:0"
    );

    // An image made from it holds the IDs the container saw.
    h.run(&["commit", "u", "ucommit"]).ok();
    assert_eq!(
        out(
            &h,
            &["run", "--rm", "ucommit", "stat", "-c", "%u:%g", "/made/f", "/copied"]
        ),
        "0:0\n0:0"
    );
    let export = h.run(&["export", "u"]).ok();
    let mut tar = tar::Archive::new(export.stdout_bytes.as_slice());
    let f = tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().as_os_str() == "made/f")
        .expect("made/f is exported");
    assert_eq!(
        (f.header().uid().unwrap(), f.header().gid().unwrap()),
        (0, 0)
    );

    // Not yet: a checkpoint of it.
    let cp = h.run(&["container", "checkpoint", "u"]).fails_with(125);
    assert!(cp.stderr.contains("--uidmap"), "{cp:?}");
    // Stopped and started again: the same maps.
    h.run(&["stop", "-t", "0", "u"]).ok();
    h.run(&["start", "u"]).ok();
    assert_eq!(
        map_lines(&out(&h, &["exec", "u", "cat", "/proc/self/uid_map"])),
        ["0 200000 65536"]
    );
    h.run(&["rm", "-f", "-t", "0", "u"]).ok();
}

/// The maps of running container `name`, from inside it.
fn maps_of(h: &hoist_testenv::Hoist, name: &str) -> (u64, u64) {
    let line = map_lines(&out(h, &["exec", name, "cat", "/proc/self/uid_map"])).join("\n");
    let f: Vec<u64> = line.split(' ').map(|n| n.parse().unwrap()).collect();
    assert_eq!((f.len(), f[0]), (3, 0), "{line}");
    (f[1], f[2])
}

#[test]
fn userns_auto_gives_each_container_its_own_range_of_containers_ids() {
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    assert!(
        subuid.lines().any(|l| l.starts_with("containers:")),
        "user containers needs subordinate IDs in /etc/subuid and /etc/subgid (scripts/install-deps.sh adds them)"
    );
    let (_reg, h, img) = common::setup_with_busybox();
    let run_auto = |name: &str, userns: &str| {
        h.run(&[
            "run", "-d", "--name", name, "--userns", userns, &img, "sleep", "300",
        ])
        .ok();
    };
    run_auto("a1", "auto:size=1000");
    run_auto("a2", "auto:size=1000");
    run_auto("a3", "auto");
    let (one, two, three) = (maps_of(&h, "a1"), maps_of(&h, "a2"), maps_of(&h, "a3"));
    assert_eq!((one.1, two.1, three.1), (1000, 1000, 65536));
    let mut starts = [one, two, three];
    starts.sort();
    for pair in starts.windows(2) {
        assert!(
            pair[0].0 + pair[0].1 <= pair[1].0,
            "overlapping ranges: {starts:?}"
        );
    }
    assert!(
        starts[0].0 >= 2147483647,
        "from containers' IDs: {starts:?}"
    );
    assert_eq!(out(&h, &["exec", "a1", "id", "-u"]), "0");
    let bad = h
        .run(&["create", "--userns", "auto:size=0", &img, "true"])
        .fails_with(125);
    assert!(bad.stderr.contains("size must be a number"), "{bad:?}");
    // A removed container's range is free again.
    h.run(&["rm", "-f", "-t", "0", "a1"]).ok();
    run_auto("a4", "auto:size=1000");
    assert_eq!(maps_of(&h, "a4"), one);
    h.run(&["rm", "-f", "-t", "0", "a2", "a3", "a4"]).ok();
}

#[test]
fn a_pods_containers_share_the_user_namespace_given_to_pod_create() {
    let (_reg, h, img) = common::setup_with_busybox();
    // The infra container runs the locally built pause image, which has
    // no mount points of its own: they are made inside the namespace.
    h.run(&[
        "pod",
        "create",
        "--name",
        "up",
        "--uidmap",
        "0:400000:65536",
    ])
    .ok();
    h.run(&[
        "run",
        "-d",
        "--pod",
        "up",
        "--name",
        "up-a",
        &img,
        "sh",
        "-c",
        "echo hello-from-a | nc -l -p 8080; exec sleep 300",
    ])
    .ok();
    let infra = out(
        &h,
        &["pod", "inspect", "up", "--format", "{{.InfraContainerID}}"],
    );
    let ns = |name: &str| {
        let pid = out(&h, &["inspect", "--format", "{{.State.Pid}}", name]);
        std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap()
    };
    assert_eq!(ns("up-a"), ns(&infra), "one user namespace for the pod");
    let probe = "cat /proc/self/uid_map; \
                 for i in $(seq 50); do nc 127.0.0.1 8080 </dev/null && break; sleep 0.1; done";
    let lines = map_lines(&out(
        &h,
        &["run", "--rm", "--pod", "up", &img, "sh", "-c", probe],
    ));
    assert_eq!(
        lines,
        ["0 400000 65536", "hello-from-a"],
        "the pod's maps and network"
    );
    assert_eq!(
        map_lines(&out(&h, &["exec", "up-a", "cat", "/proc/self/uid_map"])),
        ["0 400000 65536"]
    );
    // A member may not bring other maps.
    let err = h
        .run(&["create", "--pod", "up", "--uidmap", "0:1:10", &img, "true"])
        .fails_with(125);
    assert!(
        err.stderr.contains("give the maps to `pod create`"),
        "{err:?}"
    );
    h.run(&["pod", "rm", "-f", "-t", "0", "up"]).ok();
}

#[test]
fn subuidname_maps_the_container_onto_a_users_subordinate_ids() {
    let (_reg, h, img) = common::setup_with_busybox();
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    let line = subuid
        .lines()
        .find(|l| l.starts_with("containers:"))
        .expect(
        "user containers needs subordinate IDs in /etc/subuid (scripts/install-deps.sh adds them)",
    );
    let fields: Vec<&str> = line.split(':').collect();
    let want = format!("0 {} {}", fields[1], fields[2]);
    let maps = map_lines(&out(
        &h,
        &[
            "run",
            "--rm",
            "--subuidname",
            "containers",
            &img,
            "sh",
            "-c",
            "cat /proc/self/uid_map /proc/self/gid_map; id -u",
        ],
    ));
    assert_eq!(maps, [want.as_str(), want.as_str(), "0"]);
    let err = h
        .run(&["create", "--subuidname", "nosuchuser", &img, "true"])
        .fails_with(125);
    assert!(
        err.stderr.contains("no subordinate IDs for \"nosuchuser\""),
        "{err:?}"
    );
}

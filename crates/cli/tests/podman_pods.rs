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
    // The pod's own tmpfs, not the host's /dev/shm: a name unique to this
    // test never shows up there.
    let mark = format!("hoist-pod-shm-{}", std::process::id());
    h.run(&["exec", "c1", "touch", &format!("/dev/shm/{mark}")])
        .ok();
    assert!(
        !std::path::Path::new("/dev/shm").join(&mark).exists(),
        "the pod's /dev/shm is the host's"
    );
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
        "create",
        "--pull",
        "never",
        "--pod",
        "new:badpod",
        "nosuch:1",
        "true",
    ])
    .fails_with(125);
    h.run(&["pod", "exists", "badpod"]).fails_with(1);

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

fn json(h: &Hoist, args: &[&str]) -> serde_json::Value {
    let text = out(h, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
}

#[test]
fn pod_logs_and_stats_of_each_container() {
    let (_reg, h, img) = common::setup_with_busybox();
    let pod = out(&h, &["pod", "create", "--name", "lp"]);
    let a = out(
        &h,
        &[
            "run",
            "-d",
            "--pod",
            "lp",
            "--name",
            "la",
            &img,
            "sh",
            "-c",
            "echo a1; echo a2",
        ],
    );
    let b = out(
        &h,
        &[
            "run",
            "-d",
            "--pod",
            "lp",
            "--name",
            "lb",
            &img,
            "sh",
            "-c",
            "echo b1; echo b-err >&2; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo b2",
        ],
    );
    wait_until(WAIT, "both containers to log", || {
        h.run(&["pod", "logs", "lp"]).ok().stdout.contains("b1")
            && out(&h, &["inspect", "--format", "{{.State.Status}}", "la"]) == "exited"
    });
    // Every line after its container's short ID; stderr lines on stderr.
    let logs = h.run(&["pod", "logs", "lp"]).ok();
    let lines: Vec<&str> = logs.stdout.lines().collect();
    for want in [
        format!("{} a1", &a[..12]),
        format!("{} a2", &a[..12]),
        format!("{} b1", &b[..12]),
    ] {
        assert!(lines.contains(&want.as_str()), "{want} in {logs:?}");
    }
    assert_eq!(logs.stderr.trim(), format!("{} b-err", &b[..12]));
    assert!(
        lines.iter().position(|l| l.ends_with(" a1")).unwrap()
            < lines.iter().position(|l| l.ends_with(" a2")).unwrap()
    );
    // --names, --tail (per container), -t, --container (no prefix).
    // --tail counts each container's lines of both streams.
    let tail = h.run(&["pod", "logs", "--names", "--tail", "1", "lp"]).ok();
    assert_eq!(tail.stdout, "la a2\n", "{tail:?}");
    assert_eq!(tail.stderr, "lb b-err\n", "{tail:?}");
    let stamped = out(&h, &["pod", "logs", "-t", "-c", "la", "lp"]);
    let first = stamped.lines().next().unwrap_or_default();
    let (stamp, text) = first.split_once(' ').unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok() && text == "a1",
        "{stamped}"
    );
    assert_eq!(
        out(&h, &["pod", "logs", "--container", "la", "lp"]),
        "a1\na2"
    );
    // --color: one color per container, reset at each line's end.
    let colored = h.run(&["pod", "logs", "--color", "--names", "lp"]).ok();
    let color_of = |name: &str| {
        let line = colored.stdout.lines().find(|l| l.contains(name)).unwrap();
        assert!(line.ends_with("\x1b[0m"), "{colored:?}");
        line[..line.find(name).unwrap()].to_string()
    };
    let (ca, cb) = (color_of("la a1"), color_of("lb b1"));
    assert!(
        ca.starts_with("\x1b[3") && cb.starts_with("\x1b[3"),
        "{colored:?}"
    );
    assert_ne!(ca, cb, "{colored:?}");
    assert_eq!(color_of("la a2"), ca);
    let err = h
        .run(&["pod", "logs", "-c", "nosuch", "lp"])
        .fails_with(125);
    assert!(
        err.stderr
            .contains("container nosuch is not in pod lp: no such container"),
        "{err:?}"
    );
    let err = h.run(&["pod", "logs", "nopod"]).fails_with(125);
    assert!(
        err.stderr
            .contains("no pod with name or ID nopod found: no such pod"),
        "{err:?}"
    );

    // stats: one row per container, podman's fields, `--` for a
    // container that does not run; sorted by container ID.
    let rows = json(
        &h,
        &["pod", "stats", "--no-stream", "--format", "json", "lp"],
    );
    let rows = rows.as_array().expect("a JSON array");
    assert_eq!(rows.len(), 3, "{rows:?}");
    let ids: Vec<&str> = rows.iter().map(|r| r["CID"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    for r in rows {
        assert_eq!(r["Pod"], &pod[..12]);
        let fields = [
            "CPU",
            "MemUsage",
            "MemUsageBytes",
            "Mem",
            "NetIO",
            "BlockIO",
            "PIDS",
            "Name",
        ];
        for f in fields {
            assert!(r[f].is_string(), "{f} in {r}");
        }
    }
    let row = |name: &str| rows.iter().find(|r| r["Name"] == name).unwrap();
    assert_eq!(row("la")["CPU"], "--");
    assert_eq!(row("la")["MemUsage"], "-- / --");
    let lb = row("lb");
    assert!(lb["CPU"].as_str().unwrap().ends_with('%'), "{lb}");
    assert!(lb["MemUsage"].as_str().unwrap().contains("B / "), "{lb}");
    assert!(
        lb["MemUsageBytes"].as_str().unwrap().contains("iB / "),
        "{lb}"
    );
    // sh, and now and then its sleep.
    let pids: u32 = lb["PIDS"].as_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&pids), "{lb}");
    // A plain template still gets podman's header line.
    let t = out(
        &h,
        &[
            "pod",
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.PIDS}}",
            "lp",
        ],
    );
    assert_eq!(t.lines().next(), Some("NAME PIDS"), "{t}");
    assert!(t.lines().any(|l| l.starts_with("lb ")), "{t}");
    let table = out(&h, &["pod", "stats", "--no-stream", "--all"]);
    assert!(table.starts_with("POD "), "{table}");
    assert!(table.contains("MEM USAGE/ LIMIT"), "{table}");
    let err = h
        .run(&["pod", "stats", "--no-stream", "nopod"])
        .fails_with(125);
    assert!(err.stderr.contains("no such pod"), "{err:?}");

    // -f prints what comes until the pod's containers have exited.
    std::thread::scope(|s| {
        let follow = s.spawn(|| h.run(&["pod", "logs", "-f", "--names", "lp"]).ok());
        h.run(&["exec", "lb", "touch", "/tmp/go"]).ok();
        let followed = follow.join().unwrap();
        assert!(followed.stdout.contains("lb b1\n"), "{followed:?}");
        assert!(followed.stdout.contains("lb b2\n"), "{followed:?}");
    });
    h.run(&["pod", "rm", "-f", "-t", "0", "lp"]).ok();
}

/// The memory controller's directory of the process `pid` (cgroup v1).
fn memory_cgroup(proc_cgroup: &str) -> String {
    proc_cgroup
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        .unwrap_or_else(|| panic!("no memory cgroup in {proc_cgroup}"))
}

#[test]
fn pod_cgroup_limits_volumes_and_devices_reach_its_containers() {
    let (_reg, h, img) = common::setup_with_busybox();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("file"), "from the host").unwrap();
    let volume = format!("{}:/data:ro", data.path().display());
    // Any block device of this machine, for a read rate limit.
    let (disk, numbers) = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .find_map(|e| {
            let dev = format!("/dev/{}", e.file_name().to_string_lossy());
            let numbers = std::fs::read_to_string(e.path().join("dev")).ok()?;
            std::path::Path::new(&dev)
                .exists()
                .then(|| (dev, numbers.trim().to_string()))
        })
        .expect("a block device in /sys/block");
    let read_bps = format!("{disk}:1mb");
    let pod = out(
        &h,
        &[
            "pod",
            "create",
            "--name",
            "lim",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "-v",
            &volume,
            "--device",
            "/dev/zero:/dev/pod-zero",
            "--sysctl",
            "net.ipv4.ip_unprivileged_port_start=42",
            "--device-read-bps",
            &read_bps,
        ],
    );
    let c = out(
        &h,
        &[
            "run", "-d", "--pod", "lim", "--name", "in", &img, "sleep", "1000",
        ],
    );
    // The container's cgroup is below the pod's, which carries the limits.
    let pod_cg = format!("/hoist/{pod}");
    let cg = memory_cgroup(&out(&h, &["exec", "in", "cat", "/proc/self/cgroup"]));
    assert_eq!(cg, format!("{pod_cg}/hoist-{c}"));
    assert_eq!(
        out(
            &h,
            &["inspect", "--format", "{{.HostConfig.CgroupParent}}", "in"]
        ),
        pod_cg
    );
    let host = |ctl: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctl}{pod_cg}/{file}"))
            .unwrap_or_else(|e| panic!("{ctl}{pod_cg}/{file}: {e}"))
            .trim()
            .to_string()
    };
    assert_eq!(host("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(host("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(host("cpu", "cpu.shares"), "512");
    assert_eq!(
        host("blkio", "blkio.throttle.read_bps_device"),
        format!("{numbers} 1048576")
    );
    // Inside, the limit bounds the container through its parent.
    let stat = out(
        &h,
        &["exec", "in", "cat", "/sys/fs/cgroup/memory/memory.stat"],
    );
    assert!(
        stat.lines()
            .any(|l| l == "hierarchical_memory_limit 67108864"),
        "{stat}"
    );
    // The pod's volume, device and (net namespace) sysctl.
    assert_eq!(
        out(&h, &["exec", "in", "cat", "/data/file"]),
        "from the host"
    );
    h.run(&["exec", "in", "touch", "/data/x"]).fails_with(1);
    h.run(&["exec", "in", "head", "-c", "1", "/dev/pod-zero"])
        .ok();
    assert_eq!(
        out(
            &h,
            &[
                "exec",
                "in",
                "cat",
                "/proc/sys/net/ipv4/ip_unprivileged_port_start"
            ]
        ),
        "42"
    );
    let doc = json(&h, &["pod", "inspect", "lim"]);
    assert_eq!(doc["CgroupPath"], pod_cg.as_str(), "{doc}");
    assert_eq!(doc["CgroupParent"], "/hoist");
    assert_eq!(doc["CreateCgroup"], true);
    assert_eq!(doc["memory_limit"], 67108864);
    assert_eq!(doc["memory_swap"], 2 * 67108864);
    assert_eq!(doc["cpu_period"], 100000);
    assert_eq!(doc["cpu_quota"], 50000);
    assert_eq!(doc["cpu_shares"], 512);
    assert_eq!(doc["InfraConfig"]["cpu_quota"], 50000);
    assert_eq!(doc["mounts"][0]["Destination"], "/data");
    assert_eq!(doc["mounts"][0]["RW"], false);
    h.run(&["pod", "rm", "-f", "-t", "0", "lim"]).ok();
    assert!(!std::path::Path::new(&format!("/sys/fs/cgroup/memory{pod_cg}")).exists());

    // --share-parent=false: no pod cgroup, no limits, default cgroups.
    out(
        &h,
        &[
            "pod",
            "create",
            "--name",
            "flat",
            "--share-parent=false",
            "--memory",
            "64m",
        ],
    );
    let c = out(&h, &["run", "-d", "--pod", "flat", &img, "sleep", "1000"]);
    let cg = memory_cgroup(&out(&h, &["exec", &c, "cat", "/proc/self/cgroup"]));
    assert_eq!(cg, format!("/hoist/{c}"));
    let doc = json(&h, &["pod", "inspect", "flat"]);
    assert_eq!(doc["CreateCgroup"], false, "{doc}");
    assert!(
        doc.get("memory_limit").is_none() && doc.get("CgroupPath").is_none(),
        "{doc}"
    );
    h.run(&["pod", "rm", "-f", "-t", "0", "flat"]).ok();

    // --cgroup-parent: the pod's cgroup goes below it.
    let parent = format!("hoist-podtest-{}", std::process::id());
    let id = out(&h, &["pod", "create", "--cgroup-parent", &parent]);
    let c = out(&h, &["run", "-d", "--pod", &id, &img, "sleep", "1000"]);
    let cg = memory_cgroup(&out(&h, &["exec", &c, "cat", "/proc/self/cgroup"]));
    assert_eq!(cg, format!("/{parent}/{id}/hoist-{c}"));
    h.run(&["pod", "rm", "-f", "-t", "0", &id]).ok();
    for ctl in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(ctl.path().join(&parent));
    }

    let err = h
        .run(&["pod", "create", "--cgroup-parent", "a/../../b"])
        .fails_with(125);
    assert!(err.stderr.contains("without \"..\""), "{err:?}");
    // --userns=auto is for containers, not yet for pods.
    let err = h
        .run(&["pod", "create", "--userns", "auto"])
        .fails_with(125);
    assert!(
        err.stderr
            .contains("--userns=auto for a pod is not supported by hoist yet"),
        "{err:?}"
    );
}

#[test]
fn pod_clone_copies_the_configuration() {
    let (_reg, h, img) = common::setup_with_busybox();
    let orig = out(
        &h,
        &[
            "pod", "create", "--name", "orig", "--memory", "64m", "--label", "k=v",
        ],
    );
    out(&h, &["create", "--pod", "orig", &img, "true"]);
    // The default name, a new infra container, none of the others.
    let copy = out(&h, &["pod", "clone", "orig"]);
    assert_eq!(copy.len(), 64, "{copy}");
    assert_ne!(copy, orig);
    let infra = out(
        &h,
        &[
            "pod",
            "inspect",
            "--format",
            "{{.InfraContainerID}}",
            "orig",
        ],
    );
    let infra_name = out(&h, &["inspect", "--format", "{{.Name}}", &infra]);
    let doc = json(&h, &["pod", "inspect", "orig-clone"]);
    assert_eq!(doc["Id"], copy.as_str());
    assert_eq!(doc["NumContainers"], 1, "{doc}");
    assert_eq!(doc["Containers"][0]["Name"], format!("{infra_name}-clone"));
    assert_eq!(doc["memory_limit"], 67108864);
    assert_eq!(doc["Labels"]["k"], "v");
    assert_eq!(doc["State"], "Created");
    // Overrides, --start, --destroy.
    let second = out(
        &h,
        &[
            "pod",
            "clone",
            "--name",
            "second",
            "--memory",
            "32m",
            "--start",
            "--destroy",
            "orig",
        ],
    );
    let doc = json(&h, &["pod", "inspect", &second]);
    assert_eq!(doc["Name"], "second");
    assert_eq!(doc["State"], "Running");
    assert_eq!(doc["memory_limit"], 33554432);
    h.run(&["pod", "exists", "orig"]).fails_with(1);
    let err = h.run(&["pod", "clone", "orig"]).fails_with(125);
    assert!(err.stderr.contains("no such pod"), "{err:?}");
    h.run(&["pod", "rm", "-f", "-t", "0", "-a"]).ok();
}

#[test]
fn pod_infra_options_show_as_podman_shows_them() {
    let (_reg, h, img) = common::setup_with_busybox();
    let port = hoist_testenv::free_port().to_string();
    let publish = format!("{port}:80");
    let mac = "92:d0:c6:0a:29:33";
    out(
        &h,
        &[
            "pod",
            "create",
            "--name",
            "opts",
            "--hostname",
            "named.example",
            "--mac-address",
            mac,
            "-p",
            &publish,
            "--infra-command",
            r#"["/catatonit","-P"]"#,
        ],
    );
    let infra = out(
        &h,
        &[
            "pod",
            "inspect",
            "--format",
            "{{.InfraContainerID}}",
            "opts",
        ],
    );
    // podman 4.3 prints the entrypoint as one string.
    assert_eq!(
        out(
            &h,
            &["inspect", "--format", "{{.Config.Entrypoint}}", &infra]
        ),
        "/catatonit -P"
    );
    assert_eq!(
        out(&h, &["pod", "inspect", "--format", "{{.Hostname}}", "opts"]),
        "named.example"
    );
    // Go prints the bindings, a list of structs, as `{HostIp HostPort}`.
    assert_eq!(
        out(
            &h,
            &[
                "pod",
                "inspect",
                "--format",
                "{{.InfraConfig.PortBindings}}",
                "opts"
            ]
        ),
        format!("map[80/tcp:[{{ {port}}}]]")
    );
    out(
        &h,
        &[
            "run", "-d", "--pod", "opts", "--name", "member", &img, "sleep", "1000",
        ],
    );
    assert_eq!(
        out(
            &h,
            &["exec", "member", "cat", "/sys/class/net/eth0/address"]
        ),
        mac
    );
    // A member shows the pod's published ports.
    assert_eq!(
        out(
            &h,
            &["ps", "--filter", "name=member", "--format", "{{.Ports}}"]
        ),
        format!("0.0.0.0:{port}->80/tcp")
    );
    // A host name podman was not given is not shown.
    out(&h, &["pod", "create", "--name", "plain"]);
    assert_eq!(
        out(
            &h,
            &["pod", "inspect", "--format", "{{.Hostname}}", "plain"]
        ),
        ""
    );
    h.run(&["pod", "rm", "-f", "-t", "0", "-a"]).ok();
}

#[test]
fn pod_label_file_reads_labels_as_podman() {
    let (_reg, h, _img) = common::setup_with_busybox();
    let file = h.base_dir().join("pod-labels");
    // Leading blanks go, trailing ones stay; comments, blank lines and a
    // line without `=` are skipped; --label wins over the file.
    std::fs::write(&file, "a=1\n# note\n\n  e=f g \nbare\nd=\nb=file\n").unwrap();
    let f = file.to_str().unwrap();
    out(
        &h,
        &[
            "pod",
            "create",
            "--name",
            "lf",
            "--label-file",
            f,
            "--label",
            "b=flag",
        ],
    );
    assert_eq!(
        json(
            &h,
            &["pod", "inspect", "--format", "{{json .Labels}}", "lf"]
        ),
        serde_json::json!({"a": "1", "b": "flag", "d": "", "e": "f g "})
    );
    // A key with blanks, or a missing file: refused, and no pod is made.
    std::fs::write(&file, "e =f\n").unwrap();
    let bad = h
        .run(&["pod", "create", "--name", "badpod", "--label-file", f])
        .fails_with(125);
    assert!(
        bad.stderr.contains("poorly formatted name"),
        "{}",
        bad.stderr
    );
    let missing = h.base_dir().join("none");
    h.run(&[
        "pod",
        "create",
        "--name",
        "badpod",
        "--label-file",
        missing.to_str().unwrap(),
    ])
    .fails_with(125);
    h.run(&["pod", "exists", "badpod"]).fails_with(1);
    h.run(&["pod", "rm", "-f", "-t", "0", "-a"]).ok();
}

/// The namespace `kind` of this (the host's) process, as `readlink` shows it.
fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn pod_pid_and_uts_modes_reach_its_infra_and_shared_members() {
    let (_reg, h, img) = common::setup_with_busybox();
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let ns_of = |pod: &str| {
        out(
            &h,
            &[
                "run",
                "--rm",
                "--pod",
                pod,
                &img,
                "sh",
                "-c",
                "readlink /proc/self/ns/pid; readlink /proc/self/ns/uts; hostname",
            ],
        )
    };
    let modes = |pod: &str| {
        let doc = json(&h, &["pod", "inspect", pod]);
        let ic = &doc["InfraConfig"];
        format!("{} {}", ic["pid_ns"], ic["uts_ns"])
    };

    // Host PID and UTS for the infra container; the pod shares UTS (by
    // default) but not PID: a member has the host's UTS namespace and
    // name, and a PID namespace of its own.
    out(
        &h,
        &[
            "pod", "create", "--name", "ph", "--pid", "host", "--uts", "host",
        ],
    );
    assert_eq!(modes("ph"), r#""host" "host""#);
    let got = ns_of("ph");
    let lines: Vec<&str> = got.lines().collect();
    assert_ne!(lines[0], host_ns("pid"), "{got}");
    assert_eq!(lines[1], host_ns("uts"), "{got}");
    assert_eq!(lines[2], host_name.trim(), "{got}");
    // Sharing PID too: members are in the host's PID namespace.
    out(
        &h,
        &[
            "pod", "create", "--name", "php", "--share", "+pid", "--pid", "host",
        ],
    );
    assert_eq!(modes("php"), r#""host" "private""#);
    let got = ns_of("php");
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], host_ns("pid"), "{got}");
    assert_ne!(lines[1], host_ns("uts"), "{got}");
    assert_eq!(lines[2], "php", "{got}");
    // The defaults, as podman prints them.
    out(&h, &["pod", "create", "--name", "plain"]);
    assert_eq!(modes("plain"), r#""private" "private""#);
    // Bad values: podman's errors, and no pod.
    let bad = h
        .run(&["pod", "create", "--name", "badpod", "--pid", "bogus"])
        .fails_with(125);
    assert!(
        bad.stderr.contains("unrecognized namespace mode bogus"),
        "{}",
        bad.stderr
    );
    let bad = h
        .run(&[
            "pod",
            "create",
            "--name",
            "badpod",
            "--uts",
            "host",
            "--hostname",
            "x",
        ])
        .fails_with(125);
    assert!(bad.stderr.contains("cannot set hostname"), "{}", bad.stderr);
    h.run(&["pod", "exists", "badpod"]).fails_with(1);
    // Nothing above renamed the host.
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_name
    );
    h.run(&["pod", "rm", "-f", "-t", "0", "-a"]).ok();
}

/// A block device of this machine (`/dev/vda`, `/dev/sda`, ...).
fn block_device() -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    [
        "/dev/vda",
        "/dev/sda",
        "/dev/nvme0n1",
        "/dev/xvda",
        "/dev/loop0",
    ]
    .into_iter()
    .find(|d| std::fs::metadata(d).is_ok_and(|m| m.file_type().is_block_device()))
    .map(String::from)
}

#[test]
fn pod_blkio_weight_device_is_set_on_its_cgroup_or_refused() {
    let (_reg, h, _img) = common::setup_with_busybox();
    let Some(dev) = block_device() else {
        eprintln!("skipped: no block device");
        return;
    };
    // podman's checks of the value, before anything is made.
    for (value, says) in [
        (format!("{dev}:5"), "invalid weight for device"),
        ("vda".to_string(), "bad format"),
        (
            "/dev/no-such:300".to_string(),
            "failed to inspect '/dev/no-such'",
        ),
    ] {
        let bad = h
            .run(&[
                "pod",
                "create",
                "--name",
                "w",
                "--blkio-weight-device",
                &value,
            ])
            .fails_with(125);
        assert!(bad.stderr.contains(says), "{value}: {}", bad.stderr);
    }
    let value = format!("{dev}:300");
    let v1 = std::path::Path::new("/sys/fs/cgroup/blkio");
    let weight_file = ["blkio.bfq.weight_device", "blkio.weight_device"]
        .into_iter()
        .find(|f| v1.join(f).exists());
    let unified = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let created = h.run(&[
        "pod",
        "create",
        "--name",
        "w",
        "--blkio-weight-device",
        &value,
    ]);
    match (unified, weight_file) {
        (false, Some(file)) => {
            created.ok();
            let cgroup = out(&h, &["pod", "inspect", "--format", "{{.CgroupPath}}", "w"]);
            let path = v1.join(cgroup.trim_start_matches('/')).join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(" 300"), "{}: {text}", path.display());
        }
        (false, None) => {
            // As podman on such a kernel: refused, and nothing left.
            let bad = created.fails_with(125);
            assert!(bad.stderr.contains("weight_device"), "{}", bad.stderr);
            h.run(&["pod", "exists", "w"]).fails_with(1);
        }
        (true, _) => eprintln!("cgroup v2: creation {}", created.success()),
    }
    h.run(&["pod", "rm", "-f", "-t", "0", "-a"]).ok();
}

#[test]
fn pod_clone_takes_label_files_and_namespace_modes() {
    let (_reg, h, img) = common::setup_with_busybox();
    out(
        &h,
        &[
            "pod", "create", "--name", "src", "--pid", "host", "--label", "a=1",
        ],
    );
    let labels = h.base_dir().join("labels");
    std::fs::write(&labels, "# from a file\nb=2\nc=3\n").unwrap();
    out(
        &h,
        &[
            "pod",
            "clone",
            "--name",
            "copy",
            "--label-file",
            labels.to_str().unwrap(),
            "--label",
            "c=4",
            "--pid",
            "private",
            "--uts",
            "host",
            "src",
        ],
    );
    let doc = json(&h, &["pod", "inspect", "copy"]);
    let got = &doc["Labels"];
    assert_eq!(
        (&got["a"], &got["b"], &got["c"]),
        (&"1".into(), &"2".into(), &"4".into()),
        "{doc}"
    );
    let ic = &doc["InfraConfig"];
    assert_eq!(
        (&ic["pid_ns"], &ic["uts_ns"]),
        (&"private".into(), &"host".into())
    );
    // The pod shares UTS by default: a member has the host's.
    let uts = out(
        &h,
        &[
            "run",
            "--rm",
            "--pod",
            "copy",
            &img,
            "readlink",
            "/proc/self/ns/uts",
        ],
    );
    assert_eq!(uts, host_ns("uts"));
    let bad = h
        .run(&["pod", "clone", "--name", "badpod", "--pid", "bogus", "src"])
        .fails_with(125);
    assert!(
        bad.stderr.contains("unrecognized namespace mode bogus"),
        "{}",
        bad.stderr
    );
    h.run(&["pod", "exists", "badpod"]).fails_with(1);
    h.run(&["pod", "rm", "-f", "-t", "0", "-a"]).ok();
}

/// `pod start` launches the members' monitors with the infra container's,
/// each waiting until the infra runs. When the infra cannot start (its
/// published port is taken), the error is the infra's and the members are
/// left as they were; once the port is free the same pod starts.
#[test]
fn members_wait_for_the_infra_and_stay_created_when_it_fails() {
    let (_reg, h, img) = common::setup_with_busybox();
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    h.run(&[
        "pod",
        "create",
        "--name",
        "gated",
        "-p",
        &format!("{port}:80"),
    ])
    .ok();
    for c in ["gated-one", "gated-two"] {
        h.run(&[
            "create", "--pod", "gated", "--name", c, &img, "sleep", "1000",
        ])
        .ok();
    }
    let failed = h.run(&["pod", "start", "gated"]);
    assert!(!failed.status.success(), "{failed:?}");
    assert!(
        failed.stderr.contains(&port.to_string()),
        "{}",
        failed.stderr
    );
    assert!(
        !failed.stderr.contains("infra container did not start"),
        "the infra's own error comes first: {}",
        failed.stderr
    );
    for c in ["gated-one", "gated-two"] {
        let state = out(
            &h,
            &[
                "inspect",
                "--format",
                "{{.State.Status}}|{{.State.Error}}",
                c,
            ],
        );
        assert_eq!(state, "created|", "{c}");
    }
    drop(taken);
    h.run(&["pod", "start", "gated"]).ok();
    for c in ["gated-one", "gated-two"] {
        assert_eq!(
            out(&h, &["inspect", "--format", "{{.State.Status}}", c]),
            "running"
        );
    }
    assert_eq!(pod_state(&h, "gated"), "Running");
    h.run(&["pod", "rm", "-f", "-t", "0", "gated"]).ok();
}

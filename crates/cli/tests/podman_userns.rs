//! `--cgroups` as podman 4.3 answers it: `disabled` only with a runtime
//! that can run a container without a cgroup of its own (crun; podman's
//! message for the others, hoist's own included, at create, exit 125),
//! `split` needing a cgroup v2 host (podman's message at start: exit 126
//! from `run`, 125 from `start`). Needs root and the test registry.

mod common;

/// Whether this host mounts cgroup v2 at /sys/fs/cgroup.
fn cgroup_v2() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "))
}

#[test]
fn cgroups_disabled_and_split_as_podman() {
    let (_reg, h, img) = common::setup_with_busybox();
    // hoist's own runtime always makes a cgroup: refused at create.
    for cmd in ["run", "create"] {
        let out = h
            .run(&[cmd, "--rm", "--cgroups=disabled", &img, "true"])
            .fails_with(125);
        assert!(
            out.stderr
                .contains("requested OCI runtime hoist is not compatible with NoCgroups"),
            "{out:?}"
        );
    }
    // No container was left behind.
    assert_eq!(h.run(&["ps", "-aq"]).ok().stdout.trim(), "");
    let bad = h
        .run(&["run", "--cgroups=bogus", &img, "true"])
        .fails_with(125);
    assert!(bad.stderr.contains("invalid cgroup mode"), "{bad:?}");
    // split: the container's cgroup goes below the monitor's cgroup v2
    // cgroup; a cgroup v1 host has none.
    let id = h
        .run(&[
            "create",
            "--cgroups=split",
            &img,
            "cat",
            "/proc/self/cgroup",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(
        h.run(&["inspect", "--format", "{{.HostConfig.Cgroups}}", &id])
            .ok()
            .stdout
            .trim(),
        "split"
    );
    if cgroup_v2() {
        h.run(&["start", "-a", &id]).ok();
    } else {
        let out = h.run(&["start", &id]).fails_with(125);
        assert!(
            out.stderr
                .contains("could not find cgroup mount in \"/proc/self/cgroup\""),
            "{out:?}"
        );
        let out = h
            .run(&["run", "--rm", "--cgroups=split", &img, "true"])
            .fails_with(126);
        assert!(
            out.stderr.contains("could not find cgroup mount"),
            "{out:?}"
        );
    }
}

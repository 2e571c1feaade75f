//! podman 4.3's less common `run` flags, checked inside real containers:
//! --no-hosts, --passwd-entry/--passwd/--hostuser, --personality,
//! --cgroup-parent/--cgroup-conf, --ip/--mac-address/--network-alias,
//! --requires, and the values refused (--sdnotify, --cgroups, --userns,
//! --uidmap) with podman's exit code 125.

mod common;

use hoist_testenv::{require_root, Hoist};

fn run_out(h: &Hoist, args: &[&str]) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    h.run(&all).ok().stdout
}

#[test]
fn etc_files_follow_the_flags() {
    require_root();
    let (_reg, h, img) = common::setup_with_busybox();
    // --no-hosts: the image's /etc/hosts, without the container's entries.
    let with = run_out(
        &h,
        &[
            "--hostname",
            "hh1",
            "--network",
            "none",
            &img,
            "cat",
            "/etc/hosts",
        ],
    );
    assert!(with.contains("hh1"), "{with}");
    let without = run_out(
        &h,
        &[
            "--no-hosts",
            "--hostname",
            "hh1",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "cat /etc/hosts 2>/dev/null; true",
        ],
    );
    assert!(!without.contains("hh1"), "{without}");

    // A --user missing from /etc/passwd gets a line (podman's default), or
    // the --passwd-entry template's, or none with --passwd=false.
    let p = run_out(
        &h,
        &[
            "--network",
            "none",
            "--user",
            "4321:55",
            &img,
            "cat",
            "/etc/passwd",
        ],
    );
    assert!(p.lines().any(|l| l.starts_with("4321:*:4321:55:")), "{p}");
    let p = run_out(
        &h,
        &[
            "--network",
            "none",
            "--user",
            "4321",
            "--passwd-entry",
            "$USERNAME:x:$UID:$GID:tmpl:$HOME:/bin/false",
            &img,
            "cat",
            "/etc/passwd",
        ],
    );
    assert!(
        p.lines().any(|l| l.starts_with("4321:x:4321:0:tmpl:")),
        "{p}"
    );
    let p = run_out(
        &h,
        &[
            "--network",
            "none",
            "--user",
            "4321",
            "--passwd=false",
            &img,
            "cat",
            "/etc/passwd",
        ],
    );
    assert!(!p.contains("4321"), "{p}");
    // --hostuser copies the host's entry (uid 0 is root everywhere, so a
    // host user the image lacks: the first non-root one, if any).
    let host = std::fs::read_to_string("/etc/passwd").unwrap();
    let image_users = run_out(&h, &["--network", "none", &img, "cat", "/etc/passwd"]);
    if let Some(line) = host.lines().find(|l| {
        let name = l.split(':').next().unwrap_or("");
        !name.is_empty()
            && !image_users
                .lines()
                .any(|i| i.starts_with(&format!("{name}:")))
    }) {
        let name = line.split(':').next().unwrap();
        let p = run_out(
            &h,
            &[
                "--network",
                "none",
                "--hostuser",
                name,
                &img,
                "cat",
                "/etc/passwd",
            ],
        );
        assert!(p.lines().any(|l| l == line), "{p}");
    }
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--hostuser",
            "no-such-user-xyz",
            &img,
            "true",
        ])
        .fails_with(126);
    assert!(out.stderr.contains("no-such-user-xyz"), "{out:?}");
}

#[test]
fn personality_and_cgroups() {
    require_root();
    let (_reg, h, img) = common::setup_with_busybox();
    let m = run_out(
        &h,
        &[
            "--network",
            "none",
            "--personality",
            "LINUX32",
            &img,
            "uname",
            "-m",
        ],
    );
    if std::env::consts::ARCH == "x86_64" {
        assert_eq!(m.trim(), "i686", "{m}");
    }
    let cg = run_out(
        &h,
        &[
            "--network",
            "none",
            "--cgroupns",
            "host",
            "--cgroup-parent",
            "/p3parent",
            &img,
            "cat",
            "/proc/self/cgroup",
        ],
    );
    assert!(cg.contains("/p3parent/hoist-"), "{cg}");
    let conf = [
        "run",
        "--rm",
        "--network",
        "none",
        "--cgroup-conf",
        "memory.high=123453440",
        &img,
        "cat",
        "/sys/fs/cgroup/memory.high",
    ];
    if !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        let out = h.run(&conf).fails_with(125);
        assert!(
            out.stderr
                .contains("cannot use --cgroup-conf without cgroup v2"),
            "{out:?}"
        );
    } else {
        let v = run_out(
            &h,
            &[
                "--network",
                "none",
                "--cgroup-conf",
                "memory.high=123453440",
                &img,
                "cat",
                "/sys/fs/cgroup/memory.high",
            ],
        );
        assert_eq!(v.trim(), "123453440");
    }
    hoist_testenv::leftovers::remove_cgroup_parent("/p3parent");
}

#[test]
fn static_addresses_and_aliases() {
    require_root();
    let (_reg, h, img) = common::setup_with_busybox();
    let pid = std::process::id();
    let net = format!("p3net{pid}");
    // A subnet of its own: other tests' networks may exist meanwhile.
    let prefix = format!("10.{}.{}", 150 + pid % 90, pid / 90 % 250);
    h.run(&[
        "network",
        "create",
        "--subnet",
        &format!("{prefix}.0/24"),
        &net,
    ])
    .ok();
    let ip = format!("{prefix}.77");
    let out = run_out(
        &h,
        &[
            "--network",
            &net,
            "--ip",
            &ip,
            "--mac-address",
            "92:d0:c6:0a:29:33",
            &img,
            "ip",
            "addr",
            "show",
            "eth0",
        ],
    );
    assert!(out.contains(&format!("{ip}/24")), "{out}");
    assert!(out.contains("92:d0:c6:0a:29:33"), "{out}");
    h.run(&[
        "run",
        "-d",
        "--name",
        "aliased",
        "--network",
        &net,
        "--network-alias",
        "webalias",
        &img,
        "sleep",
        "60",
    ])
    .ok();
    let c: serde_json::Value =
        serde_json::from_str(&h.run(&["container", "inspect", "aliased"]).ok().stdout).unwrap();
    let aliases = &c[0]["NetworkSettings"]["Networks"][&net]["Aliases"];
    assert!(aliases.to_string().contains("webalias"), "{aliases}");
    h.run(&["rm", "-f", "-t", "0", "aliased"]).ok();
    let out = h
        .run(&["run", "--rm", "--ip6", "10.1.1.1", &img, "true"])
        .fails_with(125);
    assert!(out.stderr.contains("10.1.1.1"), "{out:?}");
    let out = h
        .run(&[
            "create",
            "--network",
            &format!("{net},podman"),
            "--ip",
            &ip,
            &img,
            "true",
        ])
        .fails_with(125);
    assert!(
        out.stderr
            .contains("--ip can only be set for a single network"),
        "{out:?}"
    );
    h.run(&["network", "rm", &net]).ok();
}

#[test]
fn requires_starts_the_dependencies_first() {
    require_root();
    let (_reg, h, img) = common::setup_with_busybox();
    let out = h
        .run(&["create", "--requires", "nosuchdep", &img, "true"])
        .fails_with(125);
    assert!(out.stderr.contains("nosuchdep"), "{out:?}");
    h.run(&[
        "create",
        "--name",
        "dep",
        "--network",
        "none",
        &img,
        "sleep",
        "60",
    ])
    .ok();
    h.run(&[
        "run",
        "-d",
        "--name",
        "main",
        "--network",
        "none",
        "--requires",
        "dep",
        &img,
        "sleep",
        "60",
    ])
    .ok();
    let state = h
        .run(&["inspect", "--format", "{{.State.Status}}", "dep"])
        .ok()
        .stdout;
    assert_eq!(state.trim(), "running");
    // A required container cannot go before the one requiring it.
    let out = h.run(&["rm", "-f", "-t", "0", "dep"]);
    assert!(!out.success(), "{out:?}");
    assert!(out.stderr.contains("dependent containers"), "{out:?}");
    h.run(&["rm", "-f", "-t", "0", "main", "dep"]).ok();
}

#[test]
fn unsupported_values_are_refused_like_podman() {
    let (_reg, h, img) = common::setup_with_busybox();
    for (args, want) in [
        (
            vec!["--sdnotify", "bogus"],
            "invalid sdnotify value \"bogus\"",
        ),
        (vec!["--cgroups", "bogus"], "invalid cgroup mode \"bogus\""),
        (
            vec!["--userns", "keep-id"],
            "keep-id is only supported in rootless mode",
        ),
        (
            vec!["--userns", "nomap"],
            "nomap is only supported in rootless mode",
        ),
        (vec!["--uidmap", "0:100"], "UID setting is malformed"),
        (
            vec!["--uidmap", "1:100000:65536"],
            "must map the container's root (ID 0)",
        ),
        (
            vec!["--pod", "new:userns-pod", "--uidmap", "0:100000:65536"],
            "give the maps to `pod create` instead",
        ),
        (vec!["--personality", "PDP11"], "invalid --personality"),
        (vec!["--mac-address", "zz"], "invalid MAC address"),
        (
            vec!["--no-hosts", "--add-host", "a:10.1.1.1"],
            "--no-hosts and --add-host cannot be set together",
        ),
        (vec!["--cgroup-parent", "/a/../b"], "invalid --cgroup-parent"),
        (
            vec!["--group-add", "keep-groups", "--group-add", "457"],
            "the '--group-add keep-groups' option is not allowed with any other --group-add options",
        ),
    ] {
        let mut all = vec!["create"];
        all.extend(args.iter().copied());
        all.extend([img.as_str(), "true"]);
        let out = h.run(&all).fails_with(125);
        assert!(out.stderr.contains(want), "{args:?}: {out:?}");
    }
    // Accepted values that change nothing visible here.
    h.run(&[
        "create",
        "--name",
        "accepted",
        "--cgroup-parent",
        "/p3x",
        "--sdnotify",
        "ignore",
        "--cgroups",
        "split",
        "--disable-content-trust",
        "--chrootdirs",
        "/x",
        "--userns",
        "host",
        &img,
        "true",
    ])
    .ok();
    let out = h
        .run(&[
            "container",
            "inspect",
            "--format",
            "{{.HostConfig.CgroupParent}} {{.HostConfig.Cgroups}}",
            "accepted",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "/p3x split");
}

#[test]
fn dockers_content_trust_switch_is_accepted_and_changes_nothing() {
    require_root();
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&["pull", "-q", "--disable-content-trust", &img]).ok();
    let out = run_out(
        &h,
        &[
            "--disable-content-trust",
            "--network",
            "none",
            &img,
            "echo",
            "ran",
        ],
    );
    assert_eq!(out, "ran\n");
    h.run(&[
        "create",
        "--disable-content-trust=false",
        "--name",
        "ct",
        &img,
        "true",
    ])
    .ok();
    let pushed = format!("{img}-trust");
    h.run(&["tag", &img, &pushed]).ok();
    h.run(&["push", "-q", "--disable-content-trust", &pushed])
        .ok();
    // A value that is no boolean is podman's usage error.
    let out = h
        .run(&["pull", "--disable-content-trust=maybe", &img])
        .fails_with(125);
    assert!(out.stderr.contains("disable-content-trust"), "{out:?}");
    h.run(&["rm", "ct"]).ok();
}

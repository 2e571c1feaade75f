//! Containers driven through the hoist binary like a user would: run,
//! exit codes, env/user/workdir, volumes, -d with ps/logs/stop/rm, OOM
//! kills, crashes of the monitor, concurrency. Needs root and the test
//! registry; each test pulls the busybox test image first.

mod common;

use hoist_testenv::Hoist;

/// A registry with the busybox image pulled into a fresh hoist.
fn inspect(hoist: &Hoist, name: &str, field: &str) -> String {
    hoist
        .run(&["inspect", name, "--format", &format!("{{{{{field}}}}}")])
        .ok()
        .stdout
        .trim()
        .to_string()
}

#[test]
fn run_prints_output_and_exit_codes_follow_podman() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let out = hoist
        .run(&["run", "--rm", "--network", "none", &img, "echo", "hi"])
        .ok();
    assert_eq!(out.stdout, "hi\n");
    hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "exit 3",
        ])
        .fails_with(3);
    let out = hoist
        .run(&["run", "--rm", "--network", "none", &img, "nosuchcmd"])
        .fails_with(127);
    assert!(out.stderr.contains("nosuchcmd"), "{out:?}");
    hoist
        .run(&["run", "--rm", "--network", "none", &img, "/etc/passwd"])
        .fails_with(126);
    hoist
        .run(&[
            "run",
            "--rm",
            &img.replace("busybox", "nosuchimage"),
            "true",
        ])
        .fails_with(125);
    // --rm left nothing behind.
    let out = hoist.run(&["ps", "-a", "-q"]).ok();
    assert_eq!(out.stdout, "");
    // stderr goes to stderr.
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "echo err >&2",
        ])
        .ok();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", "err\n"));
    // An --rm container's writable layer is never synced (it is thrown
    // away); a kept container's is.
    let root_mount = "grep ' / ' /proc/self/mounts";
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            root_mount,
        ])
        .ok();
    assert!(out.stdout.contains("volatile"), "{}", out.stdout);
    let out = hoist
        .run(&[
            "run",
            "--name",
            "kept",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            root_mount,
        ])
        .ok();
    assert!(!out.stdout.contains("volatile"), "{}", out.stdout);
    hoist.run(&["rm", "kept"]).ok();
    // Every run above shared one compiled seccomp program.
    let cache = hoist.root().join("cache/seccomp");
    let programs = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert_eq!(programs, 1, "{}", cache.display());
}

#[test]
fn env_user_workdir_entrypoint_and_volumes() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let envfile = hoist.base_dir().join("env");
    std::fs::write(&envfile, "# comment\nFROM_FILE=yes\n").unwrap();
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-e",
            "FOO=bar",
            "--env-file",
            envfile.to_str().unwrap(),
            "-u",
            "1000:1000",
            "-w",
            "/tmp",
            // podman's shorthand of --hostname.
            "-h",
            "box",
            &img,
            "sh",
            "-c",
            "echo $FOO $FROM_FILE; id -u; id -g; pwd; hostname",
        ])
        .ok();
    assert_eq!(out.stdout, "bar yes\n1000\n1000\n/tmp\nbox\n");
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "echo",
            &img,
            "a",
            "b",
        ])
        .ok();
    assert_eq!(out.stdout, "a b\n");
    // Named volume: created on first use, kept across containers.
    hoist.run(&["volume", "create", "v1"]).ok();
    hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "v1:/data",
            &img,
            "sh",
            "-c",
            "echo kept > /data/f",
        ])
        .ok();
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "v1:/data:ro",
            &img,
            "cat",
            "/data/f",
        ])
        .ok();
    assert_eq!(out.stdout, "kept\n");
    hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "v1:/data:ro",
            &img,
            "touch",
            "/data/g",
        ])
        .fails_with(1);
    let vols = hoist.run(&["volume", "ls", "-q"]).ok();
    assert_eq!(vols.stdout, "v1\n");
    // Bind mount of a host directory.
    let host = hoist.base_dir().join("shared");
    std::fs::create_dir(&host).unwrap();
    let spec = format!("{}:/mnt", host.display());
    hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &spec,
            &img,
            "sh",
            "-c",
            "echo from-ctr > /mnt/x",
        ])
        .ok();
    assert_eq!(
        std::fs::read_to_string(host.join("x")).unwrap(),
        "from-ctr\n"
    );
    // --read-only and --tmpfs.
    hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only",
            &img,
            "touch",
            "/etc/x",
        ])
        .fails_with(1);
    hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only",
            "--tmpfs",
            "/scratch",
            &img,
            "touch",
            "/scratch/x",
        ])
        .ok();
    hoist.run(&["volume", "rm", "v1"]).ok();
    assert_eq!(hoist.run(&["volume", "ls", "-q"]).ok().stdout, "");
}

#[test]
fn detached_ps_logs_stop_inspect_rm() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let out = hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "ticker",
            "--network",
            "none",
            "--label",
            "app=t",
            &img,
            "sh",
            "-c",
            "echo start; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
        ])
        .ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{out:?}");
    let ps = hoist
        .run(&["ps", "--format", "{{.ID}} {{.Names}} {{.Status}}"])
        .ok();
    assert!(
        ps.stdout.starts_with(&format!("{} ticker Up", &id[..12])),
        "{ps:?}"
    );
    let ps = hoist.run(&["ps", "--format", "json"]).ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&ps.stdout).unwrap();
    assert_eq!(rows[0]["State"], "running");
    assert_eq!(rows[0]["Labels"]["app"], "t");
    assert_eq!(
        hoist
            .run(&["ps", "-q", "--filter", "label=app=t"])
            .ok()
            .stdout
            .trim(),
        &id[..12]
    );
    assert_eq!(
        hoist
            .run(&["ps", "-q", "--filter", "name=nothere"])
            .ok()
            .stdout,
        ""
    );
    assert_eq!(inspect(&hoist, "ticker", ".State.Status"), "running");
    assert!(inspect(&hoist, "ticker", ".Config.Env").contains("container=podman"));
    // The name is taken.
    hoist
        .run(&["run", "-d", "--name", "ticker", &img, "true"])
        .fails_with(125);
    // logs -f ends when the container stops.
    let mut follow = hoist.command(&["logs", "-f", "ticker"]);
    follow.stdout(std::process::Stdio::piped());
    let child = follow.spawn().unwrap();
    let out = hoist.run(&["stop", "-t", "5", "ticker"]).ok();
    assert_eq!(out.stdout, "ticker\n");
    let logs = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&logs.stdout), "start\nbye\n");
    assert_eq!(inspect(&hoist, "ticker", ".State.Status"), "exited");
    assert_eq!(inspect(&hoist, "ticker", ".State.ExitCode"), "0");
    let out = hoist.run(&["logs", "--tail", "1", "-t", "ticker"]).ok();
    assert!(
        out.stdout.ends_with(" bye\n") && out.stdout.len() > 20,
        "{out:?}"
    );
    assert!(hoist.run(&["ps", "-q"]).ok().stdout.is_empty());
    assert_eq!(hoist.run(&["ps", "-aq"]).ok().stdout.trim(), &id[..12]);
    // The image is in use: rmi refuses.
    hoist.run(&["rmi", &img]).fails_with(2);
    // start again, then kill and wait.
    hoist.run(&["start", "ticker"]).ok();
    assert_eq!(inspect(&hoist, "ticker", ".State.Status"), "running");
    hoist.run(&["kill", "ticker"]).ok();
    assert_eq!(hoist.run(&["wait", "ticker"]).ok().stdout, "137\n");
    hoist.run(&["rm", "ticker"]).ok();
    hoist.run(&["rm", "ticker"]).fails_with(1);
    // rm -f of a running container.
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "victim",
            "--network",
            "none",
            &img,
            "sleep",
            "100",
        ])
        .ok();
    hoist.run(&["rm", "victim"]).fails_with(2);
    hoist.run(&["rm", "-f", "victim"]).ok();
    assert!(hoist.run(&["ps", "-aq"]).ok().stdout.is_empty());
    common::assert_store_clean(&hoist);
}

/// SIGKILLs the monitor of container `name` and waits until the container
/// reads as exited (the monitor's lock dies with it).
fn kill_monitor(hoist: &Hoist, name: &str) {
    let monitor = inspect(hoist, name, ".State.ConmonPid");
    std::process::Command::new("kill")
        .args(["-9", &monitor])
        .status()
        .unwrap();
    hoist_testenv::wait_until(
        std::time::Duration::from_secs(30),
        "the killed monitor's container to read as exited",
        || inspect(hoist, name, ".State.Status") == "exited",
    );
}

/// Waits until process `pid` is gone, or a zombie waiting for this
/// machine's init (what is left of an orphaned container's process).
fn wait_process_gone(pid: i32) {
    hoist_testenv::wait_until(
        std::time::Duration::from_secs(30),
        "the orphaned container's process to die",
        || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start().chars().next());
            matches!(state, None | Some(Some('Z')))
        },
    );
}

#[test]
fn memory_hog_is_oom_killed_and_a_killed_monitor_is_recovered() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist
        .run(&[
            "run",
            "--name",
            "hog",
            "--network",
            "none",
            "--memory",
            "16m",
            "--memory-swap",
            "16m",
            &img,
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=64M",
            "count=1",
        ])
        .fails_with(137);
    assert_eq!(inspect(&hoist, "hog", ".State.OOMKilled"), "true");
    assert_eq!(inspect(&hoist, "hog", ".State.ExitCode"), "137");
    hoist.run(&["rm", "hog"]).ok();

    hoist
        .run(&["run", "-d", "--name", "orphan", &img, "sleep", "100"])
        .ok();
    let pid: i32 = inspect(&hoist, "orphan", ".State.Pid").parse().unwrap();
    kill_monitor(&hoist, "orphan");
    // Its exit code is unknown: -1, as podman says, before and after a
    // command cleaned up after the dead monitor.
    assert_eq!(inspect(&hoist, "orphan", ".State.ExitCode"), "-1");
    let ps = hoist
        .run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .ok();
    assert!(ps.stdout.starts_with("orphan Exited (-1)"), "{ps:?}");
    hoist.run(&["stop", "orphan"]).ok();
    assert_eq!(inspect(&hoist, "orphan", ".State.ExitCode"), "-1");
    hoist.run(&["rm", "orphan"]).ok();
    // rm SIGKILLs it: gone, or a zombie waiting for this machine's init.
    wait_process_gone(pid);
    assert!(hoist_testenv::hoist::mounts_below(&hoist.root()).is_empty());
}

#[test]
fn published_port_and_named_network_dns() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let port = hoist_testenv::free_port();
    let publish = format!("{port}:80");
    let web_net = hoist.private_network("webnet");
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            &web_net,
            "-p",
            &publish,
            &img,
            "sh",
            "-c",
            "mkdir /www && echo hello-httpd > /www/index.html && exec httpd -f -p 80 -h /www",
        ])
        .ok();
    assert!(hoist_testenv::wait_for_tcp(
        &format!("127.0.0.1:{port}"),
        std::time::Duration::from_secs(60)
    ));
    let curl = std::process::Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&curl.stdout), "hello-httpd\n");
    assert_eq!(
        hoist.run(&["port", "web"]).ok().stdout,
        format!("80/tcp -> 0.0.0.0:{port}\n")
    );
    hoist.run(&["rm", "-f", "web"]).ok();
    hoist.run(&["network", "rm", &web_net]).ok();

    let net = format!("hn{}", std::process::id() % 100000);
    hoist.run(&["network", "create", &net]).ok();
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "srv",
            "--network",
            &net,
            &img,
            "sh",
            "-c",
            "mkdir /www && echo from-srv > /www/index.html && exec httpd -f -p 80 -h /www",
        ])
        .ok();
    let out = hoist
        .run(&["run", "--rm", "--network", &net, &img, "sh", "-c",
               "for i in 1 2 3 4 5 6 7 8 9 10; do printf 'GET / HTTP/1.0\r\n\r\n' | nc srv 80 | tail -n 1 | grep . && exit 0; sleep 0.3; done; exit 1"])
        .ok();
    assert_eq!(out.stdout, "from-srv\n");
    // --network none has only loopback.
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &img,
            "ls",
            "/sys/class/net",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "lo");
    // In use: podman's exit code 2.
    hoist.run(&["network", "rm", &net]).fails_with(2);
    hoist.run(&["rm", "-f", "srv"]).ok();
    hoist.run(&["network", "rm", &net]).ok();
}

#[test]
fn twenty_concurrent_runs_all_succeed() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let children: Vec<_> = (0..20)
        .map(|i| {
            let mut c = hoist.command(&["run", "--rm", &img, "echo", &format!("n{i}")]);
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "run {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("n{i}\n"));
    }
    assert!(hoist.run(&["ps", "-aq"]).ok().stdout.is_empty());
    assert!(hoist_testenv::hoist::mounts_below(&hoist.root()).is_empty());
}

/// `container cleanup` releases what a container whose monitor was killed
/// left behind (its process, root filesystem mount, network namespace);
/// a running container is refused (passed over with --all); --rm removes
/// the container once cleaned up.
#[test]
fn cleanup_releases_what_a_dead_monitor_left() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist
        .run(&["run", "-d", "--name", "orphan", &img, "sleep", "100"])
        .ok();
    hoist
        .run(&["run", "-d", "--name", "alive", &img, "sleep", "100"])
        .ok();
    let pid: i32 = inspect(&hoist, "orphan", ".State.Pid").parse().unwrap();
    kill_monitor(&hoist, "orphan");
    let orphan_dir = hoist
        .root()
        .join("containers")
        .join(inspect(&hoist, "orphan", ".Id"));
    let left = |dir: &std::path::Path| !hoist_testenv::hoist::mounts_below(dir).is_empty();
    assert!(left(&orphan_dir), "the dead monitor's mount is still there");

    let out = hoist.run(&["container", "cleanup", "orphan"]).ok();
    assert_eq!(out.stdout.trim(), "orphan");
    assert!(!left(&orphan_dir), "cleanup unmounted the root filesystem");
    wait_process_gone(pid);

    let out = hoist
        .run(&["container", "cleanup", "alive"])
        .fails_with(125);
    assert!(out.stderr.contains("refusing to clean up"), "{out:?}");
    let out = hoist.run(&["container", "cleanup", "--all"]).ok();
    assert!(
        !out.stdout.contains(&inspect(&hoist, "alive", ".Id")),
        "{out:?}"
    );
    assert_eq!(inspect(&hoist, "alive", ".State.Status"), "running");
    hoist.run(&["container", "cleanup", "--rm", "orphan"]).ok();
    hoist.run(&["container", "exists", "orphan"]).fails_with(1);
    hoist.run(&["rm", "-f", "-t", "0", "alive"]).ok();
}

#[test]
fn inspect_type_restricts_the_lookup_and_size_measures_the_container() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist
        .run(&[
            "run",
            "--name",
            "ti",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "head -c 300000 /dev/zero > /blob",
        ])
        .ok();
    hoist.run(&["volume", "create", "tv"]).ok();
    let name_of = |args: &[&str]| {
        let mut all = vec!["inspect", "--format", "{{.Name}}"];
        all.extend(args);
        hoist.run(&all).ok().stdout
    };
    assert_eq!(name_of(&["--type", "container", "ti"]), "ti\n");
    assert_eq!(name_of(&["-t", "volume", "tv"]), "tv\n");
    // Without --type every kind is tried, volumes too.
    assert_eq!(name_of(&["tv", "ti"]), "tv\nti\n");

    // A name of another kind: podman's reason for the type asked for; the
    // JSON list is printed all the same.
    let out = hoist
        .run(&["inspect", "--type", "image", "ti"])
        .fails_with(125);
    assert_eq!(out.stdout.trim(), "[]");
    assert_eq!(
        common::error_line(&out.stderr),
        "Error: inspecting object: ti: image not known"
    );
    let out = hoist
        .run(&["inspect", "--type", "container", &img])
        .fails_with(125);
    assert_eq!(
        common::error_line(&out.stderr),
        format!("Error: inspecting object: no such container {img}")
    );
    let out = hoist
        .run(&["inspect", "--type", "volume", "ti"])
        .fails_with(125);
    assert_eq!(
        common::error_line(&out.stderr),
        "Error: inspecting object: no such volume ti"
    );
    // What is found is printed; every reason but the first is a line of
    // its own, the first is the error.
    let out = hoist
        .run(&["inspect", "-f", "{{.Name}}", "ti", "nothere", "gone"])
        .fails_with(125);
    assert_eq!(out.stdout, "ti\n");
    assert_eq!(
        out.stderr,
        "error inspecting object: no such object: \"gone\"\nError: inspecting object: no such object: \"nothere\"\n"
    );
    let out = hoist
        .run(&["inspect", "--type", "bogus", "ti"])
        .fails_with(125);
    assert!(
        common::error_line(&out.stderr).starts_with("Error: invalid type \"bogus\": must be"),
        "{out:?}"
    );

    // --size: the writable layer holds the 300 kB file; the root
    // filesystem adds the image. Only asked for.
    for args in [
        vec!["inspect", "--size", "ti"],
        vec!["inspect", "-s", "--type", "container", "ti"],
        vec!["container", "inspect", "--size", "ti"],
    ] {
        let out = hoist.run(&args).ok();
        let v: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
        let rw = v[0]["SizeRw"].as_u64().expect("SizeRw with --size");
        let rootfs = v[0]["SizeRootFs"].as_u64().expect("SizeRootFs with --size");
        assert!(rw >= 300_000, "{args:?}: SizeRw {rw}");
        assert!(rootfs > rw, "{args:?}: SizeRootFs {rootfs}, SizeRw {rw}");
    }
    let out = hoist.run(&["inspect", "ti"]).ok();
    let v: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert!(v[0].get("SizeRw").is_none(), "{}", v[0]);
}

#[test]
fn port_all_and_latest() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let net = hoist.private_network("portnet");
    let (p1, p2, p3) = (
        hoist_testenv::free_port(),
        hoist_testenv::free_port(),
        hoist_testenv::free_port(),
    );
    // Created but never started: not among the running containers --all shows.
    let idle = format!("{p3}:82");
    hoist
        .run(&[
            "create",
            "--name",
            "pidle",
            "--network",
            &net,
            "-p",
            &idle,
            &img,
        ])
        .ok();
    let mut ids = Vec::new();
    for (name, publish) in [("pa1", format!("{p1}:80")), ("pa2", format!("{p2}:81/udp"))] {
        let out = hoist
            .run(&[
                "run",
                "-d",
                "--name",
                name,
                "--network",
                &net,
                "-p",
                &publish,
                &img,
                "sleep",
                "300",
            ])
            .ok();
        ids.push(out.stdout.trim()[..12].to_string());
    }
    let mut all: Vec<String> = hoist
        .run(&["port", "--all"])
        .ok()
        .stdout
        .lines()
        .map(String::from)
        .collect();
    all.sort();
    let mut want = vec![
        format!("{}\t80/tcp -> 0.0.0.0:{p1}", ids[0]),
        format!("{}\t81/udp -> 0.0.0.0:{p2}", ids[1]),
    ];
    want.sort();
    assert_eq!(all, want);
    // --latest: pa2, created last; its one argument is the port.
    assert_eq!(
        hoist.run(&["port", "-l"]).ok().stdout,
        format!("81/udp -> 0.0.0.0:{p2}\n")
    );
    assert_eq!(
        hoist.run(&["port", "--latest", "81/udp"]).ok().stdout,
        format!("0.0.0.0:{p2}\n")
    );
    let out = hoist.run(&["port", "-a", "80"]).fails_with(125);
    assert_eq!(
        common::error_line(&out.stderr),
        "Error: no arguments are needed with --all"
    );
    let out = hoist.run(&["port", "-a", "-l"]).fails_with(125);
    assert_eq!(
        common::error_line(&out.stderr),
        "Error: --all and --latest cannot be used together"
    );
    hoist.run(&["rm", "-f", "pa1", "pa2", "pidle"]).ok();
}

/// A test that leaves a container with a published port running: the
/// harness kills its monitor at the end, and must still take the port's
/// DNAT rules away (else a later test whose loopback port happens to be the
/// same would have its connections sent into a dead container).
#[test]
fn the_harness_removes_the_port_rules_of_containers_a_test_left() {
    let port = hoist_testenv::free_port().to_string();
    let rules = || {
        let out = std::process::Command::new("iptables")
            .args(["-t", "nat", "-S"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(&format!("--dport {port} ")) && l.contains("DNAT"))
            .count()
    };
    {
        let (_reg, hoist, img) = common::setup_with_busybox();
        hoist
            .run(&[
                "run",
                "-d",
                "-p",
                &format!("{port}:80"),
                &img,
                "sleep",
                "100",
            ])
            .ok();
        assert!(rules() > 0, "the published port has its DNAT rules");
    }
    assert_eq!(rules(), 0, "the DNAT rule of a killed container stayed");
}

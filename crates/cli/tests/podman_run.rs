//! `run` and `create` as podman's own system tests (030-run) expect them:
//! error wording and exit codes, the default environment and
//! containers.conf, `/run/.containerenv`, `--tz`, devices, `--cidfile`,
//! `--conmon-pidfile`, `--preserve-fds`, `--attach`, `--timeout`, a
//! published port in use, the image data `inspect` shows and an external
//! `--runtime`.

mod common;

use hoist_testenv::Hoist;

fn inspect(h: &Hoist, what: &str, format: &str) -> String {
    h.run(&["inspect", "--format", format, what])
        .ok()
        .stdout
        .trim()
        .to_string()
}

#[test]
fn failures_have_podmans_words_and_exit_codes() {
    let (_reg, h, img) = common::setup_with_busybox();
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(args);
        h.run(&all)
    };
    let out = run(&[&img, "/etc"]).fails_with(126);
    assert!(
        out.stderr
            .contains("Error: exec: \"/etc\": permission denied"),
        "{out:?}"
    );
    let out = run(&[&img, "/no/such/command"]).fails_with(127);
    assert!(
        out.stderr
            .contains("/no/such/command: no such file or directory"),
        "{out:?}"
    );
    let out = run(&["--workdir", "/i/do/not/exist", &img, "pwd"]).fails_with(126);
    assert!(
        out.stderr
            .contains("Error: workdir \"/i/do/not/exist\" does not exist on container "),
        "{out:?}"
    );
    // One a volume provides needs not exist in the image.
    let vol = h.base_dir().join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("content"), "in the volume\n").unwrap();
    let v = format!("{}:/NotOnTheImage", vol.display());
    let out = run(&[
        "--workdir",
        "/NotOnTheImage",
        "-v",
        &v,
        &img,
        "cat",
        "content",
    ])
    .ok();
    assert_eq!(out.stdout, "in the volume\n");
    let out = h
        .run(&[
            "--runtime-flag",
            "invalidflag",
            "run",
            "--rm",
            "--network",
            "none",
            &img,
            "true",
        ])
        .fails_with(126);
    assert!(out.stderr.contains("--invalidflag"), "{out:?}");
    for (rule, message) in [
        ("b 7:* rmX", "Error: invalid device access in device-access-add: X"),
        (
            "b 7:2",
            "Error: invalid device cgroup rule requires type, major:Minor, and access rules: \"b 7:2\"",
        ),
        ("x 7:* rmw", "Error: invalid device type in device-access-add: x"),
        ("a a:* rmw", "Error: strconv.ParseUint: parsing \"a\": invalid syntax"),
    ] {
        let out = run(&["--device-cgroup-rule", rule, &img, "true"]).fails_with(125);
        assert!(out.stderr.lines().any(|l| l == message), "{out:?}");
    }
    run(&["--device-cgroup-rule", "c 7:* rmw", &img, "true"]).ok();
    // --memory 0 is no limit; -p with the host's network is dropped with
    // podman's warning; --kernel-memory is accepted with one.
    assert_eq!(
        run(&["--memory=0", &img, "echo", "hello"]).ok().stdout,
        "hello\n"
    );
    let out = h
        .run(&[
            "run",
            "--rm",
            "-p",
            "8080",
            "--net=host",
            &img,
            "echo",
            "hi",
        ])
        .ok();
    assert_eq!(out.stdout, "hi\n");
    assert!(out.stderr.contains("Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use"), "{out:?}");
    let out = run(&["--kernel-memory", "100", &img, "true"]).ok();
    assert!(
        out.stderr
            .contains("The --kernel-memory flag is no longer supported. This flag is a noop."),
        "{out:?}"
    );
}

#[test]
fn environment_defaults_unsetenv_and_containers_conf() {
    let (_reg, mut h, img) = common::setup_with_busybox();
    let env = |h: &Hoist, args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(args);
        h.run(&all).ok().stdout
    };
    let out = env(&h, &[&img, "env"]);
    assert!(
        out.contains("TERM=xterm\n") && out.contains("container=podman\n"),
        "{out}"
    );
    let out = env(&h, &["--unsetenv", "TERM", &img, "env"]);
    assert!(
        !out.contains("TERM=") && out.contains("container=podman"),
        "{out}"
    );
    let out = env(&h, &["--unsetenv-all", &img, "/bin/env"]);
    for gone in ["TERM", "container", "PATH"] {
        assert!(!out.contains(gone), "{gone} in {out}");
    }
    let out = env(
        &h,
        &["--unsetenv-all", "--env", "TERM=abc", &img, "/bin/env"],
    );
    assert!(out.contains("TERM=abc"), "{out}");
    let out = env(&h, &["--env-merge", "PATH=/opt/bin:${PATH}", &img, "env"]);
    assert!(out.contains("PATH=/opt/bin:/usr/local/sbin:"), "{out}");

    // containers.conf fills what the flags leave unset.
    let conf = h.base_dir().join("containers.conf");
    std::fs::write(
        &conf,
        "[containers]\nenv = [\"FROM_CONF=yes\"]\numask = \"0077\"\npids_limit = 99\n\
         default_ulimits = [\"nofile=123:456\"]\n[engine]\npull_policy = \"never\"\n",
    )
    .unwrap();
    h.env("CONTAINERS_CONF", &conf);
    let out = env(&h, &[&img, "sh", "-c", "env; umask; ulimit -n; ulimit -Hn"]);
    assert!(out.contains("FROM_CONF=yes\n"), "{out}");
    assert!(out.contains("0077\n123\n456\n"), "{out}");
    h.run(&["create", "--name", "limited", &img, "true"]).ok();
    assert_eq!(inspect(&h, "limited", "{{.HostConfig.PidsLimit}}"), "99");
    h.run(&[
        "create",
        "--name",
        "flagged",
        "--pids-limit",
        "7",
        &img,
        "true",
    ])
    .ok();
    assert_eq!(inspect(&h, "flagged", "{{.HostConfig.PidsLimit}}"), "7");
    // pull_policy = "never": an image not here is not pulled.
    let out = h
        .run(&["create", "localhost:1/not/here:1", "true"])
        .fails_with(125);
    assert!(
        out.stderr
            .contains("localhost:1/not/here:1: image not known"),
        "{out:?}"
    );
}

#[test]
fn containerenv_timezone_devices_and_root_mode() {
    let (_reg, h, img) = common::setup_with_busybox();
    hoist_testenv::require_file("/usr/share/zoneinfo/MST7MDT", "the Debian package `tzdata`");
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(args);
        h.run(&all).ok().stdout
    };
    assert_eq!(
        run(&[&img, "wc", "-c", "/run/.containerenv"]).trim(),
        "0 /run/.containerenv"
    );
    let out = run(&[
        "--privileged",
        "--name",
        "envy",
        &img,
        "sh",
        "-c",
        ". /run/.containerenv; echo $engine; echo $name; echo $image; echo $rootless",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("podman-"), "{out}");
    assert_eq!(&lines[1..], ["envy", img.as_str(), "0"]);
    // An image without /etc/mtab gets one, a link to /proc/mounts.
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Containerfile"),
        format!("FROM {img}\nRUN rm -f /etc/mtab\n"),
    )
    .unwrap();
    h.run(&["build", "-q", "-t", "nomtab", ctx.path().to_str().unwrap()])
        .ok();
    assert_eq!(
        run(&[
            "nomtab",
            "sh",
            "-c",
            "readlink /etc/mtab; grep -c ' / ' /etc/mtab"
        ]),
        "/proc/mounts\n1\n"
    );
    // The engine's link is no change of the container's.
    h.run(&[
        "run",
        "--name",
        "mtab",
        "--network",
        "none",
        "nomtab",
        "true",
    ])
    .ok();
    let diff = h.run(&["diff", "mtab"]).ok().stdout;
    assert!(!diff.contains("/etc/mtab"), "{diff}");
    h.run(&["rm", "mtab"]).ok();
    // `/` is 0555 whatever the image's layer says, as with podman.
    assert!(run(&[&img, "ls", "-ld", "/"]).starts_with("dr-xr-xr-x"));
    let out = run(&[
        "--tz",
        "UTC",
        "--tz",
        "MST7MDT",
        &img,
        "date",
        "-d",
        "@1600000000",
    ]);
    assert!(out.contains("MDT 2020"), "{out}");
    let out = h
        .run(&["run", "--rm", "--tz", "Nowhere/Special", &img, "true"])
        .fails_with(125);
    assert!(
        out.stderr.contains("unknown time zone Nowhere/Special"),
        "{out:?}"
    );

    // --privileged gives the host's devices, but not its terminals in
    // systemd mode.
    let host_ttys = std::fs::read_dir("/dev")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("tty") && n != "tty"
        })
        .count();
    assert!(host_ttys > 0, "the host has /dev/ttyN devices");
    let ttys = |extra: &[&str]| {
        let mut args = vec!["--privileged"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&img, "sh", "-c", "ls /dev/tty*"]);
        run(&args)
    };
    assert_ne!(ttys(&[]).trim(), "/dev/tty");
    assert_eq!(ttys(&["--systemd=always"]).trim(), "/dev/tty");
    assert_eq!(
        run(&["--device", "/dev/null:/dev/extra", &img, "ls", "/dev/extra"]).trim(),
        "/dev/extra"
    );
}

#[test]
fn cidfile_monitor_pidfile_preserved_fds_and_attach() {
    let (_reg, h, img) = common::setup_with_busybox();
    let dir = h.base_dir().to_path_buf();
    let cidfile = dir.join("cid");
    let pidfile = dir.join("monitor.pid");
    let (c, p) = (cidfile.to_str().unwrap(), pidfile.to_str().unwrap());
    let cid = h
        .run(&[
            "run",
            "-d",
            "--network",
            "none",
            "--cidfile",
            c,
            "--conmon-pidfile",
            p,
            &img,
            "sleep",
            "60",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(std::fs::read_to_string(&cidfile).unwrap(), cid);
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap(),
        inspect(&h, &cid, "{{.State.ConmonPid}}")
    );
    assert_eq!(inspect(&h, &cid, "{{.ConmonPidFile}}"), p);
    h.run(&["rm", "-f", "-t", "0", &cid]).ok();
    let out = h
        .run(&["run", "--cidfile", c, &img, "true"])
        .fails_with(125);
    assert!(
        out.stderr.contains(&format!(
            "Error: container id file exists. Ensure another container is not using it or delete {c}"
        )),
        "{out:?}"
    );

    // --preserve-fds: descriptor 4 of `run` is the container's too.
    let data = dir.join("data");
    std::fs::write(&data, "through fd 4\n").unwrap();
    let base = h.command(&[
        "run",
        "--rm",
        "-i",
        "--network",
        "none",
        "--preserve-fds=2",
        &img,
        "sh",
        "-c",
        "cat <&4",
    ]);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("exec \"$0\" \"$@\" 3</dev/null 4<\"$DATA\"")
        .arg(base.get_program())
        .args(base.get_args())
        .env("DATA", &data);
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "through fd 4\n",
        "{out:?}"
    );

    // --attach: stdin alone prints the ID; stderr alone hides stdout.
    let out = h
        .run(&[
            "run",
            "--name",
            "att",
            "--network",
            "none",
            "--attach",
            "stdin",
            &img,
            "echo",
            "hello",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), inspect(&h, "att", "{{.Id}}"));
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-a",
            "stderr",
            &img,
            "sh",
            "-c",
            "echo out; echo err >&2",
        ])
        .ok();
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.lines().any(|l| l == "err") && !out.stderr.contains("out"),
        "{out:?}"
    );
}

#[test]
fn timeout_and_a_published_port_in_use() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&[
        "run",
        "--name",
        "slow",
        "--network",
        "none",
        "--timeout",
        "1",
        &img,
        "sleep",
        "60",
    ])
    .fails_with(255);
    assert_eq!(
        inspect(&h, "slow", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited -1"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("{port}:80");
    let run = |name: &str, rm: bool| {
        let mut args = vec!["run", "-d", "-p", &publish, "--name", name];
        if rm {
            args.push("--rm");
        }
        args.extend_from_slice(&[&img, "sleep", "60"]);
        h.run(&args)
    };
    // -P publishes the exposed ports on free host ports.
    h.run(&[
        "run", "-d", "--name", "exposed", "--expose", "8080", "-P", &img, "sleep", "60",
    ])
    .ok();
    let shown = h.run(&["port", "exposed"]).ok().stdout;
    assert!(shown.starts_with("8080/tcp -> 0.0.0.0:"), "{shown}");
    h.run(&["rm", "-f", "-t", "0", "exposed"]).ok();

    run("c_ok", true).ok();
    // The port is held listening by the container's monitor, as podman's
    // conmon holds it: `ss -ltn` shows it taken.
    let ss = std::process::Command::new("ss")
        .args(["-Hltn", &format!("sport = :{port}")])
        .output()
        .expect("ss (Debian package iproute2)");
    let listening = String::from_utf8_lossy(&ss.stdout).to_string();
    assert!(listening.contains(&format!(":{port}")), "{listening:?}");
    let out = run("c_fail_no_rm", false).fails_with(126);
    assert!(
        out.stderr.contains(&format!(
            "cannot listen on the TCP port: listen tcp4 :{port}: bind: address already in use"
        )),
        "{out:?}"
    );
    run("c_fail_with_rm", true).fails_with(126);
    let ps = h
        .run(&["ps", "-a", "--sort", "names", "--format", "{{.Names}}"])
        .ok();
    assert_eq!(ps.stdout, "c_fail_no_rm\nc_ok\nslow\n");
    h.run(&["rm", "-f", "-t", "0", "c_ok"]).ok();
}

#[test]
fn inspect_shows_the_image_as_named_and_the_runtime_path() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&["tag", &img, "localhost/some/name"]).ok();
    h.run(&["create", "--name", "short", "localhost/some/name", "true"])
        .ok();
    assert_eq!(
        inspect(&h, "short", "{{.ImageName}}"),
        "localhost/some/name:latest"
    );
    let digest = h
        .run(&["image", "inspect", "--format", "{{.ID}} {{.Digest}}", &img])
        .ok()
        .stdout;
    h.run(&["create", "--name", "full", &img, "true"]).ok();
    assert_eq!(
        format!(
            "{}\n",
            inspect(&h, "full", "{{.ImageName}} {{.Image}} {{.ImageDigest}}")
        ),
        format!("{img} {digest}")
    );
    assert_eq!(inspect(&h, "full", "{{.OCIRuntime}}"), "hoist");

    // A copy of hoist serves as an external runtime (`hoist oci`); its
    // full path is kept.
    let runtime = h.base_dir().join("myruntime");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_hoist"), &runtime).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_hoist"), &runtime).unwrap();
    }
    let rt = runtime.to_str().unwrap();
    let out = h
        .run(&[
            "run",
            "--name",
            "ext",
            "--network",
            "none",
            "--runtime",
            rt,
            &img,
            "echo",
            "via oci",
        ])
        .ok();
    assert_eq!(out.stdout, "via oci\n");
    assert_eq!(inspect(&h, "ext", "{{.OCIRuntime}}"), rt);
}

#[test]
fn rootfs_rmi_and_init_path() {
    let (reg, h, img) = common::setup_with_busybox();
    hoist_testenv::require_file("/usr/bin/catatonit", "the Debian package `catatonit`");
    // --rootfs DIR:O runs an image's files from a directory, changes kept
    // in the container's own layer; it has no image digest.
    let dir = h
        .run(&["image", "mount", &img])
        .ok()
        .stdout
        .trim()
        .to_string();
    let out = h
        .run(&[
            "run",
            "--name",
            "fromdir",
            "--network",
            "none",
            "--rootfs",
            &format!("{dir}:O"),
            "sh",
            "-c",
            "echo hello > /made; cat /made",
        ])
        .ok();
    assert_eq!(out.stdout, "hello\n");
    assert!(!std::path::Path::new(&dir).join("made").exists());
    assert_eq!(inspect(&h, "fromdir", "{{.ImageDigest}}"), "");
    h.run(&["rm", "fromdir"]).ok();
    h.run(&["image", "unmount", &img]).ok();

    // --rmi removes the image after the container, unless another
    // container uses it.
    hoist_testenv::ImageBuilder::single_layer()
        .env("WHICH=other")
        .push(&reg, "other:1");
    let other = reg.reference("other:1");
    h.run(&[
        "run",
        "--name",
        "keepme",
        "--network",
        "none",
        &other,
        "true",
    ])
    .ok();
    h.run(&["run", "--rmi", "--network", "none", &other, "true"])
        .ok();
    h.run(&["image", "exists", &other]).ok();
    h.run(&["rm", "keepme"]).ok();
    h.run(&["run", "--rmi", "--network", "none", &other, "true"])
        .ok();
    h.run(&["image", "exists", &other]).fails_with(1);

    // --init-path: that init runs as PID 1 with the command after `--`.
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--init",
            "--init-path",
            "/usr/bin/catatonit",
            &img,
            "sh",
            "-c",
            "tr '\\0' ' ' < /proc/1/cmdline",
        ])
        .ok();
    assert_eq!(
        out.stdout.trim(),
        "/run/podman-init -- sh -c tr '\\0' ' ' < /proc/1/cmdline"
    );
}

#[test]
fn namespaces_of_the_host_or_another_container() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ps = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[&img, "ps", "-o", "args"]);
        h.run(&all).ok().stdout
    };
    assert!(ps(&["--pid", "host"]).lines().count() > 3);
    h.run(&[
        "run",
        "-d",
        "--name",
        "src",
        "--network",
        "none",
        &img,
        "sleep",
        "60",
    ])
    .ok();
    let joined = ps(&["--pid", "container:src"]);
    assert!(joined.contains("sleep 60"), "{joined}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--uts",
            "host",
            &img,
            "hostname",
        ])
        .ok();
    assert_eq!(out.stdout, host);
    let out = h
        .run(&["run", "--rm", "--pid", "bogus", &img, "true"])
        .fails_with(125);
    assert!(out.stderr.contains("invalid --pid \"bogus\""), "{out:?}");
    let own = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--cgroupns",
            "private",
            &img,
            "readlink",
            "/proc/self/ns/cgroup",
        ])
        .ok();
    // IPC: `none` has no /dev/shm; a `private` namespace cannot be joined.
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--ipc",
            "none",
            &img,
            "ls",
            "/dev/shm",
        ])
        .fails_with(1);
    assert!(out.stderr.contains("No such file or directory"), "{out:?}");
    h.run(&[
        "run",
        "-d",
        "--name",
        "loner",
        "--network",
        "none",
        "--ipc",
        "private",
        &img,
        "sleep",
        "60",
    ])
    .ok();
    let out = h
        .run(&["run", "--rm", "--ipc", "container:loner", &img, "true"])
        .fails_with(125);
    assert!(
        out.stderr.contains("is not allowed: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"),
        "{out:?}"
    );
    h.run(&["rm", "-f", "-t", "0", "loner"]).ok();
    let host_ns = std::fs::read_link("/proc/self/ns/cgroup").unwrap();
    assert_ne!(own.stdout.trim(), host_ns.to_str().unwrap());
    h.run(&["rm", "-f", "-t", "0", "src"]).ok();
}

#[test]
fn tuning_groups_sysctls_and_labels() {
    let (_reg, h, img) = common::setup_with_busybox();
    let labels = h.base_dir().join("labels");
    std::fs::write(&labels, "# comment\nfrom=file\nboth=file\n").unwrap();
    let out = h
        .run(&[
            "run",
            "--name",
            "tuned",
            "--network",
            "none",
            "--oom-score-adj",
            "123",
            "--group-add",
            "4242",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--cpu-shares",
            "512",
            "--label-file",
            labels.to_str().unwrap(),
            "--label",
            "both=flag",
            &img,
            "sh",
            "-c",
            "cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward; id -G",
        ])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(&lines[..2], ["123", "1"]);
    assert!(lines[2].split(' ').any(|g| g == "4242"), "{out:?}");
    assert_eq!(
        inspect(
            &h,
            "tuned",
            "{{.Config.Labels.from}} {{.Config.Labels.both}}"
        ),
        "file flag"
    );
    // --pidfile holds the container process's pid, as inspect shows it.
    let pidfile = h.base_dir().join("ctr.pid");
    let pf = pidfile.to_str().unwrap();
    h.run(&[
        "run",
        "-d",
        "--name",
        "pidded",
        "--network",
        "none",
        "--pidfile",
        pf,
        "--oom-kill-disable",
        &img,
        "sleep",
        "60",
    ])
    .ok();
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap(),
        inspect(&h, "pidded", "{{.State.Pid}}")
    );
    assert_eq!(inspect(&h, "pidded", "{{.PidFile}}"), pf);
    h.run(&["rm", "-f", "-t", "0", "pidded"]).ok();
    let out = h
        .run(&["run", "--rm", "--oom-score-adj", "5000", &img, "true"])
        .fails_with(125);
    assert!(out.stderr.contains("between -1000 and 1000"), "{out:?}");
    let out = h
        .run(&["run", "--rm", "--sysctl", "novalue", &img, "true"])
        .fails_with(125);
    assert!(out.stderr.contains("KEY=VALUE"), "{out:?}");
}

#[test]
fn volumes_from_another_container() {
    let (_reg, h, img) = common::setup_with_busybox();
    let dir = h.base_dir().join("shared");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("file"), "bound\n").unwrap();
    let bind = format!("{}:/bound", dir.display());
    h.run(&[
        "run",
        "--name",
        "owner",
        "--network",
        "none",
        "-v",
        "vfvol:/vol",
        "-v",
        &bind,
        &img,
        "sh",
        "-c",
        "echo in-volume > /vol/file",
    ])
    .ok();
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--volumes-from",
            "owner",
            &img,
            "cat",
            "/vol/file",
            "/bound/file",
        ])
        .ok();
    assert_eq!(out.stdout, "in-volume\nbound\n");
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--volumes-from",
            "owner:ro",
            &img,
            "touch",
            "/vol/new",
        ])
        .fails_with(1);
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    let out = h
        .run(&["run", "--rm", "--volumes-from", "nosuch", &img, "true"])
        .fails_with(125);
    assert!(out.stderr.contains("nosuch"), "{out:?}");
}

//! `cp` between containers and the host, anonymous volumes with `rm -v`,
//! and `--init`. Needs root and the test registry.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use hoist_testenv::{Hoist, ImageBuilder, Layer};

/// A registry with the busybox image pulled into a fresh hoist.
/// Whether nothing is mounted under `dir`.
fn no_mounts_below(dir: &std::path::Path) -> bool {
    let dir = std::fs::canonicalize(dir).unwrap();
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    !mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .any(|m| std::path::Path::new(m).starts_with(&dir))
}

#[test]
fn cp_in_and_out_of_running_and_stopped_containers() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "box",
            "--network",
            "none",
            &img,
            "sleep",
            "1000",
        ])
        .ok();
    let host = hoist.base_dir().join("host");
    std::fs::create_dir_all(&host).unwrap();
    let f = host.join("hello.txt");
    std::fs::write(&f, "hello\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&f, Some(1000), Some(1000)).unwrap();
    // In: into an existing directory keeps the name; the file belongs to
    // the container's user (root here), or keeps its owner with -a=false.
    hoist.run(&["cp", f.to_str().unwrap(), "box:/tmp"]).ok();
    hoist
        .run(&["cp", "-a=false", f.to_str().unwrap(), "box:/tmp/kept"])
        .ok();
    let out = hoist
        .run(&[
            "exec",
            "box",
            "sh",
            "-c",
            "cat /tmp/hello.txt; stat -c '%a %u:%g' /tmp/hello.txt /tmp/kept",
        ])
        .ok();
    assert_eq!(out.stdout, "hello\n640 0:0\n640 1000:1000\n");
    // Out, under a new name, via `container cp`.
    hoist
        .run(&["exec", "box", "sh", "-c", "echo made inside > /tmp/inside"])
        .ok();
    let back = host.join("back");
    hoist
        .run(&["container", "cp", "box:/tmp/inside", back.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "made inside\n");
    // A directory out of a stopped container, recursively.
    hoist
        .run(&[
            "exec", "box", "sh", "-c",
            "mkdir -p /data/sub && echo deep > /data/sub/f && chmod 700 /data/sub && ln -s f /data/sub/l",
        ])
        .ok();
    hoist.run(&["stop", "-t", "1", "box"]).ok();
    let tree = host.join("tree");
    hoist.run(&["cp", "box:/data", tree.to_str().unwrap()]).ok();
    assert_eq!(
        std::fs::read_to_string(tree.join("sub/f")).unwrap(),
        "deep\n"
    );
    assert_eq!(
        std::fs::metadata(tree.join("sub")).unwrap().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::read_link(tree.join("sub/l")).unwrap(),
        std::path::PathBuf::from("f")
    );
    // And into a stopped one: seen when it starts again.
    hoist.run(&["cp", f.to_str().unwrap(), "box:/hello2"]).ok();
    hoist.run(&["start", "box"]).ok();
    let out = hoist.run(&["exec", "box", "cat", "/hello2"]).ok();
    assert_eq!(out.stdout, "hello\n");
    hoist.run(&["rm", "-f", "box"]).ok();
    // Nothing left mounted by cp.
    assert!(no_mounts_below(&hoist.root()));
    // Errors: no container side, unknown container, missing source.
    hoist
        .run(&["cp", "/etc/hostname", "/tmp/x"])
        .fails_with(125);
    let out = hoist.run(&["cp", "nosuch:/etc", "/tmp/x"]).fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: container \"nosuch\" does not exist"
    );
    hoist.run(&["create", "--name", "c", &img]).ok();
    let missing = host.join("IdoNotExist");
    let out = hoist
        .run(&["cp", missing.to_str().unwrap(), "c:/tmp"])
        .fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        format!(
            "Error: \"{}\" could not be found on the host: no such file or directory",
            missing.display()
        )
    );
    let out = hoist
        .run(&["cp", f.to_str().unwrap(), "c:/IdoNotExist/"])
        .fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: \"/IdoNotExist/\" could not be found on container c: no such file or directory"
    );
    let out = hoist.run(&["cp", "c:", "/tmp/x"]).fails_with(125);
    assert!(out.stderr.contains("you must specify paths"), "{out:?}");
    // cp takes exactly a source and a destination, counted as podman does.
    let out = hoist.run(&["cp", "c:/etc"]).fails_with(125);
    assert_eq!(out.stderr.trim(), "Error: accepts 2 arg(s), received 1");
    hoist.run(&["rm", "c"]).ok();
    // A container sharing the host's PID namespace: its files all the same.
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "p",
            "--pid=host",
            "--network",
            "none",
            &img,
            "sleep",
            "1000",
        ])
        .ok();
    hoist.run(&["cp", f.to_str().unwrap(), "p:/tmp/h"]).ok();
    let back = host.join("from-pid-host");
    hoist.run(&["cp", "p:/tmp/h", back.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "hello\n");
    hoist.run(&["rm", "-f", "-t", "0", "p"]).ok();
}

#[test]
fn cp_stays_inside_a_hostile_root() {
    let (reg, hoist, _) = common::setup_with_busybox();
    let secret_dir = hoist.base_dir().join("secret");
    std::fs::create_dir_all(&secret_dir).unwrap();
    let secret = secret_dir.join("data");
    std::fs::write(&secret, "HOST SECRET\n").unwrap();
    ImageBuilder::single_layer()
        .layer(
            Layer::new()
                .symlink("etc/evil", secret.to_str().unwrap())
                .symlink("etc/evildir", secret_dir.to_str().unwrap())
                .symlink("etc/up", "/"),
            "hostile links",
        )
        .push(&reg, "hostile:cp");
    let img = reg.reference("hostile:cp");
    hoist
        .run(&["create", "--name", "h", "--network", "none", &img, "true"])
        .ok();
    let got = hoist.base_dir().join("got");
    // Reading through the links finds nothing of the host's.
    let out = hoist.run(&["cp", "h:/etc/evil", got.to_str().unwrap()]);
    if out.success() {
        assert_ne!(
            std::fs::read_to_string(&got).unwrap_or_default(),
            "HOST SECRET\n"
        );
    }
    let up = hoist.base_dir().join("up");
    let rel = secret
        .strip_prefix("/")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let out = hoist.run(&["cp", &format!("h:/etc/up/{rel}"), up.to_str().unwrap()]);
    if out.success() {
        assert_ne!(
            std::fs::read_to_string(&up).unwrap_or_default(),
            "HOST SECRET\n"
        );
    }
    // Writing through them never touches the host.
    let planted = hoist.base_dir().join("planted");
    std::fs::write(&planted, "PLANTED\n").unwrap();
    let _ = hoist.run(&["cp", planted.to_str().unwrap(), "h:/etc/evildir/planted"]);
    let _ = hoist.run(&["cp", planted.to_str().unwrap(), "h:/etc/evil"]);
    let _ = hoist.run(&["cp", planted.to_str().unwrap(), &format!("h:/etc/up/{rel}")]);
    assert!(!secret_dir.join("planted").exists());
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "HOST SECRET\n");
    hoist.run(&["rm", "h"]).ok();
    // The same while it runs, also as a dangling link written through, a
    // tar stream in, and between two containers.
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "h",
            "--network",
            "none",
            &img,
            "sleep",
            "1000",
        ])
        .ok();
    let out = hoist.run(&["cp", "h:/etc/evil", got.to_str().unwrap()]);
    assert!(!out.success(), "{out:?}");
    assert!(
        out.stderr.contains("could not be found on container h"),
        "{out:?}"
    );
    assert!(!got.exists());
    let target = secret_dir.join("via-link");
    let script = format!(
        "mkdir -p {} && ln -s {} /tmp/dangling",
        secret_dir.display(),
        target.display()
    );
    hoist.run(&["exec", "h", "sh", "-c", &script]).ok();
    hoist
        .run(&["cp", planted.to_str().unwrap(), "h:/tmp/dangling"])
        .ok();
    assert!(!target.exists(), "written through a link onto the host");
    let inside = hoist
        .run(&["exec", "h", "cat", target.to_str().unwrap()])
        .ok();
    assert_eq!(
        inside.stdout, "PLANTED\n",
        "the link is followed inside the root"
    );
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "streamed", &b"tar\n"[..]).unwrap();
    let _ = hoist.run_stdin(&["cp", "-", "h:/etc/evildir"], &b.into_inner().unwrap());
    assert!(!secret_dir.join("streamed").exists());
    let _ = hoist.run(&["cp", "h:/etc/up/etc/hostname", "h:/etc/evildir/"]);
    assert!(!secret_dir.join("hostname").exists());
    hoist.run(&["rm", "-f", "-t", "0", "h"]).ok();
    assert_eq!(std::fs::read_dir(&secret_dir).unwrap().count(), 1);
    assert!(no_mounts_below(&hoist.root()));
}

/// The host directory behind named volume `name`.
fn volume_dir(hoist: &Hoist, name: &str) -> std::path::PathBuf {
    let out = hoist
        .run(&["volume", "inspect", "--format", "{{.Mountpoint}}", name])
        .ok();
    std::path::PathBuf::from(out.stdout.trim())
}

#[test]
fn cp_reaches_volumes_binds_and_tmpfs() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let host = hoist.base_dir().join("cphost");
    let bind = host.join("bind");
    std::fs::create_dir_all(&bind).unwrap();
    let f = host.join("f.txt");
    std::fs::write(&f, "into a mount\n").unwrap();
    let bind_arg = format!("{}:/b", bind.display());
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "vm",
            "--network",
            "none",
            "-v",
            "vol1:/data",
            "-v",
            &bind_arg,
            "--tmpfs",
            "/scratch",
            &img,
            "sleep",
            "1000",
        ])
        .ok();
    let vdir = volume_dir(&hoist, "vol1");
    // Running: into the volume, the bind mount and the tmpfs, as the
    // container sees them.
    hoist.run(&["cp", f.to_str().unwrap(), "vm:/data/"]).ok();
    hoist.run(&["cp", f.to_str().unwrap(), "vm:/b/g.txt"]).ok();
    hoist.run(&["cp", f.to_str().unwrap(), "vm:/scratch"]).ok();
    assert_eq!(
        std::fs::read_to_string(vdir.join("f.txt")).unwrap(),
        "into a mount\n"
    );
    assert_eq!(
        std::fs::read_to_string(bind.join("g.txt")).unwrap(),
        "into a mount\n"
    );
    let out = hoist.run(&["exec", "vm", "cat", "/scratch/f.txt"]).ok();
    assert_eq!(out.stdout, "into a mount\n");
    // Out of the tmpfs, which only the container's mount namespace has.
    hoist
        .run(&["exec", "vm", "sh", "-c", "echo only in tmpfs > /scratch/t"])
        .ok();
    let t = host.join("t");
    hoist
        .run(&["cp", "vm:/scratch/t", t.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(&t).unwrap(), "only in tmpfs\n");
    // Nothing went into the overlay below the mounts.
    let upper = std::fs::read_link(hoist.root().join("containers/names/vm")).unwrap();
    let upper = hoist.root().join("containers").join(upper).join("upper");
    for p in ["data/f.txt", "b/g.txt", "scratch/f.txt"] {
        assert!(!upper.join(p).exists(), "{p} landed in the upper directory");
    }
    hoist.run(&["stop", "-t", "1", "vm"]).ok();
    // Stopped: the volume and the bind source directly.
    std::fs::write(&f, "while stopped\n").unwrap();
    hoist
        .run(&["cp", f.to_str().unwrap(), "vm:/data/s.txt"])
        .ok();
    assert_eq!(
        std::fs::read_to_string(vdir.join("s.txt")).unwrap(),
        "while stopped\n"
    );
    // The whole volume out, under its name in the container.
    let out_dir = host.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    hoist
        .run(&["cp", "vm:/data", out_dir.to_str().unwrap()])
        .ok();
    assert_eq!(
        std::fs::read_to_string(out_dir.join("data/f.txt")).unwrap(),
        "into a mount\n"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("data/s.txt")).unwrap(),
        "while stopped\n"
    );
    // `-`: a tar stream out of the stopped container's bind mount ...
    let out = hoist.command(&["cp", "vm:/b/g.txt", "-"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut tar = tar::Archive::new(&out.stdout[..]);
    let names: Vec<String> = tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["g.txt"]);
    // ... and one into the volume, read from stdin.
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(6);
    header.set_mode(0o604);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    archive
        .append_data(&mut header, "streamed", &b"tar in"[..])
        .unwrap();
    let archive = archive.into_inner().unwrap();
    hoist.run_stdin(&["cp", "-", "vm:/data"], &archive).ok();
    let streamed = vdir.join("streamed");
    assert_eq!(std::fs::read_to_string(&streamed).unwrap(), "tar in");
    assert_eq!(std::fs::metadata(&streamed).unwrap().mode() & 0o777, 0o604);
    // A tar entry that climbs out is refused and lands nowhere.
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    let name = b"../../../../escaped";
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    header.set_cksum();
    archive.append(&header, &b"x"[..]).unwrap();
    let archive = archive.into_inner().unwrap();
    let _ = hoist.run_stdin(&["cp", "-", "vm:/data"], &archive);
    assert!(!vdir.join("escaped").exists());
    assert!(!hoist.root().join("escaped").exists());
    assert!(!hoist.root().join("containers/escaped").exists());
    // Into a tmpfs while stopped: below it in the overlay, which fills
    // the tmpfs when the container starts (podman's tmpcopyup).
    hoist
        .run(&["cp", f.to_str().unwrap(), "vm:/scratch/x"])
        .ok();
    hoist.run(&["start", "vm"]).ok();
    let out = hoist
        .run(&["exec", "vm", "cat", "/data/s.txt", "/scratch/x"])
        .ok();
    assert_eq!(out.stdout, "while stopped\nwhile stopped\n");
    let out = hoist
        .run(&["exec", "vm", "sh", "-c", "grep ' /scratch ' /proc/mounts"])
        .ok();
    assert!(out.stdout.contains(" tmpfs "), "{out:?}");
    hoist.run(&["rm", "-f", "vm"]).ok();
    assert!(no_mounts_below(&hoist.root()));
}

fn volume_names(hoist: &Hoist) -> Vec<String> {
    hoist
        .run(&["volume", "ls", "-q"])
        .ok()
        .stdout
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn anonymous_volumes_and_rm_v() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist
        .run(&[
            "run",
            "--name",
            "a1",
            "--network",
            "none",
            "-v",
            "/data",
            &img,
            "sh",
            "-c",
            "echo kept > /data/f",
        ])
        .ok();
    let vols = volume_names(&hoist);
    assert_eq!(vols.len(), 1, "{vols:?}");
    let name = &vols[0];
    assert!(
        name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    let out = hoist
        .run(&[
            "volume",
            "inspect",
            name,
            "--format",
            "{{.Anonymous}} {{.Mountpoint}}",
        ])
        .ok();
    let (anon, mountpoint) = out.stdout.trim().split_once(' ').unwrap();
    assert_eq!(anon, "true");
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(mountpoint).join("f")).unwrap(),
        "kept\n"
    );
    // Plain rm keeps it.
    hoist.run(&["rm", "a1"]).ok();
    assert_eq!(volume_names(&hoist), vols);
    // rm -v removes the container's anonymous volumes, not named ones.
    hoist
        .run(&[
            "create",
            "--name",
            "a2",
            "--network",
            "none",
            "-v",
            "/data",
            "-v",
            "named:/n",
            &img,
            "true",
        ])
        .ok();
    hoist.run(&["start", "--attach", "a2"]).ok();
    let before = volume_names(&hoist);
    assert_eq!(before.len(), 3, "{before:?}");
    hoist.run(&["rm", "-v", "a2"]).ok();
    let mut after = volume_names(&hoist);
    after.sort();
    let mut want = vec![name.clone(), "named".to_string()];
    want.sort();
    assert_eq!(after, want);
    // run --rm takes its anonymous volume along.
    hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "/scratch",
            &img,
            "true",
        ])
        .ok();
    let mut now = volume_names(&hoist);
    now.sort();
    assert_eq!(now, want);
}

#[test]
fn init_is_pid_1_and_forwards_stop() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--init",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "echo $$; cat /proc/1/cmdline | tr '\\0' ' '",
        ])
        .ok();
    let mut lines = out.stdout.lines();
    let pid = lines.next().unwrap();
    assert_ne!(pid, "1", "{out:?}");
    assert!(lines.next().unwrap().contains("hoist-init"), "{out:?}");
    let out = hoist
        .run(&["run", "--rm", "--init", "--network", "none", &img, "ps"])
        .ok();
    let pid1 = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("1"))
        .unwrap_or_default()
        .to_string();
    assert!(pid1.contains("hoist-init"), "{out:?}");
    // The child's exit code comes through.
    hoist
        .run(&[
            "run",
            "--rm",
            "--init",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "exit 5",
        ])
        .fails_with(5);
    // stop: SIGTERM reaches `sleep` through the init, well before the timeout.
    hoist
        .run(&[
            "run",
            "-d",
            "--init",
            "--name",
            "sleeper",
            "--network",
            "none",
            &img,
            "sleep",
            "1000",
        ])
        .ok();
    // Forwarded, SIGTERM ends `sleep` (143); lost, stop would SIGKILL it
    // after 20 s (137).
    hoist.run(&["stop", "-t", "20", "sleeper"]).ok();
    let code = hoist
        .run(&["inspect", "sleeper", "--format", "{{.State.ExitCode}}"])
        .ok();
    assert_eq!(code.stdout.trim(), "143");
    hoist.run(&["rm", "sleeper"]).ok();
}

/// SIGTERM to the container's init the moment `run -d --init` returns
/// (sent by this test, straight from the pid in the container's state, so
/// it arrives within microseconds), many times: it is never lost (hoist's
/// init is exec'd with signals blocked and forwards the queued one), so
/// every container ends by it (143) well before the deadline.
#[test]
fn sigterm_right_after_run_init_always_reaches_the_program() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let hoist = std::sync::Arc::new(hoist);
    for i in 0..10 {
        let name = format!("racer{i}");
        let out = hoist
            .run(&[
                "run",
                "-d",
                "--init",
                "--name",
                &name,
                "--network",
                "none",
                &img,
                "sleep",
                "1000",
            ])
            .ok();
        let id = out.stdout.trim().to_string();
        let state = hoist.root().join("containers").join(&id).join("state.json");
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        let pid = rustix::process::Pid::from_raw(state["pid"].as_i64().unwrap() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let (h, n) = (hoist.clone(), name.clone());
        std::thread::spawn(move || {
            let _ = tx.send(h.run(&["wait", &n]).stdout);
        });
        let code = rx.recv_timeout(std::time::Duration::from_secs(15));
        if code.is_err() {
            hoist.run(&["kill", "-s", "KILL", &name]);
        }
        assert_eq!(
            code.as_deref().map(str::trim),
            Ok("143"),
            "iteration {i}: SIGTERM lost"
        );
        hoist.run(&["rm", &name]).ok();
    }
}

/// Runs `args` (a detached `run`) and returns the new container's ID.
fn started(hoist: &Hoist, args: &[&str]) -> String {
    hoist.run(args).ok().stdout.trim().to_string()
}

fn exec_out(hoist: &Hoist, name: &str, script: &str) -> String {
    hoist.run(&["exec", name, "sh", "-c", script]).ok().stdout
}

#[test]
fn cp_between_containers_and_podmans_path_rules() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let src = "mkdir -p /tmp/subdir /tmp/sub && echo one > /tmp/subdir/f1 && echo two > /tmp/real \
               && ln -s real /tmp/lnk && ln -s .. /tmp/sub/weird \
               && mkdir /tmp/d1 && ln -s /tmp/nonesuch1 /tmp/d1/x && sleep 1000";
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "src",
            "--network",
            "none",
            "--workdir",
            "/tmp",
            &img,
            "sh",
            "-c",
            src,
        ])
        .ok();
    hoist_testenv::wait_until(
        std::time::Duration::from_secs(20),
        "the source container to make its files",
        || {
            hoist
                .run(&["exec", "src", "test", "-L", "/tmp/d1/x"])
                .success()
        },
    );
    let dst = started(
        &hoist,
        &["run", "-d", "--network", "none", &img, "sleep", "1000"],
    );
    let created = hoist
        .run(&["create", "--network", "none", &img, "sleep", "1000"])
        .ok()
        .stdout
        .trim()
        .to_string();
    // Running to running and running to created; a relative source is
    // below the working directory; a directory copied to a new name.
    hoist
        .run(&["cp", "src:subdir", &format!("{dst}:/newdir")])
        .ok();
    hoist
        .run(&[
            "cp",
            "--pause=false",
            "src:subdir/.",
            &format!("{created}:/"),
        ])
        .ok();
    hoist.run(&["start", &created]).ok();
    assert_eq!(exec_out(&hoist, &dst, "cat /newdir/f1"), "one\n");
    assert_eq!(exec_out(&hoist, &created, "cat /f1"), "one\n");
    // A symlink source is copied under the name of what it points to.
    hoist
        .run(&["cp", "src:/tmp/lnk", &format!("{dst}:/tmp")])
        .ok();
    assert_eq!(exec_out(&hoist, &dst, "cat /tmp/real"), "two\n");
    let host = hoist.base_dir().join("cp-rules");
    std::fs::create_dir_all(&host).unwrap();
    hoist
        .run(&[
            "cp",
            "src:/tmp/sub/weird",
            host.join("dest").to_str().unwrap(),
        ])
        .ok();
    assert_eq!(
        std::fs::read_to_string(host.join("dest/real")).unwrap(),
        "two\n"
    );
    // Within one container, and a dangling destination link is followed.
    let f = host.join("f");
    std::fs::write(&f, "through the link\n").unwrap();
    let out = hoist
        .run(&["cp", f.to_str().unwrap(), "src:/tmp/d1/x/"])
        .fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: \"/tmp/d1/x/\" could not be found on container src: no such file or directory"
    );
    hoist
        .run(&["cp", f.to_str().unwrap(), "src:/tmp/d1/x"])
        .ok();
    assert_eq!(
        exec_out(
            &hoist,
            "src",
            "cat /tmp/nonesuch1; test -L /tmp/d1/x && echo link"
        ),
        "through the link\nlink\n"
    );
    hoist.run(&["cp", "src:/tmp/real", "src:copied"]).ok();
    assert_eq!(exec_out(&hoist, "src", "cat /tmp/copied"), "two\n");
    // A directory onto a file, and the other way round.
    let out = hoist
        .run(&["cp", "src:/tmp/subdir", &format!("{dst}:/etc/passwd")])
        .fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: destination must be a directory when copying a directory"
    );
    // A directory where the file would go.
    hoist
        .run(&[
            "exec",
            &dst,
            "sh",
            "-c",
            "mv /tmp/real /tmp/file; mkdir /tmp/real",
        ])
        .ok();
    let out = hoist
        .run(&["cp", "src:/tmp/real", &format!("{dst}:/tmp")])
        .fails_with(125);
    assert!(
        out.stderr
            .contains("error creating \"/tmp/real\": open /tmp/real: file exists"),
        "{out:?}"
    );
    hoist
        .run(&["cp", "--overwrite", "src:/tmp/real", &format!("{dst}:/tmp")])
        .ok();
    assert_eq!(exec_out(&hoist, &dst, "cat /tmp/real"), "two\n");
    hoist
        .run(&["rm", "-f", "-t", "0", "src", &dst, &created])
        .ok();
    assert!(no_mounts_below(&hoist.root()));
}

#[test]
fn cp_streams_and_owners() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "s",
            "--network",
            "none",
            "--user",
            "1000:1001",
            "--tmpfs",
            "/etc:size=10m",
            &img,
            "sleep",
            "1000",
        ])
        .ok();
    // The image's files fill a tmpfs mounted over them.
    assert!(exec_out(&hoist, "s", "cat /etc/passwd").contains("root:"));
    let host = hoist.base_dir().join("cp-streams");
    std::fs::create_dir_all(host.join("tree/sub")).unwrap();
    std::fs::write(host.join("tree/sub/f"), "in a tree\n").unwrap();
    // What lands in the container belongs to its user.
    hoist
        .run(&["cp", host.join("tree").to_str().unwrap(), "s:/tmp"])
        .ok();
    assert_eq!(
        exec_out(&hoist, "s", "stat -c %u:%g /tmp/tree /tmp/tree/sub/f"),
        "1000:1001\n1000:1001\n"
    );
    // A gzip-compressed tar on stdin keeps the tar's owners with -a=false.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_uid(1042);
    h.set_gid(1043);
    h.set_cksum();
    b.append_data(&mut h, "a.txt", &b"hi\n"[..]).unwrap();
    let plain = b.into_inner().unwrap();
    let mut gzip = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip (Debian package gzip)");
    use std::io::Write;
    gzip.stdin.take().unwrap().write_all(&plain).unwrap();
    let gz = gzip.wait_with_output().unwrap().stdout;
    hoist
        .run_stdin(&["cp", "-a=false", "-", "s:/tmp/"], &gz)
        .ok();
    assert_eq!(
        exec_out(&hoist, "s", "cat /tmp/a.txt; stat -c %u:%g /tmp/a.txt"),
        "hi\n1042:1043\n"
    );
    let out = hoist
        .run_stdin(&["cp", "-", "s:/tmp"], b"not a tar at all\n")
        .fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: source must be a (compressed) tar archive when copying from stdin"
    );
    let out = hoist
        .run_stdin(&["cp", "-", "s:/tmp/a.txt"], &plain)
        .fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: destination must be a directory when copying from stdin"
    );
    // Out: a tar on stdout with the container's owners; a destination
    // that is neither a directory nor a regular file is refused.
    let out = hoist.command(&["cp", "s:/tmp/tree", "-"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut names: Vec<(String, u64)> = tar::Archive::new(&out.stdout[..])
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            (
                name.trim_end_matches('/').to_string(),
                e.header().uid().unwrap(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("tree".to_string(), 1000),
            ("tree/sub".to_string(), 1000),
            ("tree/sub/f".to_string(), 1000)
        ]
    );
    let fifo = host.join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let out = hoist
        .run(&["cp", "s:/tmp/a.txt", fifo.to_str().unwrap()])
        .fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        format!(
            "Error: invalid destination: \"{}\" must be a directory or a regular file",
            fifo.display()
        )
    );
    // Copied out, files belong to the user running hoist.
    hoist
        .run(&["cp", "s:/tmp/tree", host.join("back").to_str().unwrap()])
        .ok();
    assert_eq!(
        std::fs::metadata(host.join("back/sub/f")).unwrap().uid(),
        rustix::process::getuid().as_raw()
    );
    // File capabilities survive both ways (set again after the chown).
    let capped = host.join("capped");
    std::fs::write(&capped, "x").unwrap();
    let setcap = std::process::Command::new("setcap")
        .args(["cap_net_raw+ep", capped.to_str().unwrap()])
        .status()
        .expect("setcap (Debian package libcap2-bin)");
    assert!(setcap.success());
    hoist.run(&["cp", capped.to_str().unwrap(), "s:/tmp/"]).ok();
    let back = host.join("capped-back");
    hoist
        .run(&["cp", "s:/tmp/capped", back.to_str().unwrap()])
        .ok();
    let getcap = std::process::Command::new("getcap")
        .arg(&back)
        .output()
        .expect("getcap (Debian package libcap2-bin)");
    let caps = String::from_utf8_lossy(&getcap.stdout);
    assert!(caps.contains("cap_net_raw"), "{caps:?}");
    hoist.run(&["rm", "-f", "-t", "0", "s"]).ok();
    assert!(no_mounts_below(&hoist.root()));
}

#[test]
fn cp_out_of_a_created_container_of_a_lazily_pulled_image() {
    let (reg, _) = common::setup();
    ImageBuilder::single_layer()
        .layer(
            Layer::new().file("data/lazy.txt", &b"served lazily\n"[..], 0o644),
            "data",
        )
        .push(&reg, "src:1");
    let a = common::hoist_for(&reg);
    let (src, lazy) = (reg.reference("src:1"), reg.reference("lazy:1"));
    a.run(&["pull", "-q", &src]).ok();
    a.run(&["image", "convert", "--estargz", &src, &lazy]).ok();
    a.run(&["push", "-q", &lazy]).ok();
    let b = common::hoist_for(&reg);
    let out = b.run(&["pull", &lazy]).ok();
    assert!(out.stderr.contains("lazy"), "a lazy pull: {out:?}");
    b.run(&["create", "--name", "c", "--network", "none", &lazy])
        .ok();
    let got = b.base_dir().join("got.txt");
    b.run(&["cp", "c:/data/lazy.txt", got.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "served lazily\n");
    assert!(no_mounts_below(&b.root()));
    b.run(&["rm", "c"]).ok();
}

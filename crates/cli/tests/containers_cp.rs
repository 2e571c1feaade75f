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
    // In: into an existing directory keeps the name.
    hoist.run(&["cp", f.to_str().unwrap(), "box:/tmp"]).ok();
    let out = hoist
        .run(&[
            "exec",
            "box",
            "sh",
            "-c",
            "cat /tmp/hello.txt; stat -c '%a %u:%g' /tmp/hello.txt",
        ])
        .ok();
    assert_eq!(out.stdout, "hello\n640 1000:1000\n");
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
    hoist.run(&["cp", "nosuch:/etc", "/tmp/x"]).fails_with(125);
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
    // A tmpfs has nothing to copy while stopped: a clear error.
    let out = hoist
        .run(&["cp", f.to_str().unwrap(), "vm:/scratch/x"])
        .fails_with(125);
    assert!(out.stderr.contains("tmpfs"), "{out:?}");
    hoist.run(&["start", "vm"]).ok();
    let out = hoist.run(&["exec", "vm", "cat", "/data/s.txt"]).ok();
    assert_eq!(out.stdout, "while stopped\n");
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

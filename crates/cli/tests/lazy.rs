//! Lazy pulling end to end: `image convert --estargz`, a real registry,
//! containers whose layers are FUSE mounts served by their monitor.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hoist_lazy::estargz::EstargzBlob;
use hoist_lazy::source::FileSource;
use hoist_testenv::hoist::mounts_below;
use hoist_testenv::{Hoist, ImageBuilder, Layer, Registry};

/// A layer with one of everything the lazy filesystem must reproduce.
fn varied_layer() -> Layer {
    Layer::new()
        .dir("data", 0o755)
        .file("data/big", hoist_testenv::random_bytes(300_000, 7), 0o644)
        .file("data/other", hoist_testenv::random_bytes(100_000, 9), 0o600)
        .file("data/empty", "", 0o644)
        .file_owned("data/owned", "mine\n", 0o640, 1234, 5678)
        .file("data/suid", "#!/bin/sh\n", 0o4755)
        .xattr("user.note", b"kept")
        .symlink("data/link", "big")
        .hardlink("data/hard", "data/big")
        .fifo("data/pipe", 0o644)
        .dir("data/opaque", 0o750)
        .file("notes.txt", "read me first\n", 0o644)
}

/// The source image (busybox + the varied layer) and its eStargz
/// conversion (64 KiB chunks), both pushed; returns hoist A that converted
/// it and the converted image's name.
fn converted_image(reg: &Registry) -> (Hoist, String) {
    ImageBuilder::single_layer()
        .layer(varied_layer(), "varied")
        .push(reg, "src:1");
    let a = common::hoist_for(reg);
    let src = reg.reference("src:1");
    let dst = reg.reference("lazy:1");
    a.run(&["pull", "-q", &src]).ok();
    a.run(&[
        "image",
        "convert",
        "--estargz",
        "--chunk-size",
        "65536",
        &src,
        &dst,
    ])
    .ok();
    a.run(&["push", "-q", &dst]).ok();
    (a, dst)
}

fn container_dir(h: &Hoist, name: &str) -> PathBuf {
    let id = h
        .run(&["inspect", "--format", "{{.Id}}", name])
        .ok()
        .stdout
        .trim()
        .to_string();
    h.root().join("containers").join(id)
}

/// Names of the format's own files, which the lazy view hides.
const FORMAT_FILES: [&str; 3] = [
    "stargz.index.json",
    ".prefetch.landmark",
    ".no.prefetch.landmark",
];

#[derive(Debug, PartialEq, Eq)]
struct Node {
    kind: String,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    content: Option<Vec<u8>>,
    target: Option<PathBuf>,
    rdev: u64,
    xattrs: BTreeMap<String, Vec<u8>>,
    /// Index of the first path sharing this inode (hard links).
    link_group: usize,
}

fn xattrs_of(p: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut names = vec![0u8; 4096];
    let n = rustix::fs::llistxattr(p, &mut names).unwrap_or(0);
    names[..n]
        .split(|b| *b == 0)
        .filter(|k| !k.is_empty())
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .filter(|k| k.starts_with("user.") || k == "trusted.overlay.opaque")
        .map(|k| {
            let mut v = vec![0u8; 4096];
            let len = rustix::fs::lgetxattr(p, k.as_str(), &mut v).unwrap();
            v.truncate(len);
            (k, v)
        })
        .collect()
}

/// Everything observable about a tree, by relative path.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, usize> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if FORMAT_FILES.iter().any(|f| rel == Path::new(f)) {
                continue;
            }
            let m = std::fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let kind = if ft.is_dir() {
                stack.push(p.clone());
                "dir"
            } else if ft.is_symlink() {
                "symlink"
            } else if ft.is_file() {
                "file"
            } else if ft.is_fifo() {
                "fifo"
            } else if ft.is_char_device() {
                "char"
            } else {
                "other"
            };
            let next = inodes.len();
            let link_group = if ft.is_file() {
                *inodes.entry(m.ino()).or_insert(next)
            } else {
                0
            };
            out.insert(
                rel,
                Node {
                    kind: kind.into(),
                    mode: m.mode(),
                    uid: m.uid(),
                    gid: m.gid(),
                    size: if ft.is_dir() { 0 } else { m.size() },
                    content: ft.is_file().then(|| std::fs::read(&p).unwrap()),
                    target: ft.is_symlink().then(|| std::fs::read_link(&p).unwrap()),
                    rdev: m.rdev(),
                    xattrs: xattrs_of(&p),
                    link_group,
                },
            );
        }
    }
    out
}

/// The image's layer directories, bottom first.
fn layer_dirs(h: &Hoist, image: &str) -> Vec<PathBuf> {
    let mut dirs = common::lower_dirs(h, image);
    dirs.reverse();
    dirs
}

#[test]
fn lazily_mounted_layers_match_the_fully_pulled_ones() {
    let (reg, _) = common::setup();
    let (a, image) = converted_image(&reg);
    let b = common::hoist_for(&reg);
    let out = b.run(&["pull", &image]).ok();
    assert!(
        out.stderr.contains("lazy"),
        "the pull says it was lazy: {out:?}"
    );
    b.run(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "none",
        &image,
        "sleep",
        "1000",
    ])
    .ok();
    let mounts = container_dir(&b, "c").join("lazy");
    let full = layer_dirs(&a, &image);
    assert_eq!(full.len(), 2);
    for (i, full_dir) in full.iter().enumerate() {
        let lazy_dir = mounts.join(i.to_string());
        assert!(
            mounts_below(&lazy_dir).contains(&lazy_dir),
            "layer {i} is a FUSE mount at {}",
            lazy_dir.display()
        );
        let (want, got) = (snapshot(full_dir), snapshot(&lazy_dir));
        assert!(want.len() > 5, "layer {i} has files");
        for (path, node) in &want {
            assert_eq!(got.get(path), Some(node), "layer {i}: {}", path.display());
        }
        assert_eq!(got.len(), want.len(), "layer {i}: same paths");
    }
    // And the container sees the same bytes through overlayfs.
    let sum = |h: &Hoist| {
        h.run(&["exec", "c", "md5sum", "/data/big", "/data/hard"])
            .ok()
            .stdout
    };
    let expected = std::process::Command::new("md5sum")
        .arg(full[1].join("data/big"))
        .output()
        .unwrap();
    let expected = String::from_utf8_lossy(&expected.stdout);
    assert!(sum(&b).contains(expected.split(' ').next().unwrap()));
    b.run(&["rm", "-f", "c"]).ok();
    assert!(
        mounts_below(&b.root()).is_empty(),
        "rm leaves nothing mounted"
    );
}

#[test]
fn read_data_is_kept_and_a_vanished_registry_fails_reads_quickly() {
    let (mut reg, _) = common::setup();
    let (_a, image) = converted_image(&reg);
    let b = common::hoist_for(&reg);
    let c = common::hoist_for(&reg);
    c.run(&["pull", "-q", &image]).ok(); // only the TOC
    let first = b
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &image,
            "md5sum",
            "/data/big",
        ])
        .ok();
    reg.kill();
    let again = b
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &image,
            "md5sum",
            "/data/big",
        ])
        .ok();
    assert_eq!(
        first.stdout, again.stdout,
        "a second run reads the kept chunks, no registry needed"
    );
    // A hang would be killed by the harness's deadline and fail the test.
    let out = c.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        &image,
        "cat",
        "/data/other",
    ]);
    // Whichever file is read first (the engine reads /etc/passwd to start
    // the container, or cat reads its file) fails with EIO.
    assert!(!out.success(), "the read fails: {out:?}");
    assert!(out.stderr.contains("Input/output error"), "{out:?}");
    assert!(mounts_below(&c.root()).is_empty());
}

/// The registry's file for a blob.
fn registry_blob(reg: &Registry, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    reg.storage_dir()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

/// The digest of the layer blob of `image` (as `hoist` stores it) that holds `file`.
fn blob_holding(h: &Hoist, image: &str, file: &str) -> (String, EstargzBlob) {
    let v = common::inspect(h, image);
    let manifest_digest = v["Digest"].as_str().unwrap().to_string();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            h.root()
                .join("blobs/sha256")
                .join(manifest_digest.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    for l in manifest["layers"].as_array().unwrap() {
        let d = l["digest"].as_str().unwrap();
        let path = h
            .root()
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"));
        let blob = EstargzBlob::open(&FileSource::open(&path).unwrap(), None).unwrap();
        if blob.chunks().contains_key(file) {
            return (d.to_string(), blob);
        }
    }
    panic!("no layer of {image} holds {file}");
}

#[test]
fn a_corrupt_chunk_gives_eio_and_a_log_line() {
    let (reg, _) = common::setup();
    let (a, image) = converted_image(&reg);
    let (digest, blob) = blob_holding(&a, &image, "data/big");
    let second = &blob.chunks()["data/big"][1];
    let path = registry_blob(&reg, &digest);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = ((second.blob_range.start + second.blob_range.end) / 2) as usize;
    bytes[at] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let b = common::hoist_for(&reg);
    let out = b.run(&[
        "run",
        "--name",
        "bad",
        "--network",
        "none",
        &image,
        "cat",
        "/data/big",
    ]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("Input/output error"), "{out:?}");
    let log = std::fs::read_to_string(container_dir(&b, "bad").join("lazy.log")).unwrap();
    assert!(
        log.contains("failed verification"),
        "lazy.log says why: {log}"
    );
    // The other files still read fine.
    b.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        &image,
        "cat",
        "/data/other",
    ])
    .ok();
}

#[test]
fn killing_a_container_blocked_on_a_read_leaves_nothing_mounted() {
    let (reg, _) = common::setup();
    let (_a, image) = converted_image(&reg);
    let b = common::hoist_for(&reg);
    // Starting a container reads /etc/passwd and the busybox binary (base
    // layer): fetch those now, so only /data/big is left to block on.
    b.run(&["run", "--rm", "--network", "none", &image, "true"])
        .ok();
    let pid = rustix::process::Pid::from_raw(reg.pid() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).unwrap();
    b.run(&[
        "run",
        "-d",
        "--name",
        "stuck",
        "--network",
        "none",
        &image,
        "cat",
        "/data/big",
    ])
    .ok();
    std::thread::sleep(Duration::from_millis(500));
    let state = b
        .run(&["inspect", "--format", "{{.State.Status}}", "stuck"])
        .ok();
    assert_eq!(
        state.stdout.trim(),
        "running",
        "the read is blocked on the stopped registry"
    );
    b.run(&["rm", "-f", "stuck"]).ok();
    rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();
    assert!(
        mounts_below(&b.root()).is_empty(),
        "{:?}",
        mounts_below(&b.root())
    );
}

#[test]
fn optimize_and_prioritized_files_put_files_before_the_landmark() {
    let (reg, _) = common::setup();
    ImageBuilder::single_layer()
        .layer(varied_layer(), "varied")
        .push(&reg, "src:1");
    let a = common::hoist_for(&reg);
    let src = reg.reference("src:1");
    a.run(&["pull", "-q", &src]).ok();
    let list = a.base_dir().join("first.txt");
    std::fs::write(&list, "/notes.txt\n").unwrap();
    a.run(&[
        "image",
        "convert",
        "--estargz",
        "--chunk-size",
        "65536",
        "--optimize",
        "cat /data/other",
        "--prioritized-files",
        list.to_str().unwrap(),
        &src,
        "localhost/opt:1",
    ])
    .ok();
    let (_, blob) = blob_holding(&a, "localhost/opt:1", "data/other");
    let prefetch = blob.prefetch_range().expect("a prefetch landmark");
    for file in ["notes.txt", "data/other"] {
        for c in &blob.chunks()[file] {
            assert!(c.blob_range.end <= prefetch.end, "{file} is prioritized");
        }
    }
    for c in &blob.chunks()["data/big"] {
        assert!(c.blob_range.start >= prefetch.end, "data/big was not read");
    }
    assert!(
        a.run(&["images", "--format", "{{.Repository}}"])
            .ok()
            .stdout
            .lines()
            .all(|l| !l.contains("hoist-optimize")),
        "the scratch image is gone"
    );
    // A workload that never exits (a server, here a PID 1 without a
    // SIGTERM handler) is stopped after --optimize-timeout.
    a.run(&[
        "image",
        "convert",
        "--estargz",
        "--optimize",
        "sleep 1000",
        "--optimize-timeout",
        "1",
        &src,
        "localhost/opt:2",
    ])
    .ok();
    assert_eq!(
        a.run(&["ps", "-aq"]).ok().stdout,
        "",
        "the recording container is gone"
    );
    // The converted image runs like the source.
    let out = a
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "localhost/opt:1",
            "cat",
            "/notes.txt",
        ])
        .ok();
    assert_eq!(out.stdout, "read me first\n");
    // Run lazily, the prioritized files arrive in one streamed prefetch,
    // asked for by the container's lazy server before it reads the TOC (the
    // pull recorded where they are).
    let pushed = reg.reference("opt:1");
    a.run(&["push", "-q", "localhost/opt:1", &pushed]).ok();
    let b = common::hoist_for(&reg);
    let cmd = ["md5sum", "/data/other", "/notes.txt"];
    let run = [
        "--log-level",
        "info",
        "run",
        "--name",
        "p",
        "--network",
        "none",
        pushed.as_str(),
    ];
    let lazy = b.run(&[&run[..], &cmd[..]].concat()).ok();
    let local = a
        .run(
            &[
                &["run", "--rm", "--network", "none", "localhost/opt:1"][..],
                &cmd[..],
            ]
            .concat(),
        )
        .ok();
    assert_eq!(lazy.stdout, local.stdout);
    let log = std::fs::read_to_string(container_dir(&b, "p").join("lazy.log")).unwrap_or_default();
    assert!(!log.contains("prefetch failed"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("prefetched the prioritized files")
                && l.contains("started_early=true")),
        "{log}"
    );
    assert!(!log.contains("not the TOC's"), "{log}");
}

/// The --optimize run first converts into a scratch image. Converting the
/// same source without priorities again yields byte for byte the image an
/// earlier plain conversion stored, so the scratch name lands on that image;
/// removing the scratch image must then take only its name, not the image
/// the user named (#11, item 8).
#[test]
fn optimize_leaves_an_identical_earlier_conversion_alone() {
    let (reg, a, src) = common::setup_with_busybox();
    a.run(&["image", "convert", "--estargz", &src, "localhost/mine:esgz"])
        .ok();
    let before = common::inspect(&a, "localhost/mine:esgz")["Id"].clone();
    a.run(&[
        "image",
        "convert",
        "--estargz",
        "--optimize",
        "/bin/cat /bin/busybox",
        &src,
        "localhost/mine:opt",
    ])
    .ok();
    let out = a.run(&["image", "inspect", "localhost/mine:esgz"]);
    assert!(
        out.success(),
        "the earlier conversion lost its name or was removed: {out:?}"
    );
    assert_eq!(common::inspect(&a, "localhost/mine:esgz")["Id"], before);
    let names: Vec<String> = common::images(&a)
        .iter()
        .flat_map(|i| i["Names"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("hoist-optimize")),
        "the scratch name is gone: {names:?}"
    );
    assert!(names.iter().any(|n| n == "localhost/mine:opt"), "{names:?}");
    // The kept image still runs.
    let out = a
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "localhost/mine:esgz",
            "echo",
            "kept",
        ])
        .ok();
    assert_eq!(out.stdout, "kept\n");
    common::assert_store_clean(&a);
    drop(reg);
}

#[test]
fn push_save_and_full_mode_complete_lazy_layers() {
    let (reg, _) = common::setup();
    let (_a, image) = converted_image(&reg);
    let b = common::hoist_for(&reg);
    b.run(&["pull", "-q", &image]).ok();
    b.run(&["system", "check"]).ok();
    assert!(
        layer_dirs_missing(&b, &image),
        "lazy layers are not unpacked"
    );
    b.run(&["push", "-q", &image, &reg.reference("copy:1")])
        .ok();
    assert!(
        !layer_dirs_missing(&b, &image),
        "push fetched and unpacked them"
    );
    let c = common::hoist_for(&reg);
    c.run(&["pull", "-q", "--pull-mode=full", &image]).ok();
    assert!(!layer_dirs_missing(&c, &image));
    let out = c
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &image,
            "cat",
            "/notes.txt",
        ])
        .ok();
    assert_eq!(out.stdout, "read me first\n");
    assert!(
        mounts_below(&c.root()).is_empty(),
        "no FUSE for complete layers"
    );
}

fn layer_dirs_missing(h: &Hoist, image: &str) -> bool {
    layer_dirs(h, image).iter().any(|d| !d.is_dir())
}

#[test]
fn a_running_container_completes_its_layers_in_the_background() {
    let (mut reg, _) = common::setup();
    let (_a, image) = converted_image(&reg);
    let b = common::hoist_for(&reg);
    // A partial read leaves gaps on both sides of what was fetched.
    b.run(&[
        "run",
        "-d",
        "--name",
        "bg",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        "head -c 1000 /data/big >/dev/null; sleep 60",
    ])
    .ok();
    hoist_testenv::wait_until(
        Duration::from_secs(60),
        "the background completion of the lazy layers",
        || !layer_dirs_missing(&b, &image),
    );
    b.run(&["rm", "-f", "bg"]).ok();
    reg.kill();
    let out = b
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &image,
            "cat",
            "/notes.txt",
        ])
        .ok();
    assert_eq!(
        out.stdout, "read me first\n",
        "complete layers need no registry"
    );
    b.run(&["system", "check"]).ok();
}

/// The children of `parent` that have /dev/fuse open: a monitor's lazy
/// layer server.
fn fuse_children(parent: i32) -> Vec<i32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            ppid == Some(parent)
        })
        .filter(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path()).is_ok_and(|t| t == Path::new("/dev/fuse"))
                })
            })
        })
        .collect()
}

#[test]
fn a_dead_lazy_server_stops_its_container_with_the_reason() {
    let (reg, _) = common::setup();
    let (_a, image) = converted_image(&reg);
    let b = common::hoist_for(&reg);
    b.run(&[
        "run",
        "-d",
        "--name",
        "doomed",
        "--network",
        "none",
        &image,
        "sleep",
        "300",
    ])
    .ok();
    let monitor: i32 = b
        .run(&["inspect", "--format", "{{.State.ConmonPid}}", "doomed"])
        .ok()
        .stdout
        .trim()
        .parse()
        .unwrap();
    let servers = fuse_children(monitor);
    assert_eq!(servers.len(), 1, "one lazy server under monitor {monitor}");
    let server = servers[0];
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(server).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    hoist_testenv::wait_until(Duration::from_secs(30), "the container to stop", || {
        b.run(&["inspect", "--format", "{{.State.Status}}", "doomed"])
            .ok()
            .stdout
            .trim()
            == "exited"
    });
    let error = b
        .run(&["inspect", "--format", "{{.State.Error}}", "doomed"])
        .ok()
        .stdout;
    assert!(
        error.contains("lazy layer server")
            && error.contains(" for layer")
            && error.contains("sha256:")
            && error.contains("killed by signal 9 (SIGKILL)"),
        "inspect says why: {error}"
    );
    let ps = b
        .run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .ok();
    // Killed by the monitor (137), or first by SIGBUS (135) on its
    // mapped binary, whose pages are gone.
    assert!(
        ps.stdout.starts_with("doomed Exited (137)")
            || ps.stdout.starts_with("doomed Exited (135)"),
        "{ps:?}"
    );
    let logs = b.run(&["logs", "doomed"]).ok();
    assert!(logs.stderr.contains("lazy layer server"), "{logs:?}");
    // Reaped by the monitor: no zombie left.
    hoist_testenv::wait_until(Duration::from_secs(10), "the server to be reaped", || {
        !Path::new(&format!("/proc/{server}")).exists()
    });
    assert!(
        mounts_below(&b.root()).is_empty(),
        "{:?}",
        mounts_below(&b.root())
    );
    b.run(&["rm", "doomed"]).ok();
}

#[test]
fn a_containers_program_is_fetched_as_soon_as_its_lazy_server_starts() {
    let (reg, _) = common::setup();
    let (_a, image) = converted_image(&reg);
    let b = common::hoist_for(&reg);
    // `sleep` through the image's PATH: /bin/sleep, a link to busybox.
    b.run(&[
        "--log-level",
        "info",
        "run",
        "-d",
        "--name",
        "prog",
        "--network",
        "none",
        &image,
        "sleep",
        "60",
    ])
    .ok();
    let log = container_dir(&b, "prog").join("lazy.log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let fetched = |text: &str| {
        text.lines()
            .find(|l| l.contains("fetched the container's program"))
            .map(str::to_owned)
    };
    // The line comes once the program is in; the container runs on.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while fetched(&read_log()).is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = read_log();
    let line = fetched(&text).unwrap_or_else(|| panic!("no line about the program: {text}"));
    assert!(line.contains("bin/busybox"), "{line}");
    b.run(&["rm", "-f", "-t", "0", "prog"]).ok();
}

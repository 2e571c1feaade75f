//! `container checkpoint` and `container restore` with real CRIU (4.x,
//! built by scripts/install-criu.sh): processes continue where they were,
//! archives move containers between roots (and from podman), checkpointctl
//! reads hoist's archives, and bad archives create nothing.
//! Needs root, CRIU, podman and the trixie root with checkpointctl.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::criu::{
    checkpointctl, counted, podman, require_criu, share_image_with_podman, wait_counted,
};
use hoist_testenv::Hoist;

/// A shell loop that counts in a variable (process memory), prints each
/// value and keeps it in /tmp/count (the root filesystem). The file is
/// replaced by a rename, never rewritten in place: `>` empties it first,
/// and a reader (or a checkpoint) in between would find it empty.
const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i; echo $i > /tmp/count.new; \
                       mv /tmp/count.new /tmp/count; sleep 0.1; done";

fn setup() -> (hoist_testenv::Registry, Hoist, String) {
    require_criu();
    common::setup_with_busybox()
}

fn inspect(hoist: &Hoist, name: &str) -> serde_json::Value {
    let out = hoist.run(&["container", "inspect", name]).ok();
    let all: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    all[0].clone()
}

fn state(hoist: &Hoist, name: &str) -> String {
    let s = &inspect(hoist, name)["State"];
    format!(
        "{}:{}:{}",
        s["Status"].as_str().unwrap(),
        s["Running"],
        s["Checkpointed"]
    )
}

/// Numbers in a row, each one more than the one before: the counter went
/// on from where it was, it did not start again.
fn assert_continuous(nums: &[u64]) {
    assert!(
        nums.windows(2).all(|w| w[1] == w[0] + 1),
        "the counter did not continue where it stopped: {nums:?}"
    );
}

fn container_dirs(hoist: &Hoist) -> Vec<PathBuf> {
    std::fs::read_dir(hoist.root().join("containers"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|n| n != "names"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn counter_continues_after_checkpoint_and_restore_in_place() {
    let (_reg, hoist, image) = setup();
    hoist
        .run(&["run", "-d", "--name", "count", &image, "sh", "-c", COUNTER])
        .ok();
    wait_counted(&hoist, "count", 3);
    let out = hoist.run(&["container", "checkpoint", "count"]).ok();
    assert_eq!(out.stdout.trim(), "count");
    assert_eq!(state(&hoist, "count"), "exited:false:true");
    let before = counted(&hoist, "count");
    let out = hoist
        .run(&["container", "restore", "--print-stats", "count"])
        .ok();
    let stats: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        stats["podman_restore_duration"].as_u64().is_some(),
        "{stats}"
    );
    assert_eq!(
        stats["container_statistics"][0]["Id"],
        inspect(&hoist, "count")["Id"]
    );
    assert_eq!(state(&hoist, "count"), "running:true:false");
    assert_eq!(inspect(&hoist, "count")["State"]["Restored"], true);
    wait_counted(&hoist, "count", before.len() + 3);
    assert_continuous(&counted(&hoist, "count"));
    // An ordinary container afterwards: exec, a second round, stop, rm.
    let out = hoist.run(&["exec", "count", "cat", "/tmp/count"]).ok();
    assert!(out.stdout.trim().parse::<u64>().unwrap() > *before.last().unwrap());
    hoist.run(&["container", "checkpoint", "count"]).ok();
    let before = counted(&hoist, "count");
    hoist.run(&["container", "restore", "count"]).ok();
    wait_counted(&hoist, "count", before.len() + 3);
    assert_continuous(&counted(&hoist, "count"));
    hoist.run(&["stop", "-t", "0", "count"]).ok();
    assert_eq!(state(&hoist, "count").split(':').next(), Some("exited"));
    hoist.run(&["rm", "count"]).ok();
}

/// Whether `path` is a mount point now (in this mount namespace).
fn is_mount_point(path: &std::path::Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let want = path.to_str().unwrap();
    info.lines()
        .any(|l| l.split_whitespace().nth(4) == Some(want))
}

/// Restores checkpointed `name` in place: its counter goes on from where
/// it was.
fn restore_continues(hoist: &Hoist, name: &str) {
    let before = counted(hoist, name);
    hoist.run(&["container", "restore", name]).ok();
    wait_counted(hoist, name, before.len() + 2);
    assert_continuous(&counted(hoist, name));
}

#[test]
fn the_root_filesystem_stays_mounted_from_checkpoint_to_restore() {
    let (_reg, hoist, image) = setup();
    hoist
        .run(&["run", "-d", "--name", "kept", &image, "sh", "-c", COUNTER])
        .ok();
    wait_counted(&hoist, "kept", 3);
    let id = inspect(&hoist, "kept")["Id"].as_str().unwrap().to_string();
    let rootfs = hoist
        .root()
        .join("containers")
        .join(&id)
        .join("bundle/rootfs");
    assert!(
        is_mount_point(&rootfs),
        "{} is not mounted",
        rootfs.display()
    );
    // Kept mounted through the checkpoint, and used by the restore.
    hoist.run(&["container", "checkpoint", "kept"]).ok();
    assert!(is_mount_point(&rootfs), "the checkpoint unmounted the root");
    restore_continues(&hoist, "kept");
    // The restored images go (the monitor removes them once it runs the
    // container); with --keep they stay.
    let dir = hoist.root().join("containers").join(&id);
    let images = || {
        ["checkpoint", "checkpoint.restored"]
            .iter()
            .filter(|d| dir.join(d).exists())
            .count()
    };
    hoist_testenv::wait_until(Duration::from_secs(20), "the images to go", || {
        images() == 0
    });
    hoist.run(&["container", "checkpoint", "kept"]).ok();
    hoist.run(&["container", "restore", "--keep", "kept"]).ok();
    assert!(dir.join("checkpoint/inventory.img").is_file());
    assert!(dir.join("checkpoint/restore.log").is_file());
    // `cp` from a checkpointed container mounts its own view, then lets go.
    hoist.run(&["container", "checkpoint", "kept"]).ok();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("count");
    hoist
        .run(&["cp", "kept:/tmp/count", copy.to_str().unwrap()])
        .ok();
    let copied = std::fs::read_to_string(&copy).unwrap();
    assert!(copied.trim().parse::<u64>().is_ok(), "{copied:?}");
    assert!(!is_mount_point(&rootfs), "cp left the root mounted");
    restore_continues(&hoist, "kept");
    assert!(is_mount_point(&rootfs));
    // A kept mount that went away behind hoist's back (a reboot, an
    // unmount by hand) is mounted again by the restore.
    hoist.run(&["container", "checkpoint", "kept"]).ok();
    let unmounted = std::process::Command::new("umount")
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(unmounted.success());
    restore_continues(&hoist, "kept");
    assert!(is_mount_point(&rootfs));
    // Removing a checkpointed container unmounts its root.
    hoist.run(&["container", "checkpoint", "kept"]).ok();
    assert!(is_mount_point(&rootfs));
    hoist.run(&["rm", "kept"]).ok();
    assert!(!is_mount_point(&rootfs), "rm left the root mounted");
    // An export lets go of the container entirely, as podman does: its
    // store can be removed right after.
    hoist
        .run(&[
            "run", "-d", "--name", "exported", &image, "sh", "-c", COUNTER,
        ])
        .ok();
    wait_counted(&hoist, "exported", 2);
    let id = inspect(&hoist, "exported")["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let rootfs = hoist
        .root()
        .join("containers")
        .join(&id)
        .join("bundle/rootfs");
    let archive = dir.path().join("exported.tar.zst");
    hoist
        .run(&[
            "container",
            "checkpoint",
            "-e",
            archive.to_str().unwrap(),
            "exported",
        ])
        .ok();
    assert!(!is_mount_point(&rootfs), "the export left the root mounted");
    assert!(archive.is_file());
    hoist.run(&["rm", "exported"]).ok();
}

#[test]
fn leave_running_keeps_the_original_and_pre_checkpoint_says_why_not() {
    let (_reg, mut hoist, image) = setup();
    hoist
        .run(&["run", "-d", "--name", "live", &image, "sh", "-c", COUNTER])
        .ok();
    wait_counted(&hoist, "live", 2);
    let pid = inspect(&hoist, "live")["State"]["Pid"].clone();
    let out = hoist
        .run(&["container", "checkpoint", "-R", "--print-stats", "live"])
        .ok();
    let stats: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        stats["container_statistics"][0]["criu_statistics"]["frozen_time"]
            .as_u64()
            .is_some(),
        "{stats}"
    );
    assert_eq!(state(&hoist, "live"), "running:true:false");
    assert_eq!(inspect(&hoist, "live")["State"]["Pid"], pid);
    let n = counted(&hoist, "live").len();
    wait_counted(&hoist, "live", n + 2);
    // This kernel has no soft-dirty tracking: a plain error, not a CRIU log.
    let out = hoist
        .run(&["container", "checkpoint", "--pre-checkpoint", "live"])
        .fails_with(125);
    if out.stderr.contains("soft-dirty") {
        assert_eq!(state(&hoist, "live"), "running:true:false");
    } else {
        assert!(out.stderr.contains("not supported"), "{}", out.stderr);
    }
    // Without CRIU in PATH: said so, and the container runs on.
    hoist.env("PATH", "/usr/bin:/bin");
    let out = hoist
        .run(&["container", "checkpoint", "live"])
        .fails_with(125);
    hoist.env("PATH", std::env::var_os("PATH").expect("PATH is set"));
    assert!(
        out.stderr.contains("CRIU binary not found"),
        "{}",
        out.stderr
    );
    assert_eq!(state(&hoist, "live"), "running:true:false");
    hoist.run(&["rm", "-f", "-t", "0", "live"]).ok();
}

#[test]
fn export_import_into_another_root_twice_with_rootfs_changes() {
    let (reg, hoist, image) = setup();
    let other = common::hoist_for(&reg);
    other.run(&["pull", &image]).ok();
    let script = format!("echo changed > /tmp/added; rm /etc/group; {COUNTER}");
    hoist
        .run(&[
            "run", "-d", "--name", "mover", "--memory", "96m", &image, "sh", "-c", &script,
        ])
        .ok();
    wait_counted(&hoist, "mover", 3);
    let id = inspect(&hoist, "mover")["Id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut last = 0;
    for (compress, file) in [
        ("zstd", "a.tar.zst"),
        ("gzip", "a.tar.gz"),
        ("none", "a.tar"),
    ] {
        let archive = dir.path().join(file);
        let archive = archive.to_str().unwrap();
        let out = hoist
            .run(&[
                "container",
                "checkpoint",
                "-e",
                archive,
                "-c",
                compress,
                "mover",
            ])
            .ok();
        assert_eq!(out.stdout.trim(), "mover");
        last = *counted(&hoist, "mover").last().unwrap();
        // The original stays, checkpointed; a copy runs in the other root.
        let out = other
            .run(&["container", "restore", "--import", archive])
            .ok();
        assert_eq!(out.stdout.trim(), id, "the import keeps the container's ID");
        assert_eq!(state(&other, "mover"), "running:true:false");
        let copied = other.run(&["exec", "mover", "cat", "/tmp/count"]).ok();
        assert!(copied.stdout.trim().parse::<u64>().unwrap() >= last);
        other.run(&["rm", "-f", "-t", "0", "mover"]).ok();
        hoist.run(&["container", "restore", "mover"]).ok();
    }
    let archive = dir.path().join("a.tar.zst");
    let archive = archive.to_str().unwrap();
    hoist
        .run(&["container", "checkpoint", "-e", archive, "mover"])
        .ok();
    // Twice from one archive, under two names.
    for name in ["copy1", "copy2"] {
        let out = other
            .run(&["container", "restore", "--import", archive, "-n", name])
            .ok();
        assert_ne!(out.stdout.trim(), id);
        let added = other.run(&["exec", name, "cat", "/tmp/added"]).ok();
        assert_eq!(added.stdout, "changed\n");
        other
            .run(&["exec", name, "test", "!", "-e", "/etc/group"])
            .ok();
        other.run(&["exec", name, "test", "-e", "/etc/passwd"]).ok();
        wait_counted(&other, name, 3);
        let first = counted(&other, name)[0];
        assert!(first > last, "{name} started over: {first} after {last}");
    }
    assert_eq!(state(&other, "copy1"), "running:true:false");
    // Each copy is in a cgroup of its own, not in the one it was dumped
    // from: stopping one leaves the other counting.
    for name in ["copy1", "copy2"] {
        let cg = memory_cgroup(&other, name);
        let own = inspect(&other, name)["Id"].as_str().unwrap().to_string();
        assert!(cg.ends_with(&own), "{name} is in cgroup {cg}, not its own");
        let limit =
            std::fs::read_to_string(format!("/sys/fs/cgroup/memory{cg}/memory.limit_in_bytes"))
                .or_else(|_| std::fs::read_to_string(format!("/sys/fs/cgroup{cg}/memory.max")))
                .unwrap_or_else(|e| panic!("no memory limit file for {name}'s cgroup {cg}: {e}"));
        assert_eq!(limit.trim(), "100663296", "{name} lost its --memory");
    }
    other.run(&["stop", "-t", "0", "copy1"]).ok();
    assert_eq!(state(&other, "copy2"), "running:true:false");
    let before = counted(&other, "copy2").len();
    wait_counted(&other, "copy2", before + 2);
    // --ignore-rootfs: the copy has the image's files only.
    other
        .run(&[
            "container",
            "restore",
            "--import",
            archive,
            "-n",
            "bare",
            "--ignore-rootfs",
        ])
        .ok();
    other
        .run(&["exec", "bare", "test", "-e", "/etc/group"])
        .ok();
    other
        .run(&["exec", "bare", "test", "!", "-e", "/tmp/added"])
        .ok();
    other.run(&["rm", "-fa", "-t", "0"]).ok();
    hoist.run(&["rm", "-fa", "-t", "0"]).ok();
}

/// The memory cgroup (v1) or the unified cgroup (v2) of container
/// `name`'s init, as /proc shows it.
fn memory_cgroup(hoist: &Hoist, name: &str) -> String {
    let pid = inspect(hoist, name)["State"]["Pid"].to_string();
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let line = cgroups
        .lines()
        .find(|l| {
            l.split(':')
                .nth(1)
                .is_some_and(|c| c.split(',').any(|c| c == "memory"))
        })
        .or_else(|| cgroups.lines().find(|l| l.starts_with("0::")))
        .unwrap_or_else(|| panic!("no memory cgroup in {cgroups}"));
    line.rsplit(':').next().unwrap().to_string()
}

/// Waits until the init of container `name` has one child and that child
/// runs `sleep` (has exec'd; until then it is a copy of the shell).
fn wait_for_children(hoist: &Hoist, name: &str, expected: &[&str]) {
    let pid = inspect(hoist, name)["State"]["Pid"].as_i64().unwrap();
    hoist_testenv::wait_until(
        Duration::from_secs(20),
        &format!("{name}'s first process to have the children {expected:?}"),
        || {
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            let comms: Vec<String> = children
                .split_whitespace()
                .map(|c| {
                    let comm = std::fs::read_to_string(format!("/proc/{c}/comm"));
                    comm.unwrap_or_default().trim().to_string()
                })
                .collect();
            comms == expected
        },
    );
}

#[test]
fn checkpointctl_reads_hoists_archive() {
    let (_reg, hoist, image) = setup();
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "shown",
            &image,
            "sh",
            "-c",
            // The needle exists only in the shell's memory once computed.
            // No process comes or goes after the `sleep`: a child that
            // exits just as CRIU freezes the tree is dumped as a zombie,
            // which has no pagemap and makes checkpointctl's memparse fail.
            "N=hoist-needle-$((6*7))-found; sleep 1000 & wait",
        ])
        .ok();
    wait_for_children(&hoist, "shown", &["sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("shown.tar");
    hoist
        .run(&[
            "container",
            "checkpoint",
            "-c",
            "none",
            "-e",
            archive.to_str().unwrap(),
            "shown",
        ])
        .ok();
    let id = inspect(&hoist, "shown")["Id"].as_str().unwrap().to_string();
    let shown = checkpointctl(&["show"], &archive);
    assert!(shown.contains("shown"), "{shown}");
    assert!(shown.contains(&id[..12]), "{shown}");
    assert!(shown.contains("Podman"), "{shown}");
    assert!(shown.contains(&image), "{shown}");
    // hoist's own `checkpoint show` agrees with checkpointctl's table.
    let row: Vec<String> = shown
        .lines()
        .find(|l| l.contains(&id[..12]))
        .unwrap()
        .split('|')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let header: Vec<String> = shown
        .lines()
        .find(|l| l.contains("CONTAINER"))
        .unwrap()
        .split('|')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let col = |name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
    let ours = hoist
        .run(&[
            "checkpoint",
            "show",
            "--format",
            "json",
            archive.to_str().unwrap(),
        ])
        .ok();
    let ours: serde_json::Value = serde_json::from_str(&ours.stdout).unwrap();
    let ours = &ours[0];
    assert_eq!(ours["container"], col("CONTAINER"));
    assert_eq!(ours["image"], col("IMAGE"));
    assert_eq!(ours["id"], col("ID"));
    assert_eq!(ours["created"], col("CREATED"));
    assert_eq!(ours["engine"], col("ENGINE"));
    let size = |k: &str| ours[k].as_u64().unwrap();
    let table = hoist
        .run(&["checkpoint", "show", archive.to_str().unwrap()])
        .ok();
    assert!(
        table.stdout.contains(&col("CHKPT SIZE")),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains(&col("ROOT FS DIFF SIZE")),
        "{}",
        table.stdout
    );
    assert!(size("memory_pages_size") > 0 && size("memory_pages_size") < size("checkpoint_size"));
    // The same process tree: "[PID]  COMM" under the same parents.
    // (Siblings may come in another order.)
    let procs = |text: &str| -> Vec<String> {
        let mut all: Vec<String> = text
            .lines()
            .filter_map(|l| l.find('[').map(|i| l[i..].to_string()))
            .collect();
        all.sort();
        all
    };
    let theirs = checkpointctl(&["inspect", "--ps-tree"], &archive);
    let ours = hoist
        .run(&[
            "checkpoint",
            "inspect",
            "--ps-tree",
            archive.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(procs(&ours.stdout), procs(&theirs), "{theirs}");
    assert!(
        procs(&ours.stdout).iter().any(|p| p.ends_with("  sleep")),
        "{}",
        ours.stdout
    );
    assert!(ours.stdout.contains("[1]  sh"), "{}", ours.stdout);
    // Memory: the same sizes per process, and the needle is found.
    let theirs = checkpointctl(&["memparse"], &archive);
    let ours = hoist
        .run(&["checkpoint", "memparse", archive.to_str().unwrap()])
        .ok();
    let sh_size = |text: &str| -> String {
        let line = text
            .lines()
            .find(|l| {
                l.split(|c: char| c == '|' || c.is_whitespace())
                    .any(|w| w == "sh")
            })
            .unwrap_or_else(|| panic!("no sh in {text}"));
        line.split('|')
            .flat_map(|c| c.split("  "))
            .map(str::trim)
            .find(|c| c.ends_with("iB"))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        sh_size(&ours.stdout),
        sh_size(&theirs),
        "{}\n{theirs}",
        ours.stdout
    );
    let found = hoist
        .run(&[
            "checkpoint",
            "memparse",
            "--pid",
            "1",
            "--search",
            "hoist-needle-42-found",
            archive.to_str().unwrap(),
        ])
        .ok();
    assert!(
        found.stdout.contains("hoist-needle-42-found"),
        "{}",
        found.stdout
    );
    let theirs = checkpointctl(
        &[
            "memparse",
            "--pid",
            "1",
            "--search",
            "hoist-needle-42-found",
        ],
        &archive,
    );
    assert!(theirs.contains("hoist-needle-42-found"), "{theirs}");

    // zstd, the default: the memory pages compressed while CRIU wrote
    // them go in as frames of their own, which checkpointctl decompresses
    // with the rest and finds the needle in.
    hoist.run(&["container", "restore", "shown"]).ok();
    let zstd_archive = dir.path().join("shown.tar.zst");
    hoist
        .run(&[
            "container",
            "checkpoint",
            "-e",
            zstd_archive.to_str().unwrap(),
            "shown",
        ])
        .ok();
    let frames = std::process::Command::new("zstd")
        .args(["-lv"])
        .arg(&zstd_archive)
        .output()
        .expect("zstd runs (scripts/install-deps.sh installs it)");
    let listed = String::from_utf8_lossy(&frames.stdout);
    let count: u32 = listed
        .lines()
        .find_map(|l| l.trim().strip_prefix("# Zstandard Frames:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no frame count in {listed}"));
    assert!(count > 1, "no page image was spliced in: {listed}");
    let theirs = checkpointctl(
        &[
            "memparse",
            "--pid",
            "1",
            "--search",
            "hoist-needle-42-found",
        ],
        &zstd_archive,
    );
    assert!(theirs.contains("hoist-needle-42-found"), "{theirs}");
    hoist.run(&["rm", "-f", "shown"]).ok();
}

#[test]
fn podman_archive_restores_in_hoist() {
    let (_reg, hoist, image) = setup();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("podman.tar.gz");
    let name = format!("hoist-ckpt-{}", std::process::id());
    share_image_with_podman(&hoist, &image);
    podman(&["run", "-d", "--name", &name, &image, "sh", "-c", COUNTER]);
    hoist_testenv::wait_until(Duration::from_secs(20), "podman's counter", || {
        podman(&["logs", &name]).lines().count() >= 3
    });
    podman(&[
        "container",
        "checkpoint",
        "-c",
        "gzip",
        "-e",
        archive.to_str().unwrap(),
        &name,
    ]);
    let last: u64 = podman(&["logs", &name])
        .lines()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    podman(&["rm", "-f", &name]);
    podman(&["rmi", &image]);
    hoist
        .run(&[
            "container",
            "restore",
            "--import",
            archive.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(state(&hoist, &name), "running:true:false");
    wait_counted(&hoist, &name, 2);
    let first = counted(&hoist, &name)[0];
    assert!(
        first > last,
        "restarted from {first}, podman stopped at {last}"
    );
    hoist.run(&["exec", &name, "true"]).ok();
    hoist.run(&["rm", "-f", "-t", "0", &name]).ok();
}

/// The other way: podman 4.3 (runc) restores the archive of a hoist
/// container run with `--runtime runc`, and the counter goes on from
/// where hoist checkpointed it. Without a network: podman would join the
/// network namespace named in spec.dump, which is hoist's.
#[test]
fn hoists_archive_restores_in_podman() {
    let (_reg, hoist, image) = setup();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("hoist.tar.zst");
    let name = format!("hoist-to-podman-{}", std::process::id());
    share_image_with_podman(&hoist, &image);
    hoist
        .run(&[
            "run",
            "-d",
            "--runtime",
            "runc",
            "--network",
            "none",
            "--name",
            &name,
            &image,
            "sh",
            "-c",
            COUNTER,
        ])
        .ok();
    wait_counted(&hoist, &name, 2);
    hoist
        .run(&[
            "container",
            "checkpoint",
            "-e",
            archive.to_str().unwrap(),
            &name,
        ])
        .ok();
    let last = *counted(&hoist, &name).last().unwrap();
    hoist.run(&["rm", "-f", &name]).ok();
    podman(&[
        "container",
        "restore",
        "--import",
        archive.to_str().unwrap(),
    ]);
    hoist_testenv::wait_until(Duration::from_secs(20), "podman's restored counter", || {
        let now = podman(&["exec", &name, "cat", "/tmp/count"]);
        now.trim().parse::<u64>().is_ok_and(|n| n > last)
    });
    podman(&["rm", "-f", "-t", "0", &name]);
    podman(&["rmi", &image]);
}

#[test]
fn bad_archives_create_nothing() {
    let (_reg, hoist, image) = setup();
    // A cgroup parent of this test's own: what a failed restore leaves in
    // any hierarchy shows below it.
    let parent = format!("/hoist-test-bad-archives-{}", std::process::id());
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "orig",
            "--cgroup-parent",
            &parent,
            &image,
            "sh",
            "-c",
            COUNTER,
        ])
        .ok();
    let orig_cgroup = format!(
        "hoist-{}",
        hoist
            .run(&["inspect", "--format", "{{.Id}}", "orig"])
            .ok()
            .stdout
            .trim()
    );
    wait_counted(&hoist, "orig", 2);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.tar");
    hoist
        .run(&[
            "container",
            "checkpoint",
            "-c",
            "none",
            "-e",
            good.to_str().unwrap(),
            "orig",
        ])
        .ok();
    let before = container_dirs(&hoist);
    let data = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.tar");
    std::fs::write(&truncated, &data[..data.len() / 3]).unwrap();
    // Cut in the memory pages, which hoist's archives put last: the rest
    // is in place and the restore under way when the cut shows.
    let cut_in_pages = dir.path().join("cut-in-pages.tar");
    std::fs::write(&cut_in_pages, &data[..data.len() - 4096]).unwrap();
    let garbage = dir.path().join("garbage.tar");
    std::fs::write(&garbage, b"this is not a checkpoint archive\n").unwrap();
    // A tar whose entry climbs out of the extraction directory.
    let evil = dir.path().join("evil.tar");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.as_gnu_mut().unwrap().name[..17].copy_from_slice(b"../../escaped.txt");
    h.set_cksum();
    b.append(&h, &b"evil"[..]).unwrap();
    std::fs::write(&evil, b.into_inner().unwrap()).unwrap();
    let missing = dir.path().join("missing.tar");
    for (file, why) in [
        (&truncated, "truncated"),
        (&garbage, "invalid checkpoint archive"),
        (&evil, ".."),
        (&missing, "No such file"),
    ] {
        let out = hoist
            .run(&["container", "restore", "--import", file.to_str().unwrap()])
            .fails_with(125);
        assert!(out.stderr.contains(why), "{why}: {}", out.stderr);
        assert_eq!(
            container_dirs(&hoist),
            before,
            "{why}: something was created"
        );
    }
    assert!(!dir.path().join("escaped.txt").exists());
    assert!(!hoist.root().join("escaped.txt").exists());
    let mount_roots_before = criu_mount_roots();
    let out = hoist
        .run(&[
            "container",
            "restore",
            "-n",
            "cut",
            "--import",
            cut_in_pages.to_str().unwrap(),
        ])
        .fails_with(125);
    assert!(out.stderr.contains("cut short"), "{}", out.stderr);
    assert_eq!(
        container_dirs(&hoist),
        before,
        "the cut archive left a container"
    );
    let left: Vec<PathBuf> = hoist_testenv::leftovers::cgroup_hierarchies()
        .into_iter()
        .filter_map(|h| std::fs::read_dir(h.join(parent.trim_start_matches('/'))).ok())
        .flat_map(|d| d.flatten().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| *n != *orig_cgroup))
        .collect();
    assert!(left.is_empty(), "the cut restore left cgroups: {left:?}");
    // CRIU's temporary mount roots (/tmp/.criu.mntns.*) that appeared
    // meanwhile go once their restores end; a CRIU killed before it could
    // clean up leaves its own for good. Other tests' restores may be
    // running, so this waits for them.
    let appeared: Vec<PathBuf> = criu_mount_roots()
        .into_iter()
        .filter(|d| !mount_roots_before.contains(d))
        .collect();
    hoist_testenv::wait_until(
        std::time::Duration::from_secs(20),
        "CRIU's temporary mount roots to go",
        || appeared.iter().all(|d| !d.exists()),
    );
    // The name is taken: podman's error, nothing created.
    let out = hoist
        .run(&["container", "restore", "--import", good.to_str().unwrap()])
        .fails_with(125);
    assert!(out.stderr.contains("already in use"), "{}", out.stderr);
    assert_eq!(container_dirs(&hoist), before);
    // In place, a container without a checkpoint.
    hoist
        .run(&["create", "--name", "never", &image, "true"])
        .ok();
    let out = hoist
        .run(&["container", "restore", "never"])
        .fails_with(125);
    assert!(out.stderr.contains("checkpoint"), "{}", out.stderr);
    hoist.run(&["rm", "-fa", "-t", "0"]).ok();
    hoist_testenv::leftovers::remove_cgroup_parent(&parent);
}

/// CRIU's temporary mount-namespace roots in /tmp.
fn criu_mount_roots() -> Vec<PathBuf> {
    std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".criu.mntns."))
        .map(|e| e.path())
        .collect()
}

/// `checkpoint inspect --all` of the server's archive: the shell's fd 3 on
/// /etc/hostname, httpd's listening socket, the volume's mount; and
/// checkpointctl finds the same in the same archive.
fn assert_forensics(archive: &std::path::Path) {
    let h = Hoist::new(env!("CARGO_BIN_EXE_hoist"));
    let out = h
        .run(&[
            "checkpoint",
            "inspect",
            "--all",
            "--format",
            "json",
            archive.to_str().unwrap(),
        ])
        .ok();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let all = |key: &str| -> Vec<serde_json::Value> {
        doc[key]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["files"].as_array().unwrap().clone())
            .collect()
    };
    assert!(
        all("files")
            .iter()
            .any(|f| f["fd"] == "3" && f["path"] == "/etc/hostname"),
        "{doc}"
    );
    assert!(
        all("sockets").iter().any(|s| s["protocol"] == "TCP"
            && s["state"] == "LISTEN"
            && s["source"].as_str().is_some_and(|a| a.ends_with(":80"))),
        "{doc}"
    );
    assert!(
        doc["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["destination"] == "/vol"),
        "{doc}"
    );
    let text = h
        .run(&[
            "checkpoint",
            "inspect",
            "--files",
            "--sockets",
            "--mounts",
            archive.to_str().unwrap(),
        ])
        .ok()
        .stdout;
    assert!(text.contains("[3] /etc/hostname"), "{text}");
    assert!(text.contains("TCP (LISTEN)"), "{text}");
    let theirs = checkpointctl(&["inspect", "--files", "--sockets", "--mounts"], archive);
    for fact in ["/etc/hostname", "LISTEN", "/vol"] {
        assert!(
            theirs.contains(fact),
            "checkpointctl lacks {fact}: {theirs}"
        );
    }
}

#[test]
fn a_listening_server_and_its_volume_travel_unless_ignored() {
    let (reg, hoist, image) = setup();
    let other = common::hoist_for(&reg);
    other.run(&["pull", &image]).ok();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("{port}:80");
    // httpd in the foreground, as the only process once a request's
    // child is reaped: checkpointctl cannot read a checkpoint holding a
    // zombie (it has no ids image), and a child that exits just as CRIU
    // freezes the tree is dumped as one.
    let script = "exec 3</etc/hostname; echo served > /vol/page; exec httpd -f -p 80 -h /vol";
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "web",
            "-v",
            "webvol:/vol",
            "-p",
            &publish,
            &image,
            "sh",
            "-c",
            script,
        ])
        .ok();
    hoist_testenv::wait_until(Duration::from_secs(20), "the server", || {
        common::http_get(port, "/page").as_deref() == Some("served\n")
    });
    wait_for_children(&hoist, "web", &[]);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("web.tar.zst");
    let archive = archive.to_str().unwrap();
    hoist
        .run(&["container", "checkpoint", "-e", archive, "web"])
        .ok();
    assert_eq!(
        common::http_get(port, "/page"),
        None,
        "the port is closed meanwhile"
    );
    assert_forensics(std::path::Path::new(archive));
    other
        .run(&["container", "restore", "--import", archive])
        .ok();
    // The same listening socket, restored, answers on the published port.
    hoist_testenv::wait_until(Duration::from_secs(20), "the restored server", || {
        common::http_get(port, "/page").as_deref() == Some("served\n")
    });
    let vols = other.run(&["volume", "ls", "-q"]).ok();
    assert_eq!(vols.stdout.trim(), "webvol");
    other.run(&["rm", "-f", "-t", "0", "web"]).ok();
    other.run(&["volume", "rm", "webvol"]).ok();
    // --ignore-volumes (on import): the volume is made, but empty.
    other
        .run(&[
            "container",
            "restore",
            "--import",
            archive,
            "--ignore-volumes",
            "-n",
            "web2",
            "-p",
            &format!("{}:80", port),
        ])
        .ok();
    other
        .run(&["exec", "web2", "test", "!", "-e", "/vol/page"])
        .ok();
    other.run(&["rm", "-fa", "-t", "0"]).ok();
    hoist.run(&["rm", "-fa", "-t", "0"]).ok();
}

#[test]
fn an_established_tcp_connection_survives_checkpoint_and_restore() {
    use std::io::{BufRead, BufReader, Write};
    let (_reg, hoist, image) = setup();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A network of its own: its bridge goes away with the checkpoint's
    // teardown unless the network is kept, and with the bridge the host's
    // tracking of the connection (127.0.0.1 to a published port is
    // masqueraded on it). On the default network that depends on whether
    // another container happens to be on it.
    hoist.run(&["network", "create", "echonet"]).ok();
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "echo",
            "--network",
            "echonet",
            "-p",
            &format!("{port}:80"),
            &image,
            "sh",
            "-c",
            "while :; do nc -l -p 80 -e cat; done",
        ])
        .ok();
    let mut conn = None;
    hoist_testenv::wait_until(Duration::from_secs(20), "the echo server", || {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut line = String::new();
        let echoed = s.write_all(b"one\n").is_ok()
            && BufReader::new(&s).read_line(&mut line).is_ok()
            && line == "one\n";
        if echoed {
            conn = Some(s);
        }
        echoed
    });
    let s = conn.unwrap();
    hoist
        .run(&["container", "checkpoint", "--tcp-established", "echo"])
        .ok();
    hoist
        .run(&["container", "restore", "--tcp-established", "echo"])
        .ok();
    // The same connection, on the restored process.
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    (&s).write_all(b"two\n").unwrap();
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line).unwrap();
    assert_eq!(line, "two\n");
    hoist.run(&["rm", "-f", "-t", "0", "echo"]).ok();
    hoist.run(&["network", "rm", "echonet"]).ok();
}

/// An export onto a full filesystem fails with the cause and leaves no
/// partial archive; the container is not lost: the checkpoint stays with
/// it and an in-place restore continues the counter.
#[test]
fn an_export_onto_a_full_disk_loses_nothing() {
    let (_reg, hoist, image) = setup();
    let full = tempfile::tempdir().unwrap();
    let tmpfs = common::mount_tmpfs(full.path(), "64k");
    // Full to the last byte: a checkpoint of a small shell compresses to
    // less than a small tmpfs holds.
    tmpfs.fill();
    hoist
        .run(&["run", "-d", "--name", "count", &image, "sh", "-c", COUNTER])
        .ok();
    wait_counted(&hoist, "count", 3);
    let archive = full.path().join("count.tar.gz");
    let out = hoist
        .run(&[
            "container",
            "checkpoint",
            "--export",
            archive.to_str().unwrap(),
            "count",
        ])
        .fails_with(125);
    let err = out.stderr.to_lowercase();
    assert!(err.contains("no space left on device"), "{out:?}");
    assert!(err.contains("container restore"), "{out:?}");
    assert!(!archive.exists(), "a partial archive was left");
    assert_eq!(state(&hoist, "count"), "exited:false:true");
    let before = counted(&hoist, "count");
    hoist.run(&["container", "restore", "count"]).ok();
    wait_counted(&hoist, "count", before.len() + 3);
    assert_continuous(&counted(&hoist, "count"));
    hoist.run(&["rm", "-f", "-t", "0", "count"]).ok();
}

/// The network lock method CRIU recorded in an archive's inventory
/// (inventory_entry field 11, CRIU's own numbering: 0 iptables, 1
/// nftables, 2 skip).
fn network_lock_method(archive: &std::path::Path) -> u64 {
    let out = std::process::Command::new("tar")
        .args([
            "-xOf",
            archive.to_str().unwrap(),
            "checkpoint/inventory.img",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Two magic numbers, the entry's length, then the entry.
    let entry = &out.stdout[12..];
    let varint = |pos: &mut usize| {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = entry[*pos];
            *pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    };
    let mut pos = 0;
    while pos < entry.len() {
        let key = varint(&mut pos);
        match key & 7 {
            0 if key >> 3 == 11 => return varint(&mut pos),
            0 => drop(varint(&mut pos)),
            2 => pos += varint(&mut pos) as usize,
            1 => pos += 8,
            5 => pos += 4,
            w => panic!("wire type {w} in the inventory"),
        }
    }
    panic!("no network lock method in the inventory");
}

#[test]
fn a_container_nothing_can_reach_is_dumped_without_the_network_lock() {
    let (_reg, hoist, image) = setup();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // Only a loopback, and no connection to keep: nothing to lock.
        ("alone", &["--network", "none"][..], &[][..], 2),
        // Connections on the loopback: their ends must not see each other
        // half restored.
        ("talking", &["--network", "none"], &["--tcp-established"], 0),
        // Reachable from the host: CRIU's default, iptables.
        ("bridged", &[], &[], 0),
    ];
    for (name, run_flags, checkpoint_flags, method) in cases {
        let mut run = vec!["run", "-d", "--name", name];
        run.extend_from_slice(run_flags);
        run.extend_from_slice(&[&image, "sleep", "1000"]);
        hoist.run(&run).ok();
        let archive = dir.path().join(format!("{name}.tar"));
        let mut checkpoint = vec!["container", "checkpoint", "-c", "none"];
        checkpoint.extend_from_slice(checkpoint_flags);
        checkpoint.extend_from_slice(&["-e", archive.to_str().unwrap(), name]);
        hoist.run(&checkpoint).ok();
        assert_eq!(network_lock_method(&archive), method, "{name}");
        // Restored from the archive, it runs again.
        hoist.run(&["rm", "-f", name]).ok();
        let mut restore = vec!["container", "restore"];
        restore.extend_from_slice(checkpoint_flags);
        restore.extend_from_slice(&["--import", archive.to_str().unwrap()]);
        hoist.run(&restore).ok();
        assert_eq!(state(&hoist, name), "running:true:false", "{name}");
        hoist.run(&["rm", "-f", "-t", "0", name]).ok();
    }
}

/// Takes an exclusive flock(2) on its argument, waits while /wait exists,
/// then counts to 3: two of them on one file count one after the other.
const LOCKRUN_C: &str = r#"#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDWR | O_CREAT, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) { perror(argv[1]); return 1; }
    while (access("/wait", F_OK) == 0) usleep(100000);
    for (int i = 1; i <= 3; i++) { printf("%d\n", i); fflush(stdout); usleep(100000); }
    return 0;
}
"#;

/// An image with `/bin/lockrun` (LOCKRUN_C, static): the test image's
/// busybox has no flock applet.
fn lockrun_image(reg: &hoist_testenv::Registry, hoist: &Hoist) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lockrun.c"), LOCKRUN_C).unwrap();
    let gcc = std::process::Command::new("gcc")
        .args(["-O2", "-static", "-o", "lockrun", "lockrun.c"])
        .current_dir(dir.path())
        .output()
        .expect("gcc runs (scripts/install-deps.sh installs it)");
    assert!(gcc.status.success(), "{gcc:?}");
    let binary = std::fs::read(dir.path().join("lockrun")).unwrap();
    hoist_testenv::ImageBuilder::single_layer()
        .layer(
            hoist_testenv::Layer::new().file("bin/lockrun", binary, 0o755),
            "lockrun",
        )
        .push(reg, "lockrun:1");
    let image = reg.reference("lockrun:1");
    hoist.run(&["pull", "-q", &image]).ok();
    image
}

/// podman's 520-checkpoint "--file-locks": one process holds a file lock
/// and another waits for it. Without --file-locks CRIU refuses and the
/// container runs on; with it, the holder and the waiter come back as they
/// were, and count one after the other.
#[test]
fn file_locks_survive_checkpoint_and_restore() {
    let (reg, hoist, _) = setup();
    let image = lockrun_image(&reg, &hoist);
    hoist
        .run(&[
            "run",
            "-d",
            "--name",
            "locks",
            &image,
            "sh",
            "-c",
            "touch /wait; echo READY; lockrun /test.lock & lockrun /test.lock & wait",
        ])
        .ok();
    wait_for_children(&hoist, "locks", &["lockrun", "lockrun"]);
    let pid = inspect(&hoist, "locks")["State"]["Pid"].as_i64().unwrap();
    let lockruns: Vec<String> = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    // One holds the lock, the other is queued behind it: a `-> FLOCK`
    // line of /proc/locks with its pid.
    hoist_testenv::wait_until(Duration::from_secs(20), "a lockrun waiting", || {
        std::fs::read_to_string("/proc/locks")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let at = f.iter().position(|w| *w == "->")?;
                (f.get(at + 1) == Some(&"FLOCK")).then(|| f.get(at + 4).map(|p| p.to_string()))?
            })
            .any(|p| lockruns.contains(&p))
    });
    let out = hoist
        .run(&["container", "checkpoint", "locks"])
        .fails_with(125);
    assert!(out.stderr.contains("lock"), "{}", out.stderr);
    assert_eq!(state(&hoist, "locks"), "running:true:false");

    hoist
        .run(&["container", "checkpoint", "--file-locks", "locks"])
        .ok();
    assert_eq!(state(&hoist, "locks"), "exited:false:true");
    hoist
        .run(&["container", "restore", "--file-locks", "locks"])
        .ok();
    hoist.run(&["exec", "locks", "rm", "/wait"]).ok();
    hoist.run(&["wait", "locks"]).ok();
    let logs = hoist.run(&["logs", "locks"]).ok().stdout;
    assert_eq!(logs.split_whitespace().collect::<String>(), "READY123123");
    hoist.run(&["rm", "-f", "-t", "0", "locks"]).ok();
}

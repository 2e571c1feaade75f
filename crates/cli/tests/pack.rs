//! `hoist pack` and `hoist image update-cost`: a packed image holds exactly
//! the source tree, packing is reproducible, an update changes only the
//! layer of what changed, and real peers (a registry, podman) take the image.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{hoist_for, inspect, lower_dirs, setup};
use hoist_engine::hoist_pack::{Kind, Tree};
use hoist_testenv::{require_root_and, Hoist, Registry};
use serde_json::Value;

const TOOLS: &[&str] = &["setcap", "mknod", "cp"];

fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small merged-/usr Debian system with everything a layer must carry:
/// modes, owners, a file capability, hardlinks, symlinks, a fifo, a device,
/// empty directories, a long name, unowned and large files.
fn debian_tree(root: &Path, libfoo: &str) {
    std::os::unix::fs::symlink("usr/bin", root.join("bin")).unwrap();
    std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
    let status = "\
Package: base-files\nStatus: install ok installed\nPriority: required\nEssential: yes\nArchitecture: amd64\nVersion: 12.4+deb12u5\n\n\
Package: dpkg\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\nVersion: 1.21.22\nDepends: tool\n\n\
Package: tool\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\nVersion: 1.0-1\nDepends: libfoo1\n\n\
Package: libfoo1\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nMulti-Arch: same\nSource: foo\nVersion: 2.0-1\n\n\
Package: extra\nStatus: install ok installed\nPriority: optional\nArchitecture: all\nVersion: 3\n";
    write(root, "var/lib/dpkg/status", status.as_bytes());
    write(root, "var/lib/dpkg/status-old", status.as_bytes());
    let lists: &[(&str, &[&str])] = &[
        (
            "base-files",
            &[
                "/etc",
                "/etc/os-release",
                "/home",
                "/usr/share/doc/base-files/copyright",
            ],
        ),
        ("dpkg", &["/usr/bin/dpkg"]),
        (
            "tool",
            &[
                "/bin",
                "/bin/tool",
                "/bin/tool-hard",
                "/usr/bin/ping",
                "/usr/share/doc/tool/changelog.Debian.gz",
            ],
        ),
        (
            "libfoo1:amd64",
            &["/lib", "/lib/libfoo.so.1", "/usr/lib/libfoo.so"],
        ),
        (
            "extra",
            &["/usr/share/extra/a data file", "/usr/share/extra/empty"],
        ),
    ];
    for (name, files) in lists {
        let mut list = String::from("/.\n");
        for f in *files {
            list.push_str(f);
            list.push('\n');
        }
        write(
            root,
            &format!("var/lib/dpkg/info/{name}.list"),
            list.as_bytes(),
        );
        write(
            root,
            &format!("var/lib/dpkg/info/{name}.md5sums"),
            b"0  x\n",
        );
    }
    write(
        root,
        "etc/os-release",
        b"ID=debian\nVERSION_CODENAME=bookworm\n",
    );
    std::fs::create_dir(root.join("home")).unwrap();
    std::fs::set_permissions(root.join("home"), std::fs::Permissions::from_mode(0o700)).unwrap();
    write(root, "usr/share/doc/base-files/copyright", b"GPL");
    write(root, "usr/bin/dpkg", &vec![7u8; 70_000]);
    write(root, "usr/bin/tool", b"#!/bin/sh\necho tool\n");
    std::fs::set_permissions(
        root.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/tool-hard")).unwrap();
    write(root, "usr/bin/ping", b"ping");
    run(Command::new("setcap")
        .args(["cap_net_raw+ep"])
        .arg(root.join("usr/bin/ping")));
    write(
        root,
        "usr/share/doc/tool/changelog.Debian.gz",
        b"not really gzip",
    );
    write(root, "usr/lib/libfoo.so.1", libfoo.as_bytes());
    chown(root.join("usr/lib/libfoo.so.1"), Some(1234), Some(5678)).unwrap();
    std::os::unix::fs::symlink("libfoo.so.1", root.join("usr/lib/libfoo.so")).unwrap();
    write(root, "usr/share/extra/a data file", b"data");
    std::fs::create_dir_all(root.join("usr/share/extra/empty")).unwrap();
    // Unowned: a large file, config written by maintainer scripts, state,
    // an empty directory, a fifo, a device node and a very long name.
    write(root, "usr/lib/udev/hwdb.bin", &vec![3u8; 1 << 20]);
    write(root, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n");
    write(root, "var/cache/debconf/config.dat", b"Name: x\n");
    std::fs::create_dir_all(root.join("var/empty/deeper")).unwrap();
    run(Command::new("mkfifo").arg(root.join("run-fifo")));
    std::fs::create_dir(root.join("dev")).unwrap();
    run(Command::new("mknod")
        .arg(root.join("dev/null"))
        .args(["c", "1", "3"]));
    let long = format!("opt/{}/{}", "d".repeat(110), "f".repeat(100));
    write(root, &long, b"long");
}

/// What must survive packing, per path: type, mode, owner, xattrs,
/// content and link target (directory times are normalized, so not those).
fn describe(tree: &Tree) -> BTreeMap<PathBuf, String> {
    tree.nodes()
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let content = match &n.kind {
                Kind::File { .. } => format!("{:?}", std::fs::read(tree.host_path(i)).unwrap()),
                _ => String::new(),
            };
            let mtime = if n.is_dir() { 0 } else { n.mtime };
            let d = format!(
                "{:?} {:o} {}:{} {:?} {content} {mtime}",
                n.kind, n.mode, n.uid, n.gid, n.xattrs
            );
            (n.path.clone(), d)
        })
        .collect()
}

/// Sets of paths that are hardlinks of one another.
fn link_groups(tree: &Tree) -> Vec<Vec<PathBuf>> {
    let mut by_inode: BTreeMap<(u64, u64), Vec<PathBuf>> = BTreeMap::new();
    for n in tree.nodes() {
        if matches!(n.kind, Kind::File { .. }) {
            by_inode.entry(n.inode).or_default().push(n.path.clone());
        }
    }
    let mut groups: Vec<_> = by_inode.into_values().filter(|g| g.len() > 1).collect();
    groups.sort();
    groups
}

/// The image's layers stacked, lowest first, as overlayfs would show them.
fn stack_layers(hoist: &Hoist, image: &str, into: &Path) {
    let mut dirs = lower_dirs(hoist, image);
    dirs.reverse();
    for d in dirs {
        run(Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", d.display()))
            .arg(into));
    }
}

fn pack_json(hoist: &Hoist, tree: &Path, args: &[&str]) -> Value {
    let mut all = vec!["pack", tree.to_str().unwrap(), "--format", "json"];
    all.extend_from_slice(args);
    let out = hoist.run(&all).ok();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("pack --format json: {e}: {out:?}"))
}

fn layer_digests(doc: &Value) -> Vec<String> {
    doc["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["Digest"].as_str().unwrap().to_string())
        .collect()
}

fn local_hoist() -> Hoist {
    require_root_and(TOOLS);
    Hoist::new(env!("CARGO_BIN_EXE_hoist"))
}

#[test]
fn packed_image_holds_exactly_the_source_tree() {
    let hoist = local_hoist();
    let src = tempfile::tempdir().unwrap();
    debian_tree(src.path(), "libfoo v1");
    let doc = pack_json(&hoist, src.path(), &["-t", "os:1"]);
    let layers = doc["Layers"].as_array().unwrap();
    assert!(layers.len() > 3 && layers.len() <= 64, "{doc}");
    // Each layer names its components; the big file and the state are alone.
    let comps: Vec<Vec<String>> = layers
        .iter()
        .map(|l| serde_json::from_value(l["Components"].clone()).unwrap())
        .collect();
    assert!(
        comps.contains(&vec!["file:/usr/lib/udev/hwdb.bin".to_string()]),
        "{comps:?}"
    );
    assert!(
        comps.contains(&vec!["package-state".to_string()]),
        "{comps:?}"
    );
    assert!(
        comps.contains(&vec!["pkg:libfoo1:amd64".to_string()]),
        "{comps:?}"
    );

    let merged = tempfile::tempdir().unwrap();
    stack_layers(&hoist, "os:1", merged.path());
    let want = Tree::scan(src.path()).unwrap();
    let got = Tree::scan(merged.path()).unwrap();
    let (want_d, got_d) = (describe(&want), describe(&got));
    for (p, w) in &want_d {
        assert_eq!(got_d.get(p), Some(w), "/{} differs", p.display());
    }
    let extra: Vec<_> = got_d.keys().filter(|p| !want_d.contains_key(*p)).collect();
    assert!(extra.is_empty(), "paths not in the source: {extra:?}");
    assert_eq!(link_groups(&got), link_groups(&want));
    assert!(
        want.node(want.find(Path::new("usr/bin/ping")).unwrap())
            .xattrs
            .iter()
            .any(|(k, _)| k == b"security.capability"),
        "the test tree has a file capability"
    );
    let config = inspect(&hoist, "os:1");
    assert_eq!(config["Architecture"], "amd64", "{config}");
}

#[test]
fn packing_is_reproducible_and_an_update_changes_only_its_layer() {
    let hoist = local_hoist();
    let src = tempfile::tempdir().unwrap();
    debian_tree(src.path(), "libfoo v1");
    let one = pack_json(&hoist, src.path(), &["-t", "os:1"]);
    let again = pack_json(&hoist, src.path(), &["-t", "os:again"]);
    assert_eq!(one["Id"], again["Id"], "same tree, same image");
    assert_eq!(one["Digest"], again["Digest"]);
    assert_eq!(layer_digests(&one), layer_digests(&again));

    // A new version of libfoo: its file changes, and dpkg's md5sums with it.
    write(src.path(), "usr/lib/libfoo.so.1", b"libfoo v2, longer");
    chown(
        src.path().join("usr/lib/libfoo.so.1"),
        Some(1234),
        Some(5678),
    )
    .unwrap();
    write(
        src.path(),
        "var/lib/dpkg/info/libfoo1:amd64.md5sums",
        b"1  x\n",
    );
    let old: Vec<String> = layer_digests(&one);
    for (tag, extra) in [("os:2", vec!["--prior", "os:1"]), ("os:3", vec![])] {
        let mut args = vec!["-t", tag];
        args.extend(extra);
        let new = pack_json(&hoist, src.path(), &args);
        let changed: Vec<&Value> = new["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| !old.contains(&l["Digest"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(changed.len(), 1, "{tag}: {changed:?}");
        assert_eq!(
            changed[0]["Components"],
            serde_json::json!(["pkg:libfoo1:amd64"])
        );
        let cost = hoist
            .run(&["image", "update-cost", "os:1", tag, "--format", "json"])
            .ok();
        assert_eq!(
            cost.stdout.trim(),
            format!("{{\"bytes\": {}, \"layers\": 1}}", changed[0]["Size"]),
            "{tag}"
        );
    }
    let none = hoist
        .run(&[
            "image",
            "update-cost",
            "os:1",
            "os:again",
            "--format",
            "json",
        ])
        .ok();
    assert_eq!(none.stdout.trim(), "{\"bytes\": 0, \"layers\": 0}");
    hoist
        .run(&["image", "update-cost", "os:1", "missing"])
        .fails_with(125);
}

#[test]
fn a_tree_without_dpkg_data_packs_by_directory_with_a_note() {
    let hoist = local_hoist();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "app/bin/server", b"server");
    write(src.path(), "app/share/big", &vec![1u8; 2 << 20]);
    let out = hoist
        .run(&["pack", src.path().to_str().unwrap(), "-t", "plain:1"])
        .ok();
    assert!(out.stderr.contains("no dpkg database"), "{out:?}");
    hoist
        .run(&[
            "pack",
            src.path().to_str().unwrap(),
            "-t",
            "x",
            "--max-layers",
            "0",
        ])
        .fails_with(125);
    let doc = pack_json(&hoist, src.path(), &["-t", "plain:2", "--max-layers", "1"]);
    assert_eq!(doc["Layers"].as_array().unwrap().len(), 1);
}

#[test]
fn a_pushed_packed_image_is_pulled_by_podman() {
    let (reg, _) = setup();
    require_root_and(&["podman", "setcap", "mknod"]);
    let hoist = hoist_for(&reg);
    let src = tempfile::tempdir().unwrap();
    debian_tree(src.path(), "libfoo v1");
    let doc = pack_json(&hoist, src.path(), &["-t", "os:1"]);
    let dest = reg.reference("packed:1");
    hoist
        .run(&["push", "--tls-verify=false", "os:1", &dest])
        .ok();
    push_pull_podman(&reg, &dest, &doc);
}

fn push_pull_podman(reg: &Registry, dest: &str, doc: &Value) {
    let remote = reg.inspect("packed:1");
    assert_eq!(
        remote["Digest"], doc["Digest"],
        "the registry has the packed manifest"
    );
    let raw = reg.inspect_raw("packed:1");
    let annotated = raw["layers"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .all(|l| l["annotations"]["org.hoist.pack.components"].is_string())
        })
        .unwrap_or(false);
    assert!(annotated, "every layer lists its components: {raw}");
    let podman = common::podman::Podman::isolated();
    let podman_cmd = |args: &[&str]| podman.out(args);
    podman_cmd(&["pull", "--tls-verify=false", dest]);
    let digest = podman_cmd(&["images", "--format", "{{.Digest}}"]);
    assert_eq!(Some(digest.as_str()), doc["Digest"].as_str());
    let layers = podman_cmd(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        dest,
    ]);
    assert_eq!(layers, doc["Layers"].as_array().unwrap().len().to_string());
}

/// `find | stat` over the OS directories of a tree, as seen from `root`:
/// path, type, mode, owner, size, link count, link target and content hash
/// (directory link counts depend on the filesystem, so they are left out).
const LISTING: &str = "cd \"$1\" && { \
    busybox find usr var home etc ! -type d -exec busybox stat -c '%n|%F|%a|%u|%g|%s|%h|%N' {} + ; \
    busybox find usr var home etc -type d -exec busybox stat -c '%n|%F|%a|%u|%g' {} + ; } | busybox sort \
    && busybox find usr var home etc -type f -exec busybox md5sum {} + | busybox sort";

#[test]
fn a_packed_image_runs_and_its_container_sees_exactly_the_source_tree() {
    let hoist = local_hoist();
    let src = tempfile::tempdir().unwrap();
    debian_tree(src.path(), "libfoo v1");
    std::fs::copy("/bin/busybox", src.path().join("usr/bin/busybox")).unwrap();
    pack_json(&hoist, src.path(), &["-t", "os:run"]);

    let host = listing_of(src.path());
    let by_hoist = |args: &[&str]| hoist.run(args).ok().stdout;
    let inside = listing_inside(&by_hoist, "os:run");
    let want = os_lines(&host);
    let got = os_lines(&inside);
    assert!(want.len() > 20, "the listing covers the tree: {want:?}");
    assert_eq!(
        got, want,
        "the container's view differs from the packed tree"
    );
}

/// The listing of `root` as seen from inside a container of `image`, run
/// by `run` (hoist's or podman's `run` arguments up to the image).
fn listing_inside(run: &dyn Fn(&[&str]) -> String, image: &str) -> String {
    run(&[
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "/usr/bin/busybox",
        "sh",
        "-c",
        LISTING,
        "sh",
        "/",
    ])
}

fn listing_of(root: &Path) -> String {
    let out = Command::new("busybox")
        .args(["sh", "-c", LISTING, "sh", root.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The listing without the files the runtime puts into `/etc`: it
/// bind-mounts its own hosts, hostname and resolv.conf, and links mtab to
/// /proc/mounts in a tree without one (podman's rule; checked in
/// podman_run.rs).
fn os_lines(listing: &str) -> Vec<&str> {
    let runtime_files = ["etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/mtab"];
    listing
        .lines()
        .filter(|l| {
            !runtime_files
                .iter()
                .any(|f| l.starts_with(&format!("{f}|")) || l.ends_with(&format!("  {f}")))
        })
        .collect()
}

#[test]
fn an_update_packed_with_prior_keeps_unchanged_layers_and_runs_as_the_new_tree() {
    let (reg, _) = setup();
    require_root_and(&["podman", "setcap", "mknod", "busybox"]);
    let hoist = hoist_for(&reg);
    let src = tempfile::tempdir().unwrap();
    let root = src.path();
    debian_tree(root, "libfoo v1");
    std::fs::copy("/bin/busybox", root.join("usr/bin/busybox")).unwrap();
    // dpkg's binary as big as gzip keeps it, and a second file of its
    // package, removed by the update below.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..70_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    write(root, "usr/bin/dpkg", &noise);
    write(root, "usr/share/dpkg/obsolete", b"old table");
    let dpkg_list = "/.\n/usr/bin/dpkg\n";
    write(
        root,
        "var/lib/dpkg/info/dpkg.list",
        format!("{dpkg_list}/usr/share/dpkg/obsolete\n").as_bytes(),
    );
    let one = pack_json(&hoist, root, &["-t", "os:1"]);
    let dpkg_layer = |doc: &Value| -> Value {
        doc["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["Components"] == serde_json::json!(["pkg:dpkg"]))
            .cloned()
            .unwrap_or_else(|| panic!("no layer of dpkg alone: {doc}"))
    };
    let dpkg_before = dpkg_layer(&one);

    // A dpkg upgrade: the 70 kB binary is rewritten with the same bytes (a
    // new time), one file goes, one comes, the status changes.
    let dpkg_bin = root.join("usr/bin/dpkg");
    let bytes = std::fs::read(&dpkg_bin).unwrap();
    std::fs::remove_file(&dpkg_bin).unwrap();
    std::fs::write(&dpkg_bin, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&dpkg_bin)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .unwrap();
    std::fs::remove_file(root.join("usr/share/dpkg/obsolete")).unwrap();
    write(root, "usr/share/doc/dpkg/NEWS", b"what is new");
    write(
        root,
        "var/lib/dpkg/info/dpkg.list",
        format!("{dpkg_list}/usr/share/doc/dpkg/NEWS\n").as_bytes(),
    );
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
    write(
        root,
        "var/lib/dpkg/status",
        status
            .replace("Version: 1.21.22", "Version: 1.21.23")
            .as_bytes(),
    );

    let out = hoist
        .run(&[
            "pack",
            root.to_str().unwrap(),
            "--format",
            "json",
            "-t",
            "os:2",
            "--prior",
            "os:1",
        ])
        .ok();
    let two: Value = serde_json::from_str(&out.stdout).unwrap();
    let layers = two["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), one["Layers"].as_array().unwrap().len());
    assert_eq!(
        dpkg_layer(&two)["Digest"],
        dpkg_before["Digest"],
        "dpkg's layer is kept: {two}"
    );
    assert!(out.stderr.contains("Note: --prior: kept"), "{out:?}");
    // The top layer carries dpkg's changes (its new file, its changed list,
    // a whiteout for the removed file), and its history entry says so.
    let top = layers.last().unwrap();
    assert!(top["Carried"].as_u64().unwrap() >= 3, "{top}");
    assert!(layers[..layers.len() - 1].iter().all(|l| l["Carried"] == 0));
    let history = hoist
        .run(&["history", "--no-trunc", "--format", "{{.Comment}}", "os:2"])
        .ok();
    assert!(
        history
            .stdout
            .lines()
            .next()
            .is_some_and(|l| l.contains("carries") && l.contains("entries of the layers below")),
        "{history:?}"
    );
    let cost: Value = serde_json::from_str(
        &hoist
            .run(&["image", "update-cost", "os:1", "os:2", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(cost["layers"], 1, "one layer carries the update: {cost}");
    assert!(
        cost["bytes"].as_u64().unwrap() < dpkg_before["Size"].as_u64().unwrap(),
        "the update costs less than dpkg's layer: {cost} {dpkg_before}"
    );

    // Both engines see exactly the new tree: the new file, not the removed
    // one, the new status; only unchanged files' times may be older.
    let want = listing_of(root);
    assert!(!want.contains("usr/share/dpkg/obsolete"));
    assert!(want.contains("usr/share/doc/dpkg/NEWS"));
    let by_hoist = |args: &[&str]| hoist.run(args).ok().stdout;
    assert_eq!(
        os_lines(&listing_inside(&by_hoist, "os:2")),
        os_lines(&want),
        "hoist's container differs from the new tree"
    );
    let dest = reg.reference("packed:2");
    hoist
        .run(&["push", "--tls-verify=false", "os:2", &dest])
        .ok();
    let podman = common::podman::Podman::isolated();
    podman.out(&["pull", "--tls-verify=false", &dest]);
    let by_podman = |args: &[&str]| podman.out(args);
    assert_eq!(
        os_lines(&listing_inside(&by_podman, &dest)),
        os_lines(&want),
        "podman's container differs from the new tree"
    );
}

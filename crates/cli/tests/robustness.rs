//! Bad input and bad luck: corrupt blobs, hostile layers, malformed
//! manifests, killed pulls and concurrent pulls never leave the store broken.

mod common;

use std::time::Duration;

use common::{assert_store_clean, images, setup};
use hoist_testenv::{ImageBuilder, Layer};

/// The registry's stored copy of a blob, to corrupt it behind its back.
fn registry_blob_path(reg: &hoist_testenv::Registry, digest: &str) -> std::path::PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    reg.storage_dir()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

#[test]
fn a_corrupt_layer_in_the_registry_is_refused_and_nothing_is_stored() {
    let (reg, hoist) = setup();
    ImageBuilder::multi_layer(2).push(&reg, "bad:1");
    let layers = reg.inspect("bad:1")["Layers"].clone();
    let victim = layers[1].as_str().unwrap().to_string();
    let path = registry_blob_path(&reg, &victim);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();

    let out = hoist
        .run(&["pull", &reg.reference("bad:1")])
        .fails_with(125);
    assert!(
        out.stderr.contains("digest") || out.stderr.contains("mismatch"),
        "{out:?}"
    );
    assert!(images(&hoist).is_empty());
    assert!(!hoist
        .root()
        .join("blobs/sha256")
        .join(victim.trim_start_matches("sha256:"))
        .exists());
    assert_store_clean(&hoist);
}

#[test]
fn hostile_layers_are_refused_without_writing_outside_the_store() {
    let (reg, hoist) = setup();
    let outside = hoist.base_dir().join("escaped");
    let target = format!("../../../../../../../../..{}", outside.display());
    let hostile = [
        (
            "dotdot",
            Layer::new().file(&format!("{target}/pwned"), "x", 0o644),
        ),
        (
            "symlink",
            Layer::new()
                .symlink("link", &target)
                .file("link/pwned", "x", 0o644),
        ),
        (
            "hardlink",
            Layer::new().hardlink("pwned", &format!("{target}/x")),
        ),
    ];
    for (tag, layer) in hostile {
        ImageBuilder::single_layer()
            .layer(layer, "hostile")
            .push(&reg, &format!("hostile:{tag}"));
        let out = hoist
            .run(&["pull", &reg.reference(&format!("hostile:{tag}"))])
            .fails_with(125);
        assert!(out.stderr.contains("layer"), "{tag}: {out:?}");
        assert!(
            !outside.exists(),
            "{tag}: extraction escaped the layer directory"
        );
    }
    assert!(images(&hoist).is_empty());
    assert_store_clean(&hoist);
}

#[test]
fn malformed_and_oversized_manifests_are_refused_clearly() {
    let (_reg, hoist) = setup();
    let dir = hoist.base_dir().join("layout");
    let built = ImageBuilder::single_layer().build_oci_layout(&dir, "v1");
    let manifest_path = dir
        .join("blobs/sha256")
        .join(built.digest.trim_start_matches("sha256:"));

    // Malformed JSON whose digest is updated in the index: a parse error, not a panic.
    let bad = b"{\"schemaVersion\": 2, \"config\": ".to_vec();
    rewrite_manifest(&dir, &manifest_path, &bad);
    let out = hoist
        .run(&["pull", &format!("oci:{}:v1", dir.display())])
        .fails_with(125);
    assert!(out.stderr.to_lowercase().contains("manifest"), "{out:?}");

    // Over 4 MiB: refused before parsing.
    let mut big = b"{\"schemaVersion\":2,\"annotations\":{\"x\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 5 * 1024 * 1024));
    big.extend(b"\"}}");
    rewrite_manifest(&dir, &manifest_path, &big);
    let out = hoist
        .run(&["pull", &format!("oci:{}:v1", dir.display())])
        .fails_with(125);
    assert!(
        out.stderr.contains("limit") || out.stderr.contains("large"),
        "{out:?}"
    );
    assert!(images(&hoist).is_empty());
}

/// Writes `bytes` as the layout's manifest and points index.json at it.
fn rewrite_manifest(dir: &std::path::Path, old: &std::path::Path, bytes: &[u8]) {
    let digest = hoist_image::Digest::sha256_of(bytes);
    std::fs::write(dir.join("blobs/sha256").join(digest.hex()), bytes).unwrap();
    let index = std::fs::read_to_string(dir.join("index.json")).unwrap();
    let old_hex = old.file_name().unwrap().to_str().unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&index).unwrap();
    for m in v["manifests"].as_array_mut().unwrap() {
        if m["digest"].as_str().unwrap().ends_with(old_hex)
            || m["annotations"]["org.opencontainers.image.ref.name"] == "v1"
        {
            m["digest"] = digest.to_string().into();
            m["size"] = bytes.len().into();
        }
    }
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn a_killed_pull_leaves_no_half_image_and_the_next_pull_completes() {
    let (reg, hoist) = setup();
    ImageBuilder::multi_layer(4).push(&reg, "kill:1");
    let name = reg.reference("kill:1");
    for delay_ms in [5u64, 30, 80, 150] {
        let mut child = hoist.command(&["pull", "-q", &name]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let rows = images(&hoist);
        // Either nothing or the whole image, never a half one.
        if let Some(row) = rows.first() {
            hoist.run(&["system", "check"]).ok();
            assert_eq!(row["Names"][0], name);
        }
        hoist.run(&["pull", "-q", &name]).ok();
        assert_store_clean(&hoist);
        hoist.run(&["rmi", "-a", "-f"]).ok();
    }
}

#[test]
fn concurrent_pulls_of_one_image_all_succeed() {
    let (reg, hoist) = setup();
    ImageBuilder::multi_layer(3).push(&reg, "many:1");
    let name = reg.reference("many:1");
    let children: Vec<_> = (0..8)
        .map(|_| {
            hoist
                .command(&["pull", "-q", &name])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let ids: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "a concurrent pull failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_eq!(images(&hoist).len(), 1);
    assert_store_clean(&hoist);
}

#[test]
fn system_check_finds_and_repairs_a_corrupt_blob() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "check:1");
    let name = reg.reference("check:1");
    hoist.run(&["pull", &name]).ok();
    let layer = common::inspect(&hoist, &name)["RootFS"]["Layers"][0].clone();
    assert!(layer.is_string());
    let blobs = hoist.root().join("blobs/sha256");
    let victim = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[100] ^= 0x01;
    // Blobs are read-only once committed.
    let mut perm = std::fs::metadata(&victim).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&victim, perm).unwrap();
    std::fs::write(&victim, &bytes).unwrap();

    let out = hoist.run(&["system", "check"]).fails_with(125);
    assert!(
        out.stdout
            .contains(victim.file_name().unwrap().to_str().unwrap()),
        "{out:?}"
    );
    // The corrupt blob is removed; the image now lacks it, which only a pull can fix.
    let out = hoist.run(&["system", "check", "--repair"]).fails_with(125);
    assert!(
        out.stdout.contains("(repaired)") && out.stdout.contains("pull the image again"),
        "{out:?}"
    );
    hoist.run(&["pull", &name]).ok();
    assert_store_clean(&hoist);
}

/// #11 item 5: a registry that accepts connections and never answers made a
/// pull hang for 241 s (4 attempts of a 60 s timeout). With a read timeout
/// of 1 s (`HOIST_REGISTRY_TIMEOUT`) the pull fails after a bounded number
/// of silent attempts (counted, not timed), with a message naming the timeout.
#[test]
fn a_registry_that_never_answers_fails_a_pull_quickly() {
    let (_reg, mut hoist) = setup();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    // Accepts and keeps every connection open without a word.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for sock in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(sock);
        }
    });
    hoist.env("HOIST_REGISTRY_TIMEOUT", "1");
    let out = hoist.run(&["pull", "--tls-verify=false", &format!("{addr}/silent:1")]);
    assert!(!out.success(), "{out:?}");
    assert!(out.stderr.contains("timed out"), "{out:?}");
    // HTTPS is tried once, then plain HTTP twice (timeouts are retried once).
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    // A bad setting is refused, not ignored.
    hoist.env("HOIST_REGISTRY_TIMEOUT", "soon");
    let out = hoist.run(&["pull", "--tls-verify=false", &format!("{addr}/silent:1")]);
    assert!(out.stderr.contains("HOIST_REGISTRY_TIMEOUT"), "{out:?}");
}

/// The unpacked directory of the (only) layer of image `name`.
fn only_layer_dir(hoist: &hoist_testenv::Hoist, name: &str) -> std::path::PathBuf {
    let dirs = common::lower_dirs(hoist, name);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

#[test]
fn system_check_finds_edited_layer_files_and_repair_unpacks_the_layer_again() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let diff = only_layer_dir(&hoist, &img);
    let original = std::fs::read(diff.join("etc/passwd")).unwrap();
    std::fs::write(diff.join("etc/passwd"), b"root::0:0:pwned:/:/bin/sh\n").unwrap();
    std::fs::write(diff.join("etc/planted"), b"x").unwrap();
    std::fs::remove_file(diff.join("etc/group")).unwrap();

    let out = hoist.run(&["system", "check"]).fails_with(125);
    for want in [
        "was modified after it was unpacked",
        "/etc/passwd changed (content)",
        "/etc/planted was added",
        "/etc/group was deleted",
        "--repair will unpack the layer again from blob sha256:",
    ] {
        assert!(out.stdout.contains(want), "{want:?} missing: {out:?}");
    }
    // Without --repair nothing changed.
    assert!(diff.join("etc/planted").exists());

    let out = hoist.run(&["system", "check", "--repair"]).ok();
    assert!(out.stdout.contains("(repaired)"), "{out:?}");
    assert_eq!(std::fs::read(diff.join("etc/passwd")).unwrap(), original);
    assert!(!diff.join("etc/planted").exists() && diff.join("etc/group").exists());
    // The next container sees the image as it was pulled.
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &img,
            "cat",
            "/etc/passwd",
        ])
        .ok();
    assert_eq!(out.stdout.as_bytes(), &original[..]);
    assert_store_clean(&hoist);
}

#[test]
fn system_check_reports_unused_blobs_and_layers_and_repair_removes_them() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "kept:1");
    ImageBuilder::multi_layer(2).push(&reg, "dropped:1");
    let kept = reg.reference("kept:1");
    let dropped = reg.reference("dropped:1");
    hoist.run(&["pull", &kept]).ok();
    hoist.run(&["pull", &dropped]).ok();
    let dropped_layer = common::lower_dirs(&hoist, &dropped)[0].clone();
    assert!(dropped_layer.exists());

    // What an `rmi` killed after updating the image records leaves behind.
    let records = hoist.root().join("images.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&records).unwrap()).unwrap();
    doc["images"]
        .as_array_mut()
        .unwrap()
        .retain(|i| !i["names"].to_string().contains("dropped"));
    std::fs::write(&records, serde_json::to_vec(&doc).unwrap()).unwrap();

    // Unused space is reported, but it is not damage: the check passes.
    let out = hoist.run(&["system", "check"]).ok();
    let unused: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("is not used by any image"))
        .collect();
    // The manifest, config and extra layer's blob, and the extra layer.
    assert_eq!(unused.len(), 4, "{out:?}");
    assert!(
        unused
            .iter()
            .all(|l| l.contains("B)") && l.contains("--repair will remove it, freeing")),
        "{out:?}"
    );
    assert!(out.stdout.contains("reclaimable with --repair"), "{out:?}");
    assert!(out.stdout.contains("0 problem(s), 0 left"), "{out:?}");
    assert!(
        dropped_layer.exists(),
        "check without --repair removed a layer"
    );

    let out = hoist.run(&["system", "check", "--repair"]).ok();
    assert_eq!(out.stdout.matches("(repaired)").count(), 4, "{out:?}");
    assert!(!dropped_layer.exists());
    assert_eq!(images(&hoist).len(), 1);
    hoist
        .run(&["run", "--rm", "--network", "none", &kept, "true"])
        .ok();
    assert_store_clean(&hoist);
}

/// #11 items 1 and 9: a GNU tar layer with a FIFO (its devmajor/devminor
/// fields all NUL) and an umoci 0.4.7 layer whose entries are `/`,
/// `/etc/`, `/etc/x` (and whose stream ends without the last padding)
/// were refused; podman pulls both.
#[test]
fn layers_written_by_gnu_tar_and_umoci_are_pulled() {
    // Root: FIFOs are unpacked only by a rootful hoist.
    hoist_testenv::require_root_and(&["umoci", "tar", "mkfifo"]);
    let hoist = hoist_testenv::Hoist::new(env!("CARGO_BIN_EXE_hoist"));
    let ok = |c: &mut std::process::Command| c.status().is_ok_and(|s| s.success());
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::create_dir_all(w.join("g/d")).unwrap();
    std::fs::write(w.join("g/d/f"), b"gnu\n").unwrap();
    assert!(ok(std::process::Command::new("mkfifo").arg(w.join("g/d/p"))));
    assert!(ok(std::process::Command::new("tar").current_dir(w).args([
        "--format=gnu",
        "-C",
        "g",
        "-cf",
        "g.tar",
        "d"
    ])));
    std::fs::create_dir_all(w.join("u/etc")).unwrap();
    std::fs::write(w.join("u/etc/x"), b"umoci\n").unwrap();
    for args in [
        &["init", "--layout", "lay"][..],
        &["new", "--image", "lay:t"],
        &["raw", "add-layer", "--image", "lay:t", "g.tar"],
        &["insert", "--image", "lay:t", "u", "/"],
    ] {
        let out = std::process::Command::new("umoci")
            .args(args)
            .current_dir(w)
            .output()
            .unwrap();
        assert!(out.status.success(), "umoci {args:?}: {out:?}");
    }
    let src = format!("oci:{}:t", w.join("lay").display());
    hoist.run(&["pull", &src]).ok();
    let id = images(&hoist)[0]["Id"].as_str().unwrap().to_string();
    let dirs = common::lower_dirs(&hoist, &id);
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    // Top layer first: umoci's, then GNU tar's.
    assert_eq!(std::fs::read(dirs[0].join("etc/x")).unwrap(), b"umoci\n");
    use std::os::unix::fs::FileTypeExt;
    let p = std::fs::symlink_metadata(dirs[1].join("d/p")).unwrap();
    assert!(p.file_type().is_fifo());
    assert_eq!(std::fs::read(dirs[1].join("d/f")).unwrap(), b"gnu\n");
    assert_store_clean(&hoist);
}

/// Bytes in use on the filesystem holding `path` (`stat -f`: blocks minus free blocks).
fn used_bytes(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("stat")
        .args(["-f", "-c", "%b %f %S"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let n: Vec<u64> = text
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    (n[0] - n[1]) * n[2]
}

/// The files below `dir` larger than 4 KiB, with their sizes (what a failed
/// write left behind).
fn files_over_4k(dir: &std::path::Path) -> String {
    let out = std::process::Command::new("find")
        .arg(dir)
        .args(["-type", "f", "-size", "+4k", "-printf", "%s %p\\n"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `out` failed because the disk was full and said what to do; the store
/// still holds one image, passes its check and holds (almost) nothing
/// more than `baseline` bytes.
fn assert_full_and_nothing_left(
    hoist: &hoist_testenv::Hoist,
    out: &hoist_testenv::hoist::Output,
    baseline: u64,
    what: &str,
) {
    let err = out.stderr.to_lowercase();
    assert!(err.contains("no space left on device"), "{what}: {out:?}");
    assert!(
        err.contains("free space on the filesystem of the path"),
        "{what}: {out:?}"
    );
    assert_eq!(images(hoist).len(), 1, "{what}");
    assert_store_clean(hoist);
    let left = used_bytes(&hoist.root()).saturating_sub(baseline);
    assert!(
        left < 64 << 10,
        "{what}: {left} bytes left behind:\n{}",
        files_over_4k(&hoist.root())
    );
}

/// `len` bytes that gzip cannot shrink (xorshift), so the blob itself is large.
fn incompressible(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A full disk, whether it strikes while a blob downloads or while a small
/// blob unpacks into a large layer, fails the pull with an error that names
/// the cause and the way out; it leaves no image, no half object and no
/// temporary file behind, and once there is room the same pull completes.
#[test]
fn a_full_disk_fails_a_pull_cleanly_and_the_pull_completes_once_there_is_room() {
    let (reg, hoist) = setup();
    // "blob" also has a small layer that fits: it is done (and would stay,
    // unused) by the time the big one fills the disk.
    let small = Layer::new().file("/small", incompressible(1 << 20), 0o644);
    ImageBuilder::single_layer()
        .layer(small, "small file")
        .layer(
            Layer::new().file("/big", incompressible(8 << 20), 0o644),
            "big file",
        )
        .push(&reg, "full:blob");
    ImageBuilder::single_layer()
        .layer(
            Layer::new().file("/big", vec![0u8; 24 << 20], 0o644),
            "big file",
        )
        .push(&reg, "full:unpack");
    // Room for the base image (a 1 MB blob, 2 MB unpacked) and not much
    // more: the big blob fills the disk while it downloads, the small one
    // that unpacks to 24 MB while it unpacks.
    ImageBuilder::single_layer().push(&reg, "base:1");
    // The store root is still empty: a small filesystem goes under it.
    let _small = common::mount_tmpfs(&hoist.root(), "7m");
    hoist.run(&["pull", "-q", &reg.reference("base:1")]).ok();
    let baseline = used_bytes(&hoist.root());

    for tag in ["blob", "unpack"] {
        let name = reg.reference(&format!("full:{tag}"));
        let out = hoist.run(&["pull", "-q", &name]).fails_with(125);
        assert_full_and_nothing_left(&hoist, &out, baseline, tag);
    }

    // The same image from an archive (`load` unpacks as a pull does).
    let roomy = common::hoist_for(&reg);
    let name = reg.reference("full:blob");
    roomy.run(&["pull", "-q", &name]).ok();
    let archive = roomy.base_dir().join("full.tar");
    roomy
        .run(&["save", "-o", archive.to_str().unwrap(), &name])
        .ok();
    let out = hoist
        .run(&["load", "-q", "-i", archive.to_str().unwrap()])
        .fails_with(125);
    assert_full_and_nothing_left(&hoist, &out, baseline, "load");

    let status = std::process::Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(hoist.root())
        .status()
        .unwrap();
    assert!(status.success());
    for tag in ["blob", "unpack"] {
        hoist
            .run(&["pull", "-q", &reg.reference(&format!("full:{tag}"))])
            .ok();
    }
    assert_eq!(images(&hoist).len(), 3);
    assert_store_clean(&hoist);
}

/// A build that fills the disk, from inside a RUN or while COPY writes its
/// layer, fails; what the failed step wrote is gone, no container is left
/// and the store is as it was.
#[test]
fn a_build_that_fills_the_disk_leaves_the_store_as_it_was() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "base:1");
    // The store root is still empty: a small filesystem goes under it.
    let _small = common::mount_tmpfs(&hoist.root(), "7m");
    let base = reg.reference("base:1");
    hoist.run(&["pull", "-q", &base]).ok();
    let baseline = used_bytes(&hoist.root());

    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("big"), incompressible(8 << 20)).unwrap();
    let steps = [
        (
            "run",
            "RUN dd if=/dev/zero of=/filler bs=1M count=16".to_string(),
        ),
        ("copy", "COPY big /big".to_string()),
    ];
    for (tag, step) in steps {
        let file = ctx.path().join("Containerfile");
        std::fs::write(&file, format!("FROM {base}\n{step}\n")).unwrap();
        let out = hoist
            .run(&["build", "-q", "-t", "full", ctx.path().to_str().unwrap()])
            .fails_with(if tag == "run" { 1 } else { 125 });
        let err = out.stderr.to_lowercase();
        assert!(err.contains("no space left on device"), "{tag}: {out:?}");
        // hoist's own write failed (not a program in the RUN): say what to do.
        if tag == "copy" {
            assert!(
                err.contains("free space on the filesystem of the path"),
                "{out:?}"
            );
        }
        assert_eq!(images(&hoist).len(), 1, "{tag}");
        let ps = hoist.run(&["ps", "-a", "-q"]).ok();
        assert!(ps.stdout.trim().is_empty(), "{tag}: {ps:?}");
        assert_store_clean(&hoist);
        let left = used_bytes(&hoist.root()).saturating_sub(baseline);
        assert!(
            left < 64 << 10,
            "{tag}: {left} bytes left behind:\n{}",
            files_over_4k(&hoist.root())
        );
    }
}

/// Writing an archive (`save`, `export`) onto a full filesystem fails with
/// the cause, and leaves no partial archive where the complete one was
/// asked for; the store is untouched, and `load` of an archive that a full
/// store cannot hold leaves no image and nothing of it behind.
#[test]
fn archives_on_a_full_disk_fail_without_leaving_partial_files() {
    let (reg, hoist, image) = common::setup_with_busybox();
    let _ = reg;
    let full = tempfile::tempdir().unwrap();
    let _full = common::mount_tmpfs(full.path(), "512k");
    hoist.run(&["create", "--name", "c", &image, "true"]).ok();

    let cases: [(&str, Vec<String>); 3] = [
        (
            "save",
            vec!["save".into(), "-o".into(), "{out}".into(), image.clone()],
        ),
        (
            "save-oci",
            vec![
                "save".into(),
                "--format".into(),
                "oci-archive".into(),
                "-o".into(),
                "{out}".into(),
                image.clone(),
            ],
        ),
        (
            "export",
            vec!["export".into(), "-o".into(), "{out}".into(), "c".into()],
        ),
    ];
    for (tag, args) in cases {
        let out_path = full.path().join(format!("{tag}.tar"));
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{out}", out_path.to_str().unwrap()))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = hoist.run(&args).fails_with(125);
        assert!(
            out.stderr
                .to_lowercase()
                .contains("no space left on device"),
            "{tag}: {out:?}"
        );
        assert!(
            files_over_4k(full.path()).is_empty() && !out_path.exists(),
            "{tag}: a partial archive was left:\n{}",
            files_over_4k(full.path())
        );
    }
    assert_store_clean(&hoist);
}

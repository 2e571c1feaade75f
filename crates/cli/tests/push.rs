//! `hoist push`, and what real peers (skopeo, podman) make of it.

mod common;

use common::{images, setup};
use hoist_testenv::{require_root_and, ImageBuilder};

#[test]
fn push_keeps_the_digest_skips_existing_blobs_and_mounts_across_repositories() {
    let (reg, hoist) = setup();
    let digest = ImageBuilder::multi_layer(3).push(&reg, "src/app:1");
    let src = reg.reference("src/app:1");
    hoist.run(&["pull", &src]).ok();

    // Same repository: every blob is already there.
    let again = hoist.run(&["push", &src]).ok();
    assert!(
        again.stderr.contains("skipped: already exists"),
        "{again:?}"
    );

    // Another repository of the same registry: blobs are mounted, not uploaded.
    let dst = reg.reference("dst/app:2");
    let digestfile = hoist.base_dir().join("digest");
    let out = hoist
        .run(&[
            "push",
            "--digestfile",
            digestfile.to_str().unwrap(),
            &src,
            &dst,
        ])
        .ok();
    assert!(out.stderr.contains("mounted"), "{out:?}");
    assert_eq!(std::fs::read_to_string(&digestfile).unwrap(), digest);
    assert_eq!(reg.inspect("dst/app:2")["Digest"], digest);
}

#[test]
fn pushed_images_are_pulled_by_skopeo_and_podman_with_the_same_digest() {
    let (reg, hoist) = setup();
    require_root_and(&["podman"]);
    let digest = ImageBuilder::multi_layer(2).push(&reg, "orig:1");
    hoist.run(&["pull", &reg.reference("orig:1")]).ok();
    // A second registry: every blob is uploaded by hoist.
    let other = hoist_testenv::Registry::start();
    let dest = other.reference("copy:1");
    let out = hoist
        .run(&[
            "push",
            "--tls-verify=false",
            &reg.reference("orig:1"),
            &dest,
        ])
        .ok();
    assert!(out.stderr.contains("done"), "blobs were uploaded: {out:?}");
    assert_eq!(
        other.inspect("copy:1")["Digest"],
        digest,
        "skopeo sees the same digest"
    );

    let podman_root = tempfile::tempdir().unwrap();
    let run = std::process::Command::new("podman")
        .args(["--root", podman_root.path().join("root").to_str().unwrap()])
        .args([
            "--runroot",
            podman_root.path().join("run").to_str().unwrap(),
        ])
        .args(["pull", "--tls-verify=false", &dest])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "podman pull failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let digests = std::process::Command::new("podman")
        .args(["--root", podman_root.path().join("root").to_str().unwrap()])
        .args([
            "--runroot",
            podman_root.path().join("run").to_str().unwrap(),
        ])
        .args(["images", "--format", "{{.Digest}}"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&digests.stdout).trim(), digest);
    let _ = std::process::Command::new("umount")
        .args(["-R", "-l", podman_root.path().to_str().unwrap()])
        .status();
    assert_eq!(images(&hoist).len(), 1);
}

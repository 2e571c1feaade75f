//! `hoist push`, and what real peers (skopeo, podman) make of it.

mod common;

use common::{images, setup};
use hoist_testenv::{require_root_and, Compression, ImageBuilder};

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
    // The overlay driver's bind mount of `root/overlay` on itself.
    hoist_testenv::hoist::unmount_below(podman_root.path());
    assert_eq!(images(&hoist).len(), 1);
}

#[test]
fn format_converts_the_manifest_between_oci_and_docker_schema_2() {
    let (reg, hoist) = setup();
    ImageBuilder::multi_layer(2).push(&reg, "fmt/oci:1");
    let src = reg.reference("fmt/oci:1");
    hoist.run(&["pull", &src]).ok();
    let oci = reg.inspect_raw("fmt/oci:1");

    hoist
        .run(&[
            "push",
            "--format",
            "v2s2",
            &src,
            &reg.reference("fmt/docker:1"),
        ])
        .ok();
    let docker = reg.inspect_raw("fmt/docker:1");
    assert_eq!(
        docker["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        docker["config"]["mediaType"],
        "application/vnd.docker.container.image.v1+json"
    );
    // Same blobs, in Docker's media types: nothing was recompressed.
    assert_eq!(docker["config"]["digest"], oci["config"]["digest"]);
    for (d, o) in docker["layers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(oci["layers"].as_array().unwrap())
    {
        assert_eq!(
            d["mediaType"],
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
        assert_eq!(d["digest"], o["digest"]);
    }

    // And back: the Docker image pushed as OCI has the original manifest's types.
    let docker_src = reg.reference("fmt/docker:1");
    hoist.run(&["pull", &docker_src]).ok();
    hoist
        .run(&[
            "push",
            "-f",
            "oci",
            &docker_src,
            &reg.reference("fmt/back:1"),
        ])
        .ok();
    let back = reg.inspect_raw("fmt/back:1");
    assert_eq!(back["mediaType"], oci["mediaType"]);
    assert_eq!(back["config"], oci["config"]);
    assert_eq!(back["layers"], oci["layers"]);
}

#[test]
fn format_v2s1_and_unknown_formats_are_refused_before_anything_is_pushed() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "fmt/src:1");
    let src = reg.reference("fmt/src:1");
    hoist.run(&["pull", &src]).ok();
    let dest = reg.reference("fmt/v1:1");
    let out = hoist
        .run(&["push", "--format", "v2s1", &src, &dest])
        .fails_with(125);
    assert!(out.stderr.contains("schema 1 is deprecated"), "{out:?}");
    let out = hoist
        .run(&["push", "--format", "v3", &src, &dest])
        .fails_with(125);
    assert_eq!(
        common::error_line(&out.stderr),
        "Error: unknown format \"v3\". Choose on of the supported formats: 'oci', 'v2s1', or 'v2s2'"
    );
    assert!(!reg.has_manifest("fmt/v1:1"));
}

#[test]
fn format_is_refused_for_a_local_destination_it_would_change() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "fmt/local:1");
    let src = reg.reference("fmt/local:1");
    hoist.run(&["pull", &src]).ok();
    let layout = hoist.base_dir().join("layout");
    let dest = format!("oci:{}", layout.display());
    let out = hoist
        .run(&["push", "--format", "v2s2", &src, &dest])
        .fails_with(125);
    assert!(
        out.stderr
            .contains("only when pushing to a registry or a dir: destination"),
        "{out:?}"
    );
    // The stored format asked for explicitly changes nothing: allowed.
    hoist.run(&["push", "--format", "oci", &src, &dest]).ok();
}

/// The first bytes of blob `digest` of `repo` in `reg`.
fn blob_magic(reg: &hoist_testenv::Registry, repo: &str, digest: &str) -> Vec<u8> {
    let (status, body) = reg.get(&format!("/v2/{repo}/blobs/{digest}"));
    assert_eq!(status, 200, "blob {digest} of {repo}");
    body[..4].to_vec()
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

#[test]
fn compression_format_zstd_recompresses_gzip_layers_and_back() {
    let (reg, hoist) = setup();
    ImageBuilder::multi_layer(2).push(&reg, "comp/src:1");
    let src = reg.reference("comp/src:1");
    hoist.run(&["pull", &src]).ok();
    let id = common::inspect(&hoist, &src)["Id"].clone();

    // Same registry, blobs there in gzip: they must not be reused as they are.
    hoist
        .run(&[
            "push",
            "--compression-format",
            "zstd",
            &src,
            &reg.reference("comp/zstd:1"),
        ])
        .ok();
    let m = reg.inspect_raw("comp/zstd:1");
    assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    for l in m["layers"].as_array().unwrap() {
        assert_eq!(
            l["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
        let digest = l["digest"].as_str().unwrap();
        assert_eq!(blob_magic(&reg, "comp/zstd", digest), ZSTD_MAGIC);
    }

    // Another hoist pulls it (checking each layer against the config's
    // diff IDs): the same image.
    let other = common::hoist_for(&reg);
    let zstd = reg.reference("comp/zstd:1");
    other.run(&["pull", &zstd]).ok();
    assert_eq!(common::inspect(&other, &zstd)["Id"], id);

    // And from zstd back to gzip.
    other
        .run(&[
            "push",
            "--compression-format",
            "gzip",
            &zstd,
            &reg.reference("comp/gz:1"),
        ])
        .ok();
    for l in reg.inspect_raw("comp/gz:1")["layers"].as_array().unwrap() {
        assert_eq!(
            l["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        let digest = l["digest"].as_str().unwrap();
        assert_eq!(blob_magic(&reg, "comp/gz", digest)[..2], GZIP_MAGIC);
    }
}

#[test]
fn zstd_in_a_docker_manifest_and_unknown_compressions_are_refused() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "comp/refuse:1");
    let src = reg.reference("comp/refuse:1");
    hoist.run(&["pull", &src]).ok();
    let dest = reg.reference("comp/refused:1");
    let out = hoist
        .run(&[
            "push",
            "--format",
            "v2s2",
            "--compression-format",
            "zstd",
            &src,
            &dest,
        ])
        .fails_with(125);
    assert!(
        out.stderr.contains("schema 2 has no media type for zstd"),
        "{out:?}"
    );
    let out = hoist
        .run(&["push", "--compression-format", "zstd:chunked", &src, &dest])
        .fails_with(125);
    assert!(out.stderr.contains("zstd:chunked"), "{out:?}");
    let out = hoist
        .run(&["push", "--compression-format", "lz4", &src, &dest])
        .fails_with(125);
    assert_eq!(
        common::error_line(&out.stderr),
        "Error: cannot find compressor for \"lz4\""
    );
    assert!(!reg.has_manifest("comp/refused:1"));
}

#[test]
fn compress_gzips_layers_stored_uncompressed_for_a_registry_and_a_dir() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer()
        .with_layer_compression(Compression::None)
        .push(&reg, "comp/plain:1");
    let src = reg.reference("comp/plain:1");
    hoist.run(&["pull", &src]).ok();

    // Without --compress the layer goes as stored.
    hoist
        .run(&["push", &src, &reg.reference("comp/asis:1")])
        .ok();
    assert_eq!(
        reg.inspect_raw("comp/asis:1")["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );

    hoist
        .run(&["push", "--compress", &src, &reg.reference("comp/gz:1")])
        .ok();
    let layer = &reg.inspect_raw("comp/gz:1")["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_eq!(
        blob_magic(&reg, "comp/gz", layer["digest"].as_str().unwrap())[..2],
        GZIP_MAGIC
    );

    // podman documents --compress for the dir: transport.
    let dir = hoist.base_dir().join("dir");
    hoist
        .run(&[
            "push",
            "--compress",
            &src,
            &format!("dir:{}", dir.display()),
        ])
        .ok();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let digest = layer["digest"].as_str().unwrap();
    let blob = std::fs::read(dir.join(digest.trim_start_matches("sha256:"))).unwrap();
    assert_eq!(blob[..2], GZIP_MAGIC);
    assert_eq!(blob.len() as u64, layer["size"].as_u64().unwrap());
}

#[test]
fn signing_flags_fail_before_pushing_and_remove_signatures_is_accepted() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "sig/src:1");
    let src = reg.reference("sig/src:1");
    hoist.run(&["pull", &src]).ok();
    let dest = reg.reference("sig/dst:1");
    // (image_sign.rs pushes signed images; here each flag fails first.)
    for (flag, why) in [
        ("--sign-by=nobody@example.com", "nobody@example.com"),
        (
            "--sign-by-sigstore-private-key=/nonexistent/key",
            "sigstore signing is not supported by hoist",
        ),
        (
            "--sign-passphrase-file=/nonexistent/pass",
            "/nonexistent/pass",
        ),
    ] {
        let out = hoist.run(&["push", flag, &src, &dest]).fails_with(125);
        assert!(
            common::error_line(&out.stderr).contains(why),
            "{flag}: {out:?}"
        );
    }
    assert!(!reg.has_manifest("sig/dst:1"));
    hoist
        .run(&["push", "--remove-signatures", &src, &dest])
        .ok();
    assert!(reg.has_manifest("sig/dst:1"));
}

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
    let Some((reg, hoist)) = setup() else { return };
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
    let Some((reg, hoist)) = setup() else { return };
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
    let Some((_reg, hoist)) = setup() else { return };
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
    let Some((reg, hoist)) = setup() else { return };
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
    let Some((reg, hoist)) = setup() else { return };
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
    let Some((reg, hoist)) = setup() else { return };
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

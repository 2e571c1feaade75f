//! `hoist pull` against a real registry, with images pushed by skopeo.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use common::{assert_store_clean, images, inspect, lower_dirs, setup};
use hoist_testenv::{Compression, ImageBuilder, ManifestFormat};

#[test]
fn pulls_a_single_layer_image_and_lists_it() {
    let (reg, hoist) = setup();
    let digest = ImageBuilder::single_layer().push(&reg, "busybox:1");
    let name = reg.reference("busybox:1");
    let out = hoist.run(&["pull", "-q", &name]).ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "pull -q prints the image ID: {out:?}");

    let rows = images(&hoist);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Id"], id);
    assert_eq!(rows[0]["Names"][0], name);
    assert_eq!(rows[0]["Digest"], digest);

    let table = hoist.run(&["images"]).ok().stdout;
    assert!(table.starts_with("REPOSITORY"), "{table}");
    assert!(table.contains(&id[..12]), "{table}");
    let tmpl = hoist
        .run(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .stdout;
    assert_eq!(tmpl.trim(), name);
    assert_eq!(hoist.run(&["images", "-q"]).ok().stdout.trim(), &id[..12]);

    hoist.run(&["image", "exists", &name]).ok();
    hoist
        .run(&["image", "exists", "nothing:here"])
        .fails_with(1);

    // The layer is unpacked and holds busybox.
    let lowers = lower_dirs(&hoist, &name);
    assert_eq!(lowers.len(), 1);
    assert!(lowers[0].join("bin/busybox").is_file());
    assert_eq!(
        std::fs::read_link(lowers[0].join("bin/sh"))
            .unwrap()
            .to_str(),
        Some("busybox")
    );
    assert_store_clean(&hoist);
}

#[test]
fn short_names_resolve_through_registries_conf() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "tools/box:2");
    hoist.run(&["pull", "tools/box:2"]).ok();
    assert_eq!(images(&hoist)[0]["Names"][0], reg.reference("tools/box:2"));
    // Local lookups accept the short name too.
    hoist.run(&["image", "exists", "tools/box:2"]).ok();
}

#[test]
fn pulls_multi_layer_images_with_whiteouts_in_every_compression() {
    let (reg, hoist) = setup();
    for (tag, c) in [
        ("gzip", Compression::Gzip),
        ("zstd", Compression::Zstd),
        ("none", Compression::None),
    ] {
        ImageBuilder::multi_layer(4)
            .with_layer_compression(c)
            .push(&reg, &format!("multi:{tag}"));
        let name = reg.reference(&format!("multi:{tag}"));
        hoist.run(&["pull", &name]).ok();
        let img = inspect(&hoist, &name);
        assert_eq!(
            img["RootFS"]["Layers"].as_array().unwrap().len(),
            4,
            "{tag}"
        );
        // Some layer carries an overlayfs whiteout: a 0:0 character device.
        let whiteouts: usize = lower_dirs(&hoist, &name)
            .iter()
            .map(|dir| count_whiteouts(dir))
            .sum();
        assert!(whiteouts >= 1, "{tag}: no whiteout was converted");
    }
    // The same content in three compressions shares unpacked layers by diff ID.
    let layer_dirs = std::fs::read_dir(hoist.root().join("layers"))
        .unwrap()
        .count();
    assert_eq!(layer_dirs, 4, "layers are unpacked once and shared");
    assert_store_clean(&hoist);
}

fn count_whiteouts(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for entry in walk(dir) {
        let meta = std::fs::symlink_metadata(&entry).unwrap();
        if meta.file_type().is_char_device() && meta.rdev() == 0 {
            n += 1;
        }
    }
    n
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn pulls_docker_schema2_and_selects_platforms_from_an_index() {
    let (reg, hoist) = setup();
    let v2 = ImageBuilder::single_layer()
        .with_manifest_format(ManifestFormat::DockerV2S2)
        .push(&reg, "docker:v2");
    let name = reg.reference("docker:v2");
    hoist.run(&["pull", &name]).ok();
    let img = inspect(&hoist, &name);
    assert_eq!(
        img["ManifestType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(img["Digest"], v2);

    ImageBuilder::multi_arch().push(&reg, "multi:arch");
    let multi = reg.reference("multi:arch");
    hoist
        .run(&["pull", "--platform", "linux/arm64", &multi])
        .ok();
    let arm = lower_dirs(&hoist, &multi);
    assert_eq!(
        std::fs::read_to_string(arm[0].join("arch")).unwrap().trim(),
        "arm64"
    );
    assert_eq!(inspect(&hoist, &multi)["Architecture"], "arm64");
    hoist.run(&["pull", &multi]).ok();
    assert_eq!(inspect(&hoist, &multi)["Architecture"], "amd64");
    let err = hoist
        .run(&["pull", "--platform", "linux/s390x", &multi])
        .fails_with(125);
    assert!(err.stderr.contains("linux/s390x"), "{err:?}");
}

#[test]
fn a_missing_image_fails_with_a_clear_error() {
    let (reg, hoist) = setup();
    let out = hoist
        .run(&["pull", &reg.reference("nope:1")])
        .fails_with(125);
    assert!(
        out.stderr.contains(&format!(
            "initializing source docker://{}",
            reg.reference("nope:1")
        )),
        "podman's wording: {out:?}"
    );
    assert!(images(&hoist).is_empty());
    // A short name tried on several registries lists each failure.
    let other = hoist_testenv::Registry::start();
    hoist.registries_conf(&format!(
        "unqualified-search-registries = [\"{}\", \"{}\"]\n{}{}",
        reg.addr(),
        other.addr(),
        reg.registries_conf_entry(),
        other.registries_conf_entry()
    ));
    let out = hoist.run(&["pull", "nope:1"]).fails_with(125);
    assert!(
        out.stderr.contains("2 errors occurred while pulling:"),
        "{out:?}"
    );
    for r in [&reg, &other] {
        let line = format!(" * initializing source docker://{}", r.reference("nope:1"));
        assert!(out.stderr.contains(&line), "{line}: {out:?}");
    }
}

/// PUTs a manifest into the plain test registry with curl; returns its digest.
fn put_manifest(
    reg: &hoist_testenv::Registry,
    repo_ref: &str,
    media_type: &str,
    body: &str,
) -> String {
    let (repo, reference) = repo_ref.split_once(':').unwrap();
    let out = std::process::Command::new("curl")
        .args(["-sS", "-f", "-D", "-", "-o", "/dev/null", "-X", "PUT"])
        .args(["-H", &format!("Content-Type: {media_type}")])
        .args(["--data-binary", body])
        .arg(format!("{}/v2/{repo}/manifests/{reference}", reg.url()))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "PUT {repo_ref}: {headers} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    headers
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("docker-content-digest")
                .then(|| v.trim().to_string())
        })
        .expect("the registry names the digest")
}

/// #11 item 13: an index whose linux/amd64 entry is itself an index used to
/// fail with "no manifest matches linux/amd64; available: linux/amd64"; an
/// unknown layer media type was reported as an unsupported manifest type.
#[test]
fn nested_indexes_are_followed_and_unknown_layer_types_are_named() {
    let (reg, hoist) = setup();
    let image_digest = ImageBuilder::single_layer().push(&reg, "nested:img");
    let (status, raw) = reg.get("/v2/nested/manifests/img");
    assert_eq!(status, 200);
    let image: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let image_type = image["mediaType"].as_str().unwrap().to_string();
    let index_type = "application/vnd.oci.image.index.v1+json";
    let amd64 = serde_json::json!({"os": "linux", "architecture": "amd64"});
    let index = |media_type: &str, digest: &str, size: usize| {
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": index_type,
            "manifests": [{"mediaType": media_type, "digest": digest, "size": size, "platform": amd64}],
        })
        .to_string()
    };
    // Sizes are those of the stored bytes, not of a re-serialisation.
    let inner = index(&image_type, &image_digest, raw.len());
    let inner_digest = put_manifest(&reg, "nested:inner", index_type, &inner);
    let outer = index(index_type, &inner_digest, inner.len());
    put_manifest(&reg, "nested:1", index_type, &outer);
    let name = reg.reference("nested:1");
    hoist
        .run(&["pull", "-q", "--platform", "linux/amd64", &name])
        .ok();
    let got = inspect(&hoist, &name);
    assert_eq!(got["Architecture"], "amd64");
    assert!(
        got["RepoDigests"].to_string().contains(&image_digest),
        "the image manifest two indexes down was pulled: {got}"
    );
    assert_store_clean(&hoist);

    // The same image with a layer type no engine unpacks.
    let mut odd: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    odd["layers"][0]["mediaType"] = "application/vnd.example.data.v1".into();
    put_manifest(&reg, "nested:odd", &image_type, &odd.to_string());
    let out = hoist.run(&["pull", "-q", &reg.reference("nested:odd")]);
    assert!(!out.success(), "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "layer 1 of {} has media type \"application/vnd.example.data.v1\", which hoist cannot unpack",
            reg.reference("nested:odd")
        )),
        "{out:?}"
    );
    assert!(!out.stderr.contains("manifest media type"), "{out:?}");
}

#[test]
fn all_tags_pulls_every_tag_of_the_repository_and_ignores_the_tag_given() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "many/tags:1");
    ImageBuilder::multi_layer(2).push(&reg, "many/tags:2");
    ImageBuilder::single_layer().push(&reg, "other/repo:1");
    // podman 4.3 pulls the whole repository whatever tag the name carries.
    let out = hoist
        .run(&["pull", "-q", "--all-tags", &reg.reference("many/tags:1")])
        .ok();
    assert_eq!(out.stdout.lines().count(), 2, "one ID per tag: {out:?}");
    let mut names: Vec<String> = images(&hoist)
        .iter()
        .flat_map(|row| row["Names"].as_array().cloned().unwrap_or_default())
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [reg.reference("many/tags:1"), reg.reference("many/tags:2")]
    );
    // A short name resolves through registries.conf, as a plain pull's does.
    hoist.run(&["pull", "-a", "other/repo"]).ok();
    hoist
        .run(&["image", "exists", &reg.reference("other/repo:1")])
        .ok();
}

/// An insecure registry's endpoint (HTTPS, else plain HTTP) is found by the
/// pull's first request, sent both ways at once, not by a `/v2/` ping before
/// it: one round trip less on every command's first request.
#[test]
fn an_insecure_registrys_endpoint_is_found_by_the_first_request() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "busybox:1");
    hoist.run(&["pull", "-q", &reg.reference("busybox:1")]).ok();
    let requests = reg.requests_from("hoist/");
    assert_eq!(
        requests.first().map(String::as_str),
        Some("GET /v2/busybox/manifests/1 200"),
        "{requests:#?}"
    );
    assert!(
        !requests.iter().any(|r| r.starts_with("GET /v2/ ")),
        "no ping: {requests:#?}"
    );
}

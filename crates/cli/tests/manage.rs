//! Local image management: tag, untag, rmi, prune, inspect.

mod common;

use common::{assert_store_clean, images, inspect, setup};
use hoist_testenv::ImageBuilder;

#[test]
fn tag_untag_and_rmi_behave_like_podman() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "box:1");
    let name = reg.reference("box:1");
    hoist.run(&["pull", &name]).ok();

    hoist
        .run(&["tag", &name, "mybox", "example.com/team/box:2"])
        .ok();
    let names = images(&hoist)[0]["Names"].clone();
    assert_eq!(names.as_array().unwrap().len(), 3, "{names}");
    assert!(
        names.to_string().contains("localhost/mybox:latest"),
        "short names go under localhost/"
    );

    // rmi of one name of several only untags it.
    let out = hoist.run(&["rmi", "mybox"]).ok();
    assert!(
        out.stdout.contains("Untagged: localhost/mybox:latest"),
        "{out:?}"
    );
    assert_eq!(images(&hoist).len(), 1);

    // rmi by ID of an image with several names needs --force.
    let id = images(&hoist)[0]["Id"].as_str().unwrap().to_string();
    hoist.run(&["rmi", &id[..12]]).fails_with(2);
    hoist.run(&["untag", &name, "example.com/team/box:2"]).ok();
    assert_eq!(
        inspect(&hoist, &id)["RepoTags"].as_array().unwrap().len(),
        1
    );

    let out = hoist.run(&["rmi", &name]).ok();
    assert!(out.stdout.contains(&format!("Deleted: {id}")), "{out:?}");
    assert!(images(&hoist).is_empty());
    // Deleting the last image removes its blobs and layers.
    assert_eq!(
        std::fs::read_dir(hoist.root().join("layers"))
            .unwrap()
            .count(),
        0
    );
    hoist.run(&["rmi", &name]).fails_with(1);
    hoist.run(&["rmi", "--ignore", &name]).ok();
    assert_store_clean(&hoist);
}

#[test]
fn prune_removes_dangling_images_and_inspect_reports_podman_fields() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer()
        .label("role", "test")
        .push(&reg, "keep:1");
    ImageBuilder::multi_layer(2).push(&reg, "drop:1");
    hoist.run(&["pull", &reg.reference("keep:1")]).ok();
    hoist.run(&["pull", &reg.reference("drop:1")]).ok();
    let doc = inspect(&hoist, &reg.reference("keep:1"));
    for field in [
        "Id",
        "Digest",
        "RepoTags",
        "RepoDigests",
        "Created",
        "Config",
        "Architecture",
        "Os",
        "Size",
        "RootFS",
    ] {
        assert!(!doc[field].is_null(), "inspect lacks {field}: {doc}");
    }
    assert_eq!(doc["Labels"]["role"], "test");
    let fmt = hoist
        .run(&[
            "image",
            "inspect",
            "--format",
            "{{.Os}}/{{.Architecture}}",
            &reg.reference("keep:1"),
        ])
        .ok();
    assert_eq!(fmt.stdout.trim(), "linux/amd64");

    hoist.run(&["untag", &reg.reference("drop:1")]).ok();
    let pruned = hoist.run(&["image", "prune", "-f"]).ok();
    assert_eq!(pruned.stdout.lines().count(), 1, "{pruned:?}");
    assert_eq!(images(&hoist).len(), 1);
    hoist.run(&["image", "prune", "-a", "-f"]).ok();
    assert!(images(&hoist).is_empty());
    assert_store_clean(&hoist);
}

#[test]
fn format_takes_go_templates_and_an_unknown_field_exits_125() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "fmt:1");
    let name = reg.reference("fmt:1");
    hoist.run(&["pull", &name]).ok();

    let out = hoist
        .run(&["images", "--format", "{{.Repository | upper}}|{{printf \"%-4s\" .Tag}}|{{len .Names}}{{if .Dangling}} dangling{{end}}"])
        .ok();
    let repo = name.rsplit_once(':').unwrap().0.to_uppercase();
    assert_eq!(out.stdout.trim_end(), format!("{repo}|1   |1"), "{out:?}");

    let out = hoist
        .run(&["images", "--format", "table {{.Tag}}\t{{.Repository}}"])
        .ok();
    assert!(out.stdout.starts_with("TAG"), "{out:?}");

    let out = hoist
        .run(&["images", "--format", "{{range .}}[{{.Tag}}]{{end}}"])
        .ok();
    assert_eq!(out.stdout.trim_end(), "[1]", "{out:?}");

    let out = hoist
        .run(&["images", "--format", "{{.NoSuchField}}"])
        .fails_with(125);
    assert!(out.stderr.contains("NoSuchField"), "{out:?}");
    hoist.run(&["images", "--format", "{{.Tag"]).fails_with(125);
}

#[test]
fn rmi_all_untags_tags_but_not_digest_references() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer().push(&reg, "box:1");
    let name = reg.reference("box:1");
    hoist.run(&["pull", &name]).ok();
    let id = images(&hoist)[0]["Id"].as_str().unwrap().to_string();
    let digest = hoist.run(&["inspect", "--format", "{{.Digest}}", &id]).ok();
    let by_digest = format!("{}@{}", reg.reference("box"), digest.stdout.trim());
    // Pulling the same image by digest names it by that digest as well.
    hoist.run(&["pull", &by_digest]).ok();
    assert_eq!(images(&hoist).len(), 1);

    // A digest reference is not a tag: podman's rmi lists only tags.
    let out = hoist.run(&["rmi", "-af"]).ok();
    assert_eq!(
        out.stdout.trim(),
        format!("Untagged: {name}\nDeleted: {id}"),
        "{out:?}"
    );
    assert_store_clean(&hoist);
}

/// `image prune` asks unless --force, and --filter narrows what goes:
/// label=, label!= and until= (all must match).
#[test]
fn image_prune_asks_and_filters_by_label_and_age() {
    let (reg, hoist) = setup();
    let mut ids = std::collections::BTreeMap::new();
    for (tag, tier) in [
        ("low", Some("low")),
        ("high", Some("high")),
        ("plain", None),
    ] {
        let mut b = ImageBuilder::single_layer();
        if let Some(t) = tier {
            b = b.label("tier", t);
        }
        let name = reg.reference(&format!("{tag}:1"));
        b.push(&reg, &format!("{tag}:1"));
        let id = hoist
            .run(&["pull", "-q", &name])
            .ok()
            .stdout
            .trim()
            .to_string();
        hoist.run(&["untag", &name]).ok();
        ids.insert(tag, id);
    }
    // A dangling image made now (the pushed ones say 2024).
    let base = reg.reference("base:1");
    ImageBuilder::single_layer()
        .env("ROLE=base")
        .push(&reg, "base:1");
    hoist.run(&["create", "--name", "c", &base, "true"]).ok();
    let fresh = hoist
        .run(&["commit", "-q", "c"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let dangling = |h: &hoist_testenv::Hoist| {
        let out = h
            .run(&["images", "-q", "--no-trunc", "--filter", "dangling=true"])
            .ok();
        out.stdout.lines().count()
    };
    assert_eq!(dangling(&hoist), 4);

    let out = hoist.run_stdin(&["image", "prune"], b"n\n").ok();
    assert!(
        out.stdout.contains("removes all dangling images"),
        "{out:?}"
    );
    assert_eq!(dangling(&hoist), 4);

    let out = hoist
        .run(&["image", "prune", "-f", "--filter", "label=tier=low"])
        .ok();
    assert_eq!(out.stdout.trim(), ids["low"].trim_start_matches("sha256:"));
    let out = hoist
        .run(&[
            "image",
            "prune",
            "-f",
            "--filter",
            "label!=tier=high",
            "--filter",
            "until=1h",
        ])
        .ok();
    assert_eq!(
        out.stdout.trim(),
        ids["plain"].trim_start_matches("sha256:")
    );
    let bad = hoist
        .run(&["image", "prune", "-f", "--filter", "bogus=1"])
        .fails_with(125);
    assert!(bad.stderr.contains("invalid image prune filter"), "{bad:?}");

    let out = hoist.run_stdin(&["image", "prune"], b"y\n").ok();
    let removed: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(removed.len(), 2, "{out:?}");
    assert!(
        out.stdout.contains(fresh.trim_start_matches("sha256:")),
        "{out:?}"
    );
    assert_eq!(dangling(&hoist), 0);
}

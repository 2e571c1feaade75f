//! Round trips and hostile input for docker archives.

use std::fs;
use std::io::Read;
use std::path::Path;

use hoist_image::media::Compression;
use hoist_image::Digest;

use super::*;
use crate::tarwrite::TarWriter;
use crate::testutil::{config_json, gzip, tree, two_layers};

fn read_layer(a: &DockerArchive, image: usize, layer: usize) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    a.open_layer(image, layer)
        .unwrap()
        .read_to_end(&mut v)
        .map(|_| v)
}

fn member(a: &DockerArchive, name: &str) -> String {
    let mut s = String::new();
    a.open_member(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn round_trip_with_shared_layers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.tar");
    let tars = two_layers();
    let ids: Vec<Digest> = tars.iter().map(|t| Digest::sha256_of(t)).collect();
    let config_a = config_json(&ids);
    let config_b = config_json(&ids[..1]);
    let tags_a = vec![
        "localhost/a:1".to_string(),
        "docker.io/library/busybox:latest".to_string(),
    ];

    let mut w = DockerArchiveWriter::new(&file).unwrap();
    let layers = tars
        .iter()
        .zip(&ids)
        .map(|(t, d)| (d.clone(), &t[..], t.len() as u64));
    let id_a = w.add_image(&config_a, &tags_a, layers).unwrap();
    assert!(!file.exists(), "archive visible before finish");
    // The shared layer's reader must not be read: give one that would fail.
    let failing = [(ids[0].clone(), &b"not read"[..], 999u64)];
    let id_b = w.add_image(&config_b, &[], failing).unwrap();
    w.finish().unwrap();
    assert_eq!(tree(dir.path()), ["out.tar"]);

    let a = DockerArchive::open(&file).unwrap();
    let imgs = a.images();
    assert_eq!(imgs.len(), 2);
    assert_eq!(imgs[0].config, config_a);
    assert_eq!(imgs[0].config_digest, id_a);
    assert_eq!(imgs[1].config_digest, id_b);
    assert_eq!(imgs[0].repo_tags, tags_a);
    assert!(imgs[1].repo_tags.is_empty());
    assert_eq!(imgs[1].layers[0].path, imgs[0].layers[0].path);
    for (i, l) in imgs[0].layers.iter().enumerate() {
        assert_eq!(l.diff_id, ids[i]);
        assert_eq!(l.compression, Compression::None);
        assert_eq!(l.size, tars[i].len() as u64);
        assert_eq!(l.path, format!("{}/layer.tar", ids[i].hex()));
        assert_eq!(read_layer(&a, 0, i).unwrap(), tars[i]);
    }
    assert_eq!(read_layer(&a, 1, 0).unwrap(), tars[0]);

    // Legacy files as docker/podman write them.
    assert_eq!(member(&a, &format!("{}/VERSION", ids[1].hex())), "1.0");
    let legacy: serde_json::Value =
        serde_json::from_str(&member(&a, &format!("{}/json", ids[1].hex()))).unwrap();
    assert_eq!(legacy["parent"], ids[0].hex());
    let repos: serde_json::Value = serde_json::from_str(&member(&a, REPOSITORIES_FILE)).unwrap();
    assert_eq!(repos["localhost/a"]["1"], ids[1].hex());
    assert_eq!(repos["docker.io/library/busybox"]["latest"], ids[1].hex());

    assert!(matches!(
        a.select(None),
        Err(ArchiveError::Ambiguous { count: 2, .. })
    ));
    assert_eq!(a.select(Some("busybox")).unwrap(), 0);
    assert_eq!(a.select(Some("localhost/a:1")).unwrap(), 0);
    assert_eq!(a.select(Some("@1")).unwrap(), 1);
    for bad in ["@2", "@x", "busybox:2"] {
        let e = a.select(Some(bad)).unwrap_err();
        assert!(e.to_string().contains("@0 (localhost/a:1"), "{e}");
    }
    assert!(a.open_layer(0, 2).is_err());
    assert!(a.open_layer(2, 0).is_err());
}

/// Builds an archive by hand: `files` are (name, content); `links` (name, target).
fn handmade(path: &Path, files: &[(&str, &[u8])], links: &[(&str, &str)]) {
    let mut w = TarWriter::new(Vec::new());
    for (name, data) in files {
        w.add_bytes(name, data).unwrap();
    }
    for (name, target) in links {
        w.add_symlink(name, target).unwrap();
    }
    fs::write(path, w.finish().unwrap()).unwrap();
}

fn manifest(config: &str, layers: &[&str]) -> Vec<u8> {
    serde_json::to_vec(
        &serde_json::json!([{"Config": config, "RepoTags": ["x:y"], "Layers": layers}]),
    )
    .unwrap()
}

#[test]
fn reads_podman_layout_with_symlinks_and_gzip_layers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("podman.tar");
    let tars = two_layers();
    let ids: Vec<Digest> = tars.iter().map(|t| Digest::sha256_of(t)).collect();
    let config = config_json(&ids);
    let cfg_name = format!("{}.json", Digest::sha256_of(&config).hex());
    let l0 = format!("{}.tar", ids[0].hex());
    let l1 = format!("{}.tar", ids[1].hex());
    let gz = gzip(&tars[0]);
    handmade(
        &file,
        &[
            (&l0, &gz),
            (&l1, &tars[1]),
            (&cfg_name, &config),
            (
                "manifest.json",
                &manifest(&cfg_name, &[&l0, "legacy1/layer.tar"]),
            ),
        ],
        &[("legacy1/layer.tar", &format!("../{l1}"))],
    );
    let a = DockerArchive::open(&file).unwrap();
    let img = &a.images()[0];
    assert_eq!(img.layers[0].compression, Compression::Gzip);
    assert_eq!(img.layers[0].size, gz.len() as u64);
    assert_eq!(img.layers[1].compression, Compression::None);
    assert_eq!(read_layer(&a, 0, 0).unwrap(), tars[0]);
    assert_eq!(read_layer(&a, 0, 1).unwrap(), tars[1]);
    assert_eq!(a.select(None).unwrap(), 0);
    assert_eq!(a.select(Some("docker.io/library/x:y")).unwrap(), 0);
}

#[test]
fn detects_digest_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let tars = two_layers();
    let ids: Vec<Digest> = tars.iter().map(|t| Digest::sha256_of(t)).collect();
    let config = config_json(&ids[..1]);

    // Config whose name promises another digest.
    let file = dir.path().join("badcfg.tar");
    let liar = format!("{}.json", Digest::sha256_of(b"other").hex());
    handmade(
        &file,
        &[
            ("l.tar", &tars[0]),
            (&liar, &config),
            ("manifest.json", &manifest(&liar, &["l.tar"])),
        ],
        &[],
    );
    let e = DockerArchive::open(&file).unwrap_err();
    assert!(matches!(e, ArchiveError::DigestMismatch { .. }), "{e}");

    // Layer content not matching the config's diff_id: caught at end of stream.
    let file = dir.path().join("badlayer.tar");
    handmade(
        &file,
        &[
            ("l.tar", &tars[1]),
            ("c.json", &config),
            ("manifest.json", &manifest("c.json", &["l.tar"])),
        ],
        &[],
    );
    let a = DockerArchive::open(&file).unwrap();
    let e = read_layer(&a, 0, 0).unwrap_err();
    assert!(
        e.to_string().contains("digest mismatch for layer l.tar"),
        "{e}"
    );
    // Same for a gzip layer.
    let file = dir.path().join("badgz.tar");
    let gz = gzip(&tars[1]);
    handmade(
        &file,
        &[
            ("l.tar", &gz),
            ("c.json", &config),
            ("manifest.json", &manifest("c.json", &["l.tar"])),
        ],
        &[],
    );
    assert!(read_layer(&DockerArchive::open(&file).unwrap(), 0, 0).is_err());
}

#[test]
fn refuses_hostile_and_broken_archives() {
    let dir = tempfile::tempdir().unwrap();
    let tars = two_layers();
    let config = config_json(&[Digest::sha256_of(&tars[0])]);
    let check = |name: &str, files: &[(&str, &[u8])], links: &[(&str, &str)], needle: &str| {
        let file = dir.path().join(name);
        handmade(&file, files, links);
        let e = DockerArchive::open(&file).unwrap_err().to_string();
        assert!(e.contains(needle), "{name}: {e}");
        assert!(
            e.contains(name),
            "{name}: error does not name the archive: {e}"
        );
    };
    check(
        "traversal.tar",
        &[
            ("c.json", &config),
            ("manifest.json", &manifest("c.json", &["../../etc/passwd"])),
        ],
        &[],
        "unsafe path \"../../etc/passwd\"",
    );
    check(
        "symlink-out.tar",
        &[
            ("c.json", &config),
            ("manifest.json", &manifest("c.json", &["l/layer.tar"])),
        ],
        &[("l/layer.tar", "../../../etc/passwd")],
        "pointing outside the archive",
    );
    check(
        "abs-symlink.tar",
        &[
            ("c.json", &config),
            ("manifest.json", &manifest("c.json", &["l/layer.tar"])),
        ],
        &[("l/layer.tar", "/etc/passwd")],
        "absolute target",
    );
    check(
        "missing-layer.tar",
        &[
            ("c.json", &config),
            ("manifest.json", &manifest("c.json", &["gone.tar"])),
        ],
        &[],
        "member \"gone.tar\" is missing",
    );
    check(
        "no-manifest.tar",
        &[("c.json", &config)],
        &[],
        "no manifest.json",
    );
    check(
        "bad-json.tar",
        &[("manifest.json", b"[{\"Config\":")],
        &[],
        "malformed manifest.json",
    );
    check(
        "empty.tar",
        &[("manifest.json", b"[]")],
        &[],
        "holds no images",
    );
    check(
        "count.tar",
        &[
            ("l.tar", &tars[0]),
            ("c.json", &config),
            ("manifest.json", &manifest("c.json", &["l.tar", "l.tar"])),
        ],
        &[],
        "lists 1 diff_ids but manifest.json lists 2 layers",
    );
    check(
        "bad-config.tar",
        &[
            ("l.tar", &tars[0]),
            ("c.json", b"{}"),
            ("manifest.json", &manifest("c.json", &["l.tar"])),
        ],
        &[],
        "malformed image config",
    );
    let not_tar = dir.path().join("not-tar.tar");
    fs::write(&not_tar, b"hello world, not a tar".repeat(50)).unwrap();
    assert!(DockerArchive::open(&not_tar).is_err());
}

#[test]
fn writer_failures_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.tar");
    let tars = two_layers();
    let ids: Vec<Digest> = tars.iter().map(|t| Digest::sha256_of(t)).collect();
    let config = config_json(&ids);
    let ok_layers = || {
        tars.iter()
            .zip(&ids)
            .map(|(t, d)| (d.clone(), &t[..], t.len() as u64))
            .collect::<Vec<_>>()
    };

    type Case<'a> = (&'a str, Vec<(Digest, &'a [u8], u64)>, Vec<String>);
    let cases: Vec<Case> = vec![
        (
            "is sha256:",
            ok_layers().into_iter().rev().collect(),
            vec![],
        ),
        (
            "declared",
            vec![
                (ids[0].clone(), &tars[0][..], tars[0].len() as u64 + 10),
                ok_layers()[1].clone(),
            ],
            vec![],
        ),
        (
            "digest mismatch",
            vec![(
                ids[0].clone(),
                &tars[1][..tars[0].len().min(tars[1].len())],
                tars[0].len().min(tars[1].len()) as u64,
            )],
            vec![],
        ),
        ("1 layers given", ok_layers()[..1].to_vec(), vec![]),
        ("repo tag", ok_layers(), vec!["Not A Tag".into()]),
    ];
    for (needle, layers, tags) in cases {
        let mut w = DockerArchiveWriter::new(&file).unwrap();
        let e = w.add_image(&config, &tags, layers).unwrap_err();
        assert!(e.to_string().contains(needle), "{needle}: {e}");
        let again = w.add_image(&config, &[], ok_layers()).unwrap_err();
        assert!(again.to_string().contains("earlier error"), "{again}");
        assert!(w.finish().is_err());
        assert!(
            tree(dir.path()).is_empty(),
            "{needle}: left {:?}",
            tree(dir.path())
        );
    }
    let w = DockerArchiveWriter::new(&file).unwrap();
    assert!(matches!(w.finish(), Err(ArchiveError::Empty { .. })));
    assert!(!file.exists());
}

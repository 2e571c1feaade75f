//! Interoperability with the real tools (skopeo, umoci, podman): what we
//! write they must read, and what they write we must read. A test whose tool
//! is not installed fails, naming the package to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use hoist_image::manifest::Manifest;
use hoist_image::Digest;
use serde_json::Value;

use crate::testutil::{config_json, sample_layout, two_layers};
use crate::{docker_image_to_layout, DockerArchive, DockerArchiveWriter, OciArchive, OciLayout};

fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The path of tool `$name`; panics naming its package when it is missing
/// (a test that cannot run fails, it is never skipped).
macro_rules! require {
    ($name:expr) => {{
        hoist_testenv::require(&[$name]);
        tool($name).expect("hoist_testenv::require found it")
    }};
}

fn run(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {:?} failed: {}\n{}",
        program.display(),
        args,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn skopeo_inspect(skopeo: &Path, name: &str) -> Value {
    serde_json::from_str(&run(skopeo, &["inspect", name])).unwrap()
}

fn layers_of(v: &Value) -> Vec<String> {
    v["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// Converting between Docker and OCI manifests, skopeo and podman re-encode
/// the config from their own structs (changing key order, hence the digest),
/// so conversions are compared by meaning.
fn same_json(a: &[u8], b: &[u8]) -> bool {
    serde_json::from_slice::<Value>(a).unwrap() == serde_json::from_slice::<Value>(b).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Podman with a private, throw-away store.
fn podman(podman: &Path, root: &Path, args: &[&str]) -> String {
    let (r, rr, t) = (root.join("root"), root.join("run"), root.join("tmp"));
    let mut all = vec![
        "--root",
        s(&r),
        "--runroot",
        s(&rr),
        "--tmpdir",
        s(&t),
        "--storage-driver",
        "vfs",
        "--events-backend",
        "file",
        "--log-level",
        "error",
    ];
    all.extend_from_slice(args);
    run(podman, &all)
}

/// A docker archive of one image with our two test layers.
fn write_docker_archive(file: &Path, tag: &str) -> (Vec<Digest>, Digest) {
    let tars = two_layers();
    let ids: Vec<Digest> = tars.iter().map(|t| Digest::sha256_of(t)).collect();
    let mut w = DockerArchiveWriter::new(file).unwrap();
    let layers = tars
        .iter()
        .zip(&ids)
        .map(|(t, d)| (d.clone(), &t[..], t.len() as u64));
    let id = w
        .add_image(&config_json(&ids), &[tag.to_string()], layers)
        .unwrap();
    w.finish().unwrap();
    (ids, id)
}

#[test]
fn skopeo_and_umoci_read_our_oci_layout_and_archive() {
    let skopeo = require!("skopeo");
    let dir = tempfile::tempdir().unwrap();
    let layout_dir = dir.path().join("layout");
    let sample = sample_layout(&layout_dir, Some("v1"));
    let want_layers: Vec<String> = sample
        .layer_descs
        .iter()
        .map(|d| d.digest.to_string())
        .collect();

    let v = skopeo_inspect(&skopeo, &format!("oci:{}:v1", s(&layout_dir)));
    assert_eq!(v["Digest"], sample.manifest.digest.to_string());
    assert_eq!(layers_of(&v), want_layers);
    assert_eq!(v["Architecture"], "amd64");

    let archive = dir.path().join("image.tar");
    OciArchive::write(&layout_dir, &archive).unwrap();
    for name in [
        format!("oci-archive:{}", s(&archive)),
        format!("oci-archive:{}:v1", s(&archive)),
    ] {
        let v = skopeo_inspect(&skopeo, &name);
        assert_eq!(v["Digest"], sample.manifest.digest.to_string(), "{name}");
        assert_eq!(layers_of(&v), want_layers, "{name}");
    }

    let umoci = require!("umoci");
    let tags = run(&umoci, &["ls", "--layout", s(&layout_dir)]);
    assert_eq!(tags.trim(), "v1");
    let stat = run(
        &umoci,
        &[
            "stat",
            "--json",
            "--image",
            &format!("{}:v1", s(&layout_dir)),
        ],
    );
    let stat: Value = serde_json::from_str(&stat).unwrap();
    assert_eq!(stat["history"].as_array().unwrap().len(), 2, "{stat}");
}

#[test]
fn skopeo_reads_our_docker_archive() {
    let skopeo = require!("skopeo");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker.tar");
    let (ids, image_id) = write_docker_archive(&file, "localhost/hoist-test:v1");
    let want: Vec<String> = ids.iter().map(Digest::to_string).collect();

    let v = skopeo_inspect(&skopeo, &format!("docker-archive:{}", s(&file)));
    assert_eq!(layers_of(&v), want);
    assert_eq!(v["Architecture"], "amd64");
    let cfg = run(
        &skopeo,
        &[
            "inspect",
            "--raw",
            "--config",
            &format!("docker-archive:{}", s(&file)),
        ],
    );
    assert_eq!(Digest::sha256_of(cfg.as_bytes()), image_id);

    // And through skopeo into an OCI layout that we read back.
    let out = dir.path().join("oci");
    run(
        &skopeo,
        &[
            "copy",
            "--quiet",
            &format!("docker-archive:{}", s(&file)),
            &format!("oci:{}:t", s(&out)),
        ],
    );
    let l = OciLayout::open(&out).unwrap();
    let desc = l.resolve(Some("t")).unwrap();
    let (_, Manifest::Image(m)) = l.read_manifest(&desc).unwrap() else {
        panic!("not an image")
    };
    assert!(same_json(
        &l.read_blob(&m.config.digest).unwrap(),
        cfg.as_bytes()
    ));
    assert_eq!(m.layers.len(), 2);
}

#[test]
fn we_read_what_skopeo_writes() {
    let skopeo = require!("skopeo");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let sample = sample_layout(&src, Some("v1"));
    let tars = &sample.tars;

    let docker = dir.path().join("docker.tar");
    run(
        &skopeo,
        &[
            "copy",
            "--quiet",
            &format!("oci:{}:v1", s(&src)),
            &format!("docker-archive:{}:example.com/name:tag", s(&docker)),
        ],
    );
    let a = DockerArchive::open(&docker).unwrap();
    assert_eq!(a.images().len(), 1);
    let i = a.select(Some("example.com/name:tag")).unwrap();
    let img = &a.images()[i];
    assert!(same_json(&img.config, &sample.config));
    for (n, layer) in img.layers.iter().enumerate() {
        assert_eq!(layer.diff_id, Digest::sha256_of(&tars[n]));
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut a.open_layer(i, n).unwrap(), &mut data).unwrap();
        assert_eq!(data, tars[n], "layer {n} content");
    }

    // Convert it into a layout of ours; skopeo must accept the result.
    let conv = dir.path().join("converted");
    let layout = OciLayout::create_or_open(&conv).unwrap();
    let desc = docker_image_to_layout(&a, i, &layout, Some("conv")).unwrap();
    let v = skopeo_inspect(&skopeo, &format!("oci:{}:conv", s(&conv)));
    assert_eq!(v["Digest"], desc.digest.to_string());
    let diff_ids: Vec<String> = img.layers.iter().map(|l| l.diff_id.to_string()).collect();
    assert_eq!(layers_of(&v), diff_ids);

    let oci_archive = dir.path().join("oci.tar");
    run(
        &skopeo,
        &[
            "copy",
            "--quiet",
            &format!("oci:{}:v1", s(&src)),
            &format!("oci-archive:{}:v1", s(&oci_archive)),
        ],
    );
    let into = tempfile::tempdir().unwrap();
    let l = OciArchive::extract(&oci_archive, into.path()).unwrap();
    // skopeo compresses the uncompressed layer on the way, so the manifest differs.
    let (_, Manifest::Image(m)) = l.read_manifest(&l.resolve(None).unwrap()).unwrap() else {
        panic!("not an image")
    };
    assert!(same_json(
        &l.read_blob(&m.config.digest).unwrap(),
        &sample.config
    ));
    assert_eq!(m.layers.len(), 2);
}

#[test]
fn podman_loads_ours_and_we_read_podman_saves() {
    let podman_bin = require!("podman");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let ours = dir.path().join("ours.tar");
    let (ids, image_id) = write_docker_archive(&ours, "localhost/hoist-test:v1");
    let loaded = podman(&podman_bin, &root, &["load", "-q", "-i", s(&ours)]);
    assert!(loaded.contains("localhost/hoist-test:v1"), "{loaded}");
    let id = podman(
        &podman_bin,
        &root,
        &[
            "image",
            "inspect",
            "--format",
            "{{.Id}}",
            "localhost/hoist-test:v1",
        ],
    );
    assert_eq!(id.trim(), image_id.hex());

    // podman's own docker-archive and oci-archive output.
    let saved = dir.path().join("saved.tar");
    podman(
        &podman_bin,
        &root,
        &[
            "save",
            "-q",
            "--format",
            "docker-archive",
            "-o",
            s(&saved),
            "localhost/hoist-test:v1",
        ],
    );
    let a = DockerArchive::open(&saved).unwrap();
    let i = a.select(Some("localhost/hoist-test:v1")).unwrap();
    assert!(same_json(&a.images()[i].config, &config_json(&ids)));
    let got: Vec<Digest> = a.images()[i]
        .layers
        .iter()
        .map(|l| l.diff_id.clone())
        .collect();
    assert_eq!(got, ids);
    for n in 0..ids.len() {
        std::io::copy(&mut a.open_layer(i, n).unwrap(), &mut std::io::sink()).unwrap();
    }

    let saved_oci = dir.path().join("saved-oci.tar");
    podman(
        &podman_bin,
        &root,
        &[
            "save",
            "-q",
            "--format",
            "oci-archive",
            "-o",
            s(&saved_oci),
            "localhost/hoist-test:v1",
        ],
    );
    let into = tempfile::tempdir().unwrap();
    let l = OciArchive::extract(&saved_oci, into.path()).unwrap();
    let (_, Manifest::Image(m)) = l.read_manifest(&l.resolve(None).unwrap()).unwrap() else {
        panic!("not an image")
    };
    assert!(same_json(
        &l.read_blob(&m.config.digest).unwrap(),
        &config_json(&ids)
    ));

    // And our oci-archive loads into podman too.
    let layout_dir = dir.path().join("layout");
    let sample = sample_layout(&layout_dir, Some("v2"));
    let our_oci = dir.path().join("ours-oci.tar");
    OciArchive::write(&layout_dir, &our_oci).unwrap();
    podman(&podman_bin, &root, &["load", "-q", "-i", s(&our_oci)]);
    let cfg_id = Digest::sha256_of(&sample.config);
    let ids = podman(&podman_bin, &root, &["images", "-q", "--no-trunc"]);
    assert!(ids.contains(&cfg_id.to_string()), "{ids}");
}

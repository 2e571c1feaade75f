//! End-to-end checks of the harness itself: a real registry, images pushed with the real
//! skopeo, and verification through `skopeo inspect`.

use std::time::Duration;

use hoist_testenv::hoist::unmount_below;
use hoist_testenv::image::{media, multi_layer_files};
use hoist_testenv::{
    require, require_root_and, run_with_timeout, wait_for_tcp, Compression, ImageBuilder,
    ManifestFormat, Registry, HARNESS_TOOLS,
};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Root and every tool the harness runs (panics naming what is missing).
fn ready() {
    require_root_and(HARNESS_TOOLS);
}

fn layer_types(raw: &Value) -> Vec<String> {
    raw["layers"]
        .as_array()
        .expect("manifest has layers")
        .iter()
        .map(|l| l["mediaType"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn plain_registry_serves_single_layer_image() {
    ready();
    let reg = Registry::start();
    assert!(reg.addr().starts_with("127.0.0.1:"));
    assert!(!reg.is_tls() && reg.cert_dir().is_none() && reg.credentials().is_none());
    let (code, _) = reg.get("/v2/");
    assert_eq!(code, 200);

    let digest = ImageBuilder::single_layer().push(&reg, "busybox:1");
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );

    let info = reg.inspect("busybox:1");
    assert_eq!(info["Digest"], Value::from(digest.clone()));
    assert_eq!(info["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(info["Architecture"], "amd64");
    assert_eq!(info["Os"], "linux");

    let raw = reg.inspect_raw("busybox:1");
    assert_eq!(raw["mediaType"], media::OCI_MANIFEST);
    assert_eq!(layer_types(&raw), [media::OCI_LAYER_GZIP]);

    let config = reg.inspect_config("busybox:1");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["sh"]));
    assert!(config["config"]["Env"][0]
        .as_str()
        .unwrap()
        .starts_with("PATH="));

    // The same builder is deterministic, so a second push yields the same digest.
    assert_eq!(
        ImageBuilder::single_layer().push(&reg, "busybox:again"),
        digest
    );
    let (code, body) = reg.get("/v2/_catalog");
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&body).contains("\"busybox\""));
    assert!(reg.has_manifest("busybox:1"));
    assert!(!reg.has_manifest("busybox:nope"));
}

#[test]
fn multi_layer_images_keep_layer_count_and_compression() {
    ready();
    let reg = Registry::start();
    for (c, ty) in [
        (Compression::Gzip, media::OCI_LAYER_GZIP),
        (Compression::Zstd, media::OCI_LAYER_ZSTD),
        (Compression::None, media::OCI_LAYER),
    ] {
        let reference = format!("multi:{}", ty.rsplit('.').next().unwrap().replace('+', "-"));
        let b = ImageBuilder::multi_layer(5).with_layer_compression(c);
        assert_eq!(b.layer_count(), 5);
        b.push(&reg, &reference);
        let raw = reg.inspect_raw(&reference);
        assert_eq!(raw["mediaType"], media::OCI_MANIFEST, "{reference}");
        assert_eq!(layer_types(&raw), vec![ty; 5], "{reference}");
        let config = reg.inspect_config(&reference);
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 5);
        assert_eq!(config["history"].as_array().unwrap().len(), 5);
    }
}

#[test]
fn docker_schema2_variant_uses_docker_media_types() {
    ready();
    let reg = Registry::start();
    let digest = ImageBuilder::multi_layer(3)
        .with_manifest_format(ManifestFormat::DockerV2S2)
        .push(&reg, "busybox:v2s2");
    let raw = reg.inspect_raw("busybox:v2s2");
    assert_eq!(raw["mediaType"], media::DOCKER_MANIFEST);
    assert_eq!(raw["config"]["mediaType"], media::DOCKER_CONFIG);
    assert_eq!(layer_types(&raw), vec![media::DOCKER_LAYER_GZIP; 3]);
    assert_eq!(reg.inspect("busybox:v2s2")["Digest"], Value::from(digest));

    // An index converts to a Docker manifest list of schema 2 manifests.
    let list = ImageBuilder::multi_arch()
        .with_manifest_format(ManifestFormat::DockerV2S2)
        .push(&reg, "busybox:v2s2-list");
    let raw = reg.inspect_raw("busybox:v2s2-list");
    assert_eq!(raw["mediaType"], media::DOCKER_MANIFEST_LIST);
    let manifests = raw["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    for m in manifests {
        assert_eq!(m["mediaType"], media::DOCKER_MANIFEST);
    }
    assert!(reg.has_manifest(&format!("busybox@{list}")));
}

#[test]
fn multi_arch_index_has_both_platforms() {
    ready();
    let reg = Registry::start();
    let digest = ImageBuilder::multi_arch().push(&reg, "busybox:multi");
    let raw = reg.inspect_raw("busybox:multi");
    assert_eq!(raw["mediaType"], media::OCI_INDEX);
    let manifests = raw["manifests"].as_array().unwrap();
    let archs: Vec<&str> = manifests
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);
    assert_eq!(manifests[1]["platform"]["variant"], "v8");

    // Both instances were pushed (--all) and are fetchable by digest.
    for (m, arch) in manifests.iter().zip(["amd64", "arm64"]) {
        let by_digest = format!("busybox@{}", m["digest"].as_str().unwrap());
        let config = reg.inspect_config(&by_digest);
        assert_eq!(config["architecture"], arch);
    }
    assert_eq!(
        reg.inspect("busybox:multi")["Architecture"],
        "amd64",
        "skopeo resolves the index to the host platform"
    );
    // The digest file of an --all copy names the index itself, and with
    // --preserve-digests the registry holds exactly the locally built index.
    let (code, body) = reg.get("/v2/busybox/manifests/multi");
    assert_eq!(code, 200);
    assert_eq!(
        digest,
        format!("sha256:{}", hex::encode(Sha256::digest(&body)))
    );
    let tmp = tempfile::tempdir().unwrap();
    let built = ImageBuilder::multi_arch().build_oci_layout(tmp.path(), "x");
    assert_eq!(built.digest, digest);
    assert!(reg.has_manifest(&format!("busybox@{digest}")));
}

#[test]
fn tls_auth_registry_rejects_anonymous_and_accepts_credentials() {
    ready();
    let reg = Registry::start_tls_auth("alice", "s3cret pass");
    assert!(reg.is_tls());
    assert_eq!(reg.credentials(), Some(("alice", "s3cret pass")));
    let ca = reg.ca_cert_path().unwrap();
    let host_ca = reg.cert_dir().unwrap().join(reg.addr()).join("ca.crt");
    assert_eq!(std::fs::read(ca).unwrap(), std::fs::read(&host_ca).unwrap());
    assert!(reg.url().starts_with("https://"));

    let dest = format!("docker://{}", reg.reference("busybox:1"));
    let cert_arg = format!("--dest-cert-dir={}", reg.host_cert_dir().unwrap().display());
    let b = ImageBuilder::single_layer();

    let anonymous = b.try_copy_to(&dest, &[&cert_arg]);
    let err = anonymous.expect_err("anonymous push must be refused");
    assert!(
        err.contains("authentication required") || err.contains("unauthorized"),
        "{err}"
    );
    let wrong = b.try_copy_to(&dest, &[&cert_arg, "--dest-creds=alice:wrong"]);
    assert!(wrong.is_err(), "a wrong password must be refused");
    // Without the CA the certificate is not trusted.
    let untrusted = b.try_copy_to(&dest, &["--dest-creds=alice:s3cret pass"]);
    let err = untrusted.expect_err("push without the test CA must fail TLS verification");
    assert!(err.contains("certificate"), "{err}");

    let digest = b.push(&reg, "busybox:1");
    let info = reg.inspect("busybox:1");
    assert_eq!(info["Digest"], Value::from(digest));
    assert_eq!(reg.get("/v2/").0, 200);

    // Anonymous GET /v2/ gets a Basic challenge.
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "-w",
            "%{http_code}",
            "--cacert",
        ])
        .arg(ca)
        .arg(format!("{}/v2/", reg.url()))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(headers.ends_with("401"), "{headers}");
    assert!(headers.contains("www-authenticate: basic"), "{headers}");
}

#[test]
fn registry_drop_stops_process_and_removes_storage() {
    ready();
    let reg = Registry::start();
    let addr = reg.addr().to_string();
    let storage = reg.storage_dir();
    assert!(storage.is_dir());
    drop(reg);
    assert!(!storage.exists());
    assert!(!wait_for_tcp(&addr, Duration::from_millis(300)));
}

#[test]
fn copy_to_docker_archive_writes_a_loadable_tarball() {
    ready();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img.tar");
    ImageBuilder::multi_layer(2)
        .copy_to(&format!("docker-archive:{}:busybox:1", path.display()), &[]);
    let mut names = Vec::new();
    let mut a = tar::Archive::new(std::fs::File::open(&path).unwrap());
    for e in a.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().to_string_lossy().into_owned());
    }
    assert!(names.iter().any(|n| n == "manifest.json"), "{names:?}");
}

/// podman is the reference engine: if it runs the pushed images and sees the whiteout
/// and opaque-directory effects, the images are valid test input for hoist.
#[test]
fn podman_runs_pushed_multi_layer_image() {
    ready();
    require(&["podman"]);
    let reg = Registry::start();
    ImageBuilder::multi_layer(5)
        .with_layer_compression(Compression::Zstd)
        .push(&reg, "busybox:layers");
    let store = tempfile::tempdir().unwrap();
    let root = store.path().join("root");
    let runroot = store.path().join("run");
    let script = format!(
        "set -e; cat {hello} {keep} {new} {extra} /arch; \
         test ! -e {removed}; test ! -e {hidden}; id -un; echo applets-ok",
        hello = multi_layer_files::HELLO,
        keep = multi_layer_files::KEEP,
        new = multi_layer_files::OPAQUE_NEW,
        extra = multi_layer_files::extra(5),
        removed = multi_layer_files::REMOVED,
        hidden = multi_layer_files::HIDDEN_BY_OPAQUE,
    );
    let mut cmd = std::process::Command::new("podman");
    cmd.arg("--root")
        .arg(&root)
        .arg("--runroot")
        .arg(&runroot)
        .args(["run", "--rm", "--network=none", "--tls-verify=false"])
        .args(["--user", "hoist"])
        .arg(reg.reference("busybox:layers"))
        .args(["sh", "-c", &script]);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(180));
    // podman's storage leaves mounts behind; detach them before the temp dir goes.
    let _ = std::process::Command::new("podman")
        .arg("--root")
        .arg(&root)
        .arg("--runroot")
        .arg(&runroot)
        .args(["system", "reset", "--force"])
        .output();
    unmount_below(store.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "podman run failed ({})\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "hello\nkeep\nnew\nlayer 5\namd64\nhoist\napplets-ok\n"
    );
}

#[test]
fn hoist_registries_conf_for_lists_registries() {
    ready();
    let plain = Registry::start();
    let secure = Registry::start_tls_auth("u", "p");
    // Any executable works as the "binary" here; only the written file is checked.
    let h = hoist_testenv::Hoist::new("/bin/true");
    h.registries_conf_for(&[&plain, &secure]);
    let text = std::fs::read_to_string(h.registries_conf_path()).unwrap();
    let expected = format!(
        "unqualified-search-registries = [\"{p}\", \"{s}\"]\n\n\
         [[registry]]\nlocation = \"{p}\"\ninsecure = true\n\n\
         [[registry]]\nlocation = \"{s}\"\ninsecure = false\n",
        p = plain.addr(),
        s = secure.addr()
    );
    assert_eq!(text, expected);
    assert!(h.run(&["anything"]).success());
    assert!(plain.log_path().is_file());
}

//! The `hoist-testenv` binary as scripts use it: a detached registry, an image with a
//! layer copied from a host directory, and stopping the registry again.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hoist_testenv::image::media;
use hoist_testenv::util::CommandOutput;
use hoist_testenv::{free_port, require_root_and, run_with_timeout, wait_for_tcp};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hoist-testenv");
const TIMEOUT: Duration = Duration::from_secs(180);

fn testenv(args: &[&str]) -> CommandOutput {
    run_with_timeout(Command::new(BIN).args(args), TIMEOUT)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Stops the registry even when an assertion fails half-way.
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .arg("registry-stop")
            .arg("--dir")
            .arg(&self.0)
            .status();
    }
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(layout.join("blobs/sha256").join(&digest["sha256:".len()..])).unwrap()
}

#[test]
fn registry_push_image_from_dir_and_stop() {
    require_root_and(&["docker-registry", "skopeo", "curl", "busybox"]);
    let tmp = tempfile::tempdir().unwrap();
    let reg_dir = tmp.path().join("reg");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");

    let out = testenv(&[
        "registry",
        "--port",
        &port.to_string(),
        "--dir",
        reg_dir.to_str().unwrap(),
    ]);
    let _guard = StopOnDrop(reg_dir.clone());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pid: u32 = text(&out.stdout).trim().parse().expect("stdout is the pid");
    assert_eq!(
        std::fs::read_to_string(reg_dir.join("registry.pid"))
            .unwrap()
            .trim(),
        pid.to_string()
    );
    // The registry outlived the command that started it.
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert!(wait_for_tcp(&addr, Duration::from_secs(1)));

    // A second registry from the same dir is refused with a hint.
    let again = testenv(&[
        "registry",
        "--port",
        &free_port().to_string(),
        "--dir",
        reg_dir.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("still running"),
        "{}",
        text(&again.stderr)
    );

    // A host tree with a file, a sub-directory, a symlink and a socket (skipped).
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/data.txt"), "payload\n").unwrap();
    std::os::unix::fs::symlink("sub/data.txt", tree.join("link")).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(tree.join("sock")).unwrap();

    let out = testenv(&[
        "push-image",
        "--registry",
        &addr,
        "it/img:1",
        "--layers",
        "2",
        "--compression",
        "zstd",
        "--from-dir",
        tree.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let digest = text(&out.stdout).trim().to_string();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );

    // Read it back independently with skopeo into an OCI layout.
    let layout = tmp.path().join("layout");
    let copy = run_with_timeout(
        Command::new("skopeo")
            .args(["copy", "--src-tls-verify=false", "--preserve-digests"])
            .arg(format!("docker://{addr}/it/img:1"))
            .arg(format!("oci:{}:x", layout.display())),
        TIMEOUT,
    );
    assert!(copy.status.success(), "{}", text(&copy.stderr));
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], Value::from(digest.clone()));
    let manifest: Value = serde_json::from_slice(&blob(&layout, &digest)).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3, "2 test layers + 1 copied dir");
    for l in layers {
        assert_eq!(l["mediaType"], media::OCI_LAYER_ZSTD);
    }
    let top =
        zstd::decode_all(blob(&layout, layers[2]["digest"].as_str().unwrap()).as_slice()).unwrap();
    let prefix = tree
        .canonicalize()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_start_matches('/')
        .to_string();
    let mut seen = Vec::new();
    let mut a = tar::Archive::new(top.as_slice());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = text(&e.path_bytes());
        let Some(rel) = name.strip_prefix(&format!("{prefix}/")) else {
            assert!(
                prefix.starts_with(&name),
                "{name} is neither a parent nor inside the copied tree"
            );
            continue;
        };
        let mut data = String::new();
        e.read_to_string(&mut data).unwrap();
        let link = e.link_name_bytes().map(|l| text(&l));
        seen.push((rel.to_string(), data, link));
    }
    assert_eq!(
        seen,
        [
            (
                "link".to_string(),
                String::new(),
                Some("sub/data.txt".into())
            ),
            ("sub".to_string(), String::new(), None),
            ("sub/data.txt".to_string(), "payload\n".to_string(), None),
        ]
    );

    // Bad arguments are refused before anything is built.
    let bad = testenv(&[
        "push-image",
        "--registry",
        &addr,
        "x:1",
        "--compression",
        "xz",
    ]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("xz"), "{}", text(&bad.stderr));
    let zero = testenv(&["push-image", "--registry", &addr, "x:1", "--layers", "0"]);
    assert!(!zero.status.success());

    // Stop: the process and the pid file are gone, the port is closed, storage stays.
    let stop = testenv(&["registry-stop", "--dir", reg_dir.to_str().unwrap()]);
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(
        text(&stop.stderr).contains(&format!("pid {pid}")),
        "{}",
        text(&stop.stderr)
    );
    assert!(!reg_dir.join("registry.pid").exists());
    assert!(!wait_for_tcp(&addr, Duration::from_millis(300)));
    assert!(reg_dir.join("storage/docker").is_dir());
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z"),
        "registry still alive: {stat}"
    );
    // Stopping again is a harmless no-op.
    let again = testenv(&["registry-stop", "--dir", reg_dir.to_str().unwrap()]);
    assert!(again.status.success());
    assert!(text(&again.stderr).contains("no registry"));
}

#[test]
fn free_port_prints_a_bindable_port() {
    let out = testenv(&["free-port"]);
    assert!(out.status.success());
    let port: u16 = text(&out.stdout).trim().parse().unwrap();
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}

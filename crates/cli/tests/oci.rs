//! `hoist oci` as an OCI runtime: what hooks see and how their failures
//! are treated. Needs root, runc (for `runc spec`) and busybox-static.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use hoist_testenv::{require_root_and, Hoist};

/// A bundle from `runc spec` on a busybox root filesystem, running
/// `args`, with `edit` applied to its config.
fn bundle(dir: &Path, args: &[&str], edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let b = dir.join("bundle");
    let bin = b.join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    for applet in ["sh", "sleep", "cat"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    let st = std::process::Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(&b)
        .status()
        .unwrap();
    assert!(st.success());
    let path = b.join("config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["process"]["terminal"] = false.into();
    v["process"]["args"] = serde_json::json!(args);
    edit(&mut v);
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    b
}

fn sh_hook(script: &str) -> serde_json::Value {
    serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap()
}

#[test]
fn hooks_see_the_state_and_post_hook_failures_are_only_logged() {
    require_root_and(&["runc", "busybox"]);
    let hoist = Hoist::new(env!("CARGO_BIN_EXE_hoist"));
    let dir = hoist.base_dir().join("oci");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let o = out.display();
    let b = bundle(&dir, &["sleep", "100"], |v| {
        v["annotations"] = serde_json::json!({"org.example": "yes"});
        v["hooks"] = serde_json::json!({
            "poststart": [sh_hook(&format!("cat > {o}/poststart.json")), sh_hook("exit 3")],
            "poststop": [sh_hook("exit 4"), sh_hook(&format!("cat > {o}/poststop.json"))],
        });
    });
    let root = dir.join("root");
    let root_s = root.to_str().unwrap();
    let id = format!("hooks{}", std::process::id());
    // The container keeps the caller's stdio: files, not the pipes `run`
    // would wait on.
    let log = std::fs::File::create(dir.join("create.log")).unwrap();
    let st = hoist
        .command(&["oci", "--root", root_s, "create", "--bundle"])
        .arg(&b)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "{}",
        std::fs::read_to_string(dir.join("create.log")).unwrap()
    );

    let started = hoist.run(&["oci", "--root", root_s, "start", &id]);
    assert!(
        started.success(),
        "a failing poststart hook failed start: {started:?}"
    );
    assert!(
        started.stderr.contains("poststart hook failed"),
        "{started:?}"
    );
    let state: serde_json::Value = serde_json::from_str(
        &hoist
            .run(&["oci", "--root", root_s, "state", &id])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(state["status"], "running", "{state}");
    let seen = read_json(&out.join("poststart.json"));
    for field in ["id", "bundle", "annotations", "pid", "status"] {
        assert_eq!(
            seen[field], state[field],
            "{field}: hook saw {seen}, state is {state}"
        );
    }
    assert_eq!(state["bundle"], b.canonicalize().unwrap().to_str().unwrap());
    assert_eq!(
        state["annotations"],
        serde_json::json!({"org.example": "yes"})
    );

    hoist
        .run(&["oci", "--root", root_s, "kill", &id, "KILL"])
        .ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let st = hoist.run(&["oci", "--root", root_s, "state", &id]).ok();
        if st.stdout.contains("\"stopped\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running: {st:?}"
        );
    }
    let deleted = hoist.run(&["oci", "--root", root_s, "delete", &id]);
    assert!(
        deleted.success(),
        "a failing poststop hook failed delete: {deleted:?}"
    );
    assert!(
        deleted.stderr.contains("poststop hook failed"),
        "{deleted:?}"
    );
    let seen = read_json(&out.join("poststop.json"));
    assert_eq!(seen["bundle"], state["bundle"]);
    assert_eq!(seen["annotations"], state["annotations"]);
    assert_eq!(seen["status"], "stopped");
    hoist
        .run(&["oci", "--root", root_s, "state", &id])
        .fails_with(125);
    assert!(!root.join(&id).exists(), "state left behind");
    assert!(
        !root.join("@bundles").join(&id).exists(),
        "bundle copy left behind"
    );
}

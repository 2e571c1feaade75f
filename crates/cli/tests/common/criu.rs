//! What the checkpoint tests share: the CRIU they need and a counter whose
//! output shows whether a restored process went on or started over.

use std::time::Duration;

use hoist_testenv::Hoist;

/// Panics, saying how to get it, unless CRIU 4.x is in PATH.
pub fn require_criu() {
    let ok = std::process::Command::new("criu")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("Version: 4"));
    assert!(
        ok,
        "CRIU 4.x is not in PATH: run scripts/install-criu.sh (builds it from Debian trixie's criu source package)"
    );
}

/// The numbers container `name` printed, in order.
pub fn counted(hoist: &Hoist, name: &str) -> Vec<u64> {
    hoist
        .run(&["logs", name])
        .ok()
        .stdout
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Waits until container `name` printed `at_least` numbers.
pub fn wait_counted(hoist: &Hoist, name: &str, at_least: usize) {
    hoist_testenv::wait_until(
        Duration::from_secs(30),
        &format!("{name} to print {at_least} numbers"),
        || counted(hoist, name).len() >= at_least,
    );
}

/// Where scripts/install-criu.sh keeps the trixie root with checkpointctl.
pub const TRIXIE_ROOT: &str = "/var/cache/hoist/trixie-root";

/// Runs checkpointctl (in the trixie root) with `args` on `archive`,
/// copied in; its standard output.
pub fn checkpointctl(args: &[&str], archive: &std::path::Path) -> String {
    let root = std::path::Path::new(TRIXIE_ROOT);
    assert!(
        root.join("usr/bin/checkpointctl").exists(),
        "{TRIXIE_ROOT} has no checkpointctl: run scripts/install-criu.sh (needs debootstrap)"
    );
    // One copy per call: tests running at once must not share one.
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let inside = format!("/tmp/hoist-test-{}-{call}.tar", std::process::id());
    std::fs::copy(archive, root.join(inside.trim_start_matches('/'))).unwrap();
    let out = std::process::Command::new("chroot")
        .arg(root)
        .arg("checkpointctl")
        .args(args)
        .arg(&inside)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(root.join(inside.trim_start_matches('/')));
    assert!(
        out.status.success(),
        "checkpointctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs podman (its usual store) with `args`; its standard output,
/// trimmed. A podman failure fails the test, with podman's error.
pub fn podman(args: &[&str]) -> String {
    super::podman::Podman::system().out(args)
}

/// Gives podman `image` from hoist's store (`save`, then `podman load`),
/// so that both engines run the same image under the same name.
pub fn share_image_with_podman(hoist: &Hoist, image: &str) {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("image.tar");
    hoist
        .run(&["save", "-o", saved.to_str().unwrap(), image])
        .ok();
    let loaded = podman(&["load", "-q", "-i", saved.to_str().unwrap()]);
    assert!(loaded.contains("Loaded image"), "{loaded}");
}

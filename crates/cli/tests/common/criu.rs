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

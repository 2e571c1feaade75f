//! Prerequisites of tests that need root, an installed tool or a device.
//!
//! hoist's tests never skip themselves. A test whose prerequisite is missing
//! did not check anything, so it must not be reported as passed: these
//! helpers panic, naming what is missing and the Debian package that provides
//! it. `scripts/test.sh` (as root) installs everything first, so there every
//! test runs; on a machine without root or the tools those tests fail loudly
//! instead of passing silently.

use std::path::Path;

use crate::util::{is_root, which};

/// How to get everything at once, appended to every message.
const INSTALL_HINT: &str = "hoist's tests never skip: run them as root after \
     `bash scripts/install-deps.sh`, or run `bash scripts/test.sh`, which does both";

/// The Debian bookworm package that installs `tool`, for messages.
pub fn package_for(tool: &str) -> &'static str {
    match tool.rsplit('/').next().unwrap_or(tool) {
        "docker-registry" => "docker-registry",
        "skopeo" => "skopeo",
        "podman" => "podman",
        "runc" => "runc",
        "crun" => "crun",
        "umoci" => "umoci",
        "busybox" => "busybox-static",
        "openssl" => "openssl",
        "htpasswd" => "apache2-utils",
        "curl" => "curl",
        "jq" => "jq",
        "bsdtar" => "libarchive-tools",
        "tar" => "tar",
        "setcap" | "getcap" => "libcap2-bin",
        "umount" | "mount" => "mount",
        "fusermount3" => "fuse3",
        "netavark" => "netavark",
        "aardvark-dns" => "aardvark-dns",
        "ip" => "iproute2",
        "iptables" => "iptables",
        "go" => "golang-go",
        "git" => "git",
        "systemd-analyze" => "systemd",
        "gcc" | "cc" => "gcc",
        "mknod" | "mkfifo" | "cp" | "sha256sum" | "stat" => "coreutils",
        "setpriv" | "unshare" => "util-linux",
        _ => "(see scripts/install-deps.sh)",
    }
}

/// Panics unless the test runs as root (effective uid 0).
#[track_caller]
pub fn require_root() {
    if !is_root() {
        panic!(
            "test prerequisite missing: root privileges (mounts, namespaces, device \
             nodes or chown); {INSTALL_HINT}"
        );
    }
}

/// Panics unless every tool in `tools` is an executable in `PATH` (or, for
/// a name with a slash, at that path).
#[track_caller]
pub fn require(tools: &[&str]) {
    let missing: Vec<String> = tools
        .iter()
        .filter(|t| which(t).is_none())
        .map(|t| format!("`{t}` (Debian package `{}`)", package_for(t)))
        .collect();
    if !missing.is_empty() {
        panic!(
            "test prerequisite missing: {} not found in PATH; {INSTALL_HINT}",
            missing.join(", ")
        );
    }
}

/// Panics unless `path` exists; `provided_by` says what provides it (a
/// package, a kernel module).
#[track_caller]
pub fn require_file(path: impl AsRef<Path>, provided_by: &str) {
    let path = path.as_ref();
    if !path.exists() {
        panic!(
            "test prerequisite missing: {} does not exist (provided by {provided_by}); \
             {INSTALL_HINT}",
            path.display()
        );
    }
}

/// [`require_root`] and [`require`] in one call.
#[track_caller]
pub fn require_root_and(tools: &[&str]) {
    require_root();
    require(tools);
}

/// Kept for callers written as `if !require_root_and_tools(..) { return; }`:
/// it panics like [`require_root_and`] when something is missing and
/// otherwise returns true, so such an early return can no longer happen.
/// New tests call [`require_root_and`].
#[track_caller]
pub fn require_root_and_tools(tools: &[&str]) -> bool {
    require_root_and(tools);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("should have panicked");
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    }

    #[test]
    fn present_tools_pass() {
        require(&["sh", "/bin/sh"]);
        require_file("/", "the root file system");
    }

    #[test]
    fn a_missing_tool_panics_naming_it_and_its_package() {
        let msg = panic_message(|| require(&["sh", "bsdtar-hoist-missing", "htpasswd-nope"]));
        assert!(msg.contains("`bsdtar-hoist-missing`"), "{msg}");
        assert!(msg.contains("`htpasswd-nope`"), "{msg}");
        assert!(!msg.contains("`sh`"), "{msg}");
        assert!(msg.contains("scripts/install-deps.sh"), "{msg}");
    }

    #[test]
    fn a_missing_file_panics_naming_it() {
        let msg = panic_message(|| require_file("/nonexistent/hoist-test", "the `x` package"));
        assert!(msg.contains("/nonexistent/hoist-test"), "{msg}");
        assert!(msg.contains("the `x` package"), "{msg}");
    }

    #[test]
    fn packages_are_named_for_known_tools() {
        assert_eq!(package_for("htpasswd"), "apache2-utils");
        assert_eq!(package_for("/usr/bin/docker-registry"), "docker-registry");
        assert_eq!(package_for("busybox"), "busybox-static");
        assert_eq!(package_for("bsdtar"), "libarchive-tools");
    }

    #[test]
    fn root_check_matches_the_effective_uid() {
        if is_root() {
            require_root();
        } else {
            let msg = panic_message(require_root);
            assert!(msg.contains("root privileges"), "{msg}");
        }
    }
}

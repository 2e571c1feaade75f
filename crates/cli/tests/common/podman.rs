//! The real podman, as a peer the tests check hoist against: with a store
//! of its own in a temporary directory, or podman's usual one.

use std::process::Command;

/// podman with a store of its own (its containers removed and its mounts
/// undone when dropped), or the machine's usual store.
pub struct Podman {
    store: Option<tempfile::TempDir>,
}

impl Podman {
    /// podman with a store of its own.
    pub fn isolated() -> Podman {
        hoist_testenv::require(&["podman"]);
        Podman {
            store: Some(tempfile::tempdir().unwrap()),
        }
    }

    /// podman with the machine's store (what `podman` alone uses).
    pub fn system() -> Podman {
        hoist_testenv::require(&["podman"]);
        Podman { store: None }
    }

    /// Runs podman with `args`; a failure fails the test, with podman's
    /// error.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new("podman");
        if let Some(dir) = &self.store {
            cmd.arg("--root")
                .arg(dir.path().join("root"))
                .arg("--runroot")
                .arg(dir.path().join("run"));
        }
        let out = cmd.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// [`Podman::run`]'s standard output, trimmed.
    pub fn out(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.run(args).stdout)
            .trim()
            .to_string()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        if let Some(dir) = &self.store {
            // Its containers go with it (a failed test leaves some).
            let _ = Command::new("podman")
                .arg("--root")
                .arg(dir.path().join("root"))
                .arg("--runroot")
                .arg(dir.path().join("run"))
                .args(["rm", "-a", "-f", "-t", "0"])
                .output();
            // podman's overlay driver bind-mounts its `root/overlay` on
            // itself; the temp dir is no mount point, so every mount below it
            // goes, or the directory cannot be removed.
            hoist_testenv::hoist::unmount_below(dir.path());
        }
    }
}

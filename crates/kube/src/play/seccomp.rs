//! The seccomp profiles a pod's annotations name, as podman 4.3 reads
//! them: `seccomp.security.alpha.kubernetes.io/pod` for every container,
//! `container.seccomp.security.alpha.kubernetes.io/NAME` for one (it wins).
//! A value is `unconfined`, `runtime/default` (or the older
//! `docker/default`), or `localhost/FILE`: a profile below the directory
//! `kube play --seccomp-profile-root` names.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::error::{KubeError, Result};

/// podman's (and the kubelet's) profile directory.
pub const DEFAULT_PROFILE_ROOT: &str = "/var/lib/kubelet/seccomp";

const POD_KEY: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io";

/// The `CreateOptions::seccomp` of container `name`: `None` for the
/// default profile, `unconfined`, or a profile file.
pub fn for_container(
    annotations: &BTreeMap<String, String>,
    name: &str,
    root: &Path,
) -> Result<Option<String>> {
    for key in annotations.keys() {
        let (head, ctr) = key.split_once('/').unwrap_or((key, ""));
        // `container.seccomp...` without a container name, or with a
        // slash in it, names nobody: podman refuses it.
        if head == CONTAINER_PREFIX && (ctr.is_empty() || ctr.contains('/')) {
            return Err(KubeError::Play(format!(
                "invalid seccomp path: {key} (use {CONTAINER_PREFIX}/CONTAINER)"
            )));
        }
    }
    let own = annotations.get(&format!("{CONTAINER_PREFIX}/{name}"));
    match own.or_else(|| annotations.get(POD_KEY)) {
        Some(value) => profile(value, root),
        None => Ok(None),
    }
}

/// One annotation value as a profile choice.
fn profile(value: &str, root: &Path) -> Result<Option<String>> {
    match value {
        "runtime/default" | "docker/default" => return Ok(None),
        "unconfined" => return Ok(Some(value.to_string())),
        _ => {}
    }
    let Some(file) = value.strip_prefix("localhost/") else {
        return Err(KubeError::Play(format!(
            "invalid seccomp path: {value} (use unconfined, runtime/default or localhost/FILE)"
        )));
    };
    // The profile must be below the root: `..` would reach out of it.
    let rel = Path::new(file);
    if file.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(KubeError::Play(format!(
            "invalid seccomp path: {value} (name a file below --seccomp-profile-root {})",
            root.display()
        )));
    }
    let path: PathBuf = root.join(rel);
    // Checked now, not at the first start, so a play with a missing
    // profile makes nothing.
    if !path.is_file() {
        return Err(KubeError::Play(format!(
            "opening seccomp profile {}: no such file (put it there or give --seccomp-profile-root)",
            path.display()
        )));
    }
    Ok(Some(path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn container_annotations_win_over_the_pods() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.json"), "{}").unwrap();
        let a = ann(&[
            (POD_KEY, "localhost/p.json"),
            (
                "container.seccomp.security.alpha.kubernetes.io/free",
                "unconfined",
            ),
            (
                "container.seccomp.security.alpha.kubernetes.io/dflt",
                "runtime/default",
            ),
        ]);
        let want = dir.path().join("p.json").display().to_string();
        assert_eq!(for_container(&a, "c", dir.path()).unwrap(), Some(want));
        assert_eq!(
            for_container(&a, "free", dir.path()).unwrap().as_deref(),
            Some("unconfined")
        );
        assert_eq!(for_container(&a, "dflt", dir.path()).unwrap(), None);
        assert_eq!(for_container(&ann(&[]), "c", dir.path()).unwrap(), None);
    }

    #[test]
    fn bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for v in [
            "localhost/missing.json",
            "localhost/../etc",
            "other",
            "localhost/",
        ] {
            assert!(
                for_container(&ann(&[(POD_KEY, v)]), "c", dir.path()).is_err(),
                "{v}"
            );
        }
        let bare = ann(&[(CONTAINER_PREFIX, "unconfined")]);
        assert!(for_container(&bare, "c", dir.path()).is_err());
    }
}

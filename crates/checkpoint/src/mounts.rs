//! The mounts of a checkpointed container, as its archive's `spec.dump`
//! (the OCI runtime spec it ran with) lists them.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::archive::SPEC_DUMP;
use crate::error::{io_err, CheckpointError, Result};

/// One mount of the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Deserialize)]
struct Spec {
    #[serde(default)]
    mounts: Vec<Mount>,
}

/// The mounts in `dir/spec.dump` (an imported archive's directory).
pub fn mounts(dir: &Path) -> Result<Vec<Mount>> {
    let path = dir.join(SPEC_DUMP);
    let text = std::fs::read(&path).map_err(io_err("reading", &path))?;
    let spec: Spec = serde_json::from_slice(&text).map_err(|e| CheckpointError::BadArchive {
        path: path.clone(),
        reason: format!("{SPEC_DUMP} is not an OCI runtime spec: {e}"),
    })?;
    Ok(spec.mounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_come_from_the_spec() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SPEC_DUMP),
            r#"{"ociVersion":"1.0.2","mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/data","type":"bind","source":"/srv/data","options":["rbind","rw"]}]}"#,
        )
        .unwrap();
        let m = mounts(dir.path()).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            (
                m[1].destination.as_str(),
                m[1].kind.as_str(),
                m[1].source.as_str()
            ),
            ("/data", "bind", "/srv/data")
        );
        std::fs::write(dir.path().join(SPEC_DUMP), "not json").unwrap();
        assert!(mounts(dir.path())
            .unwrap_err()
            .to_string()
            .contains(SPEC_DUMP));
    }
}

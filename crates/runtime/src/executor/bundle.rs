//! The bundle's `config.json`.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::error::{io_err, RuntimeError};

/// The spec's file name inside a bundle.
pub const CONFIG_FILE: &str = "config.json";

/// Writes `spec` as `bundle/config.json` (atomically: temp file + rename),
/// creating the bundle directory if needed. Returns the file's path.
pub fn write_bundle_config(bundle: &Path, spec: &Spec) -> Result<PathBuf, RuntimeError> {
    std::fs::create_dir_all(bundle).map_err(io_err("creating bundle directory", bundle))?;
    let path = bundle.join(CONFIG_FILE);
    let json = serde_json::to_vec_pretty(spec).expect("a Spec always serializes");
    // No fsync: the bundle is rewritten on every start (the atomic
    // replacement still keeps readers from seeing half a file), and the
    // fsync cost milliseconds of every container start under load.
    hoist_fsutil::write_file_unsynced(&path, &json, 0o644)?;
    Ok(path)
}

/// Reads `bundle/config.json`.
pub fn read_bundle_config(bundle: &Path) -> Result<Spec, RuntimeError> {
    let path = bundle.join(CONFIG_FILE);
    let text = std::fs::read(&path).map_err(io_err("reading", &path))?;
    serde_json::from_slice(&text).map_err(|e| RuntimeError::Io {
        op: "parsing OCI spec",
        path,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let d = tempfile::tempdir().unwrap();
        let b = d.path().join("bundle");
        let spec = Spec::default();
        let p = write_bundle_config(&b, &spec).unwrap();
        assert_eq!(p, b.join("config.json"));
        assert_eq!(read_bundle_config(&b).unwrap(), spec);
        assert!(read_bundle_config(d.path()).is_err());
    }
}

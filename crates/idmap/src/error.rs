use std::path::PathBuf;

/// What went wrong making a user namespace or an idmapped mount.
#[derive(Debug, thiserror::Error)]
pub enum IdmapError {
    #[error("invalid ID map {0:?}: use CONTAINER_ID:HOST_ID:SIZE, e.g. 0:100000:65536")]
    BadMap(String),
    #[error("making a user namespace for the ID maps: {op}: {source}")]
    Namespace {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("idmapped mount of {path}: {op}: {source} (the kernel or this file system may not support idmapped mounts)")]
    Mount {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

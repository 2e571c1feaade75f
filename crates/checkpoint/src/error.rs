//! What can go wrong checkpointing, restoring and moving archives.

use std::path::PathBuf;

pub type Result<T, E = CheckpointError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("CRIU binary not found: checkpoint/restore needs CRIU 4.x in PATH (run scripts/install-criu.sh)")]
    CriuMissing,
    #[error("CRIU {found} is too old: checkpoint/restore needs CRIU 3.16 or newer (run scripts/install-criu.sh)")]
    CriuTooOld { found: String },
    #[error("{op} failed: {message} (CRIU's log: {log})")]
    Criu {
        op: &'static str,
        message: String,
        log: PathBuf,
    },
    #[error("pre-checkpoint is not possible on this host: the kernel has no soft-dirty page tracking (CONFIG_MEM_SOFT_DIRTY), which CRIU needs to find the pages changed since a pre-dump")]
    NoSoftDirty,
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("process {pid} was a zombie when checkpointed (it had exited and its parent had not reaped it yet): the checkpoint holds no memory for it")]
    Zombie { pid: u32 },
    #[error("invalid checkpoint archive {path}: {reason}")]
    BadArchive { path: PathBuf, reason: String },
}

/// A closure turning an I/O error into [`CheckpointError::Io`].
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> CheckpointError {
    let path = path.into();
    move |source| CheckpointError::Io { op, path, source }
}

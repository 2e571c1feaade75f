//! Errors of running containers.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("container {id:?} does not exist in {}; list containers to find its id", root.display())]
    NotFound { id: String, root: PathBuf },

    #[error("container {id:?} already exists in {}; delete it first or pick another id", root.display())]
    AlreadyExists { id: String, root: PathBuf },

    #[error("invalid container id {id:?}: use only letters, digits, '_', '+', '-' and '.'")]
    InvalidId { id: String },

    #[error("{op} container {id:?} with libcontainer: {message}{hint}")]
    Libcontainer {
        op: &'static str,
        id: String,
        /// The error and its causes, joined.
        message: String,
        hint: &'static str,
    },

    #[error("running OCI runtime {}: {source}; check that it is installed (e.g. apt-get install runc) and executable", runtime.display())]
    Spawn {
        runtime: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{} {op} {id:?} failed ({status}): {message}", runtime.display())]
    Command {
        runtime: PathBuf,
        op: &'static str,
        id: String,
        status: String,
        message: String,
    },

    #[error("{} {op} {id:?} printed output hoist cannot read: {detail}", runtime.display())]
    BadOutput {
        runtime: PathBuf,
        op: &'static str,
        id: String,
        detail: String,
    },

    #[error("the process to run in container {id:?} cannot be written as JSON: {detail}")]
    BadProcess { id: String, detail: String },

    #[error("preparing the seccomp filter of container {id:?}: {detail}; check the profile, or run with --security-opt seccomp=unconfined to go without one")]
    Seccomp { id: String, detail: String },

    #[error("starting container {id:?}: {detail}; delete it and fix its spec or bundle")]
    StartFailed { id: String, detail: String },

    #[error("signal {0} is not a valid signal number")]
    BadSignal(i32),

    #[error("waiting for process {pid}: {source}; only the process that created the container (or a child subreaper above it) can wait for it")]
    Wait {
        pid: i32,
        #[source]
        source: io::Error,
    },

    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl From<crate::cgroup_removal::RemovalError> for RuntimeError {
    fn from(e: crate::cgroup_removal::RemovalError) -> RuntimeError {
        RuntimeError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

impl From<hoist_fsutil::Error> for RuntimeError {
    fn from(e: hoist_fsutil::Error) -> RuntimeError {
        RuntimeError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> RuntimeError {
    let path = path.into();
    move |source| RuntimeError::Io { op, path, source }
}

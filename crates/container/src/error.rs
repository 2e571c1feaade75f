//! Errors of container operations, each with the exit code podman uses.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("no container with name or ID {0:?} found; list containers with `hoist ps -a`")]
    NotFound(String),

    #[error("{query:?} matches several containers ({matches}); give more of the ID or the name")]
    Ambiguous { query: String, matches: String },

    #[error("the container name {name:?} is already in use by {id}; remove that container (hoist rm -f {name}) or use --replace")]
    NameInUse { name: String, id: String },

    #[error("invalid container name {0:?}: use letters, digits, '_', '.' and '-', starting with a letter or digit")]
    InvalidName(String),

    #[error("container {id} is {status}: cannot {op}; {hint}")]
    BadState {
        id: String,
        status: String,
        op: &'static str,
        hint: &'static str,
    },

    #[error("{cmd}: executable file not found in $PATH: no such file or directory; check the command and the image")]
    CommandNotFound { cmd: String },

    #[error("{cmd}: permission denied: the file is not executable (or is a directory); check the command")]
    CommandNotExecutable { cmd: String },

    #[error("{0}")]
    Invalid(String),

    #[error(transparent)]
    Runtime(#[from] hoist_runtime::executor::RuntimeError),

    #[error(transparent)]
    Spec(#[from] hoist_runtime::spec::SpecError),

    #[error(transparent)]
    Rootfs(#[from] hoist_runtime::rootfs::RootfsError),

    #[error(transparent)]
    Network(#[from] hoist_network::Error),

    #[error(transparent)]
    Lazy(#[from] hoist_lazy::LazyError),

    #[error("corrupt container record {}: {source}; remove the container with `hoist rm -f`", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("the container monitor failed: {0}")]
    Monitor(String),

    /// Finding, pulling or reading the image of a new container.
    #[error(transparent)]
    Engine(Box<hoist_engine::EngineError>),

    /// A detached monitor reported that the container did not start:
    /// its message and the exit code to use (125, 126, 127).
    #[error("{message}")]
    StartFailed { code: i32, message: String },
}

pub type Result<T, E = ContainerError> = std::result::Result<T, E>;

impl ContainerError {
    /// podman's exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            ContainerError::CommandNotFound { .. } => crate::EXIT_NOT_FOUND,
            ContainerError::CommandNotExecutable { .. } => crate::EXIT_CANNOT_INVOKE,
            ContainerError::StartFailed { code, .. } => *code,
            _ => crate::EXIT_ENGINE,
        }
    }
}

impl From<hoist_engine::EngineError> for ContainerError {
    fn from(e: hoist_engine::EngineError) -> ContainerError {
        ContainerError::Engine(Box::new(e))
    }
}

/// A failed write or lock through hoist's file primitives.
impl From<hoist_fsutil::Error> for ContainerError {
    fn from(e: hoist_fsutil::Error) -> ContainerError {
        ContainerError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> ContainerError {
    let path = path.into();
    move |source| ContainerError::Io { op, path, source }
}

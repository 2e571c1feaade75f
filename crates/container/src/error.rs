//! Errors of container operations, each with the exit code podman uses.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// podman's wording, which scripts match on.
    #[error("no container with name or ID {0:?} found: no such container")]
    NotFound(String),

    #[error("{query:?} matches several containers ({matches}); give more of the ID or the name")]
    Ambiguous { query: String, matches: String },

    #[error("the container name {name:?} is already in use by {id}; remove that container (hoist rm -f {name}) or use --replace")]
    NameInUse { name: String, id: String },

    /// `rename` to a name another container holds, in podman's words.
    #[error("renaming container {id}: name {name} already in use, cannot rename container {id}: container already exists")]
    NameTaken { name: String, id: String },

    #[error("invalid container name {0:?}: use letters, digits, '_', '.' and '-', starting with a letter or digit")]
    InvalidName(String),

    #[error("container {id} is {status}: cannot {op}; {hint}")]
    BadState {
        id: String,
        status: String,
        op: &'static str,
        hint: &'static str,
    },

    /// podman's "container state improper" (`rm` of a running container
    /// exits 2 with it).
    #[error("{0}: container state improper")]
    StateImproper(String),

    /// Containers join this one's namespaces (`--network container:ID`):
    /// they go first (`rm --depend`).
    #[error("container {id} has dependent containers which must be removed before it: {dependents}: container already exists")]
    HasDependents { id: String, dependents: String },

    /// Worded as podman's runtimes report it (`exec: "CMD": ...`).
    #[error("{}", not_found_message(cmd))]
    CommandNotFound { cmd: String },

    #[error("exec: {cmd:?}: permission denied: the file is not executable (or is a directory); check the command")]
    CommandNotExecutable { cmd: String },

    #[error("{0}")]
    Invalid(String),

    /// `cp`: a path not found, a directory onto a file, a bad stream...
    #[error(transparent)]
    Copy(#[from] crate::copy::CopyError),

    #[error(transparent)]
    Runtime(#[from] hoist_runtime::executor::RuntimeError),

    /// Joining a container's cgroup or setting its limits by hand (a
    /// restored tree).
    #[error(transparent)]
    Cgroup(#[from] hoist_runtime::cgroups::CgroupError),

    /// CRIU and checkpoint archives (see hoist-checkpoint).
    #[error(transparent)]
    Checkpoint(#[from] hoist_checkpoint::CheckpointError),

    #[error(transparent)]
    Spec(#[from] hoist_runtime::spec::SpecError),

    #[error(transparent)]
    Rootfs(#[from] hoist_runtime::rootfs::RootfsError),

    #[error(transparent)]
    Network(#[from] hoist_network::Error),

    /// Named volumes (see [`crate::volumes::VolumeError`]).
    #[error(transparent)]
    Volume(Box<crate::volumes::VolumeError>),

    #[error(transparent)]
    Lazy(#[from] hoist_lazy::LazyError),

    #[error(transparent)]
    Secret(#[from] hoist_secrets::SecretError),

    /// Recording the container's system calls (`--seccomp-record`).
    #[error(transparent)]
    Trace(#[from] hoist_trace::TraceError),

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

    /// The checkpoint was taken, the archive could not be written (a full
    /// disk): what was checkpointed is kept with the container.
    #[error("{source}: the checkpoint was taken but not exported; {kept}")]
    NotExported {
        #[source]
        source: Box<ContainerError>,
        kept: String,
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

fn not_found_message(cmd: &str) -> String {
    if cmd.contains('/') {
        format!("exec: {cmd:?}: stat {cmd}: no such file or directory: the command was not found in the container; check the command and the image")
    } else {
        format!("exec: {cmd:?}: executable file not found in $PATH: no such file or directory; check the command and the image")
    }
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

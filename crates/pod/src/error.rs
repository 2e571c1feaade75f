//! What can go wrong with pods.

use std::path::PathBuf;

use hoist_container::ContainerError;

#[derive(Debug, thiserror::Error)]
pub enum PodError {
    /// No pod has this name or ID (prefix).
    #[error("{0}: no such pod")]
    NotFound(String),

    /// An ID prefix that fits more than one pod.
    #[error("more than one pod matches {query:?} ({matches}); give more of the ID or the name")]
    Ambiguous { query: String, matches: String },

    /// `pod create --name` of a name another pod has.
    #[error("adding pod to state: name {0:?} is in use: pod already exists")]
    NameInUse(String),

    /// A bad flag value (`--share`, `--exit-policy`...).
    #[error("{0}")]
    Invalid(String),

    #[error(transparent)]
    Container(Box<ContainerError>),

    #[error(transparent)]
    Engine(Box<hoist_engine::EngineError>),

    #[error("{context} {}: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<ContainerError> for PodError {
    fn from(e: ContainerError) -> PodError {
        PodError::Container(Box::new(e))
    }
}

impl From<hoist_engine::EngineError> for PodError {
    fn from(e: hoist_engine::EngineError) -> PodError {
        PodError::Engine(Box::new(e))
    }
}

impl PodError {
    /// podman's exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            PodError::Container(e) => e.exit_code(),
            _ => 125,
        }
    }
}

pub(crate) fn io_err(
    context: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> PodError {
    let path = path.to_path_buf();
    move |source| PodError::Io {
        context,
        path,
        source,
    }
}

pub type Result<T, E = PodError> = std::result::Result<T, E>;

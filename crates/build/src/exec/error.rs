//! Why a build failed: always with the Containerfile's name and the line
//! of the step, so the user can find what to change.

use std::path::PathBuf;

use thiserror::Error;

use crate::containerfile::{ExpandError, ParseError, StageError};

/// A failed build. Nothing half-built is tagged: names are given only
/// after the last step committed.
#[derive(Debug, Error)]
pub enum BuildError {
    #[error("{file}:{source}")]
    Parse {
        file: String,
        #[source]
        source: ParseError,
    },
    #[error("{file}: {source}")]
    Stage {
        file: String,
        #[source]
        source: StageError,
    },
    #[error("{file}: line {line}: {source}")]
    Expand {
        file: String,
        line: usize,
        #[source]
        source: ExpandError,
    },
    /// A step that cannot be carried out as written.
    #[error("building at STEP \"{step}\": {message} ({file}, line {line})")]
    Step {
        file: String,
        line: usize,
        step: String,
        message: String,
    },
    /// A `RUN` whose command exited non-zero; the build exits with its code.
    #[error("building at STEP \"{step}\": while running runtime: exit status {code} ({file}, line {line})")]
    RunFailed {
        file: String,
        line: usize,
        step: String,
        code: i32,
    },
    /// `ADD --checksum=`: the download's digest is not the one written.
    #[error(transparent)]
    ChecksumMismatch(Box<ChecksumMismatch>),
    /// A flag's value that cannot be used (what, and what to give).
    #[error("{0}")]
    Invalid(String),
    #[error("the Containerfile has no FROM instruction: a build starts from an image, another stage or `scratch`")]
    NoStages,
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A FROM image that cannot be had (podman's wording).
    #[error("creating build container: {0}")]
    Base(#[source] hoist_engine::EngineError),
    #[error(transparent)]
    Engine(#[from] hoist_engine::EngineError),
    #[error(transparent)]
    Container(#[from] hoist_container::ContainerError),
}

/// The details of [`BuildError::ChecksumMismatch`] (boxed: they would
/// make every `Result` of the builder larger).
#[derive(Debug, Error)]
#[error("building at STEP \"{step}\": checksum mismatch for {url}: expected {expected}, got {actual} ({file}, line {line})")]
pub struct ChecksumMismatch {
    pub file: String,
    pub line: usize,
    pub step: String,
    pub url: String,
    pub expected: String,
    pub actual: String,
}

impl BuildError {
    /// The exit code of `hoist build` for this error: a failed RUN's own
    /// code (as podman's build returns it), else podman's 125.
    pub fn exit_code(&self) -> i32 {
        match self {
            BuildError::RunFailed { code, .. } if *code > 0 => *code,
            _ => 125,
        }
    }
}

/// `map_err` helper for I/O on a path.
pub(crate) fn io_err(
    what: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.into();
    move |source| BuildError::Io { what, path, source }
}

pub type Result<T, E = BuildError> = std::result::Result<T, E>;

//! Error types. Parsing and execution fail with different types so a caller
//! can tell a malformed `--format` from one that does not fit the data (podman
//! reports both with exit code 125, but the messages differ).

use std::fmt;

/// A position in the template source: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    /// Line and column of byte `offset` in `src`.
    pub(crate) fn of(src: &str, offset: usize) -> Pos {
        let offset = offset.min(src.len());
        // Step back to a char boundary so slicing never panics.
        let mut end = offset;
        while !src.is_char_boundary(end) {
            end -= 1;
        }
        let before = &src[..end];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        Pos { line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// The template text is not valid Go template syntax (or names an unknown function).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {pos}: {message} (check the --format template syntax)")]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

/// The template is valid but could not be applied to the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {pos}: executing at <{at}>: {kind}")]
pub struct ExecError {
    /// Where in the template the failing action is.
    pub pos: Pos,
    /// The source text of the failing command, as Go shows it.
    pub at: String,
    pub kind: ExecErrorKind,
}

/// What went wrong while executing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecErrorKind {
    /// `.Name` on an object that has no such field (podman: "can't evaluate field").
    #[error("can't evaluate field {field} in type {in_type}")]
    NoField { field: String, in_type: String },
    #[error("wrong number of args for {func}: want {want} got {got}")]
    ArgCount {
        func: String,
        want: String,
        got: usize,
    },
    #[error("wrong type for value; expected {expected}; got {got}")]
    ArgType { expected: String, got: String },
    /// A builtin failed (index out of range, incompatible comparison, ...).
    #[error("error calling {func}: {message}")]
    Call { func: String, message: String },
    #[error("template {0:?} not defined")]
    NoTemplate(String),
    #[error("range can't iterate over {0}")]
    NotIterable(String),
    #[error("output exceeds {0} bytes; narrow the template or the data")]
    OutputLimit(usize),
    #[error("more than {0} evaluation steps; the template loops too much")]
    StepLimit(u64),
    #[error("template calls nested deeper than {0}; is a template calling itself?")]
    DepthLimit(usize),
    /// Anything else, with Go's wording.
    #[error("{0}")]
    Other(String),
}

/// Either failure, for callers that do not care which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

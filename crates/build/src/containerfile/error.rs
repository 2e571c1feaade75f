//! Typed errors of parsing and of variable expansion.

use thiserror::Error;

/// Why a Containerfile could not be parsed. Every variant with a line says
/// which (1-based) so the user can find it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// A keyword that is not an instruction.
    #[error("line {line}: unknown instruction: {name}")]
    UnknownInstruction {
        /// Where.
        line: usize,
        /// The word as written.
        name: String,
    },
    /// An instruction without the arguments it needs.
    #[error("line {line}: {instruction} requires {expected}")]
    MissingArgument {
        /// Where.
        line: usize,
        /// The keyword (`COPY`).
        instruction: &'static str,
        /// What it needs (`at least two arguments: a source and a destination`).
        expected: &'static str,
    },
    /// A `--flag` the instruction does not have.
    #[error("line {line}: {instruction}: unknown flag: --{flag}")]
    UnknownFlag {
        /// Where.
        line: usize,
        /// The keyword.
        instruction: &'static str,
        /// The flag name without dashes.
        flag: String,
    },
    /// An argument or flag value that does not make sense.
    #[error("line {line}: {instruction}: {message}")]
    Invalid {
        /// Where.
        line: usize,
        /// The keyword.
        instruction: &'static str,
        /// What was wrong.
        message: String,
    },
    /// A heredoc whose delimiter line never came.
    #[error("line {line}: heredoc <<{name} is not terminated: no line \"{name}\" before the end of the file")]
    UnterminatedHeredoc {
        /// The line of the instruction that opened it.
        line: usize,
        /// The delimiter.
        name: String,
    },
    /// `# escape=` with something else than `` ` `` or `\`.
    #[error(
        "line {line}: invalid escape directive {value:?}: the escape character must be ` or \\"
    )]
    BadEscape {
        /// Where.
        line: usize,
        /// The value given.
        value: String,
    },
    /// The same parser directive twice.
    #[error("line {line}: only one {name} parser directive can be used")]
    DuplicateDirective {
        /// Where.
        line: usize,
        /// `escape`, `syntax` or `check`.
        name: String,
    },
    /// An instruction other than ARG before the first FROM.
    #[error(
        "line {line}: {instruction} comes before the first FROM: only ARG may come before FROM"
    )]
    BeforeFrom {
        /// Where.
        line: usize,
        /// The keyword.
        instruction: &'static str,
    },
    /// Two stages with the same `AS` name.
    #[error("line {line}: duplicate stage name {name:?}: stage names must be unique")]
    DuplicateStageName {
        /// The second stage's FROM line.
        line: usize,
        /// The name.
        name: String,
    },
    /// The file has instructions, but no FROM.
    #[error("no FROM instruction: a Containerfile must have at least one stage (FROM image)")]
    NoFrom,
    /// The file has no instructions at all.
    #[error("the Containerfile has no instructions")]
    Empty,
}

impl ParseError {
    /// The line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::UnknownInstruction { line, .. }
            | ParseError::MissingArgument { line, .. }
            | ParseError::UnknownFlag { line, .. }
            | ParseError::Invalid { line, .. }
            | ParseError::UnterminatedHeredoc { line, .. }
            | ParseError::BadEscape { line, .. }
            | ParseError::DuplicateDirective { line, .. }
            | ParseError::BeforeFrom { line, .. }
            | ParseError::DuplicateStageName { line, .. } => Some(*line),
            ParseError::NoFrom | ParseError::Empty => None,
        }
    }
}

/// Why a word could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExpandError {
    /// `${VAR:?message}` / `${VAR?message}` with VAR unset (or empty).
    #[error("{name}: {message}")]
    Required {
        /// The variable.
        name: String,
        /// The message given (or a default one).
        message: String,
    },
    /// `${` without its `}`, or a bad name inside.
    #[error("bad substitution in {text:?}: {message}")]
    BadSubstitution {
        /// The word being expanded.
        text: String,
        /// What was wrong.
        message: String,
    },
    /// A quote that is never closed.
    #[error("unterminated {quote} quote in {text:?}")]
    UnterminatedQuote {
        /// The word being expanded.
        text: String,
        /// `single` or `double`.
        quote: &'static str,
    },
}

/// Why stages could not be resolved or selected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StageError {
    /// `--target` names no stage.
    #[error("target stage {0:?} could not be found: no FROM ... AS {0} in the Containerfile")]
    UnknownTarget(String),
    /// A word of a FROM or `--from` could not be expanded.
    #[error("line {line}: {source}")]
    Expand {
        /// Where.
        line: usize,
        /// Why.
        source: ExpandError,
    },
    /// `--from=N` with no stage N before this one.
    #[error(
        "line {line}: invalid stage index {index}: only earlier stages (0..{current}) can be used"
    )]
    InvalidStageIndex {
        /// Where.
        line: usize,
        /// The index given.
        index: usize,
        /// The stage doing the reference.
        current: usize,
    },
    /// A reference to the stage itself or to a later stage.
    #[error("line {line}: stage {name:?} refers to itself or to a later stage: a stage can only use earlier stages")]
    NotEarlier {
        /// Where.
        line: usize,
        /// The name used.
        name: String,
    },
    /// FROM with an empty image after expansion.
    #[error("line {line}: FROM has an empty image name after expanding {raw:?}: pass it with --build-arg or give the ARG a default")]
    EmptyBase {
        /// Where.
        line: usize,
        /// The FROM word as written.
        raw: String,
    },
}

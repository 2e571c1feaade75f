//! What can go wrong while signing or checking signatures.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("signing needs the gpg program ({program}): install the gnupg package")]
    GpgMissing { program: String },
    #[error("gpg failed to {action}: {stderr}")]
    Gpg {
        action: &'static str,
        stderr: String,
    },
    #[error("running gpg: {0}")]
    GpgIo(#[source] std::io::Error),
    #[error("invalid signature payload: {0}")]
    Payload(String),
    #[error("{path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid registries.d configuration: {reason}", path = path.display())]
    Config { path: PathBuf, reason: String },
    /// A trust policy (policy.json) that cannot be used; `path` is the
    /// file when it was read from one.
    #[error("{}invalid trust policy: {reason}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Policy {
        path: Option<PathBuf>,
        reason: String,
    },
    #[error("signature storage {0}: only file:// locations can be written; set lookaside-staging to a file:// URL in registries.d or pass --directory")]
    NotWritable(String),
}

pub type Result<T> = std::result::Result<T, SignError>;

impl SignError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> SignError {
        SignError::Io {
            path: path.into(),
            source,
        }
    }
}

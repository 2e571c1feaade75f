//! The error of reading or writing an eStargz blob.

use std::io;

use hoist_image::Digest;

/// Why an eStargz blob could not be opened or written.
///
/// Everything read from a blob is untrusted: every way a hostile or damaged
/// blob can be wrong maps to one of these variants, never to a panic.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(
        "blob of {size} bytes is too small for an eStargz footer ({min} bytes at least); \
         the layer is not eStargz or was truncated"
    )]
    TooSmall { size: u64, min: u64 },

    #[error("eStargz footer: {reason}; the layer is not eStargz or was truncated")]
    Footer { reason: String },

    #[error(
        "eStargz footer puts the TOC at offset {toc_offset}, outside the TOC area of the \
         {blob_size}-byte blob; the blob is damaged"
    )]
    TocOffset { toc_offset: u64, blob_size: u64 },

    #[error("reading the {what} from the blob: {source}")]
    Read {
        what: &'static str,
        #[source]
        source: io::Error,
    },

    #[error("eStargz TOC gzip member: {reason}; the blob is damaged")]
    TocMember { reason: String },

    #[error(
        "eStargz TOC is larger than hoist's limit of {limit} bytes; refusing to read it \
         (convert the image again with fewer files per layer)"
    )]
    TocTooLarge { limit: u64 },

    #[error("eStargz TOC JSON is invalid: {0}")]
    TocJson(#[source] serde_json::Error),

    #[error(
        "eStargz TOC digest mismatch: the layer annotation expects {expected} but the blob's \
         TOC is {actual}; the blob or the manifest was altered, pull the image again"
    )]
    TocDigestMismatch { expected: Digest, actual: Digest },

    #[error("eStargz TOC entry {entry:?}: {reason}; the blob cannot be trusted")]
    InvalidEntry { entry: String, reason: String },

    #[error("eStargz conversion: invalid option: {0}")]
    Options(String),

    #[error("eStargz conversion: reading the input layer: {0}")]
    Input(#[source] io::Error),

    #[error("eStargz conversion: input tar entry {entry:?}: {reason}")]
    InputEntry { entry: String, reason: String },

    #[error(
        "eStargz conversion: spooling the layer to a temporary file: {0} \
         (set TMPDIR or the spool directory to a filesystem with enough space)"
    )]
    Spool(#[source] io::Error),

    #[error("eStargz conversion: writing the blob: {0}")]
    Output(#[source] io::Error),
}

impl FormatError {
    pub(crate) fn entry(entry: &str, reason: impl Into<String>) -> FormatError {
        FormatError::InvalidEntry {
            entry: entry.to_string(),
            reason: reason.into(),
        }
    }
}

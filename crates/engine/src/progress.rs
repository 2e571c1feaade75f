//! How long-running operations report progress. The engine knows nothing of
//! terminals: the CLI implements this with progress bars, tests with nothing.

use hoist_image::Digest;

/// What happened to one blob of a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// Bytes were transferred.
    Copied,
    /// The destination already had it.
    Skipped,
    /// The registry mounted it from another repository.
    Mounted,
    /// Only its table of contents was fetched: it is read on demand.
    Lazy,
}

/// Receives progress of pulls, pushes and loads. Methods are called from
/// several tasks at once, hence `Sync`.
pub trait Progress: Send + Sync {
    /// A line of narration, as podman prints ("Trying to pull ...").
    fn message(&self, _text: &str) {}
    /// A blob transfer starts; `total` is its size in bytes.
    fn blob_started(&self, _digest: &Digest, _total: u64) {}
    /// `done` bytes of the blob have been transferred so far.
    fn blob_progress(&self, _digest: &Digest, _done: u64) {}
    fn blob_finished(&self, _digest: &Digest, _outcome: BlobOutcome) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}

//! What a container's monitor needs to serve one lazy layer: written into
//! the container's record when it is created, read when it starts.

use std::path::PathBuf;

use hoist_image::Digest;
use serde::{Deserialize, Serialize};

use crate::remote::RemoteOptions;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LazyLayerSpec {
    /// The layer's position in the image, bottom layer 0.
    pub index: usize,
    /// The store holding the TOC and the chunk cache, and receiving the
    /// complete layer once the whole blob is fetched.
    pub store_root: PathBuf,
    pub blob: Digest,
    pub blob_size: u64,
    pub media_type: String,
    pub diff_id: Digest,
    pub toc_digest: Digest,
    pub toc_offset: u64,
    pub registry: String,
    pub repository: String,
    pub remote: RemoteOptions,
    /// The blob bytes of the prioritized files, as the pull read them from
    /// the TOC: the server asks for them as soon as it starts, while it
    /// reads the TOC itself. `None` in records made before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefetch: Option<std::ops::Range<u64>>,
    /// Set for the recording run of `image convert --optimize`: the layer
    /// is served from a local blob, always (even though it is unpacked in
    /// the store), and the files the container reads are written down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Recording>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// The eStargz blob to serve.
    pub blob_file: PathBuf,
    /// Where to write the paths read, one per line, in first-read order.
    pub access_log: PathBuf,
    /// A scratch directory for the chunk cache.
    pub cache_dir: PathBuf,
}

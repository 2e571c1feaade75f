//! The FUSE filesystem that serves a lazy layer.
//!
//! [`LayerFs::new`] turns a layer's table of contents into an in-memory
//! inode table (`tree`); [`mount`] serves it read-only through FUSE, so it
//! can be an overlayfs lowerdir of a container. Metadata (lookup, stat,
//! readdir, readlink, xattrs) is answered from memory on the FUSE session
//! thread; file contents are fetched chunk by chunk through a
//! [`ChunkReader`] on a small worker pool (`pool`), so a slow download
//! never stalls the rest of the mount.
//!
//! OCI whiteouts are presented the way overlayfs expects from a lower layer:
//! `dir/.wh.name` becomes a 0:0 character device `dir/name`, and
//! `dir/.wh..wh..opq` makes `dir` carry `trusted.overlay.opaque=y`.

mod access_log;
mod mount;
mod pool;
mod read;
mod server;
mod tree;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

pub use access_log::AccessLog;
pub use mount::{mount, unmount_stale, MountedLayer};

use crate::toc::{ChunkRef, Toc};

/// Reads the content of one chunk of a regular file.
///
/// Called from several worker threads at once; a call may block for as long
/// as a download takes. Errors reach the reading process as `EIO`.
pub trait ChunkReader: Send + Sync {
    /// Returns the verified, uncompressed bytes of `chunk` (exactly
    /// `chunk.len` of them) of the file named `file` (its cleaned TOC name:
    /// `usr/bin/x` for a TOC entry `./usr/bin/x`).
    fn read_chunk(&self, file: &str, chunk: &ChunkRef) -> io::Result<Arc<Vec<u8>>>;
}

/// How a [`LayerFs`] behaves beyond serving the TOC.
#[derive(Debug, Clone, Default)]
pub struct FsOptions {
    /// Records which files the workload touches (`image convert --optimize`).
    pub access_log: Option<Arc<AccessLog>>,
}

/// Why a TOC cannot be served as a filesystem. All of these mean the layer's
/// table of contents is malformed (or hostile): it cannot be mounted lazily.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error(
        "lazy layer entry {name:?}: {reason}; the layer's table of contents is malformed, \
         pull the image without lazy pulling or rebuild it"
    )]
    InvalidEntry { name: String, reason: String },
    #[error(
        "lazy layer hard link {name:?} -> {target:?}: {reason}; the layer's table of contents \
         is malformed, pull the image without lazy pulling or rebuild it"
    )]
    BadHardlink {
        name: String,
        target: String,
        reason: String,
    },
    #[error(
        "lazy layer file {name:?}: its chunks {reason}; the layer's table of contents is \
         malformed, pull the image without lazy pulling or rebuild it"
    )]
    BadChunks { name: String, reason: String },
}

/// One layer's filesystem, built from its TOC and ready to [`mount`].
pub struct LayerFs {
    tree: Arc<tree::Tree>,
    reader: Arc<dyn ChunkReader>,
    opts: FsOptions,
}

impl std::fmt::Debug for LayerFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerFs")
            .field("inodes", &self.tree.len())
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl LayerFs {
    /// Builds the inode table. `chunks` maps each regular file's TOC name to
    /// its chunks (as computed by the eStargz reader); they must cover the
    /// file exactly.
    pub fn new(
        toc: &Toc,
        chunks: BTreeMap<String, Vec<ChunkRef>>,
        reader: Arc<dyn ChunkReader>,
        opts: FsOptions,
    ) -> Result<LayerFs, FsError> {
        let tree = tree::Tree::build(toc, chunks)?;
        Ok(LayerFs {
            tree: Arc::new(tree),
            reader,
            opts,
        })
    }
}

//! Lazy layers: images whose layers are read on demand instead of being
//! downloaded before a container starts.
//!
//! - [`toc`]: the table of contents of a seekable layer (eStargz's
//!   `stargz.index.json`), the one description every other part works from.
//! - [`estargz`]: reading and writing eStargz blobs (footer, TOC, chunks),
//!   byte-compatible with the stargz-snapshotter reference implementation.
//! - [`fs`]: a read-only FUSE filesystem that presents one layer from its TOC,
//!   fetching file contents chunk by chunk as the container reads them.
//! - [`source`]: where a blob's bytes come from (a registry, with HTTP range
//!   requests, or a local file).

pub mod cache;
pub mod complete;
pub mod early;
pub mod error;
pub mod estargz;
pub mod fs;
pub mod layer;
pub mod needed;
mod neighbours;
mod paths;
pub mod remote;
pub mod serve;
pub mod source;
pub mod spec;
pub mod toc;

pub use error::LazyError;
pub use spec::{FirstProgram, LazyLayerSpec};

//! eStargz blobs, byte-compatible with the stargz-snapshotter reference.
//!
//! An eStargz blob is an ordinary `tar.gz` layer cut into many gzip
//! members: each regular file's content (and each chunk of a large file)
//! starts a new member, so one member can be fetched and decompressed alone.
//! The last tar entry, `stargz.index.json`, sits in a member of its own and
//! lists every file and where its chunks are (the TOC, see [`crate::toc`]);
//! a 51-byte footer (an empty gzip member) says where that TOC member begins.
//!
//! - [`footer`]: the footer, eStargz's 51-byte one and legacy stargz's 47.
//! - [`EstargzBlob`]: opens a blob from a [`crate::source::RangeSource`],
//!   verifies and validates its TOC, and maps every file to its chunks.
//! - [`chunk`]: decompresses and verifies one chunk.
//! - [`writer`]: converts an OCI layer tar into an eStargz blob.
//! - [`compression`]: recognizes gzip, zstd or plain tar input.

pub mod chunk;
pub mod compression;
mod error;
pub mod footer;
mod layout;
pub(crate) mod names;
mod reader;
mod toc_member;
pub mod writer;

mod members;
mod order;
mod spool;

#[cfg(test)]
pub(crate) mod testutil;

pub use chunk::{read_chunk, ChunkError};
pub use error::FormatError;
pub use reader::EstargzBlob;
pub use writer::{convert, ConvertOptions, Converted};

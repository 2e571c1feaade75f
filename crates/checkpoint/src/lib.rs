//! Checkpoint and restore of process trees with CRIU, and podman's
//! checkpoint archive.
//!
//! This crate knows CRIU (driven through its RPC interface, `criu swrk`, in
//! the messages of the `rust-criu` crate that youki's libcontainer uses) and the layout of
//! podman's `--export` archives; it knows nothing of hoist's containers:
//! hoist-container tells it which process, which mounts and which files.

mod archive;
mod criu;
mod early_pages;
mod error;
mod files;
mod late_pages;
mod memory;
mod mounts;
mod namespaces;
mod pstree;
mod show;
mod stats;
mod swrk;

pub use archive::{
    export, export_with_pages, import, import_streaming, Compression, ARCHIVE_FILES,
    CHECKPOINT_DIR, CONFIG_DUMP, DELETED_FILES, DEVSHM, NETWORK_STATUS, ROOTFS_DIFF, SPEC_DUMP,
    STATS_DUMP, VOLUMES_DIR,
};
pub use criu::{
    criu_version, dump, restore, soft_dirty_supported, DumpRequest, ExternalMount, RestoreRequest,
    DUMP_LOG, RESTORE_LOG,
};
pub use early_pages::{CompressedPages, PageFollower};
pub use error::{CheckpointError, Result};
pub use files::{decode_descriptors, open_files, Description, OpenFile, ProcessFiles};
pub use late_pages::{Import, PAGES_FOLLOW};
pub use memory::{memory_sizes, search_memory, MemoryMatch};
pub use mounts::{mounts, Mount};
pub use namespaces::{NamespaceKind, SharedNamespace};
pub use pstree::{process_tree, render_tree, Process};
pub use show::{human_bytes, show, ShowInfo};
pub use stats::{core_machine, host_machine, parse_core_machine, CriuStats};

//! hoist's file primitives, one set for every crate: durable atomic
//! replacement of files ([`write_file`], [`AtomicFile`]), advisory
//! `flock(2)` locks ([`FileLock`]) and directories made empty
//! ([`empty_dir`]).
//!
//! Crash safety is a property of the whole store, so it is decided here
//! once: a published file has been fsynced, and so has the directory entry
//! that names it.

mod atomic;
mod dir;
mod error;
mod lock;
pub mod mountinfo;
mod writeback;

pub use atomic::{fsync_dir, write_file, write_file_unsynced, write_files, AtomicFile};
pub use dir::empty_dir;
pub use error::{is_disk_full, Error, Result};
pub use lock::{is_locked, lock_held, FileLock};
pub use writeback::start_writeback;

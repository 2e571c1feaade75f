//! Starting writeback early, so that a later `fsync` or `syncfs` finds
//! most of the data already on its way to disk instead of starting it all
//! at once.

use std::os::fd::{AsFd, AsRawFd};

/// Starts writing `len` bytes at `offset` of `file` to disk (`len` 0: to the
/// end of the file), without waiting for it. A hint only: it makes nothing
/// durable, and a failure (a file system without writeback) is ignored,
/// since the fsync that follows reports any real error.
#[allow(unsafe_code)]
pub fn start_writeback(file: impl AsFd, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (
        libc::off64_t::try_from(offset),
        libc::off64_t::try_from(len),
    ) else {
        return;
    };
    // SAFETY: sync_file_range only reads its plain integer arguments; the
    // descriptor is open for the whole call (borrowed from `file`).
    unsafe {
        libc::sync_file_range(
            file.as_fd().as_raw_fd(),
            offset,
            len,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

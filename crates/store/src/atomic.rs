//! Durable, atomic publication of files and directories: write under a
//! private temporary name, fsync, rename into place, fsync the directory.
//! A reader sees either the old object or the complete new one, never a part.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{IoContext, Result};

/// fsyncs a directory so that renames and creations in it survive a crash.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    let f = File::open(dir).ctx("opening directory to sync", dir)?;
    f.sync_all().ctx("syncing directory", dir)
}

/// Writes `bytes` to `tmp`, fsyncs it and renames it over `dest`, then
/// fsyncs `dest`'s directory. `tmp` must be on the same filesystem and
/// private to the caller.
pub(crate) fn write_file_atomic(tmp: &Path, dest: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(tmp)
            .ctx("creating temporary file", tmp)?;
        f.write_all(bytes).ctx("writing", tmp)?;
        f.sync_all().ctx("syncing", tmp)?;
        std::fs::rename(tmp, dest).ctx("renaming into place", dest)?;
        if let Some(dir) = dest.parent() {
            fsync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_atomically_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.json");
        std::fs::write(&dest, b"old").unwrap();
        write_file_atomic(&dir.path().join("t1"), &dest, b"new", 0o644).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert!(!dir.path().join("t1").exists());
        // A failing write (destination directory missing) cleans its temp file.
        let bad = dir.path().join("missing/f");
        assert!(write_file_atomic(&dir.path().join("t2"), &bad, b"x", 0o644).is_err());
        assert!(!dir.path().join("t2").exists());
    }
}

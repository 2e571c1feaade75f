//! Atomic file replacement: write a temporary file beside the target, sync
//! it, rename it over the target, sync the directory. Readers see either the
//! old file or the complete new one, and a crash leaves at worst a stray
//! temporary file (named `.tmp*`, which the layout code ignores).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{io_err, ArchiveError, Result};

/// An output file that only appears at its final path on [`AtomicFile::commit`].
/// Dropping it without committing removes the temporary file.
pub struct AtomicFile {
    tmp: NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let dir = parent_dir(target);
        let tmp = NamedTempFile::new_in(dir).map_err(io_err("create a temporary file in", dir))?;
        Ok(AtomicFile {
            tmp,
            target: target.to_path_buf(),
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Syncs the data and renames it into place.
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        self.tmp
            .as_file()
            .sync_all()
            .map_err(io_err("sync", self.tmp.path()))?;
        self.tmp.persist(&target).map_err(|e| ArchiveError::Io {
            op: "rename a temporary file to",
            path: target.clone(),
            source: e.error,
        })?;
        sync_dir(parent_dir(&target));
        Ok(())
    }
}

/// Atomically replaces `target` with `bytes`.
pub fn write_file(target: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(target)?;
    f.file().write_all(bytes).map_err(io_err("write", target))?;
    f.commit()
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename durable. Failure only weakens durability, not correctness,
/// so it is logged rather than returned.
fn sync_dir(dir: &Path) {
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(dir = %dir.display(), error = %e, "cannot sync directory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::write(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.file().write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");

        let mut abandoned = AtomicFile::create(&target).unwrap();
        abandoned.file().write_all(b"partial").unwrap();
        drop(abandoned);
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporary file left behind"
        );
    }
}

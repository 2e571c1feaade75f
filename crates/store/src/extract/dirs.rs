//! Directory modes and mtimes, applied after all entries: creating a child
//! changes its parent's mtime, and a read-only mode would stop a non-root
//! extractor from creating the children.

use std::collections::BTreeMap;
use std::os::fd::AsFd;

use rustix::fs::{fstat, OFlags};

use super::fsops::open_in_root;
use super::meta::Meta;
use super::ExtractError;

#[derive(Debug)]
struct Pending {
    entry: String,
    dev: u64,
    ino: u64,
    meta: Meta,
}

/// The last directory entry seen for each path, with the identity of the
/// directory it described.
#[derive(Debug, Default)]
pub(crate) struct DeferredDirs {
    by_path: BTreeMap<Vec<u8>, (usize, Pending)>,
}

impl DeferredDirs {
    pub(crate) fn record(
        &mut self,
        rel: Vec<u8>,
        depth: usize,
        dir: impl AsFd,
        meta: Meta,
        entry: &str,
    ) -> Result<(), ExtractError> {
        let st = fstat(dir).map_err(|e| ExtractError::io(entry, "stat", e.into()))?;
        self.by_path.insert(
            rel,
            (
                depth,
                Pending {
                    entry: entry.to_string(),
                    dev: st.st_dev,
                    ino: st.st_ino,
                    meta,
                },
            ),
        );
        Ok(())
    }

    /// Applies mode and times, deepest first. A directory that a later entry
    /// replaced (different inode now, or no longer a directory) is skipped.
    pub(crate) fn apply(self, root: impl AsFd) -> Result<(), ExtractError> {
        let mut all: Vec<_> = self.by_path.into_iter().collect();
        all.sort_by_key(|(_, (depth, _))| std::cmp::Reverse(*depth));
        for (rel, (_, p)) in all {
            let fd = match open_in_root(
                root.as_fd(),
                &rel,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
            ) {
                Ok(fd) => fd,
                Err(_) => continue,
            };
            let st = fstat(&fd).map_err(|e| ExtractError::io(&p.entry, "stat", e.into()))?;
            if st.st_dev != p.dev || st.st_ino != p.ino {
                continue;
            }
            p.meta.set_mode_fd(&fd, &p.entry)?;
            p.meta.set_times_fd(&fd, &p.entry)?;
        }
        Ok(())
    }
}

//! Atomic, durable publication of files.
//!
//! The content is written to an unnamed file (`O_TMPFILE`) in the target's
//! directory, fsynced, and only then given a name. A process killed at any
//! point before that leaves nothing visible: the kernel frees an unnamed
//! file with its last descriptor. Replacing an existing file goes through a
//! short-lived hidden name and `rename(2)`, so readers see the old content or
//! the new, never a mix. The directory is fsynced last, so the new name
//! survives a crash too.
//!
//! Filesystems without `O_TMPFILE` get a hidden named temporary file
//! instead, removed on every failure path this process lives to see.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use rand::Rng;
use rustix::fs::{AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::error::{at, Error, Result};

/// Prefix of the hidden names used while a file is being published.
const TEMP_PREFIX: &str = ".hoist-tmp-";

/// An output file that appears at its target path, complete and synced, only
/// on [`AtomicFile::commit`]. Dropped uncommitted, it leaves nothing behind.
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    target: PathBuf,
    /// The hidden name of the fallback temporary file; `None` for an
    /// unnamed (`O_TMPFILE`) one.
    named: Option<PathBuf>,
}

impl AtomicFile {
    /// Opens an unpublished file for `target`, with permission bits `mode`
    /// (before the umask, as `open(2)`).
    pub fn create(target: &Path, mode: u32) -> Result<AtomicFile> {
        let dir = parent_dir(target);
        match open_unnamed(dir, mode) {
            Ok(file) => Ok(AtomicFile {
                file,
                target: target.to_path_buf(),
                named: None,
            }),
            // EISDIR: a kernel without O_TMPFILE; EOPNOTSUPP: a filesystem
            // without it (some FUSE and network filesystems).
            Err(Errno::ISDIR | Errno::OPNOTSUPP | Errno::NOSYS) => {
                let path = hidden_name(target);
                let file = rustix::fs::open(
                    &path,
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                    Mode::from_raw_mode(mode),
                )
                .map_err(at("creating temporary file", &path))?;
                Ok(AtomicFile {
                    file: File::from(file),
                    target: target.to_path_buf(),
                    named: Some(path),
                })
            }
            Err(e) => Err(Error::new("creating a temporary file in", dir, e)),
        }
    }

    /// The file to write the content into.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Where the file will appear.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Syncs the content and publishes it at the target path, replacing
    /// whatever was there.
    pub fn commit(mut self) -> Result<()> {
        self.sync_content()?;
        self.publish()?;
        fsync_dir(parent_dir(&self.target))
    }

    fn sync_content(&self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(at("syncing the content of", &self.target))
    }

    /// Publishes without syncing: readers still see the old file or the
    /// whole new one, but a crash may lose the new one. Only for files that
    /// are made again whenever they are needed (a container's bundle and
    /// /etc files, rewritten on every start), where a sync would only slow
    /// the start down.
    pub fn commit_unsynced(mut self) -> Result<()> {
        self.publish()
    }

    fn publish(&mut self) -> Result<()> {
        match self.named.take() {
            Some(tmp) => rename_or_remove(&tmp, &self.target),
            None => self.link_unnamed(),
        }
    }

    /// Gives the unnamed file its name: directly when the target does not
    /// exist, else under a hidden name that is then renamed over it.
    fn link_unnamed(&self) -> Result<()> {
        match link_fd(&self.file, &self.target) {
            Ok(()) => return Ok(()),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(Error::new("publishing", &self.target, e)),
        }
        let tmp = hidden_name(&self.target);
        link_fd(&self.file, &tmp).map_err(at("linking temporary file", &tmp))?;
        rename_or_remove(&tmp, &self.target)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(tmp) = self.named.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Atomically and durably replaces `target` with `bytes` (permission bits
/// `mode`, before the umask).
pub fn write_file(target: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut f = AtomicFile::create(target, mode)?;
    f.file().write_all(bytes).map_err(at("writing", target))?;
    f.commit()
}

/// As [`write_file`] for each of `files` (name and content) in `dir`, in
/// that order, with one wait for the disk instead of one per file: every
/// file's writeback starts before the first is synced, and the directory
/// is synced once, after the last name. All names are given in quick
/// succession after all contents are on disk, so a crash leaves the files
/// named up to some point of the list, each complete; none is named when
/// any write fails.
pub fn write_files(dir: &Path, files: &[(&str, &[u8])], mode: u32) -> Result<()> {
    let mut pending = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let target = dir.join(name);
        let mut f = AtomicFile::create(&target, mode)?;
        f.file().write_all(bytes).map_err(at("writing", &target))?;
        crate::start_writeback(f.file(), 0, 0);
        pending.push(f);
    }
    for f in &pending {
        f.sync_content()?;
    }
    for mut f in pending {
        f.publish()?;
    }
    fsync_dir(dir)
}

/// As [`write_file`], without the syncs: see [`AtomicFile::commit_unsynced`].
pub fn write_file_unsynced(target: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut f = AtomicFile::create(target, mode)?;
    f.file().write_all(bytes).map_err(at("writing", target))?;
    f.commit_unsynced()
}

/// fsyncs a directory so that the names created, renamed or removed in it
/// survive a crash.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(at("syncing directory", dir))
}

fn open_unnamed(dir: &Path, mode: u32) -> std::result::Result<File, Errno> {
    let fd = rustix::fs::open(
        dir,
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
    )?;
    Ok(File::from(fd))
}

/// `linkat` through `/proc/self/fd`: unlike `AT_EMPTY_PATH` it needs no
/// `CAP_DAC_READ_SEARCH`.
fn link_fd(file: &File, to: &Path) -> std::result::Result<(), Errno> {
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(CWD, proc_path.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW)
}

fn rename_or_remove(tmp: &Path, target: &Path) -> Result<()> {
    std::fs::rename(tmp, target).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::new("renaming into place", target, e)
    })
}

fn hidden_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag: u64 = rand::thread_rng().gen();
    target.with_file_name(format!("{TEMP_PREFIX}{name}-{tag:016x}"))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn creates_and_replaces_leaving_only_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f.json");
        write_file(&target, b"one", 0o600).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"one");
        assert_eq!(
            std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_file(&target, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["f.json"]);
    }

    #[test]
    fn nothing_is_visible_before_commit_or_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.tar");
        let mut f = AtomicFile::create(&target, 0o644).unwrap();
        f.write_all(b"partial").unwrap();
        assert!(names(dir.path()).is_empty(), "an unnamed file has no entry");
        drop(f);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn old_content_stays_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::write(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target, 0o644).unwrap();
        f.write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn unsynced_writes_replace_atomically_too() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("hosts");
        write_file_unsynced(&target, b"one", 0o644).unwrap();
        write_file_unsynced(&target, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["hosts"]);
    }

    #[test]
    fn several_files_are_published_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b"), "old").unwrap();
        write_files(dir.path(), &[("a", b"1"), ("b", b"2")], 0o600).unwrap();
        assert_eq!(names(dir.path()), ["a", "b"]);
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"1");
        assert_eq!(std::fs::read(dir.path().join("b")).unwrap(), b"2");
        // A name that cannot be published fails before anything is named.
        let err = write_files(dir.path(), &[("c", b"3"), ("missing/d", b"4")], 0o600);
        assert!(err.is_err());
        assert_eq!(names(dir.path()), ["a", "b"]);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("missing/f");
        let err = write_file(&target, b"x", 0o644).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn named_fallback_is_cleaned_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x");
        let tmp = hidden_name(&target);
        let f = AtomicFile {
            file: File::create(&tmp).unwrap(),
            target: target.clone(),
            named: Some(tmp),
        };
        drop(f);
        assert!(names(dir.path()).is_empty());
    }
}

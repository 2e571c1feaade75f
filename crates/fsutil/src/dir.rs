//! Directories that must start empty.

use std::io;
use std::path::Path;

/// Makes `path` an empty directory (and its parents). What it holds is
/// removed only when it holds something: an empty one is left as it is,
/// where removing and making it again would cost two inode updates, and on
/// a file system mounted with `discard` a wait for the disk.
pub fn empty_dir(path: &Path) -> io::Result<()> {
    let empty = std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none());
    if empty {
        return Ok(());
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn an_empty_directory_stays_and_a_full_or_missing_one_is_made_empty() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/work");
        empty_dir(&dir).unwrap();
        assert!(dir.is_dir());
        let inode = std::fs::metadata(&dir).unwrap().ino();
        empty_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().ino(), inode, "made again");
        std::fs::create_dir_all(dir.join("work/deeper")).unwrap();
        std::fs::write(dir.join("file"), "x").unwrap();
        empty_dir(&dir).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }
}

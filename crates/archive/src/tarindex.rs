//! An index of a tar file's members, built in one pass, so members can be read
//! in place by offset instead of extracting the archive.
//!
//! Member names are normalized (`./a//b/` → `a/b`) and every name is checked:
//! absolute names and names containing `..` make the whole archive invalid,
//! since no legitimate image archive has them. Symbolic and hard links are
//! recorded and followed lexically inside the index only (the file system is
//! never involved), and a link leaving the archive is an error.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tar::EntryType;

use crate::error::{io_err, ArchiveError, Result};

/// Links followed before giving up, against loops.
const MAX_LINK_HOPS: usize = 16;

/// What a member is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    /// A regular file whose data starts at `offset` in the archive.
    File {
        offset: u64,
        size: u64,
    },
    Dir,
    /// A symbolic link with its target as written (relative to the link's directory).
    Symlink(String),
    /// A hard link to another member (normalized archive path).
    HardLink(String),
    /// Anything else (devices, fifos, sparse files…), described for errors.
    Other(String),
}

/// The members of one tar archive, by normalized name. When a name occurs
/// twice, the later member wins, as when extracting.
#[derive(Debug, Clone)]
pub struct TarIndex {
    archive: PathBuf,
    members: BTreeMap<String, MemberKind>,
}

/// Normalizes a member name, refusing names that could point outside the
/// archive's root. The root itself normalizes to the empty string.
pub fn normalize_name(name: &str) -> Result<String, &'static str> {
    if name.starts_with('/') {
        return Err("absolute path");
    }
    let mut parts = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err("path contains '..'"),
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// The member a symlink at `link` pointing to `target` designates.
fn resolve_symlink(link: &str, target: &str) -> Result<String, &'static str> {
    if target.starts_with('/') {
        return Err("symbolic link with an absolute target");
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("symbolic link pointing outside the archive");
                }
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

fn describe(t: EntryType) -> String {
    match t {
        EntryType::Char => "character device".into(),
        EntryType::Block => "block device".into(),
        EntryType::Fifo => "fifo".into(),
        EntryType::GNUSparse => "sparse file".into(),
        EntryType::Symlink => "symbolic link".into(),
        EntryType::Link => "hard link".into(),
        other => format!("tar entry of type {:?}", other.as_byte() as char),
    }
}

impl TarIndex {
    /// Reads every header of the tar in `reader` (seeking over file data).
    /// `archive` names the file in errors.
    pub fn build<R: Read + Seek>(mut reader: R, archive: &Path) -> Result<TarIndex> {
        let corrupt = |e: io::Error| ArchiveError::Invalid {
            what: "tar archive",
            path: archive.to_path_buf(),
            reason: format!("{e} (truncated or not a tar file?)"),
        };
        let len = reader
            .seek(SeekFrom::End(0))
            .map_err(io_err("seek in", archive))?;
        reader
            .seek(SeekFrom::Start(0))
            .map_err(io_err("seek in", archive))?;
        let mut tar = tar::Archive::new(reader);
        let mut members = BTreeMap::new();
        for entry in tar.entries_with_seek().map_err(corrupt)? {
            let entry = entry.map_err(corrupt)?;
            let raw_name = entry.path_bytes();
            let name = std::str::from_utf8(&raw_name).map_err(|_| ArchiveError::Invalid {
                what: "tar member name",
                path: archive.to_path_buf(),
                reason: format!("{:?} is not UTF-8", String::from_utf8_lossy(&raw_name)),
            })?;
            let unsafe_path = |reason| ArchiveError::UnsafePath {
                name: name.to_string(),
                path: archive.to_path_buf(),
                reason,
            };
            let normalized = normalize_name(name).map_err(unsafe_path)?;
            let link = || {
                entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            };
            let kind = match entry.header().entry_type() {
                EntryType::Regular | EntryType::Continuous => {
                    let (offset, size) = (entry.raw_file_position(), entry.size());
                    if offset.checked_add(size).is_none_or(|end| end > len) {
                        return Err(ArchiveError::Invalid {
                            what: "tar archive",
                            path: archive.to_path_buf(),
                            reason: format!(
                                "member {name:?} extends past the end of the file (truncated?)"
                            ),
                        });
                    }
                    MemberKind::File { offset, size }
                }
                EntryType::Directory => MemberKind::Dir,
                EntryType::Symlink => MemberKind::Symlink(link()),
                EntryType::Link => {
                    MemberKind::HardLink(normalize_name(&link()).map_err(unsafe_path)?)
                }
                // Global PAX headers carry no member.
                EntryType::XGlobalHeader => continue,
                other => MemberKind::Other(describe(other)),
            };
            if normalized.is_empty() && kind != MemberKind::Dir {
                return Err(unsafe_path("a non-directory entry names the archive root"));
            }
            members.insert(normalized, kind);
        }
        Ok(TarIndex {
            archive: archive.to_path_buf(),
            members,
        })
    }

    pub fn archive(&self) -> &Path {
        &self.archive
    }

    /// All members in name order.
    pub fn members(&self) -> impl Iterator<Item = (&str, &MemberKind)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn get(&self, name: &str) -> Option<&MemberKind> {
        normalize_name(name).ok().and_then(|n| self.members.get(&n))
    }

    /// The data (offset, size) of the regular file `name`, following links.
    pub fn locate(&self, name: &str) -> Result<(u64, u64)> {
        let unsafe_path = |reason| ArchiveError::UnsafePath {
            name: name.to_string(),
            path: self.archive.clone(),
            reason,
        };
        let mut current = normalize_name(name).map_err(unsafe_path)?;
        for _ in 0..MAX_LINK_HOPS {
            let kind = self
                .members
                .get(&current)
                .ok_or_else(|| ArchiveError::Missing {
                    what: "member",
                    name: current.clone(),
                    path: self.archive.clone(),
                })?;
            current = match kind {
                MemberKind::File { offset, size } => return Ok((*offset, *size)),
                MemberKind::Symlink(target) => {
                    resolve_symlink(&current, target).map_err(unsafe_path)?
                }
                MemberKind::HardLink(target) => target.clone(),
                MemberKind::Dir => {
                    return Err(ArchiveError::UnsupportedEntry {
                        name: current.clone(),
                        path: self.archive.clone(),
                        kind: "directory where a file is expected".into(),
                    })
                }
                MemberKind::Other(kind) => {
                    return Err(ArchiveError::UnsupportedEntry {
                        name: current.clone(),
                        path: self.archive.clone(),
                        kind: kind.clone(),
                    })
                }
            };
        }
        Err(unsafe_path("too many levels of links"))
    }
}

/// Entry point for a fuzz target: index arbitrary bytes as a tar and follow
/// every member's links.
pub fn fuzz_tar_index(data: &[u8]) {
    if let Ok(index) = TarIndex::build(io::Cursor::new(data), Path::new("<fuzz>")) {
        for (name, _) in index.members() {
            let _ = index.locate(name);
        }
    }
}

/// Reads one member's data from the archive with positional reads, so any
/// number of members can be read at once from one shared file handle.
#[derive(Debug, Clone)]
pub struct MemberReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl MemberReader {
    pub fn new(file: Arc<File>, offset: u64, size: u64) -> MemberReader {
        MemberReader {
            file,
            pos: offset,
            end: offset + size,
        }
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> u64 {
        self.end - self.pos
    }
}

impl Read for MemberReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.remaining()).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive file shrank while being read",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Cursor;

    /// Appends a raw header with any name and type, bypassing the tar crate's
    /// own path checks, so tests can build hostile archives.
    pub(crate) fn raw_entry(
        out: &mut Vec<u8>,
        name: &str,
        kind: EntryType,
        link: &str,
        data: &[u8],
    ) {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    pub(crate) fn finish(out: &mut Vec<u8>) {
        out.extend_from_slice(&[0u8; 1024]);
    }

    fn index(data: Vec<u8>) -> Result<TarIndex> {
        TarIndex::build(Cursor::new(data), Path::new("test.tar"))
    }

    #[test]
    fn normalizes_and_rejects_names() {
        assert_eq!(normalize_name("./a//b/").unwrap(), "a/b");
        assert_eq!(normalize_name("./").unwrap(), "");
        assert!(normalize_name("/etc/passwd").is_err());
        assert!(normalize_name("a/../../etc").is_err());
        assert!(normalize_name("..").is_err());
        assert_eq!(
            resolve_symlink("x/layer.tar", "../y/layer.tar").unwrap(),
            "y/layer.tar"
        );
        assert!(resolve_symlink("x/layer.tar", "../../etc/passwd").is_err());
        assert!(resolve_symlink("x", "/etc/passwd").is_err());
    }

    #[test]
    fn indexes_and_reads_members_in_place() {
        let mut t = Vec::new();
        raw_entry(&mut t, "./dir/", EntryType::Directory, "", b"");
        raw_entry(&mut t, "./dir/a.txt", EntryType::Regular, "", b"hello");
        raw_entry(
            &mut t,
            "b/layer.tar",
            EntryType::Symlink,
            "../dir/a.txt",
            b"",
        );
        raw_entry(&mut t, "c", EntryType::Link, "dir/a.txt", b"");
        raw_entry(&mut t, "loop", EntryType::Symlink, "loop", b"");
        finish(&mut t);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        std::fs::write(&path, &t).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let idx = TarIndex::build(&*file, &path).unwrap();
        assert_eq!(idx.get("dir"), Some(&MemberKind::Dir));
        for name in ["dir/a.txt", "./b/layer.tar", "c"] {
            let (off, size) = idx.locate(name).unwrap();
            let mut s = String::new();
            MemberReader::new(file.clone(), off, size)
                .read_to_string(&mut s)
                .unwrap();
            assert_eq!(s, "hello", "{name}");
        }
        assert!(matches!(
            idx.locate("loop"),
            Err(ArchiveError::UnsafePath { .. })
        ));
        assert!(matches!(
            idx.locate("nope"),
            Err(ArchiveError::Missing { .. })
        ));
        assert!(matches!(
            idx.locate("dir"),
            Err(ArchiveError::UnsupportedEntry { .. })
        ));
    }

    #[test]
    fn rejects_hostile_and_corrupt_archives() {
        for (name, kind, link) in [
            ("../evil", EntryType::Regular, ""),
            ("/abs", EntryType::Regular, ""),
            ("a/../../b", EntryType::Directory, ""),
            ("h", EntryType::Link, "../../etc/shadow"),
        ] {
            let mut t = Vec::new();
            raw_entry(&mut t, name, kind, link, b"x");
            finish(&mut t);
            assert!(
                matches!(index(t), Err(ArchiveError::UnsafePath { .. })),
                "{name} -> {link} accepted"
            );
        }
        // A symlink out of the archive is recorded but cannot be followed.
        let mut t = Vec::new();
        raw_entry(&mut t, "s", EntryType::Symlink, "../../etc/passwd", b"");
        finish(&mut t);
        assert!(matches!(
            index(t).unwrap().locate("s"),
            Err(ArchiveError::UnsafePath { .. })
        ));

        let mut t = Vec::new();
        raw_entry(&mut t, "big", EntryType::Regular, "", &[7u8; 2000]);
        t.truncate(1024);
        assert!(index(t).is_err(), "truncated member accepted");
        assert!(index(b"definitely not a tar file".repeat(40)).is_err());
    }

    #[test]
    fn fuzz_entry_point_survives_garbage() {
        let mut t = Vec::new();
        raw_entry(&mut t, "a", EntryType::Symlink, "b", b"");
        raw_entry(&mut t, "b", EntryType::Link, "a", b"");
        finish(&mut t);
        for data in [&t[..], b"", &[0u8; 512], &[0xffu8; 1536], &t[..700]] {
            fuzz_tar_index(data);
        }
    }
}

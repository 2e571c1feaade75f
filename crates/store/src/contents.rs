//! The record of what an unpacked layer contains (`layers/<id>/contents.json`):
//! one entry per file, directory, link and node under `diff/`, with what
//! `check` compares later. Written when the layer is unpacked, into the
//! layer's temporary directory, so the rename that publishes the layer
//! publishes its record with it; `layer.json` holds the record's digest.
//!
//! File digests come from the extraction itself (hashed while writing); the
//! record is then built from one metadata walk of the fresh tree, so it
//! describes what is really on disk after replacements, hardlinks, whiteouts
//! and directory fix-ups, without reading any file again.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use hoist_image::Digest;
use serde::{Deserialize, Serialize};

use crate::content_digest::{ContentAlgorithm, ContentDigest, ContentHasher};

pub(crate) const CONTENTS_JSON: &str = "contents.json";
/// 2: file digests are BLAKE3 (see [`crate::content_digest`]); 1: sha256.
const VERSION: u32 = 2;
/// Labels the host's security module adds on its own; not the layer's.
const IGNORED_XATTRS: [&[u8]; 1] = [b"security.selinux"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink,
    Char,
    Block,
    Fifo,
    Socket,
}

/// One object under `diff/`. Paths, link targets and xattr names are
/// escaped (see [`escape`]) so any byte string survives JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) path: String,
    #[serde(rename = "type")]
    pub(crate) kind: Kind,
    /// Permission bits with setuid, setgid and sticky.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) digest: Option<ContentDigest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) target: Option<String>,
    /// `[major, minor]` of a device node (whiteouts are `[0, 0]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rdev: Option<[u32; 2]>,
    /// Escaped name -> hex value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) xattrs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Contents {
    pub(crate) version: u32,
    pub(crate) entries: Vec<Entry>,
}

impl Contents {
    /// The algorithm of this record's file digests, for checking them.
    pub(crate) fn content_algorithm(&self) -> ContentAlgorithm {
        match self.version {
            1 => ContentAlgorithm::Sha256,
            _ => ContentAlgorithm::Blake3,
        }
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        // Serializing plain strings, numbers and maps cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Walks `diff` (without following symlinks) and records every object.
/// `digest_of` gives the content digest of a regular file.
pub(crate) fn scan(
    diff: &Path,
    digest_of: &mut dyn FnMut(&Path, &std::fs::Metadata) -> io::Result<ContentDigest>,
) -> io::Result<Contents> {
    let mut entries = Vec::new();
    let mut stack = vec![(diff.to_path_buf(), b".".to_vec())];
    while let Some((path, rel)) = stack.pop() {
        let m = std::fs::symlink_metadata(&path)?;
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File
        } else if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_char_device() {
            Kind::Char
        } else if ft.is_block_device() {
            Kind::Block
        } else if ft.is_fifo() {
            Kind::Fifo
        } else {
            Kind::Socket
        };
        let mut e = Entry {
            path: escape(&rel),
            kind,
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            size: None,
            digest: None,
            target: None,
            rdev: None,
            xattrs: xattrs(&path)?,
        };
        match kind {
            Kind::File => {
                e.size = Some(m.len());
                e.digest = Some(digest_of(&path, &m)?);
            }
            Kind::Symlink => {
                e.target = Some(escape(std::fs::read_link(&path)?.as_os_str().as_bytes()))
            }
            Kind::Char | Kind::Block => {
                e.rdev = Some([rustix::fs::major(m.rdev()), rustix::fs::minor(m.rdev())])
            }
            Kind::Dir => {
                for child in std::fs::read_dir(&path)? {
                    let child = child?;
                    let name = child.file_name();
                    let child_rel = if rel == b"." {
                        name.as_bytes().to_vec()
                    } else {
                        [&rel[..], b"/", name.as_bytes()].concat()
                    };
                    stack.push((child.path(), child_rel));
                }
            }
            _ => {}
        }
        entries.push(e);
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Contents {
        version: VERSION,
        entries,
    })
}

/// The digests recorded during extraction, falling back to reading the file
/// (which only a file the extraction did not write would need).
pub(crate) fn known_digests(
    known: &HashMap<(u64, u64), ContentDigest>,
) -> impl FnMut(&Path, &std::fs::Metadata) -> io::Result<ContentDigest> + '_ {
    move |path, m| match known.get(&(m.dev(), m.ino())) {
        Some(d) => Ok(d.clone()),
        None => {
            tracing::debug!(path = %path.display(), "file not hashed during extraction; reading it");
            hash_file(path, ContentAlgorithm::CURRENT)
        }
    }
}

/// Hashes every file it is asked about with `algorithm`, once per inode.
pub(crate) fn hashing_digests(
    algorithm: ContentAlgorithm,
) -> impl FnMut(&Path, &std::fs::Metadata) -> io::Result<ContentDigest> {
    let mut seen: HashMap<(u64, u64), ContentDigest> = HashMap::new();
    move |path, m| {
        if let Some(d) = seen.get(&(m.dev(), m.ino())) {
            return Ok(d.clone());
        }
        let d = hash_file(path, algorithm)?;
        seen.insert((m.dev(), m.ino()), d.clone());
        Ok(d)
    }
}

fn hash_file(path: &Path, algorithm: ContentAlgorithm) -> io::Result<ContentDigest> {
    // O_NOFOLLOW: the walk saw a regular file here; never read through a
    // symlink someone put in its place since.
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)?;
    let mut h = ContentHasher::new(algorithm);
    io::copy(&mut f, &mut h)?;
    Ok(h.finish())
}

fn xattrs(path: &Path) -> io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let names = match read_sized(|buf| rustix::fs::llistxattr(path, buf)) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOTSUP.raw_os_error()) => {
            return Ok(out)
        }
        Err(e) => return Err(e),
    };
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        if IGNORED_XATTRS.contains(&name) {
            continue;
        }
        let value = match read_sized(|buf| rustix::fs::lgetxattr(path, name, buf)) {
            Ok(v) => v,
            // Removed between the listing and now: it is not there.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NODATA.raw_os_error()) => {
                continue
            }
            Err(e) => return Err(e),
        };
        out.insert(escape(name), hex::encode(value));
    }
    Ok(out)
}

/// Calls an xattr syscall with a growing buffer until the value fits.
fn read_sized(mut call: impl FnMut(&mut [u8]) -> rustix::io::Result<usize>) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        match call(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::RANGE) if buf.len() < 1 << 20 => {
                let len = buf.len() * 4;
                buf.resize(len, 0);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Bytes as a JSON-safe string: valid UTF-8 is kept, `%` and every byte of
/// invalid UTF-8 become `%XX`.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The differences between what was recorded and what is there now, as
/// sentences naming the path; empty if none.
pub(crate) fn compare(recorded: &Contents, now: &Contents) -> Vec<String> {
    let old: BTreeMap<&str, &Entry> = recorded
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    let new: BTreeMap<&str, &Entry> = now.entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut out = Vec::new();
    for (path, was) in &old {
        match new.get(path) {
            None => out.push(format!("/{path} was deleted")),
            Some(is) if is != was => {
                let mut what = Vec::new();
                if is.kind != was.kind {
                    what.push("type");
                }
                if is.digest != was.digest || is.size != was.size {
                    what.push("content");
                }
                if is.mode != was.mode {
                    what.push("mode");
                }
                if (is.uid, is.gid) != (was.uid, was.gid) {
                    what.push("owner");
                }
                if is.target != was.target {
                    what.push("symlink target");
                }
                if is.rdev != was.rdev {
                    what.push("device number");
                }
                if is.xattrs != was.xattrs {
                    what.push("xattrs");
                }
                out.push(format!("/{path} changed ({})", what.join(", ")));
            }
            Some(_) => {}
        }
    }
    for path in new.keys().filter(|p| !old.contains_key(*p)) {
        out.push(format!("/{path} was added"));
    }
    out
}

/// Reads and parses a contents record, checking it against `digest`.
pub(crate) fn read(path: &Path, digest: &Digest) -> Result<Contents, String> {
    let mut bytes = Vec::new();
    io::Read::read_to_end(
        &mut File::open(path).map_err(|e| format!("cannot read its contents record: {e}"))?,
        &mut bytes,
    )
    .map_err(|e| format!("cannot read its contents record: {e}"))?;
    if &digest.same_algorithm_of(&bytes) != digest {
        return Err("its contents record was changed".into());
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("its contents record is unreadable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_utf8_and_marks_other_bytes() {
        assert_eq!(escape(b"usr/bin/sh"), "usr/bin/sh");
        assert_eq!(escape("é%".as_bytes()), "é%25");
        assert_eq!(escape(b"a\xffb"), "a%FFb");
        assert_ne!(escape(b"%FF"), escape(b"\xff"), "escapes cannot collide");
    }

    #[test]
    fn scan_and_compare_see_every_kind_of_change() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::create_dir(p.join("etc")).unwrap();
        std::fs::write(p.join("etc/a"), b"one").unwrap();
        std::fs::write(p.join("etc/b"), b"two").unwrap();
        std::os::unix::fs::symlink("a", p.join("etc/l")).unwrap();
        let before = scan(p, &mut hashing_digests(ContentAlgorithm::CURRENT)).unwrap();
        assert_eq!(
            before
                .entries
                .iter()
                .map(|e| e.path.as_str())
                .collect::<Vec<_>>(),
            [".", "etc", "etc/a", "etc/b", "etc/l"]
        );
        let json = before.to_json();
        let back: Contents = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, before);
        assert!(compare(
            &before,
            &scan(p, &mut hashing_digests(ContentAlgorithm::CURRENT)).unwrap()
        )
        .is_empty());

        std::fs::write(p.join("etc/a"), b"ONE").unwrap();
        std::fs::remove_file(p.join("etc/b")).unwrap();
        std::fs::write(p.join("etc/new"), b"").unwrap();
        std::fs::remove_file(p.join("etc/l")).unwrap();
        std::os::unix::fs::symlink("/elsewhere", p.join("etc/l")).unwrap();
        let diffs = compare(
            &before,
            &scan(p, &mut hashing_digests(ContentAlgorithm::CURRENT)).unwrap(),
        );
        assert_eq!(
            diffs,
            [
                "/etc/a changed (content)",
                "/etc/b was deleted",
                "/etc/l changed (symlink target)",
                "/etc/new was added"
            ]
        );
    }
}

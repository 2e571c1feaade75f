//! `oci-archive:FILE[:TAG]`: a tar of an OCI layout directory.
//!
//! Reading extracts the layout into a directory the caller provides (usually
//! a fresh temporary one) because layout consumers want random access to
//! blobs by path. Extraction accepts only regular files and directories, with
//! names inside the archive; everything is checked before anything is written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hoist_image::Digest;

use crate::error::{io_err, ArchiveError, Result};
use crate::oci_layout::{copy_hashing, OciLayout, BLOBS_DIR, INDEX_FILE, LAYOUT_FILE};
use crate::tarindex::{MemberKind, MemberReader, TarIndex};
use crate::tarwrite::TarWriter;
use hoist_fsutil::AtomicFile;

pub struct OciArchive;

impl OciArchive {
    /// Extracts the OCI layout archived in `file` into the directory `into`
    /// (which must exist and should be empty, e.g. a `tempfile::TempDir`), and
    /// opens it. Links, devices and names escaping the archive are refused
    /// before anything is written; existing files in `into` are never
    /// overwritten.
    pub fn extract(file: impl AsRef<Path>, into: impl AsRef<Path>) -> Result<OciLayout> {
        let (file, into) = (file.as_ref(), into.as_ref());
        let f = Arc::new(File::open(file).map_err(io_err("open", file))?);
        let index = TarIndex::build(&*f, file)?;
        for (name, kind) in index.members() {
            if !matches!(kind, MemberKind::File { .. } | MemberKind::Dir) {
                let kind = match kind {
                    MemberKind::Symlink(t) => format!("symbolic link to {t:?}"),
                    MemberKind::HardLink(t) => format!("hard link to {t:?}"),
                    MemberKind::Other(k) => k.clone(),
                    MemberKind::File { .. } | MemberKind::Dir => unreachable!("filtered above"),
                };
                return Err(ArchiveError::UnsupportedEntry {
                    name: name.to_string(),
                    path: file.to_path_buf(),
                    kind,
                });
            }
        }
        for (name, kind) in index.members() {
            // Names are normalized and free of "..", and no links are created,
            // so every path stays under `into`.
            let dest = into.join(name);
            match kind {
                MemberKind::Dir => {
                    fs::create_dir_all(&dest).map_err(io_err("create directory", &dest))?
                }
                MemberKind::File { offset, size } => {
                    if let Some(parent) = dest.parent() {
                        fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
                    }
                    let mut out = OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o644)
                        .open(&dest)
                        .map_err(io_err("create", &dest))?;
                    let mut data = MemberReader::new(f.clone(), *offset, *size);
                    copy_hashing(&mut data, &mut out, None).map_err(io_err("extract", &dest))?;
                }
                _ => unreachable!("checked above"),
            }
        }
        tracing::debug!(archive = %file.display(), into = %into.display(), "extracted oci-archive");
        OciLayout::open(into).map_err(|e| match e {
            ArchiveError::NotLayout { reason, .. } => ArchiveError::NotLayout {
                path: file.to_path_buf(),
                reason,
            },
            e => e,
        })
    }

    /// Archives the layout in `layout_dir` into `file`, replacing it atomically.
    /// Only oci-layout, index.json and files under blobs/ named by a valid
    /// digest are archived (stray temporary files are left out), in sorted
    /// order with fixed metadata, so equal layouts give identical archives.
    pub fn write(layout_dir: impl AsRef<Path>, file: impl AsRef<Path>) -> Result<()> {
        let (layout_dir, file) = (layout_dir.as_ref(), file.as_ref());
        let layout = OciLayout::open(layout_dir)?;
        let mut out = AtomicFile::create(file, 0o644)?;
        let mut tar = TarWriter::new(BufWriter::new(out.file()));
        let write_err = |e| ArchiveError::from_io("write", file, e);
        for name in [LAYOUT_FILE, INDEX_FILE] {
            let path = layout.root().join(name);
            let bytes = fs::read(&path).map_err(io_err("read", &path))?;
            tar.add_bytes(name, &bytes).map_err(write_err)?;
        }
        tar.add_dir(BLOBS_DIR).map_err(write_err)?;
        for (alg, blobs) in blob_files(&layout)? {
            tar.add_dir(&format!("{BLOBS_DIR}/{alg}"))
                .map_err(write_err)?;
            for (hex, path) in blobs {
                let f = File::open(&path).map_err(io_err("open", &path))?;
                let size = f.metadata().map_err(io_err("stat", &path))?.len();
                tar.add_reader(&format!("{BLOBS_DIR}/{alg}/{hex}"), size, f)
                    .map_err(write_err)?;
            }
        }
        let buf = tar.finish().map_err(write_err)?;
        buf.into_inner()
            .map_err(|e| io_err("write", file)(e.into_error()))?;
        Ok(out.commit()?)
    }
}

/// The layout's blob files by algorithm directory, sorted, skipping anything
/// that is not a regular file named by a valid digest.
/// (algorithm, [(hex, path)]) pairs.
type BlobFiles = Vec<(String, Vec<(String, PathBuf)>)>;

fn blob_files(layout: &OciLayout) -> Result<BlobFiles> {
    let blobs = layout.root().join(BLOBS_DIR);
    let mut out = Vec::new();
    for alg in sorted_dir(&blobs)? {
        let alg_dir = blobs.join(&alg);
        if !fs::symlink_metadata(&alg_dir).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let mut files = Vec::new();
        for hex in sorted_dir(&alg_dir)? {
            let path = alg_dir.join(&hex);
            let valid = format!("{alg}:{hex}").parse::<Digest>().is_ok();
            if !valid || !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                tracing::warn!(path = %path.display(), "not archiving a file that is not a blob");
                continue;
            }
            files.push((hex, path));
        }
        out.push((alg, files));
    }
    Ok(out)
}

fn sorted_dir(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(io_err("read directory", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err("read directory", dir))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tarindex::tests::{finish, raw_entry};
    use crate::testutil::{sample_layout, tree};
    use tar::EntryType;

    #[test]
    fn round_trips_deterministically() {
        let dir = tempfile::tempdir().unwrap();
        let s = sample_layout(&dir.path().join("layout"), Some("v1"));
        // A stray temporary file must not be archived.
        fs::write(dir.path().join("layout/blobs/sha256/.tmpXYZ"), b"junk").unwrap();
        let a = dir.path().join("a.tar");
        let b = dir.path().join("b.tar");
        OciArchive::write(s.layout.root(), &a).unwrap();
        OciArchive::write(s.layout.root(), &b).unwrap();
        assert_eq!(
            fs::read(&a).unwrap(),
            fs::read(&b).unwrap(),
            "archive not deterministic"
        );

        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        let l = OciArchive::extract(&a, &out).unwrap();
        let desc = l.resolve(Some("v1")).unwrap();
        assert_eq!(desc.digest, s.manifest.digest);
        l.read_manifest(&desc).unwrap();
        for d in &s.layer_descs {
            assert_eq!(
                l.read_blob(&d.digest).unwrap(),
                s.layout.read_blob(&d.digest).unwrap()
            );
        }
        assert!(
            !tree(&out).iter().any(|p| p.contains(".tmp")),
            "{:?}",
            tree(&out)
        );
        assert_eq!(
            tree(&out),
            tree(s.layout.root())
                .into_iter()
                .filter(|p| !p.contains(".tmp"))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn output_is_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.tar");
        fs::write(&target, b"previous").unwrap();
        // Not a layout: the previous file must survive untouched.
        assert!(OciArchive::write(dir.path().join("missing"), &target).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"previous");
        assert_eq!(tree(dir.path()), ["out.tar"]);
    }

    #[test]
    fn hostile_archives_write_nothing() {
        let cases: &[(&str, EntryType, &str)] = &[
            ("../evil", EntryType::Regular, ""),
            ("/tmp/abs", EntryType::Regular, ""),
            ("blobs/../../x", EntryType::Regular, ""),
            ("blobs", EntryType::Symlink, "/tmp"),
            ("blobs/sha256/x", EntryType::Link, "oci-layout"),
            ("fifo", EntryType::Fifo, ""),
            ("dev", EntryType::Char, ""),
        ];
        for (name, kind, link) in cases {
            let dir = tempfile::tempdir().unwrap();
            let mut t = Vec::new();
            raw_entry(
                &mut t,
                "oci-layout",
                EntryType::Regular,
                "",
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            );
            raw_entry(
                &mut t,
                "index.json",
                EntryType::Regular,
                "",
                br#"{"schemaVersion":2,"manifests":[]}"#,
            );
            raw_entry(&mut t, name, *kind, link, b"payload");
            raw_entry(&mut t, "blobs/sha256/after", EntryType::Regular, "", b"x");
            finish(&mut t);
            let file = dir.path().join("evil.tar");
            fs::write(&file, &t).unwrap();
            let into = dir.path().join("into");
            fs::create_dir(&into).unwrap();
            let e = OciArchive::extract(&file, &into).unwrap_err();
            assert!(
                matches!(
                    e,
                    ArchiveError::UnsafePath { .. } | ArchiveError::UnsupportedEntry { .. }
                ),
                "{name}: {e}"
            );
            assert_eq!(
                tree(dir.path()),
                ["evil.tar", "into"],
                "{name}: something was written"
            );
        }
    }

    #[test]
    fn non_layout_archive_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Vec::new();
        raw_entry(
            &mut t,
            "index.json",
            EntryType::Regular,
            "",
            br#"{"schemaVersion":2,"manifests":[]}"#,
        );
        finish(&mut t);
        let file = dir.path().join("x.tar");
        fs::write(&file, &t).unwrap();
        let into = tempfile::tempdir().unwrap();
        let e = OciArchive::extract(&file, into.path()).unwrap_err();
        assert!(
            matches!(&e, ArchiveError::NotLayout { path, .. } if path == &file),
            "{e}"
        );
    }
}

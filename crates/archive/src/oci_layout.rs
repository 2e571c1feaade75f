//! `oci:DIR[:TAG]`: an OCI image layout directory.
//!
//! ```text
//! DIR/oci-layout          {"imageLayoutVersion":"1.0.0"}
//! DIR/index.json          an image index; entries are tagged with the
//!                         org.opencontainers.image.ref.name annotation
//! DIR/blobs/<alg>/<hex>   content-addressed blobs
//! ```
//!
//! Blobs are written to a temporary file, verified, then renamed, so a blob
//! file that exists is complete. index.json is replaced atomically. There is no
//! locking: concurrent writers to one layout may lose each other's index
//! entries (podman/skopeo behave the same way).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use hoist_image::manifest::{Descriptor, ImageIndex, Manifest, MAX_MANIFEST_BYTES};
use hoist_image::{media, Digest, Hasher};
use serde::{Deserialize, Serialize};

use crate::error::{io_err, ArchiveError, Result};
use crate::verify::{verify_bytes, VerifyingReader};
use hoist_fsutil::AtomicFile;

pub const LAYOUT_FILE: &str = "oci-layout";
pub const INDEX_FILE: &str = "index.json";
pub const BLOBS_DIR: &str = "blobs";
pub const LAYOUT_VERSION: &str = "1.0.0";
/// The annotation that carries an index entry's tag.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Upper bound for blobs read into memory ([`OciLayout::read_blob`]): configs
/// and manifests. Layers are streamed instead.
pub const MAX_SMALL_BLOB_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct LayoutFile {
    #[serde(rename = "imageLayoutVersion")]
    image_layout_version: String,
}

/// An open OCI layout directory.
#[derive(Debug, Clone)]
pub struct OciLayout {
    root: PathBuf,
}

/// Checks a tag against the OCI grammar for `org.opencontainers.image.ref.name`:
/// components of alphanumerics joined by `-._:@+` or `--`, separated by `/`.
pub fn validate_tag(tag: &str) -> Result<()> {
    let bad = |reason| ArchiveError::InvalidTag {
        tag: tag.to_string(),
        reason,
    };
    if tag.is_empty() {
        return Err(bad("empty"));
    }
    if tag.len() > 1024 {
        return Err(bad("longer than 1024 characters"));
    }
    for component in tag.split('/') {
        let b = component.as_bytes();
        let sep = |c: u8| matches!(c, b'-' | b'.' | b'_' | b':' | b'@' | b'+');
        if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric()
        {
            return Err(bad(
                "each '/'-separated part must start and end with a letter or digit",
            ));
        }
        if !b.iter().all(|&c| c.is_ascii_alphanumeric() || sep(c)) {
            return Err(bad("only letters, digits and - . _ : @ + / are allowed"));
        }
        // Separators are single characters, except "--".
        if b.windows(2)
            .any(|w| sep(w[0]) && sep(w[1]) && !(w[0] == b'-' && w[1] == b'-'))
            || b.windows(3).any(|w| w.iter().all(|&c| c == b'-'))
        {
            return Err(bad("separators may not repeat (except \"--\")"));
        }
    }
    Ok(())
}

/// Parses and checks index.json bytes from an untrusted layout.
pub fn parse_index(bytes: &[u8], path: &Path) -> Result<ImageIndex> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(ArchiveError::TooLarge {
            what: INDEX_FILE.into(),
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit: MAX_MANIFEST_BYTES as u64,
        });
    }
    let index: ImageIndex = serde_json::from_slice(bytes).map_err(|source| ArchiveError::Json {
        what: INDEX_FILE,
        path: path.to_path_buf(),
        source,
    })?;
    if index.schema_version != 2 {
        return Err(ArchiveError::Invalid {
            what: INDEX_FILE,
            path: path.to_path_buf(),
            reason: format!("schemaVersion is {}, expected 2", index.schema_version),
        });
    }
    Ok(index)
}

/// The tags of an index's entries, in index order.
fn tags_of(index: &ImageIndex) -> Vec<String> {
    index
        .manifests
        .iter()
        .filter_map(|d| d.annotation(REF_NAME).map(str::to_string))
        .collect()
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

impl OciLayout {
    /// Opens an existing layout, checking its oci-layout file and index.json.
    pub fn open(dir: impl AsRef<Path>) -> Result<OciLayout> {
        let root = dir.as_ref().to_path_buf();
        let not_layout = |reason: String| ArchiveError::NotLayout {
            path: root.clone(),
            reason,
        };
        let layout_path = root.join(LAYOUT_FILE);
        let bytes = match fs::read(&layout_path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(not_layout(format!("no {LAYOUT_FILE} file")))
            }
            Err(e) => return Err(io_err("read", &layout_path)(e)),
        };
        let lf: LayoutFile =
            serde_json::from_slice(&bytes).map_err(|source| ArchiveError::Json {
                what: LAYOUT_FILE,
                path: layout_path.clone(),
                source,
            })?;
        if !lf.image_layout_version.starts_with("1.") {
            return Err(not_layout(format!(
                "unsupported imageLayoutVersion {:?} (expected {LAYOUT_VERSION})",
                lf.image_layout_version
            )));
        }
        let layout = OciLayout { root };
        layout.index()?;
        Ok(layout)
    }

    /// Opens the layout at `dir`, creating it if `dir` does not exist or is
    /// empty. A non-empty directory that is not a layout is refused rather than
    /// written into.
    pub fn create_or_open(dir: impl AsRef<Path>) -> Result<OciLayout> {
        let root = dir.as_ref();
        if root.join(LAYOUT_FILE).exists() {
            return OciLayout::open(root);
        }
        match fs::read_dir(root) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(ArchiveError::NotLayout {
                        path: root.to_path_buf(),
                        reason: format!(
                            "the directory is not empty and has no {LAYOUT_FILE} file; use a new or empty directory"
                        ),
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(root).map_err(io_err("create directory", root))?;
            }
            Err(e) => return Err(io_err("read directory", root)(e)),
        }
        let blobs = root.join(BLOBS_DIR).join("sha256");
        fs::create_dir_all(&blobs).map_err(io_err("create directory", &blobs))?;
        let empty = ImageIndex {
            schema_version: 2,
            media_type: Some(media::OCI_INDEX.to_string()),
            manifests: Vec::new(),
            annotations: None,
        };
        let layout = OciLayout {
            root: root.to_path_buf(),
        };
        layout.write_index(&empty)?;
        // oci-layout last: its presence marks a complete layout.
        let lf = serde_json::to_vec(&LayoutFile {
            image_layout_version: LAYOUT_VERSION.to_string(),
        })
        .expect("serializing a plain struct cannot fail");
        hoist_fsutil::write_file(&root.join(LAYOUT_FILE), &lf, 0o644)?;
        Ok(layout)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The parsed index.json.
    pub fn index(&self) -> Result<ImageIndex> {
        let path = self.root.join(INDEX_FILE);
        let bytes = read_bounded(&path, MAX_MANIFEST_BYTES as u64, INDEX_FILE)?;
        parse_index(&bytes, &path)
    }

    /// The tags (ref.name annotations) of the index's entries, in index order.
    pub fn tags(&self) -> Result<Vec<String>> {
        Ok(tags_of(&self.index()?))
    }

    /// The index entry for `tag`; with no tag, the only entry (an error lists
    /// the tags when there are several).
    pub fn resolve(&self, tag: Option<&str>) -> Result<Descriptor> {
        let index = self.index()?;
        let available = list(&tags_of(&index));
        match tag {
            Some(tag) => {
                let mut found = index
                    .manifests
                    .iter()
                    .filter(|d| d.annotation(REF_NAME) == Some(tag));
                match (found.next(), found.next()) {
                    (Some(d), None) => Ok(d.clone()),
                    (Some(_), Some(_)) => Err(ArchiveError::Invalid {
                        what: INDEX_FILE,
                        path: self.root.join(INDEX_FILE),
                        reason: format!("more than one entry is tagged {tag:?}"),
                    }),
                    (None, _) => Err(ArchiveError::NotFound {
                        wanted: tag.to_string(),
                        path: self.root.clone(),
                        available,
                    }),
                }
            }
            None => match index.manifests.len() {
                0 => Err(ArchiveError::Empty {
                    path: self.root.clone(),
                }),
                1 => Ok(index.manifests[0].clone()),
                count => Err(ArchiveError::Ambiguous {
                    path: self.root.clone(),
                    count,
                    available: format!("tags: {available}; use oci:DIR:TAG"),
                }),
            },
        }
    }

    /// Where the blob `digest` lives (whether or not it exists). The digest's
    /// hex is validated, so the path cannot leave the layout.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join(BLOBS_DIR)
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    fn missing(&self, digest: &Digest) -> ArchiveError {
        ArchiveError::Missing {
            what: "blob",
            name: digest.to_string(),
            path: self.root.clone(),
        }
    }

    /// Opens a blob for streaming, without verification (see [`Self::open_blob_verified`]).
    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => self.missing(digest),
            _ => io_err("open", &path)(e),
        })
    }

    /// Opens a blob behind a reader that fails at end of stream if the content
    /// does not hash to `digest`.
    pub fn open_blob_verified(&self, digest: &Digest) -> Result<VerifyingReader<File>> {
        let f = self.open_blob(digest)?;
        Ok(VerifyingReader::new(
            f,
            digest.clone(),
            format!("blob {digest} in {}", self.root.display()),
        ))
    }

    /// Reads a small blob (at most [`MAX_SMALL_BLOB_BYTES`]) and verifies its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.read_blob_limited(digest, MAX_SMALL_BLOB_BYTES)
    }

    fn read_blob_limited(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        if !path.is_file() {
            return Err(self.missing(digest));
        }
        let bytes = read_bounded(&path, limit, &format!("blob {digest}"))?;
        verify_bytes(
            &format!("blob {digest} in {}", self.root.display()),
            &bytes,
            digest,
        )?;
        Ok(bytes)
    }

    /// Reads, verifies (digest and size) and parses the manifest or index `desc` points to.
    pub fn read_manifest(&self, desc: &Descriptor) -> Result<(Vec<u8>, Manifest)> {
        let bytes = self.read_blob_limited(&desc.digest, MAX_MANIFEST_BYTES as u64)?;
        if bytes.len() as u64 != desc.size {
            return Err(ArchiveError::SizeMismatch {
                what: format!("manifest {} in {}", desc.digest, self.root.display()),
                expected: desc.size,
                actual: bytes.len() as u64,
            });
        }
        let manifest =
            Manifest::parse(&bytes, &desc.media_type).map_err(|source| ArchiveError::Manifest {
                digest: desc.digest.clone(),
                path: self.root.clone(),
                source,
            })?;
        Ok((bytes, manifest))
    }

    /// Stores the content of `reader` as blob `expected`, returning its size.
    /// The content goes to a temporary file and is renamed into place only if
    /// it matches. A blob already present is kept and `reader` is not read.
    pub fn write_blob_from(&self, reader: impl Read, expected: &Digest) -> Result<u64> {
        let path = self.blob_path(expected);
        if let Ok(meta) = fs::metadata(&path) {
            if meta.is_file() {
                return Ok(meta.len());
            }
        }
        let dir = path.parent().expect("blob paths have a parent");
        fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        let mut out = AtomicFile::create(&path, 0o644)?;
        let mut hasher = Hasher::new(expected.algorithm());
        let size = copy_hashing(reader, out.file(), Some(&mut hasher))
            .map_err(|e| ArchiveError::from_io("write blob", &path, e))?;
        let actual = hasher.finish();
        if &actual != expected {
            return Err(ArchiveError::DigestMismatch {
                what: format!("blob being written to {}", self.root.display()),
                expected: expected.clone(),
                actual,
            });
        }
        out.commit()?;
        Ok(size)
    }

    /// Stores `bytes` as a sha256 blob and returns its digest (the size is `bytes.len()`).
    pub fn write_blob_bytes(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::sha256_of(bytes);
        self.write_blob_from(bytes, &digest)?;
        Ok(digest)
    }

    /// Adds `desc` to index.json. With a tag, the entry is annotated with it
    /// and replaces any entry with the same tag; without one, an untagged entry
    /// with the same digest is replaced. The blob should already be written.
    pub fn add_manifest(&self, mut desc: Descriptor, tag: Option<&str>) -> Result<()> {
        if let Some(tag) = tag {
            validate_tag(tag)?;
            desc.annotations
                .get_or_insert_with(Default::default)
                .insert(REF_NAME.to_string(), tag.to_string());
        } else if let Some(a) = desc.annotations.as_mut() {
            a.remove(REF_NAME);
        }
        let mut index = self.index()?;
        let digest = desc.digest.clone();
        let same = move |d: &Descriptor| match tag {
            Some(t) => d.annotation(REF_NAME) == Some(t),
            None => d.annotation(REF_NAME).is_none() && d.digest == digest,
        };
        match index.manifests.iter().position(&same) {
            Some(i) => {
                index.manifests[i] = desc;
                index.manifests.retain({
                    let mut seen = false;
                    move |d| !(same(d) && std::mem::replace(&mut seen, true))
                });
            }
            None => index.manifests.push(desc),
        }
        self.write_index(&index)
    }

    /// Removes the entry tagged `tag`; returns whether there was one.
    pub fn remove_tag(&self, tag: &str) -> Result<bool> {
        let mut index = self.index()?;
        let before = index.manifests.len();
        index
            .manifests
            .retain(|d| d.annotation(REF_NAME) != Some(tag));
        if index.manifests.len() == before {
            return Ok(false);
        }
        self.write_index(&index)?;
        Ok(true)
    }

    fn write_index(&self, index: &ImageIndex) -> Result<()> {
        let bytes = serde_json::to_vec(index).expect("an index always serializes");
        Ok(hoist_fsutil::write_file(
            &self.root.join(INDEX_FILE),
            &bytes,
            0o644,
        )?)
    }
}

/// Copies `reader` into `out` with a large buffer (member readers make one
/// system call per read), hashing on the way if asked; returns the byte count.
pub(crate) fn copy_hashing(
    mut reader: impl Read,
    out: &mut impl Write,
    mut hasher: Option<&mut Hasher>,
) -> io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&buf[..n]);
        }
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
    Ok(total)
}

/// Reads a whole file, refusing files over `limit` bytes without reading them.
pub(crate) fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let f = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ArchiveError::Missing {
            what: "file",
            name: what.to_string(),
            path: path.parent().unwrap_or(path).to_path_buf(),
        },
        _ => io_err("open", path)(e),
    })?;
    let mut bytes = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err("read", path))?;
    if bytes.len() as u64 > limit {
        return Err(ArchiveError::TooLarge {
            what: what.to_string(),
            path: path.to_path_buf(),
            size: fs::metadata(path)
                .map(|m| m.len())
                .unwrap_or(bytes.len() as u64),
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{sample_layout, tree};

    #[test]
    fn creates_opens_and_refuses_non_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("new/layout");
        let l = OciLayout::create_or_open(&root).unwrap();
        assert_eq!(
            tree(&root),
            ["blobs", "blobs/sha256", "index.json", "oci-layout"]
        );
        assert_eq!(
            fs::read_to_string(root.join(LAYOUT_FILE)).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
        assert!(l.index().unwrap().manifests.is_empty());
        OciLayout::open(&root).unwrap();
        OciLayout::create_or_open(&root).unwrap();

        let other = dir.path().join("other");
        fs::create_dir(&other).unwrap();
        fs::write(other.join("precious.txt"), b"x").unwrap();
        let e = OciLayout::create_or_open(&other).unwrap_err();
        assert!(matches!(e, ArchiveError::NotLayout { .. }), "{e}");
        assert_eq!(
            tree(&other),
            ["precious.txt"],
            "wrote into a foreign directory"
        );
        assert!(matches!(
            OciLayout::open(&other),
            Err(ArchiveError::NotLayout { .. })
        ));

        fs::write(root.join(LAYOUT_FILE), br#"{"imageLayoutVersion":"2.0.0"}"#).unwrap();
        assert!(OciLayout::open(&root)
            .unwrap_err()
            .to_string()
            .contains("2.0.0"));
        fs::write(root.join(LAYOUT_FILE), b"{").unwrap();
        assert!(matches!(
            OciLayout::open(&root),
            Err(ArchiveError::Json { .. })
        ));
    }

    #[test]
    fn malformed_index_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let l = OciLayout::create_or_open(dir.path()).unwrap();
        fs::write(
            dir.path().join(INDEX_FILE),
            b"{\"schemaVersion\":2,\"manifests\":[{]}",
        )
        .unwrap();
        let e = l.resolve(None).unwrap_err();
        assert!(e.to_string().contains("malformed index.json"), "{e}");
        fs::write(
            dir.path().join(INDEX_FILE),
            br#"{"schemaVersion":3,"manifests":[]}"#,
        )
        .unwrap();
        assert!(l
            .index()
            .unwrap_err()
            .to_string()
            .contains("schemaVersion is 3"));
        fs::write(
            dir.path().join(INDEX_FILE),
            br#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:../../etc","size":1}]}"#,
        )
        .unwrap();
        assert!(matches!(l.index(), Err(ArchiveError::Json { .. })));
        fs::remove_file(dir.path().join(INDEX_FILE)).unwrap();
        assert!(matches!(
            OciLayout::open(dir.path()),
            Err(ArchiveError::Missing { .. })
        ));
    }

    #[test]
    fn blobs_are_verified_on_write_and_read() {
        let dir = tempfile::tempdir().unwrap();
        let l = OciLayout::create_or_open(dir.path()).unwrap();
        let d = l.write_blob_bytes(b"config").unwrap();
        assert_eq!(d, Digest::sha256_of(b"config"));
        assert!(l.has_blob(&d));
        assert_eq!(l.read_blob(&d).unwrap(), b"config");
        assert_eq!(
            l.blob_path(&d),
            dir.path().join("blobs/sha256").join(d.hex())
        );

        // A writer whose content does not match leaves nothing behind.
        let claimed = Digest::sha256_of(b"what was promised");
        let e = l
            .write_blob_from(&b"something else"[..], &claimed)
            .unwrap_err();
        assert!(matches!(e, ArchiveError::DigestMismatch { .. }), "{e}");
        assert!(!l.has_blob(&claimed));
        assert_eq!(
            tree(&dir.path().join("blobs/sha256")),
            [d.hex()],
            "temporary file left"
        );

        // Tampering on disk is detected by every read path.
        fs::write(l.blob_path(&d), b"tampered").unwrap();
        assert!(matches!(
            l.read_blob(&d),
            Err(ArchiveError::DigestMismatch { .. })
        ));
        let mut v = Vec::new();
        let e = l
            .open_blob_verified(&d)
            .unwrap()
            .read_to_end(&mut v)
            .unwrap_err();
        assert!(e.to_string().contains("digest mismatch"), "{e}");
        let mut raw = String::new();
        l.open_blob(&d).unwrap().read_to_string(&mut raw).unwrap();
        assert_eq!(raw, "tampered", "open_blob is the unverified path");

        let absent = Digest::sha256_of(b"absent");
        assert!(matches!(
            l.read_blob(&absent),
            Err(ArchiveError::Missing { .. })
        ));
        assert!(matches!(
            l.open_blob(&absent),
            Err(ArchiveError::Missing { .. })
        ));
    }

    #[test]
    fn read_blob_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let l = OciLayout::create_or_open(dir.path()).unwrap();
        let big = vec![0u8; MAX_MANIFEST_BYTES + 1];
        let d = l.write_blob_bytes(&big).unwrap();
        let desc = Descriptor::new(media::OCI_MANIFEST, d, big.len() as u64);
        assert!(matches!(
            l.read_manifest(&desc),
            Err(ArchiveError::TooLarge { .. })
        ));
    }

    #[test]
    fn resolves_tags_and_replaces_entries() {
        let dir = tempfile::tempdir().unwrap();
        let s = sample_layout(dir.path(), Some("v1"));
        let l = &s.layout;
        assert_eq!(l.resolve(Some("v1")).unwrap().digest, s.manifest.digest);
        assert_eq!(l.resolve(None).unwrap().digest, s.manifest.digest);
        let (bytes, m) = l.read_manifest(&s.manifest).unwrap();
        assert_eq!(Digest::sha256_of(&bytes), s.manifest.digest);
        let Manifest::Image(m) = m else {
            panic!("not an image manifest")
        };
        assert_eq!(m.layers, s.layer_descs);

        let other = Descriptor::new(media::OCI_MANIFEST, Digest::sha256_of(b"other"), 5);
        l.add_manifest(other.clone(), Some("v2")).unwrap();
        l.add_manifest(other.clone(), Some("registry.example/app:v3"))
            .unwrap();
        assert_eq!(l.tags().unwrap(), ["v1", "v2", "registry.example/app:v3"]);
        let e = l.resolve(None).unwrap_err();
        assert!(matches!(e, ArchiveError::Ambiguous { count: 3, .. }), "{e}");
        assert!(
            e.to_string().contains("v1, v2, registry.example/app:v3"),
            "{e}"
        );
        let e = l.resolve(Some("nope")).unwrap_err();
        assert!(e.to_string().contains("available: v1, v2"), "{e}");

        // Re-tagging replaces in place; untagged entries dedupe by digest.
        l.add_manifest(s.manifest.clone(), Some("v2")).unwrap();
        assert_eq!(l.resolve(Some("v2")).unwrap().digest, s.manifest.digest);
        l.add_manifest(other.clone(), None).unwrap();
        l.add_manifest(other.clone(), None).unwrap();
        assert_eq!(l.index().unwrap().manifests.len(), 4);
        assert!(l.remove_tag("v1").unwrap());
        assert!(!l.remove_tag("v1").unwrap());
        assert_eq!(l.tags().unwrap(), ["v2", "registry.example/app:v3"]);

        for bad in ["", "-x", "a//b", "a b", "x/", "a..b", "a---b", "t\n"] {
            assert!(
                matches!(
                    l.add_manifest(other.clone(), Some(bad)),
                    Err(ArchiveError::InvalidTag { .. })
                ),
                "{bad:?} accepted"
            );
        }
        validate_tag("a--b_c.d:e@f+g/h").unwrap();
    }

    #[test]
    fn empty_layout_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let l = OciLayout::create_or_open(dir.path()).unwrap();
        assert!(matches!(l.resolve(None), Err(ArchiveError::Empty { .. })));
        assert!(l
            .resolve(Some("x"))
            .unwrap_err()
            .to_string()
            .contains("available: none"));
    }
}

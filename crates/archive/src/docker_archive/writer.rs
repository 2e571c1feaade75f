//! Writing docker archives that `docker load`, `podman load` and skopeo read.
//!
//! Layout written, per image:
//!   `<diffid-hex>/VERSION` ("1.0"), `<diffid-hex>/json` (legacy v1 metadata),
//!   `<diffid-hex>/layer.tar`, `<config-hex>.json`,
//! then at the end `manifest.json` and `repositories`. A layer or config shared
//! by several images is written once. The legacy directory is named by the
//! diff_id (Docker derives a chain ID instead); modern readers go by
//! manifest.json and never look at these names.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::Path;

use hoist_image::Digest;
use serde_json::json;

use super::{config_diff_ids, validate_repo_tag, ManifestEntry, MANIFEST_FILE, REPOSITORIES_FILE};
use crate::error::{io_err, ArchiveError, Result};
use crate::tarwrite::TarWriter;
use crate::verify::VerifyingReader;
use hoist_fsutil::AtomicFile;

/// Builds a docker archive at a path; the file appears, complete, only when
/// [`DockerArchiveWriter::finish`] succeeds. After any error the writer
/// refuses further use; dropping it removes the partial output.
pub struct DockerArchiveWriter {
    out: AtomicFile,
    tar: TarWriter<BufWriter<File>>,
    manifest: Vec<ManifestEntry>,
    written: HashSet<String>,
    repositories: BTreeMap<String, BTreeMap<String, String>>,
    poisoned: bool,
}

impl DockerArchiveWriter {
    pub fn new(path: impl AsRef<Path>) -> Result<DockerArchiveWriter> {
        let path = path.as_ref();
        let mut out = AtomicFile::create(path, 0o644)?;
        let handle = out
            .file()
            .try_clone()
            .map_err(io_err("duplicate the handle of", path))?;
        Ok(DockerArchiveWriter {
            out,
            tar: TarWriter::new(BufWriter::with_capacity(256 * 1024, handle)),
            manifest: Vec::new(),
            written: HashSet::new(),
            repositories: BTreeMap::new(),
            poisoned: false,
        })
    }

    /// Adds one image. `layers` yields, base layer first, each layer's diff_id,
    /// a reader of its UNCOMPRESSED tar, and that tar's exact size; they must
    /// match the config's rootfs.diff_ids. Each reader is verified against its
    /// diff_id as it is copied. Readers of layers already in the archive are
    /// not read. `repo_tags` are `NAME:TAG` references. Returns the config
    /// digest (the image ID).
    pub fn add_image<I, R>(
        &mut self,
        config: &[u8],
        repo_tags: &[String],
        layers: I,
    ) -> Result<Digest>
    where
        I: IntoIterator<Item = (Digest, R, u64)>,
        R: Read,
    {
        if self.poisoned {
            return Err(self.poisoned_error());
        }
        let result = self.add_image_inner(config, repo_tags, layers);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn poisoned_error(&self) -> ArchiveError {
        ArchiveError::Invalid {
            what: "docker archive being written",
            path: self.out.target().to_path_buf(),
            reason: "an earlier error left it incomplete; start over".into(),
        }
    }

    fn add_image_inner<I, R>(
        &mut self,
        config: &[u8],
        repo_tags: &[String],
        layers: I,
    ) -> Result<Digest>
    where
        I: IntoIterator<Item = (Digest, R, u64)>,
        R: Read,
    {
        let target = self.out.target().to_path_buf();
        let invalid = |reason: String| ArchiveError::Invalid {
            what: "image to save",
            path: target.clone(),
            reason,
        };
        let diff_ids = config_diff_ids(config, Path::new("<config to save>"))?;
        for t in repo_tags {
            validate_repo_tag(t).map_err(invalid)?;
        }
        let write_err = |e| ArchiveError::from_io("write", &target, e);
        let mut layer_paths = Vec::with_capacity(diff_ids.len());
        let mut parent: Option<String> = None;
        for (i, (diff_id, reader, size)) in layers.into_iter().enumerate() {
            match diff_ids.get(i) {
                Some(want) if *want == diff_id => {}
                Some(want) => {
                    return Err(invalid(format!(
                        "layer {i} is {diff_id} but the config lists {want}"
                    )))
                }
                None => {
                    return Err(invalid(format!(
                        "more layers given than the config's {} diff_ids",
                        diff_ids.len()
                    )))
                }
            }
            let id = diff_id.hex().to_string();
            let path = format!("{id}/layer.tar");
            if self.written.insert(path.clone()) {
                let mut legacy = json!({"id": id, "created": "1970-01-01T00:00:00Z"});
                if let Some(p) = &parent {
                    legacy["parent"] = json!(p);
                }
                self.tar.add_dir(&id).map_err(write_err)?;
                self.tar
                    .add_bytes(&format!("{id}/VERSION"), b"1.0")
                    .map_err(write_err)?;
                self.tar
                    .add_bytes(&format!("{id}/json"), legacy.to_string().as_bytes())
                    .map_err(write_err)?;
                let what = format!("layer {diff_id} being saved");
                let verified = VerifyingReader::new(reader, diff_id.clone(), what);
                self.tar
                    .add_reader(&path, size, verified)
                    .map_err(write_err)?;
            }
            parent = Some(id);
            layer_paths.push(path);
        }
        if layer_paths.len() != diff_ids.len() {
            return Err(invalid(format!(
                "{} layers given but the config lists {} diff_ids",
                layer_paths.len(),
                diff_ids.len()
            )));
        }
        let config_digest = Digest::sha256_of(config);
        let config_path = format!("{}.json", config_digest.hex());
        if self.written.insert(config_path.clone()) {
            self.tar
                .add_bytes(&config_path, config)
                .map_err(write_err)?;
        }
        for t in repo_tags {
            // validate_repo_tag guaranteed NAME:TAG with the tag after the last ':'.
            if let (Some((name, tag)), Some(top)) = (t.rsplit_once(':'), &parent) {
                self.repositories
                    .entry(name.to_string())
                    .or_default()
                    .insert(tag.to_string(), top.clone());
            }
        }
        self.manifest.push(ManifestEntry {
            config: config_path,
            repo_tags: repo_tags.to_vec(),
            layers: layer_paths,
        });
        Ok(config_digest)
    }

    /// Writes manifest.json and repositories and moves the archive into place.
    pub fn finish(mut self) -> Result<()> {
        if self.poisoned {
            return Err(self.poisoned_error());
        }
        let target = self.out.target().to_path_buf();
        if self.manifest.is_empty() {
            return Err(ArchiveError::Empty { path: target });
        }
        let write_err = |e| ArchiveError::from_io("write", &target, e);
        let manifest = serde_json::to_vec(&self.manifest).expect("plain data always serializes");
        self.tar
            .add_bytes(MANIFEST_FILE, &manifest)
            .map_err(write_err)?;
        if !self.repositories.is_empty() {
            let repos =
                serde_json::to_vec(&self.repositories).expect("plain data always serializes");
            self.tar
                .add_bytes(REPOSITORIES_FILE, &repos)
                .map_err(write_err)?;
        }
        let buf = self.tar.finish().map_err(write_err)?;
        buf.into_inner()
            .map_err(|e| io_err("write", &target)(e.into_error()))?;
        Ok(self.out.commit()?)
    }
}

//! Reading docker archives in place: the tar is indexed once, then configs
//! and layers are read by offset, so nothing is extracted to disk.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use hoist_image::media::Compression;
use hoist_image::Digest;

use super::{
    config_diff_ids, digest_from_member_name, parse_docker_manifest, repo_tag_matches,
    MANIFEST_FILE, MAX_CONFIG_BYTES, MAX_DOCKER_MANIFEST_BYTES,
};
use crate::error::{io_err, ArchiveError, Result};
use crate::tarindex::{MemberReader, TarIndex};
use crate::verify::{verify_bytes, VerifyingReader};

/// One layer of an image in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerLayer {
    /// Archive path as manifest.json names it (normalized).
    pub path: String,
    /// The sha256 of the uncompressed tar, from the config's rootfs.diff_ids.
    pub diff_id: Digest,
    /// Bytes stored in the archive (compressed size if `compression` is not None).
    pub size: u64,
    /// Detected from the content's magic number; `docker save` writes None.
    pub compression: Compression,
}

/// One image of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerImage {
    /// The config JSON exactly as stored.
    pub config: Vec<u8>,
    /// Its sha256, which is the image ID.
    pub config_digest: Digest,
    pub repo_tags: Vec<String>,
    pub layers: Vec<DockerLayer>,
}

/// An open docker archive.
#[derive(Debug)]
pub struct DockerArchive {
    path: PathBuf,
    file: Arc<File>,
    index: TarIndex,
    images: Vec<DockerImage>,
}

fn detect_compression(file: &File, offset: u64, size: u64) -> io::Result<Compression> {
    let mut magic = [0u8; 4];
    let n = (size.min(4)) as usize;
    file.read_exact_at(&mut magic[..n], offset)?;
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        _ => Compression::None,
    })
}

impl DockerArchive {
    /// Indexes the archive and reads its manifest.json and configs, verifying
    /// each config against the digest its name carries and checking that each
    /// config lists one diff_id per layer.
    pub fn open(path: impl AsRef<Path>) -> Result<DockerArchive> {
        let path = path.as_ref().to_path_buf();
        let file = Arc::new(File::open(&path).map_err(io_err("open", &path))?);
        let index = TarIndex::build(&*file, &path)?;
        let mut archive = DockerArchive {
            path,
            file,
            index,
            images: Vec::new(),
        };
        let manifest = match archive.read_member(MANIFEST_FILE, MAX_DOCKER_MANIFEST_BYTES as u64) {
            Err(ArchiveError::Missing { .. }) => {
                return Err(ArchiveError::Invalid {
                    what: "docker archive",
                    path: archive.path.clone(),
                    reason: format!(
                        "no {MANIFEST_FILE}: not a docker archive, or one from Docker before 1.10, which hoist does not read"
                    ),
                })
            }
            other => other?,
        };
        for entry in parse_docker_manifest(&manifest, &archive.path)? {
            let image = archive.load_image(entry)?;
            archive.images.push(image);
        }
        if archive.images.is_empty() {
            return Err(ArchiveError::Empty {
                path: archive.path.clone(),
            });
        }
        Ok(archive)
    }

    fn load_image(&self, entry: super::ManifestEntry) -> Result<DockerImage> {
        let config = self.read_member(&entry.config, MAX_CONFIG_BYTES)?;
        let config_digest = match digest_from_member_name(&entry.config) {
            Some(expected) => {
                verify_bytes(
                    &format!("config {} in {}", entry.config, self.path.display()),
                    &config,
                    &expected,
                )?;
                expected
            }
            None => Digest::sha256_of(&config),
        };
        let diff_ids = config_diff_ids(&config, &self.path)?;
        if diff_ids.len() != entry.layers.len() {
            return Err(ArchiveError::Invalid {
                what: "docker archive",
                path: self.path.clone(),
                reason: format!(
                    "config {} lists {} diff_ids but manifest.json lists {} layers",
                    entry.config,
                    diff_ids.len(),
                    entry.layers.len()
                ),
            });
        }
        let mut layers = Vec::with_capacity(diff_ids.len());
        for (path, diff_id) in entry.layers.into_iter().zip(diff_ids) {
            let (offset, size) = self.index.locate(&path)?;
            let compression =
                detect_compression(&self.file, offset, size).map_err(io_err("read", &self.path))?;
            layers.push(DockerLayer {
                path,
                diff_id,
                size,
                compression,
            });
        }
        Ok(DockerImage {
            config,
            config_digest,
            repo_tags: entry.repo_tags,
            layers,
        })
    }

    fn read_member(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let (offset, size) = self.index.locate(name)?;
        if size > limit {
            return Err(ArchiveError::TooLarge {
                what: format!("member {name}"),
                path: self.path.clone(),
                size,
                limit,
            });
        }
        let mut data = Vec::with_capacity(size as usize);
        MemberReader::new(self.file.clone(), offset, size)
            .read_to_end(&mut data)
            .map_err(io_err("read", &self.path))?;
        Ok(data)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn images(&self) -> &[DockerImage] {
        &self.images
    }

    /// The index of the image `reference` designates: `None` for the only
    /// image, `@N` for the N-th (from 0, as in containers/image), or a name
    /// matched against RepoTags after normalization.
    pub fn select(&self, reference: Option<&str>) -> Result<usize> {
        let available = || {
            self.images
                .iter()
                .enumerate()
                .map(|(i, img)| match img.repo_tags.is_empty() {
                    true => format!("@{i}"),
                    false => format!("@{i} ({})", img.repo_tags.join(", ")),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let not_found = |wanted: &str| ArchiveError::NotFound {
            wanted: wanted.to_string(),
            path: self.path.clone(),
            available: available(),
        };
        match reference {
            None if self.images.len() == 1 => Ok(0),
            None => Err(ArchiveError::Ambiguous {
                path: self.path.clone(),
                count: self.images.len(),
                available: available(),
            }),
            Some(r) => {
                if let Some(n) = r.strip_prefix('@') {
                    return n
                        .parse::<usize>()
                        .ok()
                        .filter(|&i| i < self.images.len())
                        .ok_or_else(|| not_found(r));
                }
                self.images
                    .iter()
                    .position(|img| img.repo_tags.iter().any(|t| repo_tag_matches(t, r)))
                    .ok_or_else(|| not_found(r))
            }
        }
    }

    /// Streams layer `layer` of image `image` as an uncompressed tar,
    /// decompressing gzip if the archive stores it so. The stream is verified
    /// against the layer's diff_id: reading it to the end fails on mismatch.
    pub fn open_layer(&self, image: usize, layer: usize) -> Result<LayerReader> {
        let (l, decoded) = self.open_layer_unverified(image, layer)?;
        let what = format!(
            "layer {} ({}) of {}",
            l.path,
            l.diff_id,
            self.path.display()
        );
        Ok(LayerReader {
            diff_id: l.diff_id.clone(),
            inner: VerifyingReader::new(decoded, l.diff_id.clone(), what),
        })
    }

    /// The decompressed stream without verification, for callers that hash
    /// it themselves (such as [`crate::OciLayout::write_blob_from`]).
    pub(crate) fn open_layer_unverified(
        &self,
        image: usize,
        layer: usize,
    ) -> Result<(&DockerLayer, Decoded)> {
        let l = self
            .images
            .get(image)
            .and_then(|img| img.layers.get(layer))
            .ok_or_else(|| ArchiveError::NotFound {
                wanted: format!("layer {layer} of image {image}"),
                path: self.path.clone(),
                available: format!("{} images", self.images.len()),
            })?;
        let (offset, size) = self.index.locate(&l.path)?;
        let raw = MemberReader::new(self.file.clone(), offset, size);
        let decoded = match l.compression {
            Compression::None => Decoded::Plain(raw),
            Compression::Gzip => Decoded::Gzip(Box::new(MultiGzDecoder::new(raw))),
            Compression::Zstd => {
                return Err(ArchiveError::Invalid {
                    what: "docker archive",
                    path: self.path.clone(),
                    reason: format!(
                        "layer {} is zstd-compressed, which docker archives do not use and hoist does not read here",
                        l.path
                    ),
                })
            }
        };
        Ok((l, decoded))
    }

    /// A raw reader of any regular member (links followed), for callers that
    /// need the legacy files.
    pub fn open_member(&self, name: &str) -> Result<MemberReader> {
        let (offset, size) = self.index.locate(name)?;
        Ok(MemberReader::new(self.file.clone(), offset, size))
    }
}

/// A layer member, decompressed if needed.
pub(crate) enum Decoded {
    Plain(MemberReader),
    Gzip(Box<MultiGzDecoder<MemberReader>>),
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Gzip(r) => r.read(buf),
        }
    }
}

/// An uncompressed layer stream, verified against its diff_id at the end.
pub struct LayerReader {
    diff_id: Digest,
    inner: VerifyingReader<Decoded>,
}

impl LayerReader {
    pub fn diff_id(&self) -> &Digest {
        &self.diff_id
    }

    /// Uncompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.inner.bytes_read()
    }
}

impl Read for LayerReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

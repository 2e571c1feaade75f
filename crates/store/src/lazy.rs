//! Lazily pulled layers: the store keeps each one's verified table of
//! contents under `root/lazy/<blob hex>/toc.json`, and gives the directory to
//! hoist-lazy for its chunk cache. Once the whole blob is stored and its
//! layer unpacked, the lazy directory is redundant and garbage collection
//! removes it.

use std::path::PathBuf;

use hoist_image::Digest;

use crate::error::{IoContext, Result, StoreError};
use crate::tmp::PinKind;
use crate::{LayerRef, Store};

const TOC_FILE: &str = "toc.json";

impl Store {
    /// The directory of the lazily pulled layer blob `blob` (created when
    /// its TOC is stored).
    pub fn lazy_dir(&self, blob: &Digest) -> PathBuf {
        self.layout().lazy_layer(blob)
    }

    /// Stores the table of contents of layer blob `blob`, checking it
    /// against `toc_digest` first; keeps an existing one. Pins the blob so a
    /// concurrent garbage collection keeps the directory until the image
    /// record refers to it.
    pub fn put_lazy_toc(&self, blob: &Digest, toc_digest: &Digest, toc: &[u8]) -> Result<()> {
        let actual = toc_digest.same_algorithm_of(toc);
        if &actual != toc_digest {
            return Err(StoreError::DigestMismatch {
                expected: toc_digest.clone(),
                actual,
            });
        }
        self.own_tmp().pin(PinKind::Blob, blob)?;
        let dir = self.lazy_dir(blob);
        let dest = dir.join(TOC_FILE);
        if dest.exists() {
            return Ok(());
        }
        let parent = self.layout().lazy();
        std::fs::create_dir_all(&parent).ctx("creating", &parent)?;
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).ctx("creating", &dir),
        }
        Ok(hoist_fsutil::write_file(&dest, toc, 0o600)?)
    }

    /// The stored table of contents of `blob`, checked against `toc_digest`.
    pub fn read_lazy_toc(&self, blob: &Digest, toc_digest: &Digest) -> Result<Vec<u8>> {
        let path = self.lazy_dir(blob).join(TOC_FILE);
        let bytes = std::fs::read(&path).ctx("reading", &path)?;
        let actual = toc_digest.same_algorithm_of(&bytes);
        if &actual != toc_digest {
            return Err(StoreError::CorruptBlob {
                digest: toc_digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Whether `layer` was pulled lazily and its TOC is stored.
    pub fn has_lazy_toc(&self, layer: &LayerRef) -> bool {
        layer.lazy.is_some() && self.lazy_dir(&layer.blob).join(TOC_FILE).is_file()
    }

    /// Whether `layer` is usable only lazily: its unpacked directory is not
    /// (yet) in the store.
    pub fn is_lazy(&self, layer: &LayerRef) -> bool {
        !self.has_layer(&layer.diff_id) && self.has_lazy_toc(layer)
    }

    /// Lazy directories by blob digest.
    pub(crate) fn lazy_dirs(&self) -> Result<Vec<(Digest, PathBuf)>> {
        let root = self.layout().lazy();
        let entries = match std::fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).ctx("listing", &root),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.ctx("listing", &root)?;
            let name = entry.file_name();
            let Some(hex) = name.to_str() else { continue };
            if let Ok(d) = format!("sha256:{hex}").parse::<Digest>() {
                out.push((d, entry.path()));
            } else if let Ok(d) = format!("sha512:{hex}").parse::<Digest>() {
                out.push((d, entry.path()));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toc_is_verified_on_the_way_in_and_out() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let blob = Digest::sha256_of(b"blob");
        let toc = br#"{"version":1,"entries":[]}"#;
        let good = Digest::sha256_of(toc);
        let err = s
            .put_lazy_toc(&blob, &Digest::sha256_of(b"other"), toc)
            .unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        s.put_lazy_toc(&blob, &good, toc).unwrap();
        assert_eq!(s.read_lazy_toc(&blob, &good).unwrap(), toc);
        std::fs::write(s.lazy_dir(&blob).join(TOC_FILE), b"tampered").unwrap();
        assert!(s.read_lazy_toc(&blob, &good).is_err());
    }
}

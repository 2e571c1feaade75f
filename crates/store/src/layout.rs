//! Where everything lives under the store root.
//!
//! ```text
//! root/store.lock                  flock: shared for readers, exclusive for metadata changes
//! root/images.json                 image records
//! root/blobs/<algo>/<hex>          verified blobs, read-only once committed
//! root/layers/<hex>/diff/          an unpacked layer (an overlayfs lowerdir)
//! root/layers/<hex>/layer.json     its metadata
//! root/lazy/<hex>/toc.json       the verified table of contents of a lazily pulled layer blob
//! root/lazy/<hex>/...             its chunk cache (owned by hoist-lazy)
//! root/tmp/<owner>/                in-progress work of one open Store, flocked while alive
//! root/locks/<kind>-<algo>-<hex>.lock  per-object locks
//! ```

use std::path::{Path, PathBuf};

use hoist_image::digest::Algorithm;
use hoist_image::Digest;

/// The default store root of a rootful hoist.
pub const DEFAULT_ROOT: &str = "/var/lib/hoist";

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    pub(crate) fn new(root: PathBuf) -> Layout {
        Layout { root }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn store_lock(&self) -> PathBuf {
        self.root.join("store.lock")
    }

    pub(crate) fn images_json(&self) -> PathBuf {
        self.root.join("images.json")
    }

    pub(crate) fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    pub(crate) fn blob_dir(&self, algorithm: Algorithm) -> PathBuf {
        self.blobs().join(algorithm.as_str())
    }

    pub(crate) fn blob(&self, digest: &Digest) -> PathBuf {
        self.blob_dir(digest.algorithm()).join(digest.hex())
    }

    pub(crate) fn layers(&self) -> PathBuf {
        self.root.join("layers")
    }

    /// Layers are named by the hex of their diff_id alone: sha256 and sha512
    /// hex differ in length, so names cannot collide.
    pub(crate) fn layer(&self, diff_id: &Digest) -> PathBuf {
        self.layers().join(diff_id.hex())
    }

    pub(crate) fn lazy(&self) -> PathBuf {
        self.root.join("lazy")
    }

    /// Lazy layers are named by their blob's hex, like layers by diff_id.
    pub(crate) fn lazy_layer(&self, blob: &Digest) -> PathBuf {
        self.lazy().join(blob.hex())
    }

    pub(crate) fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub(crate) fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }

    pub(crate) fn object_lock(&self, kind: &str, digest: &Digest) -> PathBuf {
        self.locks().join(format!(
            "{kind}-{}-{}.lock",
            digest.algorithm().as_str(),
            digest.hex()
        ))
    }

    /// The directories only the store's owner may enter.
    pub(crate) fn private_dirs(&self) -> Vec<PathBuf> {
        vec![
            self.blobs(),
            self.layers(),
            self.lazy(),
            self.tmp(),
            self.locks(),
        ]
    }

    /// The directories `Store::open` creates.
    pub(crate) fn dirs(&self) -> Vec<PathBuf> {
        vec![
            self.root.clone(),
            self.blobs(),
            self.blob_dir(Algorithm::Sha256),
            self.layers(),
            self.lazy(),
            self.tmp(),
            self.locks(),
        ]
    }
}

/// The digest a layer directory name stands for, if it is one.
pub(crate) fn diff_id_from_dir_name(name: &str) -> Option<Digest> {
    let algo = match name.len() {
        64 => "sha256",
        128 => "sha512",
        _ => return None,
    };
    format!("{algo}:{name}").parse().ok()
}

/// The digest a blob file name stands for, if it is one.
pub(crate) fn blob_digest(algorithm: &str, name: &str) -> Option<Digest> {
    format!("{algorithm}:{name}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let d = Digest::sha256_of(b"x");
        let l = Layout::new("/r".into());
        assert_eq!(l.blob(&d), Path::new("/r/blobs/sha256").join(d.hex()));
        assert_eq!(diff_id_from_dir_name(d.hex()), Some(d.clone()));
        assert_eq!(blob_digest("sha256", d.hex()), Some(d));
        assert_eq!(diff_id_from_dir_name("nothex"), None);
        assert_eq!(blob_digest("sha256", "ABC"), None);
    }
}

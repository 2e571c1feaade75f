//! The build cache: a step is reused when everything it depends on is
//! unchanged — the image it starts from, the config and history so far,
//! its instruction text (heredoc bodies included), the build args it sees
//! and, for COPY/ADD, the digest of the layer it would write. The index
//! maps that key to the image the step made, under
//! `<root>/build-cache/`; an entry whose image was removed is a miss.

use std::path::{Path, PathBuf};

use hoist_engine::Engine;
use hoist_image::digest::Hasher;

/// The cache of one store.
pub(crate) struct Cache {
    dir: PathBuf,
    /// `--no-cache`: never reuse, still record.
    read: bool,
    /// Fed before every key: what the whole build commits its images with
    /// (empty: nothing beyond the steps, and the keys are as they were).
    salt: String,
}

/// What a step's key is made of, fed in order.
#[derive(Default)]
pub(crate) struct Key {
    parts: Vec<String>,
}

impl Key {
    pub fn with(mut self, part: impl Into<String>) -> Key {
        self.parts.push(part.into());
        self
    }

    fn hex(&self, salt: &str) -> String {
        let mut h = Hasher::sha256();
        let salt = (!salt.is_empty()).then_some(salt);
        for p in salt
            .into_iter()
            .chain(self.parts.iter().map(String::as_str))
        {
            // Length-prefixed, so no two part lists hash alike.
            std::io::Write::write_all(&mut h, format!("{}:", p.len()).as_bytes()).expect("hashing");
            std::io::Write::write_all(&mut h, p.as_bytes()).expect("hashing");
        }
        h.finish().hex().to_string()
    }
}

impl Cache {
    pub fn new(root: &Path, read: bool) -> Cache {
        Cache {
            dir: root.join("build-cache").join("steps"),
            read,
            salt: String::new(),
        }
    }

    /// The cache with `salt` in every key.
    pub fn salted(self, salt: String) -> Cache {
        Cache { salt, ..self }
    }

    /// The image a step with `key` made before, if it still exists.
    pub fn lookup(&self, engine: &Engine, key: &Key) -> Option<String> {
        if !self.read {
            return None;
        }
        let id = std::fs::read_to_string(self.dir.join(key.hex(&self.salt))).ok()?;
        let id = id.trim().to_string();
        engine.image_exists(&id).ok()?.then_some(id)
    }

    /// Records that `key` made image `id`. A cache that cannot be written
    /// only costs the next build time, so this never fails the build.
    pub fn record(&self, key: &Key, id: &str) {
        if std::fs::create_dir_all(&self.dir).is_ok() {
            let _ =
                hoist_fsutil::write_file(&self.dir.join(key.hex(&self.salt)), id.as_bytes(), 0o600);
        }
    }
}

//! What a container's monitor needs to serve one lazy layer: written into
//! the container's record when it is created, read when it starts.

use std::path::PathBuf;

use hoist_image::Digest;
use serde::{Deserialize, Serialize};

use crate::remote::RemoteOptions;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LazyLayerSpec {
    /// The layer's position in the image, bottom layer 0.
    pub index: usize,
    /// The store holding the TOC and the chunk cache, and receiving the
    /// complete layer once the whole blob is fetched.
    pub store_root: PathBuf,
    pub blob: Digest,
    pub blob_size: u64,
    pub media_type: String,
    pub diff_id: Digest,
    pub toc_digest: Digest,
    pub toc_offset: u64,
    pub registry: String,
    pub repository: String,
    pub remote: RemoteOptions,
    /// The blob bytes of the prioritized files, as the pull read them from
    /// the TOC: the server asks for them as soon as it starts, while it
    /// reads the TOC itself. `None` in records made before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefetch: Option<std::ops::Range<u64>>,
    /// The program the container runs, filled in when it starts: without
    /// prioritized files, the server fetches it and the libraries it loads
    /// as soon as it starts, while the container is still being set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_program: Option<FirstProgram>,
    /// Set for the recording run of `image convert --optimize`: the layer
    /// is served from a local blob, always (even though it is unpacked in
    /// the store), and the files the container reads are written down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Recording>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// The eStargz blob to serve.
    pub blob_file: PathBuf,
    /// Where to write the paths read, one per line, in first-read order.
    pub access_log: PathBuf,
    /// A scratch directory for the chunk cache.
    pub cache_dir: PathBuf,
}

/// The program a container's process runs, as its command line names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstProgram {
    /// The command line's first word (`python3`, `/bin/sh`).
    pub name: String,
    /// The `PATH` a bare name is looked up in.
    pub path: String,
}

impl FirstProgram {
    /// Where the program may be, in lookup order: the name itself if it
    /// has a slash (a relative one is taken from the root: a guess, as
    /// the working directory is not known here), else each directory of
    /// `PATH` (empty entries, meaning the working directory, skipped).
    pub fn candidates(&self) -> Vec<String> {
        if self.name.contains('/') {
            return vec![self.name.clone()];
        }
        self.path
            .split(':')
            .filter(|dir| !dir.is_empty())
            .map(|dir| format!("{}/{}", dir.trim_end_matches('/'), self.name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_is_looked_up_in_path_and_a_path_is_taken_as_it_is() {
        let bare = FirstProgram {
            name: "python3".into(),
            path: "/usr/local/bin::/usr/bin/".into(),
        };
        assert_eq!(
            bare.candidates(),
            ["/usr/local/bin/python3", "/usr/bin/python3"]
        );
        let given = FirstProgram {
            name: "/bin/sh".into(),
            path: "/usr/bin".into(),
        };
        assert_eq!(given.candidates(), ["/bin/sh"]);
    }
}

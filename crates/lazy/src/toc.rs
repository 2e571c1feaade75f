//! The table of contents of a seekable layer: eStargz's `stargz.index.json`.
//!
//! The JSON field names and their meaning follow the stargz-snapshotter
//! specification: `mode`, `uid`, `gid` and the offsets are omitted when zero,
//! `xattrs` values are base64 (Go's encoding of `[]byte`), `chunk` entries
//! continue the `reg` entry before them with the same name, and `offset` is
//! where the gzip member holding an entry's data (or its first chunk) begins
//! in the compressed blob. `innerOffset` (written by newer reference
//! versions) is where the chunk starts inside the decompressed member.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The largest TOC hoist reads. A TOC lists every file of a layer; 50 MiB of
/// JSON is far beyond any real image and keeps a hostile blob from making
/// hoist allocate without bound.
pub const MAX_TOC_BYTES: u64 = 50 << 20;

/// The name of the TOC entry in the tar stream.
pub const TOC_TAR_NAME: &str = "stargz.index.json";

/// The landmark file marking the end of the prioritized files.
pub const PREFETCH_LANDMARK: &str = ".prefetch.landmark";

/// The landmark file saying that no file is prioritized.
pub const NO_PREFETCH_LANDMARK: &str = ".no.prefetch.landmark";

/// Layer annotation holding the digest of the TOC JSON.
pub const TOC_DIGEST_ANNOTATION: &str = "containerd.io/snapshot/stargz/toc.digest";

/// Layer annotation holding the size of the uncompressed layer (the tar).
pub const UNCOMPRESSED_SIZE_ANNOTATION: &str = "io.containers.estargz.uncompressed-size";

/// Chunk size of the reference implementation's writer.
pub const DEFAULT_CHUNK_SIZE: u64 = 4 << 20;

/// The whole table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Toc {
    pub version: i64,
    #[serde(default)]
    pub entries: Vec<TocEntry>,
}

/// The kind of a TOC entry (`type` in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    Dir,
    Reg,
    Symlink,
    /// A hard link to the entry named by `linkName`.
    Hardlink,
    Char,
    Block,
    Fifo,
    /// A further chunk of the `reg` entry of the same name.
    Chunk,
}

/// One entry: a file, directory, link, device, or a chunk of a large file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TocEntry {
    /// Path inside the layer, without a leading `/` or `./`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: EntryType,
    /// For `reg`: the file's full size (on `chunk` entries it may be absent).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: i64,
    /// Modification time, RFC 3339.
    #[serde(rename = "modtime", default, skip_serializing_if = "String::is_empty")]
    pub mod_time: String,
    /// Target of a symlink or hard link.
    #[serde(rename = "linkName", default, skip_serializing_if = "String::is_empty")]
    pub link_name: String,
    /// Permission and mode bits as in the tar header (setuid 0o4000 etc.).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mode: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub uid: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gid: i64,
    #[serde(rename = "userName", default, skip_serializing_if = "String::is_empty")]
    pub user_name: String,
    #[serde(
        rename = "groupName",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub group_name: String,
    /// Where the gzip member holding this entry's data begins in the blob.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: i64,
    /// Where this chunk begins inside the decompressed member at `offset`.
    #[serde(rename = "innerOffset", default, skip_serializing_if = "is_zero")]
    pub inner_offset: i64,
    #[serde(rename = "devMajor", default, skip_serializing_if = "is_zero")]
    pub dev_major: i64,
    #[serde(rename = "devMinor", default, skip_serializing_if = "is_zero")]
    pub dev_minor: i64,
    /// Extended attributes; the values are raw bytes.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "xattr_base64"
    )]
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// `sha256:` digest of the whole file's content (`reg` only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
    /// Offset of this chunk within the file.
    #[serde(rename = "chunkOffset", default, skip_serializing_if = "is_zero")]
    pub chunk_offset: i64,
    /// Size of this chunk; 0 on the last chunk means "up to the file's end".
    #[serde(rename = "chunkSize", default, skip_serializing_if = "is_zero")]
    pub chunk_size: i64,
    /// `sha256:` digest of this chunk's uncompressed bytes.
    #[serde(
        rename = "chunkDigest",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub chunk_digest: String,
}

/// Where one chunk of a regular file's content lives: computed from the TOC
/// by the format reader, used by the filesystem and the chunk cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRef {
    /// Offset of the chunk within the file.
    pub file_offset: u64,
    /// Uncompressed length of the chunk.
    pub len: u64,
    /// The compressed bytes to fetch: from the start of the chunk's gzip
    /// member to the start of the next member (or of the TOC).
    pub blob_range: std::ops::Range<u64>,
    /// Bytes to skip in the decompressed member before the chunk starts.
    pub inner_offset: u64,
    /// `sha256:...` of the chunk's uncompressed bytes; `None` only for chunks
    /// the TOC gives no digest for, which hoist refuses to serve.
    pub digest: Option<hoist_image::Digest>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl TocEntry {
    /// A new entry with everything but name and kind zero or empty.
    pub fn new(name: impl Into<String>, kind: EntryType) -> TocEntry {
        TocEntry {
            name: name.into(),
            kind,
            size: 0,
            mod_time: String::new(),
            link_name: String::new(),
            mode: 0,
            uid: 0,
            gid: 0,
            user_name: String::new(),
            group_name: String::new(),
            offset: 0,
            inner_offset: 0,
            dev_major: 0,
            dev_minor: 0,
            xattrs: BTreeMap::new(),
            digest: String::new(),
            chunk_offset: 0,
            chunk_size: 0,
            chunk_digest: String::new(),
        }
    }
}

/// Go marshals `map[string][]byte` with base64 (standard alphabet, padded).
mod xattr_base64 {
    use std::collections::BTreeMap;

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<String, Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(map.iter().map(|(k, v)| (k, STANDARD.encode(v))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Vec<u8>>, D::Error> {
        let raw = Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default();
        raw.into_iter()
            .map(|(k, v)| {
                let bytes = STANDARD
                    .decode(v.as_bytes())
                    .map_err(|e| D::Error::custom(format!("xattr {k:?}: not base64: {e}")))?;
                Ok((k, bytes))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omitted_fields_mean_zero() {
        let toc: Toc = serde_json::from_str(
            r#"{"version":1,"entries":[{"name":"bin/","type":"dir"},
               {"name":"bin/sh","type":"reg","size":5,"offset":100,"digest":"sha256:ab",
                "chunkDigest":"sha256:ab","xattrs":{"user.a":"aGk="}}]}"#,
        )
        .unwrap();
        assert_eq!(toc.entries[0].mode, 0);
        assert_eq!(toc.entries[0].uid, 0);
        assert_eq!(toc.entries[1].kind, EntryType::Reg);
        assert_eq!(toc.entries[1].offset, 100);
        assert_eq!(toc.entries[1].xattrs["user.a"], b"hi");
    }

    #[test]
    fn serializes_like_the_reference() {
        let mut e = TocEntry::new("etc/passwd", EntryType::Reg);
        e.size = 3;
        e.mode = 0o644;
        e.xattrs.insert("user.x".into(), vec![0, 255]);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"name":"etc/passwd","type":"reg","size":3,"mode":420,"xattrs":{"user.x":"AP8="}}"#
        );
    }

    #[test]
    fn bad_xattr_base64_is_an_error() {
        let r: Result<TocEntry, _> =
            serde_json::from_str(r#"{"name":"a","type":"reg","xattrs":{"user.a":"!!"}}"#);
        assert!(r.unwrap_err().to_string().contains("not base64"));
    }
}

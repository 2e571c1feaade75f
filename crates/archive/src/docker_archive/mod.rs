//! `docker-archive:FILE[:REF]`: the tarball of `docker save` and
//! `podman save --format docker-archive`.
//!
//! ```text
//! manifest.json         [{"Config":"<hex>.json","RepoTags":["name:tag"],"Layers":["<hex>/layer.tar"]}]
//! repositories          legacy: {"name":{"tag":"<top layer id>"}}
//! <hex>.json            image config; <hex> is its sha256 (the image ID)
//! <id>/layer.tar        an UNCOMPRESSED layer tar, whose sha256 is its diff_id
//! <id>/VERSION, <id>/json   legacy per-layer metadata
//! ```
//!
//! Writers vary: podman names layers `<hex>.tar` with legacy directories
//! holding symlinks to them; Docker 25+ uses `blobs/sha256/<hex>`. Readers
//! therefore go only by manifest.json and follow links inside the archive.

mod reader;
mod writer;

use std::path::Path;

use hoist_image::{Digest, Reference};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ArchiveError, Result};
use crate::tarindex::normalize_name;

pub use reader::{DockerArchive, DockerImage, DockerLayer, LayerReader};
pub use writer::DockerArchiveWriter;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const REPOSITORIES_FILE: &str = "repositories";
/// manifest.json lists every image of the archive; this is far beyond any real one.
pub const MAX_DOCKER_MANIFEST_BYTES: usize = 16 * 1024 * 1024;
/// Configs are read into memory; this bounds them.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// One image entry of manifest.json, with member paths normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManifestEntry {
    /// Archive path of the config JSON.
    pub config: String,
    /// Names such as `docker.io/library/busybox:latest`; empty for untagged images.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub repo_tags: Vec<String>,
    /// Archive paths of the uncompressed layer tars, base layer first.
    pub layers: Vec<String>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Parses manifest.json from an untrusted archive (`source` names it in
/// errors): bounded size, valid JSON of the right shape, member paths that stay
/// inside the archive, and repo tags that are valid image references.
pub fn parse_docker_manifest(data: &[u8], source: &Path) -> Result<Vec<ManifestEntry>> {
    if data.len() > MAX_DOCKER_MANIFEST_BYTES {
        return Err(ArchiveError::TooLarge {
            what: MANIFEST_FILE.into(),
            path: source.to_path_buf(),
            size: data.len() as u64,
            limit: MAX_DOCKER_MANIFEST_BYTES as u64,
        });
    }
    let mut entries: Vec<ManifestEntry> =
        serde_json::from_slice(data).map_err(|e| ArchiveError::Json {
            what: MANIFEST_FILE,
            path: source.to_path_buf(),
            source: e,
        })?;
    let check_path = |p: &str| -> Result<String> {
        match normalize_name(p) {
            Ok(n) if !n.is_empty() => Ok(n),
            Ok(_) => Err(ArchiveError::Invalid {
                what: MANIFEST_FILE,
                path: source.to_path_buf(),
                reason: "an empty member path".into(),
            }),
            Err(reason) => Err(ArchiveError::UnsafePath {
                name: p.to_string(),
                path: source.to_path_buf(),
                reason,
            }),
        }
    };
    for e in &mut entries {
        e.config = check_path(&e.config)?;
        for l in &mut e.layers {
            *l = check_path(l)?;
        }
        for t in &e.repo_tags {
            validate_repo_tag(t).map_err(|reason| ArchiveError::Invalid {
                what: MANIFEST_FILE,
                path: source.to_path_buf(),
                reason,
            })?;
        }
    }
    Ok(entries)
}

/// A RepoTags entry must be a `name:tag` reference.
pub(crate) fn validate_repo_tag(tag: &str) -> Result<(), String> {
    let parsed =
        hoist_image::reference::parse_name(tag).map_err(|e| format!("repo tag {tag:?}: {e}"))?;
    if parsed.tag.is_none() || parsed.digest.is_some() {
        return Err(format!("repo tag {tag:?} must be NAME:TAG"));
    }
    Ok(())
}

/// Whether a RepoTags entry designates `wanted`: equal as written, or equal
/// once both are normalized (`busybox` = `docker.io/library/busybox:latest`).
pub(crate) fn repo_tag_matches(repo_tag: &str, wanted: &str) -> bool {
    if repo_tag == wanted {
        return true;
    }
    match (Reference::parse(repo_tag), Reference::parse(wanted)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The config's sha256 as the member name encodes it (`<hex>.json`,
/// `blobs/sha256/<hex>`), if it does.
pub(crate) fn digest_from_member_name(name: &str) -> Option<Digest> {
    let base = name.rsplit('/').next()?;
    let hex = base.strip_suffix(".json").unwrap_or(base);
    format!("sha256:{hex}").parse().ok()
}

/// The parts of an image config this crate needs.
#[derive(Deserialize)]
struct ConfigProbe {
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<Digest>,
}

/// The `rootfs.diff_ids` of an image config.
pub fn config_diff_ids(config: &[u8], source: &Path) -> Result<Vec<Digest>> {
    let probe: ConfigProbe = serde_json::from_slice(config).map_err(|e| ArchiveError::Json {
        what: "image config",
        path: source.to_path_buf(),
        source: e,
    })?;
    Ok(probe.rootfs.diff_ids)
}

/// Entry point for a fuzz target: parse manifest.json bytes, match a reference.
pub fn fuzz_docker_manifest(data: &[u8]) {
    if let Ok(entries) = parse_docker_manifest(data, Path::new("<fuzz>")) {
        for e in entries {
            for t in &e.repo_tags {
                let _ = repo_tag_matches(t, "busybox");
            }
            let _ = digest_from_member_name(&e.config);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<ManifestEntry>> {
        parse_docker_manifest(s.as_bytes(), Path::new("x.tar"))
    }

    #[test]
    fn parses_docker_and_podman_shapes() {
        let e = parse(
            r#"[{"Config":"ab.json","RepoTags":["busybox:latest"],"Layers":["./l1/layer.tar","l2.tar"],"Parent":"","LayerSources":{}},
                {"Config":"cd.json","RepoTags":null,"Layers":[]}]"#,
        )
        .unwrap();
        assert_eq!(e[0].layers, ["l1/layer.tar", "l2.tar"]);
        assert_eq!(e[0].repo_tags, ["busybox:latest"]);
        assert!(e[1].repo_tags.is_empty());
    }

    #[test]
    fn refuses_hostile_or_malformed_manifests() {
        for (json, needle) in [
            (
                r#"[{"Config":"c.json","Layers":["../../etc/passwd"]}]"#,
                "unsafe path",
            ),
            (r#"[{"Config":"/etc/shadow","Layers":[]}]"#, "unsafe path"),
            (
                r#"[{"Config":"c.json","Layers":["."]}]"#,
                "empty member path",
            ),
            (
                r#"[{"Config":"c.json","RepoTags":["Bad Name"],"Layers":[]}]"#,
                "repo tag",
            ),
            (
                r#"[{"Config":"c.json","RepoTags":["busybox"],"Layers":[]}]"#,
                "NAME:TAG",
            ),
            (r#"[{"Layers":[]}]"#, "malformed manifest.json"),
            (r#"{"Config":"c.json"}"#, "malformed manifest.json"),
            ("[{", "malformed manifest.json"),
        ] {
            let err = parse(json).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
            assert!(
                err.contains("x.tar"),
                "error does not name the archive: {err}"
            );
        }
        let huge = vec![b' '; MAX_DOCKER_MANIFEST_BYTES + 1];
        assert!(matches!(
            parse_docker_manifest(&huge, Path::new("x")),
            Err(ArchiveError::TooLarge { .. })
        ));
    }

    #[test]
    fn matches_repo_tags_after_normalization() {
        assert!(repo_tag_matches(
            "busybox:latest",
            "docker.io/library/busybox"
        ));
        assert!(repo_tag_matches("localhost/app:1", "localhost/app:1"));
        assert!(!repo_tag_matches("busybox:1", "busybox:2"));
        let hex = "a".repeat(64);
        assert_eq!(
            digest_from_member_name(&format!("{hex}.json"))
                .unwrap()
                .hex(),
            hex
        );
        assert!(digest_from_member_name(&format!("blobs/sha256/{hex}")).is_some());
        assert!(digest_from_member_name("config.json").is_none());
    }

    #[test]
    fn fuzz_entry_point_survives_garbage() {
        for data in [&b""[..], b"[", b"[{\"Config\":1}]", b"\xff\xfe", b"[null]"] {
            fuzz_docker_manifest(data);
        }
    }
}

#[cfg(test)]
mod archive_tests;

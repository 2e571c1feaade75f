//! Manifests and indexes (OCI and Docker schema 2), parsed from untrusted bytes.
//!
//! The raw bytes stay the source of truth: a manifest's digest is the digest of
//! the bytes the registry sent, so callers keep them next to the parsed form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::media;
use crate::platform::Platform;

/// Manifests larger than this are refused before parsing, as the distribution
/// spec allows and containerd and podman do.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub urls: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub platform: Option<Platform>,
    #[serde(
        rename = "artifactType",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest,
            size,
            urls: None,
            annotations: None,
            platform: None,
            artifact_type: None,
        }
    }

    /// Whether this descriptor points at an index (OCI index or Docker
    /// manifest list) rather than an image manifest.
    pub fn is_index(&self) -> bool {
        matches!(
            self.media_type.as_str(),
            media::OCI_INDEX | media::DOCKER_MANIFEST_LIST
        )
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageManifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", skip_serializing_if = "Option::is_none", default)]
    pub media_type: Option<String>,
    #[serde(
        rename = "artifactType",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject: Option<Descriptor>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageIndex {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", skip_serializing_if = "Option::is_none", default)]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A parsed manifest of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
// Manifests are parsed once per pull; boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "manifest is {size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit: refusing to parse it"
    )]
    TooLarge { size: usize },
    #[error("malformed manifest JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported manifest media type {0:?} (hoist reads OCI and Docker schema 2 manifests and indexes)")]
    UnsupportedMediaType(String),
    #[error("Docker schema 1 manifests are deprecated and not supported: push the image again with a current tool")]
    Schema1,
    #[error("unsupported manifest schemaVersion {0} (expected 2)")]
    SchemaVersion(u32),
    #[error("invalid manifest: {0}")]
    Invalid(String),
    #[error("no manifest in the index matches platform {wanted}; available: {available}")]
    NoMatchingPlatform { wanted: String, available: String },
    #[error("layer {number} of {image} has media type {media_type:?}, which hoist cannot unpack (it is not a tar layer, plain or gzip/zstd compressed)")]
    UnsupportedLayer {
        image: String,
        /// 1-based, as a user counts layers.
        number: usize,
        media_type: String,
    },
    #[error("{image}: indexes nest deeper than {MAX_INDEX_DEPTH} levels; hoist stops following them there")]
    IndexTooDeep { image: String },
}

/// How many indexes deep an index may point at other indexes before hoist
/// gives up (a loop or a hostile registry must not keep a pull going).
pub const MAX_INDEX_DEPTH: usize = 4;

/// The fields every manifest shape shares, used to tell the shapes apart.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<u32>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    config: Option<serde_json::Value>,
}

impl Manifest {
    /// Parses manifest bytes. `content_type` is the type the registry or the
    /// referring descriptor claimed; an empty string means unknown, and the body
    /// decides.
    pub fn parse(bytes: &[u8], content_type: &str) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge { size: bytes.len() });
        }
        let probe: Probe = serde_json::from_slice(bytes)?;
        let declared = probe
            .media_type
            .as_deref()
            .or(Some(content_type).filter(|t| !t.is_empty() && *t != "application/json"));
        if matches!(
            declared,
            Some(media::DOCKER_SCHEMA1 | media::DOCKER_SCHEMA1_SIGNED)
        ) || probe.schema_version == Some(1)
        {
            return Err(ManifestError::Schema1);
        }
        match probe.schema_version {
            Some(2) => {}
            Some(v) => return Err(ManifestError::SchemaVersion(v)),
            None => return Err(ManifestError::Invalid("missing schemaVersion".into())),
        }
        let is_index = match declared {
            Some(media::OCI_INDEX | media::DOCKER_MANIFEST_LIST) => true,
            Some(media::OCI_MANIFEST | media::DOCKER_MANIFEST) => false,
            Some(other) => return Err(ManifestError::UnsupportedMediaType(other.to_string())),
            None => probe.manifests.is_some() && probe.config.is_none(),
        };
        let manifest = if is_index {
            Manifest::Index(serde_json::from_slice(bytes)?)
        } else {
            Manifest::Image(serde_json::from_slice(bytes)?)
        };
        manifest.validate()?;
        Ok(manifest)
    }

    /// The media type of this manifest: its own field, else the OCI type of its shape.
    pub fn media_type(&self) -> &str {
        match self {
            Manifest::Image(m) => m.media_type.as_deref().unwrap_or(media::OCI_MANIFEST),
            Manifest::Index(i) => i.media_type.as_deref().unwrap_or(media::OCI_INDEX),
        }
    }

    fn validate(&self) -> Result<(), ManifestError> {
        match self {
            Manifest::Image(m) => {
                if m.config.media_type.is_empty() {
                    return Err(ManifestError::Invalid("config has no mediaType".into()));
                }
                for l in &m.layers {
                    if l.media_type.is_empty() {
                        return Err(ManifestError::Invalid(format!(
                            "layer {} has no mediaType",
                            l.digest
                        )));
                    }
                }
            }
            Manifest::Index(i) => {
                for d in &i.manifests {
                    if d.size > MAX_MANIFEST_BYTES as u64 {
                        return Err(ManifestError::Invalid(format!(
                            "index entry {} claims {} bytes, over the manifest size limit",
                            d.digest, d.size
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

impl ImageManifest {
    /// The layers hoist can unpack: refuses media types that are not layers
    /// (artifacts, signatures) with an error naming the layer, the image
    /// (`image`, as the user knows it) and the type.
    pub fn check_layers_unpackable(&self, image: &str) -> Result<(), ManifestError> {
        for (i, l) in self.layers.iter().enumerate() {
            if media::layer_compression(&l.media_type).is_none() {
                return Err(ManifestError::UnsupportedLayer {
                    image: image.to_string(),
                    number: i + 1,
                    media_type: l.media_type.clone(),
                });
            }
        }
        Ok(())
    }

    /// Whether this is a Docker schema 2 manifest (as opposed to OCI).
    pub fn is_docker(&self) -> bool {
        self.media_type.as_deref() == Some(media::DOCKER_MANIFEST)
    }
}

impl ImageIndex {
    /// The entry to pull for `wanted`: the first image manifest whose
    /// platform matches; failing that, the first nested index whose platform
    /// matches or that names none (the caller fetches it and selects again,
    /// at most [`MAX_INDEX_DEPTH`] deep). Image entries without a platform
    /// (attestations) are skipped.
    pub fn select(&self, wanted: &Platform) -> Result<&Descriptor, ManifestError> {
        let matches = |d: &&Descriptor| d.platform.as_ref().is_some_and(|p| wanted.matches(p));
        let images = || self.manifests.iter().filter(|d| !d.is_index());
        let nested = || self.manifests.iter().filter(|d| d.is_index());
        images()
            .find(matches)
            .or_else(|| nested().find(matches))
            .or_else(|| nested().find(|d| d.platform.is_none()))
            .ok_or_else(|| ManifestError::NoMatchingPlatform {
                wanted: wanted.to_string(),
                available: self
                    .manifests
                    .iter()
                    .filter_map(|d| {
                        let p = d.platform.as_ref()?;
                        Some(if d.is_index() {
                            format!("{p} (a nested index)")
                        } else {
                            p.to_string()
                        })
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Entry point for the fuzz target: parse and, for indexes, select.
pub fn fuzz_parse(data: &[u8]) {
    if let Ok(Manifest::Index(i)) = Manifest::parse(data, "") {
        let _ = i.select(&Platform::host());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> String {
        format!("sha256:{}", hex::encode([n; 32]))
    }

    fn image_json(media_type: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{media_type}",
            "config":{{"mediaType":"{}","digest":"{}","size":10}},
            "layers":[{{"mediaType":"{}","digest":"{}","size":20}}]}}"#,
            media::OCI_CONFIG,
            d(1),
            media::OCI_LAYER_GZIP,
            d(2)
        )
    }

    #[test]
    fn parses_oci_and_docker_manifests() {
        for mt in [media::OCI_MANIFEST, media::DOCKER_MANIFEST] {
            let m = Manifest::parse(image_json(mt).as_bytes(), "").unwrap();
            let Manifest::Image(m) = m else {
                panic!("not an image")
            };
            assert_eq!(m.layers.len(), 1);
            assert_eq!(m.layers[0].size, 20);
            m.check_layers_unpackable("r/a:1").unwrap();
        }
    }

    #[test]
    fn selects_platform_from_index() {
        let json = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[
            {{"mediaType":"{}","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
            {{"mediaType":"{}","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#,
            media::OCI_INDEX,
            media::OCI_MANIFEST,
            d(3),
            media::OCI_MANIFEST,
            d(4)
        );
        let Manifest::Index(i) = Manifest::parse(json.as_bytes(), "").unwrap() else {
            panic!("not an index")
        };
        assert_eq!(
            i.select(&"linux/amd64".parse().unwrap())
                .unwrap()
                .digest
                .to_string(),
            d(4)
        );
        assert_eq!(
            i.select(&"linux/arm64".parse().unwrap())
                .unwrap()
                .digest
                .to_string(),
            d(3)
        );
        let err = i.select(&"linux/s390x".parse().unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("linux/arm64/v8, linux/amd64"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_layer_type_is_named_as_a_layer_not_a_manifest() {
        let json = image_json(media::OCI_MANIFEST)
            .replace(media::OCI_LAYER_GZIP, "application/vnd.example.sbom+json");
        let Manifest::Image(m) = Manifest::parse(json.as_bytes(), "").unwrap() else {
            panic!("not an image")
        };
        let err = m.check_layers_unpackable("reg/app:1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer 1 of reg/app:1 has media type \"application/vnd.example.sbom+json\", which hoist cannot unpack (it is not a tar layer, plain or gzip/zstd compressed)"
        );
        assert!(!err.to_string().contains("manifest media type"));
    }

    #[test]
    fn a_nested_index_is_followed_not_reported_as_a_mismatch() {
        let entry = |mt: &str, n: u8, platform: &str| {
            format!(
                r#"{{"mediaType":"{mt}","digest":"{}","size":1{platform}}}"#,
                d(n)
            )
        };
        let amd64 = r#","platform":{"os":"linux","architecture":"amd64"}"#;
        let arm64 = r#","platform":{"os":"linux","architecture":"arm64"}"#;
        let index = |entries: &[String]| {
            let json = format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{}]}}"#,
                media::OCI_INDEX,
                entries.join(",")
            );
            let Manifest::Index(i) = Manifest::parse(json.as_bytes(), "").unwrap() else {
                panic!("not an index")
            };
            i
        };
        let amd: Platform = "linux/amd64".parse().unwrap();
        // The only linux/amd64 entry is itself an index: it is the one to follow.
        let i = index(&[
            entry(media::OCI_MANIFEST, 1, arm64),
            entry(media::OCI_INDEX, 2, amd64),
        ]);
        let got = i.select(&amd).unwrap();
        assert_eq!(got.digest.to_string(), d(2));
        assert!(got.is_index());
        // An image entry wins over a nested index; a Docker manifest list
        // without a platform is followed when nothing else matches.
        let i = index(&[
            entry(media::OCI_INDEX, 3, amd64),
            entry(media::OCI_MANIFEST, 4, amd64),
        ]);
        assert_eq!(i.select(&amd).unwrap().digest.to_string(), d(4));
        let i = index(&[
            entry(media::OCI_MANIFEST, 5, arm64),
            entry(media::DOCKER_MANIFEST_LIST, 6, ""),
        ]);
        assert_eq!(i.select(&amd).unwrap().digest.to_string(), d(6));
        // When nothing matches, nested indexes are named as such.
        let i = index(&[entry(media::OCI_INDEX, 7, arm64)]);
        let err = i.select(&amd).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no manifest in the index matches platform linux/amd64; available: linux/arm64 (a nested index)"
        );
    }

    #[test]
    fn refuses_bad_input_clearly() {
        let big = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(matches!(
            Manifest::parse(&big, ""),
            Err(ManifestError::TooLarge { .. })
        ));
        assert!(matches!(
            Manifest::parse(b"{not json", ""),
            Err(ManifestError::Json(_))
        ));
        assert!(matches!(
            Manifest::parse(image_json("application/x-weird").as_bytes(), ""),
            Err(ManifestError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":1,"name":"x"}"#, ""),
            Err(ManifestError::Schema1)
        ));
        let bad_digest = image_json(media::OCI_MANIFEST).replace(&d(2), "sha256:nothex");
        assert!(Manifest::parse(bad_digest.as_bytes(), "").is_err());
    }
}

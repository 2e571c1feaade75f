//! The simple-signing payload: what a signature says about an image.
//!
//! Its JSON shape is containers/image's "atomic container signature":
//! a `critical` part (the type, the manifest digest, the image's name)
//! that a verifier must understand in full, and an `optional` part (who
//! made it, when). Keys are written in sorted order, as Go's encoder does,
//! so the bytes hoist signs look like podman's.

use hoist_image::Digest;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SignError};

/// The only payload type there is.
pub const SIGNATURE_TYPE: &str = "atomic container signature";
/// A payload bigger than this is not a signature of ours (they are ~300 bytes).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// What one signature asserts: `docker_reference` is the image whose
/// manifest has `manifest_digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub docker_reference: String,
    pub manifest_digest: Digest,
    pub creator: Option<String>,
    pub timestamp: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    critical: Critical,
    #[serde(default)]
    optional: Optional,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

// Unknown optional keys are allowed: that part is advisory by definition.
#[derive(Serialize, Deserialize, Default)]
struct Optional {
    #[serde(skip_serializing_if = "Option::is_none")]
    creator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<i64>,
}

impl Payload {
    /// A payload for `docker_reference` at `manifest_digest`, made now by this hoist.
    pub fn new(docker_reference: String, manifest_digest: Digest, timestamp: i64) -> Payload {
        Payload {
            docker_reference,
            manifest_digest,
            creator: Some(format!("hoist {}", env!("CARGO_PKG_VERSION"))),
            timestamp: Some(timestamp),
        }
    }

    /// The bytes to sign.
    pub fn to_json(&self) -> Vec<u8> {
        let wire = Wire {
            critical: Critical {
                identity: Identity {
                    docker_reference: self.docker_reference.clone(),
                },
                image: Image {
                    docker_manifest_digest: self.manifest_digest.to_string(),
                },
                kind: SIGNATURE_TYPE.to_string(),
            },
            optional: Optional {
                creator: self.creator.clone(),
                timestamp: self.timestamp,
            },
        };
        serde_json::to_vec(&wire).expect("a payload always serializes")
    }

    /// Reads a payload taken out of a verified signature. The bytes are
    /// still the signer's, not ours: every critical field must be there,
    /// of the right type, and nothing else may be.
    pub fn parse(bytes: &[u8]) -> Result<Payload> {
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(SignError::Payload(format!(
                "{} bytes, more than the {MAX_PAYLOAD_BYTES} a signature payload may have",
                bytes.len()
            )));
        }
        let wire: Wire =
            serde_json::from_slice(bytes).map_err(|e| SignError::Payload(e.to_string()))?;
        if wire.critical.kind != SIGNATURE_TYPE {
            return Err(SignError::Payload(format!(
                "type {:?}, expected {SIGNATURE_TYPE:?}",
                wire.critical.kind
            )));
        }
        let manifest_digest = wire
            .critical
            .image
            .docker_manifest_digest
            .parse::<Digest>()
            .map_err(|e| SignError::Payload(e.to_string()))?;
        Ok(Payload {
            docker_reference: wire.critical.identity.docker_reference,
            manifest_digest,
            creator: wire.optional.creator,
            timestamp: wire.optional.timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Digest {
        Digest::sha256_of(b"manifest")
    }

    #[test]
    fn writes_sorted_keys_and_reads_them_back() {
        let p = Payload::new("quay.io/a/b:1".into(), digest(), 1_700_000_000);
        let json = String::from_utf8(p.to_json()).unwrap();
        let expected = format!(
            "{{\"critical\":{{\"identity\":{{\"docker-reference\":\"quay.io/a/b:1\"}},\
             \"image\":{{\"docker-manifest-digest\":\"{}\"}},\
             \"type\":\"atomic container signature\"}},\
             \"optional\":{{\"creator\":\"hoist {}\",\"timestamp\":1700000000}}}}",
            digest(),
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(json, expected);
        assert_eq!(Payload::parse(json.as_bytes()).unwrap(), p);
    }

    #[test]
    fn rejects_unknown_critical_fields_wrong_types_and_bad_digests() {
        let d = digest();
        let bad = [
            format!("{{\"critical\":{{\"identity\":{{\"docker-reference\":\"a\"}},\"image\":{{\"docker-manifest-digest\":\"{d}\"}},\"type\":\"atomic container signature\",\"extra\":1}}}}"),
            format!("{{\"critical\":{{\"identity\":{{\"docker-reference\":\"a\"}},\"image\":{{\"docker-manifest-digest\":\"{d}\"}},\"type\":\"other\"}}}}"),
            "{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:zz\"},\"type\":\"atomic container signature\"}}".to_string(),
            "{\"critical\":{\"identity\":{},\"image\":{},\"type\":\"atomic container signature\"}}".to_string(),
            "[]".to_string(),
        ];
        for b in bad {
            assert!(Payload::parse(b.as_bytes()).is_err(), "{b}");
        }
    }

    #[test]
    fn the_optional_part_may_be_missing_or_carry_more() {
        let d = digest();
        let json = format!("{{\"critical\":{{\"identity\":{{\"docker-reference\":\"a\"}},\"image\":{{\"docker-manifest-digest\":\"{d}\"}},\"type\":\"atomic container signature\"}},\"optional\":{{\"x\":true}}}}");
        let p = Payload::parse(json.as_bytes()).unwrap();
        assert_eq!((p.creator, p.timestamp), (None, None));
    }
}

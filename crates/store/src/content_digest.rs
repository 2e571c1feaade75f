//! The digest a layer's contents record keeps of each regular file.
//!
//! These digests never leave the store: registries, manifests and image
//! configs name blobs and diff_ids, which stay sha256 (see
//! [`hoist_image::Digest`]). A pull hashes every byte it unpacks for this
//! record, so new records use BLAKE3, about three times as fast as sha256
//! on this project's machines. Records written before it (version 1) hold
//! sha256 digests, and are checked with sha256.

use std::fmt;
use std::io;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The algorithm of a file's content digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ContentAlgorithm {
    Sha256,
    Blake3,
}

impl ContentAlgorithm {
    /// What records written now use.
    pub(crate) const CURRENT: ContentAlgorithm = ContentAlgorithm::Blake3;

    fn as_str(self) -> &'static str {
        match self {
            ContentAlgorithm::Sha256 => "sha256",
            ContentAlgorithm::Blake3 => "blake3",
        }
    }
}

/// `ALGORITHM:HEX`, both algorithms with 32-byte outputs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ContentDigest {
    algorithm: ContentAlgorithm,
    hex: String,
}

impl ContentDigest {
    #[cfg(test)]
    pub(crate) fn algorithm(&self) -> ContentAlgorithm {
        self.algorithm
    }
}

impl fmt::Display for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

impl fmt::Debug for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for ContentDigest {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (algo, hex) = s
            .split_once(':')
            .ok_or_else(|| format!("content digest {s:?} is not ALGORITHM:HEX"))?;
        let algorithm = match algo {
            "sha256" => ContentAlgorithm::Sha256,
            "blake3" => ContentAlgorithm::Blake3,
            _ => return Err(format!("content digest {s:?}: unknown algorithm")),
        };
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if hex.len() != 64 || !hex.bytes().all(lower_hex) {
            return Err(format!(
                "content digest {s:?}: not 64 lower-case hex digits"
            ));
        }
        Ok(ContentDigest {
            algorithm,
            hex: hex.to_string(),
        })
    }
}

impl Serialize for ContentDigest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ContentDigest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A streaming hasher for either algorithm; also a `Write` sink for
/// `io::copy`.
pub(crate) enum ContentHasher {
    // Both boxed: BLAKE3's state (its chunk stack) is about 2 KB, and
    // hoist_image's hasher, which can also be sha512, over 200 bytes.
    Sha256(Box<hoist_image::Hasher>),
    Blake3(Box<blake3::Hasher>),
}

impl ContentHasher {
    pub(crate) fn new(algorithm: ContentAlgorithm) -> ContentHasher {
        match algorithm {
            ContentAlgorithm::Sha256 => {
                ContentHasher::Sha256(Box::new(hoist_image::Hasher::sha256()))
            }
            ContentAlgorithm::Blake3 => ContentHasher::Blake3(Box::default()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            ContentHasher::Sha256(h) => h.update(data),
            ContentHasher::Blake3(h) => {
                h.update(data);
            }
        }
    }

    pub(crate) fn finish(self) -> ContentDigest {
        match self {
            ContentHasher::Sha256(h) => ContentDigest {
                algorithm: ContentAlgorithm::Sha256,
                hex: h.finish().hex().to_string(),
            },
            ContentHasher::Blake3(h) => ContentDigest {
                algorithm: ContentAlgorithm::Blake3,
                hex: h.finalize().to_hex().to_string(),
            },
        }
    }
}

impl io::Write for ContentHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(algorithm: ContentAlgorithm, data: &[u8]) -> String {
        let mut h = ContentHasher::new(algorithm);
        // In two pieces: the streaming state must carry across updates.
        let (a, b) = data.split_at(data.len() / 2);
        h.update(a);
        h.update(b);
        h.finish().to_string()
    }

    #[test]
    fn both_algorithms_give_their_published_digests() {
        assert_eq!(
            digest_of(ContentAlgorithm::Sha256, b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            digest_of(ContentAlgorithm::Blake3, b""),
            "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(
            digest_of(ContentAlgorithm::Sha256, b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // More than one 1 KiB chunk: the tree part of BLAKE3, where the
        // SIMD code paths differ from a single chunk's.
        let long = vec![7u8; 300_000];
        let one_shot = blake3::hash(&long).to_hex().to_string();
        assert_eq!(
            digest_of(ContentAlgorithm::Blake3, &long),
            format!("blake3:{one_shot}")
        );
    }

    #[test]
    fn digests_round_trip_and_bad_ones_are_refused() {
        for alg in [ContentAlgorithm::Sha256, ContentAlgorithm::Blake3] {
            let d: ContentDigest = digest_of(alg, b"x").parse().unwrap();
            assert_eq!(d.algorithm(), alg);
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<ContentDigest>(&json).unwrap(), d);
        }
        let hex64 = "a".repeat(64);
        for bad in [
            format!("md5:{hex64}"),
            format!("blake3:{}", "A".repeat(64)),
            "blake3:abc".to_string(),
            hex64.clone(),
        ] {
            let err = bad.parse::<ContentDigest>().unwrap_err();
            assert!(err.contains("content digest"), "{err}");
        }
    }
}

//! Helpers shared by the unit tests.

use crate::Store;

pub(crate) fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("store")).unwrap();
    (dir, s)
}

/// True if this store's temporary directory holds nothing but its pin list.
pub(crate) fn own_tmp_is_empty(s: &Store) -> bool {
    std::fs::read_dir(s.own_tmp().dir())
        .unwrap()
        .all(|e| e.unwrap().file_name() == "pins")
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 1).unwrap()
}

pub(crate) fn simple_tar(seed: &str) -> Vec<u8> {
    crate::extract::tests::TarBuilder::new()
        .dir("etc/", 0o755, 1_600_000_000)
        .file("etc/seed", seed.as_bytes())
        .symlink("etc/link", "seed")
        .finish()
}

/// Stores `tar` gzip-compressed; returns (blob digest, diff_id).
pub(crate) fn put_gzip_layer(s: &Store, tar: &[u8]) -> (hoist_image::Digest, hoist_image::Digest) {
    let blob = s.add_blob(&gzip(tar)).unwrap();
    (blob, hoist_image::Digest::sha256_of(tar))
}

pub(crate) const GZIP: &str = hoist_image::media::OCI_LAYER_GZIP;

/// Stores a complete one-layer image (config, manifest, layer) and returns
/// its record, not yet put.
pub(crate) fn make_image(s: &Store, seed: &str, names: &[&str]) -> crate::ImageRecord {
    use hoist_image::media;
    let tar = simple_tar(seed);
    let (blob, diff_id) = put_gzip_layer(s, &tar);
    s.unpack_layer_expecting(&blob, GZIP, &diff_id).unwrap();
    let config = format!(
        r#"{{"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"seed":"{seed}"}}"#
    );
    let config_digest = s.add_blob(config.as_bytes()).unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"{GZIP}","digest":"{blob}","size":{}}}]}}"#,
        media::OCI_MANIFEST,
        media::OCI_CONFIG,
        config.len(),
        s.blob_size(&blob).unwrap()
    );
    let manifest_digest = s.add_blob(manifest.as_bytes()).unwrap();
    let layers = vec![crate::LayerRef {
        blob: blob.clone(),
        diff_id,
        media_type: GZIP.to_string(),
        size: s.blob_size(&blob).unwrap(),
        lazy: None,
    }];
    crate::ImageRecord {
        id: config_digest.clone(),
        manifest_digest: manifest_digest.clone(),
        manifest_media_type: media::OCI_MANIFEST.to_string(),
        names: names.iter().map(|n| n.to_string()).collect(),
        size: s.image_size(&layers).unwrap(),
        layers,
        config_digest,
        created: "2024-01-01T00:00:00Z".into(),
        stored_at: String::new(),
        names_history: vec![],
        parent: None,
        platform: "linux/amd64".into(),
        digests: vec![manifest_digest],
        repositories: vec![],
    }
}

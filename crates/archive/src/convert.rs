//! Conversions between the docker-archive model and OCI manifests.
//!
//! A docker-archive image is a config plus uncompressed layer tars named by
//! their diff_ids. The OCI image hoist makes of it keeps the config bytes
//! unchanged (so the image ID is unchanged) and keeps the layers uncompressed:
//! layer i becomes a blob whose digest is `diff_ids[i]`, with media type
//! [`media::OCI_LAYER`]. No recompression happens, so no new digests appear
//! and the conversion can be verified end to end.

use std::collections::BTreeMap;

use hoist_image::manifest::{Descriptor, ImageManifest};
use hoist_image::{media, Digest};

use crate::docker_archive::{DockerArchive, DockerImage};
use crate::error::Result;
use crate::oci_layout::OciLayout;

/// The OCI media type with the same meaning as a Docker one (configs and
/// layers have identical content in both worlds); other types are returned as-is.
pub fn to_oci_media_type(media_type: &str) -> &str {
    match media_type {
        media::DOCKER_CONFIG => media::OCI_CONFIG,
        media::DOCKER_LAYER_GZIP => media::OCI_LAYER_GZIP,
        media::DOCKER_LAYER_FOREIGN_GZIP => media::OCI_LAYER_NONDIST_GZIP,
        "application/vnd.docker.image.rootfs.diff.tar" => media::OCI_LAYER,
        media::DOCKER_MANIFEST => media::OCI_MANIFEST,
        media::DOCKER_MANIFEST_LIST => media::OCI_INDEX,
        other => other,
    }
}

/// A serialized manifest: its exact bytes and the descriptor that points to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltManifest {
    pub bytes: Vec<u8>,
    pub descriptor: Descriptor,
}

impl BuiltManifest {
    pub fn digest(&self) -> &Digest {
        &self.descriptor.digest
    }
}

/// Serializes an OCI image manifest for `config` and `layers` (base first).
/// Docker media types in the descriptors are replaced by their OCI
/// equivalents; digests and sizes are kept.
pub fn build_oci_manifest(
    config: &Descriptor,
    layers: &[Descriptor],
    annotations: Option<BTreeMap<String, String>>,
) -> BuiltManifest {
    let oci = |d: &Descriptor| Descriptor {
        media_type: to_oci_media_type(&d.media_type).to_string(),
        ..d.clone()
    };
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(media::OCI_MANIFEST.to_string()),
        artifact_type: None,
        config: oci(config),
        layers: layers.iter().map(oci).collect(),
        subject: None,
        annotations,
    };
    let bytes = serde_json::to_vec(&manifest).expect("a manifest always serializes");
    let descriptor = Descriptor::new(
        media::OCI_MANIFEST,
        Digest::sha256_of(&bytes),
        bytes.len() as u64,
    );
    BuiltManifest { bytes, descriptor }
}

/// What an OCI image made from a docker-archive image consists of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciPlan {
    /// The config, unchanged: digest = the docker image ID.
    pub config: Descriptor,
    /// Layer i is the uncompressed tar with digest `diff_ids[i]`; its size is
    /// what [`DockerArchive::open_layer`] yields (known only after reading
    /// when the archive stores the layer gzip-compressed).
    pub diff_ids: Vec<Digest>,
}

impl OciPlan {
    /// The manifest, once the uncompressed size of every layer is known.
    pub fn manifest(&self, layer_sizes: &[u64]) -> BuiltManifest {
        assert_eq!(layer_sizes.len(), self.diff_ids.len(), "one size per layer");
        let layers: Vec<Descriptor> = self
            .diff_ids
            .iter()
            .zip(layer_sizes)
            .map(|(d, &s)| Descriptor::new(media::OCI_LAYER, d.clone(), s))
            .collect();
        build_oci_manifest(&self.config, &layers, None)
    }
}

pub fn plan_from_docker(image: &DockerImage) -> OciPlan {
    OciPlan {
        config: Descriptor::new(
            media::OCI_CONFIG,
            image.config_digest.clone(),
            image.config.len() as u64,
        ),
        diff_ids: image.layers.iter().map(|l| l.diff_id.clone()).collect(),
    }
}

/// Copies image `image` of a docker archive into an OCI layout (config,
/// uncompressed layers, a new manifest) and adds it to the index under `tag`.
/// Every layer is verified against its diff_id. Returns the manifest's descriptor.
pub fn docker_image_to_layout(
    archive: &DockerArchive,
    image: usize,
    layout: &OciLayout,
    tag: Option<&str>,
) -> Result<Descriptor> {
    let img = archive
        .images()
        .get(image)
        .ok_or_else(|| crate::ArchiveError::NotFound {
            wanted: format!("@{image}"),
            path: archive.path().to_path_buf(),
            available: format!("{} images", archive.images().len()),
        })?;
    let plan = plan_from_docker(img);
    layout.write_blob_from(&img.config[..], &plan.config.digest)?;
    let mut sizes = Vec::with_capacity(plan.diff_ids.len());
    for (i, diff_id) in plan.diff_ids.iter().enumerate() {
        // write_blob_from verifies the digest itself and skips existing blobs.
        let (_, layer) = archive.open_layer_unverified(image, i)?;
        sizes.push(layout.write_blob_from(layer, diff_id)?);
    }
    let built = plan.manifest(&sizes);
    layout.write_blob_from(&built.bytes[..], built.digest())?;
    layout.add_manifest(built.descriptor.clone(), tag)?;
    Ok(built.descriptor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker_archive::DockerArchiveWriter;
    use crate::testutil::{config_json, two_layers};
    use hoist_image::manifest::Manifest;
    use std::io::Read;

    #[test]
    fn builds_oci_manifests_from_docker_descriptors() {
        let config = Descriptor::new(media::DOCKER_CONFIG, Digest::sha256_of(b"c"), 1);
        let layer = Descriptor::new(media::DOCKER_LAYER_GZIP, Digest::sha256_of(b"l"), 2);
        let mut ann = BTreeMap::new();
        ann.insert("k".to_string(), "v".to_string());
        let built = build_oci_manifest(&config, std::slice::from_ref(&layer), Some(ann));
        assert_eq!(built.descriptor.digest, Digest::sha256_of(&built.bytes));
        assert_eq!(built.descriptor.size, built.bytes.len() as u64);
        assert_eq!(built.descriptor.media_type, media::OCI_MANIFEST);
        let Manifest::Image(m) = Manifest::parse(&built.bytes, media::OCI_MANIFEST).unwrap() else {
            panic!("not an image manifest")
        };
        assert_eq!(m.config.media_type, media::OCI_CONFIG);
        assert_eq!(m.config.digest, config.digest);
        assert_eq!(m.layers[0].media_type, media::OCI_LAYER_GZIP);
        assert_eq!(
            (m.layers[0].digest.clone(), m.layers[0].size),
            (layer.digest, 2)
        );
        assert_eq!(m.annotations.unwrap()["k"], "v");
        assert_eq!(
            to_oci_media_type("application/x-other"),
            "application/x-other"
        );
    }

    #[test]
    fn docker_archive_image_becomes_a_layout_image() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.tar");
        let tars = two_layers();
        let ids: Vec<Digest> = tars.iter().map(|t| Digest::sha256_of(t)).collect();
        let config = config_json(&ids);
        let mut w = DockerArchiveWriter::new(&file).unwrap();
        let layers = tars
            .iter()
            .zip(&ids)
            .map(|(t, d)| (d.clone(), &t[..], t.len() as u64));
        let image_id = w
            .add_image(&config, &["app:1".to_string()], layers)
            .unwrap();
        w.finish().unwrap();

        let archive = DockerArchive::open(&file).unwrap();
        let plan = plan_from_docker(&archive.images()[0]);
        assert_eq!(plan.config.digest, image_id);
        assert_eq!(plan.diff_ids, ids);

        let layout = OciLayout::create_or_open(dir.path().join("layout")).unwrap();
        let desc = docker_image_to_layout(&archive, 0, &layout, Some("app-1")).unwrap();
        // Idempotent: a second conversion reuses the blobs and replaces the tag.
        assert_eq!(
            docker_image_to_layout(&archive, 0, &layout, Some("app-1")).unwrap(),
            desc
        );
        assert_eq!(layout.index().unwrap().manifests.len(), 1);
        assert_eq!(layout.resolve(Some("app-1")).unwrap().digest, desc.digest);
        let (_, Manifest::Image(m)) = layout.read_manifest(&desc).unwrap() else {
            panic!("not an image manifest")
        };
        assert_eq!(
            m.config.digest, image_id,
            "config must be kept byte for byte"
        );
        assert_eq!(layout.read_blob(&image_id).unwrap(), config);
        for (i, l) in m.layers.iter().enumerate() {
            assert_eq!(l.media_type, media::OCI_LAYER);
            assert_eq!((&l.digest, l.size), (&ids[i], tars[i].len() as u64));
            let mut data = Vec::new();
            layout
                .open_blob_verified(&l.digest)
                .unwrap()
                .read_to_end(&mut data)
                .unwrap();
            assert_eq!(data, tars[i]);
        }
        assert!(docker_image_to_layout(&archive, 1, &layout, None).is_err());
    }
}

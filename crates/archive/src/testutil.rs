//! Builders of real image content for the tests: layer tars, gzip, configs
//! and a complete OCI layout.

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use hoist_image::manifest::Descriptor;
use hoist_image::{media, Digest};

use crate::convert::build_oci_manifest;
use crate::oci_layout::OciLayout;

/// A layer tar holding `files` (path, content) under a directory `etc/`.
pub fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    b.append_data(&mut dir, "etc/", std::io::empty()).unwrap();
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A valid OCI image config for the given diff_ids.
pub fn config_json(diff_ids: &[Digest]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": diff_ids.iter().map(|_| serde_json::json!({"created_by": "test"})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// Two uncompressed layers, distinct content.
pub fn two_layers() -> [Vec<u8>; 2] {
    [
        layer_tar(&[
            ("etc/hostname", b"hoist\n"),
            ("etc/motd", b"hello from layer one\n"),
        ]),
        layer_tar(&[("etc/os-release", b"ID=hoist-test\n")]),
    ]
}

/// A sample image in a layout: layer 0 stored gzip-compressed, layer 1
/// uncompressed. Returns the layout, the manifest descriptor and the layers'
/// uncompressed tars.
pub struct SampleImage {
    pub layout: OciLayout,
    pub manifest: Descriptor,
    pub layer_descs: Vec<Descriptor>,
    pub tars: [Vec<u8>; 2],
    pub config: Vec<u8>,
}

pub fn sample_layout(dir: &Path, tag: Option<&str>) -> SampleImage {
    let layout = OciLayout::create_or_open(dir).unwrap();
    let tars = two_layers();
    let diff_ids: Vec<Digest> = tars.iter().map(|t| Digest::sha256_of(t)).collect();
    let config = config_json(&diff_ids);
    let config_digest = layout.write_blob_bytes(&config).unwrap();
    let gz = gzip(&tars[0]);
    let layer_descs = vec![
        Descriptor::new(
            media::OCI_LAYER_GZIP,
            layout.write_blob_bytes(&gz).unwrap(),
            gz.len() as u64,
        ),
        Descriptor::new(
            media::OCI_LAYER,
            layout.write_blob_bytes(&tars[1]).unwrap(),
            tars[1].len() as u64,
        ),
    ];
    let built = build_oci_manifest(
        &Descriptor::new(media::OCI_CONFIG, config_digest, config.len() as u64),
        &layer_descs,
        None,
    );
    layout
        .write_blob_from(&built.bytes[..], built.digest())
        .unwrap();
    layout.add_manifest(built.descriptor.clone(), tag).unwrap();
    SampleImage {
        layout,
        manifest: built.descriptor,
        layer_descs,
        tars,
        config,
    }
}

/// Every path under `dir`, relative, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

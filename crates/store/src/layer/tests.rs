use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Barrier};

use hoist_image::media;

use super::*;
use crate::extract::ExtractError;
use crate::testutil::{gzip, own_tmp_is_empty, put_gzip_layer, simple_tar, store, zstd, GZIP};

fn layer_count(s: &Store) -> usize {
    std::fs::read_dir(s.layout().layers()).unwrap().count()
}

#[test]
fn unpacks_each_compression_and_computes_the_diff_id() {
    let (_d, s) = store();
    let cases = [
        (
            simple_tar("gz"),
            media::OCI_LAYER_GZIP,
            Some(gzip as fn(&[u8]) -> Vec<u8>),
        ),
        (
            simple_tar("zst"),
            media::OCI_LAYER_ZSTD,
            Some(zstd as fn(&[u8]) -> Vec<u8>),
        ),
        (simple_tar("raw"), media::OCI_LAYER, None),
    ];
    for (tar, mt, compress) in cases {
        let bytes = compress.map(|c| c(&tar)).unwrap_or_else(|| tar.clone());
        let blob = s.add_blob(&bytes).unwrap();
        let info = s.unpack_layer(&blob, mt).unwrap();
        assert_eq!(info.diff_id, Digest::sha256_of(&tar), "{mt}");
        assert_eq!(info.blobs, vec![blob.clone()]);
        assert_eq!(info.uncompressed_size, tar.len() as u64);
        assert_eq!(info.entries, 3);
        assert!(s.has_layer(&info.diff_id));
        assert_eq!(s.layer_info(&info.diff_id).unwrap(), info);
        let diff = s.layer_diff_dir(&info.diff_id);
        assert!(diff.ends_with(format!("layers/{}/diff", info.diff_id.hex())));
        assert!(
            std::fs::read(diff.join("etc/seed"))
                .unwrap()
                .starts_with(b"gz")
                || mt != media::OCI_LAYER_GZIP
        );
        assert_eq!(
            std::fs::read_link(diff.join("etc/link")).unwrap().to_str(),
            Some("seed")
        );
    }
    assert_eq!(s.layers().unwrap().len(), 3);
    assert!(own_tmp_is_empty(&s));
}

#[test]
fn unpacks_once() {
    let (_d, s) = store();
    let tar = simple_tar("once");
    let (blob, diff_id) = put_gzip_layer(&s, &tar);
    let first = s.unpack_layer(&blob, GZIP).unwrap();
    // Without the blob, any real work would fail: so these do none.
    let p = s.blob_path(&blob);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::remove_file(&p).unwrap();
    assert_eq!(s.unpack_layer(&blob, GZIP).unwrap(), first);
    assert_eq!(
        s.unpack_layer_expecting(&blob, GZIP, &diff_id).unwrap(),
        first
    );
    assert_eq!(layer_count(&s), 1);
}

#[test]
fn diff_id_mismatch_changes_nothing() {
    let (_d, s) = store();
    let (blob, _) = put_gzip_layer(&s, &simple_tar("a"));
    let wrong = Digest::sha256_of(b"something else");
    let err = s.unpack_layer_expecting(&blob, GZIP, &wrong).unwrap_err();
    assert!(
        matches!(&err, StoreError::DiffIdMismatch { expected, .. } if *expected == wrong),
        "{err}"
    );
    assert_eq!(layer_count(&s), 0);
    assert!(own_tmp_is_empty(&s));
}

#[test]
fn two_blobs_of_one_layer_share_it() {
    let (_d, s) = store();
    let tar = simple_tar("shared");
    let gz = s.add_blob(&gzip(&tar)).unwrap();
    let zs = s.add_blob(&zstd(&tar)).unwrap();
    let a = s.unpack_layer(&gz, media::OCI_LAYER_GZIP).unwrap();
    let b = s.unpack_layer(&zs, media::OCI_LAYER_ZSTD).unwrap();
    assert_eq!(a.diff_id, b.diff_id);
    assert_eq!(b.blobs, vec![gz.clone(), zs.clone()]);
    assert_eq!(
        s.find_layer_by_blob(&zs).unwrap().unwrap().diff_id,
        a.diff_id
    );
    assert_eq!(layer_count(&s), 1);
    assert!(own_tmp_is_empty(&s));
}

#[test]
fn corrupt_or_truncated_blobs_leave_no_layer() {
    let (_d, s) = store();
    let tar = simple_tar(&"x".repeat(50_000));
    let gz = gzip(&tar);
    let truncated = s.add_blob(&gz[..gz.len() / 2]).unwrap();
    let mut flipped = gz.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    let flipped = s.add_blob(&flipped).unwrap();
    let not_gzip = s.add_blob(b"this is not gzip at all").unwrap();
    for blob in [truncated, flipped, not_gzip] {
        let err = s.unpack_layer(&blob, GZIP).unwrap_err();
        assert!(matches!(err, StoreError::Extract { .. }), "{err}");
        assert_eq!(layer_count(&s), 0);
        assert!(own_tmp_is_empty(&s));
    }
}

#[test]
fn hostile_layer_leaves_the_store_unchanged() {
    let (d, s) = store();
    let tar = crate::extract::tests::TarBuilder::new()
        .file("fine", b"ok")
        .symlink("d", "/")
        .file("d/x", b"inside")
        .file("../escape", b"pwned")
        .finish();
    let (blob, _) = put_gzip_layer(&s, &tar);
    let err = s.unpack_layer(&blob, GZIP).unwrap_err();
    assert!(
        matches!(&err, StoreError::Extract { source: ExtractError::Hostile { entry, .. }, .. } if entry == "../escape"),
        "{err}"
    );
    assert!(err.to_string().contains("../escape"));
    assert_eq!(layer_count(&s), 0);
    assert!(own_tmp_is_empty(&s));
    assert!(!d.path().join("escape").exists() && !s.root().join("escape").exists());
}

#[test]
fn concurrent_unpacks_of_one_layer_unpack_it_once() {
    let (_d, s) = store();
    let tar = simple_tar(&"c".repeat(200_000));
    let (blob, diff_id) = put_gzip_layer(&s, &tar);
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (s, blob, diff_id, barrier) =
                (s.clone(), blob.clone(), diff_id.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                if i % 2 == 0 {
                    s.unpack_layer(&blob, GZIP).unwrap()
                } else {
                    s.unpack_layer_expecting(&blob, GZIP, &diff_id).unwrap()
                }
            })
        })
        .collect();
    let infos: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(infos.iter().all(|i| i == &infos[0]), "{infos:?}");
    assert_eq!(layer_count(&s), 1);
    assert!(own_tmp_is_empty(&s));
}

#[test]
fn killed_unpack_leaves_nothing_visible() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    {
        let s = Store::open(&root).unwrap();
        let (blob, diff_id) = put_gzip_layer(&s, &simple_tar("k"));
        // What a process killed mid-extraction leaves: a half-filled work
        // directory in a temporary directory nobody holds a lock on.
        let dead = root.join("tmp/4242-dead-0/layer-0/diff/etc");
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(dead.join("seed"), b"half").unwrap();
        assert!(!s.has_layer(&diff_id));
        assert!(s.layers().unwrap().is_empty());
        let _ = blob;
    }
    let s = Store::open(&root).unwrap();
    assert!(
        !root.join("tmp/4242-dead-0").exists(),
        "debris of the dead process stays"
    );
    let blob = s.list_blobs().unwrap().pop().unwrap();
    let info = s.unpack_layer(&blob, GZIP).unwrap();
    assert_eq!(
        std::fs::read(s.layer_diff_dir(&info.diff_id).join("etc/seed")).unwrap(),
        b"k"
    );
}

#[test]
fn refuses_non_layer_media_types() {
    let (_d, s) = store();
    let blob = s.add_blob(b"{}").unwrap();
    assert!(matches!(
        s.unpack_layer(&blob, media::OCI_CONFIG),
        Err(StoreError::UnsupportedMediaType(_))
    ));
    let missing = Digest::sha256_of(b"nope");
    assert!(matches!(
        s.unpack_layer(&missing, GZIP),
        Err(StoreError::BlobNotFound(_))
    ));
}

#[test]
fn empty_layer_is_a_valid_layer() {
    // Many images carry an empty layer: a tar of just its end-of-archive blocks.
    let (_d, s) = store();
    let tar = vec![0u8; 1024];
    let (blob, diff_id) = put_gzip_layer(&s, &tar);
    assert_eq!(
        diff_id.to_string(),
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
    );
    let info = s.unpack_layer_expecting(&blob, GZIP, &diff_id).unwrap();
    assert_eq!((info.entries, info.uncompressed_size), (0, 1024));
    assert_eq!(
        std::fs::read_dir(s.layer_diff_dir(&diff_id))
            .unwrap()
            .count(),
        0
    );
}

/// The last layer blob of the image `tag` in the OCI layout `layout`.
fn last_layer_of_layout(layout: &Path, tag: &str) -> Vec<u8> {
    let blob = |d: &str| {
        let hex = d.strip_prefix("sha256:").unwrap();
        std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let desc = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob(desc["digest"].as_str().unwrap())).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    blob(layers.last().unwrap()["digest"].as_str().unwrap())
}

#[test]
fn umoci_insert_at_root_layer_unpacks() {
    let run = |args: &[&str], cwd: &Path| {
        std::process::Command::new("umoci")
            .args(args)
            .current_dir(cwd)
            .output()
    };
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    hoist_testenv::require(&["umoci"]);
    std::fs::create_dir_all(w.join("src/etc")).unwrap();
    std::fs::write(w.join("src/etc/x"), b"from umoci\n").unwrap();
    for args in [
        &["init", "--layout", "lay"][..],
        &["new", "--image", "lay:t"],
        // umoci 0.4.7 names the entries `/`, `/etc/`, `/etc/x`.
        &["insert", "--image", "lay:t", "src", "/"],
    ] {
        let out = run(args, w).unwrap();
        assert!(out.status.success(), "umoci {args:?}: {out:?}");
    }
    let gz = last_layer_of_layout(&w.join("lay"), "t");
    let (_d, s) = store();
    let blob = s.add_blob(&gz).unwrap();
    let info = s.unpack_layer(&blob, GZIP).unwrap();
    let diff = s.layer_diff_dir(&info.diff_id);
    assert_eq!(std::fs::read(diff.join("etc/x")).unwrap(), b"from umoci\n");
    assert!(s.check(false).unwrap().is_clean());
}

/// Writes `bytes` as blob `digest` in small pieces from another thread,
/// as a download does, while the returned follower reads them.
fn stream_blob(
    s: &Store,
    digest: &Digest,
    bytes: Vec<u8>,
) -> (
    crate::BlobFollower,
    std::thread::JoinHandle<crate::BlobWriter>,
) {
    let crate::BlobSlot::Writer(mut w) = s.begin_blob(digest, Some(bytes.len() as u64)).unwrap()
    else {
        panic!("the blob is new");
    };
    let follower = w.follow().unwrap();
    let writer = std::thread::spawn(move || {
        for piece in bytes.chunks(7) {
            w.write_all(piece).unwrap();
        }
        w.end_of_stream();
        w
    });
    (follower, writer)
}

#[test]
fn a_layer_staged_from_its_download_is_published_once_the_blob_is_stored() {
    let (_d, s) = store();
    let tar = simple_tar("streamed");
    let bytes = gzip(&tar);
    let (blob, diff_id) = (Digest::sha256_of(&bytes), Digest::sha256_of(&tar));
    let (follower, writer) = stream_blob(&s, &blob, bytes);
    let staged = s.stage_layer(follower, &blob, GZIP, &diff_id).unwrap();
    let writer = writer.join().unwrap();
    // Unverified: nothing is visible, and it cannot be published yet.
    assert!(!s.has_layer(&diff_id));
    assert!(!s.has_blob(&blob));
    writer.commit().unwrap();
    let info = s.publish_staged_layer(staged).unwrap();
    assert_eq!(info.diff_id, diff_id);
    assert_eq!(info.blobs, vec![blob]);
    let seed = std::fs::read(s.layer_diff_dir(&diff_id).join("etc/seed")).unwrap();
    assert_eq!(seed, b"streamed");
    assert!(own_tmp_is_empty(&s));
}

#[test]
fn a_staged_layer_needs_its_blob_stored_and_leaves_nothing_when_dropped() {
    let (_d, s) = store();
    let tar = simple_tar("unverified");
    let bytes = gzip(&tar);
    let (blob, diff_id) = (Digest::sha256_of(&bytes), Digest::sha256_of(&tar));
    let (follower, writer) = stream_blob(&s, &blob, bytes);
    let staged = s.stage_layer(follower, &blob, GZIP, &diff_id).unwrap();
    // The blob never got stored (a digest mismatch at commit, say).
    drop(writer.join().unwrap());
    let err = s.publish_staged_layer(staged).unwrap_err();
    assert!(matches!(err, StoreError::BlobNotFound(_)), "{err}");
    assert!(!s.has_layer(&diff_id));
    assert!(own_tmp_is_empty(&s));
}

#[test]
fn a_stream_abandoned_half_way_or_the_wrong_layer_stages_nothing() {
    let (_d, s) = store();
    let tar = simple_tar("half");
    let bytes = gzip(&tar);
    let blob = Digest::sha256_of(&bytes);
    // The download stops half-way: the writer is dropped.
    let crate::BlobSlot::Writer(mut w) = s.begin_blob(&blob, Some(bytes.len() as u64)).unwrap()
    else {
        panic!("the blob is new");
    };
    let follower = w.follow().unwrap();
    w.write_all(&bytes[..bytes.len() / 2]).unwrap();
    drop(w);
    let err = s
        .stage_layer(follower, &blob, GZIP, &Digest::sha256_of(&tar))
        .unwrap_err();
    assert!(err.to_string().contains(&blob.to_string()), "{err}");
    assert!(own_tmp_is_empty(&s));
    // The whole blob, but not the layer the config names.
    let (follower, writer) = stream_blob(&s, &blob, bytes);
    let err = s
        .stage_layer(follower, &blob, GZIP, &Digest::sha256_of(b"other"))
        .unwrap_err();
    assert!(matches!(err, StoreError::DiffIdMismatch { .. }), "{err}");
    drop(writer.join().unwrap());
    assert!(own_tmp_is_empty(&s));
}

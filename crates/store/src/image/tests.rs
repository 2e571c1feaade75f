use std::sync::Arc;

use super::*;
use crate::testutil::{make_image, store};

const BUSYBOX: &str = "docker.io/library/busybox:latest";
const ALPINE: &str = "docker.io/library/alpine:3";

#[test]
fn put_find_and_persist() {
    let (d, s) = store();
    let rec = make_image(&s, "one", &[BUSYBOX]);
    let stored = s.put_image(rec.clone()).unwrap();
    assert!(!stored.stored_at.is_empty());
    assert_eq!(
        stored.size,
        rec.layers
            .iter()
            .map(|l| s.layer_info(&l.diff_id).unwrap().uncompressed_size)
            .sum::<u64>()
    );
    let id = rec.id.to_string();
    for q in [
        BUSYBOX,
        id.as_str(),
        rec.id.hex(),
        &rec.id.hex()[..3],
        &id[..10],
        &rec.manifest_digest.to_string(),
    ] {
        assert_eq!(s.find_image(q).unwrap().id, rec.id, "query {q}");
    }
    let by_digest = format!("docker.io/library/busybox@{}", rec.manifest_digest);
    assert_eq!(s.find_image(&by_digest).unwrap().id, rec.id);
    let other_repo = format!("docker.io/library/alpine@{}", rec.manifest_digest);
    for q in [
        "busybox",
        "docker.io/library/busybox:other",
        "ab",
        other_repo.as_str(),
    ] {
        assert!(
            matches!(s.find_image(q), Err(StoreError::ImageNotFound(_))),
            "query {q}"
        );
    }
    drop(s);
    let s = Store::open(d.path().join("store")).unwrap();
    assert_eq!(s.images().unwrap(), vec![stored]);
}

#[test]
fn names_move_between_images() {
    let (_d, s) = store();
    let a = s
        .put_image(make_image(&s, "a", &[BUSYBOX, ALPINE]))
        .unwrap();
    let b = s.put_image(make_image(&s, "b", &[BUSYBOX])).unwrap();
    let find = |id: &Digest| {
        s.images()
            .unwrap()
            .into_iter()
            .find(|i| &i.id == id)
            .unwrap()
    };
    assert_eq!(
        find(&a.id).names,
        vec![ALPINE.to_string()],
        "a lost the name b took"
    );
    assert_eq!(find(&b.id).names, vec![BUSYBOX.to_string()]);

    s.add_name(&a.id.to_string(), BUSYBOX).unwrap();
    assert_eq!(
        find(&a.id).names,
        vec![ALPINE.to_string(), BUSYBOX.to_string()]
    );
    assert!(
        find(&b.id).names.is_empty(),
        "b keeps no name, stays dangling"
    );

    let lost = s.remove_name(ALPINE).unwrap();
    assert_eq!(lost.id, a.id);
    assert!(matches!(
        s.remove_name(ALPINE),
        Err(StoreError::ImageNotFound(_))
    ));
    assert!(matches!(
        s.add_name(BUSYBOX, "bad name"),
        Err(StoreError::InvalidName(_))
    ));

    assert_eq!(s.remove_image(&b.id).unwrap().id, b.id);
    assert!(matches!(
        s.remove_image(&b.id),
        Err(StoreError::ImageNotFound(_))
    ));
    assert_eq!(s.images().unwrap().len(), 1);
}

#[test]
fn same_id_merges_names_and_digests() {
    let (_d, s) = store();
    let rec = make_image(&s, "m", &[BUSYBOX]);
    let first = s.put_image(rec.clone()).unwrap();
    let index = s.add_blob(b"{\"pretend\":\"index\"}").unwrap();
    let mut again = rec.clone();
    again.names = vec![ALPINE.into()];
    again.digests = vec![index.clone()];
    let merged = s.put_image(again).unwrap();
    assert_eq!(merged.names, vec![BUSYBOX.to_string(), ALPINE.to_string()]);
    assert_eq!(
        merged.digests,
        vec![rec.manifest_digest.clone(), index.clone()]
    );
    assert_eq!(merged.stored_at, first.stored_at);
    assert_eq!(s.images().unwrap().len(), 1);
    assert_eq!(s.find_image(&index.to_string()).unwrap().id, rec.id);
}

#[test]
fn refuses_records_with_missing_content() {
    let (_d, s) = store();
    let mut rec = make_image(&s, "x", &[BUSYBOX]);
    rec.layers[0].diff_id = Digest::sha256_of(b"no such layer");
    let err = s.put_image(rec).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::MissingContent {
                what: "unpacked layer",
                ..
            }
        ),
        "{err}"
    );
    let mut rec = make_image(&s, "y", &[BUSYBOX]);
    rec.manifest_digest = Digest::sha256_of(b"no manifest");
    assert!(matches!(
        s.put_image(rec),
        Err(StoreError::MissingContent {
            what: "manifest blob",
            ..
        })
    ));
    assert!(s.images().unwrap().is_empty());
}

#[test]
fn ambiguous_prefixes_are_errors() {
    let mk = |hex: &str| {
        let id: Digest = format!("sha256:{hex}").parse().unwrap();
        ImageRecord {
            id: id.clone(),
            manifest_digest: id.clone(),
            manifest_media_type: String::new(),
            names: vec![],
            layers: vec![],
            config_digest: id,
            created: String::new(),
            stored_at: String::new(),
            names_history: vec![],
            parent: None,
            size: 0,
            platform: String::new(),
            digests: vec![],
            repositories: vec![],
        }
    };
    let images = [
        mk(&format!("abc1{}", "0".repeat(60))),
        mk(&format!("abc2{}", "0".repeat(60))),
    ];
    assert!(
        matches!(find_in(&images, "abc"), Err(StoreError::AmbiguousImage { ref candidates, .. }) if candidates.len() == 2)
    );
    assert_eq!(find_in(&images, "abc2").unwrap().id, images[1].id);
    assert!(matches!(
        find_in(&images, "abd"),
        Err(StoreError::ImageNotFound(_))
    ));
}

#[test]
fn concurrent_writers_lose_no_update() {
    let (_d, s) = store();
    let base = make_image(&s, "c", &[]);
    s.put_image(base.clone()).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (s, id) = (s.clone(), Arc::new(base.id.to_string()));
            std::thread::spawn(move || {
                // A separate Store per thread, as separate processes would have.
                let s = Store::open(s.root()).unwrap();
                s.add_name(&id, &format!("localhost/n{i}:latest")).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(s.find_image(&base.id.to_string()).unwrap().names.len(), 8);
}

#[test]
fn the_parent_survives_a_reput_without_one_and_reloads() {
    let (d, s) = store();
    let base = s.put_image(make_image(&s, "base", &[])).unwrap();
    let mut child = make_image(&s, "child", &[BUSYBOX]);
    child.parent = Some(base.id.clone());
    s.put_image(child.clone()).unwrap();
    // The same image stored again by a path that knows no parent (a pull
    // or load of the same config) keeps the one recorded.
    child.parent = None;
    child.names = vec![ALPINE.into()];
    let again = s.put_image(child).unwrap();
    assert_eq!(again.parent.as_ref(), Some(&base.id));
    drop(s);
    let s = Store::open(d.path().join("store")).unwrap();
    let reloaded = s.find_image(ALPINE).unwrap();
    assert_eq!(reloaded.parent, Some(base.id));
    assert_eq!(
        reloaded.names,
        vec![BUSYBOX.to_string(), ALPINE.to_string()]
    );
}

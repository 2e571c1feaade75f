//! Integration tests against the real Debian `docker-registry`: a plain
//! HTTP instance, and one behind TLS with htpasswd Basic auth.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hoist_image::manifest::Descriptor;
use hoist_image::{media, Digest, Hasher, Reference};
use hoist_registry::{
    AuthFile, ClientOptions, CredentialSource, FnSink, Progress, RegistryClient, RegistryError,
    Resume, RetryPolicy,
};
use support::{have_registry, random_bytes, Config, TestRegistry};

fn reference(registry: &str, repo: &str, tag: Option<&str>, digest: Option<&Digest>) -> Reference {
    Reference {
        registry: registry.to_string(),
        repository: repo.to_string(),
        tag: tag.map(str::to_string),
        digest: digest.cloned(),
    }
}

fn insecure_client(registry: &str) -> RegistryClient {
    let mut opts = ClientOptions {
        credentials: CredentialSource::Anonymous,
        certs_d_roots: vec![],
        retry: RetryPolicy::none(),
        ..ClientOptions::default()
    };
    opts.insecure_registries.insert(registry.to_string());
    RegistryClient::new(opts)
}

/// Pushes a config and one random layer, then an OCI manifest tagged `tag`.
/// Returns (layer descriptor, manifest bytes, manifest digest).
async fn push_image(
    c: &RegistryClient,
    registry: &str,
    repo: &str,
    tag: &str,
    seed: u64,
) -> (Descriptor, Vec<u8>, Digest) {
    let layer = random_bytes(300_000, seed);
    let layer_digest = Digest::sha256_of(&layer);
    let reported = Arc::new(AtomicU64::new(0));
    let r = reported.clone();
    c.push_blob(
        registry,
        repo,
        &layer_digest,
        layer.len() as u64,
        std::io::Cursor::new(layer.clone()),
        &Progress::new(move |n| r.store(n, Ordering::Relaxed)),
    )
    .await
    .unwrap();
    assert_eq!(
        reported.load(Ordering::Relaxed),
        layer.len() as u64,
        "progress reached the end"
    );
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = c
        .push_blob_bytes(registry, repo, Bytes::from_static(config))
        .await
        .unwrap();
    assert_eq!(config_digest, Digest::sha256_of(config));
    let layer_desc = Descriptor::new(media::OCI_LAYER_GZIP, layer_digest, layer.len() as u64);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": Descriptor::new(media::OCI_CONFIG, config_digest, config.len() as u64),
        "layers": [layer_desc],
    }))
    .unwrap();
    let d = c
        .put_manifest(
            &reference(registry, repo, Some(tag), None),
            &manifest,
            media::OCI_MANIFEST,
        )
        .await
        .unwrap();
    assert_eq!(d, Digest::sha256_of(&manifest));
    (layer_desc, manifest, d)
}

#[tokio::test]
async fn push_and_pull_against_plain_http_registry() {
    have_registry();
    let reg = TestRegistry::start(Config::default());
    let addr = reg.addr.as_str();
    let c = insecure_client(addr);
    let (layer, manifest, mdigest) = push_image(&c, addr, "hoist/one", "v1", 1).await;

    // Existence checks.
    assert_eq!(
        c.blob_exists(addr, "hoist/one", &layer.digest)
            .await
            .unwrap(),
        Some(layer.size)
    );
    let absent = Digest::sha256_of(b"absent");
    assert_eq!(
        c.blob_exists(addr, "hoist/one", &absent).await.unwrap(),
        None
    );

    // Manifests by tag and by digest, and HEAD.
    let (bytes, mt, d) = c
        .get_manifest(&reference(addr, "hoist/one", Some("v1"), None))
        .await
        .unwrap();
    assert_eq!(
        (bytes.as_slice(), mt.as_str(), &d),
        (manifest.as_slice(), media::OCI_MANIFEST, &mdigest)
    );
    let (bytes, _, d) = c
        .get_manifest_by_digest(addr, "hoist/one", &mdigest)
        .await
        .unwrap();
    assert_eq!((bytes, d), (manifest.clone(), mdigest.clone()));
    let head = c
        .head_manifest(&reference(addr, "hoist/one", Some("v1"), None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.digest.as_ref(), Some(&mdigest));
    assert_eq!(head.size, Some(manifest.len() as u64));
    assert!(c
        .head_manifest(&reference(addr, "hoist/one", Some("nope"), None))
        .await
        .unwrap()
        .is_none());
    let err = c
        .get_manifest(&reference(addr, "hoist/one", Some("nope"), None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::ManifestUnknown { ref reference } if reference.ends_with("hoist/one:nope")),
        "{err}"
    );

    // Blob download, verified, with progress.
    let mut out = Vec::new();
    let seen = Arc::new(AtomicU64::new(0));
    let s = seen.clone();
    let n = c
        .fetch_blob(
            addr,
            "hoist/one",
            &layer,
            &mut out,
            &Progress::new(move |n| s.store(n, Ordering::Relaxed)),
        )
        .await
        .unwrap();
    assert_eq!(n, layer.size);
    assert_eq!(out, random_bytes(300_000, 1));
    assert_eq!(seen.load(Ordering::Relaxed), layer.size);

    // Resume from the middle: the registry answers 206.
    let half = 123_457usize;
    let mut hasher = Hasher::sha256();
    hasher.update(&out[..half]);
    let mut resumed = out[..half].to_vec();
    let n = c
        .fetch_blob_resume(
            addr,
            "hoist/one",
            &layer,
            Resume {
                offset: half as u64,
                hasher,
            },
            &mut resumed,
            &Progress::none(),
        )
        .await
        .unwrap();
    assert_eq!(n, layer.size);
    assert_eq!(resumed, out);

    // A callback sink, and a descriptor lying about the size.
    let mut total = 0usize;
    c.fetch_blob(
        addr,
        "hoist/one",
        &layer.digest,
        &mut FnSink(|b: &[u8]| {
            total += b.len();
            Ok(())
        }),
        &Progress::none(),
    )
    .await
    .unwrap();
    assert_eq!(total as u64, layer.size);
    let mut wrong = layer.clone();
    wrong.size += 1;
    let err = c
        .fetch_blob(
            addr,
            "hoist/one",
            &wrong,
            &mut Vec::new(),
            &Progress::none(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::SizeMismatch { expected, .. } if expected == layer.size + 1),
        "{err}"
    );

    // For a sink that checks the digest itself: the bytes arrive whole,
    // the size is still checked here, the digest is left to the sink.
    let mut checked_by_sink = Vec::new();
    let n = c
        .fetch_blob_for_verifying_sink(
            addr,
            "hoist/one",
            &layer,
            &mut checked_by_sink,
            &Progress::none(),
        )
        .await
        .unwrap();
    assert_eq!((n, checked_by_sink == out), (layer.size, true));
    let err = c
        .fetch_blob_for_verifying_sink(
            addr,
            "hoist/one",
            &wrong,
            &mut Vec::new(),
            &Progress::none(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::SizeMismatch { .. }), "{err}");

    let err = c
        .fetch_blob(
            addr,
            "hoist/one",
            &absent,
            &mut Vec::new(),
            &Progress::none(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err}");

    // Cross-repository mount; a blob that is not there is not mounted.
    assert!(c
        .mount_blob(addr, "hoist/two", &layer.digest, "hoist/one")
        .await
        .unwrap());
    assert_eq!(
        c.blob_exists(addr, "hoist/two", &layer.digest)
            .await
            .unwrap(),
        Some(layer.size)
    );
    assert!(!c
        .mount_blob(addr, "hoist/two", &absent, "hoist/one")
        .await
        .unwrap());

    // Tags, paginated by the registry.
    for t in ["v2", "v3", "v4"] {
        c.put_manifest(
            &reference(addr, "hoist/one", Some(t), None),
            &manifest,
            media::OCI_MANIFEST,
        )
        .await
        .unwrap();
    }
    let mut tags = c.list_tags_paged(addr, "hoist/one", Some(2)).await.unwrap();
    tags.sort();
    assert_eq!(tags, ["v1", "v2", "v3", "v4"]);

    // Pushing by digest reference; a digest that does not match is refused locally.
    let by_digest = reference(addr, "hoist/three", None, Some(&mdigest));
    for b in [&layer.digest] {
        assert!(c
            .mount_blob(addr, "hoist/three", b, "hoist/one")
            .await
            .unwrap());
    }
    let config_digest: Digest = serde_json::from_slice::<serde_json::Value>(&manifest).unwrap()
        ["config"]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(c
        .mount_blob(addr, "hoist/three", &config_digest, "hoist/one")
        .await
        .unwrap());
    assert_eq!(
        c.put_manifest(&by_digest, &manifest, media::OCI_MANIFEST)
            .await
            .unwrap(),
        mdigest
    );
    let err = c
        .put_manifest(&by_digest, b"{}", media::OCI_MANIFEST)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
}

#[tokio::test]
async fn uploads_check_size_digest_and_support_chunks() {
    have_registry();
    let reg = TestRegistry::start(Config::default());
    let addr = reg.addr.as_str();
    let c = insecure_client(addr);
    let data = random_bytes(10_000, 7);
    let digest = Digest::sha256_of(&data);

    // A reader shorter than announced.
    let err = c
        .push_blob(
            addr,
            "hoist/up",
            &digest,
            20_000,
            std::io::Cursor::new(data.clone()),
            &Progress::none(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::SizeMismatch {
                expected: 20_000,
                actual: 10_000,
                ..
            }
        ),
        "{err}"
    );
    // A reader longer than announced.
    let err = c
        .push_blob(
            addr,
            "hoist/up",
            &digest,
            5_000,
            std::io::Cursor::new(data.clone()),
            &Progress::none(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::SizeMismatch {
                expected: 5_000,
                ..
            }
        ),
        "{err}"
    );
    // Data that does not hash to the digest.
    let other = Digest::sha256_of(b"something else");
    let err = c
        .push_blob(
            addr,
            "hoist/up",
            &other,
            10_000,
            std::io::Cursor::new(data.clone()),
            &Progress::none(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::DigestMismatch { ref expected, .. } if *expected == other),
        "{err}"
    );
    assert_eq!(c.blob_exists(addr, "hoist/up", &other).await.unwrap(), None);

    // Chunked upload (PATCH + PUT), 4 chunks with a short last one.
    let mut opts = c.options().clone();
    opts.upload_chunk_size = Some(3_000);
    let chunked = RegistryClient::new(opts);
    let steps = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = steps.clone();
    chunked
        .push_blob(
            addr,
            "hoist/up",
            &digest,
            10_000,
            std::io::Cursor::new(data.clone()),
            &Progress::new(move |n| s.lock().unwrap().push(n)),
        )
        .await
        .unwrap();
    assert_eq!(*steps.lock().unwrap(), [3_000, 6_000, 9_000, 10_000]);
    let mut out = Vec::new();
    c.fetch_blob(addr, "hoist/up", &digest, &mut out, &Progress::none())
        .await
        .unwrap();
    assert_eq!(out, data);
}

#[tokio::test]
async fn tls_and_basic_auth_registry() {
    have_registry();
    let reg = TestRegistry::start(Config {
        tls: true,
        htpasswd: Some(("hoister".into(), "s3cret".into())),
    });
    let addr = reg.addr.as_str();
    let auth_dir = tempfile::tempdir().unwrap();
    let auth_path = auth_dir.path().join("containers/auth.json");
    let empty_roots = tempfile::tempdir().unwrap();
    let base = ClientOptions {
        credentials: CredentialSource::AuthFiles {
            primary: Some(auth_path.clone()),
            fallbacks: false,
        },
        certs_d_roots: vec![empty_roots.path().to_path_buf()],
        retry: RetryPolicy::none(),
        ..ClientOptions::default()
    };

    // Without the CA: a TLS error that says what to do.
    let untrusting = RegistryClient::new(base.clone());
    let err = untrusting
        .verify_credentials(addr, "hoister", "s3cret")
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("--tls-verify=false"), "{err}");

    // With the CA from a --cert-dir.
    let c = RegistryClient::new(ClientOptions {
        cert_dir: Some(reg.ca_dir.clone()),
        ..base.clone()
    });
    let mut file = AuthFile::load(&auth_path).unwrap();
    let err = c
        .login(addr, "hoister", "wrong", &mut file)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::InvalidCredentials { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("invalid username/password"),
        "{err}"
    );
    assert!(
        !auth_path.exists(),
        "nothing is stored after a failed login"
    );

    // Anonymous access is refused clearly.
    let err = c
        .get_manifest(&reference(addr, "hoist/private", Some("v1"), None))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("hoist login"), "{err}");

    c.login(addr, "hoister", "s3cret", &mut file).await.unwrap();
    let stored = AuthFile::load(&auth_path).unwrap();
    assert_eq!(stored.get(addr), Some(("hoister".into(), "s3cret".into())));

    // The stored credentials are used for push and pull.
    let (layer, manifest, _) = push_image(&c, addr, "hoist/private", "v1", 3).await;
    let (bytes, _, _) = c
        .get_manifest(&reference(addr, "hoist/private", Some("v1"), None))
        .await
        .unwrap();
    assert_eq!(bytes, manifest);

    // The per-host certs.d lookup finds the CA too.
    let roots = tempfile::tempdir().unwrap();
    let host_dir = roots.path().join(addr);
    std::fs::create_dir(&host_dir).unwrap();
    std::fs::copy(reg.ca_dir.join("ca.crt"), host_dir.join("ca.crt")).unwrap();
    let via_certs_d = RegistryClient::new(ClientOptions {
        certs_d_roots: vec![roots.path().to_path_buf()],
        ..base.clone()
    });
    let mut out = Vec::new();
    via_certs_d
        .fetch_blob(addr, "hoist/private", &layer, &mut out, &Progress::none())
        .await
        .unwrap();
    assert_eq!(out.len() as u64, layer.size);

    // A client told the endpoint another one found skips the ping and
    // authenticates from the first 401's challenge.
    let endpoint = c.known_endpoint(addr).expect("c has talked to it");
    assert_eq!(endpoint.as_str(), format!("https://{addr}/"));
    let told = RegistryClient::new(ClientOptions {
        cert_dir: Some(reg.ca_dir.clone()),
        ..base.clone()
    });
    let plain: url::Url = format!("http://{addr}/").parse().unwrap();
    let elsewhere: url::Url = "https://127.0.0.1:1/".parse().unwrap();
    assert!(
        !told.assume_endpoint(addr, &plain),
        "not an insecure registry"
    );
    assert!(!told.assume_endpoint(addr, &elsewhere), "another host");
    assert!(told.assume_endpoint(addr, &endpoint));
    let mut out = Vec::new();
    told.fetch_blob(addr, "hoist/private", &layer, &mut out, &Progress::none())
        .await
        .unwrap();
    assert_eq!(out.len() as u64, layer.size);

    // --tls-verify=false works without any CA.
    let unverified = RegistryClient::new(ClientOptions {
        tls_verify: Some(false),
        ..base.clone()
    });
    assert!(unverified
        .blob_exists(addr, "hoist/private", &layer.digest)
        .await
        .unwrap()
        .is_some());
    // It may fall back to plain HTTP, and pings both schemes at once (this
    // registry answers plain HTTP too, with a 400), yet takes HTTPS.
    assert_eq!(
        unverified.known_endpoint(addr).unwrap().as_str(),
        format!("https://{addr}/")
    );
}

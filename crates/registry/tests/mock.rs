//! Behaviour a real registry does not show on demand, against a scripted
//! HTTP server: the bearer token flow and its cache, re-authentication,
//! retries, redirects to other hosts, Range fallbacks, size limits, timeouts.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hoist_image::manifest::MAX_MANIFEST_BYTES;
use hoist_image::{media, Digest, Hasher, Reference};
use hoist_registry::{
    ClientOptions, CredentialSource, Progress, RegistryClient, RegistryError, Resume, RetryPolicy,
};
use support::mock::{MockResponse, MockServer};
use support::random_bytes;

fn client(creds: CredentialSource, retry: RetryPolicy) -> RegistryClient {
    RegistryClient::new(ClientOptions {
        credentials: creds,
        tls_verify: Some(false), // plain HTTP mock
        certs_d_roots: vec![],
        retry,
        read_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    })
}

fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(50),
        max_timeouts: attempts,
    }
}

fn reference(registry: &str, repo: &str, tag: &str) -> Reference {
    Reference {
        registry: registry.into(),
        repository: repo.into(),
        tag: Some(tag.into()),
        digest: None,
    }
}

const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

#[tokio::test]
async fn bearer_flow_caches_tokens_and_reauthenticates_once() {
    // The token server accepts only u:p, hands out numbered tokens, and the
    // registry accepts only the newest one: the first token is revoked after
    // two manifest fetches.
    let issued = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let addr_cell = Arc::new(std::sync::OnceLock::<String>::new());
    let (i, s, a) = (issued.clone(), served.clone(), addr_cell.clone());
    let good_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("u:p")
    );
    let srv = MockServer::start(move |req| {
        let addr = a.get().unwrap();
        let challenge = format!(
            r#"Bearer realm="http://{addr}/token",service="mock",scope="repository:lib/app:pull""#
        );
        match req.path() {
            "/token" => {
                if req.header("authorization") != Some(good_basic.as_str()) {
                    return MockResponse::new(401).body(r#"{"details":"bad creds"}"#);
                }
                let n = i.fetch_add(1, Ordering::SeqCst) + 1;
                MockResponse::new(200)
                    .body(format!(r#"{{"access_token":"T{n}","expires_in":300}}"#))
            }
            "/v2/"
                if req
                    .header("authorization")
                    .is_some_and(|a| a.starts_with("Bearer T")) =>
            {
                MockResponse::new(200)
            }
            "/v2/" => MockResponse::new(401).header("www-authenticate", &challenge),
            "/v2/lib/app/manifests/latest" => {
                let current = format!("Bearer T{}", i.load(Ordering::SeqCst));
                let fetches = s.load(Ordering::SeqCst);
                // Revoke T1 after two fetches by minting nothing but refusing it.
                let ok = req.header("authorization") == Some(current.as_str())
                    && !(fetches >= 2 && current == "Bearer T1");
                if !ok {
                    return MockResponse::new(401).header(
                        "www-authenticate",
                        &format!("{challenge},error=\"invalid_token\""),
                    );
                }
                s.fetch_add(1, Ordering::SeqCst);
                MockResponse::new(200)
                    .header(
                        "content-type",
                        "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
                    )
                    .body(MANIFEST)
            }
            _ => MockResponse::new(404),
        }
    })
    .await;
    addr_cell.set(srv.addr.clone()).unwrap();
    let c = client(
        CredentialSource::Static {
            username: "u".into(),
            password: "p".into(),
        },
        RetryPolicy::none(),
    );
    let r = reference(&srv.addr, "lib/app", "latest");
    for _ in 0..2 {
        let (bytes, mt, d) = c.get_manifest(&r).await.unwrap();
        assert_eq!(bytes, MANIFEST);
        assert_eq!(mt, media::OCI_MANIFEST);
        assert_eq!(d, Digest::sha256_of(MANIFEST));
    }
    assert_eq!(srv.count("/token"), 1, "the token is cached");
    // T1 is now refused: one re-authentication, then success.
    c.get_manifest(&r).await.unwrap();
    assert_eq!(srv.count("/token"), 2);
    assert_eq!(
        srv.count("/v2/"),
        0,
        "the first manifest request finds the endpoint: no ping"
    );
    for t in srv.requests().iter().filter(|r| r.path() == "/token") {
        assert_eq!(
            t.target,
            "/token?service=mock&scope=repository%3Alib%2Fapp%3Apull"
        );
    }

    // Wrong credentials: a clear Unauthorized from the token server, and
    // verify_credentials reports them as invalid.
    let bad = client(
        CredentialSource::Static {
            username: "u".into(),
            password: "nope".into(),
        },
        RetryPolicy::none(),
    );
    let err = bad.get_manifest(&r).await.unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    let err = bad
        .verify_credentials(&srv.addr, "u", "nope")
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::InvalidCredentials { .. }),
        "{err:?}"
    );
    let last = srv
        .requests()
        .into_iter()
        .rfind(|r| r.path() == "/token")
        .unwrap();
    assert_eq!(
        last.target, "/token?service=mock",
        "login asks for a token without scope"
    );
    bad.verify_credentials(&srv.addr, "u", "p").await.unwrap();
}

#[tokio::test]
async fn retries_transient_statuses_honouring_retry_after() {
    let data = random_bytes(5000, 3);
    let digest = Digest::sha256_of(&data);
    let hits = Arc::new(AtomicUsize::new(0));
    let (h, body) = (hits.clone(), data.clone());
    let srv = MockServer::start(move |req| match req.path() {
        "/v2/" => MockResponse::new(200),
        p if p.starts_with("/v2/a/blobs/") => {
            let n = h.fetch_add(1, Ordering::SeqCst);
            match n {
                0 => MockResponse::new(503).header("retry-after", "0"),
                1 => MockResponse::new(429),
                _ => MockResponse::new(200).body(body.clone()),
            }
        }
        _ => MockResponse::new(404),
    })
    .await;
    let c = client(CredentialSource::Anonymous, fast_retry(3));
    let mut out = Vec::new();
    c.fetch_blob(&srv.addr, "a", &digest, &mut out, &Progress::none())
        .await
        .unwrap();
    assert_eq!(out, data);
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    // Out of attempts: the last status is reported, as transient.
    hits.store(0, Ordering::SeqCst);
    let c = client(CredentialSource::Anonymous, fast_retry(2));
    let err = c
        .fetch_blob(&srv.addr, "a", &digest, &mut Vec::new(), &Progress::none())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Http { status: 429, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn redirects_drop_credentials_and_range_fallback_works() {
    let data = random_bytes(100_000, 9);
    let digest = Digest::sha256_of(&data);
    // Storage on another port (another origin): ignores Range, answers 200.
    let body = data.clone();
    let storage = MockServer::start(move |_| MockResponse::new(200).body(body.clone())).await;
    let loc = format!("http://{}/bucket/blob?sig=abc", storage.addr);
    let srv = MockServer::start(move |req| match req.path() {
        "/v2/" => MockResponse::new(401).header("www-authenticate", r#"Basic realm="mock""#),
        _ if req.header("authorization").is_none() => MockResponse::new(401),
        p if p.starts_with("/v2/a/blobs/") => MockResponse::new(307).header("location", &loc),
        _ => MockResponse::new(404),
    })
    .await;
    let c = client(
        CredentialSource::Static {
            username: "u".into(),
            password: "p".into(),
        },
        RetryPolicy::none(),
    );
    let half = 40_000;
    let mut hasher = Hasher::sha256();
    hasher.update(&data[..half]);
    let mut out = data[..half].to_vec();
    let n = c
        .fetch_blob_resume(
            &srv.addr,
            "a",
            &digest,
            Resume {
                offset: half as u64,
                hasher,
            },
            &mut out,
            &Progress::none(),
        )
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    assert_eq!(out, data);
    let at_storage = storage.requests();
    assert_eq!(at_storage.len(), 1);
    assert_eq!(
        at_storage[0].header("authorization"),
        None,
        "credentials leaked to storage"
    );
    assert_eq!(at_storage[0].header("range"), Some("bytes=40000-"));
    assert!(srv.requests().iter().any(|r| r
        .header("authorization")
        .is_some_and(|a| a.starts_with("Basic "))));
}

#[tokio::test]
async fn interrupted_download_resumes_with_range() {
    let data = random_bytes(200_000, 5);
    let digest = Digest::sha256_of(&data);
    let body = data.clone();
    let srv = MockServer::start(move |req| match (req.path(), req.header("range")) {
        ("/v2/", _) => MockResponse::new(200),
        (_, None) => MockResponse {
            truncate_at: Some(70_000),
            ..MockResponse::new(200).body(body.clone())
        },
        (_, Some(r)) => {
            let start: usize = r
                .trim_start_matches("bytes=")
                .trim_end_matches('-')
                .parse()
                .unwrap();
            MockResponse::new(206)
                .header(
                    "content-range",
                    &format!("bytes {start}-{}/{}", body.len() - 1, body.len()),
                )
                .body(body[start..].to_vec())
        }
    })
    .await;
    let c = client(CredentialSource::Anonymous, fast_retry(3));
    let mut out = Vec::new();
    let desc =
        hoist_image::manifest::Descriptor::new(media::OCI_LAYER_GZIP, digest, data.len() as u64);
    c.fetch_blob(&srv.addr, "a", &desc, &mut out, &Progress::none())
        .await
        .unwrap();
    assert_eq!(out, data);
    let ranges: Vec<_> = srv
        .requests()
        .iter()
        .filter_map(|r| r.header("range").map(str::to_string))
        .collect();
    assert_eq!(ranges.len(), 1);
    assert!(ranges[0].starts_with("bytes="), "{ranges:?}");
}

/// A `multipart/byteranges` body with boundary `B` holding `ranges` of `data`.
fn multipart_body(data: &[u8], ranges: &[std::ops::Range<usize>]) -> Vec<u8> {
    let mut body = Vec::new();
    for r in ranges {
        let head = format!(
            "\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {}-{}/{}\r\n\r\n",
            r.start,
            r.end - 1,
            data.len()
        );
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(&data[r.clone()]);
    }
    body.extend_from_slice(b"\r\n--B--\r\n");
    body
}

/// The ranges of a `Range: bytes=a-b,c-d` header, end exclusive.
fn asked_ranges(header: &str) -> Vec<std::ops::Range<usize>> {
    header
        .trim_start_matches("bytes=")
        .split(',')
        .map(|r| {
            let (a, b) = r.split_once('-').unwrap();
            a.parse().unwrap()..b.parse::<usize>().unwrap() + 1
        })
        .collect()
}

/// The Range headers a mock server was sent, in order.
fn range_headers(srv: &MockServer) -> Vec<String> {
    srv.requests()
        .iter()
        .filter_map(|r| r.header("range").map(str::to_string))
        .collect()
}

/// Reads `ranges` of blob `digest` from `srv` and checks them against `data`.
async fn fetch_and_compare(
    c: &RegistryClient,
    srv: &MockServer,
    digest: &Digest,
    data: &[u8],
    ranges: &[std::ops::Range<u64>],
) {
    let parts = c
        .fetch_blob_ranges(&srv.addr, "a", digest, ranges)
        .await
        .unwrap();
    for (r, bytes) in ranges.iter().zip(&parts) {
        assert_eq!(&bytes[..], &data[r.start as usize..r.end as usize]);
    }
}

#[tokio::test]
async fn each_range_of_a_multipart_answer_is_delivered_as_soon_as_it_is_in() {
    let data = random_bytes(300_000, 21);
    let digest = Digest::sha256_of(&data);
    let asked = [1_000..90_000, 150_000..151_000, 200_000..290_000];
    // The server sends the first part, then holds the rest back until the
    // client has delivered that part: a client that waits for the whole
    // answer never gets it.
    let first_delivered = Arc::new(tokio::sync::Notify::new());
    let body = multipart_body(&data, &asked);
    let closing = b"\r\n--B--\r\n".len();
    let first_part_end = multipart_body(&data, &asked[..1]).len() - closing;
    let resume = first_delivered.clone();
    let srv = MockServer::start(move |req| match req.path() {
        "/v2/" => MockResponse::new(200),
        _ => MockResponse {
            pause_at: Some((first_part_end, resume.clone())),
            ..MockResponse::new(206)
                .header("content-type", "multipart/byteranges; boundary=B")
                .body(body.clone())
        },
    })
    .await;
    let c = client(CredentialSource::Anonymous, fast_retry(1));
    let ranges: Vec<_> = asked.iter().map(|r| r.start as u64..r.end as u64).collect();
    let mut delivered = Vec::new();
    let fetch = c.stream_blob_ranges(&srv.addr, "a", &digest, &ranges, |i, bytes| {
        if i == 0 {
            first_delivered.notify_one();
        }
        delivered.push((i, bytes));
        Ok(())
    });
    tokio::time::timeout(Duration::from_secs(60), fetch)
        .await
        .expect("the first range was not delivered before the answer ended")
        .unwrap();
    let order: Vec<usize> = delivered.iter().map(|(i, _)| *i).collect();
    assert_eq!(order, vec![0, 1, 2]);
    for (i, bytes) in &delivered {
        assert_eq!(&bytes[..], &data[asked[*i].clone()], "range {i}");
    }
    assert_eq!(range_headers(&srv).len(), 1, "one request for all three");
}

#[tokio::test]
async fn an_interrupted_multi_range_answer_is_resumed_for_the_missing_ranges_only() {
    let data = random_bytes(100_000, 22);
    let digest = Digest::sha256_of(&data);
    let served = data.clone();
    let srv = MockServer::start(move |req| {
        let Some(range) = req.header("range") else {
            return MockResponse::new(200);
        };
        let asked = asked_ranges(range);
        let body = multipart_body(&served, &asked);
        let first_answer = asked.len() == 3;
        MockResponse {
            // The first answer breaks off inside its last part.
            truncate_at: first_answer.then(|| body.len() - 500),
            ..MockResponse::new(206)
                .header("content-type", "multipart/byteranges; boundary=B")
                .body(body)
        }
    })
    .await;
    let c = client(CredentialSource::Anonymous, fast_retry(3));
    let ranges = [0..10_000, 20_000..30_000, 40_000..50_000];
    fetch_and_compare(&c, &srv, &digest, &data, &ranges).await;
    assert_eq!(
        range_headers(&srv),
        vec!["bytes=0-9999,20000-29999,40000-49999", "bytes=40000-49999"]
    );
}

#[tokio::test]
async fn a_registry_that_answers_one_range_of_many_is_asked_for_the_rest_one_by_one() {
    let data = random_bytes(100_000, 23);
    let digest = Digest::sha256_of(&data);
    let served = data.clone();
    // Like a storage front end without multi-range support: only the
    // first range asked for comes back.
    let srv = MockServer::start(move |req| {
        let Some(range) = req.header("range") else {
            return MockResponse::new(200);
        };
        let first = asked_ranges(range)[0].clone();
        MockResponse::new(206)
            .header(
                "content-range",
                &format!("bytes {}-{}/{}", first.start, first.end - 1, served.len()),
            )
            .body(served[first].to_vec())
    })
    .await;
    let c = client(CredentialSource::Anonymous, fast_retry(1));
    let ranges = [5..10, 50..60, 90_000..90_010];
    fetch_and_compare(&c, &srv, &digest, &data, &ranges).await;
    assert_eq!(
        range_headers(&srv),
        vec![
            "bytes=5-9,50-59,90000-90009",
            "bytes=50-59",
            "bytes=90000-90009"
        ]
    );
    // The registry is known now: later reads ask range by range at once.
    c.fetch_blob_ranges(&srv.addr, "a", &digest, &[0..1, 2..3])
        .await
        .unwrap();
    assert_eq!(&range_headers(&srv)[3..], ["bytes=0-0", "bytes=2-2"]);
}

#[tokio::test]
async fn a_registry_that_ignores_range_is_read_only_as_far_as_needed() {
    let data = random_bytes(2_000_000, 24);
    let digest = Digest::sha256_of(&data);
    let body = data.clone();
    let srv = MockServer::start(move |req| match req.path() {
        "/v2/" => MockResponse::new(200),
        _ => MockResponse::new(200).body(body.clone()),
    })
    .await;
    let c = client(CredentialSource::Anonymous, fast_retry(1));
    let ranges = [10..20, 1_000..1_500];
    let parts = c
        .fetch_blob_ranges(&srv.addr, "a", &digest, &ranges)
        .await
        .unwrap();
    assert_eq!(&parts[0][..], &data[10..20]);
    assert_eq!(&parts[1][..], &data[1_000..1_500]);
    assert_eq!(range_headers(&srv).len(), 1);
}

#[tokio::test]
async fn one_streamed_range_is_cut_from_any_answer_a_registry_gives() {
    let data = random_bytes(200_000, 25);
    let digest = Digest::sha256_of(&data);
    let wanted = 70_000..130_000u64;
    let whole = || MockResponse::new(200).body(data.clone());
    let one_run = || {
        MockResponse::new(206)
            .header("content-range", "bytes 70000-129999/200000")
            .body(data[70_000..130_000].to_vec())
    };
    let one_part = || {
        MockResponse::new(206)
            .header("content-type", "multipart/byteranges; boundary=B")
            .body(multipart_body(
                &data,
                &[std::ops::Range {
                    start: 70_000,
                    end: 130_000,
                }],
            ))
    };
    let wrong_start = || {
        MockResponse::new(206)
            .header("content-range", "bytes 70001-130000/200000")
            .body(data[70_001..130_001].to_vec())
    };
    let answers: [(&str, MockResponse); 4] = [
        ("ignores Range", whole()),
        ("one run", one_run()),
        ("one multipart part", one_part()),
        ("another start", wrong_start()),
    ];
    for (what, answer) in answers {
        let srv = MockServer::start(move |req| match req.path() {
            "/v2/" => MockResponse::new(200),
            _ => answer.clone(),
        })
        .await;
        let c = client(CredentialSource::Anonymous, fast_retry(1));
        let mut got = Vec::new();
        let read = c
            .stream_blob_range(&srv.addr, "a", &digest, wanted.clone(), |b| {
                got.extend_from_slice(b);
                Ok(())
            })
            .await;
        if what == "another start" {
            let e = read.unwrap_err().to_string();
            assert!(
                e.contains("asked for bytes from 70000, got bytes from 70001"),
                "{e}"
            );
            continue;
        }
        read.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(got == data[70_000..130_000], "{what}: other bytes");
    }
}

#[tokio::test]
async fn manifest_limits_and_verification() {
    let big = vec![b' '; MAX_MANIFEST_BYTES + 10];
    let other = b"{\"schemaVersion\":2}".to_vec();
    let srv = MockServer::start(move |req| match req.path() {
        "/v2/" => MockResponse::new(200),
        "/v2/a/manifests/announced-big" => MockResponse::new(200).body(big.clone()),
        "/v2/a/manifests/streamed-big" => MockResponse {
            until_close: true,
            ..MockResponse::new(200).body(big.clone())
        },
        "/v2/a/manifests/lying-header" => MockResponse::new(200)
            .header(
                "docker-content-digest",
                &Digest::sha256_of(b"x").to_string(),
            )
            .body(other.clone()),
        p if p.starts_with("/v2/a/manifests/sha256:") => MockResponse::new(200).body(other.clone()),
        _ => MockResponse::new(404)
            .body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#),
    })
    .await;
    let c = client(CredentialSource::Anonymous, RetryPolicy::none());
    for tag in ["announced-big", "streamed-big"] {
        let err = c
            .get_manifest(&reference(&srv.addr, "a", tag))
            .await
            .unwrap_err();
        assert!(
            matches!(err, RegistryError::TooLarge { .. }),
            "{tag}: {err:?}"
        );
    }
    let err = c
        .get_manifest(&reference(&srv.addr, "a", "lying-header"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    let want = Digest::sha256_of(b"what we asked for");
    let err = c
        .get_manifest_by_digest(&srv.addr, "a", &want)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::DigestMismatch { ref expected, .. } if *expected == want),
        "{err:?}"
    );
    let err = c
        .get_manifest(&reference(&srv.addr, "a", "missing"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::ManifestUnknown { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn stalled_and_absent_registries_fail_instead_of_hanging() {
    let srv = MockServer::start(|req| match req.path() {
        "/v2/" => MockResponse::new(200),
        _ => MockResponse {
            stall: true,
            ..MockResponse::new(200)
        },
    })
    .await;
    let c = RegistryClient::new(ClientOptions {
        credentials: CredentialSource::Anonymous,
        tls_verify: Some(false),
        certs_d_roots: vec![],
        retry: RetryPolicy::none(),
        read_timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    });
    let err = tokio::time::timeout(
        Duration::from_secs(120),
        c.get_manifest(&reference(&srv.addr, "a", "x")),
    )
    .await
    .expect("the client gives up instead of hanging")
    .unwrap_err();
    assert!(matches!(err, RegistryError::Timeout { .. }), "{err:?}");

    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = c
        .get_manifest(&reference(&format!("127.0.0.1:{port}"), "a", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Connect { .. }), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn plain_http_needs_an_insecure_setting() {
    let srv = MockServer::start(|_| MockResponse::new(200).body("{}")).await;
    let secure = RegistryClient::new(ClientOptions {
        credentials: CredentialSource::Anonymous,
        certs_d_roots: vec![],
        retry: RetryPolicy::none(),
        ..ClientOptions::default()
    });
    let err = secure.list_tags(&srv.addr, "a").await.unwrap_err();
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    let mut opts = secure.options().clone();
    opts.insecure_registries.insert(srv.addr.clone());
    let insecure = RegistryClient::new(opts);
    assert!(insecure.list_tags(&srv.addr, "a").await.unwrap().is_empty());
}

#[tokio::test]
async fn uploads_follow_absolute_locations_and_paginate_tags() {
    let addr_cell = Arc::new(std::sync::OnceLock::<String>::new());
    let a = addr_cell.clone();
    let srv = MockServer::start(move |req| {
        let addr = a.get().unwrap();
        match (req.method.as_str(), req.path()) {
            (_, "/v2/") => MockResponse::new(200),
            ("POST", "/v2/a/blobs/uploads/") => MockResponse::new(202).header(
                "location",
                &format!("http://{addr}/upload/xyz?_state=s%2B1%3D"),
            ),
            ("PUT", "/upload/xyz") => MockResponse::new(201).header(
                "docker-content-digest",
                &Digest::sha256_of(&req.body).to_string(),
            ),
            ("GET", "/v2/a/tags/list") if !req.target.contains("last=") => MockResponse::new(200)
                .header("link", r#"</v2/a/tags/list?last=t2&n=2>; rel="next""#)
                .body(r#"{"name":"a","tags":["t1","t2"]}"#),
            ("GET", "/v2/a/tags/list") => {
                MockResponse::new(200).body(r#"{"name":"a","tags":["t3"]}"#)
            }
            _ => MockResponse::new(404),
        }
    })
    .await;
    addr_cell.set(srv.addr.clone()).unwrap();
    let c = client(CredentialSource::Anonymous, RetryPolicy::none());
    let data = random_bytes(1234, 1);
    let digest = Digest::sha256_of(&data);
    c.push_blob(
        &srv.addr,
        "a",
        &digest,
        1234,
        std::io::Cursor::new(data.clone()),
        &Progress::none(),
    )
    .await
    .unwrap();
    let put = srv
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(
        put.target,
        format!(
            "/upload/xyz?_state=s%2B1%3D&digest=sha256%3A{}",
            digest.hex()
        )
    );
    assert_eq!(put.body, data);
    assert_eq!(put.header("content-length"), Some("1234"));
    assert_eq!(
        c.list_tags(&srv.addr, "a").await.unwrap(),
        ["t1", "t2", "t3"]
    );
}

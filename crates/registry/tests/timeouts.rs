//! Registries that misbehave in time, as real TCP servers on 127.0.0.1:
//! one that accepts and never answers, one that trickles a body one byte at
//! a time. Small read timeouts keep the tests short; every bound asserted
//! on time is generous, the exact behaviour is asserted on what the
//! servers saw (connections, Range headers).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoist_image::{Digest, Reference};
use hoist_registry::{
    ClientOptions, CredentialSource, Progress, RegistryClient, RegistryError, RetryPolicy,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What one connection's handler gets: its number (from 0), the request
/// head as text, and the socket.
type Handler = Arc<
    dyn Fn(
            usize,
            String,
            TcpStream,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// A server that reads each request head and hands it to `handler`;
/// returns its address and the request heads seen.
async fn serve(handler: Handler) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (h, s, n) = (
                handler.clone(),
                s.clone(),
                count.fetch_add(1, Ordering::SeqCst),
            );
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match sock.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                s.lock().unwrap().push(head.clone());
                h(n, head, sock).await;
            });
        }
    });
    (addr, seen)
}

/// A client that talks plain HTTP to `addr` without a ping.
fn client(addr: &str, read_timeout: Duration) -> RegistryClient {
    let c = RegistryClient::new(ClientOptions {
        credentials: CredentialSource::Anonymous,
        tls_verify: Some(false),
        certs_d_roots: vec![],
        read_timeout,
        retry: RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        ..ClientOptions::default()
    });
    assert!(c.assume_endpoint(addr, &format!("http://{addr}/").parse().unwrap()));
    c
}

fn reference(addr: &str) -> Reference {
    Reference {
        registry: addr.into(),
        repository: "a".into(),
        tag: Some("1".into()),
        digest: None,
    }
}

#[tokio::test]
async fn a_registry_that_never_answers_costs_two_read_timeouts_not_four() {
    // Accepts, reads the request, holds the connection open and says nothing.
    let (addr, seen) = serve(Arc::new(|_, _, sock| {
        Box::pin(async move {
            let _keep = sock;
            std::future::pending::<()>().await;
        })
    }))
    .await;
    let c = client(&addr, Duration::from_millis(500));
    let err = tokio::time::timeout(Duration::from_secs(120), c.get_manifest(&reference(&addr)))
        .await
        .expect("the client gives up instead of hanging")
        .unwrap_err();
    assert!(matches!(err, RegistryError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
    // Four attempts are allowed in all, but only two may end in silence.
    assert_eq!(seen.lock().unwrap().len(), 2, "requests sent");
}

/// The start of a `Range: bytes=N-` header in a request head.
fn range_start(head: &str) -> Option<usize> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if !k.eq_ignore_ascii_case("range") {
            return None;
        }
        v.trim()
            .strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse()
            .ok()
    })
}

/// Serves `data`: the connections numbered below `trickling` send 4000
/// bytes at once and then one byte every 20 ms for ever; the others send
/// everything asked for (honouring `Range: bytes=N-`) at once.
fn trickling_blob_server(data: Arc<Vec<u8>>, trickling: usize) -> Handler {
    Arc::new(move |n, head, mut sock| {
        let data = data.clone();
        Box::pin(async move {
            let from = range_start(&head).unwrap_or(0);
            let status = if from > 0 {
                format!(
                    "206 Partial Content\r\nContent-Range: bytes {from}-{}/{}",
                    data.len() - 1,
                    data.len()
                )
            } else {
                "200 OK".to_string()
            };
            let rest = &data[from..];
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                rest.len()
            );
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            if n >= trickling {
                let _ = sock.write_all(rest).await;
                return;
            }
            if sock.write_all(&rest[..4000]).await.is_err() {
                return;
            }
            for b in &rest[4000..] {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if sock.write_all(std::slice::from_ref(b)).await.is_err() {
                    return; // the client gave up on us
                }
            }
        })
    })
}

#[tokio::test]
async fn a_trickling_download_is_abandoned_and_resumed() {
    let data = Arc::new(hoist_testenv::random_bytes(200_000, 3));
    let digest = Digest::sha256_of(&data);
    let (addr, seen) = serve(trickling_blob_server(data.clone(), 1)).await;
    let c = client(&addr, Duration::from_millis(700));
    let mut out = Vec::new();
    // At one byte per 20 ms the trickle alone would take over an hour.
    let fetched = tokio::time::timeout(
        Duration::from_secs(60),
        c.fetch_blob(&addr, "a", &digest, &mut out, &Progress::none()),
    )
    .await
    .expect("the trickle was not detected within 60 s")
    .unwrap();
    assert_eq!(fetched, data.len() as u64);
    assert!(out == *data, "the resumed download is the blob");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let resumed_at = range_start(&seen[1]).expect("the second request resumes with a Range");
    assert!(
        resumed_at >= 4000,
        "resumed after the bytes already had: {resumed_at}"
    );
}

#[tokio::test]
async fn a_registry_that_always_trickles_fails_as_stalled() {
    let data = Arc::new(hoist_testenv::random_bytes(200_000, 3));
    let digest = Digest::sha256_of(&data);
    let (addr, seen) = serve(trickling_blob_server(data.clone(), usize::MAX)).await;
    let c = client(&addr, Duration::from_millis(700));
    let mut out = Vec::new();
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        c.fetch_blob(&addr, "a", &digest, &mut out, &Progress::none()),
    )
    .await
    .expect("the trickle was not detected within 60 s")
    .unwrap_err();
    assert!(matches!(err, RegistryError::Stalled { .. }), "{err:?}");
    assert!(err.to_string().contains("stalled"), "{err}");
    assert!(err.is_transient());
    assert_eq!(seen.lock().unwrap().len(), 2, "a stall is retried once");
}

//! Blobs in a registry, read with HTTP Range requests.

use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoist_image::Digest;
use hoist_registry::{ClientOptions, CredentialSource, RegistryClient};
use serde::{Deserialize, Serialize};

use crate::source::RangeSource;

/// How to reach the registry a lazy layer comes from; what the pull used,
/// kept with the container so its monitor can fetch the rest. Credentials
/// are looked up in the auth files when needed, never stored here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteOptions {
    /// `--tls-verify`.
    pub tls_verify: Option<bool>,
    /// The registry is marked insecure in registries.conf.
    pub insecure: bool,
    /// `--authfile`.
    pub authfile: Option<PathBuf>,
    /// `--cert-dir`.
    pub cert_dir: Option<PathBuf>,
    /// The registry's base URL found by the pull: used without a ping when
    /// still allowed (see `RegistryClient::assume_endpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// How long a lazy read waits for a registry that does not answer: each
/// attempt gives up after `read_timeout` without a byte, and a read makes at
/// most `attempts` of them, so a silent registry costs a read at most
/// [`ReadBudget::total`] (plus the time the bytes take at
/// [`ReadBudget::MIN_RATE`] once they flow), however the time is split
/// between waiting for another thread's fetch of the same bytes and its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBudget {
    pub read_timeout: Duration,
    pub attempts: u32,
}

impl Default for ReadBudget {
    fn default() -> ReadBudget {
        ReadBudget {
            read_timeout: Duration::from_secs(20),
            attempts: 3,
        }
    }
}

impl ReadBudget {
    /// The slowest transfer a read waits for, in bytes per second.
    pub const MIN_RATE: u64 = 64 << 10;

    /// The longest a silent registry may hold a read.
    pub fn total(&self) -> Duration {
        self.read_timeout.saturating_mul(self.attempts.max(1))
    }

    /// When a read of `len` bytes starting now must have ended.
    pub fn deadline(&self, len: u64) -> Instant {
        Instant::now() + self.total() + Duration::from_secs(len / Self::MIN_RATE)
    }
}

impl RemoteOptions {
    /// A registry client for lazy reads. Reads must fail rather than hang
    /// when the registry goes away: short timeouts, few retries.
    pub fn client(&self, registry: &str) -> RegistryClient {
        self.client_with_budget(registry, ReadBudget::default())
    }

    /// [`RemoteOptions::client`] with the timeouts of `budget`.
    pub fn client_with_budget(&self, registry: &str, budget: ReadBudget) -> RegistryClient {
        let mut opts = ClientOptions {
            tls_verify: self.tls_verify,
            cert_dir: self.cert_dir.clone(),
            credentials: CredentialSource::AuthFiles {
                primary: self.authfile.clone(),
                fallbacks: self.authfile.is_none(),
            },
            connect_timeout: budget.read_timeout.min(Duration::from_secs(5)),
            read_timeout: budget.read_timeout,
            ..ClientOptions::default()
        };
        if self.insecure {
            opts.insecure_registries.insert(registry.to_string());
        }
        opts.retry.max_attempts = budget.attempts.max(1);
        opts.retry.max_timeouts = budget.attempts.max(1);
        let client = RegistryClient::new(opts);
        if let Some(base) = self
            .endpoint
            .as_deref()
            .and_then(|e| url::Url::parse(e).ok())
        {
            if !client.assume_endpoint(registry, &base) {
                tracing::debug!(registry, endpoint = %base, "not using the recorded endpoint");
            }
        }
        client
    }
}

/// One blob in one repository, read through a registry client on a tokio
/// runtime (callers are plain threads: FUSE workers, the prefetcher).
pub struct RegistrySource {
    client: RegistryClient,
    registry: String,
    repository: String,
    digest: Digest,
    size: u64,
    runtime: tokio::runtime::Handle,
    fetched: Arc<FetchStats>,
    budget: ReadBudget,
}

/// What a source fetched, for logs and benchmarks.
#[derive(Debug, Default)]
pub struct FetchStats {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
}

impl RegistrySource {
    pub fn new(
        client: RegistryClient,
        registry: &str,
        repository: &str,
        digest: Digest,
        size: u64,
        runtime: tokio::runtime::Handle,
    ) -> RegistrySource {
        RegistrySource {
            client,
            registry: registry.to_string(),
            repository: repository.to_string(),
            digest,
            size,
            runtime,
            fetched: Arc::default(),
            budget: ReadBudget::default(),
        }
    }

    /// Bounds reads by `budget` (the one its client was made with) instead
    /// of the default.
    pub fn with_budget(mut self, budget: ReadBudget) -> RegistrySource {
        self.budget = budget;
        self
    }

    pub fn stats(&self) -> Arc<FetchStats> {
        self.fetched.clone()
    }
}

impl RegistrySource {
    /// Reads `ranges`, handing each to `deliver` as it comes in; gives up
    /// (with `TimedOut`) at `deadline`.
    fn deliver_within(
        &self,
        ranges: &[Range<u64>],
        deadline: Instant,
        deliver: &mut dyn FnMut(usize, &[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if let Some(bad) = ranges
            .iter()
            .find(|r| r.start >= r.end || r.end > self.size)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "range {bad:?} outside blob {} of {} bytes",
                    self.digest, self.size
                ),
            ));
        }
        let fetch = self.client.stream_blob_ranges(
            &self.registry,
            &self.repository,
            &self.digest,
            ranges,
            |i, bytes| {
                self.fetched
                    .bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                deliver(i, &bytes)
            },
        );
        let left = deadline.saturating_duration_since(Instant::now());
        self.runtime
            .block_on(async { tokio::time::timeout(left, fetch).await })
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "registry {} did not deliver parts of blob {} in time (the read waited {:?})",
                        self.registry, self.digest, left
                    ),
                )
            })?
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.fetched.requests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl RangeSource for RegistrySource {
    fn size(&self) -> u64 {
        self.size
    }

    fn stream_range(
        &self,
        range: Range<u64>,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if range.start >= range.end || range.end > self.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "range {range:?} outside blob {} of {} bytes",
                    self.digest, self.size
                ),
            ));
        }
        let len = range.end - range.start;
        let fetch = self.client.stream_blob_range(
            &self.registry,
            &self.repository,
            &self.digest,
            range,
            |bytes| sink(bytes),
        );
        self.runtime
            .block_on(fetch)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.fetched.requests.fetch_add(1, Ordering::Relaxed);
        self.fetched.bytes.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        let len = ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum();
        self.read_ranges_within(ranges, self.budget.deadline(len))
    }

    fn read_ranges_within(
        &self,
        ranges: &[Range<u64>],
        deadline: Instant,
    ) -> io::Result<Vec<Vec<u8>>> {
        let mut out = vec![Vec::new(); ranges.len()];
        self.deliver_within(ranges, deadline, &mut |i, bytes| {
            out[i] = bytes.to_vec();
            Ok(())
        })?;
        Ok(out)
    }

    fn read_ranges_each(
        &self,
        ranges: &[Range<u64>],
        deliver: &mut dyn FnMut(usize, &[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let len = ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum();
        self.deliver_within(ranges, self.budget.deadline(len), deliver)
    }
}

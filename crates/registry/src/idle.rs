//! Telling a dead or stalled transfer from a slow one.
//!
//! A request fails when nothing moves for the read timeout: no request body
//! bytes taken by the connection and no response bytes arriving. A response
//! body also fails when a whole read-timeout window brings fewer than
//! [`STALL_MIN_BYTES`]: a registry that sends one byte every few seconds is
//! never silent for long, but would keep a pull going for ever. Both count as
//! transient, so downloads resume with a Range request like after a reset.
//!
//! The HTTP client's own read timeout is not used: it bounds the whole time
//! until the response headers arrive, upload included, so a large push on
//! a normal link would time out.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// A response body that brings fewer bytes than this in one read-timeout
/// window is stalled (about 34 bytes/s with the default 30 s window; any
/// working link moves far more).
pub const STALL_MIN_BYTES: u64 = 1024;

/// When bytes last moved on one request, shared by the request body stream
/// and the code waiting for the answer.
#[derive(Clone, Debug)]
pub(crate) struct Activity {
    base: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            base: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn touch(&self) {
        let now = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.base.elapsed().saturating_sub(last)
    }
}

/// Nothing moved for the whole read timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Idle;

/// Runs `fut` until it finishes or `activity` has seen nothing for `window`.
pub(crate) async fn until_idle<F: Future>(
    fut: F,
    activity: &Activity,
    window: Duration,
) -> Result<F::Output, Idle> {
    let mut fut = std::pin::pin!(fut);
    loop {
        let left = window.saturating_sub(activity.idle_for());
        if left.is_zero() {
            return Err(Idle);
        }
        tokio::select! {
            out = &mut fut => return Ok(out),
            () = tokio::time::sleep(left) => {}
        }
    }
}

/// A request body of `data`, in pieces that mark `activity` as the
/// connection takes them. Small bodies go as they are.
pub(crate) fn tracked_body(data: Bytes, activity: &Activity) -> reqwest::Body {
    const PIECE: usize = 64 * 1024;
    if data.len() <= PIECE {
        return data.into();
    }
    let pieces: Vec<Bytes> = (0..data.len())
        .step_by(PIECE)
        .map(|at| data.slice(at..data.len().min(at + PIECE)))
        .collect();
    let activity = activity.clone();
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces).map(move |p| {
        activity.touch();
        Ok::<Bytes, std::io::Error>(p)
    }))
}

/// Why reading a response body failed.
#[derive(Debug)]
pub(crate) enum BodyError {
    Transport(reqwest::Error),
    /// No byte for the whole read timeout.
    Idle,
    /// Bytes came, but fewer than [`STALL_MIN_BYTES`] in a whole window.
    Stalled {
        bytes: u64,
        window: Duration,
    },
}

impl BodyError {
    /// Worth resuming: the connection broke or the server went quiet.
    pub fn retryable(&self) -> bool {
        match self {
            BodyError::Transport(e) => crate::retry::retryable_error(e),
            BodyError::Idle | BodyError::Stalled { .. } => true,
        }
    }

    /// A silent or trickling server, which gets fewer second chances than a
    /// reset connection (see `RetryPolicy::max_timeouts`).
    pub fn is_timeout(&self) -> bool {
        match self {
            BodyError::Transport(e) => e.is_timeout(),
            BodyError::Idle | BodyError::Stalled { .. } => true,
        }
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Transport(e) => write!(f, "{}", crate::host::error_chain(e)),
            BodyError::Idle => f.write_str("no data within the read timeout"),
            BodyError::Stalled { bytes, window } => {
                write!(f, "only {bytes} bytes in {window:?}")
            }
        }
    }
}

/// Counts the bytes of one window; see the module comment.
#[derive(Debug)]
pub(crate) struct StallGuard {
    window: Duration,
    started: Instant,
    seen: u64,
}

impl StallGuard {
    pub fn new(window: Duration) -> StallGuard {
        StallGuard {
            window,
            started: Instant::now(),
            seen: 0,
        }
    }

    /// Counts `n` bytes arriving now; the byte count of the window when a
    /// whole window has passed with fewer than [`STALL_MIN_BYTES`].
    pub fn record(&mut self, n: usize) -> Result<(), u64> {
        self.record_at(n, Instant::now())
    }

    fn record_at(&mut self, n: usize, now: Instant) -> Result<(), u64> {
        self.seen = self.seen.saturating_add(n as u64);
        if now.saturating_duration_since(self.started) < self.window {
            return Ok(());
        }
        if self.seen < STALL_MIN_BYTES {
            return Err(self.seen);
        }
        self.started = now;
        self.seen = 0;
        Ok(())
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A response body read with the idle timeout and the stall check.
pub(crate) struct Body {
    stream: ByteStream,
    window: Duration,
    guard: StallGuard,
}

impl Body {
    pub fn new(resp: reqwest::Response, window: Duration) -> Body {
        Body {
            stream: Box::pin(resp.bytes_stream()),
            window,
            guard: StallGuard::new(window),
        }
    }

    /// The next chunk; `None` at the end of the body.
    pub async fn next(&mut self) -> Option<Result<Bytes, BodyError>> {
        let item = match tokio::time::timeout(self.window, self.stream.next()).await {
            Err(_) => return Some(Err(BodyError::Idle)),
            Ok(item) => item?,
        };
        Some(match item {
            Ok(chunk) => match self.guard.record(chunk.len()) {
                Ok(()) => Ok(chunk),
                Err(bytes) => Err(BodyError::Stalled {
                    bytes,
                    window: self.window,
                }),
            },
            Err(e) => Err(BodyError::Transport(e)),
        })
    }

    /// The whole body, at most `limit` bytes of it (more is an error the
    /// caller names: `Ok(None)`).
    pub async fn collect(mut self, limit: usize) -> Result<Option<Vec<u8>>, BodyError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next().await {
            let chunk = chunk?;
            if out.len().saturating_add(chunk.len()) > limit {
                return Ok(None);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trickle_is_a_stall_and_a_slow_steady_flow_is_not() {
        let t0 = Instant::now();
        let w = Duration::from_secs(30);
        let mut trickle = StallGuard {
            window: w,
            started: t0,
            seen: 0,
        };
        // One byte every 5 s: never silent for 30 s, but a stall after one window.
        let mut failed_at = None;
        for i in 1..=20u64 {
            if trickle
                .record_at(1, t0 + Duration::from_secs(5 * i))
                .is_err()
            {
                failed_at = Some(5 * i);
                break;
            }
        }
        assert_eq!(failed_at, Some(30));
        // 100 bytes/s for ten minutes: never a stall.
        let mut slow = StallGuard {
            window: w,
            started: t0,
            seen: 0,
        };
        for s in 1..=600u64 {
            assert!(slow.record_at(100, t0 + Duration::from_secs(s)).is_ok());
        }
    }

    #[tokio::test]
    async fn until_idle_waits_while_there_is_activity() {
        let a = Activity::new();
        let w = Duration::from_millis(200);
        // Nothing happens: fails after the window.
        let never = std::future::pending::<()>();
        assert_eq!(until_idle(never, &a, w).await, Err(Idle));
        // Activity every 50 ms keeps a 600 ms job alive past the window.
        let a = Activity::new();
        let toucher = {
            let a = a.clone();
            async move {
                for _ in 0..12 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    a.touch();
                }
                7
            }
        };
        assert_eq!(until_idle(toucher, &a, w).await, Ok(7));
    }
}

//! When and how long to wait before trying a request again.
//!
//! Registries and their CDNs fail transiently (connection resets, 429 rate
//! limits, 502/503/504 from load balancers). Those are retried with
//! exponential backoff and jitter, so parallel layer downloads do not retry in
//! lock step; a Retry-After header from the registry wins over our own guess.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// How often and how patiently requests are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first one; 1 disables retries.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles for each further one.
    pub base_delay: Duration,
    /// Upper bound of the backoff delay.
    pub max_delay: Duration,
    /// Upper bound for a registry's Retry-After, so a hostile or confused
    /// registry cannot park us for hours.
    pub max_retry_after: Duration,
    /// Attempts that may end in a timeout (no answer, or a stalled body)
    /// before the request fails, counted within `max_attempts`: a silent
    /// registry costs at most this many read timeouts, not `max_attempts`.
    pub max_timeouts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            max_timeouts: 2,
        }
    }
}

impl RetryPolicy {
    /// No retries at all (used by tests that count requests).
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The delay before retry number `retry` (0 for the first retry): the
    /// registry's Retry-After if it sent one (capped), else exponential
    /// backoff with jitter in [half, full] of the step.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_retry_after);
        }
        let step = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let half = step / 2;
        let jitter_ms = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// HTTP statuses worth retrying: rate limiting and gateway/overload errors.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Whether a transport error is worth retrying. TLS failures are not: a
/// certificate does not become trusted by asking again.
pub fn retryable_error(err: &reqwest::Error) -> bool {
    if crate::tls::tls_failure(err).is_some() {
        return false;
    }
    if err.is_connect() || err.is_timeout() {
        return true;
    }
    // Connections dropped mid-request or mid-body surface as request/body
    // errors wrapping an io::Error.
    (err.is_request() || err.is_body() || err.is_decode()) && has_transient_io(err)
}

fn has_transient_io(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::*;
    for e in crate::error::causes(err) {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | TimedOut
            ) {
                return true;
            }
        }
        // hyper reports a peer that closed early as "connection closed before
        // message completed" / "IncompleteMessage" without an io::Error.
        let text = e.to_string();
        if text.contains("connection closed") || text.contains("IncompleteMessage") {
            return true;
        }
    }
    false
}

/// Parses a Retry-After value: delta seconds or an HTTP date, relative to `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        for s in [429, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 201, 400, 401, 403, 404, 416, 500, 501] {
            assert!(!retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(5),
            max_timeouts: 2,
        };
        for _ in 0..50 {
            let d0 = p.delay(0, None);
            assert!(
                d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100),
                "{d0:?}"
            );
            let d2 = p.delay(2, None);
            // 100 * 4 = 400, capped at 350, jittered into [175, 350]
            assert!(
                d2 >= Duration::from_millis(175) && d2 <= Duration::from_millis(350),
                "{d2:?}"
            );
            assert!(p.delay(40, None) <= Duration::from_millis(350));
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(600))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn parses_retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}

//! The errors of the registry client. Each variant is something a caller may
//! want to react to differently (retry, ask for credentials, suggest a flag),
//! and each message says what failed, where, and what the user can do.

use hoist_image::Digest;
use serde::Deserialize;

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// The hint shown with TLS failures: the two ways podman users fix them.
pub fn tls_hint(registry: &str) -> String {
    format!(
        "use --tls-verify=false, or add the registry's CA certificate under /etc/containers/certs.d/{registry}/ (or a directory given with --cert-dir)"
    )
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry refused us (401, or 403 DENIED) even after authenticating.
    #[error("{registry}: {what}: unauthorized: {hint}")]
    Unauthorized {
        registry: String,
        what: String,
        hint: String,
    },

    /// `login` was given credentials the registry (or its token server) refused.
    #[error("logging in to {registry}: invalid username/password")]
    InvalidCredentials { registry: String },

    /// A blob, repository or tag that does not exist (404 other than a manifest).
    #[error("{what}: not found")]
    NotFound { what: String },

    /// The manifest a reference names does not exist (404 MANIFEST_UNKNOWN).
    #[error("{reference}: manifest unknown: check the tag or digest (the image may not exist, or not for this name)")]
    ManifestUnknown { reference: String },

    /// A response larger than we accept (manifests are capped at MAX_MANIFEST_BYTES).
    #[error("{what}: {size} bytes is over the {limit}-byte limit: refusing it")]
    TooLarge { what: String, size: u64, limit: u64 },

    /// Content whose digest is not the one it was asked for or announced with.
    #[error("{what}: digest mismatch: expected {expected}, got {actual} (the registry served corrupt or different content)")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },

    /// Content whose length differs from its descriptor.
    #[error("{what}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },

    /// The TLS handshake failed, usually an untrusted or self-signed certificate.
    #[error("{registry}: TLS error: {detail}; {hint}", hint = tls_hint(registry))]
    Tls { registry: String, detail: String },

    /// The registry could not be reached at all.
    #[error("{registry}: cannot connect: {detail} (check the registry name and port, and that it is running and reachable)")]
    Connect { registry: String, detail: String },

    /// The connection failed after it was established (reset, closed early).
    #[error("{registry}: {what}: network error: {detail} (try again)")]
    Network {
        registry: String,
        what: String,
        detail: String,
    },

    /// The registry stopped answering within the configured timeout.
    #[error("{registry}: {what}: timed out waiting for the registry (it may be overloaded or unreachable; try again)")]
    Timeout { registry: String, what: String },

    /// The registry kept sending, but too little to ever finish.
    #[error("{registry}: {what}: the transfer stalled: only {bytes} bytes arrived in {window:?} (the registry or the network is failing; try again, or raise HOIST_REGISTRY_TIMEOUT)")]
    Stalled {
        registry: String,
        what: String,
        bytes: u64,
        window: std::time::Duration,
    },

    /// Any other unexpected HTTP status, with the registry's own error text.
    #[error("{what}: registry answered {status}{}{}", reason(*status), fmt_message(code, message))]
    Http {
        what: String,
        status: u16,
        /// The first error code of the registry's JSON error body, e.g. `DENIED`.
        code: Option<String>,
        /// The registry's message, or an excerpt of the body when it is not JSON.
        message: String,
    },

    /// The registry answered something that breaks the distribution protocol.
    #[error("{registry}: {what}: protocol error: {detail}")]
    Protocol {
        registry: String,
        what: String,
        detail: String,
    },

    /// Writing downloaded data to the caller's sink, or reading upload data, failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    /// Reading or writing an auth file (containers-auth.json) failed.
    #[error("auth file {path}: {detail}")]
    AuthFile { path: String, detail: String },

    /// Client options that cannot work (unreadable certificate, bad user agent).
    #[error("registry client configuration: {0}")]
    Config(String),
}

fn reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" ({r})"))
        .unwrap_or_default()
}

fn fmt_message(code: &Option<String>, message: &str) -> String {
    match (code, message.is_empty()) {
        (Some(c), false) => format!(": {c}: {message}"),
        (Some(c), true) => format!(": {c}"),
        (None, false) => format!(": {message}"),
        (None, true) => String::new(),
    }
}

impl RegistryError {
    /// Whether retrying the same operation later might succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Connect { .. }
            | RegistryError::Network { .. }
            | RegistryError::Timeout { .. }
            | RegistryError::Stalled { .. } => true,
            RegistryError::Http { status, .. } => crate::retry::retryable_status(*status),
            _ => false,
        }
    }
}

/// Every error in a chain. `io::Error` wrapping another error reports the
/// inner error's *source* as its own, skipping the inner error itself, so
/// we descend through `get_ref` there (TLS errors hide exactly that way).
pub fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        out.push(e);
        if out.len() > 32 {
            break;
        }
        cur = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    out
}

/// The JSON error body of the distribution spec: `{"errors":[{code,message,detail}]}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

#[derive(Debug, Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Longest excerpt of a non-JSON error body that goes into a message.
const EXCERPT_CHARS: usize = 300;

/// Splits a registry error body into (first code, message). Bodies that are
/// not the spec's JSON give an excerpt of their text, so HTML error pages from
/// proxies stay readable without flooding the terminal.
pub fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        if let Some(first) = parsed.errors.first() {
            let code = Some(first.code.clone()).filter(|c| !c.is_empty());
            let mut message = first.message.clone();
            if parsed.errors.len() > 1 {
                message.push_str(&format!(" (and {} more errors)", parsed.errors.len() - 1));
            }
            return (code, message);
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let excerpt = match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    };
    (None, excerpt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_descend_into_nested_io_errors() {
        #[derive(Debug, thiserror::Error)]
        #[error("deep")]
        struct Deep;
        let nested =
            std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, Deep));
        let all = causes(&nested);
        assert!(
            all.iter().any(|e| e.downcast_ref::<Deep>().is_some()),
            "{all:?}"
        );
    }

    #[test]
    fn parses_spec_error_bodies() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(
            parse_error_body(body),
            (Some("MANIFEST_UNKNOWN".into()), "manifest unknown".into())
        );
        let two = br#"{"errors":[{"code":"DENIED","message":"no"},{"code":"X","message":"y"}]}"#;
        assert_eq!(parse_error_body(two).1, "no (and 1 more errors)");
    }

    #[test]
    fn excerpts_non_json_bodies() {
        let html = format!("<html>\n  <body>{}</body></html>", "x".repeat(1000));
        let (code, msg) = parse_error_body(html.as_bytes());
        assert_eq!(code, None);
        assert!(msg.starts_with("<html> <body>xxx"), "{msg}");
        assert!(msg.ends_with("..."));
        assert!(msg.chars().count() <= EXCERPT_CHARS + 3);
    }

    #[test]
    fn messages_name_the_object_and_the_remedy() {
        let e = RegistryError::Tls {
            registry: "127.0.0.1:5000".into(),
            detail: "invalid peer certificate: UnknownIssuer".into(),
        };
        let s = e.to_string();
        assert!(s.contains("--tls-verify=false"), "{s}");
        assert!(s.contains("/etc/containers/certs.d/127.0.0.1:5000/"), "{s}");
        let e = RegistryError::Http {
            what: "pushing blob".into(),
            status: 500,
            code: Some("UNKNOWN".into()),
            message: "boom".into(),
        };
        assert_eq!(
            e.to_string(),
            "pushing blob: registry answered 500 (Internal Server Error): UNKNOWN: boom"
        );
        assert!(e.is_transient() == crate::retry::retryable_status(500));
    }
}

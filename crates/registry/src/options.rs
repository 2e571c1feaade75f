//! What a `RegistryClient` is configured with: TLS policy per registry,
//! certificate directories, credentials, timeouts and retries.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::CredentialSource;
use crate::retry::RetryPolicy;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Sent with every request; podman identifies itself the same way.
    pub user_agent: String,
    /// The command line's `--tls-verify`: `Some(false)` skips certificate
    /// verification and allows plain HTTP for every registry, `Some(true)`
    /// forces verification even for registries marked insecure, `None` leaves
    /// the decision to `insecure_registries`.
    pub tls_verify: Option<bool>,
    /// Registries (`host[:port]`) marked `insecure = true` in registries.conf:
    /// certificates are not verified and plain HTTP is allowed.
    pub insecure_registries: HashSet<String>,
    /// `--cert-dir`: one directory of `*.crt` CAs and `*.cert`/`*.key` client
    /// pairs used for every registry, instead of the per-host directories.
    pub cert_dir: Option<PathBuf>,
    /// Roots holding one `<host[:port]>/` directory per registry; the first
    /// root that has the host's directory is used (podman's certs.d lookup).
    pub certs_d_roots: Vec<PathBuf>,
    pub credentials: CredentialSource,
    /// Time allowed to establish a TCP + TLS connection
    /// (`HOIST_REGISTRY_CONNECT_TIMEOUT`).
    pub connect_timeout: Duration,
    /// Longest silence on a request (no body bytes sent, no answer bytes
    /// received), and the window in which a response body must bring at
    /// least [`crate::STALL_MIN_BYTES`] (`HOIST_REGISTRY_TIMEOUT`). Either
    /// failure is retried, downloads resume; see
    /// [`RetryPolicy::max_timeouts`] for how often.
    pub read_timeout: Duration,
    pub retry: RetryPolicy,
    /// Upload blobs in PATCH chunks of this size instead of one monolithic
    /// PUT, for registries or proxies that limit request sizes.
    pub upload_chunk_size: Option<u64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            user_agent: format!("hoist/{}", env!("CARGO_PKG_VERSION")),
            tls_verify: None,
            insecure_registries: HashSet::new(),
            cert_dir: None,
            certs_d_roots: default_certs_d_roots(),
            credentials: CredentialSource::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            retry: RetryPolicy::default(),
            upload_chunk_size: None,
        }
    }
}

/// The default [`ClientOptions::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`ClientOptions::read_timeout`]. With the default retry
/// policy a registry that accepts connections and never answers fails after
/// two of these (about a minute), one that cannot be reached after two
/// connect timeouts.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Environment variable overriding [`ClientOptions::read_timeout`].
pub const READ_TIMEOUT_ENV: &str = "HOIST_REGISTRY_TIMEOUT";
/// Environment variable overriding [`ClientOptions::connect_timeout`].
pub const CONNECT_TIMEOUT_ENV: &str = "HOIST_REGISTRY_CONNECT_TIMEOUT";

/// Parses a timeout as the environment variables take it: seconds, with an
/// optional fraction and an optional `s` or `ms` unit (`30`, `2.5`, `500ms`).
/// Zero and negative values are refused: a timeout cannot be turned off.
pub fn parse_timeout(value: &str) -> std::result::Result<Duration, String> {
    let v = value.trim();
    let (number, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else {
        (v.strip_suffix('s').unwrap_or(v), 1.0)
    };
    let secs = number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .ok_or_else(|| {
            format!("{value:?} is not a timeout: give seconds (e.g. 30 or 2.5) or milliseconds (500ms), more than 0 and at most a day")
        })?;
    Ok(Duration::from_secs_f64(secs))
}

impl ClientOptions {
    /// Applies `HOIST_REGISTRY_TIMEOUT` and `HOIST_REGISTRY_CONNECT_TIMEOUT`
    /// from the environment, when set.
    pub fn apply_env_timeouts(&mut self) -> crate::Result<()> {
        for (var, field) in [
            (READ_TIMEOUT_ENV, &mut self.read_timeout),
            (CONNECT_TIMEOUT_ENV, &mut self.connect_timeout),
        ] {
            if let Some(v) = std::env::var_os(var) {
                let v = v.to_string_lossy();
                *field = parse_timeout(&v)
                    .map_err(|e| crate::RegistryError::Config(format!("{var}: {e}")))?;
            }
        }
        Ok(())
    }
}

/// podman's per-host certificate roots: the user's own first when not root,
/// then the system's, then docker's.
pub fn default_certs_d_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if !rustix::process::getuid().is_root() {
        if let Some(home) = std::env::var_os("HOME") {
            roots.push(PathBuf::from(home).join(".config/containers/certs.d"));
        }
    }
    roots.push(PathBuf::from("/etc/containers/certs.d"));
    roots.push(PathBuf::from("/etc/docker/certs.d"));
    roots
}

/// The effective TLS policy for one registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostTls {
    pub verify: bool,
    /// Fall back to plain HTTP when HTTPS cannot be spoken at all.
    pub allow_http: bool,
}

impl ClientOptions {
    pub fn tls_for(&self, registry: &str) -> HostTls {
        let insecure = match self.tls_verify {
            Some(v) => !v,
            None => self.insecure_registries.contains(registry),
        };
        HostTls {
            verify: !insecure,
            allow_http: insecure,
        }
    }

    /// The certificate directory for a registry, if one exists.
    pub fn cert_dir_for(&self, registry: &str) -> Option<PathBuf> {
        if let Some(d) = &self.cert_dir {
            return Some(d.clone());
        }
        self.certs_d_roots
            .iter()
            .map(|root| root.join(registry))
            .find(|d| d.is_dir())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_flag_overrides_registries_conf() {
        let mut o = ClientOptions::default();
        o.insecure_registries.insert("reg.local:5000".into());
        let secure = HostTls {
            verify: true,
            allow_http: false,
        };
        let insecure = HostTls {
            verify: false,
            allow_http: true,
        };
        assert_eq!(o.tls_for("quay.io"), secure);
        assert_eq!(o.tls_for("reg.local:5000"), insecure);
        o.tls_verify = Some(true);
        assert_eq!(o.tls_for("reg.local:5000"), secure);
        o.tls_verify = Some(false);
        assert_eq!(o.tls_for("quay.io"), insecure);
    }

    #[test]
    fn timeouts_parse_in_seconds_or_milliseconds() {
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout(" 2.5s "), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        for bad in ["", "0", "-1", "abc", "1e9", "NaN", "inf", "5m"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            ClientOptions::default().read_timeout,
            Duration::from_secs(30)
        );
    }

    #[test]
    fn cert_dir_lookup_uses_first_existing_root() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir(b.path().join("h:5000")).unwrap();
        let mut o = ClientOptions {
            certs_d_roots: vec![a.path().into(), b.path().into()],
            ..ClientOptions::default()
        };
        assert_eq!(o.cert_dir_for("h:5000"), Some(b.path().join("h:5000")));
        assert_eq!(o.cert_dir_for("other"), None);
        o.cert_dir = Some("/x".into());
        assert_eq!(o.cert_dir_for("other"), Some(PathBuf::from("/x")));
        assert!(o.user_agent.starts_with("hoist/"));
    }
}

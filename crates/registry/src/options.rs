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
    /// Time allowed to establish a TCP + TLS connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for response bytes, so a registry that
    /// stops answering fails instead of hanging; a slow but steady download
    /// never hits it.
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
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            upload_chunk_size: None,
        }
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

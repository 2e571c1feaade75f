//! Building the HTTP client of one registry: its CA certificates and client
//! identity from a podman-style cert directory, its verification policy, and
//! recognising TLS failures in transport errors.

use std::path::Path;

use crate::error::{RegistryError, Result};
use crate::options::{ClientOptions, HostTls};

/// What a cert directory holds: `*.crt` CA bundles, and `NAME.cert` +
/// `NAME.key` client certificate pairs (podman/docker layout).
#[derive(Default)]
pub struct CertDir {
    pub roots: Vec<reqwest::Certificate>,
    pub identity: Option<reqwest::Identity>,
}

pub fn load_cert_dir(dir: &Path) -> Result<CertDir> {
    let cfg =
        |detail: String| RegistryError::Config(format!("cert dir {}: {detail}", dir.display()));
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| cfg(format!("cannot list: {e}")))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut out = CertDir::default();
    for path in &names {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| cfg(format!("cannot read {}: {e}", p.display())))
        };
        match ext {
            "crt" => {
                let pem = read(path)?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    cfg(format!(
                        "{} is not a PEM certificate bundle: {e}",
                        path.display()
                    ))
                })?;
                if certs.is_empty() {
                    return Err(cfg(format!("{} holds no PEM certificate", path.display())));
                }
                tracing::debug!(file = %path.display(), count = certs.len(), "trusting CA certificates");
                out.roots.extend(certs);
            }
            "cert" => {
                let key = path.with_extension("key");
                if !key.exists() {
                    return Err(cfg(format!(
                        "client certificate {} has no matching key {}",
                        path.display(),
                        key.display()
                    )));
                }
                let mut pem = read(path)?;
                pem.push(b'\n');
                pem.extend(read(&key)?);
                let id = reqwest::Identity::from_pem(&pem)
                    .map_err(|e| cfg(format!("client certificate {}: {e}", path.display())))?;
                out.identity = Some(id);
            }
            "key" if !path.with_extension("cert").exists() => {
                return Err(cfg(format!(
                    "client key {} has no matching certificate {}",
                    path.display(),
                    path.with_extension("cert").display()
                )));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The reqwest client for one registry, with its TLS policy and connect
/// timeout (the read timeout is applied per request, see `crate::idle`).
/// Redirects are followed (blob downloads redirect to storage); reqwest drops
/// the Authorization header when a redirect leaves the host, so credentials
/// never reach a storage backend.
pub fn build_http_client(
    opts: &ClientOptions,
    registry: &str,
    tls: HostTls,
) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .user_agent(opts.user_agent.clone())
        .connect_timeout(opts.connect_timeout)
        .redirect(reqwest::redirect::Policy::limited(10))
        .danger_accept_invalid_certs(!tls.verify)
        // Without verification the system's roots are never consulted;
        // reading and parsing them (about 140 files on Debian) would delay
        // the first request, most of all with a cold page cache.
        .tls_built_in_root_certs(tls.verify);
    if let Some(dir) = opts.cert_dir_for(registry) {
        let certs = load_cert_dir(&dir)?;
        for c in certs.roots {
            b = b.add_root_certificate(c);
        }
        if let Some(id) = certs.identity {
            b = b.identity(id);
        }
    }
    b.build().map_err(|e| {
        RegistryError::Config(format!(
            "HTTP client for {registry}: {}",
            crate::host::error_chain(&e)
        ))
    })
}

/// If `err` is (or wraps) a TLS failure, its description.
pub fn tls_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let e = crate::error::causes(err)
        .into_iter()
        .find_map(|e| e.downcast_ref::<rustls::Error>())?;
    Some(match e {
        // What a TLS client reads when the server answers in plain HTTP.
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            format!("{e} (the registry seems to speak plain HTTP, not HTTPS)")
        }
        _ => e.to_string(),
    })
}

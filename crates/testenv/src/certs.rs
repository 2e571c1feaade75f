//! A throw-away certificate authority and server certificate, made with the openssl CLI.
//!
//! The CA carries `basicConstraints=CA:TRUE` and `keyCertSign`, and the server
//! certificate is a v3 end-entity certificate with SANs, because strict verifiers
//! (rustls/webpki, Go's crypto/tls) reject anything less.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::run_checked;

const OPENSSL_TIMEOUT: Duration = Duration::from_secs(60);

/// Files of a generated CA and of a server certificate signed by it (all PEM).
#[derive(Debug, Clone)]
pub struct TestCerts {
    /// The CA certificate clients must trust.
    pub ca_cert: PathBuf,
    /// The CA private key.
    pub ca_key: PathBuf,
    /// The server certificate (SAN `IP:127.0.0.1`, `DNS:localhost`).
    pub server_cert: PathBuf,
    /// The server private key.
    pub server_key: PathBuf,
}

impl TestCerts {
    /// Generates a P-256 CA and a server certificate for 127.0.0.1/localhost into `dir`.
    ///
    /// Panics with openssl's output if any step fails.
    pub fn generate(dir: &Path) -> TestCerts {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create certificate dir {}: {e}", dir.display()));
        let certs = TestCerts {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
        };
        let csr = dir.join("server.csr");
        let ext = dir.join("server.ext");

        run_checked(
            Command::new("openssl")
                .args(["req", "-x509", "-new", "-nodes", "-sha256", "-days", "3650"])
                .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
                .args(["-subj", "/CN=hoist test CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
                .arg("-keyout")
                .arg(&certs.ca_key)
                .arg("-out")
                .arg(&certs.ca_cert),
            OPENSSL_TIMEOUT,
        );
        run_checked(
            Command::new("openssl")
                .args(["req", "-new", "-nodes", "-sha256"])
                .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
                .args(["-subj", "/CN=localhost"])
                .arg("-keyout")
                .arg(&certs.server_key)
                .arg("-out")
                .arg(&csr),
            OPENSSL_TIMEOUT,
        );
        std::fs::write(
            &ext,
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n\
             subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", ext.display()));
        run_checked(
            Command::new("openssl")
                .args(["x509", "-req", "-sha256", "-days", "825"])
                .arg("-in")
                .arg(&csr)
                .arg("-CA")
                .arg(&certs.ca_cert)
                .arg("-CAkey")
                .arg(&certs.ca_key)
                .args(["-set_serial", "2"])
                .arg("-extfile")
                .arg(&ext)
                .arg("-out")
                .arg(&certs.server_cert),
            OPENSSL_TIMEOUT,
        );
        certs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_cert_verifies_against_ca_and_has_sans() {
        crate::require(&["openssl"]);
        let dir = tempfile::tempdir().unwrap();
        let c = TestCerts::generate(dir.path());
        let verify = run_checked(
            Command::new("openssl")
                .arg("verify")
                .arg("-CAfile")
                .arg(&c.ca_cert)
                .args(["-purpose", "sslserver"])
                .arg(&c.server_cert),
            OPENSSL_TIMEOUT,
        );
        assert!(String::from_utf8_lossy(&verify.stdout).contains(": OK"));
        let text = run_checked(
            Command::new("openssl")
                .args(["x509", "-noout", "-text", "-in"])
                .arg(&c.server_cert),
            OPENSSL_TIMEOUT,
        );
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("IP Address:127.0.0.1"), "{text}");
        assert!(text.contains("DNS:localhost"), "{text}");
        assert!(c.server_key.is_file() && c.ca_key.is_file());
    }
}

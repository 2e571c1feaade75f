//! Test support private to hoist-registry's integration tests: runs the
//! Debian `docker-registry` binary on a free loopback port with filesystem
//! storage in a temporary directory, optionally behind TLS (a CA and a
//! server certificate made with openssl) and htpasswd Basic auth.

#![allow(dead_code)]

pub mod mock;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// Panics (naming the packages) unless the registry binary and the tools
/// the TLS and auth set-ups run are installed.
pub fn have_registry() {
    hoist_testenv::require_file(REGISTRY_BIN, "the Debian package `docker-registry`");
    hoist_testenv::require(&["openssl", "htpasswd"]);
}

#[derive(Default)]
pub struct Config {
    pub tls: bool,
    pub htpasswd: Option<(String, String)>,
}

pub struct TestRegistry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Directory holding `ca.crt` (only with TLS): usable as a cert dir.
    pub ca_dir: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().unwrap().port()
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Makes a CA and a server certificate for 127.0.0.1 signed by it (a
/// self-signed leaf would be refused as "CA used as end entity").
fn make_certs(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(Command::new("openssl")
        .current_dir(dir)
        .args(["req", "-x509"])
        .args(ec)
        .args([
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=hoist test CA",
        ]));
    run(Command::new("openssl")
        .current_dir(dir)
        .args(["req"])
        .args(ec)
        .args([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]));
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new("openssl").current_dir(dir).args([
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]));
}

impl TestRegistry {
    pub fn start(cfg: Config) -> TestRegistry {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        let ca_dir = dir.path().join("certs");
        std::fs::create_dir_all(&storage).unwrap();
        std::fs::create_dir_all(&ca_dir).unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {addr}\n  secret: hoist-registry-tests\n",
            storage.display()
        );
        if cfg.tls {
            make_certs(&ca_dir);
            // Only the CA may sit in the cert dir: other files there would
            // be read as client certificates.
            for f in ["server.crt", "server.key"] {
                std::fs::rename(ca_dir.join(f), dir.path().join(f)).unwrap();
            }
            for f in ["ca.key", "server.csr", "ext.cnf", "ca.srl"] {
                let _ = std::fs::remove_file(ca_dir.join(f));
            }
            yaml += &format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("server.crt").display(),
                dir.path().join("server.key").display()
            );
        }
        if let Some((user, pass)) = &cfg.htpasswd {
            let line = run(Command::new("htpasswd").args(["-Bbn", user, pass]));
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, line).unwrap();
            yaml += &format!(
                "auth:\n  htpasswd:\n    realm: hoist-test\n    path: {}\n",
                path.display()
            );
        }
        let config = dir.path().join("config.yml");
        std::fs::write(&config, yaml).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut reg = TestRegistry {
            addr,
            ca_dir,
            child,
            _dir: dir,
        };
        reg.wait_ready();
        reg
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited early ({status}): {}", self.log());
            }
            if std::net::TcpStream::connect(&self.addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {} within 20s: {}",
            self.addr,
            self.log()
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use hoist_testenv::random_bytes;

//! A static web server for tests that fetch over HTTP (`kube play URL`,
//! `ADD URL`): busybox's httpd serving a directory on a free 127.0.0.1
//! port. It sends Last-Modified, as most servers do.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server; stopped when dropped.
pub struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    /// Serves `dir`; returns once the server accepts connections.
    pub fn serve(dir: &Path) -> HttpServer {
        crate::require_file(
            crate::image::BUSYBOX_PATH,
            "the Debian package `busybox-static`",
        );
        let port = crate::free_port();
        let child = Command::new(crate::image::BUSYBOX_PATH)
            .args(["httpd", "-f", "-p", &format!("127.0.0.1:{port}"), "-h"])
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting busybox httpd: {e}"));
        let server = HttpServer { child, port };
        assert!(
            crate::wait_for_tcp(&format!("127.0.0.1:{port}"), Duration::from_secs(60)),
            "busybox httpd did not listen on 127.0.0.1:{port}"
        );
        server
    }

    /// `http://127.0.0.1:PORT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

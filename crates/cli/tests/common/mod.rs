//! Shared set-up for the integration tests: a real registry, a hoist with
//! its own root that trusts it, and the tools the tests need.

#![allow(dead_code)]

pub mod criu;
pub mod podman;

use hoist_testenv::{require_root_and, Hoist, Registry};

pub const TOOLS: &[&str] = &[
    "docker-registry",
    "skopeo",
    "busybox",
    "openssl",
    "htpasswd",
];

/// A hoist whose registries.conf marks `reg` insecure (plain HTTP) and
/// searches it for short names.
pub fn hoist_for(reg: &Registry) -> Hoist {
    let hoist = Hoist::new(env!("CARGO_BIN_EXE_hoist"));
    hoist.registries_conf(&format!(
        "unqualified-search-registries = [\"{}\"]\n{}",
        reg.addr(),
        reg.registries_conf_entry()
    ));
    hoist
}

/// A plain registry and a hoist for it. Panics, naming what is missing,
/// when the machine lacks root or the tools (scripts/test.sh installs them).
pub fn setup() -> (Registry, Hoist) {
    require_root_and(TOOLS);
    let reg = Registry::start();
    let hoist = hoist_for(&reg);
    (reg, hoist)
}

/// [`setup`] plus the busybox test image pushed to the registry and pulled,
/// for tests that run containers; returns the image's name.
pub fn setup_with_busybox() -> (Registry, Hoist, String) {
    let (reg, hoist) = setup();
    hoist_testenv::ImageBuilder::single_layer().push(&reg, "busybox:1");
    let image = reg.reference("busybox:1");
    hoist.run(&["pull", &image]).ok();
    (reg, hoist, image)
}

/// The `images --format json` rows.
pub fn images(hoist: &Hoist) -> Vec<serde_json::Value> {
    let out = hoist.run(&["images", "--format", "json"]).ok();
    serde_json::from_str::<Vec<serde_json::Value>>(&out.stdout)
        .expect("images --format json is a JSON array")
}

/// `image inspect` of one image.
pub fn inspect(hoist: &Hoist, name: &str) -> serde_json::Value {
    let out = hoist.run(&["image", "inspect", name]).ok();
    let mut v: Vec<serde_json::Value> =
        serde_json::from_str(&out.stdout).expect("inspect prints a JSON array");
    v.remove(0)
}

/// The lower directories of an image, top layer first.
pub fn lower_dirs(hoist: &Hoist, name: &str) -> Vec<std::path::PathBuf> {
    inspect(hoist, name)["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .expect("LowerDir is a string")
        .split(':')
        .map(std::path::PathBuf::from)
        .collect()
}

/// Asserts `system check` finds nothing wrong.
pub fn assert_store_clean(hoist: &Hoist) {
    let out = hoist.run(&["system", "check"]);
    assert!(out.success(), "system check found problems: {out:?}");
}

/// A hoist with its own root, for tests that need no registry; panics
/// without root.
pub fn local_hoist() -> Hoist {
    hoist_testenv::require_root();
    Hoist::new(env!("CARGO_BIN_EXE_hoist"))
}

/// The `Error: ...` line of a command's standard error (other lines, such
/// as warnings, are not what the tests look at).
pub fn error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or(stderr.trim())
}

/// A tmpfs mounted for a test (a small filesystem to fill up); unmounted
/// when dropped.
pub struct Tmpfs(std::path::PathBuf);

/// Mounts a tmpfs of `size` (`512k`, `7m`) on the directory `dir`.
pub fn mount_tmpfs(dir: &std::path::Path, size: &str) -> Tmpfs {
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cannot mount a tmpfs on {}",
        dir.display()
    );
    Tmpfs(dir.to_path_buf())
}

impl Tmpfs {
    /// Takes every free byte with a file named `filler`, so that the next
    /// write of any size fails (how small an archive compresses to is
    /// then of no matter).
    #[allow(dead_code)] // not every test binary fills its tmpfs
    pub fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = [0xa5u8; 4096];
        loop {
            match filler.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling {}: {e}", self.0.display()),
            }
        }
        // A partial block may still fit.
        while filler.write(&[0xa5]).is_ok_and(|n| n == 1) {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// An HTTP/1.0 GET of `path` on 127.0.0.1:`port`: the body of the answer
/// (whatever its status), or `None` (no connection, no answer within 5 s).
pub fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

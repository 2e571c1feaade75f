//! Runs the built `hoist` binary against a private, throw-away root.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use tempfile::TempDir;

use crate::registry::Registry;
use crate::util::{describe, run_with_timeout_stdin};

/// Default limit for one `hoist` invocation; a hung command fails the test instead of CI.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// What one `hoist` invocation did.
#[derive(Clone)]
pub struct Output {
    /// The exit status.
    pub status: ExitStatus,
    /// Standard output, lossily decoded as UTF-8.
    pub stdout: String,
    /// Standard error, lossily decoded as UTF-8.
    pub stderr: String,
    /// Standard output exactly as written (for binary output such as `save` to stdout).
    pub stdout_bytes: Vec<u8>,
    /// The command line, for messages.
    pub command: String,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

impl Output {
    /// The exit code (None when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// True on exit code 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Asserts exit code 0, printing the command, stdout and stderr otherwise.
    #[track_caller]
    pub fn ok(self) -> Output {
        assert!(self.status.success(), "expected success: {self:?}");
        self
    }

    /// Asserts the exit code is `code`, printing the command, stdout and stderr otherwise.
    #[track_caller]
    pub fn fails_with(self, code: i32) -> Output {
        assert_eq!(
            self.status.code(),
            Some(code),
            "unexpected exit code: {self:?}"
        );
        self
    }
}

/// A `hoist` binary bound to a temporary `--root`, auth file and registries.conf.
///
/// Layout of the temp dir: `root/` (passed as `--root`), `home/` (`HOME`,
/// `XDG_CONFIG_HOME=home/.config`), `run/` (`XDG_RUNTIME_DIR`), `tmp/` (`TMPDIR`),
/// `auth.json` (`REGISTRY_AUTH_FILE`, not created until hoist writes it) and
/// `registries.conf` (`CONTAINERS_REGISTRIES_CONF`, initially only
/// `unqualified-search-registries = []` so nothing ever reaches a public registry).
pub struct Hoist {
    bin: PathBuf,
    dir: Option<TempDir>,
    base: PathBuf,
    global_args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    timeout: Duration,
}

impl fmt::Debug for Hoist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hoist")
            .field("bin", &self.bin)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Hoist {
    /// Prepares a fresh environment for `bin`; call as
    /// `Hoist::new(env!("CARGO_BIN_EXE_hoist"))` from the cli crate's tests.
    pub fn new(bin: impl AsRef<Path>) -> Hoist {
        let bin = bin.as_ref().to_path_buf();
        assert!(
            bin.is_file(),
            "hoist binary {} does not exist; pass env!(\"CARGO_BIN_EXE_hoist\")",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("hoist-test-")
            .tempdir()
            .expect("cannot create a temp dir for hoist");
        let base = dir.path().to_path_buf();
        for sub in ["root", "home/.config", "run", "tmp"] {
            let p = base.join(sub);
            std::fs::create_dir_all(&p)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        }
        set_mode(&base.join("run"), 0o700);
        let h = Hoist {
            bin,
            dir: Some(dir),
            global_args: Vec::new(),
            env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            base,
        };
        h.registries_conf("unqualified-search-registries = []\n");
        h
    }

    /// Creates a bridge network named `name` with a subnet and a bridge of
    /// its own, for a test that reaches a container by its address (a
    /// published port). Every test root's default network is `podman` on
    /// the bridge podman0 with 10.88.0.0/16, each root handing out the
    /// same addresses: a container of a test running beside it may answer
    /// for the same IP.
    pub fn private_network(&self, name: &str) -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // Test binaries run one after another; within one, the counter
        // tells the networks apart.
        let pid = std::process::id();
        let subnet = format!("10.{}.{}.0/24", 100 + pid % 100, n % 256);
        let bridge = format!("ht{}n{n}", pid % 100_000);
        self.run(&[
            "network",
            "create",
            "--subnet",
            &subnet,
            "--interface-name",
            &bridge,
            name,
        ])
        .ok();
        name.to_string()
    }

    /// The temp dir holding everything below.
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    /// The directory passed as `--root`.
    pub fn root(&self) -> PathBuf {
        self.base.join("root")
    }

    /// `REGISTRY_AUTH_FILE` (may not exist yet).
    pub fn auth_file(&self) -> PathBuf {
        self.base.join("auth.json")
    }

    /// `CONTAINERS_REGISTRIES_CONF`.
    pub fn registries_conf_path(&self) -> PathBuf {
        self.base.join("registries.conf")
    }

    /// Replaces the registries.conf hoist reads with `text`.
    pub fn registries_conf(&self, text: &str) -> &Hoist {
        let p = self.registries_conf_path();
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        self
    }

    /// Writes a registries.conf that searches `registries` for short names (in order)
    /// and contains each one's [`Registry::registries_conf_entry`] (plain ones insecure).
    pub fn registries_conf_for(&self, registries: &[&Registry]) -> &Hoist {
        let search: Vec<String> = registries
            .iter()
            .map(|r| format!("\"{}\"", r.addr()))
            .collect();
        let mut text = format!("unqualified-search-registries = [{}]\n", search.join(", "));
        for r in registries {
            text.push('\n');
            text.push_str(&r.registries_conf_entry());
        }
        self.registries_conf(&text)
    }

    /// Sets an environment variable for every later run.
    pub fn env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Hoist {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable for every later run.
    pub fn env_remove(&mut self, key: impl Into<OsString>) -> &mut Hoist {
        self.env.push((key.into(), None));
        self
    }

    /// Adds global options placed after `--root DIR` and before the subcommand.
    pub fn global_args(&mut self, args: &[&str]) -> &mut Hoist {
        self.global_args.extend(args.iter().map(OsString::from));
        self
    }

    /// Changes the per-invocation timeout (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Hoist {
        self.timeout = timeout;
        self
    }

    /// A ready-to-run `hoist --root DIR [global args] <args>` command with the test
    /// environment, for callers that need to spawn it themselves.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root")
            .arg(self.root())
            .args(&self.global_args)
            .args(args)
            .env("REGISTRY_AUTH_FILE", self.auth_file())
            .env("CONTAINERS_REGISTRIES_CONF", self.registries_conf_path())
            .env("HOME", self.base.join("home"))
            .env("XDG_CONFIG_HOME", self.base.join("home/.config"))
            .env("XDG_RUNTIME_DIR", self.base.join("run"))
            .env("TMPDIR", self.base.join("tmp"))
            // Credentials must come only from the test's auth file.
            .env_remove("DOCKER_CONFIG");
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }

    /// `hoist args` with a pseudo-terminal as its stdin, stdout and stderr:
    /// `script` (Debian package bsdutils) makes the pty and relays it to the
    /// returned command's own pipes, so a test can type into it and read
    /// what the terminal shows.
    pub fn command_on_pty(&self, args: &[&str]) -> Command {
        self.command_on_pty_after("", args)
    }

    /// [`Hoist::command_on_pty`], with the shell command `prelude` (say,
    /// `stty cols 40`) run on the pty first.
    pub fn command_on_pty_after(&self, prelude: &str, args: &[&str]) -> Command {
        let inner = self.command(args);
        let quote =
            |s: &std::ffi::OsStr| format!("'{}'", s.to_str().unwrap().replace('\'', "'\\''"));
        let mut line = format!("{prelude}\nexec {}", quote(inner.get_program()));
        for arg in inner.get_args() {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        let mut cmd = Command::new("script");
        // -e: the exit code of hoist; -f: flush at once; -c: run the line.
        cmd.args(["-qefc", &line, "/dev/null"]);
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }

    /// Runs `hoist` with `args` and stdin closed.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_inner(args, None)
    }

    /// Runs `hoist` with `args`, feeding `stdin`.
    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.run_inner(args, Some(stdin))
    }

    fn run_inner(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = self.command(args);
        let command = describe(&cmd);
        let out = run_with_timeout_stdin(&mut cmd, stdin, self.timeout);
        Output {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout_bytes: out.stdout,
            command,
        }
    }

    /// Lazily unmounts everything mounted below the temp dir, then deletes it.
    /// Runs on drop; calling it twice is harmless.
    pub fn cleanup(&mut self) {
        let Some(dir) = self.dir.take() else {
            return;
        };
        // Monitors still running (a failed test, or one that left its
        // containers) would keep the mounts busy and outlive the root they
        // belong to. Killed, they tear down nothing: their published ports'
        // DNAT rules would stay and send a later test's connections to a
        // port that happens to be the same into a dead container. `container
        // cleanup` releases what they held, networks included.
        if crate::leftovers::kill_processes_of_root(&self.root()) {
            self.quietly(&["container", "cleanup", "--all"]);
        }
        // A pod's cgroup is hoist's own, outside the root: pods a test left
        // go the way a user removes them, or their cgroups stay for good.
        if self.has_pods() {
            self.quietly(&["pod", "rm", "--all", "--force", "--time", "0"]);
        }
        unmount_below(dir.path());
        let path = dir.path().to_path_buf();
        if let Err(e) = dir.close() {
            eprintln!(
                "hoist-testenv: could not remove {}: {e} (left behind)",
                path.display()
            );
        }
    }
}

impl Hoist {
    /// Runs hoist with `args`, its output and its result ignored.
    fn quietly(&self, args: &[&str]) {
        let mut cmd = self.command(args);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let _ = crate::util::run_with_timeout(&mut cmd, Duration::from_secs(60));
    }

    /// Whether the root holds any pod (`pods/` has more than its names).
    fn has_pods(&self) -> bool {
        std::fs::read_dir(self.root().join("pods")).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name() != "names" && e.file_type().is_ok_and(|t| t.is_dir()))
        })
    }
}

impl Drop for Hoist {
    fn drop(&mut self) {
        self.cleanup();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

/// Mount points at or below `dir`, deepest first, read from /proc/self/mountinfo.
pub fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mountinfo(m)))
        .filter(|m| m.starts_with(&dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

/// Detaches every mount at or below `dir` (`umount --lazy --recursive`, deepest first)
/// so that a test that died mid-run still leaves a deletable tree.
pub fn unmount_below(dir: &Path) {
    // A lazy unmount detaches whole subtrees; loop until nothing is left (bounded, in
    // case something keeps remounting).
    for _ in 0..5 {
        let mounts = mounts_below(dir);
        if mounts.is_empty() {
            return;
        }
        for m in mounts {
            let _ = Command::new("umount")
                .arg("--lazy")
                .arg("--recursive")
                .arg(&m)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
    let left = mounts_below(dir);
    if !left.is_empty() {
        eprintln!("hoist-testenv: still mounted after cleanup: {left:?}");
    }
}

/// Decodes the octal escapes (`\040` for space, ...) the kernel uses in mountinfo paths.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in "hoist" that prints its arguments and the environment it got.
    fn fake_bin(dir: &Path) -> PathBuf {
        let p = dir.join("fake-hoist");
        std::fs::write(
            &p,
            "#!/bin/sh\necho \"ARGS $*\"\necho \"AUTH $REGISTRY_AUTH_FILE\"\n\
             echo \"CONF $CONTAINERS_REGISTRIES_CONF\"\necho \"EXTRA $EXTRA\"\n\
             cat >&2\nexit ${CODE:-0}\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn run_passes_root_args_and_env() {
        let d = tempfile::tempdir().unwrap();
        let mut h = Hoist::new(fake_bin(d.path()));
        h.env("EXTRA", "x").global_args(&["--log-level", "debug"]);
        let out = h.run_stdin(&["pull", "img"], b"to stderr").ok();
        let root = h.root();
        assert!(
            out.stdout.contains(&format!(
                "ARGS --root {} --log-level debug pull img",
                root.display()
            )),
            "{out:?}"
        );
        assert!(out
            .stdout
            .contains(&format!("AUTH {}", h.auth_file().display())));
        assert!(out
            .stdout
            .contains(&format!("CONF {}", h.registries_conf_path().display())));
        assert!(out.stdout.contains("EXTRA x"));
        assert_eq!(out.stderr, "to stderr");
        let conf = std::fs::read_to_string(h.registries_conf_path()).unwrap();
        assert_eq!(conf, "unqualified-search-registries = []\n");
        h.registries_conf("x = 1\n");
        assert_eq!(
            std::fs::read_to_string(h.registries_conf_path()).unwrap(),
            "x = 1\n"
        );
    }

    #[test]
    fn fails_with_checks_code() {
        let d = tempfile::tempdir().unwrap();
        let mut h = Hoist::new(fake_bin(d.path()));
        h.env("CODE", "125");
        let out = h.run(&["x"]).fails_with(125);
        assert_eq!(out.code(), Some(125));
        assert!(!out.success());
    }

    #[test]
    #[should_panic(expected = "expected success")]
    fn ok_panics_on_failure() {
        let d = tempfile::tempdir().unwrap();
        let mut h = Hoist::new(fake_bin(d.path()));
        h.env("CODE", "1");
        h.run(&["x"]).ok();
    }

    #[test]
    fn unescape_handles_octal() {
        assert_eq!(unescape_mountinfo("/a\\040b\\134c"), "/a b\\c");
        assert_eq!(unescape_mountinfo("/plain\\"), "/plain\\");
    }

    #[test]
    fn cleanup_unmounts_and_removes() {
        crate::require_root();
        let d = tempfile::tempdir().unwrap();
        let mut h = Hoist::new(fake_bin(d.path()));
        let mnt = h.root().join("overlay/x/merged");
        std::fs::create_dir_all(&mnt).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "hoist-testenv", mnt.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(st.success());
        let nested = mnt.join("nested");
        std::fs::create_dir(&nested).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "hoist-testenv", nested.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(st.success());
        let base = h.base_dir().to_path_buf();
        assert_eq!(mounts_below(&base).len(), 2);
        h.cleanup();
        assert!(mounts_below(&base).is_empty());
        assert!(!base.exists());
    }
}

//! A real registry: Debian's `docker-registry` (distribution 2.x) on 127.0.0.1.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::certs::TestCerts;
use crate::image::{media, skopeo_command};
use crate::util::{free_port, run_checked, run_with_timeout};

/// Debian's registry binary (package docker-registry).
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
const BIND_ATTEMPTS: usize = 5;
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// A running registry process with its own storage, killed and deleted on drop.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    addr: String,
    dir: Option<TempDir>,
    certs: Option<TestCerts>,
    creds: Option<(String, String)>,
    cert_dir: Option<PathBuf>,
    log_path: PathBuf,
}

impl Registry {
    /// A plain-HTTP registry without authentication, with deletes enabled.
    pub fn start() -> Registry {
        Registry::launch(None)
    }

    /// An HTTPS registry (certificate from a fresh test CA, see [`ca_cert_path`](Self::ca_cert_path))
    /// requiring HTTP Basic auth with `user`/`pass` (bcrypt htpasswd).
    pub fn start_tls_auth(user: &str, pass: &str) -> Registry {
        Registry::launch(Some((user, pass)))
    }

    fn launch(secure: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("hoist-registry-")
            .tempdir()
            .expect("cannot create a temp dir for the registry");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", storage.display()));

        let (certs, htpasswd) = match secure {
            Some((user, pass)) => {
                let certs = TestCerts::generate(&dir.path().join("certs"));
                let htpasswd = dir.path().join("htpasswd");
                write_htpasswd(&htpasswd, user, pass);
                (Some(certs), Some(htpasswd))
            }
            None => (None, None),
        };

        let mut last_log = String::new();
        for attempt in 1..=BIND_ATTEMPTS {
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                config_yaml(&addr, &storage, certs.as_ref(), htpasswd.as_deref()),
            )
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
            let log_path = dir.path().join(format!("registry-{attempt}.log"));
            let mut child = spawn_registry(&config, &log_path);

            match wait_ready(&mut child, &addr, certs.as_ref()) {
                Ok(()) => {
                    let mut reg = Registry {
                        child,
                        addr,
                        dir: None,
                        certs,
                        creds: secure.map(|(u, p)| (u.to_string(), p.to_string())),
                        cert_dir: None,
                        log_path,
                    };
                    if let Some(c) = &reg.certs {
                        reg.cert_dir = Some(make_certs_d(dir.path(), &reg.addr, &c.ca_cert));
                    }
                    reg.dir = Some(dir);
                    return reg;
                }
                Err(reason) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    // Another process may have taken the port between free_port() and bind.
                    if last_log.contains("address already in use") && attempt < BIND_ATTEMPTS {
                        continue;
                    }
                    let kept = dir.keep();
                    panic!(
                        "docker-registry did not start on {addr}: {reason}\n\
                         config and log kept in {} (log: {})\n--- registry log ---\n{last_log}",
                        kept.display(),
                        log_path.display()
                    );
                }
            }
        }
        unreachable!("the last bind attempt panics: {last_log}")
    }

    /// `127.0.0.1:PORT`.
    /// The registry's process id (tests stop it with SIGSTOP/SIGCONT to
    /// make it hang, or kill it to make it vanish).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the registry now (it stays dead: the test sees a registry
    /// that disappeared).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// `ADDR/reference`, e.g. `127.0.0.1:5000/busybox:1`.
    pub fn reference(&self, reference: &str) -> String {
        format!("{}/{}", self.addr, reference.trim_start_matches('/'))
    }

    /// True for [`start_tls_auth`](Self::start_tls_auth) registries.
    pub fn is_tls(&self) -> bool {
        self.certs.is_some()
    }

    /// The user and password the registry accepts, if it requires auth.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The CA certificate that signed the server certificate (TLS registries only).
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.certs.as_ref().map(|c| c.ca_cert.as_path())
    }

    /// All generated certificate files (TLS registries only).
    pub fn certs(&self) -> Option<&TestCerts> {
        self.certs.as_ref()
    }

    /// A directory laid out like `/etc/containers/certs.d`: `<dir>/127.0.0.1:PORT/ca.crt`
    /// (TLS registries only). Pass it as `--cert-dir`-style roots to podman-like tools.
    pub fn cert_dir(&self) -> Option<&Path> {
        self.cert_dir.as_deref()
    }

    /// `<cert_dir>/127.0.0.1:PORT`, the per-host directory skopeo's `--*-cert-dir` wants.
    pub fn host_cert_dir(&self) -> Option<PathBuf> {
        self.cert_dir.as_ref().map(|d| d.join(&self.addr))
    }

    /// The file receiving the registry's stdout and stderr (removed on drop).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Where the registry keeps its blobs and repositories.
    pub fn storage_dir(&self) -> PathBuf {
        self.work_dir().join("storage")
    }

    /// A `registries.conf` `[[registry]]` block for this registry: marked insecure for
    /// the plain registry, secure for the TLS one.
    pub fn registries_conf_entry(&self) -> String {
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = {}\n",
            self.addr,
            !self.is_tls()
        )
    }

    /// The arguments `skopeo copy` needs to write to this registry.
    pub fn skopeo_dest_args(&self) -> Vec<String> {
        self.skopeo_args("dest")
    }

    /// The arguments `skopeo copy` needs to read from this registry.
    pub fn skopeo_src_args(&self) -> Vec<String> {
        self.skopeo_args("src")
    }

    fn skopeo_args(&self, side: &str) -> Vec<String> {
        let mut args = Vec::new();
        match self.host_cert_dir() {
            Some(d) => {
                args.push(format!("--{side}-tls-verify=true"));
                args.push(format!("--{side}-cert-dir={}", d.display()));
            }
            None => args.push(format!("--{side}-tls-verify=false")),
        }
        if let Some((u, p)) = self.credentials() {
            args.push(format!("--{side}-creds={u}:{p}"));
        }
        args
    }

    /// `skopeo inspect docker://ADDR/<reference>`: the image summary
    /// (`Digest`, `Layers`, `LayersData`, `Architecture`, ...).
    pub fn inspect(&self, reference: &str) -> Value {
        self.skopeo_inspect(reference, &[])
    }

    /// `skopeo inspect --raw`: the manifest (or index) exactly as the registry serves it.
    pub fn inspect_raw(&self, reference: &str) -> Value {
        self.skopeo_inspect(reference, &["--raw"])
    }

    /// `skopeo inspect --config`: the image config.
    pub fn inspect_config(&self, reference: &str) -> Value {
        self.skopeo_inspect(reference, &["--config"])
    }

    /// Whether `skopeo inspect --raw` can fetch `reference` (false on any failure).
    pub fn has_manifest(&self, reference: &str) -> bool {
        let work = tempfile::tempdir().expect("cannot create a temp dir for skopeo");
        let mut cmd = skopeo_command(work.path());
        cmd.args(["inspect", "--raw"])
            .args(self.skopeo_inspect_args())
            .arg(format!("docker://{}", self.reference(reference)));
        run_with_timeout(&mut cmd, TOOL_TIMEOUT).status.success()
    }

    fn skopeo_inspect_args(&self) -> Vec<String> {
        // `skopeo inspect` spells the flags without the src-/dest- prefix.
        self.skopeo_src_args()
            .into_iter()
            .map(|a| a.replacen("--src-", "--", 1))
            .collect()
    }

    fn skopeo_inspect(&self, reference: &str, extra: &[&str]) -> Value {
        let work = tempfile::tempdir().expect("cannot create a temp dir for skopeo");
        let mut cmd = skopeo_command(work.path());
        cmd.arg("inspect")
            .args(extra)
            .args(self.skopeo_inspect_args())
            .arg(format!("docker://{}", self.reference(reference)));
        let out = run_checked(&mut cmd, TOOL_TIMEOUT);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "skopeo inspect of {reference} printed invalid JSON ({e}):\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// The requests whose user agent starts with `agent` (e.g. `hoist/`),
    /// oldest first, as `"METHOD PATH STATUS"`, from the registry's access
    /// log (one line per completed request, in the combined log format).
    pub fn requests_from(&self, agent: &str) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                // ... "GET /v2/ HTTP/1.1" 200 2 "referer" "agent"
                let (_, rest) = line.split_once(" \"")?;
                let (request, rest) = rest.split_once('"')?;
                let (method, rest_req) = request.split_once(' ')?;
                let (path, _) = rest_req.rsplit_once(' ')?;
                let status = rest.split_whitespace().next()?;
                let ua = rest.trim_end().strip_suffix('"')?.rsplit_once('"')?.1;
                ua.starts_with(agent)
                    .then(|| format!("{method} {path} {status}"))
            })
            .collect()
    }

    /// `curl` a path (e.g. `/v2/_catalog`, `/v2/busybox/manifests/1`) of this registry
    /// with its CA and credentials, accepting every manifest media type; returns
    /// `(http status, body)`.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut cmd = curl_command(self.certs.as_ref());
        if let Some((u, p)) = self.credentials() {
            cmd.arg("--user").arg(format!("{u}:{p}"));
        }
        cmd.arg("-H").arg(format!(
            "Accept: {}, {}, {}, {}",
            media::OCI_MANIFEST,
            media::OCI_INDEX,
            media::DOCKER_MANIFEST,
            media::DOCKER_MANIFEST_LIST
        ));
        cmd.args(["-w", "\n%{http_code}"])
            .arg(format!("{}{}", self.url(), path));
        let out = run_checked(&mut cmd, TOOL_TIMEOUT);
        let mut body = out.stdout;
        let nl = body
            .iter()
            .rposition(|b| *b == b'\n')
            .expect("curl -w output ends with the status line");
        let code = String::from_utf8_lossy(&body[nl + 1..])
            .trim()
            .parse()
            .unwrap_or(0);
        body.truncate(nl);
        (code, body)
    }

    fn work_dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("registry dir is set after start")
            .path()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // TempDir's own drop removes config, storage, certs and logs.
    }
}

/// A registry started by [`Registry::spawn_detached`]. It is not tied to this process:
/// it keeps running after the caller exits, until [`Registry::stop_detached`] (or
/// `hoist-testenv registry-stop --dir DIR`) stops it. Dropping this value does nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedRegistry {
    /// The registry's process id (also in `<dir>/registry.pid`).
    pub pid: u32,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The absolute directory holding config.yml, storage/, registry.log and the pid file.
    pub dir: PathBuf,
}

impl DetachedRegistry {
    /// `ADDR/reference`, e.g. `127.0.0.1:5000/busybox:1`.
    pub fn reference(&self, reference: &str) -> String {
        format!("{}/{}", self.addr, reference.trim_start_matches('/'))
    }

    /// The file receiving the registry's stdout and stderr.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(DETACHED_LOG)
    }
}

/// Name of the pid file [`Registry::spawn_detached`] writes into its directory.
pub const PID_FILE: &str = "registry.pid";
const DETACHED_CONFIG: &str = "config.yml";
const DETACHED_LOG: &str = "registry.log";
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

impl Registry {
    /// Starts a plain-HTTP registry without authentication on `127.0.0.1:port` that
    /// outlives this process (for scripts and benchmarks; tests want [`start`](Self::start)).
    ///
    /// `dir` (created if needed) receives `config.yml`, `storage/`, `registry.log` and
    /// [`PID_FILE`]. The process runs in its own process group so a Ctrl-C aimed at the
    /// calling script does not kill it mid-request; stop it with
    /// [`stop_detached`](Self::stop_detached). Returns once the registry answers
    /// `GET /v2/`; panics with its log if it does not come up (port taken, bad dir) or if
    /// a registry started from `dir` is still running.
    pub fn spawn_detached(port: u16, dir: &Path) -> DetachedRegistry {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create registry dir {}: {e}", dir.display()));
        let dir = dir
            .canonicalize()
            .unwrap_or_else(|e| panic!("cannot resolve registry dir {}: {e}", dir.display()));
        if let Some(pid) = running_detached_pid(&dir) {
            panic!(
                "a registry started from {} is still running (pid {pid}); stop it first with \
                 `hoist-testenv registry-stop --dir {}`",
                dir.display(),
                dir.display()
            );
        }
        let storage = dir.join("storage");
        std::fs::create_dir_all(&storage)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", storage.display()));
        let addr = format!("127.0.0.1:{port}");
        let config = dir.join(DETACHED_CONFIG);
        std::fs::write(&config, config_yaml(&addr, &storage, None, None))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let log_path = dir.join(DETACHED_LOG);
        let mut child = spawn_registry_with(&config, &log_path, true);
        if let Err(reason) = wait_ready(&mut child, &addr, None) {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!(
                "docker-registry did not start on {addr}: {reason}\n\
                 (is port {port} taken? config and log are in {})\n--- registry log ---\n{log}",
                dir.display()
            );
        }
        let pid = child.id();
        // Written atomically so a reader never sees a half-written pid.
        let pid_path = dir.join(PID_FILE);
        hoist_fsutil::write_file(&pid_path, format!("{pid}\n").as_bytes(), 0o644)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", pid_path.display()));
        // Dropping the Child neither kills nor waits: the registry stays up, and once this
        // process exits it is reparented to init, which reaps it when it ends.
        drop(child);
        DetachedRegistry { pid, addr, dir }
    }

    /// Stops the registry [`spawn_detached`](Self::spawn_detached) started from `dir`:
    /// SIGTERM, then SIGKILL if it is still there after 10 s. Removes the pid file; the
    /// storage stays. Returns the pid it stopped, or `None` when no registry from `dir`
    /// was running (no pid file, or the pid now belongs to another process, which is
    /// left alone).
    pub fn stop_detached(dir: &Path) -> Option<u32> {
        let dir = dir.canonicalize().ok()?;
        let pid = running_detached_pid(&dir);
        if let Some(pid) = pid {
            signal(pid, "TERM");
            let deadline = Instant::now() + STOP_TIMEOUT;
            while process_alive(pid) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            if process_alive(pid) {
                signal(pid, "KILL");
                while process_alive(pid) && Instant::now() < deadline + STOP_TIMEOUT {
                    thread::sleep(Duration::from_millis(20));
                }
            }
            assert!(
                !process_alive(pid),
                "docker-registry (pid {pid}) from {} survived SIGKILL",
                dir.display()
            );
        }
        let pid_path = dir.join(PID_FILE);
        if let Err(e) = std::fs::remove_file(&pid_path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                panic!("cannot remove {}: {e}", pid_path.display());
            }
        }
        pid
    }
}

/// The pid in `<dir>/registry.pid` if that process is alive and is a docker-registry
/// serving `<dir>/config.yml` (so a recycled pid is never signalled).
fn running_detached_pid(dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(dir.join(PID_FILE)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    if !process_alive(pid) {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let config = dir.join(DETACHED_CONFIG);
    let is_ours = args
        .first()
        .is_some_and(|a| a.ends_with(b"docker-registry"))
        && args
            .iter()
            .any(|a| *a == config.as_os_str().as_encoded_bytes());
    is_ours.then_some(pid)
}

/// Whether any thread of `pid` still runs (a zombie has exited; only its
/// parent's wait is missing, which happens when the caller spawned it
/// in-process). The leader alone is not enough: when a multi-threaded
/// program (docker-registry is Go) exits, its main thread can be a zombie
/// while the others still tear down and its listening socket is still open.
fn process_alive(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|t| {
        std::fs::read_to_string(t.path().join("stat")).is_ok_and(|stat| running_state(&stat))
    })
}

/// Whether a `/proc/.../stat` line shows a task that has not exited.
fn running_state(stat: &str) -> bool {
    // The state follows the parenthesised command name, which may contain spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
}

/// Sends SIG`name` to `pid` with the `kill` utility (no unsafe libc call needed).
fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn write_htpasswd(path: &Path, user: &str, pass: &str) {
    let out = run_checked(
        Command::new("htpasswd").args(["-Bbn", user, pass]),
        TOOL_TIMEOUT,
    );
    std::fs::write(path, &out.stdout)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn config_yaml(
    addr: &str,
    storage: &Path,
    certs: Option<&TestCerts>,
    htpasswd: Option<&Path>,
) -> String {
    // JSON strings are valid YAML scalars, which makes quoting of paths safe.
    let q = |p: &Path| Value::from(p.to_string_lossy().into_owned()).to_string();
    let mut y = format!(
        "version: 0.1\n\
         log:\n  level: warn\n  formatter: text\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  \
         maintenance:\n    uploadpurging:\n      enabled: false\n\
         http:\n  addr: {addr}\n  secret: hoist-testenv-not-secret\n",
        q(storage)
    );
    if let Some(c) = certs {
        y.push_str(&format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            q(&c.server_cert),
            q(&c.server_key)
        ));
    }
    if let Some(h) = htpasswd {
        y.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: hoist-testenv\n    path: {}\n",
            q(h)
        ));
    }
    y
}

fn spawn_registry(config: &Path, log_path: &Path) -> Child {
    spawn_registry_with(config, log_path, false)
}

/// Starts `docker-registry serve config`; `own_group` puts it into a new process group
/// so terminal signals meant for the caller's group do not reach it.
fn spawn_registry_with(config: &Path, log_path: &Path, own_group: bool) -> Child {
    let log = File::create(log_path)
        .unwrap_or_else(|e| panic!("cannot create registry log {}: {e}", log_path.display()));
    let log2 = log
        .try_clone()
        .unwrap_or_else(|e| panic!("cannot duplicate registry log handle: {e}"));
    let mut cmd = Command::new(REGISTRY_BIN);
    cmd.arg("serve")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    if own_group {
        cmd.process_group(0);
    }
    // distribution maps REGISTRY_* variables onto config keys; a test environment that
    // sets e.g. REGISTRY_AUTH_FILE for hoist must not reconfigure the server.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("REGISTRY_") {
            cmd.env_remove(k);
        }
    }
    cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot run {REGISTRY_BIN}: {e}; install docker-registry (scripts/install-deps.sh)")
    })
}

/// A quiet curl that trusts the test CA (when given) and never uses a proxy.
fn curl_command(certs: Option<&TestCerts>) -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "5", "--noproxy", "*"]);
    if let Some(c) = certs {
        cmd.arg("--cacert").arg(&c.ca_cert);
    }
    cmd
}

/// Polls `GET /v2/` until the registry answers with any HTTP status (401 counts: the
/// auth registry is up), or fails if the process exits or the timeout passes.
fn wait_ready(child: &mut Child, addr: &str, certs: Option<&TestCerts>) -> Result<(), String> {
    let scheme = if certs.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{addr}/v2/");
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the process exited early ({status})"));
        }
        let mut cmd = curl_command(certs);
        cmd.args(["-o", "/dev/null", "-w", "%{http_code}"])
            .arg(&url);
        let out = run_with_timeout(&mut cmd, Duration::from_secs(10));
        let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if code != "000" && !code.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let last = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "GET {url} got no answer within {STARTUP_TIMEOUT:?} (last curl error: {})\n{}",
                last.trim(),
                stuck_process_report(child.id())
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// What a process that neither answered nor exited was doing: each thread's
/// state and the system call it is in (number first, "running" if none),
/// and its cgroups with the v1 freezer's state (a test that froze the wrong
/// cgroup would stop it without a trace in its log).
fn stuck_process_report(pid: u32) -> String {
    let read = |path: String| std::fs::read_to_string(path).unwrap_or_else(|e| format!("({e})"));
    let mut report = format!("pid {pid} threads (state/syscall):");
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let stat = read(format!("{}/stat", task.path().display()));
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("?")
                .to_string();
            let syscall = read(format!("{}/syscall", task.path().display()));
            let call = syscall.split_whitespace().next().unwrap_or("?").to_string();
            report.push_str(&format!(" {state}/{call}"));
        }
    }
    let cgroups = read(format!("/proc/{pid}/cgroup"));
    report.push_str(&format!("\ncgroups:\n{cgroups}"));
    if let Some(path) = cgroups
        .lines()
        .find_map(|l| l.split_once(":freezer:").map(|(_, p)| p.to_string()))
    {
        // The root cgroup cannot be frozen and has no state file.
        let state = if path == "/" {
            "THAWED (root)".to_string()
        } else {
            read(format!("/sys/fs/cgroup/freezer{path}/freezer.state"))
        };
        report.push_str(&format!("freezer.state: {}", state.trim()));
    }
    report
}

/// Writes `<dir>/certs.d/<addr>/ca.crt` and returns `<dir>/certs.d`.
fn make_certs_d(dir: &Path, addr: &str, ca_cert: &Path) -> PathBuf {
    let root = dir.join("certs.d");
    let host = root.join(addr);
    std::fs::create_dir_all(&host)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", host.display()));
    std::fs::copy(ca_cert, host.join("ca.crt"))
        .unwrap_or_else(|e| panic!("cannot copy the CA into {}: {e}", host.display()));
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuck_process_report_shows_a_sleeping_process_and_its_cgroups() {
        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        let report = stuck_process_report(sleeper.id());
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        // Just spawned, it may still be running towards its nanosleep.
        assert!(
            [" S/", " R/", " D/"].iter().any(|s| report.contains(s)),
            "{report}"
        );
        assert!(report.contains("freezer.state: THAWED"), "{report}");
    }

    #[test]
    fn wait_ready_reports_a_registry_that_exits() {
        crate::require_file(REGISTRY_BIN, "the Debian package `docker-registry`");
        let d = tempfile::tempdir().unwrap();
        let config = d.path().join("config.yml");
        std::fs::write(&config, "version: 0.1\nstorage: [not, a, map]\n").unwrap();
        let log = d.path().join("log");
        let mut child = spawn_registry(&config, &log);
        let err = wait_ready(&mut child, &format!("127.0.0.1:{}", free_port()), None)
            .expect_err("a registry with a broken config must not come up");
        assert!(err.contains("exited early"), "{err}");
        assert!(!std::fs::read_to_string(&log).unwrap().is_empty());
    }

    #[test]
    fn stop_detached_leaves_an_unrelated_process_alone() {
        // A pid file naming a process that is not our registry (a recycled pid) must
        // not get that process killed.
        let d = tempfile::tempdir().unwrap();
        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        std::fs::write(d.path().join(PID_FILE), format!("{}\n", sleeper.id())).unwrap();
        assert_eq!(running_detached_pid(d.path()), None);
        assert_eq!(Registry::stop_detached(d.path()), None);
        assert!(
            process_alive(sleeper.id()),
            "an unrelated process was signalled"
        );
        assert!(
            !d.path().join(PID_FILE).exists(),
            "the stale pid file stays"
        );
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
        assert!(!process_alive(sleeper.id()));
        // No dir at all: nothing to stop.
        assert_eq!(Registry::stop_detached(&d.path().join("missing")), None);
    }

    #[test]
    fn detached_registry_runs_in_its_own_group_until_stopped() {
        crate::require_file(REGISTRY_BIN, "the Debian package `docker-registry`");
        let d = tempfile::tempdir().unwrap();
        let reg = Registry::spawn_detached(free_port(), &d.path().join("r"));
        assert_eq!(running_detached_pid(&reg.dir), Some(reg.pid));
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", reg.pid)).unwrap();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        assert_eq!(fields[2], reg.pid.to_string(), "pgid is its own pid");
        assert!(crate::util::wait_for_tcp(&reg.addr, Duration::from_secs(1)));
        assert_eq!(reg.reference("/a:1"), format!("{}/a:1", reg.addr));
        assert_eq!(Registry::stop_detached(&reg.dir), Some(reg.pid));
        // Only the process is checked: once its port is free, a registry of
        // another test running in parallel may already be listening there.
        assert!(!process_alive(reg.pid));
    }

    #[test]
    fn config_has_addr_storage_delete_and_optional_tls_auth() {
        let plain = config_yaml("127.0.0.1:1234", Path::new("/s"), None, None);
        assert!(plain.contains("addr: 127.0.0.1:1234"));
        assert!(plain.contains("rootdirectory: \"/s\""));
        assert!(plain.contains("delete:\n    enabled: true"));
        assert!(plain.contains("level: warn"));
        assert!(!plain.contains("tls:") && !plain.contains("htpasswd"));

        let certs = TestCerts {
            ca_cert: "/c/ca.crt".into(),
            ca_key: "/c/ca.key".into(),
            server_cert: "/c/s.crt".into(),
            server_key: "/c/s.key".into(),
        };
        let secure = config_yaml(
            "127.0.0.1:1",
            Path::new("/s"),
            Some(&certs),
            Some(Path::new("/h")),
        );
        assert!(secure.contains("certificate: \"/c/s.crt\""));
        assert!(secure.contains("key: \"/c/s.key\""));
        assert!(secure.contains("path: \"/h\""));
    }
}

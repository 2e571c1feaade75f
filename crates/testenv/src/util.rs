//! Small process, port and environment helpers shared by the harness modules.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Result of [`run_with_timeout`]: the exit status and everything the process printed.
#[derive(Debug)]
pub struct CommandOutput {
    /// How the process ended.
    pub status: ExitStatus,
    /// Raw standard output.
    pub stdout: Vec<u8>,
    /// Raw standard error.
    pub stderr: Vec<u8>,
}

/// Asks the kernel for a currently free TCP port on 127.0.0.1.
///
/// The port is released before returning, so another process may grab it in between;
/// callers that bind later (like [`crate::Registry`]) retry on "address already in use".
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0 to find a free port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("cannot read the local address of a bound socket: {e}"))
        .port()
}

/// Waits until something accepts TCP connections on `addr`; false after `timeout`.
pub fn wait_for_tcp(addr: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let targets: Vec<SocketAddr> = match addr.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => panic!("wait_for_tcp: {addr:?} is not a socket address: {e}"),
    };
    loop {
        for target in &targets {
            if let Ok(stream) = TcpStream::connect_timeout(target, Duration::from_millis(200)) {
                if !connected_to_itself(&stream) {
                    return true;
                }
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(25));
    }
}

/// Whether a loopback connection met itself: with nothing listening on a
/// port in the ephemeral range, the kernel can pick that same port as the
/// source, and TCP's simultaneous open then "connects" the socket to
/// itself. That is no server.
fn connected_to_itself(stream: &TcpStream) -> bool {
    matches!((stream.local_addr(), stream.peer_addr()), (Ok(l), Ok(p)) if l == p)
}

/// Runs `cmd` to completion with stdin closed, capturing stdout and stderr.
///
/// The process gets its own process group so that, on timeout, the whole group
/// (including helpers it forked) is killed; then this panics naming the command.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> CommandOutput {
    run_with_timeout_stdin(cmd, None, timeout)
}

/// Like [`run_with_timeout`], feeding `stdin` (if any) to the process.
pub fn run_with_timeout_stdin(
    cmd: &mut Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> CommandOutput {
    let shown = describe(cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{shown}`: {e}"));

    // Readers and the writer run on threads so a chatty process cannot block on a
    // full pipe while we wait for it.
    let writer = stdin.map(|data| {
        let data = data.to_vec();
        let mut pipe = child.stdin.take().expect("stdin was piped");
        thread::spawn(move || {
            use std::io::Write;
            // A process that exits without reading all input is not an error here.
            let _ = pipe.write_all(&data);
        })
    });
    let out_reader = spawn_reader(child.stdout.take().expect("stdout was piped"));
    let err_reader = spawn_reader(child.stderr.take().expect("stderr was piped"));

    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                let stdout = out_reader.finish(Duration::from_secs(2));
                let stderr = err_reader.finish(Duration::from_secs(2));
                panic!(
                    "`{shown}` did not finish within {timeout:?} and was killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    String::from_utf8_lossy(&stdout),
                    String::from_utf8_lossy(&stderr)
                );
            }
            Err(e) => panic!("cannot wait for `{shown}`: {e}"),
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    // A background helper that inherited the pipes may keep them open after the main
    // process exited; give the readers a grace period instead of hanging on it.
    let grace = Duration::from_secs(5);
    CommandOutput {
        status,
        stdout: out_reader.finish(grace),
        stderr: err_reader.finish(grace),
    }
}

/// Runs `cmd` like [`run_with_timeout`] and panics with its output unless it exits 0.
pub fn run_checked(cmd: &mut Command, timeout: Duration) -> CommandOutput {
    let shown = describe(cmd);
    let out = run_with_timeout(cmd, timeout);
    if !out.status.success() {
        panic!(
            "`{shown}` failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// A pipe drained on a background thread into a shared buffer.
struct Reader {
    buf: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Reader {
    /// Waits up to `grace` for end-of-file, then returns whatever was read so far.
    fn finish(self, grace: Duration) -> Vec<u8> {
        let _ = self.done.recv_timeout(grace);
        let mut buf = self.buf.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *buf)
    }
}

fn spawn_reader<R: Read + Send + 'static>(mut r: R) -> Reader {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let (tx, done) = mpsc::channel();
    let shared = Arc::clone(&buf);
    thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match r.read(&mut chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => break,
                Ok(n) => shared
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(&chunk[..n]),
            }
        }
        let _ = tx.send(());
    });
    Reader { buf, done }
}

/// Sends SIGKILL to the process group led by `pid` (the `kill` utility avoids unsafe libc calls).
pub(crate) fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A shell-like rendering of a command, for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Finds `tool` in `PATH` (or checks it directly when it contains a slash).
pub fn which(tool: &str) -> Option<PathBuf> {
    let is_exec = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if tool.contains('/') {
        let p = PathBuf::from(tool);
        return is_exec(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| is_exec(p))
}

/// True when the effective user id is 0 (read from /proc so no unsafe libc call is needed).
pub fn is_root() -> bool {
    let status = match std::fs::read_to_string("/proc/self/status") {
        Ok(s) => s,
        Err(_) => return false,
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

/// Deterministic pseudo-random bytes, different per seed, that no
/// compressor shrinks (xorshift64).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_bindable_and_nonzero() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("port reported free should bind");
    }

    #[test]
    fn wait_for_tcp_sees_listener_and_times_out_without_one() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        assert!(wait_for_tcp(&addr, Duration::from_secs(2)));
        drop(l);
        assert!(!wait_for_tcp(&addr, Duration::from_millis(200)));
    }

    #[test]
    fn run_with_timeout_captures_output_and_status() {
        let out = run_with_timeout(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        );
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    }

    #[test]
    fn run_with_timeout_feeds_stdin() {
        let out = run_with_timeout_stdin(
            &mut Command::new("cat"),
            Some(b"piped data"),
            Duration::from_secs(10),
        );
        assert!(out.status.success());
        assert_eq!(out.stdout, b"piped data");
    }

    #[test]
    #[should_panic(expected = "did not finish within")]
    fn run_with_timeout_kills_slow_process() {
        run_with_timeout(
            Command::new("sh").args(["-c", "sleep 30"]),
            Duration::from_millis(200),
        );
    }

    #[test]
    fn which_finds_sh_and_rejects_unknown() {
        assert!(which("sh").is_some());
        assert!(which("/bin/sh").is_some());
        assert!(which("definitely-not-a-tool-hoist").is_none());
    }
}

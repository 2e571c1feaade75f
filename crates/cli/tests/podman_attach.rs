//! `attach` passing standard input on as podman's does: to a container
//! started with `-d -i` (its stdin ends with ours), `--no-stdin` (which
//! ends it at once, as podman's does), and on a terminal to a `-dit`
//! container with the detach keys (default and `--detach-keys`), which
//! leave it running. Needs root and the test registry; the terminal is a
//! pty made by util-linux `script` (Debian package bsdutils).

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoist_testenv::{wait_until, Hoist};

const WAIT: Duration = Duration::from_secs(60);

fn status(h: &Hoist, name: &str) -> String {
    h.run(&["inspect", "--format", "{{.State.Status}}", name])
        .ok()
        .stdout
        .trim()
        .to_string()
}

#[test]
fn attach_sends_stdin_to_interactive_containers() {
    let (_reg, h, img) = common::setup_with_busybox();
    let run = |name: &str, cmd: &str| {
        h.run(&[
            "run",
            "-d",
            "-i",
            "--network",
            "none",
            "--name",
            name,
            &img,
            "sh",
            "-c",
            cmd,
        ])
        .ok();
    };
    // What we pipe in reaches the process; the end of it ends its input.
    run("in", "read x; echo got $x; cat; echo eof");
    let out = h.run_stdin(&["attach", "in"], b"one\ntwo\n").ok();
    assert_eq!(out.stdout, "got one\ntwo\neof\n", "{out:?}");
    h.run(&["wait", "in"]).ok();
    // podman's attach exits 0 whatever the container's exit code.
    run("code", "read x; exit 3");
    h.run_stdin(&["attach", "code"], b"x\n").ok();
    assert_eq!(h.run(&["wait", "code"]).ok().stdout.trim(), "3");
    // --no-stdin ends the container's input.
    run("nostdin", "cat; echo done");
    let out = h
        .run_stdin(&["attach", "--no-stdin", "nostdin"], b"ignored\n")
        .ok();
    assert_eq!(out.stdout, "done\n");
}

/// The monitor listens for `attach` clients before `run -d -i` returns.
/// It used to bind the socket just after reporting the start, and an
/// `attach` that came in between forwarded nothing: the container then
/// waited for its input for ever. Here each container's socket must take
/// a connection at once.
#[test]
fn attach_socket_listens_when_run_returns() {
    use std::os::fd::AsRawFd;
    let (_reg, h, img) = common::setup_with_busybox();
    for n in 0..5 {
        let name = format!("early{n}");
        let id = h
            .run(&[
                "run",
                "-d",
                "-i",
                "--network",
                "none",
                "--name",
                &name,
                &img,
                "cat",
            ])
            .ok()
            .stdout
            .trim()
            .to_string();
        // Through the open directory: the full path is too long for a
        // socket address.
        let dir = std::fs::File::open(h.root().join("containers").join(&id)).unwrap();
        let socket = format!("/proc/self/fd/{}/attach.sock", dir.as_raw_fd());
        let connected = std::os::unix::net::UnixStream::connect(&socket);
        assert!(
            connected.is_ok(),
            "{name}: nothing listened for attach clients when run returned: {connected:?}"
        );
        drop(connected);
        h.run(&["rm", "-f", "-t", "0", &name]).ok();
    }
}

/// `hoist args` on a pty made by `script`: its input (what is typed) and
/// what the terminal shows so far.
struct OnTty {
    child: std::process::Child,
    input: std::process::ChildStdin,
    shown: Arc<Mutex<String>>,
}

impl OnTty {
    fn start(h: &Hoist, args: &[&str]) -> OnTty {
        let mut cmd = h.command_on_pty(args);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("running script (Debian package bsdutils)");
        let input = child.stdin.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        let shown = Arc::new(Mutex::new(String::new()));
        let s = shown.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        OnTty {
            child,
            input,
            shown,
        }
    }

    fn shown(&self) -> String {
        self.shown.lock().unwrap().clone()
    }

    fn typing(&mut self, keys: &[u8]) {
        self.input.write_all(keys).unwrap();
        self.input.flush().unwrap();
    }

    fn exit_code(mut self) -> i32 {
        let mut code = None;
        wait_until(WAIT, "attach to end", || {
            code = self
                .child
                .try_wait()
                .unwrap()
                .map(|s| s.code().unwrap_or(-1));
            code.is_some()
        });
        code.unwrap()
    }
}

#[test]
fn attach_on_a_terminal_types_into_the_container_and_detaches() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run(&[
        "run",
        "-dit",
        "--network",
        "none",
        "--name",
        "t",
        &img,
        "sh",
    ])
    .ok();
    for (keys, detach) in [(None, &b"\x10\x11"[..]), (Some("ctrl-a,x"), &b"\x01x"[..])] {
        let mut args = vec!["attach"];
        if let Some(k) = keys {
            args.extend(["--detach-keys", k]);
        }
        args.push("t");
        let mut tty = OnTty::start(&h, &args);
        // Typed again until the shell answers: the first keys may come
        // before attach has its terminal ready.
        let marker = format!("mark{}", detach[0]);
        wait_until(WAIT, "the shell to answer what is typed", || {
            tty.typing(format!("echo {marker}$((6*7))\r").as_bytes());
            std::thread::yield_now();
            tty.shown().contains(&format!("{marker}42"))
        });
        tty.typing(detach);
        assert_eq!(tty.exit_code(), 0);
        assert_eq!(status(&h, "t"), "running", "detaching leaves it running");
    }
    // Its terminal got what was typed: the shell's own echo is logged.
    let logs = h.run(&["logs", "t"]).ok().stdout;
    assert!(logs.contains("mark1642"), "{logs}");
    h.run(&["rm", "-f", "-t0", "t"]).ok();
}

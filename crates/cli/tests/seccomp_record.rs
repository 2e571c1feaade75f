//! Recording a container's system calls into a seccomp profile with eBPF
//! (`--seccomp-record`, the `io.containers.trace-syscall` annotation),
//! applying the profile (`--security-opt seccomp=`), `seccomp diff`.
//! Needs root, a kernel with eBPF and BTF, and the test registry.
//!
//! The host's own noise: a host process calls ioprio_get (busybox ionice)
//! in a loop for the whole of each test; no container of these tests
//! makes that call except where a test execs ionice into one, so a profile
//! naming it without that exec would have recorded the host.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hoist_testenv::{wait_until, Hoist};

/// The host's distinctive call (see the module comment).
const NOISE_CALL: &str = "ioprio_get";

/// A host process calling [`NOISE_CALL`] over and over until dropped, and
/// making PID namespaces one after another whose processes call mkdir: a
/// namespace's number is reused by the next one made, so one of them soon
/// carries the number of a recorded container that has just ended.
struct HostNoise(Child);

impl HostNoise {
    fn start() -> HostNoise {
        hoist_testenv::require(&["unshare"]);
        let child = Command::new("/bin/busybox")
            .args([
                "sh",
                "-c",
                "while :; do /bin/busybox ionice >/dev/null; \
                 unshare --pid --fork /bin/busybox mkdir -p /tmp/hoist-noise; done",
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("starting the host noise loop (busybox-static)");
        HostNoise(child)
    }

    /// Panics unless the loop is still going (so it ran while recording).
    fn assert_running(&mut self) {
        assert!(
            self.0.try_wait().unwrap().is_none(),
            "the host noise loop ended early"
        );
    }
}

impl Drop for HostNoise {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The calls a profile file allows.
fn allowed(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading profile {}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|r| r["names"].as_array().unwrap().clone())
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

fn assert_has(names: &BTreeSet<String>, want: &[&str], what: &str) {
    for w in want {
        assert!(names.contains(*w), "{what}: {w} missing from {names:?}");
    }
}

fn assert_lacks(names: &BTreeSet<String>, unwanted: &[&str], what: &str) {
    for u in unwanted {
        assert!(!names.contains(*u), "{what}: {u} recorded in {names:?}");
    }
}

fn out_path(h: &Hoist, name: &str) -> PathBuf {
    h.base_dir().join(name)
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `ls /`, a shell writing and reading a file and a small web server with
/// its client, each recorded (with the flag, the annotation, --rm) while
/// the host is noisy; each runs the same under its profile; a call outside
/// a profile fails with EPERM; `seccomp diff` compares two of them.
#[test]
fn recorded_profiles_hold_the_workload_and_nothing_of_the_host() {
    let (_reg, h, image) = common::setup_with_busybox();
    let mut noise = HostNoise::start();
    let ls = out_path(&h, "ls.json");
    let out = h
        .run(&[
            "run",
            "--rm",
            "--seccomp-record",
            arg(&ls),
            &image,
            "ls",
            "/",
        ])
        .ok();
    assert!(out.stdout.contains("bin\n"), "{}", out.stdout);
    let ls_calls = allowed(&ls);
    assert_has(
        &ls_calls,
        &["execve", "openat", "getdents64", "write", "exit_group"],
        "ls /",
    );

    let sh = out_path(&h, "sh.json");
    let script = "echo hi > /tmp/x; cat /tmp/x";
    let annotation = format!("io.containers.trace-syscall=of:{}", arg(&sh));
    let out = h
        .run(&[
            "run",
            "--annotation",
            &annotation,
            &image,
            "sh",
            "-c",
            script,
        ])
        .ok();
    assert_eq!(out.stdout, "hi\n");
    let sh_calls = allowed(&sh);
    assert_has(
        &sh_calls,
        // busybox cat copies with sendfile, not read and write.
        &["execve", "openat", "sendfile", "write", "exit_group"],
        "sh -c",
    );

    let srv = out_path(&h, "srv.json");
    let server = "mkdir /www && echo served > /www/index.html && httpd -p 127.0.0.1:8080 -h /www \
                  && until wget -q -O - http://127.0.0.1:8080/; do :; done";
    let out = h
        .run(&[
            "run",
            "--rm",
            "--seccomp-record",
            arg(&srv),
            &image,
            "sh",
            "-c",
            server,
        ])
        .ok();
    assert_eq!(out.stdout, "served\n");
    let srv_calls = allowed(&srv);
    assert_has(
        &srv_calls,
        &[
            "socket",
            "bind",
            "listen",
            "connect",
            "read",
            "write",
            "exit_group",
        ],
        "web server",
    );
    noise.assert_running();
    for (calls, what) in [(&ls_calls, "ls"), (&sh_calls, "sh"), (&srv_calls, "server")] {
        assert_lacks(calls, &[NOISE_CALL], what);
    }

    // Each workload runs the same under its own profile.
    let under = |p: &Path| format!("seccomp={}", arg(p));
    let out = h
        .run(&[
            "run",
            "--rm",
            "--security-opt",
            &under(&ls),
            &image,
            "ls",
            "/",
        ])
        .ok();
    assert!(out.stdout.contains("bin\n"), "{}", out.stdout);
    let out = h
        .run(&[
            "run",
            "--rm",
            "--security-opt",
            &under(&sh),
            &image,
            "sh",
            "-c",
            script,
        ])
        .ok();
    assert_eq!(out.stdout, "hi\n");
    let out = h
        .run(&[
            "run",
            "--rm",
            "--security-opt",
            &under(&srv),
            &image,
            "sh",
            "-c",
            server,
        ])
        .ok();
    assert_eq!(out.stdout, "served\n");

    // `ls /` never made a directory: under its profile mkdir gets EPERM.
    assert_lacks(&ls_calls, &["mkdir", "mkdirat"], "ls /");
    let out = h
        .run(&[
            "run",
            "--rm",
            "--security-opt",
            &under(&ls),
            &image,
            "mkdir",
            "/made",
        ])
        .fails_with(1);
    assert!(
        out.stderr.contains("Operation not permitted"),
        "{}",
        out.stderr
    );

    // `seccomp diff`: what only the server needs, what only ls needs.
    let out = h
        .run(&["seccomp", "diff", arg(&ls), arg(&srv)])
        .fails_with(1);
    let lines: BTreeSet<&str> = out.stdout.lines().collect();
    assert!(lines.contains("+listen"), "{}", out.stdout);
    assert!(lines.contains("-getdents64"), "{}", out.stdout);
    h.run(&["seccomp", "diff", arg(&ls), arg(&ls)]).ok();
}

/// Two containers recorded at the same time, one on hoist's own runtime
/// (`--rm`), one on runc, each with calls of its own made by `exec`: each
/// profile holds its own container's calls and not the other's.
#[test]
fn exec_processes_and_concurrent_containers_are_recorded_apart() {
    let (_reg, h, image) = common::setup_with_busybox();
    let _noise = HostNoise::start();
    let (a, b) = (out_path(&h, "a.json"), out_path(&h, "b.json"));
    h.run(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "reca",
        "--seccomp-record",
        arg(&a),
        &image,
        "sleep",
        "1000",
    ])
    .ok();
    h.run(&[
        "run",
        "-d",
        "--name",
        "recb",
        "--runtime",
        "/usr/bin/runc",
        "--seccomp-record",
        arg(&b),
        &image,
        "sleep",
        "1000",
    ])
    .ok();
    h.run(&["exec", "reca", "/bin/busybox", "ionice"]).ok();
    h.run(&["exec", "recb", "mkdir", "/tmp/d"]).ok();
    h.run(&["exec", "recb", "rmdir", "/tmp/d"]).ok();
    h.run(&["stop", "-t", "0", "reca", "recb"]).ok();
    // reca is --rm: its profile is written before it is removed.
    // reca is --rm: its profile is written before it is removed.
    wait_until(Duration::from_secs(30), "both profiles", || {
        a.exists() && b.exists()
    });
    let (a_calls, b_calls) = (allowed(&a), allowed(&b));
    assert_has(
        &a_calls,
        &["ioprio_get", "clock_nanosleep"],
        "reca (exec ionice)",
    );
    assert_lacks(&a_calls, &["rmdir"], "reca");
    assert_has(&b_calls, &["rmdir", "mkdir", "execve"], "recb (exec, runc)");
    assert_lacks(&b_calls, &[NOISE_CALL], "recb");
    // Under its recorded profile the same container and execs run on runc.
    h.run(&["rm", "-f", "recb"]).ok();
    h.run(&[
        "run",
        "-d",
        "--name",
        "recb",
        "--runtime",
        "/usr/bin/runc",
        "--security-opt",
        &format!("seccomp={}", arg(&b)),
        &image,
        "sleep",
        "1000",
    ])
    .ok();
    h.run(&["exec", "recb", "mkdir", "/tmp/d"]).ok();
    h.run(&["exec", "recb", "rmdir", "/tmp/d"]).ok();
    let out = h.run(&["exec", "recb", "/bin/busybox", "ionice"]);
    assert!(!out.success(), "ionice ran outside recb's profile: {out:?}");
    h.run(&["rm", "-f", "recb"]).ok();
}

/// `if:` merges the recording into an input profile; a container that
/// restarts adds its new start's calls to the same profile.
#[test]
fn input_profiles_merge_and_restarts_add_up() {
    let (_reg, h, image) = common::setup_with_busybox();
    let input = out_path(&h, "in.json");
    std::fs::write(
        &input,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
            "architectures":["SCMP_ARCH_X86_64"],
            "syscalls":[
              {"names":["getcpu","read"],"action":"SCMP_ACT_ALLOW"},
              {"names":["personality"],"action":"SCMP_ACT_ALLOW",
               "args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    let merged = out_path(&h, "merged.json");
    let annotation = format!(
        "io.containers.trace-syscall=of:{};if:{}",
        arg(&merged),
        arg(&input)
    );
    h.run(&["run", "--rm", "--annotation", &annotation, &image, "true"])
        .ok();
    let calls = allowed(&merged);
    assert_has(
        &calls,
        &["getcpu", "read", "execve", "exit_group"],
        "merged",
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    assert_eq!(v["architectures"], serde_json::json!(["SCMP_ARCH_X86_64"]));
    assert_eq!(v["syscalls"][1]["args"][0]["value"], 8, "{v}");

    // The first start leaves /once, calls ionice and fails; the restart
    // policy's second start makes a directory: one profile holds both.
    let restarted = out_path(&h, "restart.json");
    let script =
        "if [ -e /once ]; then mkdir /second; else touch /once; /bin/busybox ionice; exit 1; fi";
    h.run(&[
        "run",
        "-d",
        "--name",
        "again",
        "--restart",
        "on-failure:1",
        "--seccomp-record",
        arg(&restarted),
        &image,
        "sh",
        "-c",
        script,
    ])
    .ok();
    wait_until(
        Duration::from_secs(60),
        "the restart's calls recorded",
        || restarted.exists() && allowed(&restarted).contains("mkdir"),
    );
    assert_has(&allowed(&restarted), &["ioprio_get"], "first start");
    // A later `start` (a new monitor) adds to what the earlier ones recorded.
    h.run(&["wait", "again"]).ok();
    std::fs::remove_file(&restarted).unwrap();
    h.run(&["start", "again"]).ok();
    wait_until(
        Duration::from_secs(60),
        "the profile of the new start",
        || restarted.exists(),
    );
    assert_has(
        &allowed(&restarted),
        &["ioprio_get", "mkdir"],
        "after start",
    );
    h.run(&["rm", "-f", "again"]).ok();
}

/// Without the privileges eBPF needs the container does not start, and
/// the error says why; bad requests fail at create.
#[test]
fn recording_without_privileges_fails_before_the_container_starts() {
    let (_reg, h, image) = common::setup_with_busybox();
    hoist_testenv::require(&["setpriv"]);
    let out_file = out_path(&h, "never.json");
    let cmd = h.command(&[
        "run",
        "--name",
        "noperm",
        "--seccomp-record",
        arg(&out_file),
        &image,
        "echo",
        "started",
    ]);
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut setpriv = Command::new("setpriv");
    setpriv
        .args([
            "--bounding-set",
            "-bpf,-perfmon,-sys_admin",
            "--inh-caps",
            "-all",
        ])
        .arg(program)
        .args(args)
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
    let out = setpriv.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("eBPF system call recorder") && stderr.contains("CAP_BPF"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("started"));
    assert!(!out_file.exists());
    h.run(&["rm", "-f", "noperm"]).ok();

    let out = h
        .run(&[
            "create",
            "--annotation",
            "io.containers.trace-syscall=if:/x.json",
            &image,
        ])
        .fails_with(125);
    assert!(
        out.stderr.contains("no output file (of:)"),
        "{}",
        out.stderr
    );
}

/// A 32-bit system call (int 0x80: i386 number 155, sched_getparam) is
/// recorded under its own name, not as x86_64 call 155 (pivot_root).
#[test]
fn calls_through_the_32_bit_entry_get_their_i386_names() {
    let (_reg, h, image) = common::setup_with_busybox();
    hoist_testenv::require(&["gcc"]);
    let src = h.base_dir().join("int80.c");
    std::fs::write(
        &src,
        r#"void _start(void) {
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(155), "b"(0), "c"(0) : "memory");
    __asm__ volatile ("syscall" :: "a"(231), "D"(ret == -22 ? 0 : 1) : "rcx", "r11", "memory");
    for (;;) {}
}
"#,
    )
    .unwrap();
    let bin = h.base_dir().join("int80");
    let gcc = Command::new("gcc")
        .args(["-static", "-nostdlib", "-O2", "-o", arg(&bin), arg(&src)])
        .output()
        .unwrap();
    assert!(gcc.status.success(), "{gcc:?}");
    let profile = out_path(&h, "i386.json");
    let mount = format!("{}:/int80:ro", arg(&bin));
    h.run(&[
        "run",
        "--rm",
        "-v",
        &mount,
        "--seccomp-record",
        arg(&profile),
        &image,
        "/int80",
    ])
    .ok();
    let calls = allowed(&profile);
    assert_has(&calls, &["sched_getparam", "execve"], "int 0x80");
    assert_lacks(&calls, &["pivot_root"], "int 0x80");
    // The recorded profile lets the 32-bit call through (EINVAL, exit 0).
    h.run(&[
        "run",
        "--rm",
        "-v",
        &mount,
        "--security-opt",
        &format!("seccomp={}", arg(&profile)),
        &image,
        "/int80",
    ])
    .ok();
}

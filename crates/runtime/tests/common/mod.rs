//! Shared test fixtures: a busybox root filesystem, bundles, a tiny
//! single-threaded test runner, and running a container with its output
//! captured through pipes.

#![allow(dead_code)]

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use hoist_runtime::executor::{wait_exit, write_bundle_config, ExitStatus, Runtime, Stdio};
use hoist_runtime::spec::{build_spec, default_cgroups_path, SpecOptions};
use oci_spec::image::{ConfigBuilder, ImageConfiguration, ImageConfigurationBuilder};

pub const TEST_USER: &str = "tester:x:1234:1234:tester:/home/tester:/bin/sh";

/// A root filesystem of Debian's static busybox and its applet symlinks,
/// with a root and a `tester` (1234) user.
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    for d in [
        "bin",
        "etc",
        "tmp",
        "proc",
        "sys",
        "dev",
        "home/tester",
        "root",
        "var/tmp",
        "run",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("copying /bin/busybox: apt-get install busybox-static");
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    for applet in String::from_utf8(list.stdout).unwrap().lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
    }
    std::fs::write(
        root.join("etc/passwd"),
        format!("root:x:0:0:root:/root:/bin/sh\n{TEST_USER}\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\ntester:x:1234:\nextra:x:2000:tester\n",
    )
    .unwrap();
    std::fs::set_permissions(
        root.join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    rustix::fs::chown(
        root.join("home/tester"),
        Some(rustix::fs::Uid::from_raw(1234)),
        Some(rustix::fs::Gid::from_raw(1234)),
    )
    .unwrap();
    root
}

pub fn image(cmd: &[&str]) -> ImageConfiguration {
    let cfg = ConfigBuilder::default()
        .cmd(cmd.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .env(vec!["IMAGE_ENV=from-image".to_string()])
        .build()
        .unwrap();
    ImageConfigurationBuilder::default()
        .config(cfg)
        .build()
        .unwrap()
}

/// Options for a test container `id` on `rootfs`, in its own cgroup.
pub fn options(id: &str, rootfs: &Path) -> SpecOptions {
    SpecOptions {
        rootfs: rootfs.to_path_buf(),
        hostname: Some(id.to_string()),
        cgroups_path: Some(format!("/hoist-test{}", default_cgroups_path(id))),
        ..Default::default()
    }
}

/// Writes the bundle for `args` (or the image's command) and returns its dir.
pub fn bundle(dir: &Path, opts: &SpecOptions, cmd: &[&str]) -> PathBuf {
    let spec = build_spec(&image(cmd), opts).unwrap();
    let b = dir.join("bundle");
    write_bundle_config(&b, &spec).unwrap();
    b
}

pub struct Pipes {
    pub stdio: Stdio,
    pub out: OwnedFd,
    pub err: OwnedFd,
}

pub fn pipes() -> Pipes {
    let (out_r, out_w) = std::io::pipe().unwrap();
    let (err_r, err_w) = std::io::pipe().unwrap();
    let (in_r, in_w) = std::io::pipe().unwrap();
    drop(in_w); // stdin: immediate end of file
    Pipes {
        stdio: Stdio::new(in_r.into(), out_w.into(), err_w.into()),
        out: out_r.into(),
        err: err_r.into(),
    }
}

pub fn read_all(fd: OwnedFd) -> String {
    let mut s = String::new();
    std::fs::File::from(fd).read_to_string(&mut s).unwrap();
    s
}

pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// create + start + wait + delete, with stdout and stderr captured.
pub fn run(rt: &dyn Runtime, id: &str, bundle: &Path) -> Outcome {
    let p = pipes();
    let pid = rt
        .create(id, bundle, p.stdio, None)
        .unwrap_or_else(|e| panic!("create {id}: {e}"));
    rt.start(id).unwrap_or_else(|e| panic!("start {id}: {e}"));
    let status = wait_exit(pid).unwrap();
    let stdout = read_all(p.out);
    let stderr = read_all(p.err);
    rt.delete(id, false)
        .unwrap_or_else(|e| panic!("delete {id}: {e}"));
    Outcome {
        status,
        stdout,
        stderr,
    }
}

/// A unique container id for this test process.
pub fn id(name: &str) -> String {
    format!("t{}-{name}", std::process::id())
}

pub type TestFn = fn();

/// Runs `tests` one after another on the main thread (libcontainer forks,
/// so no other thread may run meanwhile), in libtest's output format.
/// Understands name filters, `--exact`, `--skip NAME` and `--list`.
pub fn run_tests(tests: &[(&str, TestFn)]) {
    let mut filters = Vec::new();
    let mut skips = Vec::new();
    let mut exact = false;
    let mut list = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--exact" => exact = true,
            "--list" => list = true,
            "--skip" => skips.extend(args.next()),
            "--test-threads" | "--color" | "--format" | "--logfile" | "-Z" => {
                args.next();
            }
            s if s.starts_with('-') => {}
            s => filters.push(s.to_string()),
        }
    }
    let matches = |name: &str, pat: &str| {
        if exact {
            name == pat
        } else {
            name.contains(pat)
        }
    };
    let selected: Vec<_> = tests
        .iter()
        .filter(|(n, _)| filters.is_empty() || filters.iter().any(|f| matches(n, f)))
        .filter(|(n, _)| !skips.iter().any(|s| matches(n, s)))
        .collect();
    if list {
        for (n, _) in &selected {
            println!("{n}: test");
        }
        println!("\n{} tests, 0 benchmarks", selected.len());
        return;
    }
    let filtered = tests.len() - selected.len();
    let started = std::time::Instant::now();
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    // A test that cannot run fails (it is never counted as passed):
    // each one panics through `require_root` when not root.
    for (name, f) in &selected {
        let ok = std::panic::catch_unwind(|| {
            hoist_testenv::require_root();
            f()
        })
        .is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(*name);
        }
    }
    let passed = selected.len() - failed.len();
    if !failed.is_empty() {
        println!("\nfailures:");
        for f in &failed {
            println!("    {f}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; 0 ignored; 0 measured; {filtered} filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}

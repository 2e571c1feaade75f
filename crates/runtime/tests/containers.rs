//! Real containers on the real kernel (as root): busybox bundles run through
//! libcontainer in-process, through runc, and through the `oci_cli`
//! functions. A custom runner (harness = false) keeps every libcontainer
//! call on the main thread of a single-threaded process.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use hoist_runtime::executor::{
    set_child_subreaper, wait_exit, ExitStatus, ExternalRuntime, InProcessRuntime, Runtime,
    RuntimeError, Status,
};
use hoist_runtime::rootfs::{mount_overlay, unmount, write_etc_files, EtcOptions};
use hoist_runtime::spec::{MountSpec, SeccompChoice, SpecOptions};

fn main() {
    run_tests(&[
        ("echo_hi_through_libcontainer", echo_hi_through_libcontainer),
        ("exit_codes_propagate", exit_codes_propagate),
        ("env_user_and_workdir", env_user_and_workdir),
        ("read_only_rootfs", read_only_rootfs),
        (
            "memory_cpu_pids_limits_reach_cgroup_v1",
            memory_cpu_pids_limits_reach_cgroup_v1,
        ),
        (
            "delete_kills_what_outlived_the_container_and_removes_every_cgroup",
            delete_kills_what_outlived_the_container_and_removes_every_cgroup,
        ),
        (
            "kill_all_empties_a_cgroup_and_leaves_it_for_the_delete",
            kill_all_empties_a_cgroup_and_leaves_it_for_the_delete,
        ),
        (
            "default_seccomp_filter_is_enforced",
            default_seccomp_filter_is_enforced,
        ),
        ("capabilities_are_podmans", capabilities_are_podmans),
        ("lifecycle_state_kill_delete", lifecycle_state_kill_delete),
        ("etc_files_and_bind_mounts", etc_files_and_bind_mounts),
        ("runs_on_overlay_rootfs", runs_on_overlay_rootfs),
        ("same_bundle_through_runc", same_bundle_through_runc),
        ("oci_cli_semantics", oci_cli_semantics),
        (
            "hooks_see_the_users_bundle_and_annotations",
            hooks_see_the_users_bundle_and_annotations,
        ),
        (
            "creation_hooks_see_the_users_bundle",
            creation_hooks_see_the_users_bundle,
        ),
        (
            "failing_poststart_hook_is_only_logged",
            failing_poststart_hook_is_only_logged,
        ),
        (
            "failing_poststop_hook_does_not_block_delete",
            failing_poststop_hook_does_not_block_delete,
        ),
        (
            "disable_oom_killer_reaches_cgroup_v1",
            disable_oom_killer_reaches_cgroup_v1,
        ),
        (
            "start_returns_once_the_program_runs",
            start_returns_once_the_program_runs,
        ),
        (
            "signals_right_after_start_reach_hoists_init",
            signals_right_after_start_reach_hoists_init,
        ),
    ]);
}

struct Fixture {
    dir: tempfile::TempDir,
    rootfs: PathBuf,
    rt: InProcessRuntime,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = busybox_rootfs(dir.path());
    let rt = InProcessRuntime::new(dir.path().join("state"));
    Fixture { dir, rootfs, rt }
}

impl Fixture {
    fn bundle(&self, opts: &SpecOptions, cmd: &[&str]) -> PathBuf {
        bundle(self.dir.path(), opts, cmd)
    }
    fn run(&self, name: &str, cmd: &[&str], tweak: impl FnOnce(&mut SpecOptions)) -> Outcome {
        let id = id(name);
        let mut o = options(&id, &self.rootfs);
        tweak(&mut o);
        let b = self.bundle(&o, cmd);
        run(&self.rt, &id, &b)
    }
}

fn echo_hi_through_libcontainer() {
    let f = fixture();
    let out = f.run("echo", &["echo", "hi"], |_| {});
    assert_eq!(out.stdout, "hi\n", "stderr: {}", out.stderr);
    assert_eq!(out.status, ExitStatus::Exited(0));
}

fn exit_codes_propagate() {
    let f = fixture();
    let out = f.run("exit42", &["sh", "-c", "echo oops >&2; exit 42"], |_| {});
    assert_eq!(out.status.code(), 42);
    assert_eq!(out.stderr, "oops\n");
    // The shell's own status for a killed child; a killed init is
    // `ExitStatus::Signaled` (see lifecycle_state_kill_delete).
    let out = f.run(
        "killed",
        &["sh", "-c", "sleep 100 & kill -9 $!; wait $!"],
        |_| {},
    );
    assert_eq!(out.status, ExitStatus::Exited(137));
}

fn env_user_and_workdir() {
    let f = fixture();
    let script = "id -u; id -g; id -G; pwd; echo $FOO $IMAGE_ENV $HOME $container $HOSTNAME; hostname; ulimit -n";
    let out = f.run("who", &["sh", "-c", script], |o| {
        o.user = Some("tester".into());
        o.workdir = Some("/home/tester".into());
        o.env = vec!["FOO=bar".into()];
    });
    let lines: Vec<&str> = out.stdout.lines().collect();
    let id = id("who");
    assert_eq!(
        lines,
        [
            "1234",
            "1234",
            "1234 2000",
            "/home/tester",
            &format!("bar from-image /home/tester podman {id}"),
            &id,
            // podman's nofile default, clamped to this process's hard limit.
            &rustix::process::getrlimit(rustix::process::Resource::Nofile)
                .maximum
                .map_or("unlimited".to_string(), |m| m.min(1_048_576).to_string()),
        ],
        "stderr: {}",
        out.stderr
    );
}

fn read_only_rootfs() {
    let f = fixture();
    let script = "touch /x 2>/dev/null; echo rc=$?; touch /tmp/y && echo tmp-ok; grep ' / ' /proc/mounts | grep -c ' ro,'";
    let out = f.run("ro", &["sh", "-c", script], |o| o.read_only = true);
    assert_eq!(out.stdout, "rc=1\ntmp-ok\n1\n", "stderr: {}", out.stderr);
    assert!(!f.rootfs.join("x").exists());
    let out = f.run("rw", &["sh", "-c", "touch /x && echo ok"], |_| {});
    assert_eq!(out.stdout, "ok\n", "stderr: {}", out.stderr);
    assert!(f.rootfs.join("x").exists());
}

fn memory_cpu_pids_limits_reach_cgroup_v1() {
    let f = fixture();
    let id = id("mem");
    let mut o = options(&id, &f.rootfs);
    o.memory = Some(64 << 20);
    o.cpus = Some(0.5);
    o.pids_limit = Some(77);
    let b = f.bundle(&o, &["true"]);
    let p = pipes();
    let pid = f.rt.create(&id, &b, p.stdio, None).unwrap();
    let cg = format!("hoist-test/hoist/{id}");
    let read = |ctrl: &str, file: &str| {
        std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(ctrl).join(&cg).join(file))
            .unwrap_or_else(|e| panic!("{ctrl}/{cg}/{file}: {e}"))
            .trim()
            .to_string()
    };
    assert_eq!(
        read("memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(read("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(read("pids", "pids.max"), "77");
    let procs = read("memory", "cgroup.procs");
    assert!(
        procs.lines().any(|l| l == pid.to_string()),
        "{pid} not in {procs}"
    );
    f.rt.start(&id).unwrap();
    assert_eq!(wait_exit(pid).unwrap(), ExitStatus::Exited(0));
    f.rt.delete(&id, false).unwrap();
    assert!(
        !Path::new("/sys/fs/cgroup/memory").join(&cg).exists(),
        "cgroup left behind"
    );
}

/// A container sharing the host's PID namespace can leave a process in its
/// cgroup when its own process exits; deleting the stopped container kills
/// it and leaves the cgroup in no hierarchy.
fn delete_kills_what_outlived_the_container_and_removes_every_cgroup() {
    let f = fixture();
    let id = id("outlived");
    let b = host_pid_bundle(&f, &id, "");
    let out = run(&f.rt, &id, &b);
    assert_eq!(out.status, ExitStatus::Exited(0), "stderr: {}", out.stderr);
    let left: i32 = out.stdout.trim().parse().unwrap();
    hoist_testenv::wait_until(
        std::time::Duration::from_secs(10),
        "the process the container left to die",
        || !is_running(left),
    );
    let cg = format!("hoist-test/hoist/{id}");
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let hierarchies: Vec<String> = hoist_fsutil::mountinfo::mount_entries(&info)
        .filter(|m| m.fs_type.starts_with("cgroup"))
        .map(|m| m.mount_point)
        .collect();
    assert!(hierarchies.len() > 1, "{hierarchies:?}");
    for h in hierarchies {
        assert!(!Path::new(&h).join(&cg).exists(), "cgroup left in {h}");
    }
}

/// What a dead monitor's clean-up does before the runtime's delete: every
/// process in the container's cgroup is killed, the init and a process it
/// left alike, and the cgroup stays.
fn kill_all_empties_a_cgroup_and_leaves_it_for_the_delete() {
    let f = fixture();
    let id = id("killall");
    let b = host_pid_bundle(&f, &id, "; exec sleep 1000");
    let p = pipes();
    let init = f.rt.create(&id, &b, p.stdio, None).unwrap();
    f.rt.start(&id).unwrap();
    let mut first_line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(std::fs::File::from(p.out)),
        &mut first_line,
    )
    .unwrap();
    let child: i32 = first_line.trim().parse().unwrap();
    let cg = Path::new("/hoist-test/hoist").join(&id);
    hoist_runtime::cgroup_removal::kill_all(&cg);
    let ended = wait_exit_within(init, std::time::Duration::from_secs(10));
    if ended.is_none() {
        let _ = f.rt.delete(&id, true);
    }
    assert_eq!(ended, Some(ExitStatus::Signaled(libc::SIGKILL)));
    assert!(!is_running(child), "process {child} outlived kill_all");
    let memory = Path::new("/sys/fs/cgroup/memory").join(cg.strip_prefix("/").unwrap());
    assert!(memory.is_dir(), "kill_all removed {}", memory.display());
    f.rt.delete(&id, true).unwrap();
    assert!(!memory.exists(), "the delete left {}", memory.display());
}

/// The bundle of container `id` in the host's PID namespace, running a
/// shell that starts a `sleep` in the background, prints its pid, then
/// runs `and_then`: the sleep stays in the container's cgroup.
fn host_pid_bundle(f: &Fixture, id: &str, and_then: &str) -> PathBuf {
    let mut o = options(id, &f.rootfs);
    o.pid = hoist_runtime::spec::NamespaceMode::Host;
    let script = format!("sleep 1000 </dev/null >/dev/null 2>&1 & echo $!{and_then}");
    f.bundle(&o, &["sh", "-c", &script])
}

/// Whether process `pid` exists and has not exited (a zombie has).
fn is_running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, s)| !s.starts_with('Z'))
    })
}

/// A static probe making raw syscalls, printing `name=errno` (0 = success).
fn probe(dir: &Path, rootfs: &Path) {
    let src = dir.join("probe.c");
    std::fs::write(
        &src,
        r#"#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static void show(const char *name, long r) { printf("%s=%d\n", name, r < 0 ? errno : 0); }
int main(void) {
    show("getppid", syscall(SYS_getppid));
    show("add_key", syscall(SYS_add_key, "user", "hoist", "x", 1, 0));
    show("vmsplice", syscall(SYS_vmsplice, -1, NULL, 0, 0));
    return 0;
}
"#,
    )
    .unwrap();
    let status = std::process::Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(rootfs.join("bin/probe"))
        .arg(&src)
        .status()
        .expect("running cc: apt-get install gcc libc6-dev");
    assert!(status.success(), "compiling the syscall probe failed");
}

fn default_seccomp_filter_is_enforced() {
    let f = fixture();
    probe(f.dir.path(), &f.rootfs);
    let confined = f.run("seccomp", &["/bin/probe"], |_| {});
    // Not on the allow-list: ENOSYS (38), podman's default errno. Explicitly
    // denied: EPERM (1). Ordinary calls work.
    assert_eq!(
        confined.stdout, "getppid=0\nadd_key=38\nvmsplice=1\n",
        "stderr: {}",
        confined.stderr
    );
    let free = f.run("unconfined", &["/bin/probe"], |o| {
        o.seccomp = SeccompChoice::Unconfined
    });
    let lines: Vec<&str> = free.stdout.lines().collect();
    assert_eq!(lines[0], "getppid=0");
    assert_ne!(
        lines[1], "add_key=38",
        "add_key is ENOSYS without a filter too"
    );
    assert_eq!(
        lines[2], "vmsplice=9",
        "vmsplice(-1) without a filter is EBADF"
    );
    // With no_new_privileges the filter is loaded late, after the
    // capabilities are dropped; it must still be there.
    let nnp = f.run(
        "nnp",
        &[
            "sh",
            "-c",
            "/bin/probe; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status",
        ],
        |o| o.no_new_privileges = true,
    );
    assert_eq!(
        nnp.stdout, "getppid=0\nadd_key=38\nvmsplice=1\nNoNewPrivs:\t1\nSeccomp:\t2\n",
        "stderr: {}",
        nnp.stderr
    );
    let plain = f.run(
        "no-nnp",
        &["grep", "-E", "^(NoNewPrivs|Seccomp):", "/proc/self/status"],
        |_| {},
    );
    assert_eq!(
        plain.stdout, "NoNewPrivs:\t0\nSeccomp:\t2\n",
        "stderr: {}",
        plain.stderr
    );
    // A profile file is enforced the same way.
    let profile = f.dir.path().join("profile.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    )
    .unwrap();
    let custom = f.run("profile", &["/bin/probe"], |o| {
        o.seccomp = SeccompChoice::Profile(profile.clone())
    });
    assert!(
        custom.stdout.starts_with("getppid=13\n"),
        "{}",
        custom.stdout
    );
}

fn capabilities_are_podmans() {
    let f = fixture();
    let cap_line = "grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status";
    let out = f.run("caps", &["sh", "-c", cap_line], |_| {});
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
    // NET_BIND_SERVICE SYS_CHROOT SETFCAP = bits 0 1 3-8 10 18 31.
    let want = [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31]
        .iter()
        .fold(0u64, |m, b| m | 1 << b);
    for line in out.stdout.lines() {
        let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
        assert_eq!(mask, want, "{line}");
    }
    assert_eq!(out.stdout.lines().count(), 3, "stderr: {}", out.stderr);
    // A non-root user keeps none (podman gives no ambient capabilities);
    // CAP_SYS_ADMIN, lent to the init for the seccomp install, is gone.
    let cap_line = "grep -E '^Cap(Prm|Eff)' /proc/self/status; grep Seccomp: /proc/self/status";
    let out = f.run("caps-user", &["sh", "-c", cap_line], |o| {
        o.user = Some("1000:1000".into())
    });
    assert_eq!(
        out.stdout, "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nSeccomp:\t2\n",
        "stderr: {}",
        out.stderr
    );
    // Masked paths are hidden, read-only paths are read-only.
    // (/proc/timer_list has content on the host; /proc/kcore is not built
    // into every kernel.)
    assert!(!std::fs::read_to_string("/proc/timer_list")
        .unwrap()
        .is_empty());
    let script = "wc -c < /proc/timer_list; ls /proc/acpi | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo ro";
    let out = f.run("masked", &["sh", "-c", script], |_| {});
    assert_eq!(out.stdout, "0\n0\nro\n", "stderr: {}", out.stderr);
}

fn lifecycle_state_kill_delete() {
    let f = fixture();
    let id = id("life");
    let b = f.bundle(&options(&id, &f.rootfs), &["sleep", "100"]);
    let p = pipes();
    let pid = f.rt.create(&id, &b, p.stdio, None).unwrap();
    let st = f.rt.state(&id).unwrap();
    assert_eq!(
        (st.status, st.pid, st.id.as_str()),
        (Status::Created, Some(pid), id.as_str())
    );
    assert_eq!(st.bundle, b.canonicalize().unwrap());
    assert!(!st.annotations.keys().any(|k| k.starts_with("run.hoist")));
    // libcontainer got a copy of the spec without the seccomp filter,
    // which hoist compiled once into the cache and installs itself.
    let copy = f.dir.path().join("state/@bundles").join(&id);
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copy.join("config.json")).unwrap()).unwrap();
    assert!(spec["linux"].get("seccomp").is_none(), "{}", spec["linux"]);
    assert!(copy.join("seccomp.bpf").exists());
    assert!(std::fs::read_dir(f.dir.path().join("state/@seccomp"))
        .unwrap()
        .next()
        .is_some());
    assert!(matches!(
        f.rt.create(&id, &b, pipes().stdio, None),
        Err(RuntimeError::AlreadyExists { .. })
    ));
    f.rt.start(&id).unwrap();
    assert_eq!(f.rt.state(&id).unwrap().status, Status::Running);
    assert!(matches!(
        f.rt.delete(&id, false),
        Err(RuntimeError::Libcontainer { .. })
    ));
    f.rt.kill(&id, libc::SIGKILL).unwrap();
    assert_eq!(wait_exit(pid).unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    let st = f.rt.state(&id).unwrap();
    assert_eq!((st.status, st.pid), (Status::Stopped, None));
    f.rt.delete(&id, false).unwrap();
    assert!(matches!(
        f.rt.state(&id),
        Err(RuntimeError::NotFound { .. })
    ));
    assert!(!copy.exists(), "the spec copy outlived the container");
    // A failed create says why and leaves no state behind.
    let bad = f.bundle(&options(&id, &f.rootfs), &["/no/such/program"]);
    match f.rt.create(&id, &bad, pipes().stdio, None) {
        Err(RuntimeError::Libcontainer { message, .. }) => {
            assert!(message.contains("/no/such/program"), "{message}")
        }
        other => panic!("expected a create error, got {other:?}"),
    }
    assert!(matches!(
        f.rt.state(&id),
        Err(RuntimeError::NotFound { .. })
    ));
    assert!(!copy.exists(), "a failed create left its spec copy");
    // Force-deleting a running container kills it.
    let id2 = common::id("force");
    let b = f.bundle(&options(&id2, &f.rootfs), &["sleep", "100"]);
    let pid = f.rt.create(&id2, &b, pipes().stdio, None).unwrap();
    f.rt.start(&id2).unwrap();
    f.rt.delete(&id2, true).unwrap();
    assert_eq!(wait_exit(pid).unwrap(), ExitStatus::Signaled(libc::SIGKILL));
}

fn etc_files_and_bind_mounts() {
    let f = fixture();
    let cdir = f.dir.path().join("container");
    let mut eo = EtcOptions::new("webhost");
    eo.dns_servers = vec!["192.0.2.53".parse().unwrap()];
    eo.extra_hosts = vec![("db".into(), "192.0.2.7".parse().unwrap())];
    let files = write_etc_files(&cdir, &f.rootfs, &eo).unwrap();
    let data = f.dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("f"), "host data\n").unwrap();
    let out = f.run(
        "etc",
        &["sh", "-c", "cat /etc/hostname; grep db /etc/hosts; cat /etc/resolv.conf; cat /data/f; touch /data/g 2>/dev/null || echo data-ro; df /scratch | tail -1 | cut -c1-5"],
        |o| {
            o.etc_files = Some(files.clone());
            o.mounts = vec![
                MountSpec::Bind { source: data.clone(), destination: "/data".into(), read_only: true, options: vec![] },
                MountSpec::Tmpfs { destination: "/scratch".into(), size: Some(1 << 20), mode: None, options: vec![] },
            ];
        },
    );
    assert_eq!(
        out.stdout, "webhost\n192.0.2.7\tdb\nnameserver 192.0.2.53\nhost data\ndata-ro\ntmpfs\n",
        "stderr: {}",
        out.stderr
    );
    // The image's own /etc was not written: the runtime only made an empty
    // mount point there.
    assert_eq!(
        std::fs::read_to_string(f.rootfs.join("etc/hosts")).unwrap(),
        ""
    );
}

fn runs_on_overlay_rootfs() {
    let f = fixture();
    // The busybox tree is the lower layer; an upper layer adds a file.
    let top = f.dir.path().join("top");
    std::fs::create_dir_all(top.join("etc")).unwrap();
    std::fs::write(top.join("etc/motd"), "from the top layer\n").unwrap();
    let (upper, work, merged) = (
        f.dir.path().join("upper"),
        f.dir.path().join("work"),
        f.dir.path().join("merged"),
    );
    for d in [&upper, &work, &merged] {
        std::fs::create_dir(d).unwrap();
    }
    mount_overlay(&[top, f.rootfs.clone()], &upper, &work, &merged).unwrap();
    // Unmounts even when an assertion below fails.
    struct Mounted<'a>(&'a Path);
    impl Drop for Mounted<'_> {
        fn drop(&mut self) {
            let _ = unmount(self.0);
        }
    }
    let guard = Mounted(&merged);
    let id = id("overlay");
    let o = options(&id, &merged);
    let b = f.bundle(&o, &["sh", "-c", "cat /etc/motd; echo new > /created"]);
    let out = run(&f.rt, &id, &b);
    drop(guard);
    let mounted = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounted.contains(merged.to_str().unwrap()),
        "overlay still mounted"
    );
    assert_eq!(out.stdout, "from the top layer\n", "stderr: {}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(upper.join("created")).unwrap(),
        "new\n"
    );
    assert!(!f.rootfs.join("created").exists());
}

fn same_bundle_through_runc() {
    set_child_subreaper().unwrap();
    let f = fixture();
    let runc = ExternalRuntime::new("runc", f.dir.path().join("runc-state"));
    let id = id("runc");
    let o = options(&id, &f.rootfs);
    let b = f.bundle(&o, &["sh", "-c", "echo hi from runc; exit 3"]);
    let out = run(&runc, &id, &b);
    assert_eq!(out.stdout, "hi from runc\n", "stderr: {}", out.stderr);
    assert_eq!(out.status, ExitStatus::Exited(3));

    let b = f.bundle(&o, &["sleep", "100"]);
    let pid = runc.create(&id, &b, pipes().stdio, None).unwrap();
    let st = runc.state(&id).unwrap();
    assert_eq!((st.status, st.pid), (Status::Created, Some(pid)));
    runc.start(&id).unwrap();
    assert_eq!(runc.state(&id).unwrap().status, Status::Running);
    runc.kill(&id, libc::SIGTERM).unwrap();
    // sleep as pid 1 ignores SIGTERM (no handler installed); KILL it.
    runc.kill(&id, libc::SIGKILL).unwrap();
    assert_eq!(wait_exit(pid).unwrap().code(), 137);
    runc.delete(&id, false).unwrap();
    assert!(matches!(
        runc.state(&id),
        Err(RuntimeError::NotFound { .. })
    ));
    // A failing create reports the runtime's message.
    let bad = f.bundle(&o, &["/no/such/program"]);
    match runc.create(&id, &bad, pipes().stdio, None) {
        Err(RuntimeError::Command { message, .. }) => {
            assert!(message.contains("no such file"), "{message}")
        }
        other => panic!("expected a runc error, got {other:?}"),
    }
    let _ = runc.delete(&id, true);
}

fn oci_cli_semantics() {
    use hoist_runtime::oci_cli;
    let f = fixture();
    let root = f.dir.path().join("oci-root");
    let id = id("oci");
    let b = f.bundle(&options(&id, &f.rootfs), &["sh", "-c", "exit 5"]);
    assert_eq!(oci_cli::run(&root, &id, &b, None, None).unwrap(), 5);
    assert!(matches!(
        oci_cli::state(&root, &id),
        Err(oci_cli::OciCliError::Runtime(RuntimeError::NotFound { .. }))
    ));

    let b = f.bundle(&options(&id, &f.rootfs), &["sleep", "100"]);
    let pid_file = f.dir.path().join("pid");
    let pid = oci_cli::create(&root, &id, &b, Some(&pid_file), None).unwrap();
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    let st = oci_cli::state(&root, &id).unwrap();
    let json: serde_json::Value = serde_json::from_str(&st.to_json()).unwrap();
    assert_eq!(json["status"], "created");
    assert_eq!(json["pid"], pid);
    assert_eq!(json["id"], id.as_str());
    assert_eq!(json["rootfs"], f.rootfs.to_str().unwrap());
    assert!(json["created"].is_string() && json["ociVersion"].is_string());
    oci_cli::start(&root, &id).unwrap();
    assert!(oci_cli::kill(&root, &id, Some("NOSUCH")).is_err());
    oci_cli::kill(&root, &id, Some("KILL")).unwrap();
    assert_eq!(wait_exit(pid).unwrap().code(), 137);
    assert_eq!(oci_cli::state(&root, &id).unwrap().pid, 0);
    oci_cli::delete(&root, &id, false).unwrap();
    oci_cli::delete(&root, &id, true).unwrap();
    assert!(oci_cli::delete(&root, &id, false).is_err());
}

/// Rewrites the bundle's config.json through `edit`.
fn edit_config(bundle: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = bundle.join("config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
}

/// A hook running `script` with sh (the host's, or the container's for
/// hooks run inside it).
fn sh_hook(script: &str) -> serde_json::Value {
    serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Waits for child `pid` to end, at most `limit`; `None` if it did not.
/// (A pidfd becomes readable when the process exits: no polling loop.)
fn wait_exit_within(pid: i32, limit: std::time::Duration) -> Option<ExitStatus> {
    #[allow(unsafe_code)]
    // SAFETY: pidfd_open and poll take plain integers and a valid pollfd;
    // the pidfd is closed by OwnedFd.
    let ready = unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        assert!(
            fd >= 0,
            "pidfd_open({pid}): {}",
            std::io::Error::last_os_error()
        );
        let fd = <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd);
        let mut p = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
            events: libc::POLLIN,
            revents: 0,
        };
        libc::poll(&mut p, 1, limit.as_millis() as i32) == 1
    };
    ready.then(|| wait_exit(pid).unwrap())
}

fn hooks_see_the_users_bundle_and_annotations() {
    let f = fixture();
    let id = id("hookstate");
    let b = f.bundle(&options(&id, &f.rootfs), &["sleep", "100"]);
    let out = f.dir.path().join("hook-out");
    std::fs::create_dir(&out).unwrap();
    let o = out.display();
    edit_config(&b, |v| {
        v["annotations"] = serde_json::json!({"org.example.a": "1", "b": "two"});
        v["hooks"] = serde_json::json!({
            "poststart": [sh_hook(&format!("cat > {o}/poststart.json"))],
            "poststop": [sh_hook(&format!("cat > {o}/poststop.json"))],
        });
    });
    // The spec has a seccomp filter: hoist hands libcontainer its copy.
    assert!(read_json(&b.join("config.json"))["linux"]["seccomp"].is_object());
    let pid = f.rt.create(&id, &b, pipes().stdio, None).unwrap();
    f.rt.start(&id).unwrap();
    let state = f.rt.state(&id).unwrap();
    let seen = read_json(&out.join("poststart.json"));
    let want_annotations = serde_json::json!({"org.example.a": "1", "b": "two"});
    assert_eq!(seen["bundle"], b.canonicalize().unwrap().to_str().unwrap());
    assert_eq!(seen["bundle"], state.bundle.to_str().unwrap());
    assert_eq!(seen["annotations"], want_annotations, "{seen}");
    assert_eq!(
        serde_json::to_value(&state.annotations).unwrap(),
        want_annotations
    );
    assert_eq!(
        (&seen["id"], &seen["status"]),
        (&serde_json::json!(id), &serde_json::json!("running"))
    );
    assert_eq!(seen["pid"], pid);
    f.rt.kill(&id, libc::SIGKILL).unwrap();
    wait_exit(pid).unwrap();
    f.rt.delete(&id, false).unwrap();
    let seen = read_json(&out.join("poststop.json"));
    assert_eq!(seen["bundle"], state.bundle.to_str().unwrap());
    assert_eq!(seen["annotations"], want_annotations, "{seen}");
    assert_eq!(seen["status"], "stopped");
}

fn creation_hooks_see_the_users_bundle() {
    let f = fixture();
    let id = id("createhooks");
    let b = f.bundle(&options(&id, &f.rootfs), &["true"]);
    let out = f.dir.path().join("hook-out");
    std::fs::create_dir(&out).unwrap();
    let o = out.display();
    edit_config(&b, |v| {
        v["annotations"] = serde_json::json!({"a": "1"});
        v["hooks"] = serde_json::json!({
            "createRuntime": [sh_hook(&format!("cat > {o}/createRuntime.json"))],
            "createContainer": [sh_hook(&format!("cat > {o}/createContainer.json"))],
            // Runs inside the container: its /tmp is the rootfs's.
            "startContainer": [sh_hook("cat > /tmp/startContainer.json")],
        });
    });
    let pid = f.rt.create(&id, &b, pipes().stdio, None).unwrap();
    let state = f.rt.state(&id).unwrap();
    f.rt.start(&id).unwrap();
    assert_eq!(wait_exit(pid).unwrap(), ExitStatus::Exited(0));
    for file in [
        out.join("createRuntime.json"),
        out.join("createContainer.json"),
        f.rootfs.join("tmp/startContainer.json"),
    ] {
        let seen = read_json(&file);
        assert_eq!(
            seen["bundle"],
            state.bundle.to_str().unwrap(),
            "{}",
            file.display()
        );
        assert_eq!(
            seen["annotations"],
            serde_json::json!({"a": "1"}),
            "{}",
            file.display()
        );
    }
    f.rt.delete(&id, false).unwrap();
    assert!(!f.dir.path().join("state/@bundles").join(&id).exists());
}

fn failing_poststart_hook_is_only_logged() {
    let f = fixture();
    let id = id("poststartfail");
    let b = f.bundle(&options(&id, &f.rootfs), &["sleep", "100"]);
    let marker = f.dir.path().join("second-ran");
    edit_config(&b, |v| {
        v["hooks"] = serde_json::json!({
            "poststart": [sh_hook("exit 3"), sh_hook(&format!("touch {}", marker.display()))],
        });
    });
    let pid = f.rt.create(&id, &b, pipes().stdio, None).unwrap();
    f.rt.start(&id)
        .expect("a failing poststart hook must not fail start");
    assert!(
        marker.exists(),
        "the hook after the failing one did not run"
    );
    assert_eq!(f.rt.state(&id).unwrap().status, Status::Running);
    assert!(
        rustix::process::test_kill_process(rustix::process::Pid::from_raw(pid).unwrap()).is_ok()
    );
    f.rt.kill(&id, libc::SIGKILL).unwrap();
    assert_eq!(wait_exit(pid).unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    f.rt.delete(&id, false).unwrap();
}

fn failing_poststop_hook_does_not_block_delete() {
    let f = fixture();
    let id = id("poststopfail");
    let b = f.bundle(&options(&id, &f.rootfs), &["true"]);
    let marker = f.dir.path().join("second-ran");
    edit_config(&b, |v| {
        v["hooks"] = serde_json::json!({
            "poststop": [sh_hook("exit 3"), sh_hook(&format!("echo x >> {}", marker.display()))],
        });
    });
    let pid = f.rt.create(&id, &b, pipes().stdio, None).unwrap();
    f.rt.start(&id).unwrap();
    assert_eq!(wait_exit(pid).unwrap(), ExitStatus::Exited(0));
    f.rt.delete(&id, false)
        .expect("a failing poststop hook must not fail delete");
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "x\n",
        "the remaining poststop hooks must run once"
    );
    assert!(matches!(
        f.rt.state(&id),
        Err(RuntimeError::NotFound { .. })
    ));
    assert!(!f.dir.path().join("state").join(&id).exists());
    assert!(!f.dir.path().join("state/@bundles").join(&id).exists());
}

fn disable_oom_killer_reaches_cgroup_v1() {
    let f = fixture();
    let id = id("nooom");
    let mut o = options(&id, &f.rootfs);
    o.memory = Some(64 << 20);
    let b = f.bundle(&o, &["true"]);
    edit_config(&b, |v| {
        v["linux"]["resources"]["memory"]["disableOOMKiller"] = serde_json::json!(true);
    });
    let pid = f.rt.create(&id, &b, pipes().stdio, None).unwrap();
    let file = Path::new("/sys/fs/cgroup/memory/hoist-test/hoist")
        .join(&id)
        .join("memory.oom_control");
    let control = std::fs::read_to_string(&file).unwrap();
    assert!(
        control.lines().any(|l| l == "oom_kill_disable 1"),
        "{control}"
    );
    f.rt.start(&id).unwrap();
    assert_eq!(wait_exit(pid).unwrap(), ExitStatus::Exited(0));
    f.rt.delete(&id, false).unwrap();
    // Without the setting the OOM killer stays on.
    let b = f.bundle(&o, &["true"]);
    let pid = f.rt.create(&id, &b, pipes().stdio, None).unwrap();
    let control = std::fs::read_to_string(&file).unwrap();
    assert!(
        control.lines().any(|l| l == "oom_kill_disable 0"),
        "{control}"
    );
    f.rt.delete(&id, true).unwrap();
    let _ = wait_exit(pid);
}

/// `start` returns once the user's program has replaced hoist's code, and
/// only then is the container `running` (runc's behaviour).
fn start_returns_once_the_program_runs() {
    let f = fixture();
    for i in 0..20 {
        let id = id(&format!("execd{i}"));
        let b = f.bundle(&options(&id, &f.rootfs), &["sleep", "100"]);
        let pid = f.rt.create(&id, &b, pipes().stdio, None).unwrap();
        assert_eq!(f.rt.state(&id).unwrap().status, Status::Created);
        f.rt.start(&id).unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        assert!(
            stat.contains("(sleep)"),
            "iteration {i}: not exec'd yet: {stat}"
        );
        assert_eq!(f.rt.state(&id).unwrap().status, Status::Running);
        f.rt.delete(&id, true).unwrap();
        let _ = wait_exit(pid);
    }
}

/// A stand-in for hoist's init at its path: waits for signals with all of
/// them blocked and exits 143 on SIGTERM. As PID 1 of its namespace it
/// would never see a SIGTERM the kernel dropped before it blocked it.
fn fake_hoist_init(dir: &Path) -> PathBuf {
    let src = dir.join("init.c");
    std::fs::write(
        &src,
        r#"#include <signal.h>
#include <unistd.h>
int main(void) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, 0);
    for (;;) {
        int sig = sigwaitinfo(&all, 0);
        if (sig == SIGTERM) _exit(143);
    }
}
"#,
    )
    .unwrap();
    let bin = dir.join("fake-hoist-init");
    let status = std::process::Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("running cc: apt-get install gcc libc6-dev");
    assert!(status.success(), "compiling the init stand-in failed");
    bin
}

/// A SIGTERM sent the moment `start` returns is not lost: hoist's init is
/// exec'd with signals blocked, so the kernel queues it until the init
/// waits for it.
fn signals_right_after_start_reach_hoists_init() {
    use hoist_runtime::executor::{HOIST_INIT_COMMAND, HOIST_INIT_PATH};
    let f = fixture();
    let init = fake_hoist_init(f.dir.path());
    for i in 0..20 {
        let id = id(&format!("sigterm{i}"));
        let mut o = options(&id, &f.rootfs);
        o.mounts.push(MountSpec::Bind {
            source: init.clone(),
            destination: HOIST_INIT_PATH.into(),
            read_only: true,
            options: Vec::new(),
        });
        let b = f.bundle(
            &o,
            &[HOIST_INIT_PATH, HOIST_INIT_COMMAND, "--", "sleep", "100"],
        );
        let pid = f.rt.create(&id, &b, pipes().stdio, None).unwrap();
        f.rt.start(&id).unwrap();
        f.rt.kill(&id, libc::SIGTERM).unwrap();
        let status = wait_exit_within(pid, std::time::Duration::from_secs(10));
        if status.is_none() {
            f.rt.delete(&id, true).unwrap();
            let _ = wait_exit(pid);
        }
        assert_eq!(
            status.map(|s| s.code()),
            Some(143),
            "iteration {i}: SIGTERM lost"
        );
        f.rt.delete(&id, false).unwrap();
    }
}

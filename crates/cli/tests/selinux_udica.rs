//! SELinux policies for containers: `hoist inspect` carries what udica
//! reads (so `hoist inspect X | udica NAME` works) and `hoist generate
//! selinux` writes the policy udica writes, file and messages byte for
//! byte, with the real udica (PyPI) run on the same inspect output as the
//! reference. The host policy (file and port types) is Debian's
//! selinux-policy-default store, read with SELinux disabled, as udica
//! reads it.
//!
//! SELinux is disabled on the test machines, so the policies cannot be
//! loaded: they are compiled with secilc instead, together with the udica
//! templates the `semodule -i` line names and a minimal base policy
//! ([`BASE_POLICY`]). Two things about that compile, checked by hand:
//! - udica's templates are written for Fedora's policy: they name types
//!   Debian's policy lacks (container_runtime_t, svirt_sandbox_domain,
//!   ...) and permissions its classes no longer have (node tcp_recv,
//!   tcp_socket recv_msg), so they do not compile against the host's own
//!   modules; the base here declares those names and classes with
//!   Fedora's permissions.
//! - udica's blocks inherit `container` more than once (the policy and
//!   `restricted_net_container` both do), which declares `process` twice:
//!   secilc needs `-m` (multiple declarations), as libsemanage allows them
//!   when semodule loads the modules.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const UDICA: &str = "/opt/hoist-udica/bin/udica";
const TEMPLATES: &str = "/usr/share/udica/templates";

/// What the policies and udica's templates need from a policy besides
/// themselves: the kernel's object classes (with Fedora's permissions, the
/// policy udica's templates are written for) and the types and attributes
/// of the host policy the templates name.
const BASE_POLICY: &str = "
(mls false)
(handleunknown deny)
(sid kernel)
(sidorder (kernel))
(sidcontext kernel (system_u system_r kernel_t ((s0) (s0))))
(sensitivity s0)
(sensitivityorder (s0))
(category c0)
(categoryorder (c0))
(sensitivitycategory s0 (c0))
(user system_u)
(role system_r)
(role object_r)
(type kernel_t)
(userrole system_u system_r)
(userrole system_u object_r)
(userlevel system_u (s0))
(userrange system_u ((s0) (s0)))
(roletype system_r kernel_t)
(common file (ioctl read write create getattr setattr lock relabelfrom relabelto append map unlink link rename execute quotaon mounton audit_access open execmod watch watch_mount watch_sb watch_with_perm watch_reads))
(common socket (ioctl read write create getattr setattr lock relabelfrom relabelto append map bind connect listen accept getopt setopt shutdown recvfrom sendto name_bind))
(common ipc (create destroy getattr setattr read write associate unix_read unix_write))
(class file (execute_no_trans entrypoint))
(classcommon file file)
(class dir (add_name remove_name reparent search rmdir))
(classcommon dir file)
(class lnk_file ())
(classcommon lnk_file file)
(class chr_file ())
(classcommon chr_file file)
(class sock_file ())
(classcommon sock_file file)
(class tcp_socket (node_bind name_connect connectto newconn acceptfrom recv_msg send_msg))
(classcommon tcp_socket socket)
(class udp_socket (node_bind recv_msg send_msg))
(classcommon udp_socket socket)
(class sctp_socket (node_bind name_connect association))
(classcommon sctp_socket socket)
(class unix_stream_socket (connectto))
(classcommon unix_stream_socket socket)
(class node (recvfrom sendto tcp_recv tcp_send udp_recv udp_send))
(class key (view read write search link setattr create))
(class shm (lock))
(classcommon shm ipc)
(class capability (chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time sys_tty_config mknod lease audit_write audit_control setfcap))
(classorder (file dir lnk_file chr_file sock_file tcp_socket udp_socket sctp_socket unix_stream_socket node key shm capability))
(typeattribute domain)
(typeattribute container_domain)
(typeattribute svirt_sandbox_domain)
(typeattribute sandbox_net_domain)
(typeattribute file_type)
(typeattribute proc_type)
(typeattribute logfile)
(typeattribute configfile)
(typeattribute tmpfile)
(type cpu_online_t)
(type container_runtime_t)
(type proc_t)
(type node_t)
(type http_port_t)
(type var_t)
(type auditd_log_t)
(type user_home_dir_t)
(type home_root_t)
(type user_home_t)
(type device_t)
(type devtty_t)
(type xserver_t)
(type dri_device_t)
(type xserver_misc_device_t)
(type urandom_device_t)
(type tmpfs_t)
(type tmp_t)
(type xserver_tmp_t)
(type xserver_exec_t)
(type var_run_t)
(type virt_var_run_t)
(type virtd_t)
(type other_t)
(allow kernel_t self (file (read)))
";

fn require_tools() {
    assert!(
        Path::new(UDICA).exists(),
        "{UDICA} is missing: run scripts/install-deps.sh (a venv of Debian's python3 with \
         --system-site-packages, python3-selinux and python3-semanage, pip install udica==0.2.2)"
    );
    assert!(
        Path::new(TEMPLATES).join("base_container.cil").exists(),
        "udica's templates are not in {TEMPLATES}: run scripts/install-deps.sh"
    );
    assert!(
        Command::new("secilc").arg("--help").output().is_ok(),
        "secilc is missing: apt-get install secilc (scripts/install-deps.sh does)"
    );
    // File and port types come from the host's policy store.
    let config = std::fs::read_to_string("/etc/selinux/config").unwrap_or_default();
    let policy = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("SELINUXTYPE="))
        .unwrap_or("targeted");
    let store = format!("/var/lib/selinux/{policy}/active");
    assert!(
        Path::new(&store).is_dir(),
        "no SELinux policy store at {store}: apt-get install selinux-policy-default \
         (scripts/install-deps.sh does; SELinux itself stays disabled)"
    );
}

/// A policy run's output: the `NAME.cil` it wrote and what it printed.
#[derive(Debug, PartialEq)]
struct Policy {
    cil: String,
    stdout: String,
}

fn read_policy(dir: &Path, name: &str, out: std::process::Output, who: &str) -> Policy {
    assert!(
        out.status.success(),
        "{who} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.join(format!("{name}.cil"));
    Policy {
        cil: std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{who} wrote no {}: {e}", file.display())),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// Real udica on `inspect` JSON (on its standard input, as in `hoist
/// inspect X | udica NAME`), in a directory of its own.
fn udica(dir: &Path, inspect: &str, name: &str, extra: &[&str]) -> Policy {
    use std::io::Write;
    std::fs::create_dir_all(dir).unwrap();
    let mut child = Command::new(UDICA)
        .args(extra)
        .arg(name)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running udica");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(inspect.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    read_policy(dir, name, out, "udica")
}

fn hoist_generate(h: &hoist_testenv::Hoist, dir: &Path, args: &[&str], name: &str) -> Policy {
    std::fs::create_dir_all(dir).unwrap();
    let mut all = vec!["generate", "selinux"];
    all.extend(args);
    let out = h
        .command(&all)
        .current_dir(dir)
        .output()
        .expect("running hoist");
    read_policy(dir, name, out, "hoist generate selinux")
}

/// The templates the `semodule -i NAME.cil DIR/{a.cil,b.cil}` line names.
fn templates_named(stdout: &str) -> Vec<PathBuf> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("# semodule -i "))
        .unwrap_or_else(|| panic!("no semodule line in:\n{stdout}"));
    let list = line.rsplit(' ').next().unwrap();
    let files = list
        .strip_prefix(&format!("{TEMPLATES}/"))
        .unwrap_or_else(|| panic!("templates outside {TEMPLATES}: {line}"));
    let files = files.trim_start_matches('{').trim_end_matches('}');
    let mut out: Vec<PathBuf> = Vec::new();
    for f in files.split(',') {
        let p = Path::new(TEMPLATES).join(f);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Compiles `cil` with the templates `stdout` names; the host types it
/// allows are declared as types. Returns secilc's complaint on failure.
fn secilc(dir: &Path, cil: &str, stdout: &str) -> Result<(), String> {
    let mut base = BASE_POLICY.to_string();
    for line in cil.lines() {
        let Some(rest) = line.trim().strip_prefix("(allow process ") else {
            continue;
        };
        let t = rest.split_whitespace().next().unwrap();
        let declared = format!("(type {t})");
        let attribute = format!("(typeattribute {t})");
        // `NAME.process` is another policy's block, not a host type.
        let host_type = t != "process" && !t.contains('.');
        if host_type && !base.contains(&declared) && !base.contains(&attribute) {
            base.push_str(&declared);
            base.push('\n');
        }
    }
    std::fs::write(dir.join("base.cil"), base).unwrap();
    std::fs::write(dir.join("policy.cil"), cil).unwrap();
    let out = Command::new("secilc")
        .arg("-m")
        .arg("-o")
        .arg(dir.join("policy.bin"))
        .arg("-f")
        .arg(dir.join("file_contexts"))
        .arg(dir.join("base.cil"))
        .args(templates_named(stdout))
        .arg(dir.join("policy.cil"))
        .output()
        .expect("running secilc");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn inspect_json(h: &hoist_testenv::Hoist, name: &str) -> String {
    h.run(&["inspect", name]).ok().stdout
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[test]
fn generate_selinux_writes_udicas_policy_for_mounts_ports_caps_and_devices() {
    require_tools();
    let (_reg, h, image) = common::setup_with_busybox();
    // Under /srv, which the host policy labels (the test's own directory is
    // under /tmp, which it leaves unlabelled: udica and hoist refuse it).
    std::fs::create_dir_all("/srv").unwrap();
    let rw = tempfile::Builder::new()
        .prefix("hoist-udica-")
        .tempdir_in("/srv")
        .unwrap();
    let rw_bind = format!("{}:/data", rw.path().display());
    h.run(&[
        "create",
        "--name",
        "web",
        "-v",
        &rw_bind,
        "-v",
        "/usr/share/doc:/doc:ro",
        "-v",
        "/var/log:/hostlog",
        "-v",
        "/etc:/hostetc:ro",
        "-v",
        "/home:/home:ro",
        "--tmpfs",
        "/scratch",
        "-p",
        "18080:80",
        "-p",
        "8080:8080/tcp",
        "-p",
        "15353:53/udp",
        "--cap-add",
        "NET_ADMIN,sys_time",
        "--cap-drop",
        "CHOWN",
        "--cap-drop",
        "KILL",
        "--device",
        "/dev/null:/dev/mynull",
        &image,
        "sleep",
        "100",
    ])
    .ok();

    // The inspect document, in podman's shape.
    let json = inspect_json(&h, "web");
    let doc: Value = serde_json::from_str::<Vec<Value>>(&json).unwrap().remove(0);
    let mounts = doc["Mounts"].as_array().unwrap();
    let data = mounts.iter().find(|m| m["Destination"] == "/data").unwrap();
    assert_eq!(data["Type"], "bind");
    assert_eq!(data["Source"], rw.path().to_str().unwrap());
    assert_eq!(data["RW"], true);
    assert_eq!(strings(&data["Options"]), ["rbind"]);
    let doc_mount = mounts.iter().find(|m| m["Destination"] == "/doc").unwrap();
    assert_eq!(doc_mount["RW"], false);
    assert_eq!(
        doc["HostConfig"]["PortBindings"]["53/udp"][0]["HostPort"],
        "15353"
    );
    assert_eq!(
        doc["HostConfig"]["PortBindings"],
        doc["NetworkSettings"]["Ports"]
    );
    let effective = strings(&doc["EffectiveCaps"]);
    assert!(effective.contains(&"CAP_NET_ADMIN") && effective.contains(&"CAP_SYS_TIME"));
    assert!(!effective.contains(&"CAP_CHOWN") && !effective.contains(&"CAP_KILL"));
    assert_eq!(doc["BoundingCaps"], doc["EffectiveCaps"], "root's sets");
    assert!(strings(&doc["HostConfig"]["CapDrop"]).contains(&"CHOWN"));
    let dev = &doc["HostConfig"]["Devices"][0];
    assert_eq!(dev["PathOnHost"], "/dev/null");
    assert_eq!(dev["PathInContainer"], "/dev/mynull");
    assert!(strings(&doc["Config"]["Env"]).contains(&"container=podman"));

    // The same policy from udica and from hoist.
    let work = h.base_dir().join("selinux");
    let want = udica(&work.join("udica"), &json, "web", &[]);
    let got = hoist_generate(&h, &work.join("hoist"), &["web"], "web");
    assert_eq!(got, want);
    let cil = &got.cil;
    assert!(
        cil.contains("(blockinherit restricted_net_container)"),
        "{cil}"
    );
    assert!(cil.contains(" net_admin ") && cil.contains(" sys_time ") && !cil.contains(" chown "));
    assert!(
        cil.contains("(allow process http_cache_port_t ( tcp_socket (  name_bind )))"),
        "{cil}"
    );
    assert!(
        cil.contains("(allow process unreserved_port_t ( udp_socket (  name_bind )))"),
        "{cil}"
    );
    assert!(
        cil.contains("(allow process var_t ( dir ( add_name create"),
        "{cil}"
    );
    assert!(
        cil.contains("(allow process usr_t ( file ( getattr ioctl lock open read )))"),
        "{cil}"
    );
    for block in ["log_rw_container", "config_container", "home_container"] {
        assert!(cil.contains(&format!("(blockinherit {block})")), "{cil}");
    }
    assert!(got.stdout.contains(
        "# semodule -i web.cil /usr/share/udica/templates/{base_container.cil,net_container.cil,\
         log_container.cil,config_container.cil,home_container.cil}"
    ), "{}", got.stdout);
    assert!(got
        .stdout
        .contains("\"--security-opt label=type:web.process\""));

    // It compiles with the templates it names; a broken copy does not (the
    // compile does check something).
    secilc(&work, cil, &got.stdout).unwrap_or_else(|e| panic!("secilc: {e}\n{cil}"));
    let broken = cil.replace("( capability ( ", "( capability ( no_such_permission ");
    assert!(secilc(&work, &broken, &got.stdout).is_err());

    // udica's options: network, terminal, X, libvirt, a domain to connect
    // to, named capabilities and rules from an audit log (one of another
    // domain, which both skip with the same warning).
    let avc = work.join("avc.log");
    std::fs::write(
        &avc,
        "type=AVC msg=audit(1.1:1): avc:  denied  { read } for  pid=1 comm=\"sh\" \
         scontext=system_u:system_r:web2.process:s0:c1,c2 tcontext=system_u:object_r:var_t:s0 \
         tclass=file permissive=0\n\
         type=SYSCALL msg=audit(1.1:1): arch=c000003e syscall=2\n\
         type=AVC msg=audit(1.1:2): avc:  denied  { open } for  pid=1 comm=\"sh\" \
         scontext=system_u:system_r:web2.process:s0:c1,c2 tcontext=system_u:object_r:var_t:s0 \
         tclass=file permissive=0\n\
         type=AVC msg=audit(1.1:3): avc:  denied  { write } for  pid=1 comm=\"sh\" \
         scontext=system_u:system_r:other_t:s0 tcontext=system_u:object_r:var_t:s0 \
         tclass=dir permissive=0\n",
    )
    .unwrap();
    let avc = avc.to_str().unwrap();
    let flags = [
        "--full-network-access",
        "--tty-access",
        "--X-access",
        "--virt-access",
        "--stream-connect",
        "other",
        "--caps",
        "NET_BIND_SERVICE,CAP_SETUID",
        "--append-rules",
        avc,
    ];
    let want = udica(&work.join("udica2"), &json, "web2", &flags);
    let mut args = vec!["web", "--name", "web2"];
    args.extend(flags);
    let got = hoist_generate(&h, &work.join("hoist2"), &args, "web2");
    assert_eq!(got, want);
    assert!(
        got.cil
            .contains("(allow process var_t ( file ( read open )))"),
        "{}",
        got.cil
    );
    assert!(
        got.stdout.starts_with("WARNING: process type: other_t"),
        "{}",
        got.stdout
    );
    assert!(
        got.cil
            .contains("( capability ( net_bind_service setuid )))"),
        "{}",
        got.cil
    );
    // `other.process` is a policy of its own, loaded beside this one.
    let with_other = format!("(block other (blockinherit container))\n{}", got.cil);
    secilc(&work, &with_other, &got.stdout).unwrap_or_else(|e| panic!("secilc: {e}\n{}", got.cil));

    // Inspect data given as JSON (`-j -`, as udica takes it), edited into
    // what other containers would show: /home read-write and /tmp
    // read-only mounts (udica's own templates), and docker's shape (no
    // `container=podman`: udica takes no capabilities from it).
    let mut edited: Vec<Value> = serde_json::from_str(&json).unwrap();
    let m = edited[0]["Mounts"].as_array_mut().unwrap();
    let home = m.iter_mut().find(|m| m["Source"] == "/home").unwrap();
    home["RW"] = Value::Bool(true);
    let log = m.iter_mut().find(|m| m["Source"] == "/var/log").unwrap();
    log["Source"] = Value::from("/tmp");
    log["RW"] = Value::Bool(false);
    let podman_shape = serde_json::to_string(&edited).unwrap();
    edited[0]["Config"]["Env"] = serde_json::json!(["PATH=/bin"]);
    let docker_shape = serde_json::to_string(&edited).unwrap();
    for (i, doc) in [podman_shape, docker_shape].iter().enumerate() {
        let want = udica(&work.join(format!("udica-j{i}")), doc, "edited", &[]);
        let dir = work.join(format!("hoist-j{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let out = h
            .command(&["generate", "selinux", "-j", "-", "--name", "edited"])
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(doc.as_bytes())?;
                child.wait_with_output()
            })
            .expect("running hoist");
        let got = read_policy(&dir, "edited", out, "hoist generate selinux -j -");
        assert_eq!(got, want);
        assert!(
            got.cil.contains("(blockinherit home_rw_container)"),
            "{}",
            got.cil
        );
        assert!(
            got.cil.contains("(blockinherit tmp_container)"),
            "{}",
            got.cil
        );
        assert_eq!(got.cil.contains("( capability ("), i == 0, "{}", got.cil);
        secilc(&work, &got.cil, &got.stdout).unwrap_or_else(|e| panic!("secilc: {e}\n{}", got.cil));
    }
}

#[test]
fn a_started_container_reports_the_capabilities_it_runs_with() {
    require_tools();
    let (_reg, h, image) = common::setup_with_busybox();
    h.run(&[
        "run",
        "-d",
        "--name",
        "capped",
        "--cap-drop",
        "all",
        "--cap-add",
        "NET_BIND_SERVICE,SETUID",
        &image,
        "sleep",
        "100",
    ])
    .ok();
    let json = inspect_json(&h, "capped");
    let doc: Value = serde_json::from_str::<Vec<Value>>(&json).unwrap().remove(0);
    assert_eq!(
        strings(&doc["EffectiveCaps"]),
        ["CAP_NET_BIND_SERVICE", "CAP_SETUID"]
    );
    let status = h
        .run(&["exec", "capped", "cat", "/proc/self/status"])
        .ok()
        .stdout;
    // NET_BIND_SERVICE is bit 10, SETUID bit 7.
    assert!(status.contains("CapEff:\t0000000000000480"), "{status}");

    let work = h.base_dir().join("selinux");
    let want = udica(&work.join("udica"), &json, "capped", &[]);
    let got = hoist_generate(&h, &work.join("hoist"), &["capped"], "capped");
    assert_eq!(got, want);
    assert_eq!(
        got.cil,
        "(block capped\n    (blockinherit container)\n    \
         (allow process process ( capability ( net_bind_service setuid ))) \n\n)"
    );
    secilc(&work, &got.cil, &got.stdout).unwrap_or_else(|e| panic!("secilc: {e}"));
    h.run(&["rm", "-f", "-t", "0", "capped"]).ok();
}

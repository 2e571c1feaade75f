use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::parse::{LimitValue, UlimitResource};
use crate::search::tests::env_in;

fn write(path: &Path, text: &str) -> PathBuf {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    path.to_path_buf()
}

#[test]
fn defaults_are_podman_4_3() {
    let c = ContainersConf::defaults();
    assert!(c.sources().is_empty());
    let k = c.containers();
    assert_eq!(k.pids_limit(), 2048);
    assert_eq!(k.log_driver(), "k8s-file");
    assert_eq!(k.log_size_max().limit(), None);
    assert_eq!(k.tz(), "");
    assert_eq!(k.umask().bits(), 0o022);
    assert_eq!(k.shm_size().bytes(), 64 << 20);
    assert_eq!(k.ipcns(), "shareable");
    assert_eq!(
        (k.pidns(), k.utsns(), k.netns(), k.userns()),
        ("private", "private", "private", "host")
    );
    assert!(k.http_proxy() && !k.env_host() && !k.init() && !k.no_hosts() && k.label());
    assert_eq!(k.default_capabilities().len(), 11);
    assert_eq!(k.default_capabilities()[0], "CAP_CHOWN");
    assert_eq!(k.env().len(), 2);
    assert_eq!(k.env()[1].to_string(), "TERM=xterm");
    assert!(k.default_ulimits().is_empty() && k.volumes().is_empty());
    assert_eq!(k.init_path(), None);
    let e = c.engine();
    assert_eq!(e.runtime(), "crun");
    assert!(!e.runtime_is_set());
    assert_eq!(e.stop_timeout(), 10);
    assert_eq!(e.events_logger(), EventsLogger::Journald);
    assert_eq!(
        e.events_logfile_path(),
        Path::new("/run/libpod/events/events.log")
    );
    assert_eq!(e.events_logfile_max_size().decimal_bytes(), 1_000_000);
    assert_eq!(e.cgroup_manager(), "systemd");
    assert_eq!(e.tmp_dir(), Path::new("/run/libpod"));
    assert_eq!(e.image_default_transport(), "docker://");
    assert_eq!(e.image_parallel_copies(), 0);
    assert_eq!(e.pull_policy(), PullPolicy::Missing);
    assert_eq!(e.infra_image(), None);
    assert_eq!(e.infra_command(), "/pause");
    assert_eq!(e.num_locks(), 2048);
    assert_eq!(
        e.hooks_dir(),
        [PathBuf::from("/usr/share/containers/oci/hooks.d")]
    );
    assert_eq!(e.conmon_path().len(), 7);
    assert_eq!(
        e.runtime_paths("runc").unwrap()[0],
        Path::new("/usr/bin/runc")
    );
    assert_eq!(e.runtimes().len(), 5);
    let g = Path::new("/var/lib/containers/storage");
    assert_eq!(e.static_dir(g), g.join("libpod"));
    assert_eq!(e.volume_path(g), g.join("volumes"));
    let n = c.network();
    assert_eq!(n.default_network(), "podman");
    assert_eq!(n.default_subnet().to_string(), "10.88.0.0/16");
    assert_eq!(n.default_subnet_pools().len(), 5);
    assert_eq!(n.default_subnet_pools()[0].size, 24);
    assert_eq!(n.network_backend(), "");
    assert_eq!(n.network_config_dir(), None);
    assert_eq!(n.cni_plugin_dirs().len(), 5);
    assert_eq!(c.secrets().driver(), "file");
}

#[test]
fn precedence_defaults_share_etc_drop_ins() {
    let t = tempfile::tempdir().unwrap();
    let share = write(
        &t.path().join("usr/share/containers/containers.conf"),
        "[containers]\npids_limit = 100\nlog_tag = \"share\"\ntz = \"share\"\nvolumes = [\"/a:/a\", \"/b:/b\"]\n[engine]\nruntime = \"runc\"\n",
    );
    let etc = write(
        &t.path().join("etc/containers/containers.conf"),
        "[containers]\nlog_tag = \"etc\"\ntz = \"etc\"\n[engine.runtimes]\nrunc = [\"/etc/runc\"]\nmine = [\"/opt/mine\"]\n",
    );
    let d = t.path().join("etc/containers/containers.conf.d");
    let second = write(&d.join("20-b.conf"), "[containers]\ntz = \"20\"\n");
    let first = write(
        &d.join("10-a.conf"),
        "[containers]\ntz = \"10\"\nvolumes = [\"/c:/c\"]\n[engine.runtimes]\nrunc = [\"/d/runc\"]\n",
    );
    let conf = ContainersConf::load_with(&env_in(t.path())).unwrap();
    assert_eq!(
        conf.sources(),
        [share.clone(), etc.clone(), first.clone(), second.clone()]
    );
    let k = conf.containers();
    // Set only in /usr/share: kept.
    assert_eq!(k.pids_limit(), 100);
    assert_eq!(conf.origin("containers.pids_limit"), Some(share.as_path()));
    // /etc over /usr/share, drop-ins over /etc, later drop-in last.
    assert_eq!(k.log_tag(), "etc");
    assert_eq!(k.tz(), "20");
    assert_eq!(conf.origin("containers.tz"), Some(second.as_path()));
    // Arrays are replaced, not appended.
    assert_eq!(k.volumes(), ["/c:/c".to_string()]);
    // Runtime table entries merge by name.
    let e = conf.engine();
    assert_eq!(e.runtime(), "runc");
    assert!(e.runtime_is_set());
    assert_eq!(e.runtime_paths("runc").unwrap(), [PathBuf::from("/d/runc")]);
    assert_eq!(
        e.runtime_paths("mine").unwrap(),
        [PathBuf::from("/opt/mine")]
    );
    assert_eq!(
        e.runtime_paths("crun").unwrap()[0],
        Path::new("/usr/bin/crun")
    );
    assert_eq!(conf.origin("engine.runtimes.mine"), Some(etc.as_path()));
    assert_eq!(conf.origin("engine.runtimes.runc"), Some(first.as_path()));
    assert_eq!(conf.origin("engine.stop_timeout"), None);
    assert_eq!(e.stop_timeout(), 10);

    // CONTAINERS_CONF: only that file over the defaults.
    let only = write(
        &t.path().join("env.conf"),
        "[containers]\nlog_tag = \"env\"\n",
    );
    let mut env = env_in(t.path());
    env.containers_conf = Some(only.clone());
    let conf = ContainersConf::load_with(&env).unwrap();
    assert_eq!(conf.sources(), [only]);
    assert_eq!(conf.containers().log_tag(), "env");
    assert_eq!(conf.containers().pids_limit(), 2048);
    assert_eq!(conf.containers().tz(), "");
    assert_eq!(conf.engine().runtime(), "crun");
}

#[test]
fn rootless_user_file_is_last() {
    let t = tempfile::tempdir().unwrap();
    write(
        &t.path().join("etc/containers/containers.conf"),
        "[containers]\ntz = \"etc\"\nlog_tag = \"etc\"\n",
    );
    write(
        &t.path().join("etc/containers/containers.conf.d/z.conf"),
        "[containers]\ntz = \"dropin\"\n",
    );
    let xdg = t.path().join("xdg");
    write(
        &xdg.join("containers/containers.conf"),
        "[containers]\ntz = \"user\"\n",
    );
    let mut env = env_in(t.path());
    env.uid = 1000;
    env.xdg_config_home = Some(xdg);
    let conf = ContainersConf::load_with(&env).unwrap();
    assert_eq!(conf.containers().tz(), "user");
    assert_eq!(conf.containers().log_tag(), "etc");
}

#[test]
fn malformed_file_error_names_file() {
    let t = tempfile::tempdir().unwrap();
    let good = write(&t.path().join("good.conf"), "[containers]\ntz = \"x\"\n");
    let bad = write(
        &t.path().join("bad.conf"),
        "[containers]\ntz = \"x\"\numask = \"0999\"\n",
    );
    let e = ContainersConf::load_from(&[good, bad.clone()]).unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains(&bad.display().to_string()), "{shown}");
    assert!(shown.contains("line 3"), "{shown}");
    assert!(shown.contains("umask \"0999\""), "{shown}");

    let missing = t.path().join("missing.conf");
    let e = ContainersConf::load_from(&[missing]).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
}

#[test]
fn unknown_keys_do_not_fail_loading() {
    let t = tempfile::tempdir().unwrap();
    let f = write(
        &t.path().join("c.conf"),
        "[containers]\nprepare_volume_on_create = true\npids_limit = 7\n[engine]\nremote = false\n[engine.volume_plugins]\np = \"/run/p.sock\"\n[machine]\ncpus = 4\n[farms]\nx = 1\n",
    );
    let conf = ContainersConf::load_from(&[f]).unwrap();
    assert_eq!(conf.containers().pids_limit(), 7);
}

#[test]
fn installed_usr_share_file_gives_defaults() {
    // The one test that reads the machine: podman 4.3's shipped file, opened
    // read-only. Debian's copy leaves everything commented out except the
    // capabilities (the built-in list) and one sysctl.
    let path = PathBuf::from("/usr/share/containers/containers.conf");
    hoist_testenv::require_file(
        &path,
        "the Debian package `containers-common` (with podman)",
    );
    let conf = ContainersConf::load_from(std::slice::from_ref(&path)).unwrap();
    let defaults = ContainersConf::defaults();
    assert_eq!(conf.sources(), [path]);
    assert_eq!(
        conf.containers().default_capabilities(),
        defaults.containers().default_capabilities()
    );
    assert_eq!(conf.containers().pids_limit(), 2048);
    assert_eq!(conf.engine().runtime(), "crun");
    assert!(!conf.engine().runtime_is_set());
    assert_eq!(conf.engine().runtimes(), defaults.engine().runtimes());
    assert_eq!(
        conf.network().default_subnet(),
        defaults.network().default_subnet()
    );
    let set: Vec<&String> = conf.origins.keys().collect();
    assert!(
        set.iter().all(|k| [
            "containers.default_capabilities",
            "containers.default_sysctls"
        ]
        .contains(&k.as_str())),
        "unexpected keys set by the shipped file: {set:?}"
    );
}

const FULL: &str = r#"
[containers]
annotations = ["run.oci.keep_original_groups=1"]
apparmor_profile = "unconfined"
base_hosts_file = "none"
cgroupns = "host"
cgroups = "no-conmon"
default_capabilities = ["chown", "CAP_KILL", "net_raw"]
default_sysctls = ["net.ipv4.ping_group_range=0 0"]
default_ulimits = ["nofile=20000:40000", "nproc=-1"]
devices = ["/dev/fuse", "/dev/sdc:/dev/xvdc:rw"]
dns_options = ["ndots:2"]
dns_searches = ["example.com"]
dns_servers = ["1.1.1.1"]
env = ["FOO=bar", "HOME", "LC_*"]
env_host = true
host_containers_internal_ip = "none"
http_proxy = false
init = true
init_path = "/usr/bin/catatonit"
ipcns = "private"
keyring = false
label = false
log_driver = "journald"
log_size_max = 1048576
log_tag = "{{.Name}}"
netns = "host"
no_hosts = true
oom_score_adj = -500
pidns = "host"
pids_limit = 0
seccomp_profile = "/etc/hoist/seccomp.json"
shm_size = "1g"
tz = "local"
umask = "0077"
userns = "auto"
userns_size = 1024
utsns = "host"
volumes = ["/srv:/srv:ro"]

[engine]
cgroup_manager = "cgroupfs"
conmon_path = ["/opt/conmon"]
detach_keys = "ctrl-x"
env = ["http_proxy=http://proxy:3128"]
events_logfile_max_size = "2m"
events_logfile_path = "/var/log/hoist-events.log"
events_logger = "file"
healthcheck_events = false
helper_binaries_dir = ["/opt/helpers"]
hooks_dir = ["/etc/hoist/hooks.d", "/usr/share/containers/oci/hooks.d"]
image_default_transport = "oci:"
image_parallel_copies = 3
infra_command = "/catatonit"
infra_image = "k8s.gcr.io/pause:3.5"
no_pivot_root = true
num_locks = 4096
pull_policy = "always"
runtime = "runc"
static_dir = "/srv/hoist/libpod"
stop_timeout = 30
tmp_dir = "/run/hoist"
volume_path = "/srv/hoist/volumes"

[engine.runtimes]
runc = ["/opt/runc"]

[network]
cni_plugin_dirs = ["/opt/cni"]
default_network = "hoist"
default_subnet = "10.99.0.0/16"
default_subnet_pools = [{"base" = "10.100.0.0/16", "size" = 26}]
dns_bind_port = 5353
netavark_plugin_dirs = ["/opt/netavark"]
network_backend = "netavark"
network_config_dir = "/etc/hoist/networks"

[secrets]
driver = "pass"

[secrets.opts]
root = "/srv/secrets"

[machine]
cpus = 2
"#;

#[test]
fn every_supported_key() {
    let t = tempfile::tempdir().unwrap();
    let f = write(&t.path().join("full.conf"), FULL);
    let conf = ContainersConf::load_from(&[f]).unwrap();
    // Every key of the example is known (a misspelt field would show here),
    // except the table hoist ignores.
    let raw: toml::Table = toml::from_str(FULL).unwrap();
    let known = toml::Table::try_from(conf.file()).unwrap();
    let mut unknown = Vec::new();
    crate::read::unknown_keys(&raw, &known, "", &mut unknown);
    assert_eq!(unknown, ["machine"]);
    let k = conf.containers();
    assert_eq!(k.annotations()[0].key, "run.oci.keep_original_groups");
    assert_eq!(k.apparmor_profile(), "unconfined");
    assert_eq!(k.base_hosts_file(), "none");
    assert_eq!(k.cgroupns(), "host");
    assert_eq!(k.cgroups(), "no-conmon");
    assert_eq!(
        k.default_capabilities(),
        ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]
    );
    assert_eq!(k.default_sysctls()[0].value, "0 0");
    let u = k.default_ulimits();
    assert_eq!(
        (u[0].resource, u[0].soft, u[0].hard),
        (
            UlimitResource::Nofile,
            LimitValue::Value(20000),
            LimitValue::Value(40000)
        )
    );
    assert_eq!(
        (u[1].resource, u[1].hard),
        (UlimitResource::Nproc, LimitValue::Unlimited)
    );
    assert_eq!(k.devices()[1].container, Path::new("/dev/xvdc"));
    assert_eq!(k.dns_options(), ["ndots:2"]);
    assert_eq!(k.dns_searches(), ["example.com"]);
    assert_eq!(k.dns_servers(), ["1.1.1.1"]);
    assert_eq!(k.env()[1], EnvEntry::FromHost { key: "HOME".into() });
    assert!(
        k.env_host() && !k.http_proxy() && k.init() && !k.keyring() && !k.label() && k.no_hosts()
    );
    assert_eq!(k.host_containers_internal_ip(), "none");
    assert_eq!(k.init_path(), Some(Path::new("/usr/bin/catatonit")));
    assert_eq!(k.ipcns(), "private");
    assert_eq!(k.log_driver(), "journald");
    assert_eq!(k.log_size_max().limit(), Some(1 << 20));
    assert_eq!(k.log_tag(), "{{.Name}}");
    assert_eq!(
        (k.netns(), k.pidns(), k.utsns(), k.userns()),
        ("host", "host", "host", "auto")
    );
    assert_eq!(k.oom_score_adj(), Some(-500));
    assert_eq!(k.pids_limit(), 0);
    assert_eq!(k.seccomp_profile(), Path::new("/etc/hoist/seccomp.json"));
    assert_eq!(k.shm_size().bytes(), 1 << 30);
    assert_eq!(k.tz(), "local");
    assert_eq!(k.umask().bits(), 0o077);
    assert_eq!(k.userns_size(), 1024);
    assert_eq!(k.volumes(), ["/srv:/srv:ro"]);

    let e = conf.engine();
    assert_eq!(e.cgroup_manager(), "cgroupfs");
    assert_eq!(e.conmon_path(), [PathBuf::from("/opt/conmon")]);
    assert_eq!(e.detach_keys(), "ctrl-x");
    assert_eq!(e.env()[0].to_string(), "http_proxy=http://proxy:3128");
    assert_eq!(e.events_logfile_max_size().decimal_bytes(), 2_000_000);
    assert_eq!(
        e.events_logfile_path(),
        Path::new("/var/log/hoist-events.log")
    );
    assert_eq!(e.events_logger(), EventsLogger::File);
    assert!(!e.healthcheck_events() && e.no_pivot_root());
    assert_eq!(e.helper_binaries_dir(), [PathBuf::from("/opt/helpers")]);
    assert_eq!(e.hooks_dir().len(), 2);
    assert_eq!(e.image_default_transport(), "oci:");
    assert_eq!(e.image_parallel_copies(), 3);
    assert_eq!(e.infra_command(), "/catatonit");
    assert_eq!(e.infra_image(), Some("k8s.gcr.io/pause:3.5"));
    assert_eq!(e.num_locks(), 4096);
    assert_eq!(e.pull_policy(), PullPolicy::Always);
    assert_eq!(e.runtime(), "runc");
    assert_eq!(
        e.runtime_paths("runc").unwrap(),
        [PathBuf::from("/opt/runc")]
    );
    let g = Path::new("/ignored");
    assert_eq!(e.static_dir(g), Path::new("/srv/hoist/libpod"));
    assert_eq!(e.volume_path(g), Path::new("/srv/hoist/volumes"));
    assert_eq!(e.stop_timeout(), 30);
    assert_eq!(e.tmp_dir(), Path::new("/run/hoist"));

    let n = conf.network();
    assert_eq!(n.cni_plugin_dirs(), [PathBuf::from("/opt/cni")]);
    assert_eq!(n.default_network(), "hoist");
    assert_eq!(n.default_subnet().to_string(), "10.99.0.0/16");
    assert_eq!(
        n.default_subnet_pools()[0].base.to_string(),
        "10.100.0.0/16"
    );
    assert_eq!(n.default_subnet_pools()[0].size, 26);
    assert_eq!(n.dns_bind_port(), 5353);
    assert_eq!(n.netavark_plugin_dirs(), [PathBuf::from("/opt/netavark")]);
    assert_eq!(n.network_backend(), "netavark");
    assert_eq!(
        n.network_config_dir(),
        Some(Path::new("/etc/hoist/networks"))
    );

    assert_eq!(conf.secrets().driver(), "pass");
    assert_eq!(
        conf.secrets().opts().get("root").map(String::as_str),
        Some("/srv/secrets")
    );
}

#[test]
fn find_runtime_picks_first_existing_file() {
    let t = tempfile::tempdir().unwrap();
    let dir_candidate = t.path().join("adir");
    fs::create_dir(&dir_candidate).unwrap();
    let real = write(&t.path().join("bin/myrt"), "");
    let conf_file = write(
        &t.path().join("c.conf"),
        &format!(
            "[engine.runtimes]\nmyrt = [\"{}\", \"{}\", \"{}\"]\nnone = [\"{}\"]\n",
            t.path().join("missing").display(),
            dir_candidate.display(),
            real.display(),
            t.path().join("missing").display(),
        ),
    );
    let conf = ContainersConf::load_from(&[conf_file]).unwrap();
    assert_eq!(conf.find_runtime("myrt"), Some(real.clone()));
    assert_eq!(conf.find_runtime("none"), None);
    assert_eq!(conf.find_runtime("not-configured"), None);
    assert_eq!(conf.find_runtime(real.to_str().unwrap()), Some(real));
    assert_eq!(conf.find_runtime(dir_candidate.to_str().unwrap()), None);
}

#[test]
fn files_seen_unchanged_are_not_parsed_again_and_changed_ones_are() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir.path().join("c.conf"), "[containers]\npids_limit = 5\n");
    let files = [file.clone()];
    let first = ContainersConf::load_from_unless_seen(&files).unwrap();
    assert_eq!(first.containers().pids_limit(), 5);
    assert_eq!(
        ContainersConf::load_from_unless_seen(&files).unwrap(),
        first
    );
    // A change of size is seen whatever the clock's resolution.
    write(&file, "[containers]\npids_limit = 600\n");
    let changed = ContainersConf::load_from_unless_seen(&files).unwrap();
    assert_eq!(changed.containers().pids_limit(), 600);
    fs::remove_file(&file).unwrap();
    assert!(ContainersConf::load_from_unless_seen(&files).is_err());
}

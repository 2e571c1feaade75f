//! The loaded configuration: the merged file layer, the files it came from,
//! and accessors that fall back to podman's built-in values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use crate::defaults as d;
use crate::error::ConfigError;
use crate::layer::{ConfFile, ContainersTable, EngineTable, NetworkTable, Origins, SecretsTable};
use crate::parse::{
    ByteSize, DeviceSpec, EnvEntry, EventsLogger, KeyValue, LogSizeMax, PullPolicy, Subnet,
    SubnetPool, Ulimit, Umask,
};
use crate::read::read_file;
use crate::search::LoadEnv;

/// A configuration file as last seen: its path, size and modification
/// time (`None` when it could not be read).
#[derive(Debug, PartialEq)]
struct FileStamp {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn of(path: &Path) -> FileStamp {
        let meta = std::fs::metadata(path).ok();
        FileStamp {
            path: path.to_path_buf(),
            len: meta.as_ref().map_or(0, |m| m.len()),
            modified: meta.and_then(|m| m.modified().ok()),
        }
    }
}

/// containers.conf as podman 4.3 would see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainersConf {
    file: ConfFile,
    sources: Vec<PathBuf>,
    origins: Origins,
}

impl ContainersConf {
    /// Built-in values only, no file read.
    pub fn defaults() -> Self {
        Self::default()
    }

    /// The standard search, from the process's environment and uid.
    /// Files already parsed by this process, unchanged since (same size
    /// and modification time), are not parsed again: one command reads the
    /// configuration in several places (its events, a container's defaults).
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from_unless_seen(&LoadEnv::from_process().config_files()?)
    }

    /// [`ContainersConf::load_from`], or what it gave last time in this
    /// process if `files` are the same, unchanged.
    fn load_from_unless_seen(files: &[PathBuf]) -> Result<Self, ConfigError> {
        static LAST: Mutex<Option<(Vec<FileStamp>, ContainersConf)>> = Mutex::new(None);
        let stamps: Vec<FileStamp> = files.iter().map(|f| FileStamp::of(f)).collect();
        let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seen, conf)) = last.as_ref() {
            if *seen == stamps && stamps.iter().all(|s| s.modified.is_some()) {
                return Ok(conf.clone());
            }
        }
        let conf = Self::load_from(files)?;
        *last = Some((stamps, conf.clone()));
        Ok(conf)
    }

    /// The standard search in a given environment.
    pub fn load_with(env: &LoadEnv) -> Result<Self, ConfigError> {
        Self::load_from(&env.config_files()?)
    }

    /// Reads exactly `paths`, lowest precedence first; each must exist.
    pub fn load_from(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        let mut conf = Self::default();
        for path in paths {
            let layer = read_file(path)?;
            conf.file.merge_from(layer, path, &mut conf.origins);
            conf.sources.push(path.clone());
            tracing::debug!(path = %path.display(), "merged containers.conf");
        }
        Ok(conf)
    }

    /// The files read, in the order they were applied.
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// The file that set a key (`"engine.runtime"`, `"engine.runtimes.runc"`),
    /// `None` when the built-in value is in effect.
    pub fn origin(&self, key: &str) -> Option<&Path> {
        self.origins.get(key).map(PathBuf::as_path)
    }

    /// What the files said, merged: `None` for keys no file set.
    pub fn file(&self) -> &ConfFile {
        &self.file
    }

    pub fn containers(&self) -> Containers<'_> {
        Containers(&self.file.containers)
    }

    pub fn engine(&self) -> Engine<'_> {
        Engine(&self.file.engine)
    }

    pub fn network(&self) -> Network<'_> {
        Network(&self.file.network)
    }

    pub fn secrets(&self) -> Secrets<'_> {
        Secrets(&self.file.secrets)
    }

    /// The first existing, non-directory path configured for runtime `name`
    /// (built-in `[engine.runtimes]` entries included). An absolute `name`
    /// is taken as the binary itself when it exists.
    pub fn find_runtime(&self, name: &str) -> Option<PathBuf> {
        let usable = |p: &Path| std::fs::metadata(p).map(|m| !m.is_dir()).unwrap_or(false);
        if Path::new(name).is_absolute() {
            return usable(Path::new(name)).then(|| PathBuf::from(name));
        }
        self.engine()
            .runtime_paths(name)?
            .iter()
            .find(|p| usable(p))
            .cloned()
    }
}

fn str_or<'a>(v: &'a Option<String>, default: &'a str) -> &'a str {
    v.as_deref().unwrap_or(default)
}

fn slice_or<'a, T>(v: &'a Option<Vec<T>>, default: &'a [T]) -> &'a [T] {
    v.as_deref().unwrap_or(default)
}

/// `[containers]` with built-in values filled in.
#[derive(Debug, Clone, Copy)]
pub struct Containers<'a>(&'a ContainersTable);

impl<'a> Containers<'a> {
    pub fn annotations(self) -> &'a [KeyValue] {
        slice_or(&self.0.annotations, &[])
    }
    pub fn apparmor_profile(self) -> &'a str {
        str_or(&self.0.apparmor_profile, d::APPARMOR_PROFILE)
    }
    /// `""` (use /etc/hosts), `"image"`, `"none"` or a path.
    pub fn base_hosts_file(self) -> &'a str {
        str_or(&self.0.base_hosts_file, "")
    }
    /// podman defaults to `private` on cgroup v2 and `host` on v1.
    pub fn cgroupns(self) -> &'a str {
        match &self.0.cgroupns {
            Some(v) => v,
            None if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() => d::NAMESPACE_PRIVATE,
            None => "host",
        }
    }
    pub fn cgroups(self) -> &'a str {
        str_or(&self.0.cgroups, d::CGROUPS)
    }
    /// Upper-case with the `CAP_` prefix, as podman normalizes them.
    pub fn default_capabilities(self) -> Vec<String> {
        match &self.0.default_capabilities {
            Some(caps) => caps
                .iter()
                .map(|c| {
                    let upper = c.to_ascii_uppercase();
                    if upper.starts_with("CAP_") {
                        upper
                    } else {
                        format!("CAP_{upper}")
                    }
                })
                .collect(),
            None => d::CAPABILITIES.iter().map(|c| c.to_string()).collect(),
        }
    }
    pub fn default_sysctls(self) -> &'a [KeyValue] {
        slice_or(&self.0.default_sysctls, &[])
    }
    /// Without a file setting, podman as root adds `nproc` at the pid_max of
    /// the host; hoist leaves that to the caller (see the crate docs).
    pub fn default_ulimits(self) -> &'a [Ulimit] {
        slice_or(&self.0.default_ulimits, &[])
    }
    pub fn devices(self) -> &'a [DeviceSpec] {
        slice_or(&self.0.devices, &[])
    }
    pub fn dns_options(self) -> &'a [String] {
        slice_or(&self.0.dns_options, &[])
    }
    pub fn dns_searches(self) -> &'a [String] {
        slice_or(&self.0.dns_searches, &[])
    }
    pub fn dns_servers(self) -> &'a [String] {
        slice_or(&self.0.dns_servers, &[])
    }
    pub fn env(self) -> &'a [EnvEntry] {
        slice_or(&self.0.env, &d::ENV)
    }
    pub fn env_host(self) -> bool {
        self.0.env_host.unwrap_or(false)
    }
    pub fn host_containers_internal_ip(self) -> &'a str {
        str_or(&self.0.host_containers_internal_ip, "")
    }
    pub fn http_proxy(self) -> bool {
        self.0.http_proxy.unwrap_or(true)
    }
    pub fn init(self) -> bool {
        self.0.init.unwrap_or(false)
    }
    /// `None`: look for catatonit in the helper binary directories.
    pub fn init_path(self) -> Option<&'a Path> {
        self.0
            .init_path
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
    }
    pub fn ipcns(self) -> &'a str {
        str_or(&self.0.ipcns, d::IPCNS)
    }
    pub fn keyring(self) -> bool {
        self.0.keyring.unwrap_or(true)
    }
    pub fn label(self) -> bool {
        self.0.label.unwrap_or(true)
    }
    pub fn log_driver(self) -> &'a str {
        str_or(&self.0.log_driver, d::LOG_DRIVER)
    }
    pub fn log_size_max(self) -> LogSizeMax {
        self.0.log_size_max.unwrap_or(LogSizeMax::UNLIMITED)
    }
    pub fn log_tag(self) -> &'a str {
        str_or(&self.0.log_tag, "")
    }
    pub fn netns(self) -> &'a str {
        str_or(&self.0.netns, d::NAMESPACE_PRIVATE)
    }
    pub fn no_hosts(self) -> bool {
        self.0.no_hosts.unwrap_or(false)
    }
    /// `None`: leave the runtime's default.
    pub fn oom_score_adj(self) -> Option<i32> {
        self.0.oom_score_adj.map(|v| v.value())
    }
    pub fn pidns(self) -> &'a str {
        str_or(&self.0.pidns, d::NAMESPACE_PRIVATE)
    }
    /// 0 or negative: no limit.
    pub fn pids_limit(self) -> i64 {
        self.0.pids_limit.unwrap_or(d::PIDS_LIMIT)
    }
    /// podman's default is /etc/containers/seccomp.json if it exists, else
    /// /usr/share/containers/seccomp.json.
    pub fn seccomp_profile(self) -> PathBuf {
        match &self.0.seccomp_profile {
            Some(p) => p.clone(),
            None if Path::new(d::SECCOMP_ADMIN).exists() => PathBuf::from(d::SECCOMP_ADMIN),
            None => PathBuf::from(d::SECCOMP_SYSTEM),
        }
    }
    pub fn shm_size(self) -> ByteSize {
        self.0
            .shm_size
            .clone()
            .unwrap_or_else(|| d::SHM_SIZE.parse().expect("built-in size parses"))
    }
    /// `""`: the image's timezone; `"local"`: the host's.
    pub fn tz(self) -> &'a str {
        str_or(&self.0.tz, "")
    }
    pub fn umask(self) -> Umask {
        self.0.umask.unwrap_or(Umask::new_unchecked(d::UMASK))
    }
    pub fn userns(self) -> &'a str {
        str_or(&self.0.userns, d::USERNS)
    }
    pub fn userns_size(self) -> u32 {
        self.0.userns_size.unwrap_or(d::USERNS_SIZE)
    }
    pub fn utsns(self) -> &'a str {
        str_or(&self.0.utsns, d::NAMESPACE_PRIVATE)
    }
    pub fn volumes(self) -> &'a [String] {
        slice_or(&self.0.volumes, &[])
    }
}

/// `[engine]` with built-in values filled in.
#[derive(Debug, Clone, Copy)]
pub struct Engine<'a>(&'a EngineTable);

impl<'a> Engine<'a> {
    pub fn cgroup_manager(self) -> &'a str {
        str_or(&self.0.cgroup_manager, d::CGROUP_MANAGER)
    }
    pub fn conmon_env_vars(self) -> &'a [EnvEntry] {
        slice_or(&self.0.conmon_env_vars, &d::CONMON_ENV)
    }
    pub fn conmon_path(self) -> &'a [PathBuf] {
        slice_or(&self.0.conmon_path, &d::CONMON_PATH)
    }
    pub fn detach_keys(self) -> &'a str {
        str_or(&self.0.detach_keys, d::DETACH_KEYS)
    }
    /// Variables for the engine process itself, not for containers.
    pub fn env(self) -> &'a [EnvEntry] {
        slice_or(&self.0.env, &[])
    }
    /// podman reads this size with decimal units ("1m" = 1000000 bytes):
    /// use [`ByteSize::decimal_bytes`].
    pub fn events_logfile_max_size(self) -> ByteSize {
        self.0
            .events_logfile_max_size
            .clone()
            .unwrap_or_else(|| ByteSize::from_bytes(d::EVENTS_LOGFILE_MAX_SIZE))
    }
    /// Default: `events/events.log` under [`Engine::tmp_dir`].
    pub fn events_logfile_path(self) -> PathBuf {
        match &self.0.events_logfile_path {
            Some(p) if !p.as_os_str().is_empty() => p.clone(),
            _ => self.tmp_dir().join("events").join("events.log"),
        }
    }
    pub fn events_logger(self) -> EventsLogger {
        self.0.events_logger.unwrap_or(EventsLogger::Journald)
    }
    pub fn healthcheck_events(self) -> bool {
        self.0.healthcheck_events.unwrap_or(true)
    }
    pub fn helper_binaries_dir(self) -> &'a [PathBuf] {
        slice_or(&self.0.helper_binaries_dir, &d::HELPER_BINARIES_DIR)
    }
    pub fn hooks_dir(self) -> &'a [PathBuf] {
        slice_or(&self.0.hooks_dir, &d::HOOKS_DIR)
    }
    pub fn image_copy_tmp_dir(self) -> &'a str {
        str_or(&self.0.image_copy_tmp_dir, d::IMAGE_COPY_TMP_DIR)
    }
    pub fn image_default_transport(self) -> &'a str {
        str_or(&self.0.image_default_transport, d::IMAGE_DEFAULT_TRANSPORT)
    }
    /// `bind` (an anonymous volume per VOLUME), `tmpfs` or `ignore`.
    pub fn image_volume_mode(self) -> &'a str {
        str_or(&self.0.image_volume_mode, "bind")
    }
    /// 0: the image library's own default.
    pub fn image_parallel_copies(self) -> u32 {
        self.0.image_parallel_copies.unwrap_or(0)
    }
    pub fn infra_command(self) -> &'a str {
        str_or(&self.0.infra_command, d::INFRA_COMMAND)
    }
    /// `None`: the engine's built-in pause image.
    pub fn infra_image(self) -> Option<&'a str> {
        self.0.infra_image.as_deref().filter(|s| !s.is_empty())
    }
    pub fn no_pivot_root(self) -> bool {
        self.0.no_pivot_root.unwrap_or(false)
    }
    pub fn num_locks(self) -> u32 {
        self.0.num_locks.unwrap_or(d::NUM_LOCKS)
    }
    pub fn pull_policy(self) -> PullPolicy {
        self.0.pull_policy.unwrap_or(PullPolicy::Missing)
    }
    /// podman's default is `crun`; [`Engine::runtime_is_set`] tells whether a
    /// file chose it, for engines whose own default differs.
    pub fn runtime(self) -> &'a str {
        str_or(&self.0.runtime, d::RUNTIME)
    }
    pub fn runtime_is_set(self) -> bool {
        self.0.runtime.is_some()
    }
    /// The built-in table with the files' entries laid over it by name.
    pub fn runtimes(self) -> BTreeMap<String, Vec<PathBuf>> {
        let mut all = d::RUNTIMES.clone();
        all.extend(self.0.runtimes.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }
    /// Candidate paths for runtime `name`, `None` when it is not configured.
    pub fn runtime_paths(self, name: &str) -> Option<&'a [PathBuf]> {
        self.0
            .runtimes
            .get(name)
            .or_else(|| d::RUNTIMES.get(name))
            .map(Vec::as_slice)
    }
    /// podman's default is `libpod` under the storage graph root.
    pub fn static_dir(self, graph_root: &Path) -> PathBuf {
        match &self.0.static_dir {
            Some(p) if !p.as_os_str().is_empty() => p.clone(),
            _ => graph_root.join("libpod"),
        }
    }
    pub fn stop_timeout(self) -> u64 {
        self.0.stop_timeout.unwrap_or(d::STOP_TIMEOUT)
    }
    /// The root default; rootless podman uses `$XDG_RUNTIME_DIR/libpod/tmp`.
    pub fn tmp_dir(self) -> PathBuf {
        match &self.0.tmp_dir {
            Some(p) if !p.as_os_str().is_empty() => p.clone(),
            _ => PathBuf::from(d::TMP_DIR),
        }
    }
    /// podman's default is `volumes` under the storage graph root.
    pub fn volume_path(self, graph_root: &Path) -> PathBuf {
        match &self.0.volume_path {
            Some(p) if !p.as_os_str().is_empty() => p.clone(),
            _ => graph_root.join("volumes"),
        }
    }
}

/// `[network]` with built-in values filled in.
#[derive(Debug, Clone, Copy)]
pub struct Network<'a>(&'a NetworkTable);

impl<'a> Network<'a> {
    pub fn cni_plugin_dirs(self) -> &'a [PathBuf] {
        slice_or(&self.0.cni_plugin_dirs, &d::CNI_PLUGIN_DIRS)
    }
    pub fn default_network(self) -> &'a str {
        str_or(&self.0.default_network, d::DEFAULT_NETWORK)
    }
    pub fn default_subnet(self) -> Subnet {
        self.0
            .default_subnet
            .unwrap_or_else(|| d::DEFAULT_SUBNET.parse().expect("built-in subnet parses"))
    }
    pub fn default_subnet_pools(self) -> &'a [SubnetPool] {
        slice_or(&self.0.default_subnet_pools, &d::SUBNET_POOLS)
    }
    pub fn dns_bind_port(self) -> u16 {
        self.0.dns_bind_port.unwrap_or(d::DNS_BIND_PORT)
    }
    pub fn netavark_plugin_dirs(self) -> &'a [PathBuf] {
        slice_or(&self.0.netavark_plugin_dirs, &[])
    }
    /// `""`: choose automatically (podman 4.3 picks netavark unless CNI
    /// state already exists).
    pub fn network_backend(self) -> &'a str {
        str_or(&self.0.network_backend, "")
    }
    /// `None`: the backend's own directory (`/etc/containers/networks` for
    /// netavark as root).
    pub fn network_config_dir(self) -> Option<&'a Path> {
        self.0
            .network_config_dir
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
    }
}

/// `[secrets]` with built-in values filled in.
#[derive(Debug, Clone, Copy)]
pub struct Secrets<'a>(&'a SecretsTable);

impl<'a> Secrets<'a> {
    pub fn driver(self) -> &'a str {
        str_or(&self.0.driver, d::SECRETS_DRIVER)
    }
    pub fn opts(self) -> &'a BTreeMap<String, String> {
        &self.0.opts
    }
}

#[cfg(test)]
#[path = "conf_tests.rs"]
mod tests;

//! The file layer: what containers.conf files say, every key an `Option`
//! (`None` = no file set it). Files merge field by field; a key a later file
//! sets replaces the earlier value whole (arrays are not appended: podman 4.3
//! has no `append` attribute), while the keys of name-indexed tables
//! (`[engine.runtimes]`, `[secrets.opts]`) merge one name at a time, as
//! decoding into podman's already-filled maps does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::parse::{
    ByteSize, DeviceSpec, EnvEntry, EventsLogger, KeyValue, LogSizeMax, OomScoreAdj, PullPolicy,
    Subnet, SubnetPool, Ulimit, Umask,
};

/// Which file last set each key, by dotted name (`engine.runtime`,
/// `engine.runtimes.crun`).
pub(crate) type Origins = BTreeMap<String, PathBuf>;

macro_rules! table {
    (
        $(#[$meta:meta])*
        $name:ident, $table:literal {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty, )*
        }
        $( maps { $( $(#[$mmeta:meta])* $map:ident : $mty:ty, )* } )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
        #[serde(default)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            $($(
                $(#[$mmeta])*
                pub $map: BTreeMap<String, $mty>,
            )*)?
        }

        impl $name {
            fn merge_from(&mut self, later: Self, origin: &Path, origins: &mut Origins) {
                $(
                    if let Some(value) = later.$field {
                        origins.insert(
                            concat!($table, ".", stringify!($field)).to_string(),
                            origin.to_path_buf(),
                        );
                        self.$field = Some(value);
                    }
                )*
                $($(
                    for (key, value) in later.$map {
                        origins.insert(
                            format!(concat!($table, ".", stringify!($map), ".{}"), key),
                            origin.to_path_buf(),
                        );
                        self.$map.insert(key, value);
                    }
                )*)?
            }
        }
    };
}

table! {
    /// `[containers]`: defaults for the containers hoist creates.
    ContainersTable, "containers" {
        annotations: Vec<KeyValue>,
        apparmor_profile: String,
        base_hosts_file: String,
        cgroupns: String,
        cgroups: String,
        default_capabilities: Vec<String>,
        default_sysctls: Vec<KeyValue>,
        default_ulimits: Vec<Ulimit>,
        devices: Vec<DeviceSpec>,
        dns_options: Vec<String>,
        dns_searches: Vec<String>,
        dns_servers: Vec<String>,
        env: Vec<EnvEntry>,
        env_host: bool,
        host_containers_internal_ip: String,
        http_proxy: bool,
        init: bool,
        init_path: PathBuf,
        ipcns: String,
        keyring: bool,
        label: bool,
        log_driver: String,
        log_size_max: LogSizeMax,
        log_tag: String,
        netns: String,
        no_hosts: bool,
        /// Not a podman 4.3 key (added later); read so newer files work.
        oom_score_adj: OomScoreAdj,
        pidns: String,
        pids_limit: i64,
        seccomp_profile: PathBuf,
        shm_size: ByteSize,
        tz: String,
        umask: Umask,
        userns: String,
        userns_size: u32,
        utsns: String,
        volumes: Vec<String>,
    }
}

table! {
    /// `[engine]`: how the engine itself runs.
    EngineTable, "engine" {
        cgroup_manager: String,
        conmon_env_vars: Vec<EnvEntry>,
        conmon_path: Vec<PathBuf>,
        detach_keys: String,
        env: Vec<EnvEntry>,
        events_logfile_max_size: ByteSize,
        events_logfile_path: PathBuf,
        events_logger: EventsLogger,
        /// Not a podman 4.3 key (added later); read so newer files work.
        healthcheck_events: bool,
        helper_binaries_dir: Vec<PathBuf>,
        hooks_dir: Vec<PathBuf>,
        image_copy_tmp_dir: String,
        image_default_transport: String,
        image_parallel_copies: u32,
        /// What images' VOLUMEs become: bind, tmpfs or ignore.
        image_volume_mode: String,
        infra_command: String,
        infra_image: String,
        no_pivot_root: bool,
        num_locks: u32,
        pull_policy: PullPolicy,
        runtime: String,
        static_dir: PathBuf,
        stop_timeout: u64,
        tmp_dir: PathBuf,
        volume_path: PathBuf,
    }
    maps {
        /// OCI runtime name -> candidate paths of its binary.
        runtimes: Vec<PathBuf>,
    }
}

table! {
    /// `[network]`.
    NetworkTable, "network" {
        cni_plugin_dirs: Vec<PathBuf>,
        default_network: String,
        default_subnet: Subnet,
        default_subnet_pools: Vec<SubnetPool>,
        dns_bind_port: u16,
        /// Not a podman 4.3 key (added later); read so newer files work.
        netavark_plugin_dirs: Vec<PathBuf>,
        network_backend: String,
        network_config_dir: PathBuf,
    }
}

table! {
    /// `[secrets]`.
    SecretsTable, "secrets" {
        driver: String,
    }
    maps {
        opts: String,
    }
}

/// One containers.conf file, or the merge of several. `[machine]` and the
/// other tables hoist has no use for are not represented.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ConfFile {
    pub containers: ContainersTable,
    pub engine: EngineTable,
    pub network: NetworkTable,
    pub secrets: SecretsTable,
}

impl ConfFile {
    /// Applies `later` (read from `origin`) over `self`.
    pub(crate) fn merge_from(&mut self, later: ConfFile, origin: &Path, origins: &mut Origins) {
        self.containers
            .merge_from(later.containers, origin, origins);
        self.engine.merge_from(later.engine, origin, origins);
        self.network.merge_from(later.network, origin, origins);
        self.secrets.merge_from(later.secrets, origin, origins);
    }
}

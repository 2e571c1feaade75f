//! Containers for hoist, podman-style and daemonless.
//!
//! - [`Containers`]: the records under `<root>/containers/<id>/`
//!   (`config.json` what was asked for, `state.json` what happened), a
//!   name index, per-container locks.
//! - [`monitor`]: the process that runs one container: mounts its root
//!   filesystem, sets up its network, runs it with the in-process runtime,
//!   keeps its output in a k8s-file log, records how it ended and cleans up.
//!   The CLI runs it as `hoist container-monitor ID` (re-executing itself),
//!   so it is single threaded when libcontainer forks.
//! - [`lifecycle`]: stop, kill, remove, wait, pause.
//! - [`logs`]: podman's k8s-file log format.
//! - [`copy`]: `cp` between a container's root and the host.
//! - [`create()`], [`MonitorLauncher`]: the create and start use cases
//!   every front end shares; [`InspectContainer`], [`PsRow`]: podman's
//!   `inspect` document and `ps` row.
//! - [`ContainerFilter`], [`PsSort`]: podman's `--filter` and `ps --sort`.
//! - [`volumes`]: named volumes under `<root>/volumes/<name>/_data`.

pub mod attach;
mod attach_input;
pub mod checkpoint;
pub mod checkpoint_image;
mod checkpoint_pod;
mod checkpoint_rootfs;
pub mod clone;
pub mod commit;
mod conf_defaults;
pub mod copy;
mod create;
mod detach;
mod error;
mod events;
pub mod exec;
mod exec_check;
mod filter;
pub mod health;
pub mod init;
pub mod initialize;
mod inspect;
mod inspect_security;
mod launch;
pub mod lifecycle;
mod lock;
pub mod logs;
pub mod monitor;
mod names;
pub mod netsetup;
pub mod networks;
mod options;
pub mod prune;
mod ps_extra;
mod pump;
mod record;
pub mod rename;
pub mod run_flags;
mod run_setup;
pub mod runlabel;
pub mod secrets;
mod shm;
pub mod snapshot;
pub mod squash;
pub mod stats;
mod store;
mod syscall_record;
pub mod system;
pub mod systemd;
mod tty;
pub mod update;
mod usage;
mod userns;
pub mod userns_auto;
pub mod volumes;

pub use conf_defaults::{apply_conf, runtime_path};
pub use create::{create, create_with_id, CreateRequest};
pub use error::{ContainerError, Result};
pub use filter::{ContainerFilter, PsSort};
pub use inspect::{
    InspectConfig, InspectContainer, InspectHostConfig, InspectMount, InspectNetwork,
    InspectNetworkSettings, InspectPortBinding, InspectRestartPolicy, InspectState, PsRow,
};
pub use inspect_security::InspectDevice;
pub use launch::{is_single_threaded, MonitorLauncher, PendingStart, StartGate};
pub use options::{
    parse_mount_flag, parse_size, parse_tmpfs_flag, parse_volume_flag, BlkioOption, CreateOptions,
    MountOption, RestartPolicy,
};
pub use ps_extra::{namespace_keys, PsSize};
pub use record::{
    human_duration as record_age, Container, ContainerConfig, ContainerState, Status,
};
pub use run_setup::{check_namespace_flag, zone_file};
pub use store::{Containers, NewContainer};

/// Exit code of an engine failure (podman's 125).
pub const EXIT_ENGINE: i32 = 125;
/// The command exists but cannot be run.
pub const EXIT_CANNOT_INVOKE: i32 = 126;
/// The command does not exist in the container.
pub const EXIT_NOT_FOUND: i32 = 127;
/// The exit code of a container whose monitor died before it could record
/// one (podman's -1 for an exit code it could not read).
pub const EXIT_UNKNOWN: i32 = -1;

/// The short (12 hex digit) form of an id.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

//! The two files of a container: `config.json` (what was asked for; written
//! once) and `state.json` (what happened; rewritten under the container's
//! lock, atomically; absent until the first change, when the state is the
//! one its config implies).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use hoist_network::{PortMapping, SetupRequest, StatusBlock};
use serde::{Deserialize, Serialize};

use crate::options::CreateOptions;

/// `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    /// The image as the user named it.
    pub image: String,
    /// The image ID (config digest hex); the engine reads this field to
    /// refuse removing images in use.
    pub image_id: String,
    /// The digest of the image's manifest (podman's `.ImageDigest`).
    #[serde(default)]
    pub image_digest: String,
    /// The image's unpacked layers, bottom first.
    pub layer_dirs: Vec<PathBuf>,
    /// The layers read on demand while their directory does not exist
    /// (lazily pulled), served by the monitor; see hoist-lazy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lazy_layers: Vec<hoist_lazy::LazyLayerSpec>,
    pub created: DateTime<Utc>,
    pub options: CreateOptions,
}

/// A container's status, with podman's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    /// `container init` made it ready: `start` only starts it (podman's
    /// "initialized").
    Initialized,
    Running,
    Paused,
    Stopping,
    Exited,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Initialized => "initialized",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopping => "stopping",
            Status::Exited => "exited",
        }
    }

    /// Whether a monitor is (supposed to be) looking after the container.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Stopping)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerState {
    pub status: Status,
    /// The init process, in the host's pid namespace, while running.
    pub pid: Option<i32>,
    pub monitor_pid: Option<i32>,
    pub exit_code: Option<i32>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub oom_killed: bool,
    pub restart_count: u32,
    /// Set by `stop`/`kill`, so the restart policy leaves it stopped.
    pub stopped_by_user: bool,
    /// Why the last start failed.
    pub error: Option<String>,
    /// The network namespace while it exists.
    pub netns: Option<PathBuf>,
    /// What netavark set up.
    pub network_status: Option<StatusBlock>,
    /// `-p` mappings with their assigned host ports.
    pub ports: Vec<PortMapping>,
    /// What was asked of netavark, kept for the teardown.
    pub network_request: Option<SetupRequest>,
    /// The root filesystem is mounted (at `<dir>/bundle/rootfs`).
    pub mounted: bool,
    /// The healthcheck's results (see [`crate::health`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::health::HealthState>,
    /// Set by `--health-on-failure=restart`: the monitor starts the
    /// container again once it has exited.
    pub health_restart: bool,
    /// When its processes were last checkpointed (`container checkpoint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpointed_at: Option<DateTime<Utc>>,
    /// When they were last restored from a checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_at: Option<DateTime<Utc>>,
    /// The network (`netns`, `network_request`, `network_status`) stays
    /// set up after a checkpoint of established TCP connections, for the
    /// restore (see [`crate::checkpoint::checkpoint`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub network_kept: bool,
    /// The root filesystem stays mounted after a checkpoint, for the
    /// restore (see [`crate::checkpoint::checkpoint`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rootfs_kept: bool,
    /// Created with `--rm`: the record goes when the container exits, so
    /// the updates of this file are not synced. They still replace it
    /// atomically; a crash can only leave an older state, and a reboot ends
    /// the processes any state describes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed_on_exit: bool,
}

impl Default for ContainerState {
    fn default() -> Self {
        ContainerState {
            status: Status::Created,
            pid: None,
            monitor_pid: None,
            exit_code: None,
            started_at: None,
            finished_at: None,
            oom_killed: false,
            restart_count: 0,
            stopped_by_user: false,
            error: None,
            netns: None,
            network_status: None,
            ports: Vec::new(),
            network_request: None,
            mounted: false,
            health: None,
            health_restart: false,
            checkpointed_at: None,
            restored_at: None,
            network_kept: false,
            rootfs_kept: false,
            removed_on_exit: false,
        }
    }
}

/// A container as read from disk.
#[derive(Debug, Clone)]
pub struct Container {
    pub config: ContainerConfig,
    pub state: ContainerState,
    pub dir: PathBuf,
}

impl Container {
    pub fn id(&self) -> &str {
        &self.config.id
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Whether its monitor process is alive (holds `monitor.lock`).
    pub fn monitor_alive(&self) -> bool {
        crate::lock::is_held(&self.dir.join(crate::store::MONITOR_LOCK))
    }

    /// The status to show: a container whose monitor died (killed, or the
    /// machine rebooted) is exited, whatever the record last said.
    pub fn status(&self) -> Status {
        if self.state.status.is_active() && !self.monitor_alive() {
            Status::Exited
        } else {
            self.state.status
        }
    }

    /// The exit code: the recorded one, or [`crate::EXIT_UNKNOWN`] for a
    /// container shown as exited because its monitor died; `None` before
    /// the container has exited.
    pub fn exit_code(&self) -> Option<i32> {
        match self.status() {
            Status::Exited => Some(self.state.exit_code.unwrap_or(crate::EXIT_UNKNOWN)),
            _ => self.state.exit_code,
        }
    }

    /// podman 4's `Status` column: `Up 5 seconds ago`, `Exited (0) 3
    /// minutes ago`, `Created`, `Paused`.
    pub fn status_text(&self, now: DateTime<Utc>) -> String {
        match self.status() {
            Status::Created => "Created".into(),
            Status::Initialized => "Initialized".into(),
            Status::Running | Status::Stopping => {
                let up = match self.state.started_at {
                    Some(t) => format!("Up {} ago", human_duration(now - t)),
                    None => "Up".into(),
                };
                // podman adds the health status: `Up 5 seconds ago (healthy)`.
                match self.health_status() {
                    Some(h) => format!("{up} ({h})"),
                    None => up,
                }
            }
            Status::Paused => "Paused".into(),
            Status::Exited => {
                let code = self.exit_code().unwrap_or(crate::EXIT_UNKNOWN);
                match self.state.finished_at {
                    Some(t) => format!("Exited ({code}) {} ago", human_duration(now - t)),
                    None => format!("Exited ({code})"),
                }
            }
        }
    }

    pub fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }

    pub fn rootfs(&self) -> PathBuf {
        self.bundle().join("rootfs")
    }

    /// The k8s-file log: `--log-opt path=`, else `ctr.log` in its directory.
    pub fn log_path(&self) -> PathBuf {
        match &self.config.options.log.path {
            Some(p) => p.clone(),
            None => log_path(&self.dir),
        }
    }

    /// Where the lazy layers are mounted (one directory per layer).
    pub fn lazy_mount_root(&self) -> PathBuf {
        self.dir.join("lazy")
    }

    /// The log of the lazy-layer server (fetch failures, corrupt chunks).
    pub fn lazy_log_path(&self) -> PathBuf {
        self.dir.join("lazy.log")
    }
}

pub(crate) fn log_path(dir: &Path) -> PathBuf {
    dir.join("ctr.log")
}

/// `5 seconds`, `About a minute`, `3 hours`, as podman prints ages.
pub fn human_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", s / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", s / 3600),
        _ => format!("{} days", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(chrono::Duration::seconds(5)), "5 seconds");
        assert_eq!(
            human_duration(chrono::Duration::seconds(61)),
            "About a minute"
        );
        assert_eq!(human_duration(chrono::Duration::seconds(600)), "10 minutes");
        assert_eq!(
            human_duration(chrono::Duration::seconds(-3)),
            "Less than a second"
        );
    }

    #[test]
    fn state_round_trips_and_tolerates_missing_fields() {
        let s: ContainerState = serde_json::from_str(r#"{"status":"running","pid":7}"#).unwrap();
        assert_eq!((s.status, s.pid), (Status::Running, Some(7)));
        let back: ContainerState =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}

//! What hoist keeps about a container beside libcontainer's state, in
//! `@bundles/<id>/hoist.json`: the user's bundle, and the `poststart` and
//! `poststop` hooks, which hoist runs itself.
//!
//! Why hoist runs those two: the OCI runtime spec says a failing
//! `poststart` or `poststop` hook is only logged (the container keeps
//! running; the remaining `poststop` hooks still run and `delete`
//! completes), while libcontainer fails the operation (and a failing
//! `poststop` hook then makes `delete` fail every time). hoist also gives
//! them the container's state as `state` reports it. libcontainer's own
//! copy of the hooks (its `youki_config.json`) is emptied of the two right
//! after create, so they run once.

use std::path::{Path, PathBuf};

use libcontainer::config::YoukiConfig;
use libcontainer::oci_spec::runtime::Hook;
use serde::{Deserialize, Serialize};

use super::prepared::copy_dir;
use crate::executor::error::RuntimeError;
use crate::executor::{State, Status};

const RECORD_FILE: &str = "hoist.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Record {
    /// The user's bundle.
    pub bundle: PathBuf,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<Hook>,
}

impl Record {
    fn path(root: &Path, id: &str) -> PathBuf {
        copy_dir(root, id).join(RECORD_FILE)
    }

    /// Container `id`'s record; `None` for a container without one (made
    /// by an older hoist).
    pub fn load(root: &Path, id: &str) -> Option<Record> {
        let text = std::fs::read(Record::path(root, id)).ok()?;
        match serde_json::from_slice(&text) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(id, "ignoring unreadable {RECORD_FILE}: {e}");
                None
            }
        }
    }

    pub fn save(&self, root: &Path, id: &str) -> Result<(), RuntimeError> {
        let path = Record::path(root, id);
        let json = serde_json::to_vec(self).expect("a record always serializes");
        if self.poststart.is_empty() && self.poststop.is_empty() {
            // Without hooks it holds only the user's bundle, which a crash
            // may lose as it may libcontainer's own state beside it (runc
            // does not sync its state either). Its two waits for the disk
            // sat between the container's init being ready and its start.
            return Ok(hoist_fsutil::write_file_unsynced(&path, &json, 0o644)?);
        }
        // Durable: libcontainer's copy of the hooks is emptied next, and
        // `delete` after a reboot still needs the poststop hooks.
        Ok(hoist_fsutil::write_file(&path, &json, 0o644)?)
    }

    /// Takes the `poststart` and `poststop` hooks out of libcontainer's
    /// config for the container in `container_dir` (see the module docs)
    /// into a record for `bundle`.
    pub fn take_from_libcontainer(
        container_dir: &Path,
        bundle: PathBuf,
    ) -> Result<Record, RuntimeError> {
        let bad = |e: libcontainer::config::ConfigError| RuntimeError::Io {
            op: "rewriting libcontainer's hooks in",
            path: container_dir.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        };
        let mut config = YoukiConfig::load(container_dir).map_err(bad)?;
        let mut record = Record {
            bundle,
            ..Record::default()
        };
        let Some(hooks) = config.hooks.as_mut() else {
            return Ok(record);
        };
        record.poststart = hooks.poststart().clone().unwrap_or_default();
        record.poststop = hooks.poststop().clone().unwrap_or_default();
        if record.poststart.is_empty() && record.poststop.is_empty() {
            return Ok(record);
        }
        hooks.set_poststart(None);
        hooks.set_poststop(None);
        config.save(container_dir).map_err(bad)?;
        Ok(record)
    }
}

/// Runs `hooks` in order with `state` on their stdin, as the spec says of
/// `poststart` and `poststop`: a failing hook is logged and the next one
/// still runs. Returns how many failed.
pub(super) fn run_post_hooks(kind: &str, hooks: &[Hook], state: &State) -> usize {
    if hooks.is_empty() {
        return 0;
    }
    let lc_state = libcontainer::container::State {
        oci_version: state.oci_version.clone(),
        id: state.id.clone(),
        status: match state.status {
            Status::Creating => libcontainer::container::ContainerStatus::Creating,
            Status::Created => libcontainer::container::ContainerStatus::Created,
            Status::Running => libcontainer::container::ContainerStatus::Running,
            Status::Stopped => libcontainer::container::ContainerStatus::Stopped,
            Status::Paused => libcontainer::container::ContainerStatus::Paused,
        },
        pid: state.pid,
        bundle: state.bundle.clone(),
        annotations: (!state.annotations.is_empty())
            .then(|| state.annotations.clone().into_iter().collect()),
        ..Default::default()
    };
    let mut failed = 0;
    for hook in hooks {
        let one = vec![hook.clone()];
        if let Err(e) =
            libcontainer::hooks::run_hooks(Some(&one), Some(&lc_state), None, None, None)
        {
            failed += 1;
            tracing::warn!(
                id = %state.id,
                hook = %hook.path().display(),
                "{kind} hook failed (ignored, as the OCI runtime spec says): {e}"
            );
        }
    }
    failed
}

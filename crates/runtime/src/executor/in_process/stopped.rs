//! Deleting a stopped container without libcontainer's cgroup manager,
//! which on cgroup v1 reads the whole mount table once per controller it
//! knows (see [`crate::cgroup_removal`]). A stopped container needs only
//! its cgroup removed and its state directory deleted. Anything else (a
//! container still running, hooks left to libcontainer, Intel RDT,
//! systemd cgroups) goes through libcontainer as before.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use libcontainer::config::YoukiConfig;
use libcontainer::container::{Container, ContainerStatus};

use crate::executor::error::{io_err, RuntimeError};

/// The cgroup to remove when hoist can delete `c` itself, or `None` when
/// libcontainer must: `c` is not stopped, or its state asks for something
/// only libcontainer's delete does (poststop hooks it was given, Intel RDT
/// clean-up, a systemd cgroup).
pub(super) fn own_delete_target(c: &Container) -> Option<PathBuf> {
    if c.status() != ContainerStatus::Stopped || c.systemd() || c.intel_rdt_dir().is_some() {
        return None;
    }
    let config = YoukiConfig::load(&c.root).ok()?;
    let has_poststop = config
        .hooks
        .as_ref()
        .and_then(|h| h.poststop().as_ref())
        .is_some_and(|hooks| !hooks.is_empty());
    (!has_poststop).then_some(config.cgroup_path)
}

/// Removes the stopped container `c`: its cgroup `cgroup_path` in every
/// hierarchy, then its state directory.
pub(super) fn delete(c: &Container, cgroup_path: &Path) -> Result<(), RuntimeError> {
    crate::cgroup_removal::remove(cgroup_path)?;
    match std::fs::remove_dir_all(&c.root) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io_err("removing", &c.root)(e)),
        _ => Ok(()),
    }
}

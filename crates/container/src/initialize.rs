//! `container init`: makes a created (or exited) container ready to start,
//! so that `start` only starts it. hoist builds the runtime state at start
//! in the monitor, so what init does here is check that the container can
//! be started (its image layers and options) and record it `initialized`,
//! as podman reports it.

use crate::error::{ContainerError, Result};
use crate::record::{Container, Status};
use crate::store::Containers;

/// Initializes `c`: refused, as podman refuses it, for a container that
/// already has runtime state (initialized, running, paused).
pub fn initialize(cs: &Containers, c: &Container) -> Result<()> {
    // A monitor that has recorded the exit and is only finishing is
    // waited for, as `start` waits for it: init after `wait` must work.
    crate::lifecycle::monitor_will_run(cs, c.id())?;
    let _lock = cs.lock(c.id())?;
    // Re-read under the lock: another process may have started it.
    let now = cs.load(c.id())?;
    match now.status() {
        // A live monitor is starting it (or cleaning up after it).
        Status::Created | Status::Exited if !now.monitor_alive() => {}
        _ => {
            return Err(ContainerError::StateImproper(format!(
                "container {} has already been created in runtime",
                c.id()
            )))
        }
    }
    check_startable(&now)?;
    cs.update_state_locked(c.id(), |s| {
        s.status = Status::Initialized;
        s.error = None;
    })?;
    crate::events::emit(&now, hoist_events::Status::Init);
    Ok(())
}

/// What a start needs that can be checked without starting: the image's
/// layers are still on disk (or served lazily) and the root exists.
fn check_startable(c: &Container) -> Result<()> {
    let missing = c
        .config
        .layer_dirs
        .iter()
        .find(|d| !d.exists() && c.config.lazy_layers.is_empty());
    if let Some(dir) = missing {
        return Err(ContainerError::Invalid(format!(
            "container {}: image layer {} is missing; pull the image {} again",
            crate::short_id(c.id()),
            dir.display(),
            c.config.image
        )));
    }
    if let Some(rootfs) = &c.config.options.rootfs {
        if !rootfs.is_dir() {
            return Err(ContainerError::Invalid(format!(
                "container {}: --rootfs {} is not a directory",
                crate::short_id(c.id()),
                rootfs.display()
            )));
        }
    }
    Ok(())
}

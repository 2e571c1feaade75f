//! The container events podman 4.3 records (create, init, start, attach,
//! died, cleanup, kill, pause, unpause, exec, exec_died, export, remove;
//! `stop` shows as died and cleanup, as in podman), sent to the process's
//! event sink (see hoist-events). Recording never fails an action.

use std::collections::BTreeMap;

use hoist_events::{Event, Status};

use crate::record::Container;

/// A container's labels as events carry them: its image's, overridden by
/// its own (podman merges them at create time).
fn labels(c: &Container) -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = c
        .image_config()
        .ok()
        .and_then(|i| i.config().as_ref().and_then(|cfg| cfg.labels().clone()))
        .map(|l| l.into_iter().collect())
        .unwrap_or_default();
    all.extend(c.config.options.labels.clone());
    all
}

fn event(c: &Container, status: Status) -> Event {
    Event::container(status, c.id(), c.name(), &c.config.image, &labels(c))
}

/// Records `status` for container `c`.
pub(crate) fn emit(c: &Container, status: Status) {
    if let Some(e) = prepare(c, status) {
        hoist_events::emit(e);
    }
}

/// The event, made while the container's files are still there (for one
/// recorded after they are gone); `None` when no sink is installed.
pub(crate) fn prepare(c: &Container, status: Status) -> Option<Event> {
    hoist_events::backend().is_some().then(|| event(c, status))
}

/// Records that `c`'s process exited with `code`.
pub(crate) fn died(c: &Container, code: i32) {
    if let Some(mut e) = prepare(c, Status::Died) {
        e.container_exit_code = code;
        hoist_events::emit(e);
    }
}

/// Records that an `exec` session in `c` ended with `code`.
pub(crate) fn exec_died(c: &Container, code: i32) {
    if let Some(mut e) = prepare(c, Status::ExecDied) {
        e.container_exit_code = code;
        hoist_events::emit(e);
    }
}

/// Records the result of a healthcheck: the container's health status.
pub(crate) fn health_status(c: &Container, status: &str) {
    if let Some(mut e) = prepare(c, Status::HealthStatus) {
        e.health_status = status.to_string();
        hoist_events::emit(e);
    }
}

//! The container commands: run, exec, cp, top, stats, create, start, stop, kill, restart, rm, ps,
//! logs, wait, inspect, pause, unpause, port, volume, network, and the
//! hidden `container-monitor` the others start.

mod cp;
mod exec;
pub(crate) mod extra;
mod inspect;
mod logs;
mod manage;
pub(crate) mod network;
pub(crate) mod run;
pub(crate) mod run_flags;
mod runlabel;
mod stats;
pub(crate) mod volume;

pub use runlabel::RunlabelArgs;

use std::path::Path;

use anyhow::{Context, Result};
use hoist_container::{Container, Containers};

use crate::container_args::{ContainerCommand, NetworkCommand, VolumeCommand};

pub use cp::cp;
pub use exec::exec;
pub use extra::{attach, init, rename, update};
pub(crate) use inspect::with_template_aliases;
pub use inspect::{inspect, inspect_value, ps};
pub use logs::logs;
pub use manage::{kill, pause, port, restart, rm, start, stop, unpause, wait};
pub(crate) use run::launcher;
pub use run::{create, monitor, run};
pub use stats::{stats, top};

/// Opens the container records of `root`.
pub fn open(root: &Path) -> Result<Containers> {
    Containers::open(root).with_context(|| format!("opening the containers of {}", root.display()))
}

/// The environment `--env-file FILE` lines and `-e` values give, in that
/// order (a later entry wins); `-e KEY` takes KEY from our environment.
pub(crate) fn env_entries(
    files: &[std::path::PathBuf],
    env: &[String],
) -> anyhow::Result<Vec<String>> {
    use anyhow::Context;
    let mut entries = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading --env-file {}", f.display()))?;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            entries.push(env_value(line).map_err(run::invalid)?);
        }
    }
    for e in env {
        entries.push(env_value(e).map_err(run::invalid)?);
    }
    Ok(entries.into_iter().flatten().collect())
}

/// One `-e`/`--env-file` entry: `KEY=VALUE` as is, a lone `KEY` from our
/// environment (`None` when we do not have it). An entry without a name
/// (`=x`) is refused with podman's message.
fn env_value(e: &str) -> std::result::Result<Option<String>, String> {
    let name = e.split_once('=').map_or(e, |(k, _)| k);
    if name.is_empty() {
        return Err(format!(
            "invalid environment variable: {e:?}: the name before '=' is empty"
        ));
    }
    if !e.contains('=') {
        return Ok(std::env::var(e).ok().map(|v| format!("{e}={v}")));
    }
    Ok(Some(e.to_string()))
}

/// Looks up every name or id, all or nothing.
fn lookup_all(cs: &Containers, names: &[String]) -> Result<Vec<Container>> {
    names.iter().map(|n| Ok(cs.get(n)?)).collect()
}

/// `hoist container ...`.
pub fn dispatch(
    root: &Path,
    globals: &crate::cli::GlobalArgs,
    cmd: ContainerCommand,
) -> Result<i32> {
    match cmd {
        ContainerCommand::Run(a) => run(root, globals, a),
        ContainerCommand::Create(a) => create(root, globals, a),
        ContainerCommand::Exec(a) => exec(root, a),
        ContainerCommand::Cp(a) => cp(root, a),
        ContainerCommand::Top(a) => top(root, a),
        ContainerCommand::Stats(a) => stats(root, a),
        ContainerCommand::Start(a) => start(root, a),
        ContainerCommand::Stop(a) => stop(root, a),
        ContainerCommand::Kill(a) => kill(root, a),
        ContainerCommand::Restart(a) => restart(root, a),
        ContainerCommand::Rm(a) => rm(root, a),
        ContainerCommand::Ps(a) => ps(root, a),
        ContainerCommand::Logs(a) => logs(root, a),
        ContainerCommand::Wait(a) => wait(root, a),
        ContainerCommand::Inspect(a) => inspect(root, a),
        ContainerCommand::Pause(a) => pause(root, a),
        ContainerCommand::Unpause(a) => unpause(root, a),
        ContainerCommand::Port(a) => port(root, a),
        ContainerCommand::Exists { container, .. } => {
            Ok(if open(root)?.lookup(&container).is_ok() {
                0
            } else {
                1
            })
        }
        ContainerCommand::Commit(a) => super::commit::commit(&super::open(root)?, a),
        ContainerCommand::Export(a) => super::commit::export(&super::open(root)?, a),
        ContainerCommand::Diff(a) => super::commit::diff(&super::open(root)?, a),
        ContainerCommand::Mount(a) => super::mount::mount(&super::open(root)?, a),
        ContainerCommand::Umount(a) => super::mount::umount(&super::open(root)?, a),
        ContainerCommand::Init(a) => init(root, a),
        ContainerCommand::Rename(a) => rename(root, a),
        ContainerCommand::Attach(a) => attach(root, a),
        ContainerCommand::Prune(a) => extra::prune(root, a),
        ContainerCommand::Clone(a) => extra::clone(root, a),
        ContainerCommand::Update(a) => update(root, a),
        ContainerCommand::Checkpoint(a) => super::checkpoint::checkpoint(root, a),
        ContainerCommand::Restore(a) => super::checkpoint::restore(root, a),
        ContainerCommand::Runlabel(a) => runlabel::runlabel(root, a),
        ContainerCommand::Cleanup(a) => extra::cleanup(root, a),
    }
}

/// `hoist volume ...`.
pub fn volume(root: &Path, cmd: VolumeCommand) -> Result<i32> {
    volume::dispatch(root, cmd)
}

/// `hoist network ...`.
pub fn network(root: &Path, cmd: NetworkCommand) -> Result<i32> {
    network::dispatch(root, cmd)
}

/// `KEY=VALUE` flags as a map.
fn labels(items: &[String]) -> std::collections::BTreeMap<String, String> {
    items
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::env_value;

    #[test]
    fn env_values() {
        assert_eq!(env_value("A=1").unwrap().as_deref(), Some("A=1"));
        assert_eq!(env_value("A=").unwrap().as_deref(), Some("A="));
        assert_eq!(env_value("A=b=c").unwrap().as_deref(), Some("A=b=c"));
        assert_eq!(env_value("HOIST_SURELY_UNSET_VAR").unwrap(), None);
        for bad in ["=x", "=", ""] {
            let e = env_value(bad).unwrap_err();
            assert!(e.starts_with("invalid environment variable: "), "{e}");
        }
    }
}

//! `exec`: a command in a running container. Runs in this (single
//! threaded) process: the runtime forks it.

use std::path::Path;

use anyhow::Result;
use hoist_container::exec::ExecOptions;

use crate::container_args::ExecArgs;
use crate::exit::ExitWith;

use super::open;

pub fn exec(root: &Path, a: ExecArgs) -> Result<i32> {
    let cs = open(root)?;
    let fail = |e: hoist_container::ContainerError| {
        anyhow::Error::new(ExitWith {
            code: e.exit_code(),
            message: e.to_string(),
        })
    };
    if let Some(keys) = &a.detach_keys {
        hoist_container::attach::parse_detach_keys(keys).map_err(fail)?;
    }
    let (c, command) = target_and_command(&cs, &a).map_err(fail)?;
    let opts = ExecOptions {
        command,
        env: super::env_entries(&a.env_file, &a.env)?,
        user: a.user,
        workdir: a.workdir,
        interactive: a.interactive,
        tty: a.tty,
        detach: a.detach,
        privileged: a.privileged,
        preserve_fds: a.preserve_fds,
    };
    hoist_container::exec::exec(&c, &opts).map_err(fail)
}

/// The container to run in and the command: with `--latest` the newest
/// container, and every argument is the command's.
fn target_and_command(
    cs: &hoist_container::Containers,
    a: &ExecArgs,
) -> hoist_container::Result<(hoist_container::Container, Vec<String>)> {
    use hoist_container::ContainerError::Invalid;
    if !a.latest {
        let name = a.container.as_deref().ok_or_else(|| {
            Invalid("exec requires the name or ID of a container or the --latest flag".into())
        })?;
        return Ok((cs.get(name)?, a.command.clone()));
    }
    let newest = cs
        .newest()?
        .ok_or_else(|| Invalid("no such container".into()))?;
    let command = a.container.iter().chain(&a.command).cloned().collect();
    Ok((newest, command))
}

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
    let c = cs.get(&a.container).map_err(fail)?;
    let mut env = Vec::new();
    for e in &a.env {
        let value = super::env_value(e).map_err(|message| {
            anyhow::Error::new(ExitWith {
                code: crate::exit::ENGINE_ERROR,
                message,
            })
        })?;
        env.extend(value);
    }
    let opts = ExecOptions {
        command: a.command,
        env,
        user: a.user,
        workdir: a.workdir,
        interactive: a.interactive,
        tty: a.tty,
        detach: a.detach,
    };
    hoist_container::exec::exec(&c, &opts).map_err(fail)
}

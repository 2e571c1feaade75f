//! `hoist oci`: runc's commands over hoist's in-process runtime.

use anyhow::Result;
use hoist_runtime::oci_cli;

use crate::oci_args::{OciArgs, OciCommand};

pub fn run(a: OciArgs) -> Result<i32> {
    let root = a.root.as_path();
    match a.command {
        OciCommand::Create(b) => {
            oci_cli::create(
                root,
                &b.id,
                &b.bundle,
                b.pid_file.as_deref(),
                b.console_socket.as_deref(),
            )?;
            Ok(0)
        }
        OciCommand::Start { id } => {
            oci_cli::start(root, &id)?;
            Ok(0)
        }
        OciCommand::State { id } => {
            println!("{}", oci_cli::state(root, &id)?.to_json());
            Ok(0)
        }
        OciCommand::Kill { id, signal, .. } => {
            oci_cli::kill(root, &id, signal.as_deref())?;
            Ok(0)
        }
        OciCommand::Delete { force, id } => {
            oci_cli::delete(root, &id, force)?;
            Ok(0)
        }
        OciCommand::Run(b) => Ok(oci_cli::run(
            root,
            &b.id,
            &b.bundle,
            b.pid_file.as_deref(),
            b.console_socket.as_deref(),
        )?),
    }
}

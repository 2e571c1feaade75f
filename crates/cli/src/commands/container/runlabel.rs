//! `container runlabel LABEL IMAGE [ARG...]`: runs the command an image
//! keeps in a label (see `hoist_container::runlabel`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use hoist_container::runlabel::{self, RunlabelRequest};
use hoist_engine::{PullOptions, PullPolicy};

use crate::cli::RegistryArgs;

#[derive(Debug, Args)]
pub struct RunlabelArgs {
    /// The label holding the command (INSTALL, RUN, ...; any case).
    pub label: String,
    /// The image (pulled first if it is not here).
    pub image: String,
    /// More arguments for the label's command.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Print the command instead of running it.
    #[arg(long)]
    pub display: bool,
    /// The container name the command gets (NAME; default: the image's
    /// name without registry, path or tag).
    #[arg(short, long)]
    pub name: Option<String>,
    /// Print neither the command nor pull progress.
    #[arg(short, long)]
    pub quiet: bool,
    /// Remove the container called NAME first, if there is one.
    #[arg(long)]
    pub replace: bool,
    /// The value of $OPT1 in the label's command.
    #[arg(long, hide = true)]
    pub opt1: Option<String>,
    /// The value of $OPT2 in the label's command.
    #[arg(long, hide = true)]
    pub opt2: Option<String>,
    /// The value of $OPT3 in the label's command.
    #[arg(long, hide = true)]
    pub opt3: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub fn runlabel(root: &Path, a: RunlabelArgs) -> Result<i32> {
    let engine = crate::commands::open(root)?;
    let opts = PullOptions {
        registry: crate::commands::registry_options(&a.registry)?,
        ..PullOptions::default()
    };
    let progress: Arc<dyn hoist_engine::progress::Progress> =
        Arc::new(crate::progress::Display::new(a.quiet));
    let image = engine.image_for_container(&a.image, PullPolicy::Missing, &opts, &progress)?;
    let doc = engine.inspect_image(&image.record.id.to_string())?;
    let labels = serde_json::from_value(doc["Labels"].clone()).unwrap_or_default();
    let value = runlabel::label_value(&labels, &a.label, &a.image)?;
    let request = RunlabelRequest {
        image: a.image.clone(),
        image_name: image
            .record
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| image.record.id.hex().to_string()),
        name: a.name.clone(),
        opts: [a.opt1.clone(), a.opt2.clone(), a.opt3.clone()],
        args: a.args.clone(),
    };
    // hoist as it was called (a wrapper script stays in the loop, and a
    // bare `hoist` is found on $PATH again).
    let exe = match std::env::args_os().next() {
        Some(called) => std::path::PathBuf::from(called),
        None => std::env::current_exe().context("finding hoist's own path")?,
    };
    let command = runlabel::command(value, &request, &exe)?;
    if !a.quiet || a.display {
        println!("command: {}", command.join(" "));
    }
    if a.display {
        return Ok(0);
    }
    if a.replace {
        replace(root, &request)?;
    }
    // A nested hoist works on the same store as this one.
    let status = std::process::Command::new(&command[0])
        .args(&command[1..])
        .env("PODMAN_RUNLABEL_NESTED", "1")
        .env("HOIST_ROOT", root)
        .status()
        .with_context(|| format!("running {}", command[0]))?;
    Ok(status.code().unwrap_or(crate::exit::ENGINE_ERROR))
}

/// `--replace`: the container holding the name the command will use goes.
fn replace(root: &Path, request: &RunlabelRequest) -> Result<()> {
    let Some(name) = &request.name else {
        return Ok(());
    };
    let cs = super::open(root)?;
    if let Ok(c) = cs.get(name) {
        hoist_container::lifecycle::remove(&cs, &c, true)?;
    }
    Ok(())
}

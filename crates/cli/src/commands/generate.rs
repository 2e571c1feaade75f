//! `generate systemd`: flags and output over `hoist_container::systemd`.

use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hoist_container::systemd::{self, UnitOptions};

use crate::exit::ExitWith;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum GenerateCommand {
    /// Write systemd unit files that run containers or pods.
    // Boxed: its many flags dwarf the other commands'.
    Systemd(Box<SystemdArgs>),
    // The help text is GenerateArgs' own.
    Kube(super::kube::GenerateArgs),
    /// Generate an SELinux policy for a container, as udica does
    Selinux(super::generate_selinux::SelinuxArgs),
}

#[derive(Debug, Args)]
pub struct SystemdArgs {
    /// The container (name or ID).
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// A unit the service starts after (After=); may be repeated.
    #[arg(long, value_name = "UNIT")]
    pub after: Vec<String>,
    /// The prefix of a container's unit name.
    #[arg(long, default_value = "container", value_name = "PREFIX")]
    pub container_prefix: String,
    /// KEY=VALUE for the unit's Environment=; may be repeated.
    #[arg(short, long, value_name = "ENV")]
    pub env: Vec<String>,
    /// Write the unit to a .service file in the current directory and print its path.
    #[arg(short, long)]
    pub files: bool,
    /// json: print the units as a JSON object of name to text.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Name the unit after the container's name, not its ID.
    #[arg(short, long)]
    pub name: bool,
    /// The unit creates the container afresh on every start (its create command) and removes it at stop.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub new: Option<bool>,
    /// Leave out the comment block at the top of the unit.
    #[arg(long)]
    pub no_header: bool,
    /// The prefix of a pod's unit name.
    #[arg(long, default_value = "pod", value_name = "PREFIX")]
    pub pod_prefix: String,
    /// A unit the service needs (Requires=): if it fails, so does the service.
    #[arg(long, value_name = "UNIT")]
    pub requires: Vec<String>,
    /// The unit's Restart= policy (on-failure unless given).
    #[arg(long, value_name = "POLICY")]
    pub restart_policy: Option<String>,
    /// Seconds systemd waits before restarting (RestartSec=).
    #[arg(long, value_name = "SECONDS")]
    pub restart_sec: Option<u64>,
    /// What joins the prefix and the name or ID in the unit's name.
    #[arg(long, default_value = "-", value_name = "SEPARATOR")]
    pub separator: String,
    /// Seconds systemd allows the start to take (TimeoutStartSec=).
    #[arg(long, value_name = "SECONDS")]
    pub start_timeout: Option<u64>,
    /// Seconds the stop waits before killing (the container's own when not given, else 10).
    #[arg(long, alias = "time", short = 't', value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,
    /// Write a template unit (NAME@.service) using %i and %I; containers only.
    #[arg(long)]
    pub template: bool,
    /// A unit the service would like started with it (Wants=); may be repeated.
    #[arg(long, value_name = "UNIT")]
    pub wants: Vec<String>,
}

pub fn run(root: &Path, cmd: GenerateCommand) -> Result<i32> {
    match cmd {
        GenerateCommand::Systemd(a) => systemd_units(root, *a),
        GenerateCommand::Kube(a) => super::kube::generate(root, a),
        GenerateCommand::Selinux(a) => super::generate_selinux::run(root, a),
    }
}

fn usage_error(message: String) -> anyhow::Error {
    ExitWith { code: 125, message }.into()
}

fn systemd_units(root: &Path, a: SystemdArgs) -> Result<i32> {
    if a.template && a.new == Some(false) {
        return Err(usage_error(
            "--template cannot be set with --new=false: template units create their containers"
                .into(),
        ));
    }
    if let Some(f) = a.format.as_deref().filter(|f| *f != "json") {
        return Err(usage_error(format!(
            "unsupported format {f:?}: generate systemd prints units as text or, with --format json, as JSON"
        )));
    }
    let cs = super::container::open(root)?;
    let c = cs.get(&a.container)?;
    let executable = std::env::current_exe().context("finding the hoist binary")?;
    let root = std::path::absolute(root).context("resolving --root")?;
    let mut global_args = Vec::new();
    if root != Path::new(hoist_store::DEFAULT_ROOT) {
        global_args = vec!["--root".to_string(), root.display().to_string()];
    }
    let env = a
        .env
        .iter()
        .filter_map(|e| match e.split_once('=') {
            Some(_) => Some(e.clone()),
            // A bare name takes its value from here, if it has one.
            None => std::env::var(e).ok().map(|v| format!("{e}={v}")),
        })
        .collect();
    let opts = UnitOptions {
        executable,
        global_args,
        use_name: a.name,
        new: a.new.unwrap_or(false) || a.template,
        template: a.template,
        container_prefix: a.container_prefix,
        separator: a.separator,
        restart_policy: a.restart_policy,
        restart_sec: a.restart_sec,
        stop_timeout: a.stop_timeout,
        start_timeout: a.start_timeout,
        header: !a.no_header,
        wants: a.wants,
        after: a.after,
        requires: a.requires,
        env,
    };
    let unit = systemd::generate(&c, &opts)?;
    for w in &unit.warnings {
        tracing::warn!("{w}");
    }
    if a.files {
        let path = std::env::current_dir()?.join(unit.file_name());
        std::fs::write(&path, &unit.text).with_context(|| format!("writing {}", path.display()))?;
        if a.format.is_some() {
            crate::output::print_json(&serde_json::json!([path.display().to_string()]))?;
        } else {
            println!("{}", path.display());
        }
    } else if a.format.is_some() {
        crate::output::print_json(&serde_json::json!({ unit.name: unit.text }))?;
    } else {
        print!("{}", unit.text);
    }
    Ok(0)
}

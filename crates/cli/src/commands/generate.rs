//! `generate systemd`: flags and output over `hoist_container::systemd`.

use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hoist_container::systemd::{self, UnitOptions};

use crate::exit::ExitWith;

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Generate systemd units.
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
    /// Add dependencies order to the generated unit file
    #[arg(long, value_name = "UNIT")]
    pub after: Vec<String>,
    /// Systemd unit name prefix for containers
    #[arg(long, default_value = "container", value_name = "PREFIX")]
    pub container_prefix: String,
    /// Set environment variables to the systemd unit files
    #[arg(short, long, value_name = "ENV")]
    pub env: Vec<String>,
    /// Generate .service files instead of printing to stdout
    #[arg(short, long)]
    pub files: bool,
    /// Print the created units in specified format (json)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Use container/pod names instead of IDs
    #[arg(short, long)]
    pub name: bool,
    /// Create a new container or pod instead of starting an existing one
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub new: Option<bool>,
    /// Skip header generation
    #[arg(long)]
    pub no_header: bool,
    /// Systemd unit name prefix for pods (hoist has no pods: accepted)
    #[arg(long, default_value = "pod", value_name = "PREFIX")]
    pub pod_prefix: String,
    /// Similar to wants, but declares stronger requirement dependencies
    #[arg(long, value_name = "UNIT")]
    pub requires: Vec<String>,
    /// Systemd restart-policy
    #[arg(long, value_name = "POLICY")]
    pub restart_policy: Option<String>,
    /// Systemd restart-sec
    #[arg(long, value_name = "SECONDS")]
    pub restart_sec: Option<u64>,
    /// Systemd unit name separator between name/id and prefix
    #[arg(long, default_value = "-", value_name = "SEPARATOR")]
    pub separator: String,
    /// Start timeout override
    #[arg(long, value_name = "SECONDS")]
    pub start_timeout: Option<u64>,
    /// Stop timeout override (default 10)
    #[arg(long, alias = "time", short = 't', value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,
    /// Make it a template file and use %i and %I specifiers. Working only for containers
    #[arg(long)]
    pub template: bool,
    /// Add (weak) requirement dependencies to the generated unit file
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

//! `generate selinux`: udica built in. The container's inspect document
//! (or, with `--json`, inspect data from a file, podman's for one) goes to
//! `hoist_selinux`, which writes the policy as udica does; this writes
//! `NAME.cil` in the current directory and prints what udica prints (how
//! to load the policy and run the container under it).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use hoist_selinux::{ContainerFacts, PolicyOptions, PolicyStore};

#[derive(Debug, Args)]
pub struct SelinuxArgs {
    /// The container (name or ID).
    #[arg(value_name = "CONTAINER", required_unless_present = "json")]
    pub container: Option<String>,
    /// Read the inspect data from FILE (`-` for standard input) instead, as `podman inspect` prints it
    #[arg(
        short = 'j',
        long,
        value_name = "FILE",
        conflicts_with = "container",
        requires = "name"
    )]
    pub json: Option<PathBuf>,
    /// Name of the policy (its domain is NAME.process); the container's name by default
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Append more SELinux allow rules from an audit log file (AVC lines)
    #[arg(short = 'a', long, value_name = "FILE")]
    pub append_rules: Option<PathBuf>,
    /// Allow the container full network access
    #[arg(long)]
    pub full_network_access: bool,
    /// Allow the container to read and write the controlling terminal
    #[arg(long)]
    pub tty_access: bool,
    /// Allow the container to communicate with the X server
    #[arg(long = "X-access", alias = "x-access")]
    pub x_access: bool,
    /// Allow the container to communicate with libvirt
    #[arg(long)]
    pub virt_access: bool,
    /// Allow the container to stream connect with the given SELinux domain
    #[arg(short = 's', long, value_name = "DOMAIN")]
    pub stream_connect: Option<String>,
    /// Capabilities to allow instead of the container's (comma separated, or None)
    #[arg(short = 'c', long, value_name = "CAPS")]
    pub caps: Option<String>,
}

pub fn run(root: &Path, a: SelinuxArgs) -> Result<i32> {
    let (facts, container_name) = match (&a.json, &a.container) {
        (Some(file), _) => (from_file(file)?, None),
        (None, Some(name)) => {
            let c = super::container::open(root)?.get(name)?;
            // The document `hoist inspect` prints, as udica would read it.
            let doc =
                serde_json::to_value(vec![c.inspect()]).context("serializing the inspect data")?;
            let facts = ContainerFacts::from_inspect(&doc)
                .with_context(|| format!("reading the inspect data of container {}", c.name()))?;
            (facts, Some(c.name().to_string()))
        }
        (None, None) => anyhow::bail!("name a container, or inspect data with --json"),
    };
    let append_rules = match &a.append_rules {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the append-rules file {}", p.display()))?;
            hoist_selinux::parse_avc(&text)?
        }
        None => Vec::new(),
    };
    let opts = PolicyOptions {
        // clap asks for --name with --json, so one of them is there.
        name: a.name.or(container_name).unwrap_or_default(),
        full_network: a.full_network_access,
        tty: a.tty_access,
        x: a.x_access,
        virt: a.virt_access,
        stream_connect: a.stream_connect,
        caps: a.caps,
        append_rules,
    };
    let policy = hoist_selinux::generate(&facts, &opts, &PolicyStore::host())
        .with_context(|| format!("making the SELinux policy {}", opts.name))?;
    let file = PathBuf::from(format!("{}.cil", policy.name));
    std::fs::write(&file, &policy.cil).with_context(|| format!("writing {}", file.display()))?;
    print!("{}", policy.messages());
    Ok(0)
}

/// Inspect data from a file or, for `-`, standard input.
fn from_file(file: &Path) -> Result<ContainerFacts> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading the inspect data from stdin")?
    } else {
        std::fs::read_to_string(file)
            .with_context(|| format!("reading the inspect data {}", file.display()))?
    };
    ContainerFacts::from_inspect_json(&text)
        .with_context(|| format!("reading the inspect data {}", file.display()))
}

//! `volume create|exists|export|import|inspect|ls|mount|prune|rm|unmount`:
//! flags and output; the behaviour is hoist-container's `volumes`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hoist_container::volumes::{
    self, FilterUse, NewVolume, Volume, VolumeError, VolumeFilter, Volumes, MANUAL_HOLDER,
};
use hoist_container::ContainerError;

use crate::output::{self, Format};

/// The volume flags of `run` and `create` beyond -v/--mount/--tmpfs
/// (flattened into their arguments).
#[derive(Debug, Args, Clone)]
pub struct VolumeFlags {
    /// What the image's VOLUMEs become: bind (an anonymous volume), tmpfs or ignore.
    #[arg(long, value_name = "MODE")]
    pub image_volume: Option<String>,
}

impl VolumeFlags {
    /// Puts the flags into a new container's options.
    pub fn apply(&self, o: &mut hoist_container::CreateOptions) -> Result<()> {
        o.image_volume = self.image_volume.as_deref().map(str::parse).transpose()?;
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum VolumeCommand {
    /// Create a new volume.
    Create(VolumeCreateArgs),
    /// Check if the given volume exists (exit 0 if it does, 1 if not).
    Exists(VolumeNameArg),
    /// Export the contents of a volume as a tar archive.
    Export(VolumeExportArgs),
    /// Import a tar archive into a volume.
    Import(VolumeImportArgs),
    /// Print the full record of volumes as JSON.
    Inspect(VolumeInspectArgs),
    /// List volumes.
    #[command(alias = "list")]
    Ls(VolumeLsArgs),
    /// Mount volumes and print where.
    Mount(VolumeNamesArg),
    /// Remove every volume no container uses.
    Prune(VolumePruneArgs),
    /// Delete volumes.
    #[command(alias = "remove")]
    Rm(VolumeRmArgs),
    /// Unmount volumes.
    #[command(alias = "umount")]
    Unmount(VolumeNamesArg),
}

#[derive(Debug, Args)]
pub struct VolumeCreateArgs {
    /// The volume's name (a random one if not given).
    pub name: Option<String>,
    /// Volume driver.
    #[arg(short, long, default_value = "local")]
    pub driver: String,
    /// Do nothing if the volume already exists.
    #[arg(long)]
    pub ignore: bool,
    /// Set metadata for the volume (KEY=VALUE).
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Driver options: type=, device=, o= (mount(8) options), uid=, gid=, nocopy.
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VolumeNameArg {
    #[arg(value_name = "VOLUME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct VolumeNamesArg {
    #[arg(required = true, value_name = "VOLUME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VolumeExportArgs {
    #[arg(value_name = "VOLUME")]
    pub name: String,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VolumeImportArgs {
    #[arg(value_name = "VOLUME")]
    pub name: String,
    /// A tar archive, or - for standard input.
    pub source: String,
}

#[derive(Debug, Args)]
pub struct VolumeLsArgs {
    /// Filter output (name=REGEX, label=KEY[=VALUE], driver=, scope=, opt=, dangling=, until=).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output as json or with a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print the column headings.
    #[arg(long, short = 'n')]
    pub noheading: bool,
    /// Print only the volume names.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct VolumeRmArgs {
    /// Remove every volume.
    #[arg(short, long)]
    pub all: bool,
    /// Remove the containers that use the volume too; no error for a volume that does not exist.
    #[arg(short, long)]
    pub force: bool,
    /// With --force: how long containers using the volume get to stop before they are killed.
    #[arg(short, long, allow_hyphen_values = true, default_value_t = -1)]
    pub time: i64,
    #[arg(value_name = "VOLUME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VolumeInspectArgs {
    #[arg(value_name = "VOLUME")]
    pub names: Vec<String>,
    /// Inspect every volume.
    #[arg(short, long)]
    pub all: bool,
    /// Format output as json or with a Go template.
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct VolumePruneArgs {
    /// Only volumes that match (label=KEY[=VALUE], label!=..., until=).
    #[arg(long)]
    pub filter: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

pub fn dispatch(root: &Path, cmd: VolumeCommand) -> Result<i32> {
    let vols = Volumes::open(root)?;
    let cs = super::open(root)?;
    match cmd {
        VolumeCommand::Create(a) => {
            let v = vols.create(NewVolume {
                name: a.name,
                driver: Some(a.driver),
                labels: super::labels(&a.label),
                options: super::labels(&a.opt),
                ignore_existing: a.ignore,
                anonymous: false,
            })?;
            println!("{}", v.name);
        }
        VolumeCommand::Exists(a) => return Ok(i32::from(vols.get(&a.name).is_err())),
        VolumeCommand::Export(a) => export(&vols, a)?,
        VolumeCommand::Import(a) => {
            let v = vols.get(&a.name).map_err(not_such)?;
            if a.source == "-" {
                vols.import(&v.name, std::io::stdin().lock())?;
            } else {
                let f = std::fs::File::open(&a.source)
                    .with_context(|| format!("opening {}", a.source))?;
                vols.import(&v.name, std::io::BufReader::new(f))?;
            }
        }
        VolumeCommand::Inspect(a) => inspect(&vols, a)?,
        VolumeCommand::Ls(a) => ls(&cs, a)?,
        VolumeCommand::Mount(a) => {
            for n in &a.names {
                let v = vols.lookup(n)?;
                println!("{}", vols.mount(&v.name, MANUAL_HOLDER)?.display());
            }
        }
        VolumeCommand::Unmount(a) => {
            for n in &a.names {
                let v = vols.lookup(n)?;
                vols.unmount(&v.name, MANUAL_HOLDER)?;
                println!("{}", v.name);
            }
        }
        VolumeCommand::Rm(a) => return rm(&cs, &vols, a),
        VolumeCommand::Prune(a) => prune(&cs, a)?,
    }
    Ok(0)
}

/// podman's "no such volume NAME" for export and import.
fn not_such(e: ContainerError) -> anyhow::Error {
    match e {
        ContainerError::Volume(v) if matches!(*v, VolumeError::NotFound(_)) => {
            let VolumeError::NotFound(name) = *v else {
                unreachable!()
            };
            anyhow::anyhow!("no such volume {name}")
        }
        other => other.into(),
    }
}

fn export(vols: &Volumes, a: VolumeExportArgs) -> Result<()> {
    let v = vols.get(&a.name).map_err(not_such)?;
    match &a.output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            vols.export(&v.name, &mut w)?;
            w.flush()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                anyhow::bail!(
                    "cannot write to terminal, use command-line redirection or the --output flag"
                );
            }
            let mut out = std::io::stdout().lock();
            vols.export(&v.name, &mut out)?;
            out.flush().context("writing to standard output")?;
        }
    }
    Ok(())
}

/// One volume as `--format` templates see it: the JSON fields, with
/// `CreatedAt` in Go's time format as podman prints it.
fn template_row(v: &Volume) -> serde_json::Value {
    let mut row = serde_json::to_value(v).unwrap_or_default();
    row["CreatedAt"] = serde_json::json!(crate::output::go_time(v.created_at));
    row["Anonymous"] = serde_json::json!(v.anonymous);
    row
}

/// The inspect document of volume `name` (`inspect --type volume`);
/// `None` when there is no such volume.
pub(crate) fn inspect_value(root: &Path, name: &str) -> Result<Option<serde_json::Value>> {
    match Volumes::open(root)?.lookup(name) {
        Ok(v) => Ok(Some(serde_json::to_value(v)?)),
        Err(ContainerError::Volume(e)) if matches!(*e, VolumeError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn inspect(vols: &Volumes, a: VolumeInspectArgs) -> Result<()> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("provide one or more volume names or use --all");
    }
    let mut found = Vec::new();
    let mut missing = None;
    if a.all {
        found = vols.list()?;
    } else {
        for n in &a.names {
            match vols.lookup(n) {
                Ok(v) => found.push(v),
                Err(ContainerError::Volume(e)) if matches!(*e, VolumeError::NotFound(_)) => {
                    missing = Some(n.clone())
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    match Format::parse(a.format.as_deref())? {
        Format::Template(t) => {
            for v in &found {
                println!("{}", t.render(&template_row(v))?);
            }
        }
        // podman indents inspect documents by five spaces.
        _ => {
            let mut out = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"     ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            serde::Serialize::serialize(&found, &mut ser)?;
            println!("{}", String::from_utf8_lossy(&out));
        }
    }
    match missing {
        Some(n) => anyhow::bail!("inspecting object: no such volume {n}"),
        None => Ok(()),
    }
}

fn ls(cs: &hoist_container::Containers, a: VolumeLsArgs) -> Result<()> {
    if a.quiet && a.format.is_some() {
        anyhow::bail!("quiet and format flags cannot be used together");
    }
    let filter = VolumeFilter::parse(&a.filter, FilterUse::List)?;
    let list = volumes::list_volumes(cs, &filter)?;
    if a.quiet {
        for v in &list {
            println!("{}", v.name);
        }
        return Ok(());
    }
    match Format::parse(a.format.as_deref())? {
        Format::Json => output::print_json(&list)?,
        Format::Template(t) => {
            let rows: Vec<serde_json::Value> = list.iter().map(template_row).collect();
            print_rows(&t, &rows, a.noheading, &[("Name", "VOLUME NAME")])?;
        }
        Format::Default => {
            // podman prints no heading over an empty list.
            if list.is_empty() {
                return Ok(());
            }
            let mut lines = Vec::new();
            if !a.noheading {
                lines.push("DRIVER\tVOLUME NAME".to_string());
            }
            lines.extend(list.iter().map(|v| format!("{}\t{}", v.driver, v.name)));
            output::print_aligned(&lines);
        }
    }
    Ok(())
}

/// Prints `rows` through `t`; a `table` template gets a header (fields
/// named as `headers` says) unless `noheading`, and aligned columns.
pub(crate) fn print_rows(
    t: &output::template::Template,
    rows: &[serde_json::Value],
    noheading: bool,
    headers: &[(&str, &str)],
) -> Result<()> {
    if !t.is_table() {
        return output::print_template(t, rows);
    }
    let mut lines = Vec::with_capacity(rows.len() + 1);
    if !noheading {
        lines.push(t.header_with(&headers.iter().copied().collect()));
    }
    for row in rows {
        lines.push(t.render(row)?);
    }
    output::print_aligned(&lines);
    Ok(())
}

/// podman's exit codes of `volume rm`: 1 when a volume does not exist, 2
/// when one is in use.
fn rm_exit_code(e: &ContainerError) -> i32 {
    match e {
        ContainerError::Volume(v) => match **v {
            VolumeError::NotFound(_) => 1,
            VolumeError::InUse { .. } => 2,
            _ => crate::exit::ENGINE_ERROR,
        },
        _ => crate::exit::ENGINE_ERROR,
    }
}

fn rm(cs: &hoist_container::Containers, vols: &Volumes, a: VolumeRmArgs) -> Result<i32> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("choose either one or more volumes or all");
    }
    if a.time != -1 && !a.force {
        anyhow::bail!("--force option must be specified to use the --time option");
    }
    let timeout = u64::try_from(a.time).ok();
    let names: Vec<String> = if a.all {
        vols.list()?.into_iter().map(|v| v.name).collect()
    } else {
        a.names
    };
    // A name that is not there stops everything (nothing removed after it);
    // a volume in use is reported and the others still go.
    let mut failures: Vec<(i32, String)> = Vec::new();
    for n in &names {
        match volumes::remove_volume(cs, n, a.force, timeout) {
            Ok(name) => println!("{name}"),
            Err(e) => {
                let code = rm_exit_code(&e);
                if code == 1 {
                    if a.force {
                        continue;
                    }
                    failures.push((code, e.to_string()));
                    break;
                }
                failures.push((code, e.to_string()));
            }
        }
    }
    crate::exit::last_failure(failures)
}

fn prune(cs: &hoist_container::Containers, a: VolumePruneArgs) -> Result<()> {
    let filter = VolumeFilter::parse(&a.filter, FilterUse::Prune)?;
    if !a.force {
        println!("WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:");
        let candidates = volumes::prune_candidates(cs, &filter)?;
        if candidates.is_empty() {
            println!("No dangling volumes found");
            return Ok(());
        }
        for v in &candidates {
            println!("{}", v.name);
        }
        if !confirm("Are you sure you want to continue? [y/N] ")? {
            return Ok(());
        }
    }
    for name in volumes::prune(cs, &filter)? {
        println!("{name}");
    }
    Ok(())
}

/// Asks `question` on standard output; true only for an answer of y or yes.
pub(crate) fn confirm(question: &str) -> Result<bool> {
    print!("{question}");
    std::io::stdout()
        .flush()
        .context("writing to standard output")?;
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("reading the answer from standard input")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

//! `commit`, `import`, `export` and `history`: images made from a
//! container's changes or a tarball, a container's files as a tarball, and
//! the steps an image was made of.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use hoist_container::snapshot;
use hoist_engine::{Engine, NewImage};
use serde_json::{json, Value};

use crate::output::{self, human_age, human_size, Format};

#[derive(Debug, Args)]
pub struct CommitArgs {
    pub container: String,
    /// The new image's name (none: a dangling image).
    pub image: Option<String>,
    /// The image's author.
    #[arg(short, long)]
    pub author: Option<String>,
    /// A Dockerfile instruction to apply (CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR); may be repeated.
    #[arg(short, long, value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// The image's comment.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Freeze the container while its files are read.
    #[arg(short, long)]
    pub pause: bool,
    /// Print only the image ID.
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the image ID to this file.
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Image format: oci or docker (hoist writes OCI images; accepted).
    #[arg(short, long, default_value = "oci", value_parser = ["oci", "docker"])]
    pub format: String,
    /// Include the container's volumes (accepted; volumes are not part of the image).
    #[arg(long)]
    pub include_volumes: bool,
    /// Squash the new layer into the image's (not supported: refused).
    #[arg(short, long)]
    pub squash: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A tarball of a root filesystem, or `-` for standard input.
    pub path: String,
    /// The new image's name.
    pub reference: Option<String>,
    #[arg(short, long, value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    #[arg(short, long)]
    pub message: Option<String>,
    #[arg(short, long)]
    pub quiet: bool,
    /// The image's operating system (default linux).
    #[arg(long)]
    pub os: Option<String>,
    /// The image's architecture (default: this machine's).
    #[arg(long)]
    pub arch: Option<String>,
    /// The image's architecture variant.
    #[arg(long)]
    pub variant: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub container: String,
    /// Write to this file (default: standard output, which must not be a terminal).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    pub image: String,
    /// json, or a Go template such as '{{.ID}} {{.CreatedBy}}'.
    #[arg(long)]
    pub format: Option<String>,
    /// Sizes and times for humans (`--human=false`: bytes and timestamps).
    #[arg(short = 'H', long, num_args = 0..=1, default_value = "true", default_missing_value = "true", require_equals = true)]
    pub human: bool,
    /// Do not shorten IDs and commands.
    #[arg(long)]
    pub no_trunc: bool,
    /// Print only the IDs.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn commit(engine: &Engine, a: CommitArgs) -> Result<i32> {
    if a.squash {
        anyhow::bail!("--squash is not supported by hoist: commit without it");
    }
    let cs = super::container::open(engine.root())?;
    let c = cs.get(&a.container)?;
    let options = hoist_container::commit::CommitOptions {
        name: a.image,
        changes: a.change,
        comment: a.message,
        author: a.author,
        pause: a.pause,
    };
    let id = hoist_container::commit::commit(engine, &cs, &c, options)?;
    if let Some(path) = &a.iidfile {
        std::fs::write(path, id.hex()).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{}", id.hex());
    Ok(0)
}

pub fn import(engine: &Engine, a: ImportArgs) -> Result<i32> {
    let scratch = engine.store().temp_dir()?;
    let layer = match a.path.as_str() {
        "-" => {
            let path = scratch.path().join("layer.tar");
            let mut tmp = std::fs::File::create(&path).context("creating a temporary file")?;
            std::io::copy(&mut std::io::stdin().lock(), &mut tmp)
                .context("reading the tarball from standard input")?;
            path
        }
        url if url.starts_with("http://") || url.starts_with("https://") => {
            let path = scratch.path().join("layer.tar");
            engine.download(url, &path)?;
            path
        }
        file => PathBuf::from(file),
    };
    let new = NewImage {
        base: None,
        run_config: Default::default(),
        changes: a.change,
        comment: a.message,
        author: None,
        created_by: format!("hoist import {}", a.path),
        name: a.reference,
        os: a.os,
        architecture: a.arch,
        variant: a.variant,
        ..NewImage::default()
    };
    let id = engine.import_tarball(&layer, &new)?;
    println!("{}", id.hex());
    Ok(0)
}

pub fn export(engine: &Engine, a: ExportArgs) -> Result<i32> {
    let cs = super::container::open(engine.root())?;
    let c = cs.get(&a.container)?;
    match &a.output {
        Some(path) => snapshot::export_to_file(&cs, &c, path)?,
        None => {
            if std::io::stdout().is_terminal() {
                anyhow::bail!("refusing to write a tarball to a terminal: use -o FILE or redirect standard output");
            }
            snapshot::export(&cs, &c, std::io::BufWriter::new(std::io::stdout().lock()))?;
        }
    }
    Ok(0)
}

pub fn history(engine: &Engine, a: HistoryArgs) -> Result<i32> {
    let steps = engine.image_history(&a.image)?;
    let now = chrono::Utc::now();
    let short_id = |id: &str| {
        if a.no_trunc || id.len() < 12 || id.starts_with('<') {
            id.to_string()
        } else {
            id[..12].to_string()
        }
    };
    if a.quiet {
        for s in &steps {
            println!("{}", short_id(&s.id));
        }
        return Ok(0);
    }
    let rows: Vec<Value> = steps
        .iter()
        .map(|s| {
            let created = chrono::DateTime::parse_from_rfc3339(&s.created).ok();
            let created_text = match (created, a.human) {
                (Some(t), true) => human_age((now - t.with_timezone(&chrono::Utc)).num_seconds()),
                _ => s.created.clone(),
            };
            let created_by = if a.no_trunc || s.created_by.chars().count() <= 45 {
                s.created_by.clone()
            } else {
                format!("{}...", s.created_by.chars().take(42).collect::<String>())
            };
            let size = if a.human {
                human_size(s.size)
            } else {
                s.size.to_string()
            };
            json!({
                "ID": short_id(&s.id), "Id": s.id, "Created": created_text,
                "CreatedAt": output::go_time_of(&s.created), "CreatedBy": created_by, "Size": size,
                "Comment": s.comment, "Tags": s.tags,
            })
        })
        .collect();
    match Format::parse(a.format.as_deref())? {
        Format::Json => output::print_json(&steps)?,
        Format::Template(t) => output::print_template(&t, &rows)?,
        Format::Default => {
            let mut lines = vec!["ID\tCREATED\tCREATED BY\tSIZE\tCOMMENT".to_string()];
            for r in &rows {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{}",
                    s("ID"),
                    s("Created"),
                    s("CreatedBy"),
                    s("Size"),
                    s("Comment")
                ));
            }
            output::print_aligned(&lines);
        }
    }
    Ok(0)
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// A container, or an image (its top layer over the ones below).
    pub name: Option<String>,
    /// json, or a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// The latest container created.
    #[arg(short, long)]
    pub latest: bool,
}

pub fn diff(engine: &Engine, a: DiffArgs) -> Result<i32> {
    let cs = super::container::open(engine.root())?;
    let changes = match (&a.name, a.latest) {
        (None, true) => {
            let c = cs.newest()?.context("no containers to diff")?;
            snapshot::changes(&c)?
        }
        (None, false) => anyhow::bail!("`diff` requires a container or image name, or --latest"),
        (Some(name), _) => match cs.get(name) {
            Ok(c) => snapshot::changes(&c)?,
            Err(_) => {
                let silent: std::sync::Arc<dyn hoist_engine::progress::Progress> =
                    std::sync::Arc::new(hoist_engine::progress::Silent);
                let image = engine.image_for_container(
                    name,
                    hoist_engine::PullPolicy::Never,
                    &hoist_engine::PullOptions::default(),
                    &silent,
                )?;
                let Some((top, below)) = image.layer_dirs.split_last() else {
                    return Ok(0);
                };
                snapshot::layer_changes(top, below)?
            }
        },
    };
    match Format::parse(a.format.as_deref())? {
        Format::Json => {
            let of = |k: snapshot::ChangeKind| -> Vec<&str> {
                changes
                    .iter()
                    .filter(|(kind, _)| *kind == k)
                    .map(|(_, p)| p.as_str())
                    .collect()
            };
            output::print_json(&json!({
                "changed": of(snapshot::ChangeKind::Changed),
                "added": of(snapshot::ChangeKind::Added),
                "deleted": of(snapshot::ChangeKind::Deleted),
            }))?;
        }
        Format::Template(t) => {
            let rows: Vec<Value> = changes
                .iter()
                .map(|(k, p)| json!({"ChangeType": k.letter().to_string(), "Path": p}))
                .collect();
            output::print_template(&t, &rows)?;
        }
        Format::Default => {
            for (k, p) in &changes {
                println!("{} {p}", k.letter());
            }
        }
    }
    Ok(0)
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    pub image: String,
    /// Show the images built on this one (not supported: refused).
    #[arg(long)]
    pub whatrequires: bool,
}

pub fn tree(engine: &Engine, a: TreeArgs) -> Result<i32> {
    if a.whatrequires {
        anyhow::bail!(
            "--whatrequires is not supported by hoist: run `hoist image tree IMAGE` without it"
        );
    }
    let (image, layers) = engine.image_layers(&a.image)?;
    println!("Image ID: {}", &image.id[..12]);
    println!("Tags:     [{}]", image.repo_tags.join(" "));
    println!("Size:     {}", human_size(image.size));
    println!("Image Layers");
    for (i, l) in layers.iter().enumerate() {
        let branch = if i + 1 == layers.len() {
            "└──"
        } else {
            "├──"
        };
        let mut line = format!("{branch} ID: {} Size: {}", &l.id[..12], human_size(l.size));
        if !l.top_of.is_empty() {
            line.push_str(&format!(" Top Layer of: [{}]", l.top_of.join(" ")));
        }
        println!("{line}");
    }
    Ok(0)
}

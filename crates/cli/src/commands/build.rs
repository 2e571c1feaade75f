//! `build` (also `image build`, `buildx build`): flags into
//! [`hoist_build::exec::BuildOptions`]; the building is hoist-build's.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use hoist_build::exec::{self, BuildOptions, Builder, Output};
use hoist_container::Containers;
use hoist_engine::{Engine, PullOptions, PullPolicy};

use crate::cli::RegistryArgs;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The build context: a directory (default: the current one).
    pub context: Option<PathBuf>,
    /// The Containerfile (default: CONTEXT/Containerfile, else
    /// CONTEXT/Dockerfile); `-` reads it from standard input.
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<String>,
    /// A name for the image; may be repeated.
    #[arg(short, long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// ARG=VALUE for the Containerfile's ARG instructions; may be repeated.
    #[arg(long = "build-arg", value_name = "ARG=VALUE")]
    pub build_args: Vec<String>,
    /// A file of ARG=VALUE lines (# comments and blank lines skipped).
    #[arg(long = "build-arg-file", value_name = "FILE")]
    pub build_arg_files: Vec<PathBuf>,
    /// Build up to this stage (by name).
    #[arg(long)]
    pub target: Option<String>,
    /// Run every step again (the results still fill the cache).
    #[arg(long)]
    pub no_cache: bool,
    /// Reuse cached steps (the default; --layers=false is --no-cache).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub layers: Option<bool>,
    /// When to pull base images: always, missing (default), never, newer.
    #[arg(long, num_args = 0..=1, default_missing_value = "always", require_equals = true)]
    pub pull: Option<String>,
    /// A label for the image: KEY=VALUE; may be repeated.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// An environment variable for the image: KEY=VALUE; may be repeated.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Seconds since the epoch for every time in the new image and its
    /// new layers: the same inputs give the same image ID.
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// The network of every RUN: none, host or a network name.
    #[arg(long)]
    pub network: Option<String>,
    /// Capabilities to add to every RUN.
    #[arg(long = "cap-add", value_delimiter = ',')]
    pub cap_add: Vec<String>,
    /// Capabilities to drop from every RUN.
    #[arg(long = "cap-drop", value_delimiter = ',')]
    pub cap_drop: Vec<String>,
    /// A secret for RUN --mount=type=secret: id=ID,src=FILE (or
    /// id=ID,env=VAR); may be repeated. It never reaches the image.
    #[arg(long = "secret", value_name = "id=ID,src=FILE")]
    pub secrets: Vec<String>,
    /// Write the image ID to this file.
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Image format: oci or docker (hoist writes OCI images; accepted).
    #[arg(long, default_value = "oci", value_parser = ["oci", "docker"])]
    pub format: String,
    /// Print only the image ID (RUN output still shows).
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub fn build(engine: &Engine, root: &Path, a: BuildArgs) -> Result<i32> {
    let context = a.context.clone().unwrap_or_else(|| PathBuf::from("."));
    if !context.is_dir() {
        bail!(
            "the build context {} is not a directory: give the directory whose files COPY reads",
            context.display()
        );
    }
    let (file_text, file_name) = containerfile(&context, a.file.as_deref())?;
    let mut build_args = BTreeMap::new();
    for f in &a.build_arg_files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            insert_arg(&mut build_args, line);
        }
    }
    for arg in &a.build_args {
        insert_arg(&mut build_args, arg);
    }
    let pull_policy = match a.pull.as_deref() {
        None => PullPolicy::Missing,
        Some("true") => PullPolicy::Always,
        Some("false") => PullPolicy::Missing,
        Some(p) => p.parse::<PullPolicy>()?,
    };
    let options = BuildOptions {
        context: context
            .canonicalize()
            .with_context(|| format!("reading {}", context.display()))?,
        file_text,
        file_name,
        tags: a.tags.clone(),
        build_args,
        target: a.target.clone(),
        no_cache: a.no_cache || a.layers == Some(false),
        pull_policy,
        pull: PullOptions {
            registry: super::registry_options(&a.registry)?,
            ..PullOptions::default()
        },
        labels: a
            .labels
            .iter()
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.clone(), String::new()),
            })
            .collect(),
        env: a.env.clone(),
        timestamp: a.timestamp,
        network: a.network.clone(),
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        secrets: BTreeMap::new(),
        quiet: a.quiet,
    };
    let scratch = tempfile::tempdir().context("making a directory for --secret env= values")?;
    let mut secrets = BTreeMap::new();
    for spec in &a.secrets {
        let (id, path) = secret(spec, scratch.path())?;
        secrets.insert(id, path);
    }
    let options = BuildOptions { secrets, ..options };
    let containers = Containers::open(root)?;
    let builder = Builder {
        engine,
        containers: &containers,
        launcher: super::container::run::launcher()?,
        conf: hoist_config::ContainersConf::load()?,
    };
    match exec::build(&builder, &options, &mut Output::new(a.quiet)) {
        Ok(id) => {
            if let Some(path) = &a.iidfile {
                std::fs::write(path, id.to_string())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(e.exit_code())
        }
    }
}

/// `--secret id=ID,src=FILE` or `id=ID,env=VAR` (the variable's value is
/// written to a file in `scratch`, which only this build reads).
fn secret(spec: &str, scratch: &Path) -> Result<(String, PathBuf)> {
    let mut id = None;
    let mut src = None;
    let mut env = None;
    for field in spec.split(',') {
        match field.split_once('=') {
            Some(("id", v)) => id = Some(v.to_string()),
            Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
            Some(("env", v)) => env = Some(v.to_string()),
            Some(("type", "file" | "env")) => {}
            _ => bail!("--secret {spec:?}: expected id=ID,src=FILE or id=ID,env=VAR"),
        }
    }
    let Some(id) = id else {
        bail!("--secret {spec:?}: the id= is missing (RUN --mount=type=secret,id=ID names it)");
    };
    let path = match (src, env) {
        (Some(p), _) => {
            if !p.is_file() {
                bail!("--secret {spec:?}: {} is not a file", p.display());
            }
            p
        }
        (None, Some(var)) => {
            let value = std::env::var(&var)
                .with_context(|| format!("--secret {spec:?}: the variable {var} is not set"))?;
            let p = scratch.join(format!("secret-{}", secrets_file_name(&id)));
            std::fs::write(&p, value).with_context(|| format!("writing {}", p.display()))?;
            p
        }
        (None, None) => bail!("--secret {spec:?}: give src=FILE or env=VAR"),
    };
    Ok((id, path))
}

/// A file name for a secret id (ids may hold `/`).
fn secrets_file_name(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `NAME=VALUE`; a bare `NAME` takes the value from hoist's environment
/// (as podman does), and is skipped when that has none.
fn insert_arg(args: &mut BTreeMap<String, String>, text: &str) {
    match text.split_once('=') {
        Some((k, v)) => {
            args.insert(k.to_string(), v.to_string());
        }
        None => {
            if let Ok(v) = std::env::var(text) {
                args.insert(text.to_string(), v);
            }
        }
    }
}

/// The Containerfile's text and the name errors call it by.
fn containerfile(context: &Path, file: Option<&str>) -> Result<(String, String)> {
    let path = match file {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the Containerfile from standard input")?;
            return Ok((text, "stdin".into()));
        }
        Some(f) => PathBuf::from(f),
        None => {
            let found = ["Containerfile", "Dockerfile"]
                .iter()
                .map(|n| context.join(n))
                .find(|p| p.is_file());
            match found {
                Some(p) => p,
                None => bail!(
                    "no Containerfile or Dockerfile in {}: name one with --file",
                    context.display()
                ),
            }
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the Containerfile {}", path.display()))?;
    Ok((text, path.display().to_string()))
}

//! `secret create|exists|inspect|ls|rm` and `run --secret`: flags and
//! output; the store is hoist-secrets.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hoist_secrets::{NewSecret, Secret, SecretError, Secrets};
use serde_json::{json, Value};

use crate::exit::{ExitWith, ENGINE_ERROR};
use crate::output::{self, Format};

/// `--secret` of `run` and `create` (flattened into their arguments).
#[derive(Debug, Args, Clone)]
pub struct SecretFlags {
    /// Add a secret to the container: NAME[,type=mount|env][,target=PATH|VAR][,uid=UID][,gid=GID][,mode=MODE].
    #[arg(long, value_name = "SECRET")]
    pub secret: Vec<String>,
}

impl SecretFlags {
    /// Puts the flags into a new container's options.
    pub fn apply(&self, o: &mut hoist_container::CreateOptions) -> Result<()> {
        o.secrets = self
            .secret
            .iter()
            .map(|s| hoist_container::secrets::SecretUse::parse(s))
            .collect::<std::result::Result<_, _>>()?;
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SecretCommand {
    /// Create a new secret.
    Create(SecretCreateArgs),
    /// Check if a secret exists (exit 0 if it does, 1 if not).
    Exists(SecretNameArg),
    /// Inspect a secret.
    Inspect(SecretInspectArgs),
    /// List secrets.
    #[command(alias = "list")]
    Ls(SecretLsArgs),
    /// Delete secrets.
    Rm(SecretRmArgs),
}

#[derive(Debug, Args)]
pub struct SecretCreateArgs {
    /// Secret driver (only "file": the data kept unencrypted in a 0600 file under the root).
    #[arg(short, long, default_value = "file")]
    pub driver: String,
    /// Driver options KEY=VALUE (kept; the file driver uses none).
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub driver_opts: Vec<String>,
    /// Read the secret data from the environment variable named instead of a file.
    #[arg(long)]
    pub env: bool,
    /// Set labels on the secret (KEY=VALUE).
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A file, - for standard input, or with --env a variable name.
    #[arg(value_name = "FILE")]
    pub source: String,
}

#[derive(Debug, Args)]
pub struct SecretNameArg {
    #[arg(value_name = "SECRET")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct SecretInspectArgs {
    /// Format the output with a Go template.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Print in human-readable form.
    #[arg(long)]
    pub pretty: bool,
    #[arg(value_name = "SECRET", required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SecretLsArgs {
    /// Filter the list: name=NAME, id=ID.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format the output as json or with a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print the column headings.
    #[arg(long, short = 'n')]
    pub noheading: bool,
    /// Print only the secret IDs.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SecretRmArgs {
    /// Remove every secret.
    #[arg(short, long)]
    pub all: bool,
    #[arg(value_name = "SECRET")]
    pub names: Vec<String>,
}

pub fn dispatch(root: &Path, cmd: SecretCommand) -> Result<i32> {
    let store = Secrets::open(root);
    match cmd {
        SecretCommand::Create(a) => create(&store, a),
        SecretCommand::Exists(a) => Ok(i32::from(!store.exists(&a.name)?)),
        SecretCommand::Inspect(a) => inspect(&store, a),
        SecretCommand::Ls(a) => ls(&store, a),
        SecretCommand::Rm(a) => rm(&store, a),
    }
}

fn key_values(flag: &str, items: &[String]) -> Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            None if !kv.is_empty() => Ok((kv.to_string(), String::new())),
            _ => anyhow::bail!("{flag} {kv:?}: use KEY=VALUE"),
        })
        .collect()
}

fn create(store: &Secrets, a: SecretCreateArgs) -> Result<i32> {
    let data = if a.env {
        std::env::var(&a.source)
            .with_context(|| format!("reading the environment variable {}", a.source))?
            .into_bytes()
    } else if a.source == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the secret from standard input")?;
        buf
    } else {
        std::fs::read(&a.source).with_context(|| format!("reading {}", a.source))?
    };
    let made = store.create(NewSecret {
        name: a.name,
        driver: Some(a.driver),
        driver_options: key_values("--driver-opts", &a.driver_opts)?,
        labels: key_values("--label", &a.label)?,
        data,
    })?;
    println!("{}", made.id);
    Ok(0)
}

fn inspect(store: &Secrets, a: SecretInspectArgs) -> Result<i32> {
    let mut found = Vec::new();
    let mut missing = None;
    for n in &a.names {
        match store.get(n) {
            Ok(s) => found.push(s),
            Err(e @ SecretError::NotFound(_)) => missing = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    if a.pretty {
        for s in &found {
            print!("{}", pretty(s));
        }
    } else {
        match Format::parse(a.format.as_deref())? {
            Format::Default | Format::Json => output::print_json(&found)?,
            Format::Template(t) => {
                for s in &found {
                    println!("{}", t.render(&serde_json::to_value(s)?)?);
                }
            }
        }
    }
    match missing {
        Some(e) => Err(ExitWith {
            code: ENGINE_ERROR,
            message: format!("inspecting secret: {e}"),
        }
        .into()),
        None => Ok(0),
    }
}

/// `--pretty`: podman's layout.
fn pretty(s: &Secret) -> String {
    format!(
        "ID:              {}\nName:              {}\nDriver:            {}\nCreated at:        {}\nUpdated at:        {}\n",
        s.id,
        s.spec.name,
        s.spec.driver.name,
        crate::output::go_time(s.created_at),
        crate::output::go_time(s.updated_at)
    )
}

/// `--filter name=`/`id=`: every key must match, any of its values.
fn filtered(all: Vec<Secret>, filters: &[String]) -> Result<Vec<Secret>> {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .with_context(|| format!("invalid filter {f:?}: use name=NAME or id=ID"))?;
        if !matches!(k, "name" | "id") {
            anyhow::bail!("invalid filter {k:?}: secrets can be filtered by name and id");
        }
        by_key.entry(k).or_default().push(v);
    }
    Ok(all
        .into_iter()
        .filter(|s| {
            by_key.iter().all(|(k, vals)| match *k {
                "name" => vals.iter().any(|v| s.spec.name.contains(v)),
                _ => vals.iter().any(|v| s.id.starts_with(v)),
            })
        })
        .collect())
}

fn ago(t: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{} ago",
        hoist_container::record_age(chrono::Utc::now() - t)
    )
}

fn ls_row(s: &Secret) -> Value {
    let mut v = serde_json::to_value(s).expect("a secret serializes");
    v["Name"] = json!(s.spec.name);
    v["Driver"] = json!(s.spec.driver.name);
    v["CreatedAt"] = json!(ago(s.created_at));
    v["UpdatedAt"] = json!(ago(s.updated_at));
    v
}

fn ls(store: &Secrets, a: SecretLsArgs) -> Result<i32> {
    let list = filtered(store.list()?, &a.filter)?;
    if a.quiet {
        for s in &list {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    match Format::parse(a.format.as_deref())? {
        Format::Json => output::print_json(&list)?,
        Format::Template(t) => {
            let rows: Vec<Value> = list.iter().map(ls_row).collect();
            crate::commands::container::volume::print_rows(
                &t,
                &rows,
                a.noheading,
                &[
                    ("ID", "ID"),
                    ("Name", "NAME"),
                    ("Driver", "DRIVER"),
                    ("CreatedAt", "CREATED"),
                    ("UpdatedAt", "UPDATED"),
                ],
            )?;
        }
        Format::Default => {
            let mut lines = Vec::new();
            if !a.noheading {
                lines.push("ID\tNAME\tDRIVER\tCREATED\tUPDATED".to_string());
            }
            lines.extend(list.iter().map(|s| {
                format!(
                    "{}\t{}\t{}\t{}\t{}",
                    s.id,
                    s.spec.name,
                    s.spec.driver.name,
                    ago(s.created_at),
                    ago(s.updated_at)
                )
            }));
            output::print_aligned(&lines);
        }
    }
    Ok(0)
}

fn rm(store: &Secrets, a: SecretRmArgs) -> Result<i32> {
    if a.all && !a.names.is_empty() {
        anyhow::bail!("when using the --all switch, you may not pass any secret names or IDs");
    }
    if !a.all && a.names.is_empty() {
        anyhow::bail!(
            "`{} secret rm` requires one argument, or the --all flag",
            crate::usage::BIN
        );
    }
    let names: Vec<String> = if a.all {
        store.list()?.into_iter().map(|s| s.id).collect()
    } else {
        a.names
    };
    let mut last_err = None;
    for n in &names {
        match store.remove(n) {
            Ok(id) => println!("{id}"),
            Err(e) => {
                if let Some(prev) = last_err.replace(e) {
                    eprintln!("Error: {prev}");
                }
            }
        }
    }
    match last_err {
        Some(e) => Err(e.into()),
        None => Ok(0),
    }
}

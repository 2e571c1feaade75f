//! `search TERM` and `search --list-tags IMAGE`: flags and podman's
//! output over `hoist_engine::search`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use hoist_engine::{SearchFilter, SearchOptions};
use serde_json::{json, Value};

use crate::output::{self, Format};

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for: TERM, or REGISTRY/TERM for one registry.
    #[arg(value_name = "TERM")]
    pub term: String,
    /// The credentials file (also $REGISTRY_AUTH_FILE).
    #[arg(long, env = "REGISTRY_AUTH_FILE", value_name = "PATH")]
    pub authfile: Option<PathBuf>,
    /// A directory of TLS certificates (*.crt, *.cert, *.key) for the registry.
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Use USER[:PASSWORD] for accessing the registry
    #[arg(long, value_name = "CREDS")]
    pub creds: Option<String>,
    /// Add the STARS, OFFICIAL and AUTOMATED columns docker prints.
    #[arg(long)]
    pub compatible: bool,
    /// Only results that match: stars=N (at least), is-official=BOOL, is-automated=BOOL.
    #[arg(short, long, value_name = "FILTER", value_delimiter = ',')]
    pub filter: Vec<String>,
    /// json, or a Go template over each result.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// At most this many results per registry.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// List the tags of the named repository instead of searching.
    #[arg(long)]
    pub list_tags: bool,
    /// Print descriptions in full.
    #[arg(long)]
    pub no_trunc: bool,
    /// Use HTTPS and check the registry's certificate (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
}

/// podman cuts descriptions to this many characters in tables.
const DESCRIPTION_WIDTH: usize = 44;

pub fn search(a: SearchArgs) -> Result<i32> {
    let registry = super::registry_options(&crate::cli::RegistryArgs {
        tls_verify: a.tls_verify,
        authfile: a.authfile.clone(),
        cert_dir: a.cert_dir.clone(),
        creds: a.creds.clone(),
    })?;
    let opts = SearchOptions {
        registry,
        limit: a.limit.filter(|&n| n > 0),
        filter: SearchFilter::parse(&a.filter)?,
    };
    let format = Format::parse(a.format.as_deref())?;
    if a.list_tags {
        if !a.filter.is_empty() {
            anyhow::bail!("filters are not applicable to list tags result");
        }
        let (name, tags) = hoist_engine::search_tags(&a.term, &opts)?;
        let rows: Vec<Value> = tags
            .iter()
            .map(|t| json!({ "Name": name, "Tag": t }))
            .collect();
        match format {
            Format::Json => output::print_json(&json!([{ "Name": name, "Tags": tags }]))?,
            Format::Template(t) => output::print_template(&t, &rows)?,
            Format::Default => {
                let mut table = vec![vec!["NAME".to_string(), "TAG".to_string()]];
                table.extend(tags.iter().map(|t| vec![name.clone(), t.clone()]));
                print_table(&table);
            }
        }
        return Ok(0);
    }
    let found = hoist_engine::search(&a.term, &opts)?;
    let rows: Vec<Value> = found
        .iter()
        .map(|r| {
            let description = if a.no_trunc || r.description.chars().count() <= DESCRIPTION_WIDTH {
                r.description.clone()
            } else {
                let cut: String = r.description.chars().take(DESCRIPTION_WIDTH - 3).collect();
                format!("{cut}...")
            };
            json!({
                "Index": r.index,
                "Name": r.name,
                "Description": description,
                "Stars": r.stars,
                "Official": if r.official { "[OK]" } else { "" },
                "Automated": if r.automated { "[OK]" } else { "" },
                "Tag": "",
            })
        })
        .collect();
    match format {
        Format::Json => output::print_json(&rows)?,
        Format::Template(t) => output::print_template(&t, &rows)?,
        Format::Default => {
            let mut keys = vec!["Name", "Description"];
            if a.compatible {
                keys.extend(["Stars", "Official", "Automated"]);
            }
            let mut table = vec![keys.iter().map(|k| k.to_uppercase()).collect::<Vec<_>>()];
            for r in &rows {
                table.push(
                    keys.iter()
                        .map(|k| match &r[*k] {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect(),
                );
            }
            print_table(&table);
        }
    }
    Ok(0)
}

fn print_table(rows: &[Vec<String>]) {
    for line in super::system_store::columns(rows) {
        println!("{line}");
    }
}

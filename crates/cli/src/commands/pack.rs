//! `hoist pack` (an image from a directory tree, layered so that updates
//! download little) and `hoist image update-cost`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use hoist_engine::progress::{Progress, Silent};
use hoist_engine::{Engine, PackOptions};
use serde_json::json;

use crate::output::{self, human_size, Format};

#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// Root of the directory tree to pack (an OS tree, e.g. from debootstrap).
    pub rootfs: PathBuf,
    /// Name of the image to create.
    #[arg(short = 't', long = "tag")]
    pub tag: String,
    /// Use at most this many layers.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_layers: u32,
    /// An image packed earlier from a previous version of the tree: every
    /// component stays in the layer it had there, and a layer whose files
    /// are unchanged (modification times aside) or changed in less than
    /// half of its bytes is kept as it is; the changes of kept layers go into
    /// one layer on top. Unchanged files keep the prior image's times.
    #[arg(long)]
    pub prior: Option<String>,
    /// Clamp file modification times to this time (seconds since the epoch)
    /// and use it as the creation time, for reproducible images.
    #[arg(long, env = "SOURCE_DATE_EPOCH")]
    pub source_date_epoch: Option<i64>,
    /// Print only the image ID.
    #[arg(short, long)]
    pub quiet: bool,
    /// json: the image and its layers with their components.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct UpdateCostArgs {
    /// The image a client holds.
    pub old: String,
    /// The image it updates to.
    pub new: String,
    /// json prints {"bytes": N, "layers": M}, or a Go template such as '{{.Bytes}}'.
    #[arg(long)]
    pub format: Option<String>,
}

/// Progress narration on stderr unless quiet.
struct Narrate;

impl Progress for Narrate {
    fn message(&self, text: &str) {
        eprintln!("{text}");
    }
}

pub fn pack(engine: &Engine, a: PackArgs) -> Result<i32> {
    let format = Format::parse(a.format.as_deref())?;
    let quiet = a.quiet || !matches!(format, Format::Default);
    let progress: Arc<dyn Progress> = if quiet {
        Arc::new(Silent)
    } else {
        Arc::new(Narrate)
    };
    let opts = PackOptions {
        reference: a.tag,
        max_layers: a.max_layers as usize,
        prior: a.prior,
        source_date_epoch: a.source_date_epoch,
    };
    let report = engine.pack(&a.rootfs, &opts, &progress)?;
    for note in &report.notes {
        eprintln!("Note: {note}");
    }
    let layers: Vec<_> = report
        .layers
        .iter()
        .map(|l| {
            json!({
                "Digest": l.digest.to_string(), "DiffID": l.diff_id.to_string(),
                "Size": l.size, "Components": l.components, "Reused": l.reused,
                "Carried": l.carried,
            })
        })
        .collect();
    let doc = json!({
        "Id": report.id.hex(), "Name": report.name,
        "Digest": report.manifest_digest.to_string(), "Layers": layers,
    });
    match format {
        Format::Json => output::print_json(&doc)?,
        Format::Template(t) => println!("{}", t.render(&doc)?),
        Format::Default => {
            if !a.quiet {
                for l in &report.layers {
                    let mut what = l.components.iter().take(3).cloned().collect::<Vec<_>>();
                    if l.components.len() > 3 {
                        what.push(format!("and {} more", l.components.len() - 3));
                    }
                    eprintln!(
                        "{} {:>9} {}{}",
                        &l.digest.hex()[..12],
                        human_size(l.size),
                        what.join(", "),
                        if l.reused { " (unchanged)" } else { "" }
                    );
                }
                let reused = report.layers.iter().filter(|l| l.reused).count();
                eprintln!(
                    "COMMIT {}: {} layers, {reused} unchanged",
                    report.name,
                    report.layers.len()
                );
            }
            println!("{}", report.id.hex());
        }
    }
    Ok(0)
}

pub fn update_cost(engine: &Engine, a: UpdateCostArgs) -> Result<i32> {
    let cost = engine.update_cost(&a.old, &a.new)?;
    match Format::parse(a.format.as_deref())? {
        Format::Json => println!("{{\"bytes\": {}, \"layers\": {}}}", cost.bytes, cost.layers),
        Format::Template(t) => {
            println!(
                "{}",
                t.render(&json!({"Bytes": cost.bytes, "Layers": cost.layers}))?
            )
        }
        Format::Default => println!(
            "{} bytes ({}) in {} layers",
            cost.bytes,
            human_size(cost.bytes),
            cost.layers
        ),
    }
    Ok(0)
}

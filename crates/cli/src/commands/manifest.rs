//! `manifest create/add/inspect/rm/exists/push/annotate/remove`: lists of
//! local images, and pushing them to registries.

use anyhow::Result;
use clap::{Args, Subcommand};
use hoist_engine::Engine;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ManifestCommand {
    /// Create a manifest list of local images.
    Create(CreateArgs),
    /// Add a local image to a manifest list.
    Add(AddArgs),
    /// Show a manifest list.
    Inspect(ListArg),
    /// Remove manifest lists (the images they list stay).
    Rm(ListsArg),
    /// Exit 0 if the manifest list exists, 1 if it does not.
    Exists(ListArg),
    /// Push a manifest list (and the images it lists) to a registry.
    Push(PushArgs),
    /// Change the platform or annotations a manifest list records for an image.
    Annotate(AnnotateArgs),
    /// Remove an image from a manifest list.
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct PushArgs {
    pub list: String,
    pub destination: String,
    /// Push the images the list names too (default); --all=false pushes
    /// only the list, for images the registry already has.
    #[arg(long, num_args = 0..=1, default_value = "true", default_missing_value = "true", require_equals = true)]
    pub all: bool,
    /// Write the digest of the pushed list to this file.
    #[arg(long, value_name = "PATH")]
    pub digestfile: Option<std::path::PathBuf>,
    /// Print no progress, only the digest.
    #[arg(short, long)]
    pub quiet: bool,
    /// Remove the local list once it is pushed.
    #[arg(long)]
    pub rm: bool,
    /// --format (of the list and its images), --compression-format.
    #[command(flatten)]
    pub conversion: crate::cli::PushConversionArgs,
    #[command(flatten)]
    pub registry: crate::cli::RegistryArgs,
}

#[derive(Debug, Args)]
pub struct AnnotateArgs {
    pub list: String,
    pub image: String,
    /// An annotation of the image's entry: KEY=VALUE; may be repeated.
    #[arg(long, value_name = "ANNOTATION")]
    pub annotation: Vec<String>,
    /// The architecture the entry records for the image.
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// The operating system the entry records for the image.
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// OS features the entry records (comma-separated).
    #[arg(long, value_name = "FEATURES", value_delimiter = ',')]
    pub os_features: Vec<String>,
    /// The OS version the entry records.
    #[arg(long, value_name = "VERSION")]
    pub os_version: Option<String>,
    /// The architecture variant the entry records (v7, v8, ...).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    pub list: String,
    /// The image's digest (or a local image the list holds).
    #[arg(value_name = "DIGEST")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    pub list: String,
    pub images: Vec<String>,
    /// Add every image of a list given (hoist lists local images: accepted).
    #[arg(long)]
    pub all: bool,
    /// When the list exists already, add the images to it instead of
    /// failing.
    #[arg(long)]
    pub amend: bool,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub list: String,
    pub image: String,
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ListArg {
    pub list: String,
}

#[derive(Debug, Args)]
pub struct ListsArg {
    #[arg(required = true)]
    pub lists: Vec<String>,
}

pub fn run(engine: &Engine, cmd: ManifestCommand) -> Result<i32> {
    match cmd {
        ManifestCommand::Create(a) => {
            println!(
                "{}",
                engine.manifest_create(&a.list, &a.images, a.amend)?.hex()
            );
        }
        ManifestCommand::Add(a) => {
            println!("{}", engine.manifest_add(&a.list, &a.image)?.hex());
        }
        ManifestCommand::Inspect(a) => {
            crate::output::print_json(&engine.manifest_inspect(&a.list)?)?;
        }
        ManifestCommand::Rm(a) => {
            let mut failed = false;
            for list in &a.lists {
                match engine.manifest_remove(list) {
                    Ok(id) => println!("Untagged: {list}\nDeleted: {}", id.hex()),
                    Err(e) => {
                        eprintln!("Error: {e}");
                        failed = true;
                    }
                }
            }
            return Ok(if failed { 1 } else { 0 });
        }
        ManifestCommand::Push(a) => return push(engine, a),
        ManifestCommand::Annotate(a) => {
            let changes = hoist_engine::ManifestAnnotation {
                os: a.os,
                arch: a.arch,
                variant: a.variant,
                os_version: a.os_version,
                os_features: a.os_features,
                annotations: a.annotation,
            };
            println!(
                "{}",
                engine.manifest_annotate(&a.list, &a.image, &changes)?.hex()
            );
        }
        ManifestCommand::Remove(a) => {
            println!("{}", engine.manifest_remove_entry(&a.list, &a.image)?.hex());
        }
        ManifestCommand::Exists(a) => {
            return Ok(if engine.manifest_exists(&a.list)? {
                0
            } else {
                1
            });
        }
    }
    Ok(0)
}

fn push(engine: &Engine, a: PushArgs) -> Result<i32> {
    use anyhow::Context;
    let opts = a
        .conversion
        .options(super::registry_options(&a.registry)?, false)?;
    let display: std::sync::Arc<dyn hoist_engine::progress::Progress> =
        std::sync::Arc::new(crate::progress::Display::new(a.quiet));
    let digest = engine.manifest_push(&a.list, &a.destination, a.all, &opts, &display)?;
    if let Some(path) = &a.digestfile {
        std::fs::write(path, digest.to_string())
            .with_context(|| format!("writing the digest to {}", path.display()))?;
    }
    if a.rm {
        engine.manifest_remove(&a.list)?;
    }
    println!("{digest}");
    Ok(0)
}

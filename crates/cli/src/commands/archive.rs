//! `save` and `load`.

use std::io::IsTerminal;

use std::sync::Arc;

use anyhow::{Context, Result};
use hoist_engine::progress::Progress;
use hoist_engine::{Engine, SaveFormat, SaveOptions};

use crate::cli::{ArchiveFormat, LoadArgs, SaveArgs};
use crate::progress::Display;

pub fn save(engine: &Engine, a: SaveArgs) -> Result<i32> {
    let format = match a.format {
        ArchiveFormat::OciArchive => SaveFormat::OciArchive,
        ArchiveFormat::DockerArchive => SaveFormat::DockerArchive,
        ArchiveFormat::OciDir => SaveFormat::OciDir,
    };
    if a.images.len() > 1 && format == SaveFormat::DockerArchive && !a.multi_image_archive {
        // podman writes only the first image unless -m is given; say so instead.
        anyhow::bail!(
            "saving several images into one docker-archive needs --multi-image-archive (-m)"
        );
    }
    let display: Arc<dyn Progress> = Arc::new(Display::new(a.quiet));
    let options = SaveOptions {
        uncompressed: a.uncompressed,
    };
    match &a.output {
        Some(path) => engine.save(&a.images, format, options, path, &display)?,
        None => {
            if std::io::stdout().is_terminal() {
                anyhow::bail!("refusing to write an archive to a terminal: use -o FILE or redirect standard output");
            }
            // In the store's scratch space, which the next hoist command
            // reclaims if this one is killed.
            let scratch = engine.store().temp_dir()?;
            let tmp = scratch.path().join("archive");
            engine.save(&a.images, format, options, &tmp, &display)?;
            let mut f = std::fs::File::open(&tmp)?;
            std::io::copy(&mut f, &mut std::io::stdout().lock())
                .context("writing the archive to standard output")?;
        }
    }
    Ok(0)
}

pub fn load(engine: &Engine, a: LoadArgs) -> Result<i32> {
    let display: Arc<dyn Progress> = Arc::new(Display::new(a.quiet));
    // Scratch space for a download or standard input, kept until loaded.
    let scratch = engine.store().temp_dir()?;
    let input = match &a.input {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            let path = scratch.path().join("archive");
            engine.download(url, &path)?;
            path
        }
        Some(p) => std::path::PathBuf::from(p),
        None => {
            if std::io::stdin().is_terminal() {
                anyhow::bail!("no archive given: use -i FILE or pipe one to standard input");
            }
            let path = scratch.path().join("archive");
            let mut tmp = std::fs::File::create(&path).context("creating a temporary file")?;
            std::io::copy(&mut std::io::stdin().lock(), &mut tmp)
                .context("reading the archive from standard input")?;
            path
        }
    };
    for name in engine.load(&input, &display)? {
        println!("Loaded image: {name}");
    }
    Ok(0)
}

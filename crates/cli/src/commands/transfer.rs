//! `pull` and `push`.

use std::sync::Arc;

use anyhow::{Context, Result};
use hoist_engine::progress::Progress;
use hoist_engine::{Engine, PullOptions};

use super::{platform, registry_options};
use crate::cli::{PullArgs, PushArgs};
use crate::progress::Display;

pub fn pull(engine: &Engine, a: PullArgs) -> Result<i32> {
    let opts = PullOptions {
        registry: registry_options(&a.registry)?,
        platform: platform(&a.platform)?,
        pull_mode: a.pull_mode.parse()?,
        signature_policy: a.signature_policy.clone(),
    };
    let display: Arc<dyn Progress> = Arc::new(Display::new(a.quiet));
    for image in &a.images {
        let pulled = if a.all_tags {
            engine.pull_all_tags(image, &opts, &display)?
        } else {
            vec![engine.pull(image, &opts, &display)?]
        };
        for p in pulled {
            println!("{}", p.id.hex());
        }
    }
    Ok(0)
}

pub fn push(engine: &Engine, a: PushArgs) -> Result<i32> {
    let opts = a
        .conversion
        .options(registry_options(&a.registry)?, a.compress)?;
    let display: Arc<dyn Progress> = Arc::new(Display::new(a.quiet));
    let digest = engine.push(&a.image, a.destination.as_deref(), &opts, &display)?;
    // Printed on stdout so scripts can capture it without a --digestfile.
    println!("{digest}");
    if let Some(path) = &a.digestfile {
        std::fs::write(path, digest.to_string())
            .with_context(|| format!("writing the digest to {}", path.display()))?;
    }
    Ok(0)
}

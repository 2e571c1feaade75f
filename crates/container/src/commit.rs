//! `commit`: a new image made of a container's changes on top of its
//! image, with the settings it runs with. The use case lives here (not in
//! the CLI) so every front end commits the same way.

use std::io::BufWriter;

use hoist_engine::{Engine, NewImage};
use hoist_image::Digest;

use crate::error::{io_err, Result};
use crate::record::{Container, Status};
use crate::store::Containers;
use crate::{lifecycle, snapshot};

/// What `commit` is asked for besides the container.
#[derive(Debug, Default, Clone)]
pub struct CommitOptions {
    /// The new image's name (`None`: an untagged image).
    pub name: Option<String>,
    /// Dockerfile instructions applied to the config (`--change`).
    pub changes: Vec<String>,
    /// `--message`.
    pub comment: Option<String>,
    /// `--author`.
    pub author: Option<String>,
    /// Freeze a running container while its changes are read, so the
    /// layer is one consistent moment (`--pause`).
    pub pause: bool,
}

/// Stores `c`'s changes as a new image and returns its ID. The layer is
/// written to the store's scratch space first, so a failed or killed
/// commit leaves no image and no half-written blob behind.
pub fn commit(engine: &Engine, cs: &Containers, c: &Container, o: CommitOptions) -> Result<Digest> {
    let scratch = engine
        .store()
        .temp_dir()
        .map_err(hoist_engine::EngineError::from)?;
    let layer = scratch.path().join("layer.tar");
    let file = std::fs::File::create(&layer).map_err(io_err("creating", &layer))?;
    let paused = o.pause && c.status() == Status::Running;
    if paused {
        lifecycle::pause(cs, c)?;
    }
    let written = snapshot::write_changes(c, BufWriter::new(file));
    if paused {
        // Unfreeze even when reading the changes failed.
        lifecycle::unpause(cs, &cs.load(c.id())?)?;
    }
    written?;
    let new = NewImage {
        base: Some(format!("sha256:{}", c.config.image_id)),
        run_config: snapshot::run_config(c),
        changes: o.changes,
        comment: o.comment,
        author: o.author,
        created_by: format!("hoist commit {}", c.id()),
        name: o.name,
        ..NewImage::default()
    };
    let id = engine.create_image(&layer, &new)?;
    crate::events::emit(c, hoist_events::Status::Commit);
    Ok(id)
}

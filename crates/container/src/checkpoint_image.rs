//! `checkpoint --create-image IMAGE` and `restore IMAGE`: a checkpoint as
//! an OCI image whose one layer is the archive `--export` writes, its
//! manifest annotated as podman annotates checkpoint images. Such an image
//! can be pushed, pulled and saved like any other, and restored by name on
//! another host.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hoist_checkpoint::Compression;
use hoist_engine::{Engine, NewImage};
use hoist_image::Digest;

use crate::checkpoint::{export, CheckpointOptions};
use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;
use crate::store::Containers;

/// The annotation that marks a checkpoint image (the container's name).
pub const NAME_ANNOTATION: &str = "io.podman.annotations.checkpoint.name";
const PREFIX: &str = "io.podman.annotations.checkpoint.";

/// Makes image `image` from the checkpoint just taken of `c` (what
/// `--export` would write with `opts`, uncompressed); its ID.
pub fn create_image(
    engine: &Engine,
    cs: &Containers,
    c: &Container,
    opts: &CheckpointOptions,
    image: &str,
) -> Result<Digest> {
    let scratch = tempfile::Builder::new()
        .prefix("checkpoint-image-")
        .tempdir_in(cs.root())
        .map_err(io_err("creating a directory in", cs.root()))?;
    let archive = scratch.path().join("checkpoint.tar");
    let plain = CheckpointOptions {
        compression: Compression::None,
        ..opts.clone()
    };
    export(cs, c, &plain, &archive, Vec::new())?;
    let new = NewImage {
        name: Some(image.to_string()),
        created_by: format!("hoist container checkpoint --create-image {image}"),
        annotations: annotations(c),
        ..NewImage::default()
    };
    Ok(engine.create_image(&archive, &new)?)
}

/// What podman records about the checkpointed container and its host.
fn annotations(c: &Container) -> BTreeMap<String, String> {
    let runtime = c
        .config
        .options
        .runtime
        .as_ref()
        .and_then(|r| r.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hoist".into());
    let facts = [
        ("name", c.config.name.clone()),
        ("rawImageName", c.config.image.clone()),
        ("rootfsImageID", c.config.image_id.clone()),
        ("rootfsImageName", c.config.image.clone()),
        (
            "criu.version",
            hoist_checkpoint::criu_version().unwrap_or_default(),
        ),
        ("runtime.name", runtime),
        (
            "host.arch",
            hoist_image::platform::Platform::host().architecture,
        ),
        (
            "host.kernel",
            rustix::system::uname()
                .release()
                .to_string_lossy()
                .into_owned(),
        ),
    ];
    facts
        .into_iter()
        .map(|(k, v)| (format!("{PREFIX}{k}"), v))
        .collect()
}

/// When `name` is a checkpoint image: its archive (the blob of its one
/// layer). `None` when no image answers to `name` or it is not one.
pub fn archive_of_image(engine: &Engine, name: &str) -> Result<Option<PathBuf>> {
    let inspect = match engine.inspect_image(name) {
        Ok(v) => v,
        Err(hoist_engine::EngineError::ImageNotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if inspect["Annotations"][NAME_ANNOTATION].as_str().is_none() {
        return Ok(None);
    }
    let blobs = engine.layer_blobs(name)?;
    match <[PathBuf; 1]>::try_from(blobs) {
        Ok([archive]) => Ok(Some(archive)),
        Err(blobs) => Err(ContainerError::Invalid(format!(
            "{name} is marked as a checkpoint image but has {} layers: a checkpoint image has exactly one, the checkpoint archive",
            blobs.len()
        ))),
    }
}

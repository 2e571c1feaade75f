//! What containers take from the image side, for the engine (see
//! `hoist_engine::ContainerUsage`): removing an image or repairing the
//! store must never pull layers out from under a container.

use hoist_engine::{ContainerUsage, ImageUse};
use hoist_image::Digest;

use crate::store::Containers;

impl ContainerUsage for Containers {
    fn image_uses(&self) -> Result<Vec<ImageUse>, String> {
        let containers = self.list().map_err(|e| e.to_string())?;
        Ok(containers
            .into_iter()
            .filter_map(|c| {
                let config = c.config;
                // Records keep the image ID as bare sha256 hex.
                let image_id: Digest = format!("sha256:{}", config.image_id).parse().ok()?;
                let lazy_objects = config
                    .lazy_layers
                    .iter()
                    .flat_map(|l| [l.blob.clone(), l.diff_id.clone()])
                    .collect();
                Some(ImageUse {
                    container_id: config.id,
                    image_id,
                    layer_dirs: config.layer_dirs,
                    lazy_objects,
                })
            })
            .collect())
    }
}

//! Images mounted read-only on the host for one step (COPY --from, RUN
//! --mount from=, the image below a COPY), unmounted when the step ends.

use std::path::PathBuf;

use hoist_container::snapshot::ImageMounts;

use super::error::Result;

/// An image mounted read-only for the step, unmounted when dropped.
pub(crate) struct Mounted<'a> {
    mounts: &'a ImageMounts,
    id: String,
    pub path: PathBuf,
}

impl<'a> Mounted<'a> {
    pub fn new(
        mounts: &'a ImageMounts,
        image: hoist_engine::ContainerImage,
    ) -> Result<Mounted<'a>> {
        let path = mounts.mount(&image)?;
        Ok(Mounted {
            mounts,
            id: image.record.id.hex().to_string(),
            path,
        })
    }
}

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = self.mounts.unmount(&self.id, false);
    }
}

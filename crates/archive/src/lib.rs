//! podman's local image transports, as files on disk:
//!
//! - `oci:DIR[:TAG]`: an OCI image layout directory ([`OciLayout`]);
//! - `oci-archive:FILE[:TAG]`: a tar of such a directory ([`OciArchive`]);
//! - `docker-archive:FILE[:REF]`: the `docker save` format ([`DockerArchive`],
//!   [`DockerArchiveWriter`]).
//!
//! This crate knows only these formats, not hoist's store: the engine moves
//! content between the two. All input is treated as untrusted: JSON is size-
//! bounded and validated, member paths may not leave an archive, and content
//! is verified against the digests that name it.

pub mod convert;
pub mod docker_archive;
pub mod error;
pub mod oci_archive;
pub mod oci_layout;
pub mod tarindex;
mod tarwrite;
pub mod verify;

pub use convert::{
    build_oci_manifest, docker_image_to_layout, plan_from_docker, BuiltManifest, OciPlan,
};
pub use docker_archive::{
    fuzz_docker_manifest, DockerArchive, DockerArchiveWriter, DockerImage, DockerLayer, LayerReader,
};
pub use error::{ArchiveError, Result};
pub use oci_archive::OciArchive;
pub use oci_layout::OciLayout;
pub use tarindex::fuzz_tar_index;
pub use verify::VerifyingReader;

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod testutil;

/// The engine moves these across threads (blocking tasks).
#[cfg(test)]
#[allow(dead_code)]
fn assert_thread_safe() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<LayerReader>();
    send::<DockerArchiveWriter>();
    sync::<DockerArchive>();
    sync::<OciLayout>();
    send::<VerifyingReader<std::fs::File>>();
}

//! The image model of hoist: references, digests, manifests, platforms and
//! the registries configuration podman reads. Pure logic: no network, and the
//! only file it reads is a registries.conf that a caller names.

pub mod digest;
pub mod manifest;
pub mod media;
pub mod platform;
pub mod reference;
pub mod registries;
pub mod transport;

pub use digest::{Digest, Hasher};
pub use reference::Reference;

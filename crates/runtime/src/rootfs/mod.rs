//! The container's root filesystem: an overlayfs over the store's unpacked
//! layer directories, and the /etc files the engine provides.

mod error;
mod etc_files;
mod overlay;

pub use error::RootfsError;
pub use etc_files::{write_etc_files, BaseHosts, EtcFiles, EtcOptions};
pub use overlay::{
    mount_overlay, mount_overlay_readonly, mount_overlay_volatile, unmount, MAX_LAYERS,
};

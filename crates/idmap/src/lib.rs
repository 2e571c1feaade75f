//! User namespaces made from ID maps, and idmapped bind mounts.
//!
//! A container with `--uidmap 0:100000:65536` must see the image's files
//! owned by its root, while they stay owned by the host's root on disk
//! (other containers share the layers). An idmapped mount shows a
//! directory with its owners shifted through a user namespace's maps.
//! Kernel facts measured on 6.18 (ext4 layers): a layer directory can be
//! idmapped and an overlay mounted over such lower layers; the overlay
//! mount itself cannot be idmapped (EINVAL), and an idmapped *upper*
//! layer fails overlayfs' work directory (EOVERFLOW: the mounter, host
//! root, has no ID in the map). So: idmapped lower layers, a plain upper
//! layer whose top directory belongs to the mapped root.

mod error;
mod map;
mod mount;
mod userns;

pub use error::IdmapError;
pub use map::{container_id, host_id, parse_id_map, IdMap};
pub use mount::idmapped_bind;
pub use userns::UserNamespace;

pub type Result<T> = std::result::Result<T, IdmapError>;

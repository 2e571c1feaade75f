//! `cp`: copies files and directory trees between a container and the host.
//!
//! Every container path is resolved inside the container's root ([`tree`]:
//! `openat2` with `RESOLVE_IN_ROOT`, names below it opened without
//! following symlinks), so a hostile image (`/etc/evil -> /etc/shadow`,
//! `/x -> ../../..`) can never make `cp` read or write a host file outside
//! it. [`view`] finds that root: the running container's own view, or a
//! stopped one's overlay and mount sources.

mod stream;
mod tree;
mod view;

use std::path::{Path, PathBuf};

use crate::error::{ContainerError, Result};
use crate::record::Container;
use crate::store::Containers;
use tree::{copy_between, Base};
use view::View;

pub use stream::{copy_from_tar, copy_to_tar};

/// Which way a copy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the container to the host.
    Out,
    /// From the host into the container.
    In,
}

/// `cp`: copies `container_path` of `c` to `host_path` ([`Direction::Out`])
/// or `host_path` into the container at `container_path` ([`Direction::In`]).
pub fn copy(
    cs: &Containers,
    c: &Container,
    direction: Direction,
    container_path: &str,
    host_path: &Path,
) -> Result<()> {
    let host = host_path.to_str().ok_or_else(|| {
        ContainerError::Invalid(format!("host path {} is not UTF-8", host_path.display()))
    })?;
    let view = View::open(cs, c)?;
    let container_path = if container_path.starts_with('/') {
        container_path.to_string()
    } else {
        format!("/{container_path}")
    };
    let at = view.locate(&container_path)?;
    let ctr = Base::Root(std::os::fd::AsFd::as_fd(&at.root));
    match direction {
        Direction::Out => {
            // A whole mount copied out keeps the name it has in the
            // container, not its source's.
            let host = match &at.mount_name {
                Some(name) if host_path.is_dir() => PathBuf::from(host).join(name),
                _ => PathBuf::from(host),
            };
            copy_between(ctr, &at.path, Base::Host, &host.to_string_lossy())
        }
        Direction::In => copy_between(Base::Host, host, ctr, &at.path),
    }
}

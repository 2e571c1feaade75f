//! `cp CONTAINER:PATH -` and `cp - CONTAINER:DIR`: a tar stream instead of
//! a host path, as podman does. The files are staged in a temporary
//! directory in the container's own directory (on the store's file
//! system, not a size-limited /tmp) and copied with the same safe walk as
//! any other `cp`; unpacking refuses entries that climb out with `..` or
//! through links.

use std::io::{Read, Write};
use std::path::Path;

use super::{copy, Direction};
use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;
use crate::store::Containers;

fn staging(c: &Container) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("cp-stream-")
        .tempdir_in(&c.dir)
        .map_err(io_err("creating a staging directory in", &c.dir))
}

fn entries(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    let mut out = std::fs::read_dir(dir)
        .map_err(io_err("listing", dir))?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io_err("listing", dir))?;
    out.sort_by_key(|e| e.file_name());
    Ok(out)
}

/// Writes `container_path` of `c` to `out` as a tar archive, its entries
/// named from the path's last component (`cp web:/etc/hosts -` gives
/// `hosts`; a directory's contents with `dir/.`).
pub fn copy_to_tar(
    cs: &Containers,
    c: &Container,
    container_path: &str,
    out: impl Write,
) -> Result<()> {
    let stage = staging(c)?;
    copy(cs, c, Direction::Out, container_path, stage.path())?;
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    for e in entries(stage.path())? {
        let name = e.file_name();
        let path = e.path();
        let is_dir = e.file_type().map_err(io_err("reading", &path))?.is_dir();
        let written = if is_dir {
            tar.append_dir_all(&name, &path)
        } else {
            tar.append_path_with_name(&path, &name)
        };
        written.map_err(io_err("writing the archive entry for", &path))?;
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(io_err("finishing the archive on", "stdout"))?;
    Ok(())
}

/// Unpacks the tar archive `input` into directory `container_path` of `c`.
pub fn copy_from_tar(
    cs: &Containers,
    c: &Container,
    input: impl Read,
    container_path: &str,
) -> Result<()> {
    let stage = staging(c)?;
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.unpack(stage.path()).map_err(|e| {
        // tar's error names the entry; its cause says what was wrong.
        let cause = std::error::Error::source(&e)
            .map(|c| format!(": {c}"))
            .unwrap_or_default();
        ContainerError::Invalid(format!(
            "reading the tar archive from stdin: {e}{cause}; give a tar stream (e.g. tar -c -f - FILES | hoist cp - CONTAINER:DIR)"
        ))
    })?;
    let dir = if container_path.ends_with('/') {
        container_path.to_string()
    } else {
        format!("{container_path}/")
    };
    for e in entries(stage.path())? {
        copy(cs, c, Direction::In, &dir, &e.path())?;
    }
    Ok(())
}

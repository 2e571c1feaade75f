//! `cp CONTAINER:PATH HOSTPATH` and `cp HOSTPATH CONTAINER:PATH`; `-` for
//! the host side streams a tar archive.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use hoist_container::copy::{copy, copy_from_tar, copy_to_tar, Direction};

use crate::container_args::CpArgs;

/// `CONTAINER:PATH` as (container, path); `None` for a host path. Like
/// podman, a path that starts with `/` or `.` is always a host path.
fn container_part(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':').filter(|(c, _)| !c.is_empty())
}

pub fn cp(root: &Path, a: CpArgs) -> Result<i32> {
    let (direction, name, cpath, host) = match (
        container_part(&a.source),
        container_part(&a.destination),
    ) {
        (Some((c, p)), None) => (Direction::Out, c, p, &a.destination),
        (None, Some((c, p))) => (Direction::In, c, p, &a.source),
        (Some(_), Some(_)) => {
            bail!("copying between containers is not supported; copy to the host first")
        }
        (None, None) => bail!(
            "one of the paths must name a container as CONTAINER:PATH (e.g. hoist cp web:/etc/hosts ./hosts)"
        ),
    };
    let cs = super::open(root)?;
    let c = cs.get(name)?;
    let cpath = if cpath.is_empty() { "/" } else { cpath };
    // `-`: a tar stream on stdout or stdin, as podman's.
    match (direction, host.as_str()) {
        (Direction::Out, "-") => copy_to_tar(&cs, &c, cpath, std::io::stdout().lock())?,
        (Direction::In, "-") => copy_from_tar(&cs, &c, std::io::stdin().lock(), cpath)?,
        _ => copy(&cs, &c, direction, cpath, &PathBuf::from(host))?,
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_container_paths_from_host_paths() {
        assert_eq!(container_part("web:/etc"), Some(("web", "/etc")));
        assert_eq!(container_part("/tmp/a:b"), None);
        assert_eq!(container_part("./x:y"), None);
        assert_eq!(container_part("file"), None);
        assert_eq!(container_part(":x"), None);
    }
}

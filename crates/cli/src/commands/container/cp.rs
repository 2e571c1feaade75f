//! `cp [CONTAINER:]SRC [CONTAINER:]DEST`: between a container and the
//! host, or two containers; `-` for the host side streams a tar archive
//! (stdin may be compressed).

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use hoist_container::copy::{copy, copy_from_tar, copy_to_tar, CopyOptions, Endpoint, InContainer};
use hoist_container::{Container, ContainerError};

use crate::container_args::CpArgs;

/// One side as typed: `CONTAINER:PATH`, or a host path. Like podman, a path
/// that starts with `/` or `.` is always a host path.
fn parse(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') || arg.starts_with('.') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.is_empty() => (Some(c), p),
        _ => (None, arg),
    }
}

fn endpoint<'a>(side: (Option<&'a str>, &'a str), c: Option<&'a Container>) -> Endpoint<'a> {
    match (side, c) {
        ((Some(given_as), path), Some(container)) => Endpoint::Container(InContainer {
            container,
            given_as,
            path,
        }),
        ((_, path), _) => Endpoint::Host(path),
    }
}

pub fn cp(root: &Path, a: CpArgs) -> Result<i32> {
    let (src, dst) = (parse(&a.source), parse(&a.destination));
    if src.1.is_empty() || dst.1.is_empty() {
        bail!(
            "invalid arguments {:?}, {:?}: you must specify paths",
            a.source,
            a.destination
        );
    }
    if src.0.is_none() && dst.0.is_none() {
        bail!(
            "one of the paths must name a container as CONTAINER:PATH (e.g. hoist cp web:/etc/hosts ./hosts)"
        );
    }
    let cs = super::open(root)?;
    // podman's cp words a missing container its own way.
    let get = |name: &str| match cs.get(name) {
        Err(ContainerError::NotFound(_)) => Err(anyhow!("container {name:?} does not exist")),
        other => Ok(other?),
    };
    let src_c = src.0.map(get).transpose()?;
    let dst_c = dst.0.map(get).transpose()?;
    let from = endpoint(src, src_c.as_ref());
    let to = endpoint(dst, dst_c.as_ref());
    let opts = CopyOptions {
        chown: a.archive,
        overwrite: a.overwrite,
    };
    // `-` is a tar stream; so is /dev/stdin as the source (podman's), but
    // /dev/stdout is a plain destination path.
    match (from, to) {
        (Endpoint::Container(from), Endpoint::Host("-")) => {
            copy_to_tar(&cs, &from, std::io::stdout().lock())?
        }
        (Endpoint::Host("-" | "/dev/stdin"), Endpoint::Container(to)) => {
            copy_from_tar(&cs, std::io::stdin().lock(), &to, &opts)?
        }
        (from, to) => copy(&cs, &from, &to, &opts)?,
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_container_paths_from_host_paths() {
        assert_eq!(parse("web:/etc"), (Some("web"), "/etc"));
        assert_eq!(parse("web:"), (Some("web"), ""));
        assert_eq!(parse("/tmp/a:b"), (None, "/tmp/a:b"));
        assert_eq!(parse("./x:y"), (None, "./x:y"));
        assert_eq!(parse("file"), (None, "file"));
        assert_eq!(parse("-"), (None, "-"));
        assert_eq!(parse(":x"), (None, ":x"));
    }
}

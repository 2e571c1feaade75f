//! `pod create --pid` and `--uts`: the PID and UTS namespaces of the pod's
//! infra container (`--uts ns:PATH`, which podman has, is refused). As podman 4.3, the mode is the infra container's;
//! the pod's other containers get it only where the pod shares that
//! namespace (`--share`, whose default holds `uts` but not `pid`).

use std::path::Path;

use crate::error::{PodError, Result};

/// `--pid`/`--uts` VALUE as stored: `None` for a namespace of the pod's
/// own (`private`, or nothing given), else `host` or `ns:PATH`.
pub fn parse_mode(kind: &str, value: Option<&str>) -> Result<Option<String>> {
    let Some(value) = value else {
        return Ok(None);
    };
    match value.split_once(':') {
        None if matches!(value, "" | "private") => Ok(None),
        None if value == "host" => Ok(Some(value.to_string())),
        // A container joining a UTS namespace by path sets its host name
        // there, and that namespace may be the host's: not offered yet.
        Some(("ns", _)) if kind == "uts" => Err(PodError::Invalid(format!(
            "invalid --uts {value:?}: hoist supports host or private for a pod's UTS namespace"
        ))),
        Some(("ns", path)) => ns_path(kind, path).map(|_| Some(value.to_string())),
        // The infra container is the first of its pod: there is nothing in
        // the pod to join, and podman refuses a container outside it.
        Some(("container", _)) => Err(PodError::Invalid(format!(
            "invalid --{kind} {value:?}: the pod's infra container cannot join a container outside the pod; use host, private or ns:PATH"
        ))),
        _ => Err(PodError::Invalid(format!(
            "unrecognized namespace mode {value} passed"
        ))),
    }
}

/// `ns:PATH` must name an existing namespace file (podman checks at
/// create, so a typo fails there and not at the first start).
fn ns_path(kind: &str, path: &str) -> Result<()> {
    let upper = kind.to_uppercase();
    if !path.starts_with('/') {
        return Err(PodError::Invalid(format!(
            "invalid --{kind} ns:{path}: give the absolute path of a {upper} namespace, e.g. ns:/proc/PID/ns/{kind}"
        )));
    }
    std::fs::metadata(Path::new(path)).map_err(|e| {
        PodError::Invalid(format!(
            "cannot find specified {upper} namespace path: stat {path}: {e}"
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_podman_takes_them() {
        assert_eq!(parse_mode("pid", None).unwrap(), None);
        assert_eq!(parse_mode("pid", Some("private")).unwrap(), None);
        assert_eq!(
            parse_mode("uts", Some("host")).unwrap().as_deref(),
            Some("host")
        );
        assert_eq!(
            parse_mode("pid", Some("ns:/proc/self/ns/pid"))
                .unwrap()
                .as_deref(),
            Some("ns:/proc/self/ns/pid")
        );
        for bad in ["bogus", "ns:/no/such/ns", "ns:rel", "container:x"] {
            assert!(parse_mode("pid", Some(bad)).is_err(), "{bad}");
        }
        assert!(parse_mode("uts", Some("ns:/proc/self/ns/uts")).is_err());
    }
}

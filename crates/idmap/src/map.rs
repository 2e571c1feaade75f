//! ID maps as podman's `--uidmap`/`--gidmap` write them.

use crate::{IdmapError, Result};

/// A range of `size` IDs from `container` in the namespace, `host` outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// Parses `CONTAINER:HOST:SIZE` (SIZE above 0, the ranges within u32).
pub fn parse_id_map(v: &str) -> Result<IdMap> {
    let n: Vec<u32> = v
        .split(':')
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| IdmapError::BadMap(v.to_string()))?;
    match n.as_slice() {
        [container, host, size]
            if *size > 0
                && container.checked_add(*size - 1).is_some()
                && host.checked_add(*size - 1).is_some() =>
        {
            Ok(IdMap {
                container: *container,
                host: *host,
                size: *size,
            })
        }
        _ => Err(IdmapError::BadMap(v.to_string())),
    }
}

/// The text of /proc/PID/uid_map (or gid_map) for `maps`.
pub(crate) fn proc_text(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_parse_as_podman_writes_them() {
        let m = parse_id_map("0:100000:65536").unwrap();
        assert_eq!((m.container, m.host, m.size), (0, 100000, 65536));
        for bad in ["0:100", "0:1:0", "a:1:2", "0:1:2:3", "4294967295:0:2"] {
            assert!(parse_id_map(bad).is_err(), "{bad}");
        }
        assert_eq!(proc_text(&[m, m]), "0 100000 65536\n0 100000 65536\n");
    }
}

//! ID maps as podman's `--uidmap`/`--gidmap` write them.

use crate::{IdmapError, Result};

/// A range of `size` IDs from `container` in the namespace, `host` outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// The host ID that container ID `id` has under `maps`, if it is mapped.
pub fn host_id(maps: &[IdMap], id: u32) -> Option<u32> {
    maps.iter()
        .find(|m| id >= m.container && id - m.container < m.size)
        .map(|m| m.host + (id - m.container))
}

/// The container ID that host ID `id` is under `maps`, if it is mapped.
pub fn container_id(maps: &[IdMap], id: u32) -> Option<u32> {
    maps.iter()
        .find(|m| id >= m.host && id - m.host < m.size)
        .map(|m| m.container + (id - m.host))
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

    #[test]
    fn ids_map_both_ways_within_the_ranges_only() {
        let maps = [
            IdMap {
                container: 0,
                host: 100000,
                size: 10,
            },
            IdMap {
                container: 1000,
                host: 200000,
                size: 5,
            },
        ];
        assert_eq!(host_id(&maps, 0), Some(100000));
        assert_eq!(host_id(&maps, 1004), Some(200004));
        assert_eq!(host_id(&maps, 10), None);
        assert_eq!(container_id(&maps, 100009), Some(9));
        assert_eq!(container_id(&maps, 200000), Some(1000));
        assert_eq!(container_id(&maps, 0), None);
    }
}

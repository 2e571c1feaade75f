//! Devices: `--device-cgroup-rule` and `--device` parsing, the host's
//! devices for `--privileged`, block I/O throttles, and their place in
//! the spec (`linux.devices`, `linux.resources.devices`,
//! `linux.resources.blockIO`).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::str::FromStr;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxBlockIoBuilder, LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup,
    LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxThrottleDeviceBuilder,
    LinuxWeightDeviceBuilder,
};

use super::options::{BlkioKind, BlkioThrottle, DeviceRule, DeviceSpec};
use super::SpecError;

fn rule_error(message: String) -> SpecError {
    SpecError::DeviceRule(message)
}

/// A major or minor number of a rule: `*` (any) or a decimal number.
fn rule_number(text: &str) -> Result<Option<i64>, SpecError> {
    if text == "*" {
        return Ok(None);
    }
    // podman's wording (Go's strconv) for a number that is not one.
    text.parse::<u32>()
        .map(|n| Some(i64::from(n)))
        .map_err(|_| {
            rule_error(format!(
                "strconv.ParseUint: parsing {text:?}: invalid syntax"
            ))
        })
}

impl FromStr for DeviceRule {
    type Err = SpecError;

    /// Parses `TYPE MAJOR[:MINOR] ACCESS`, with podman's messages.
    fn from_str(s: &str) -> Result<DeviceRule, SpecError> {
        let fields: Vec<&str> = s.split_whitespace().collect();
        let [kind, numbers, access] = fields.as_slice() else {
            return Err(rule_error(format!(
                "invalid device cgroup rule requires type, major:Minor, and access rules: {s:?}"
            )));
        };
        let kind = match *kind {
            "a" | "b" | "c" => kind.chars().next().expect("one letter"),
            other => {
                return Err(rule_error(format!(
                    "invalid device type in device-access-add: {other}"
                )))
            }
        };
        let (major, minor) = match numbers.split_once(':') {
            Some((major, minor)) => (rule_number(major)?, rule_number(minor)?),
            None => (rule_number(numbers)?, None),
        };
        if let Some(bad) = access.chars().find(|c| !"rwm".contains(*c)) {
            return Err(rule_error(format!(
                "invalid device access in device-access-add: {bad}"
            )));
        }
        Ok(DeviceRule {
            kind,
            major,
            minor,
            access: access.to_string(),
        })
    }
}

/// The device node at `path` on the host, to appear at `dest` with
/// `access`; `None` when `path` is not a device.
pub fn host_device(path: &Path, dest: &str, access: &str) -> std::io::Result<Option<DeviceSpec>> {
    let meta = std::fs::metadata(path)?;
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return Ok(None);
    };
    let rdev = meta.rdev();
    Ok(Some(DeviceSpec {
        path: dest.to_string(),
        kind,
        major: i64::from(rustix::fs::major(rdev)),
        minor: i64::from(rustix::fs::minor(rdev)),
        file_mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        access: access.to_string(),
    }))
}

/// Directories of /dev that are not devices of the host's to hand over:
/// each container gets its own.
const OWN_DEV_DIRS: &[&str] = &[
    "/dev/pts",
    "/dev/shm",
    "/dev/mqueue",
    "/dev/.lxc",
    "/dev/.udev",
];

/// Every device node under the host's /dev (what `--privileged` gives, as
/// podman does), except the terminal and console devices of the host
/// (`/dev/console`, `/dev/ptmx`, which the runtime sets up) and, when
/// `systemd` is true, the terminals `/dev/tty*` that a systemd in the
/// container would take over (as podman leaves them out).
pub fn host_devices(systemd: bool) -> Vec<DeviceSpec> {
    let mut out = Vec::new();
    walk(Path::new("/dev"), systemd, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// `/dev/ttyN`, `/dev/ttySN` and the like (not `/dev/tty` itself, which
/// every container has).
fn is_virtual_console(path: &str) -> bool {
    path.strip_prefix("/dev/tty").is_some_and(|n| !n.is_empty())
}

fn walk(dir: &Path, systemd: bool, out: &mut Vec<DeviceSpec>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(text) = path.to_str() else { continue };
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if !OWN_DEV_DIRS.contains(&text) {
                walk(&path, systemd, out);
            }
            continue;
        }
        if ft.is_symlink()
            || matches!(text, "/dev/console" | "/dev/ptmx")
            || (systemd && is_virtual_console(text))
        {
            continue;
        }
        if let Ok(Some(d)) = host_device(&path, text, "rwm") {
            out.push(d);
        }
    }
}

fn device_type(kind: char) -> LinuxDeviceType {
    match kind {
        'b' => LinuxDeviceType::B,
        'a' => LinuxDeviceType::A,
        _ => LinuxDeviceType::C,
    }
}

/// The `linux.devices` entries of `devices`.
pub(crate) fn linux_devices(devices: &[DeviceSpec]) -> Result<Vec<LinuxDevice>, SpecError> {
    devices
        .iter()
        .map(|d| {
            Ok(LinuxDeviceBuilder::default()
                .path(d.path.clone())
                .typ(device_type(d.kind))
                .major(d.major)
                .minor(d.minor)
                .file_mode(d.file_mode)
                .uid(d.uid)
                .gid(d.gid)
                .build()?)
        })
        .collect()
}

/// The cgroup rules allowing `devices` and `rules`.
pub(crate) fn cgroup_rules(
    devices: &[DeviceSpec],
    rules: &[DeviceRule],
) -> Result<Vec<LinuxDeviceCgroup>, SpecError> {
    let mut out = Vec::new();
    for d in devices {
        out.push(
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(device_type(d.kind))
                .major(d.major)
                .minor(d.minor)
                .access(d.access.clone())
                .build()?,
        );
    }
    for r in rules {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(device_type(r.kind))
            .access(r.access.clone());
        if let Some(m) = r.major {
            b = b.major(m);
        }
        if let Some(m) = r.minor {
            b = b.minor(m);
        }
        out.push(b.build()?);
    }
    Ok(out)
}

/// `linux.resources.blockIO` for the throttles, if any.
pub(crate) fn block_io(throttles: &[BlkioThrottle]) -> Result<Option<LinuxBlockIo>, SpecError> {
    if throttles.is_empty() {
        return Ok(None);
    }
    let of = |kind: BlkioKind| -> Result<Vec<_>, SpecError> {
        throttles
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| {
                Ok(LinuxThrottleDeviceBuilder::default()
                    .major(t.major)
                    .minor(t.minor)
                    .rate(t.rate)
                    .build()?)
            })
            .collect()
    };
    let mut b = LinuxBlockIoBuilder::default();
    let weights = throttles
        .iter()
        .filter(|t| t.kind == BlkioKind::Weight)
        .map(|t| {
            Ok(LinuxWeightDeviceBuilder::default()
                .major(t.major)
                .minor(t.minor)
                .weight(u16::try_from(t.rate).unwrap_or(u16::MAX))
                .build()?)
        })
        .collect::<Result<Vec<_>, SpecError>>()?;
    if !weights.is_empty() {
        b = b.weight_device(weights);
    }
    for (kind, list) in [
        (BlkioKind::ReadBps, of(BlkioKind::ReadBps)?),
        (BlkioKind::WriteBps, of(BlkioKind::WriteBps)?),
        (BlkioKind::ReadIops, of(BlkioKind::ReadIops)?),
        (BlkioKind::WriteIops, of(BlkioKind::WriteIops)?),
    ] {
        if list.is_empty() {
            continue;
        }
        b = match kind {
            BlkioKind::ReadBps => b.throttle_read_bps_device(list),
            BlkioKind::WriteBps => b.throttle_write_bps_device(list),
            BlkioKind::ReadIops => b.throttle_read_iops_device(list),
            BlkioKind::WriteIops => b.throttle_write_iops_device(list),
            BlkioKind::Weight => b,
        };
    }
    Ok(Some(b.build()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        s.parse::<DeviceRule>().unwrap_err().to_string()
    }

    #[test]
    fn device_rules_parse_with_podmans_messages() {
        let r: DeviceRule = "c 7:* rmw".parse().unwrap();
        assert_eq!((r.kind, r.major, r.minor), ('c', Some(7), None));
        let r: DeviceRule = "a 7 rmw".parse().unwrap();
        assert_eq!(
            (r.kind, r.major, r.minor, r.access.as_str()),
            ('a', Some(7), None, "rmw")
        );
        let r: DeviceRule = "b 7:1 r".parse().unwrap();
        assert_eq!(r.minor, Some(1));
        assert_eq!(
            err("b 7:* rmX"),
            "invalid device access in device-access-add: X"
        );
        assert_eq!(
            err("b 7:2"),
            "invalid device cgroup rule requires type, major:Minor, and access rules: \"b 7:2\""
        );
        assert_eq!(
            err("x 7:* rmw"),
            "invalid device type in device-access-add: x"
        );
        assert_eq!(
            err("a a:* rmw"),
            "strconv.ParseUint: parsing \"a\": invalid syntax"
        );
    }

    #[test]
    fn block_io_throttles_and_weights() {
        let t = |kind, rate| BlkioThrottle {
            kind,
            major: 8,
            minor: 0,
            rate,
        };
        assert!(block_io(&[]).unwrap().is_none());
        let io = block_io(&[t(BlkioKind::ReadBps, 1 << 20), t(BlkioKind::Weight, 300)])
            .unwrap()
            .unwrap();
        let read = io.throttle_read_bps_device().as_ref().unwrap();
        assert_eq!((read[0].major(), read[0].rate()), (8, 1 << 20));
        assert_eq!(io.weight_device().as_ref().unwrap()[0].weight(), Some(300));
        assert!(io.throttle_write_bps_device().is_none());
    }

    #[test]
    fn host_devices_are_devices_and_skip_consoles_for_systemd() {
        let all = host_devices(false);
        let null = all
            .iter()
            .find(|d| d.path == "/dev/null")
            .expect("/dev/null");
        assert_eq!((null.kind, null.major, null.minor), ('c', 1, 3));
        assert!(all
            .iter()
            .all(|d| d.path != "/dev/ptmx" && d.path != "/dev/console"));
        let systemd = host_devices(true);
        assert!(systemd.iter().all(|d| !is_virtual_console(&d.path)));
        assert!(is_virtual_console("/dev/tty1") && !is_virtual_console("/dev/tty"));
    }
}

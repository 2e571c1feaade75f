//! `devices` entries: `"<host>[:<container>][:<perms>]"` where perms is a
//! combination of r, w and m (defaults to rwm).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

/// A parsed `devices` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct DeviceSpec {
    pub host: PathBuf,
    pub container: PathBuf,
    pub permissions: String,
}

fn is_mode(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 3
        && s.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
        && s.chars().enumerate().all(|(i, c)| !s[i + 1..].contains(c))
}

impl FromStr for DeviceSpec {
    type Err = String;

    fn from_str(entry: &str) -> Result<Self, String> {
        let parts: Vec<&str> = entry.split(':').collect();
        let (host, container, permissions) = match parts.as_slice() {
            [h] => (*h, None, None),
            [h, x] if is_mode(x) => (*h, None, Some(*x)),
            [h, c] => (*h, Some(*c), None),
            [h, c, p] => (*h, Some(*c), Some(*p)),
            _ => {
                return Err(format!(
                    "device {entry:?} is not <host-device>[:<container-path>][:<permissions>]"
                ))
            }
        };
        if !host.starts_with("/dev/") {
            return Err(format!(
                "device {entry:?}: host device {host:?} is not under /dev/"
            ));
        }
        if let Some(c) = container {
            if !c.starts_with('/') {
                return Err(format!(
                    "device {entry:?}: container path {c:?} is not absolute (or not a mode of r, w, m)"
                ));
            }
        }
        if let Some(p) = permissions {
            if !is_mode(p) {
                return Err(format!(
                    "device {entry:?}: permissions {p:?} are not a combination of r, w and m"
                ));
            }
        }
        Ok(Self {
            host: PathBuf::from(host),
            container: PathBuf::from(container.unwrap_or(host)),
            permissions: permissions.unwrap_or("rwm").to_string(),
        })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.host.display(),
            self.container.display(),
            self.permissions
        )
    }
}

impl From<DeviceSpec> for String {
    fn from(d: DeviceSpec) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let d: DeviceSpec = "/dev/sdc:/dev/xvdc:rw".parse().unwrap();
        assert_eq!(d.host, PathBuf::from("/dev/sdc"));
        assert_eq!(d.container, PathBuf::from("/dev/xvdc"));
        assert_eq!(d.permissions, "rw");
        let d: DeviceSpec = "/dev/fuse".parse().unwrap();
        assert_eq!(d.container, PathBuf::from("/dev/fuse"));
        assert_eq!(d.permissions, "rwm");
        let d: DeviceSpec = "/dev/fuse:r".parse().unwrap();
        assert_eq!(
            (d.container.to_str().unwrap(), d.permissions.as_str()),
            ("/dev/fuse", "r")
        );
        let d: DeviceSpec = "/dev/a:/dev/b".parse().unwrap();
        assert_eq!(d.container, PathBuf::from("/dev/b"));
    }

    #[test]
    fn rejects() {
        assert!("/tmp/x"
            .parse::<DeviceSpec>()
            .unwrap_err()
            .contains("not under /dev/"));
        assert!("/dev/a:rel"
            .parse::<DeviceSpec>()
            .unwrap_err()
            .contains("not absolute"));
        assert!("/dev/a:/dev/b:rx"
            .parse::<DeviceSpec>()
            .unwrap_err()
            .contains("permissions"));
        assert!("/dev/a:/dev/b:rr"
            .parse::<DeviceSpec>()
            .unwrap_err()
            .contains("permissions"));
        assert!("/dev/a:/b:r:x"
            .parse::<DeviceSpec>()
            .unwrap_err()
            .contains("is not <host-device>"));
    }
}

super::deserialize_from_str!(DeviceSpec, "a device such as \"/dev/fuse:/dev/fuse:rwm\"");

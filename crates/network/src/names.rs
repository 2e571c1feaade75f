//! Validation of the names this crate turns into file names and kernel
//! interface names.

use crate::error::{Error, Result};

/// Network names that would be read as a `--network` mode instead.
const RESERVED: &[&str] = &[
    "host",
    "none",
    "bridge",
    "private",
    "container",
    "ns",
    "slirp4netns",
    "pasta",
    "default",
];

/// Longest network name; it becomes `<name>.json` and must fit a file name.
const MAX_NETWORK_NAME: usize = 200;

/// Linux interface names hold at most IFNAMSIZ - 1 = 15 bytes.
pub const MAX_INTERFACE_NAME: usize = 15;

/// Network names follow podman: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_network_name(name: &str) -> Result<()> {
    let invalid = |reason: &str| Error::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(invalid("it is empty")),
        Some(c) if !c.is_ascii_alphanumeric() => {
            return Err(invalid("it must start with a letter or digit"))
        }
        Some(_) => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(invalid(
            "only letters, digits, '_', '.' and '-' are allowed",
        ));
    }
    if name.len() > MAX_NETWORK_NAME {
        return Err(invalid("it is longer than 200 characters"));
    }
    if RESERVED.contains(&name) {
        return Err(invalid("it is reserved for a --network mode"));
    }
    Ok(())
}

/// A bridge name the kernel accepts and that is safe in a sysfs path.
pub fn validate_interface_name(name: &str) -> Result<()> {
    let invalid = |reason: &str| Error::InvalidInterfaceName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.len() > MAX_INTERFACE_NAME {
        return Err(invalid("it is longer than 15 bytes"));
    }
    if name == "." || name == ".." {
        return Err(invalid("it is a path component"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(invalid(
            "only letters, digits, '_', '.' and '-' are allowed",
        ));
    }
    Ok(())
}

/// A network namespace name becomes one file name under the netns directory.
pub fn validate_netns_name(name: &str) -> Result<()> {
    let invalid = |reason: &str| Error::InvalidNetnsName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(invalid("it must be a single file name"));
    }
    if name.len() > 255 {
        return Err(invalid("it is longer than 255 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_names() {
        for ok in ["a", "web", "my_net.1-2", "9lives"] {
            validate_network_name(ok).unwrap();
        }
        for bad in [
            "", "-x", ".x", "a/b", "a b", "über", "host", "none", "bridge",
        ] {
            assert!(validate_network_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_network_name(&"a".repeat(201)).is_err());
    }

    #[test]
    fn interface_names() {
        validate_interface_name("hoist0").unwrap();
        validate_interface_name("abcdefghijklmno").unwrap();
        for bad in ["", "abcdefghijklmnop", "..", "a/b", "a b", "a:b"] {
            assert!(validate_interface_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn netns_names() {
        validate_netns_name("hoist-0123abcd").unwrap();
        for bad in ["", ".", "..", "a/b"] {
            assert!(validate_netns_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}

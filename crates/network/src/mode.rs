//! `--network` values: the default bridge, none, host, or named networks.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a container is networked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// The default network (`bridge`, `private` or no `--network`).
    Default,
    /// Its own namespace with only `lo`.
    None,
    /// The host's namespace.
    Host,
    /// Its own namespace joined to these networks (names or ids).
    Networks(Vec<String>),
}

impl NetworkMode {
    /// Parses every `--network` value given (each may list networks
    /// separated by commas). No value means the default network.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<NetworkMode> {
        let mut names: Vec<String> = Vec::new();
        let mut special: Option<NetworkMode> = None;
        for value in values {
            let value = value.as_ref();
            for item in value.split(',') {
                let invalid = |reason: &str| Error::InvalidNetworkMode {
                    mode: value.to_string(),
                    reason: reason.to_string(),
                };
                match item {
                    "" => return Err(invalid("empty network name")),
                    "none" => special = Some(NetworkMode::None),
                    "host" => special = Some(NetworkMode::Host),
                    "bridge" | "private" | "default" => special = Some(NetworkMode::Default),
                    other if other.contains(':') => {
                        return Err(invalid(
                            "container:, ns: and option syntax are not supported; use none, host, bridge or network names",
                        ))
                    }
                    name => {
                        if !names.iter().any(|n| n == name) {
                            names.push(name.to_string());
                        }
                    }
                }
            }
        }
        match (special, names.is_empty()) {
            (None, true) => Ok(NetworkMode::Default),
            (None, false) => Ok(NetworkMode::Networks(names)),
            (Some(mode), true) => Ok(mode),
            (Some(_), false) => Err(Error::InvalidNetworkMode {
                mode: values
                    .iter()
                    .map(|v| v.as_ref())
                    .collect::<Vec<_>>()
                    .join(","),
                reason: "none, host and bridge cannot be combined with named networks".into(),
            }),
        }
    }

    /// Whether the container gets a network namespace of its own.
    pub fn needs_netns(&self) -> bool {
        !matches!(self, NetworkMode::Host)
    }

    /// Whether netavark has to connect the namespace to networks.
    pub fn uses_netavark(&self) -> bool {
        matches!(self, NetworkMode::Default | NetworkMode::Networks(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<NetworkMode> {
        NetworkMode::parse(v)
    }

    #[test]
    fn modes() {
        assert_eq!(parse(&[]).unwrap(), NetworkMode::Default);
        assert_eq!(parse(&["bridge"]).unwrap(), NetworkMode::Default);
        assert_eq!(parse(&["none"]).unwrap(), NetworkMode::None);
        assert_eq!(parse(&["host"]).unwrap(), NetworkMode::Host);
        assert_eq!(
            parse(&["a,b", "c", "a"]).unwrap(),
            NetworkMode::Networks(vec!["a".into(), "b".into(), "c".into()])
        );
        assert!(parse(&["host", "a"]).is_err());
        assert!(parse(&["container:x"]).is_err());
        assert!(parse(&["a,,b"]).is_err());
        assert!(!NetworkMode::Host.needs_netns());
        assert!(NetworkMode::None.needs_netns() && !NetworkMode::None.uses_netavark());
        assert!(NetworkMode::Default.uses_netavark());
    }
}

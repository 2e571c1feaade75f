//! `env` entries: `"KEY=VALUE"` sets a value, `"KEY"` copies the variable
//! from the host, `"PREFIX*"` copies every host variable with that prefix.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A parsed `env` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum EnvEntry {
    /// `KEY=VALUE` (the value may be empty or contain `=`).
    Set { key: String, value: String },
    /// `KEY`: the host's value, if the host has the variable.
    FromHost { key: String },
    /// `PREFIX*`: every host variable whose name starts with the prefix.
    FromHostPrefix { prefix: String },
}

impl EnvEntry {
    /// Expands entries in order into `(key, value)` pairs, asking `host` for
    /// the process environment; later entries replace earlier keys.
    pub fn resolve<'a>(
        entries: impl IntoIterator<Item = &'a EnvEntry>,
        host: &[(String, String)],
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: &str| {
            if let Some(slot) = out.iter_mut().find(|(ok, _)| ok == k) {
                slot.1 = v.to_string();
            } else {
                out.push((k.to_string(), v.to_string()));
            }
        };
        for entry in entries {
            match entry {
                Self::Set { key, value } => put(key, value),
                Self::FromHost { key } => {
                    if let Some((_, v)) = host.iter().find(|(k, _)| k == key) {
                        put(key, v);
                    }
                }
                Self::FromHostPrefix { prefix } => {
                    for (k, v) in host.iter().filter(|(k, _)| k.starts_with(prefix.as_str())) {
                        put(k, v);
                    }
                }
            }
        }
        out
    }
}

impl FromStr for EnvEntry {
    type Err = String;

    fn from_str(entry: &str) -> Result<Self, String> {
        let (key, value) = match entry.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (entry, None),
        };
        if key.is_empty() {
            return Err(format!("env entry {entry:?} has an empty variable name"));
        }
        if key.chars().any(char::is_whitespace) {
            return Err(format!(
                "env entry {entry:?}: variable name {key:?} contains whitespace"
            ));
        }
        Ok(match value {
            Some(v) => Self::Set {
                key: key.to_string(),
                value: v.to_string(),
            },
            None => match key.strip_suffix('*') {
                Some(prefix) => Self::FromHostPrefix {
                    prefix: prefix.to_string(),
                },
                None => Self::FromHost {
                    key: key.to_string(),
                },
            },
        })
    }
}

impl fmt::Display for EnvEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Set { key, value } => write!(f, "{key}={value}"),
            Self::FromHost { key } => f.write_str(key),
            Self::FromHostPrefix { prefix } => write!(f, "{prefix}*"),
        }
    }
}

impl From<EnvEntry> for String {
    fn from(e: EnvEntry) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            "A=b=c".parse::<EnvEntry>().unwrap(),
            EnvEntry::Set {
                key: "A".into(),
                value: "b=c".into()
            }
        );
        assert_eq!(
            "A=".parse::<EnvEntry>().unwrap(),
            EnvEntry::Set {
                key: "A".into(),
                value: String::new()
            }
        );
        assert_eq!(
            "HOME".parse::<EnvEntry>().unwrap(),
            EnvEntry::FromHost { key: "HOME".into() }
        );
        assert_eq!(
            "LC_*".parse::<EnvEntry>().unwrap(),
            EnvEntry::FromHostPrefix {
                prefix: "LC_".into()
            }
        );
        assert!("=x"
            .parse::<EnvEntry>()
            .unwrap_err()
            .contains("empty variable name"));
        assert!("A B=x"
            .parse::<EnvEntry>()
            .unwrap_err()
            .contains("whitespace"));
    }

    #[test]
    fn resolve_reads_host_and_later_wins() {
        let host = vec![
            ("HOME".to_string(), "/root".to_string()),
            ("LC_ALL".to_string(), "C".to_string()),
            ("LC_TIME".to_string(), "en".to_string()),
            ("LANG".to_string(), "x".to_string()),
        ];
        let entries: Vec<EnvEntry> = ["A=1", "HOME", "MISSING", "LC_*", "A=2"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let got = EnvEntry::resolve(&entries, &host);
        assert_eq!(
            got,
            vec![
                ("A".to_string(), "2".to_string()),
                ("HOME".to_string(), "/root".to_string()),
                ("LC_ALL".to_string(), "C".to_string()),
                ("LC_TIME".to_string(), "en".to_string()),
            ]
        );
    }
}

super::deserialize_from_str!(EnvEntry, "an env entry such as \"KEY=VALUE\" or \"KEY\"");

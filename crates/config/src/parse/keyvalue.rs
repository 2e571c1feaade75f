//! `"name=value"` entries: `default_sysctls` and `annotations`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A `key=value` pair; the value may be empty and may contain `=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

impl FromStr for KeyValue {
    type Err = String;

    fn from_str(entry: &str) -> Result<Self, String> {
        match entry.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok(Self {
                key: k.trim().to_string(),
                value: v.trim_start().to_string(),
            }),
            _ => Err(format!("entry {entry:?} is not of the form <name>=<value>")),
        }
    }
}

impl fmt::Display for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl From<KeyValue> for String {
    fn from(kv: KeyValue) -> String {
        kv.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs() {
        let kv: KeyValue = "net.ipv4.ping_group_range=0 0".parse().unwrap();
        assert_eq!(
            (kv.key.as_str(), kv.value.as_str()),
            ("net.ipv4.ping_group_range", "0 0")
        );
        let kv: KeyValue = "a = b=c".parse().unwrap();
        assert_eq!((kv.key.as_str(), kv.value.as_str()), ("a", "b=c"));
        assert!("novalue"
            .parse::<KeyValue>()
            .unwrap_err()
            .contains("<name>=<value>"));
        assert!("=x".parse::<KeyValue>().is_err());
    }
}

super::deserialize_from_str!(KeyValue, "a \"name=value\" string");

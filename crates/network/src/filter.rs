//! `network ls --filter` and `network prune --filter`, with podman's keys:
//! name (a regular expression), id (a prefix), driver, label, label!,
//! until, dangling. Values of one key are alternatives; all keys must
//! match (labels: every `label` and no `label!`).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};

use crate::error::{Error, Result};
use crate::network::Network;
use crate::store::DEFAULT_NETWORK_NAME;

/// Which command the filters are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterUse {
    /// `network ls`: every key.
    List,
    /// `network prune`: label, label! and until.
    Prune,
}

/// Parsed filters.
#[derive(Debug, Clone, Default)]
pub struct NetworkFilter {
    names: Vec<regex::Regex>,
    ids: Vec<String>,
    drivers: Vec<String>,
    labels: Vec<String>,
    not_labels: Vec<String>,
    until: Option<DateTime<FixedOffset>>,
    dangling: Option<bool>,
}

impl NetworkFilter {
    /// Parses `KEY=VALUE` items. `parse_time` reads `until` values (the
    /// caller's timestamp syntax: RFC 3339, dates, durations).
    pub fn parse(
        items: &[String],
        usage: FilterUse,
        parse_time: impl Fn(&str) -> Option<DateTime<FixedOffset>>,
    ) -> Result<NetworkFilter> {
        let mut f = NetworkFilter::default();
        for item in items {
            let (key, value) = match item.split_once("!=") {
                Some((k, v)) if !k.contains('=') => (format!("{k}!"), v),
                _ => {
                    let (k, v) = item.split_once('=').unwrap_or((item, ""));
                    (k.to_string(), v)
                }
            };
            if usage == FilterUse::Prune && !matches!(key.as_str(), "label" | "label!" | "until") {
                return Err(Error::InvalidFilter { key });
            }
            let bad = |why: &str| Error::InvalidFilterValue {
                key: key.clone(),
                value: value.to_string(),
                reason: why.to_string(),
            };
            match key.as_str() {
                "name" => f
                    .names
                    .push(regex::Regex::new(value).map_err(|e| bad(&e.to_string()))?),
                "id" => f.ids.push(value.to_string()),
                "driver" => f.drivers.push(value.to_string()),
                "label" => f.labels.push(value.to_string()),
                "label!" => f.not_labels.push(value.to_string()),
                "until" => f.until = Some(parse_time(value).ok_or_else(|| {
                    bad("use a timestamp (RFC 3339, YYYY-MM-DD, Unix seconds) or a duration (10m)")
                })?),
                "dangling" => {
                    f.dangling = Some(match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(Error::InvalidDanglingFilter {
                                value: value.to_string(),
                            })
                        }
                    })
                }
                _ => return Err(Error::InvalidFilter { key }),
            }
        }
        Ok(f)
    }

    /// Whether the filter asks which containers use a network.
    pub fn needs_users(&self) -> bool {
        self.dangling.is_some()
    }

    /// Whether `net` passes; `in_use` says whether a container uses it.
    /// The default network is never dangling (prune never removes it).
    pub fn matches(&self, net: &Network, in_use: bool) -> bool {
        let dangling = !in_use && net.name != DEFAULT_NETWORK_NAME;
        (self.names.is_empty() || self.names.iter().any(|r| r.is_match(&net.name)))
            && (self.ids.is_empty() || self.ids.iter().any(|i| net.id.starts_with(i.as_str())))
            && (self.drivers.is_empty() || self.drivers.contains(&net.driver))
            && self.labels.iter().all(|l| label_matches(&net.labels, l))
            && !self
                .not_labels
                .iter()
                .any(|l| label_matches(&net.labels, l))
            && self.until.is_none_or(|t| net.created < t)
            && self.dangling.is_none_or(|d| d == dangling)
    }
}

/// `key` or `key=value` against a network's labels.
fn label_matches(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(filter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(name: &str, labels: &[(&str, &str)]) -> Network {
        let mut n: Network = serde_json::from_value(serde_json::json!({
            "name": name,
            "id": format!("{:0<64}", "abc"),
            "driver": "bridge",
            "created": "2021-10-06T18:50:54+02:00",
        }))
        .unwrap();
        n.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        n
    }

    fn parse(items: &[&str], usage: FilterUse) -> Result<NetworkFilter> {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        NetworkFilter::parse(&items, usage, |s| DateTime::parse_from_rfc3339(s).ok())
    }

    #[test]
    fn keys_values_and_combinations() {
        let web = net("web", &[("tier", "front")]);
        let db = net("db", &[]);
        let f = parse(&["name=^w"], FilterUse::List).unwrap();
        assert!(f.matches(&web, false) && !f.matches(&db, false));
        let f = parse(&["name=web", "name=db"], FilterUse::List).unwrap();
        assert!(f.matches(&web, false) && f.matches(&db, false));
        let f = parse(&["label=tier=front", "driver=bridge"], FilterUse::List).unwrap();
        assert!(f.matches(&web, false) && !f.matches(&db, false));
        let f = parse(&["label!=tier"], FilterUse::Prune).unwrap();
        assert!(!f.matches(&web, false) && f.matches(&db, false));
        let f = parse(&["id=abc"], FilterUse::List).unwrap();
        assert!(f.matches(&web, false));
        let f = parse(&["dangling=true"], FilterUse::List).unwrap();
        assert!(f.matches(&web, false) && !f.matches(&web, true));
        assert!(!f.matches(&net("podman", &[]), false));
        let f = parse(&["until=2030-01-01T00:00:00Z"], FilterUse::List).unwrap();
        assert!(f.matches(&web, false));
    }

    #[test]
    fn bad_filters_use_podmans_words() {
        let e = parse(&["foo=bar"], FilterUse::List).unwrap_err();
        assert_eq!(e.to_string(), "invalid filter \"foo\"");
        let e = parse(&["dangling=x"], FilterUse::List).unwrap_err();
        assert_eq!(e.to_string(), "invalid dangling filter value \"x\"");
        assert!(parse(&["name=x"], FilterUse::Prune).is_err());
    }
}

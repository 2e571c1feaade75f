//! `events --filter KEY=VALUE`: filters with the same key are alternatives
//! (any may match), filters with different keys must all match.

use std::collections::BTreeMap;

use crate::event::{Event, EventType, Status};
use crate::EventsError;

/// One parsed `--filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    /// A container's name or id prefix.
    Container(String),
    /// The status (`event=` and `status=` are the same key).
    Status(String),
    Image(String),
    Volume(String),
    Network(String),
    Pod(String),
    Type(String),
    /// `KEY=VALUE` among the attributes (labels).
    Label(String, String),
}

impl Condition {
    fn parse(filter: &str) -> Result<(String, Condition), EventsError> {
        let invalid = || EventsError::InvalidFilter(filter.to_string());
        let (given, value) = filter.split_once('=').ok_or_else(invalid)?;
        let key = given.to_ascii_uppercase();
        let v = value.to_string();
        let c = match key.as_str() {
            "CONTAINER" => Condition::Container(v),
            "EVENT" | "STATUS" => {
                // docker's spelling of podman's `died`.
                let v = if v == "die" { "died".to_string() } else { v };
                return Ok(("STATUS".into(), Condition::Status(v)));
            }
            "IMAGE" => Condition::Image(v),
            "VOLUME" => Condition::Volume(v),
            "NETWORK" => Condition::Network(v),
            "POD" => Condition::Pod(v),
            "TYPE" => Condition::Type(v),
            "LABEL" => match value.split_once('=') {
                Some((k, lv)) => Condition::Label(k.to_string(), lv.to_string()),
                // A label filter needs a value: it matches nothing.
                None => Condition::Label(value.to_string(), String::new()),
            },
            _ => return Err(EventsError::InvalidFilter(given.to_string())),
        };
        Ok((key, c))
    }

    fn matches(&self, e: &Event) -> bool {
        let name_or_id = |kind: EventType, v: &str| {
            e.kind == kind && (e.name == v || (!v.is_empty() && e.id.starts_with(v)))
        };
        match self {
            Condition::Container(v) => name_or_id(EventType::Container, v),
            Condition::Status(v) => e.status == Status::parse(v),
            Condition::Image(v) => name_or_id(EventType::Image, v),
            Condition::Volume(v) => e.kind == EventType::Volume && e.name.starts_with(v.as_str()),
            Condition::Network(v) => {
                e.kind == EventType::Network && (e.network == *v || e.id.starts_with(v.as_str()))
            }
            Condition::Pod(v) => name_or_id(EventType::Pod, v),
            Condition::Type(v) => e.kind.as_str() == v,
            Condition::Label(k, v) => e
                .attributes
                .as_ref()
                .is_some_and(|a| a.get(k).is_some_and(|x| x == v)),
        }
    }
}

/// All the `--filter`s of one `events`.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    by_key: BTreeMap<String, Vec<Condition>>,
}

impl Filters {
    /// Parses `KEY=VALUE` filters; an unknown key or a missing `=` is an error.
    pub fn parse<S: AsRef<str>>(filters: &[S]) -> Result<Filters, EventsError> {
        let mut by_key: BTreeMap<String, Vec<Condition>> = BTreeMap::new();
        for f in filters {
            let (key, c) = Condition::parse(f.as_ref())?;
            by_key.entry(key).or_default().push(c);
        }
        Ok(Filters { by_key })
    }

    pub fn matches(&self, e: &Event) -> bool {
        self.by_key
            .values()
            .all(|alternatives| alternatives.iter().any(|c| c.matches(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctr(status: Status, name: &str, labels: &[(&str, &str)]) -> Event {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Event::container(status, "0123456789abcdef", name, "img", &labels)
    }

    #[test]
    fn same_key_or_different_keys_and() {
        let f = Filters::parse(&["container=foo", "container=bar", "event=start"]).unwrap();
        assert!(f.matches(&ctr(Status::Start, "foo", &[])));
        assert!(f.matches(&ctr(Status::Start, "bar", &[])));
        assert!(!f.matches(&ctr(Status::Start, "baz", &[])));
        assert!(!f.matches(&ctr(Status::Died, "foo", &[])));
        let f = Filters::parse(&["container=0123456", "status=die", "label=a=b=c"]).unwrap();
        assert!(f.matches(&ctr(Status::Died, "x", &[("a", "b=c")])));
        assert!(!f.matches(&ctr(Status::Died, "x", &[("a", "b")])));
        let f = Filters::parse(&["type=image", "image=0123"]).unwrap();
        assert!(f.matches(&Event::image(Status::Tag, "0123456", "x")));
        assert!(!f.matches(&ctr(Status::Start, "0123", &[])));
        assert!(Filters::parse(&["nonsense"]).is_err());
        assert!(matches!(
            Filters::parse(&["colour=red"]),
            Err(EventsError::InvalidFilter(k)) if k == "colour"
        ));
        assert!(Filters::parse::<&str>(&[])
            .unwrap()
            .matches(&ctr(Status::Start, "a", &[])));
    }
}

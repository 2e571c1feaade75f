//! One event, as podman 4.3 records it: the JSON line of its file backend
//! and the human-readable line `podman events` prints.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, FixedOffset, Local, Offset, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Container,
    Image,
    Network,
    Pod,
    System,
    Volume,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Container => "container",
            EventType::Image => "image",
            EventType::Network => "network",
            EventType::Pod => "pod",
            EventType::System => "system",
            EventType::Volume => "volume",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! statuses {
    ($($variant:ident = $name:literal,)*) => {
        /// What happened. Files written by other engines may hold statuses
        /// hoist does not know: they are kept as [`Status::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum Status {
            $($variant,)*
            Other(String),
        }

        impl Status {
            pub fn as_str(&self) -> &str {
                match self {
                    $(Status::$variant => $name,)*
                    Status::Other(s) => s,
                }
            }

            pub fn parse(s: &str) -> Status {
                match s {
                    $($name => Status::$variant,)*
                    other => Status::Other(other.to_string()),
                }
            }
        }
    };
}

statuses! {
    Attach = "attach",
    Checkpoint = "checkpoint",
    Cleanup = "cleanup",
    Commit = "commit",
    Connect = "connect",
    Create = "create",
    Died = "died",
    Disconnect = "disconnect",
    Exec = "exec",
    ExecDied = "exec_died",
    Exited = "exited",
    Export = "export",
    HealthStatus = "health_status",
    Import = "import",
    Init = "init",
    Kill = "kill",
    LoadFromArchive = "loadfromarchive",
    Mount = "mount",
    Pause = "pause",
    Prune = "prune",
    Pull = "pull",
    Push = "push",
    Refresh = "refresh",
    Remove = "remove",
    Rename = "rename",
    Renumber = "renumber",
    Restart = "restart",
    Restore = "restore",
    Rotate = "log-rotation",
    Save = "save",
    Start = "start",
    Stop = "stop",
    Sync = "sync",
    Tag = "tag",
    Unmount = "unmount",
    Unpause = "unpause",
    Untag = "untag",
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
        Ok(Status::parse(&String::deserialize(d)?))
    }
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// One event. The field order and names are podman's JSON (Go's
/// `omitempty` for the optional ones, `Attributes` always present).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "ContainerExitCode", default, skip_serializing_if = "is_zero")]
    pub container_exit_code: i32,
    /// The container or image id.
    #[serde(rename = "ID", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The image a container was made from, as its user named it.
    #[serde(rename = "Image", default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// A container's or volume's name, an image reference, a file.
    #[serde(rename = "Name", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The network of a network event.
    #[serde(rename = "network", default, skip_serializing_if = "String::is_empty")]
    pub network: String,
    #[serde(rename = "Status")]
    pub status: Status,
    #[serde(rename = "Time", with = "go_time")]
    pub time: DateTime<FixedOffset>,
    #[serde(rename = "Type")]
    pub kind: EventType,
    #[serde(
        rename = "health_status",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub health_status: String,
    /// A container's labels (its image's included); `null` for the others.
    #[serde(rename = "Attributes", default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

impl Event {
    /// An event of `kind` and `status` happening now.
    pub fn new(kind: EventType, status: Status) -> Event {
        Event {
            container_exit_code: 0,
            id: String::new(),
            image: String::new(),
            name: String::new(),
            network: String::new(),
            status,
            time: Local::now().fixed_offset(),
            kind,
            health_status: String::new(),
            attributes: None,
        }
    }

    /// A container event: its id, name, image and labels.
    pub fn container(
        status: Status,
        id: &str,
        name: &str,
        image: &str,
        labels: &BTreeMap<String, String>,
    ) -> Event {
        let mut e = Event::new(EventType::Container, status);
        e.id = id.to_string();
        e.name = name.to_string();
        e.image = image.to_string();
        e.attributes = Some(labels.clone());
        e
    }

    /// An image event: the image id (empty when not known, as for a pull)
    /// and the name or place it concerns.
    pub fn image(status: Status, id: &str, name: &str) -> Event {
        let mut e = Event::new(EventType::Image, status);
        e.id = id.to_string();
        e.name = name.to_string();
        e
    }

    /// A volume event.
    pub fn volume(status: Status, name: &str) -> Event {
        let mut e = Event::new(EventType::Volume, status);
        e.name = name.to_string();
        e
    }

    /// A network event: container `id` (named `name`) and the network.
    pub fn network(status: Status, id: &str, name: &str, network: &str) -> Event {
        let mut e = Event::new(EventType::Network, status);
        e.id = id.to_string();
        e.name = name.to_string();
        e.network = network.to_string();
        e
    }

    /// The line of the file backend.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an event serializes")
    }

    pub fn from_json(line: &str) -> Result<Event, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The line `podman events` prints; `truncate` shortens ids to 12.
    pub fn human(&self, truncate: bool) -> String {
        let id = if truncate {
            &self.id[..self.id.len().min(12)]
        } else {
            &self.id
        };
        let (time, kind, status) = (go_string(&self.time), self.kind, &self.status);
        match self.kind {
            EventType::Container | EventType::Pod => {
                let mut s = format!(
                    "{time} {kind} {status} {id} (image={}, name={}",
                    self.image, self.name
                );
                if !self.health_status.is_empty() {
                    s.push_str(&format!(", health_status={}", self.health_status));
                }
                for (k, v) in self.attributes.iter().flatten() {
                    s.push_str(&format!(", {k}={v}"));
                }
                s.push(')');
                s
            }
            EventType::Network => format!(
                "{time} {kind} {status} {id} (container={id}, name={})",
                self.network
            ),
            EventType::Image => format!("{time} {kind} {status} {id} {}", self.name),
            EventType::System if self.name.is_empty() => format!("{time} {kind} {status}"),
            EventType::System | EventType::Volume => {
                format!("{time} {kind} {status} {}", self.name)
            }
        }
    }
}

/// Go's fractional seconds: up to nine digits, trailing zeros dropped.
fn go_fraction(t: &DateTime<FixedOffset>) -> String {
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos == 0 {
        return String::new();
    }
    let digits = format!(".{nanos:09}");
    digits.trim_end_matches('0').to_string()
}

/// Go's `time.RFC3339Nano`, as its JSON encoding writes times.
pub fn go_rfc3339_nano(t: &DateTime<FixedOffset>) -> String {
    let zone = if t.offset().fix().local_minus_utc() == 0 {
        "Z".to_string()
    } else {
        t.format("%:z").to_string()
    };
    format!("{}{}{zone}", t.format("%Y-%m-%dT%H:%M:%S"), go_fraction(t))
}

/// Go's `time.Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`
/// (a zone without a name shows its offset twice, as Go's does).
pub fn go_string(t: &DateTime<FixedOffset>) -> String {
    let offset = t.format("%z").to_string();
    let zone = if t.offset().local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        offset.clone()
    };
    format!(
        "{}{} {offset} {zone}",
        t.format("%Y-%m-%d %H:%M:%S"),
        go_fraction(t)
    )
}

mod go_time {
    use chrono::{DateTime, FixedOffset};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::go_rfc3339_nano(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn json_is_podmans_line() {
        let mut labels = BTreeMap::new();
        labels.insert("a".to_string(), "b c".to_string());
        let mut e = Event::container(Status::Died, "abc", "n", "img:1", &labels);
        e.container_exit_code = 17;
        e.time = at("2026-12-04T21:01:54.786427990Z");
        assert_eq!(
            e.to_json(),
            r#"{"ContainerExitCode":17,"ID":"abc","Image":"img:1","Name":"n","Status":"died","Time":"2026-12-04T21:01:54.78642799Z","Type":"container","Attributes":{"a":"b c"}}"#
        );
        assert_eq!(Event::from_json(&e.to_json()).unwrap(), e);
        let line = r#"{"Name":"busybox","Status":"pull","Time":"2022-04-06T11:26:42.723667900+02:00","Type":"image","Attributes":null}"#;
        let p = Event::from_json(line).unwrap();
        assert_eq!(p.status, Status::Pull);
        assert_eq!(p.to_json(), line.replace("7900+", "79+"));
        assert_eq!(
            p.human(true),
            "2022-04-06 11:26:42.7236679 +0200 +0200 image pull  busybox"
        );
        let odd = Event::from_json(
            r#"{"Status":"fancy","Time":"2022-04-06T11:26:42Z","Type":"system","Attributes":null}"#,
        )
        .unwrap();
        assert_eq!(odd.status.as_str(), "fancy");
        assert_eq!(
            odd.human(true),
            "2022-04-06 11:26:42 +0000 UTC system fancy"
        );
    }

    #[test]
    fn human_lines() {
        let mut labels = BTreeMap::new();
        labels.insert("k".to_string(), "v".to_string());
        let id = "0123456789abcdef0123";
        let mut e = Event::container(Status::Start, id, "c1", "img", &labels);
        e.time = at("2026-12-04T17:21:31.841516774Z");
        assert_eq!(
            e.human(false),
            format!("2026-12-04 17:21:31.841516774 +0000 UTC container start {id} (image=img, name=c1, k=v)")
        );
        assert!(e.human(true).contains(" start 0123456789ab (image"));
        let mut n = Event::network(Status::Connect, id, "c1", "net1");
        n.time = e.time;
        assert!(n
            .human(false)
            .ends_with(&format!("connect {id} (container={id}, name=net1)")));
        let mut v = Event::volume(Status::Create, "v1");
        v.time = e.time;
        assert!(v.human(false).ends_with("volume create v1"));
        assert_eq!(Status::parse("log-rotation"), Status::Rotate);
    }
}

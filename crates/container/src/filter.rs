//! podman's container filters (`--filter KEY=VALUE` of `ps`, `start`,
//! `stop`, `rm`, `pause`, `unpause`) and `ps --sort`.
//!
//! Values given for one key are alternatives (any may match), except
//! `label`, where every value must match; filters of different keys must
//! all match. Values are checked when parsed, with podman's messages.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::error::{ContainerError, Result};
use crate::options::{MountOption, RestartPolicy};
use crate::record::{Container, Status};
use crate::store::Containers;

/// The status names podman takes in `status=` (`stopped` is `exited`).
const STATUSES: &[&str] = &[
    "created",
    "initialized",
    "running",
    "paused",
    "stopping",
    "exited",
    "stopped",
    "unknown",
    "configured",
    "removing",
];

/// The restart policy names of `restart-policy=` (`none`: no policy).
const RESTART_POLICIES: &[&str] = &["none", "no", "on-failure", "always", "unless-stopped"];

/// One key's test.
#[derive(Debug, Clone)]
enum Test {
    /// Id prefixes.
    Id(Vec<String>),
    /// Regular expressions, matched anywhere in the name.
    Name(Vec<Regex>),
    /// `KEY` or `KEY=VALUE`: all must be there.
    Label(Vec<String>),
    /// Status names (`stopped` already turned into `exited`).
    Status(Vec<String>),
    Exited(Vec<i32>),
    /// Image names or ids.
    Ancestor(Vec<String>),
    /// Created before this time.
    Before(DateTime<Utc>),
    /// Created after this time.
    Since(DateTime<Utc>),
    /// Created before this time (a time or duration, not a container).
    Until(DateTime<Utc>),
    /// Volume names or mount destinations (`SOURCE:DEST` for both).
    Volume(Vec<String>),
    /// Network names.
    Network(Vec<String>),
    RestartPolicy(Vec<String>),
    /// Regular expressions on the first word of the command.
    Command(Vec<Regex>),
    /// Pod names or ids (a prefix of the ID).
    Pod(Vec<String>),
    /// Health statuses.
    Health(Vec<String>),
}

/// Parsed `--filter` values.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter {
    tests: Vec<Test>,
}

impl ContainerFilter {
    /// Parses `KEY=VALUE` filters; `since`/`before` name containers of `cs`.
    pub fn parse(cs: &Containers, filters: &[String]) -> Result<ContainerFilter> {
        // Group the values by key, keeping the order keys first appear in.
        let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
        for f in filters {
            let Some((k, v)) = f.split_once('=') else {
                return Err(ContainerError::Invalid(format!("invalid filter {f:?}")));
            };
            match grouped.iter_mut().find(|(key, _)| key == k) {
                Some((_, values)) => values.push(v.to_string()),
                None => grouped.push((k.to_string(), vec![v.to_string()])),
            }
        }
        let tests = grouped
            .into_iter()
            .map(|(k, values)| test(cs, &k, values))
            .collect::<Result<_>>()?;
        Ok(ContainerFilter { tests })
    }

    /// Whether no filter was given.
    pub fn is_empty(&self) -> bool {
        self.tests.is_empty()
    }

    /// Whether a `status=` filter was given (`ps` then lists every state).
    pub fn has_status(&self) -> bool {
        self.tests.iter().any(|t| matches!(t, Test::Status(_)))
    }

    /// Whether `c` passes every filter.
    pub fn matches(&self, c: &Container) -> bool {
        self.tests.iter().all(|t| passes(t, c))
    }
}

fn regexes(key: &str, values: &[String]) -> Result<Vec<Regex>> {
    values
        .iter()
        .map(|v| {
            Regex::new(v)
                .map_err(|e| ContainerError::Invalid(format!("invalid {key} filter {v:?}: {e}")))
        })
        .collect()
}

/// The earliest creation time of the containers `values` name.
fn created_of(cs: &Containers, values: &[String]) -> Result<DateTime<Utc>> {
    let mut earliest: Option<DateTime<Utc>> = None;
    for v in values {
        let t = cs.get(v)?.config.created;
        earliest = Some(earliest.map_or(t, |e| e.min(t)));
    }
    Ok(earliest.unwrap_or_else(Utc::now))
}

fn test(cs: &Containers, key: &str, values: Vec<String>) -> Result<Test> {
    Ok(match key {
        "id" => Test::Id(values),
        // podman drops the slashes docker prints before names.
        "name" => Test::Name(regexes(
            key,
            &values
                .iter()
                .map(|v| v.replace('/', ""))
                .collect::<Vec<_>>(),
        )?),
        "label" => Test::Label(values),
        "status" => {
            for v in &values {
                if !STATUSES.contains(&v.as_str()) {
                    return Err(ContainerError::Invalid(format!(
                        "unknown container state: {v}: invalid argument"
                    )));
                }
            }
            Test::Status(
                values
                    .into_iter()
                    .map(|v| if v == "stopped" { "exited".into() } else { v })
                    .collect(),
            )
        }
        // podman takes any value; only healthy, unhealthy and starting match.
        "health" => Test::Health(values),
        "exited" => Test::Exited(
            values
                .iter()
                .map(|v| {
                    v.parse::<i32>().map_err(|e| {
                        ContainerError::Invalid(format!("exited code out of range {v:?}: {e}"))
                    })
                })
                .collect::<Result<_>>()?,
        ),
        "ancestor" => Test::Ancestor(values),
        "before" => Test::Before(created_of(cs, &values)?),
        "since" => Test::Since(created_of(cs, &values)?),
        "until" => {
            let mut latest: Option<DateTime<Utc>> = None;
            for v in &values {
                let t = crate::logs::parse_time(v)
                    .ok_or_else(|| {
                        ContainerError::Invalid(format!(
                            "invalid until filter {v:?}: use a time (RFC 3339, Unix seconds) or a duration like 10m"
                        ))
                    })?
                    .with_timezone(&Utc);
                latest = Some(latest.map_or(t, |l| l.max(t)));
            }
            Test::Until(latest.unwrap_or_else(Utc::now))
        }
        "volume" => Test::Volume(values),
        "network" => Test::Network(values),
        "restart-policy" => {
            let bad: Vec<&str> = values
                .iter()
                .map(String::as_str)
                .filter(|v| !RESTART_POLICIES.contains(v))
                .collect();
            match bad.len() {
                0 => Test::RestartPolicy(values),
                1 => {
                    return Err(ContainerError::Invalid(format!(
                        "{} invalid restart policy",
                        bad[0]
                    )))
                }
                _ => {
                    return Err(ContainerError::Invalid(format!(
                        "{} invalid restart policies",
                        bad.join(", ")
                    )))
                }
            }
        }
        "command" => Test::Command(regexes(key, &values)?),
        "pod" => Test::Pod(values),
        _ => {
            return Err(ContainerError::Invalid(format!(
                "{key} is an invalid filter"
            )))
        }
    })
}

/// `name:tag` split at the tag's colon (not a registry port's).
fn split_tag(image: &str) -> (&str, Option<&str>) {
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (&image[..slash + i], Some(&image[slash + i + 1..])),
        None => (image, None),
    }
}

fn ancestor_matches(c: &Container, value: &str) -> bool {
    let id = value.strip_prefix("sha256:").unwrap_or(value);
    if c.config.image_id == id || c.config.image == value {
        return true;
    }
    // A name without a tag stands for `:latest`.
    let (name, tag) = split_tag(&c.config.image);
    name == value && tag.is_none_or(|t| t == "latest")
}

fn volume_matches(c: &Container, value: &str) -> bool {
    let (source, dest) = match value.split_once(':') {
        Some((s, d)) => (s, Some(d)),
        None => (value, None),
    };
    c.config.options.mounts.iter().any(|m| {
        let name = match m {
            MountOption::Volume { name, .. } => Some(name.as_str()),
            _ => None,
        };
        match dest {
            Some(d) => m.destination() == d && name == Some(source),
            None => m.destination() == source || name == Some(source),
        }
    })
}

/// The networks a container is (to be) joined to, by name, as podman's
/// `ps` shows them: none for `none`, `host` or another's namespace.
pub(crate) fn network_names(c: &Container) -> Vec<String> {
    let nets = &c.config.options.networks;
    if nets.is_empty() {
        return vec![hoist_network::DEFAULT_NETWORK_NAME.to_string()];
    }
    nets.iter()
        .flat_map(|n| n.split(','))
        .filter(|n| !matches!(*n, "none" | "host") && !n.contains(':'))
        .map(|n| match n {
            "bridge" | "private" | "default" => hoist_network::DEFAULT_NETWORK_NAME.to_string(),
            n => n.to_string(),
        })
        .collect()
}

fn restart_matches(c: &Container, policy: &str) -> bool {
    match policy {
        "none" => c.config.options.restart == RestartPolicy::No,
        p => c.config.options.restart.name() == p,
    }
}

fn passes(t: &Test, c: &Container) -> bool {
    match t {
        Test::Id(ids) => ids.iter().any(|p| c.id().starts_with(p.as_str())),
        Test::Name(res) => res.iter().any(|r| r.is_match(c.name())),
        Test::Label(labels) => labels.iter().all(|l| {
            let labels = &c.config.options.labels;
            match l.split_once('=') {
                Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
                None => labels.contains_key(l.as_str()),
            }
        }),
        Test::Status(st) => {
            let s = c.status().as_str();
            st.iter().any(|v| v == s)
        }
        Test::Health(values) => {
            let h = c.health_status().unwrap_or("");
            values.iter().any(|v| v == h)
        }
        Test::Exited(codes) => {
            c.status() == Status::Exited && c.exit_code().is_some_and(|x| codes.contains(&x))
        }
        Test::Ancestor(values) => values.iter().any(|v| ancestor_matches(c, v)),
        Test::Before(t) => c.config.created < *t,
        Test::Since(t) => c.config.created > *t,
        Test::Until(t) => c.config.created < *t,
        Test::Volume(values) => values.iter().any(|v| volume_matches(c, v)),
        Test::Network(values) => {
            let nets = network_names(c);
            values.iter().any(|v| nets.contains(v))
        }
        Test::RestartPolicy(values) => values.iter().any(|p| restart_matches(c, p)),
        Test::Command(res) => c
            .command()
            .first()
            .is_some_and(|cmd| res.iter().any(|r| r.is_match(cmd))),
        Test::Pod(values) => {
            let o = &c.config.options;
            let id = o.pod.as_deref().unwrap_or_default();
            let name = o.pod_name.as_deref().unwrap_or_default();
            !id.is_empty()
                && values
                    .iter()
                    .any(|v| v == name || id.starts_with(v.as_str()))
        }
    }
}

/// `ps --sort`: podman's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PsSort {
    Command,
    /// Oldest first.
    #[default]
    Created,
    Id,
    Image,
    Names,
    /// As `Created`: the longest running first.
    RunningFor,
    Size,
    Status,
}

impl FromStr for PsSort {
    type Err = ContainerError;

    fn from_str(s: &str) -> Result<PsSort> {
        Ok(match s {
            "command" => PsSort::Command,
            "created" => PsSort::Created,
            "id" => PsSort::Id,
            "image" => PsSort::Image,
            "names" => PsSort::Names,
            "runningfor" => PsSort::RunningFor,
            "size" => PsSort::Size,
            "status" => PsSort::Status,
            _ => {
                return Err(ContainerError::Invalid(format!(
                    "invalid argument {s:?} for \"--sort\" flag: {s:?} is not a valid value.  Choose from: \"command, created, id, image, names, runningfor, size, status\""
                )))
            }
        })
    }
}

impl PsSort {
    /// Sorts `list` (stable: equal keys keep their order), with ages and
    /// status texts as of `now`.
    pub fn sort(self, list: &mut [Container], now: DateTime<Utc>) {
        match self {
            PsSort::Command => list.sort_by_cached_key(|c| c.command().join(" ")),
            PsSort::Created | PsSort::RunningFor => list.sort_by_key(|c| c.config.created),
            PsSort::Id => list.sort_by(|a, b| a.id().cmp(b.id())),
            PsSort::Image => list.sort_by(|a, b| a.config.image.cmp(&b.config.image)),
            PsSort::Names => list.sort_by(|a, b| a.name().cmp(b.name())),
            // hoist does not compute sizes (podman's --size): creation order.
            PsSort::Size => list.sort_by_key(|c| c.config.created),
            PsSort::Status => list.sort_by_cached_key(|c| c.status_text(now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::CreateOptions;

    #[test]
    fn tags_split_at_the_last_colon_after_the_last_slash() {
        assert_eq!(
            split_tag("127.0.0.1:5000/libpod/testimage:20220615"),
            ("127.0.0.1:5000/libpod/testimage", Some("20220615"))
        );
        assert_eq!(
            split_tag("localhost:5000/busybox"),
            ("localhost:5000/busybox", None)
        );
        assert_eq!(split_tag("busybox:latest"), ("busybox", Some("latest")));
    }

    #[test]
    fn sort_keys_are_podmans() {
        assert_eq!("names".parse::<PsSort>().unwrap(), PsSort::Names);
        assert_eq!("runningfor".parse::<PsSort>().unwrap(), PsSort::RunningFor);
        let e = "foo".parse::<PsSort>().unwrap_err().to_string();
        assert!(
            e.starts_with("invalid argument \"foo\" for \"--sort\" flag"),
            "{e}"
        );
    }

    const IMAGE: &str = r#"{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},
        "rootfs":{"type":"layers","diff_ids":[]}}"#;

    /// A container record named `name` (no image or process behind it).
    fn record(cs: &Containers, name: &str, image: &str, options: CreateOptions) -> Container {
        let config = cs
            .create(crate::store::NewContainer {
                name: Some(name.into()),
                image: image.into(),
                image_id: "ab".repeat(32),
                image_digest: String::new(),
                layer_dirs: vec![],
                lazy_layers: vec![],
                image_config: IMAGE.as_bytes().to_vec(),
                options,
            })
            .unwrap();
        cs.load(&config.id).unwrap()
    }

    fn matching(cs: &Containers, list: &[&Container], filters: &[&str]) -> Vec<String> {
        let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
        let f = ContainerFilter::parse(cs, &filters).unwrap();
        list.iter()
            .filter(|c| f.matches(c))
            .map(|c| c.name().to_string())
            .collect()
    }

    #[test]
    fn filters_match_as_podmans() {
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let web = record(
            &cs,
            "web",
            "quay.io/x/nginx:latest",
            CreateOptions {
                labels: [("tier".to_string(), "front".to_string())].into(),
                restart: RestartPolicy::Always,
                networks: vec!["bridge".into()],
                mounts: vec![MountOption::Volume {
                    name: "data".into(),
                    destination: "/data".into(),
                    read_only: false,
                    anonymous: false,
                    options: vec![],
                }],
                ..Default::default()
            },
        );
        let db = record(
            &cs,
            "db",
            "localhost:5000/pg:15",
            CreateOptions {
                labels: [
                    ("tier".to_string(), "back".to_string()),
                    ("x".to_string(), String::new()),
                ]
                .into(),
                networks: vec!["none".into()],
                ..Default::default()
            },
        );
        let all = [&web, &db];
        assert_eq!(matching(&cs, &all, &["name=^w"]), ["web"]);
        assert_eq!(matching(&cs, &all, &["name=/db"]), ["db"]);
        assert_eq!(matching(&cs, &all, &["id=", "name=d"]), ["db"]);
        // label: every value must match; other keys: any.
        assert_eq!(matching(&cs, &all, &["label=tier", "label=x"]), ["db"]);
        assert_eq!(matching(&cs, &all, &["label=tier=front"]), ["web"]);
        assert_eq!(matching(&cs, &all, &["name=web", "name=db"]), ["web", "db"]);
        assert_eq!(
            matching(&cs, &all, &["status=created", "name=web"]),
            ["web"]
        );
        assert!(matching(&cs, &all, &["status=running"]).is_empty());
        assert!(matching(&cs, &all, &["exited=0"]).is_empty());
        assert_eq!(matching(&cs, &all, &["ancestor=quay.io/x/nginx"]), ["web"]);
        assert_eq!(
            matching(&cs, &all, &["ancestor=localhost:5000/pg:15"]),
            ["db"]
        );
        assert!(matching(&cs, &all, &["ancestor=localhost:5000/pg"]).is_empty());
        let by_id = format!("ancestor=sha256:{}", "ab".repeat(32));
        assert_eq!(matching(&cs, &all, &[&by_id]), ["web", "db"]);
        assert_eq!(matching(&cs, &all, &["volume=data"]), ["web"]);
        assert_eq!(matching(&cs, &all, &["volume=data:/data"]), ["web"]);
        assert!(matching(&cs, &all, &["volume=data:/other"]).is_empty());
        assert_eq!(
            matching(
                &cs,
                &all,
                &[&format!("network={}", hoist_network::DEFAULT_NETWORK_NAME)]
            ),
            ["web"]
        );
        assert_eq!(matching(&cs, &all, &["restart-policy=always"]), ["web"]);
        assert_eq!(matching(&cs, &all, &["restart-policy=none"]), ["db"]);
        assert_eq!(matching(&cs, &all, &["command=^sh$"]), ["web", "db"]);
        assert!(matching(&cs, &all, &["pod=anything"]).is_empty());
        // web was created first.
        assert_eq!(matching(&cs, &all, &["since=web"]), ["db"]);
        assert_eq!(matching(&cs, &all, &["before=db"]), ["web"]);
        assert_eq!(matching(&cs, &all, &["until=1h"]), Vec::<String>::new());
    }

    #[test]
    fn bad_values_get_podmans_messages() {
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let err = |f: &str| {
            ContainerFilter::parse(&cs, &[f.to_string()])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("status=foo"),
            "unknown container state: foo: invalid argument"
        );
        assert_eq!(err("foo=bar"), "foo is an invalid filter");
        assert_eq!(err("restart-policy=fake"), "fake invalid restart policy");
        assert_eq!(err("name"), "invalid filter \"name\"");
        assert!(err("since=nosuch").contains("\"nosuch\""));
        assert!(err("exited=x").starts_with("exited code out of range"));
        let ok = ContainerFilter::parse(&cs, &["status=stopped".into(), "status=running".into()])
            .unwrap();
        assert!(ok.has_status());
    }
}

//! The facts a policy is made from, read from `inspect` JSON with udica's
//! rules: the first container of the list; podman's shape when its
//! `Config.Env` has `container=oci` or `container=podman` (then
//! `EffectiveCaps` are its capabilities), docker's otherwise (no
//! capabilities); `Mounts[].Source`/`RW`; `NetworkSettings.Ports`.

use serde_json::Value;

use crate::error::{Result, SelinuxError};

/// Whose inspect document it is: it decides where capabilities come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Podman,
    Docker,
}

/// One mount: the host side, and whether the container may write it
/// (`None` when `RW` is not a boolean: udica then writes no rule for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountFact {
    pub source: String,
    pub rw: Option<bool>,
}

/// One published port: the host port and its protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFact {
    pub host_port: u32,
    pub protocol: String,
}

/// What udica reads of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerFacts {
    pub engine: Engine,
    pub mounts: Vec<MountFact>,
    /// In the document's order (sorted by `PORT/PROTO`, as both podman
    /// and hoist print them).
    pub ports: Vec<PortFact>,
    /// Capability names as given (`CAP_CHOWN` or `CHOWN`).
    pub caps: Vec<String>,
}

impl ContainerFacts {
    /// Reads `inspect` output (a JSON list; the first container counts).
    pub fn from_inspect_json(text: &str) -> Result<ContainerFacts> {
        let v: Value = serde_json::from_str(text).map_err(SelinuxError::NotJson)?;
        ContainerFacts::from_inspect(&v)
    }

    /// Reads an `inspect` document already parsed (a list, or one object
    /// of it).
    pub fn from_inspect(v: &Value) -> Result<ContainerFacts> {
        let doc = match v {
            Value::Array(list) => list
                .first()
                .ok_or_else(|| missing("container (the list is empty)"))?,
            _ => return Err(SelinuxError::CrioFormat),
        };
        let engine = engine(doc)?;
        Ok(ContainerFacts {
            engine,
            mounts: mounts(doc, engine)?,
            ports: ports(doc)?,
            caps: match engine {
                Engine::Podman => caps(doc)?,
                Engine::Docker => Vec::new(),
            },
        })
    }
}

fn missing(what: &str) -> SelinuxError {
    SelinuxError::MissingField(what.to_string())
}

fn engine(doc: &Value) -> Result<Engine> {
    let env = doc
        .get("Config")
        .and_then(|c| c.get("Env"))
        .and_then(Value::as_array)
        .ok_or_else(|| missing("Config.Env"))?;
    let podman = env
        .iter()
        .any(|e| matches!(e.as_str(), Some("container=oci" | "container=podman")));
    Ok(if podman {
        Engine::Podman
    } else {
        Engine::Docker
    })
}

fn mounts(doc: &Value, engine: Engine) -> Result<Vec<MountFact>> {
    let list = doc
        .get("Mounts")
        .and_then(Value::as_array)
        .ok_or_else(|| missing("Mounts"))?;
    list.iter()
        .map(|m| {
            // docker's mounts must say their Mode (udica reads it).
            if engine == Engine::Docker && m.get("Mode").is_none() {
                return Err(missing("Mounts[].Mode"));
            }
            let source = m
                .get("Source")
                .and_then(Value::as_str)
                .ok_or_else(|| missing("Mounts[].Source"))?;
            let rw = m.get("RW").ok_or_else(|| missing("Mounts[].RW"))?;
            Ok(MountFact {
                source: source.to_string(),
                rw: rw.as_bool(),
            })
        })
        .collect()
}

fn ports(doc: &Value) -> Result<Vec<PortFact>> {
    let map = doc
        .get("NetworkSettings")
        .and_then(|n| n.get("Ports"))
        .and_then(Value::as_object)
        .ok_or_else(|| missing("NetworkSettings.Ports"))?;
    let mut out = Vec::new();
    for (key, bindings) in map {
        let (_, protocol) = key
            .split_once('/')
            .ok_or_else(|| SelinuxError::PortWithoutProtocol(key.clone()))?;
        let protocol = protocol.split('/').next().unwrap_or_default();
        // An exposed port that is not published has no host side: nothing
        // binds it on the host (udica 0.2 stops on it; it is skipped).
        let Some(first) = bindings.as_array().and_then(|b| b.first()) else {
            continue;
        };
        let host_port = first
            .get("HostPort")
            .and_then(Value::as_str)
            .ok_or_else(|| missing("NetworkSettings.Ports[].HostPort"))?;
        let host_port = host_port
            .trim()
            .parse()
            .map_err(|_| SelinuxError::BadHostPort {
                port: key.clone(),
                host_port: host_port.to_string(),
            })?;
        out.push(PortFact {
            host_port,
            protocol: protocol.to_string(),
        });
    }
    Ok(out)
}

fn caps(doc: &Value) -> Result<Vec<String>> {
    match doc.get("EffectiveCaps") {
        None => Err(missing("EffectiveCaps")),
        Some(Value::Null) => Ok(Vec::new()),
        Some(v) => Ok(v
            .as_array()
            .ok_or_else(|| missing("EffectiveCaps (a list)"))?
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODMAN: &str = r#"[{"Config":{"Env":["PATH=/bin","container=podman"]},
        "EffectiveCaps":["CAP_CHOWN","CAP_NET_ADMIN"],
        "Mounts":[{"Type":"bind","Source":"/srv/a","Destination":"/a","RW":true},
                  {"Type":"tmpfs","Source":"tmpfs","Destination":"/t","RW":true}],
        "NetworkSettings":{"Ports":{"53/udp":[{"HostIp":"","HostPort":"5353"}],
                                    "80/tcp":[{"HostIp":"","HostPort":"8080"}],
                                    "9090/tcp":null}}}]"#;

    #[test]
    fn reads_podmans_document() {
        let f = ContainerFacts::from_inspect_json(PODMAN).unwrap();
        assert_eq!(f.engine, Engine::Podman);
        assert_eq!(f.caps, ["CAP_CHOWN", "CAP_NET_ADMIN"]);
        assert_eq!(f.mounts[0].source, "/srv/a");
        assert_eq!(f.mounts[0].rw, Some(true));
        assert_eq!(f.ports.len(), 2, "the unpublished port is skipped");
        assert_eq!(f.ports[0].host_port, 5353);
        assert_eq!(f.ports[0].protocol, "udp");
    }

    #[test]
    fn without_podmans_env_it_is_dockers_and_has_no_capabilities() {
        let doc = PODMAN.replace("container=podman", "X=1");
        let err = ContainerFacts::from_inspect_json(&doc).unwrap_err();
        assert!(err.to_string().contains("Mounts[].Mode"), "{err}");
        let doc = doc.replace("\"RW\":true}", "\"RW\":true,\"Mode\":\"\"}");
        let f = ContainerFacts::from_inspect_json(&doc).unwrap();
        assert_eq!(f.engine, Engine::Docker);
        assert!(f.caps.is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(matches!(
            ContainerFacts::from_inspect_json("{}"),
            Err(SelinuxError::CrioFormat)
        ));
        assert!(ContainerFacts::from_inspect_json("[").is_err());
        assert!(ContainerFacts::from_inspect_json("[]").is_err());
        let bad = PODMAN.replace("\"8080\"", "\"http\"");
        assert!(matches!(
            ContainerFacts::from_inspect_json(&bad),
            Err(SelinuxError::BadHostPort { .. })
        ));
    }
}

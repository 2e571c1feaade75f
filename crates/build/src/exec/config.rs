//! The image config instructions (ENV, LABEL, WORKDIR, USER, EXPOSE,
//! VOLUME, CMD, ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD) as
//! edits of the `config` object of an OCI image config.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::containerfile::{Command, Healthcheck};

/// The default `SHELL`.
pub(crate) fn default_shell() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into()]
}

/// A command as the config stores it: the exec form as written, the
/// shell form under the stage's shell.
pub(crate) fn argv(cmd: &Command, shell: &[String]) -> Vec<String> {
    match cmd {
        Command::Exec(v) => v.clone(),
        Command::Shell(text) => shell.iter().cloned().chain([text.clone()]).collect(),
    }
}

/// `KEY=value` set in `Env`, replacing an entry of the same key.
pub(crate) fn set_env(config: &mut Map<String, Value>, key: &str, value: &str) {
    let mut env: Vec<Value> = config
        .get("Env")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let entry = json!(format!("{key}={value}"));
    let same_key = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.split_once('=').map_or(s, |(k, _)| k) == key)
    };
    match env.iter_mut().find(|v| same_key(v)) {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
    config.insert("Env".into(), Value::Array(env));
}

/// The `KEY=...` entry of `Env` removed; whether there was one.
pub(crate) fn unset_env(config: &mut Map<String, Value>, key: &str) -> bool {
    let Some(env) = config.get_mut("Env").and_then(Value::as_array_mut) else {
        return false;
    };
    let before = env.len();
    env.retain(|v| {
        v.as_str()
            .is_none_or(|s| s.split_once('=').map_or(s, |(k, _)| k) != key)
    });
    env.len() != before
}

/// The label buildah puts on every image it builds, and its value: the
/// buildah that podman 4.3.1 builds with. Scripts find built images by it.
pub(crate) const IDENTITY_LABEL: (&str, &str) = ("io.buildah.version", "1.28.2");

/// [`IDENTITY_LABEL`] set in `Labels`; whether that changed the config.
pub(crate) fn set_identity_label(config: &mut Map<String, Value>) -> bool {
    let (key, value) = IDENTITY_LABEL;
    let labels = config.get("Labels").and_then(Value::as_object);
    if labels.and_then(|l| l.get(key)) == Some(&json!(value)) {
        return false;
    }
    set_in(config, "Labels", key, json!(value));
    true
}

/// `key` set in the object `config[field]` (Labels, ExposedPorts, Volumes).
pub(crate) fn set_in(config: &mut Map<String, Value>, field: &str, key: &str, value: Value) {
    let slot = config
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
        .expect("made an object above")
        .insert(key.to_string(), value);
}

/// The config's `Env` as `KEY=value` strings.
pub(crate) fn env_of(config: &Map<String, Value>) -> Vec<String> {
    config
        .get("Env")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A string field of the config (`WorkingDir`, `User`).
pub(crate) fn str_of<'a>(config: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    config
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `EXPOSE 80` means `80/tcp`.
pub(crate) fn port_key(port: &str) -> String {
    if port.contains('/') {
        port.to_ascii_lowercase()
    } else {
        format!("{port}/tcp")
    }
}

/// `HEALTHCHECK` as the config's `Healthcheck` object (durations in ns).
pub(crate) fn healthcheck(h: &Healthcheck) -> Value {
    let Healthcheck::Check {
        command,
        interval,
        timeout,
        start_period,
        retries,
        ..
    } = h
    else {
        return json!({"Test": ["NONE"]});
    };
    let test: Vec<String> = match command {
        Command::Exec(v) => std::iter::once("CMD".to_string())
            .chain(v.iter().cloned())
            .collect(),
        Command::Shell(text) => vec!["CMD-SHELL".into(), text.clone()],
    };
    let mut v = json!({"Test": test});
    let nanos = |d: &Option<Duration>| d.map(|d| d.as_nanos() as u64);
    for (key, value) in [
        ("Interval", nanos(interval)),
        ("Timeout", nanos(timeout)),
        ("StartPeriod", nanos(start_period)),
    ] {
        if let Some(n) = value {
            v[key] = n.into();
        }
    }
    if let Some(r) = retries {
        v["Retries"] = (*r).into();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_entries_are_replaced_by_key() {
        let mut c = Map::new();
        set_env(&mut c, "A", "1");
        set_env(&mut c, "B", "x=y");
        set_env(&mut c, "A", "2");
        assert_eq!(env_of(&c), vec!["A=2", "B=x=y"]);
        assert_eq!(port_key("80"), "80/tcp");
        assert_eq!(port_key("53/UDP"), "53/udp");
    }
}

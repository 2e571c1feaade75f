//! A container's environment from its `env` and `envFrom`: literal values,
//! ConfigMap and Secret keys, and the pod's own metadata.

use k8s_openapi::api::core::v1::{Container, EnvVar, ObjectFieldSelector};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::sources::{text, Sources};
use crate::error::{KubeError, Result};

/// `KEY=VALUE` lines: `env` in order, then what `envFrom` adds that `env`
/// does not set (in Kubernetes `env` wins over `envFrom`).
pub fn environment(c: &Container, pod: &ObjectMeta, src: &Sources<'_>) -> Result<Vec<String>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in c.env.iter().flatten() {
        if let Some(v) = value(c, e, pod, src)? {
            out.retain(|(k, _)| k != &e.name);
            out.push((e.name.clone(), v));
        }
    }
    let explicit: Vec<String> = out.iter().map(|(k, _)| k.clone()).collect();
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let pairs = if let Some(r) = &from.config_map_ref {
            match src.configmap(&r.name) {
                Some(m) => m,
                None if r.optional == Some(true) => continue,
                None => return Err(missing(c, "ConfigMap", &r.name)),
            }
        } else if let Some(r) = &from.secret_ref {
            match src.secret(&r.name)? {
                Some(m) => m,
                None if r.optional == Some(true) => continue,
                None => return Err(missing(c, "Secret", &r.name)),
            }
        } else {
            continue;
        };
        for (k, v) in pairs {
            let key = format!("{prefix}{k}");
            if explicit.contains(&key) {
                continue;
            }
            let v = text(
                &format!("key {k:?} of envFrom of container {:?}", c.name),
                v,
            )?;
            out.retain(|(x, _)| x != &key);
            out.push((key, v));
        }
    }
    Ok(out.into_iter().map(|(k, v)| format!("{k}={v}")).collect())
}

fn missing(c: &Container, kind: &str, name: &str) -> KubeError {
    KubeError::Play(format!(
        "container {:?}: {kind} {name:?} not found: add it to the YAML (or with --configmap), or mark the reference optional",
        c.name
    ))
}

/// The value of one `env` entry; `None` for an optional reference that
/// does not resolve (the variable is then not set).
fn value(c: &Container, e: &EnvVar, pod: &ObjectMeta, src: &Sources<'_>) -> Result<Option<String>> {
    let Some(from) = &e.value_from else {
        return Ok(Some(e.value.clone().unwrap_or_default()));
    };
    let what = format!("env {:?} of container {:?}", e.name, c.name);
    if let Some(r) = &from.config_map_key_ref {
        let optional = r.optional == Some(true);
        let Some(map) = src.configmap(&r.name) else {
            return if optional {
                Ok(None)
            } else {
                Err(missing(c, "ConfigMap", &r.name))
            };
        };
        return match map.get(&r.key) {
            Some(v) => text(&what, v.clone()).map(Some),
            None if optional => Ok(None),
            None => Err(KubeError::Play(format!(
                "{what}: ConfigMap {:?} has no key {:?}",
                r.name, r.key
            ))),
        };
    }
    if let Some(r) = &from.secret_key_ref {
        let optional = r.optional == Some(true);
        let Some(map) = src.secret(&r.name)? else {
            return if optional {
                Ok(None)
            } else {
                Err(missing(c, "Secret", &r.name))
            };
        };
        return match map.get(&r.key) {
            Some(v) => text(&what, v.clone()).map(Some),
            None if optional => Ok(None),
            None => Err(KubeError::Play(format!(
                "{what}: Secret {:?} has no key {:?}",
                r.name, r.key
            ))),
        };
    }
    if let Some(f) = &from.field_ref {
        return field(&what, f, pod).map(Some);
    }
    Err(KubeError::Play(format!(
        "{what}: only value, configMapKeyRef, secretKeyRef and fieldRef are supported"
    )))
}

/// `fieldRef`: the pod's name, namespace, labels and annotations.
fn field(what: &str, f: &ObjectFieldSelector, pod: &ObjectMeta) -> Result<String> {
    let path = f.field_path.as_str();
    let in_map = |prefix: &str, map: &Option<std::collections::BTreeMap<String, String>>| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_prefix("['").and_then(|r| r.strip_suffix("']")))
            .map(|k| {
                map.as_ref()
                    .and_then(|m| m.get(k))
                    .cloned()
                    .unwrap_or_default()
            })
    };
    match path {
        "metadata.name" => Ok(pod.name.clone().unwrap_or_default()),
        "metadata.namespace" => Ok(pod.namespace.clone().unwrap_or_default()),
        "metadata.uid" => Ok(pod.uid.clone().unwrap_or_default()),
        _ => in_map("metadata.labels", &pod.labels)
            .or_else(|| in_map("metadata.annotations", &pod.annotations))
            .ok_or_else(|| {
                KubeError::Play(format!(
                    "{what}: fieldRef {path:?} is not supported: use metadata.name, metadata.namespace, metadata.uid, metadata.labels['KEY'] or metadata.annotations['KEY']"
                ))
            }),
    }
}

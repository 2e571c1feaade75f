//! Reading a `kube play` YAML stream: untrusted input, so every document is
//! checked against the typed Kubernetes objects and every failure names the
//! document and the field.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml::Value;

use crate::error::{KindNote, KubeError, Result};

/// One document of a YAML stream.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeDocument {
    Pod(Box<Pod>),
    Deployment(Box<Deployment>),
    Service(Box<Service>),
    ConfigMap(Box<ConfigMap>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
    Secret(Box<Secret>),
}

impl KubeDocument {
    /// The document as YAML, in the form `kube generate` writes.
    pub fn to_yaml(&self) -> Result<String> {
        let value = match self {
            KubeDocument::Pod(o) => serde_json::to_value(o),
            KubeDocument::Deployment(o) => serde_json::to_value(o),
            KubeDocument::Service(o) => serde_json::to_value(o),
            KubeDocument::ConfigMap(o) => serde_json::to_value(o),
            KubeDocument::PersistentVolumeClaim(o) => serde_json::to_value(o),
            KubeDocument::Secret(o) => serde_json::to_value(o),
        }
        .map_err(|e| KubeError::Invalid {
            what: "the Kubernetes object".into(),
            message: e.to_string(),
        })?;
        Ok(crate::emit::to_yaml(&value))
    }
}

/// The kinds `parse` reads, for the error about any other.
const KINDS: &str = "Pod, Deployment, Service, ConfigMap, PersistentVolumeClaim, Secret";

/// Parses every document of `text`; empty documents are skipped, a kind
/// `kube play` does not read is an error.
pub fn parse(text: &str) -> Result<Vec<KubeDocument>> {
    parse_with(text, false).map(|(docs, _)| docs)
}

/// What [`parse_lenient`] read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub documents: Vec<KubeDocument>,
    /// The kinds of the documents left out, in order (podman ignores the
    /// kinds it does not play, such as a Namespace or an Ingress).
    pub skipped: Vec<String>,
}

/// [`parse`], leaving out the documents of kinds `kube play` does not
/// read instead of failing on them.
pub fn parse_lenient(text: &str) -> Result<Parsed> {
    parse_with(text, true).map(|(documents, skipped)| Parsed { documents, skipped })
}

fn parse_with(text: &str, lenient: bool) -> Result<(Vec<KubeDocument>, Vec<String>)> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let index = i + 1;
        let err = |kind: Option<&str>, message: String| KubeError::Parse {
            index,
            kind: KindNote(kind.map(str::to_string)),
            message,
        };
        let value = Value::deserialize(de).map_err(|e| err(None, format!("invalid YAML: {e}")))?;
        if value.is_null() {
            continue;
        }
        let Value::Mapping(map) = &value else {
            return Err(err(
                None,
                "a Kubernetes object must be a mapping with apiVersion and kind".into(),
            ));
        };
        let field = |name: &str| match map.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(err(None, format!("field {name} must be a string"))),
            None => Err(err(None, format!("missing field {name}"))),
        };
        let kind = field("kind")?;
        let api_version = field("apiVersion")?;
        let expected = match kind.as_str() {
            "Deployment" => "apps/v1",
            "Pod" | "Service" | "ConfigMap" | "PersistentVolumeClaim" | "Secret" => "v1",
            other if lenient => {
                skipped.push(other.to_string());
                continue;
            }
            other => {
                return Err(err(
                    None,
                    format!("unsupported kind {other:?}: kube play reads {KINDS}"),
                ))
            }
        };
        if api_version != expected {
            return Err(err(
                Some(&kind),
                format!("apiVersion {api_version:?} is not {expected:?}, the version of {kind} kube play reads"),
            ));
        }
        let doc = match kind.as_str() {
            "Pod" => KubeDocument::Pod(typed(value, |m| err(Some("Pod"), m))?),
            "Deployment" => KubeDocument::Deployment(typed(value, |m| err(Some("Deployment"), m))?),
            "Service" => KubeDocument::Service(typed(value, |m| err(Some("Service"), m))?),
            "ConfigMap" => KubeDocument::ConfigMap(typed(value, |m| err(Some("ConfigMap"), m))?),
            "PersistentVolumeClaim" => KubeDocument::PersistentVolumeClaim(typed(value, |m| {
                err(Some("PersistentVolumeClaim"), m)
            })?),
            _ => KubeDocument::Secret(typed(value, |m| err(Some("Secret"), m))?),
        };
        out.push(doc);
    }
    Ok((out, skipped))
}

/// The typed object, or an error naming the field path that failed.
fn typed<T: DeserializeOwned>(value: Value, err: impl Fn(String) -> KubeError) -> Result<Box<T>> {
    // serde_yaml names the path of a failing field (`spec.containers[0].image`)
    // only when it reads text, so the document goes back through text.
    let text = serde_yaml::to_string(&value).map_err(|e| err(format!("not representable: {e}")))?;
    serde_yaml::from_str::<T>(&text)
        .map(Box::new)
        .map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_several_documents_and_skips_empty_ones() {
        let docs = parse(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n    image: busybox\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {}\n  template: {}\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert!(matches!(docs[0], KubeDocument::Pod(_)));
        assert!(matches!(docs[1], KubeDocument::Deployment(_)));
        let again = parse(&docs[0].to_yaml().unwrap()).unwrap();
        assert_eq!(again[0], docs[0]);
    }

    #[test]
    fn lenient_parsing_leaves_other_kinds_out() {
        let p = parse_lenient(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
        )
        .unwrap();
        assert_eq!(p.skipped, ["Namespace"]);
        assert_eq!(p.documents.len(), 1);
        assert!(parse_lenient("kind: Pod\napiVersion: v2\n").is_err());
    }

    #[test]
    fn errors_name_the_document_and_the_field() {
        let e = parse("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: eighty\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("document 2 of the YAML (kind Pod): "), "{e}");
        assert!(
            e.contains("spec.containers[0].ports[0].containerPort"),
            "{e}"
        );
        let e = parse("kind: Widget\napiVersion: v1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported kind \"Widget\""), "{e}");
        let e = parse("kind: Pod\n").unwrap_err().to_string();
        assert!(e.contains("missing field apiVersion"), "{e}");
        let e = parse("a: [1\n").unwrap_err().to_string();
        assert!(e.starts_with("document 1 of the YAML: invalid YAML"), "{e}");
        assert!(parse("- 1\n").is_err());
    }
}

//! Where a pod's environment and configuration volumes come from: the
//! ConfigMaps of the YAML and of `--configmap` files, and Secrets (those
//! of the YAML first, then hoist's secret store).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use crate::error::{KubeError, Result};

/// Looks a secret up outside the YAML (hoist's secret store).
pub type SecretLookup<'a> = dyn Fn(&str) -> Result<Option<Secret>> + 'a;

pub struct Sources<'a> {
    pub configmaps: BTreeMap<String, ConfigMap>,
    pub secrets: BTreeMap<String, Secret>,
    pub store: &'a SecretLookup<'a>,
}

impl Sources<'_> {
    /// The key/value pairs of ConfigMap `name`; `None` when there is none.
    pub fn configmap(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        let cm = self.configmaps.get(name)?;
        let mut out: BTreeMap<String, Vec<u8>> = cm
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
            .collect();
        for (k, v) in cm.binary_data.iter().flatten() {
            out.insert(k.clone(), v.0.clone());
        }
        Some(out)
    }

    /// The decoded key/value pairs of Secret `name`.
    pub fn secret(&self, name: &str) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        let secret = match self.secrets.get(name) {
            Some(s) => s.clone(),
            None => match (self.store)(name)? {
                Some(s) => s,
                None => return Ok(None),
            },
        };
        Ok(Some(secret_data(&secret)))
    }
}

/// `data` (already base64-decoded by the API types), then `stringData`,
/// which wins, as the API server merges them.
pub fn secret_data(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in s.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

/// Reads the Secret that a secret of hoist's store holds: the Kubernetes
/// object as JSON or YAML (as `kube play` of a Secret stores it, and as
/// podman expects `secret create` to have been given it).
pub fn secret_from_store_data(name: &str, data: &[u8]) -> Result<Secret> {
    serde_yaml::from_slice::<Secret>(data).map_err(|e| {
        KubeError::Play(format!(
            "secret {name:?} does not hold a Kubernetes Secret ({e}): create it with `hoist kube play` of a Secret, or `hoist secret create {name} FILE` of one in YAML or JSON"
        ))
    })
}

/// The text of a value, which the environment needs as UTF-8.
pub fn text(what: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        KubeError::Play(format!(
            "{what} is not UTF-8 text: it cannot be an environment variable"
        ))
    })
}

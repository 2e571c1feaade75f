//! `kube down` (and `kube play --down`, and the first half of `--replace`):
//! stops and removes the pods a YAML describes, with their containers and
//! the emptyDir volumes that were theirs; named volumes and secrets stay,
//! as podman leaves them.

use hoist_pod::PodError;

use super::Engines;
use crate::error::Result;
use crate::parse::KubeDocument;

/// The pods a YAML describes, by name: each Pod, and each replica of a
/// Deployment (`NAME-pod-N`, as `kube play` names them).
pub fn pod_names(docs: &[KubeDocument]) -> Vec<String> {
    let mut out = Vec::new();
    for d in docs {
        match d {
            KubeDocument::Pod(p) => out.extend(p.metadata.name.clone()),
            KubeDocument::Deployment(dep) => {
                let Some(name) = &dep.metadata.name else {
                    continue;
                };
                let replicas = dep.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                out.extend((0..replicas.max(0)).map(|i| format!("{name}-pod-{i}")));
            }
            _ => {}
        }
    }
    out
}

/// What `down` did: pod IDs in the order they were handled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    pub stopped: Vec<String>,
    pub removed: Vec<String>,
    /// Pods the YAML names that do not exist (podman's error, once the
    /// others are down).
    pub missing: Vec<String>,
}

/// Stops, then removes, the pods named `names`.
pub fn down(e: &Engines<'_>, names: &[String]) -> Result<DownReport> {
    let mut report = DownReport::default();
    let mut found = Vec::new();
    for name in names {
        match e.pods.get(name) {
            Ok(p) => found.push(p),
            Err(PodError::NotFound(_)) => report.missing.push(name.clone()),
            Err(err) => return Err(err.into()),
        }
    }
    for p in &found {
        // Each container gets its own stop timeout, as `pod stop` gives it.
        hoist_pod::stop(e.cs, p, None)?;
        report.stopped.push(p.id.clone());
    }
    for p in &found {
        let configs: Vec<_> = hoist_pod::containers(e.cs, p)?
            .into_iter()
            .map(|c| c.config)
            .collect();
        hoist_pod::remove(e.cs, e.pods, p, true, Some(0))?;
        // The pod's emptyDir volumes go with its last container.
        for c in &configs {
            hoist_container::volumes::remove_anonymous_volumes(e.cs, c)?;
        }
        report.removed.push(p.id.clone());
    }
    Ok(report)
}

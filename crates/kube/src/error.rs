//! Errors of generating and parsing Kubernetes YAML.

use std::fmt;

pub type Result<T, E = KubeError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// A document of a YAML stream is not what `kube play` can read.
    #[error("document {index} of the YAML{kind}: {message}")]
    Parse {
        /// 1-based, as a reader counts `---`-separated documents.
        index: usize,
        kind: KindNote,
        message: String,
    },
    /// Nothing to generate from.
    #[error("no containers to generate Kubernetes YAML from: name at least one container or pod")]
    Empty,
    /// A pod without containers of its own: nothing to describe (podman's
    /// wording).
    #[error("pod {0} only has an infra container: add a container to it (hoist create --pod)")]
    OnlyInfra(String),
    /// A value the Kubernetes schema cannot carry.
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("writing YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[cfg(feature = "container")]
    #[error(transparent)]
    Container(#[from] hoist_container::ContainerError),
}

/// ` (kind Pod)` when the document said which kind it is.
#[derive(Debug, Default, Clone)]
pub struct KindNote(pub Option<String>);

impl fmt::Display for KindNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(k) => write!(f, " (kind {k})"),
            None => Ok(()),
        }
    }
}

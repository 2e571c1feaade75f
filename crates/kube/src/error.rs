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
    /// A stream with no Pod, Deployment, ConfigMap, PersistentVolumeClaim
    /// or Secret in it (podman's wording).
    #[error("YAML document does not contain any supported kube kind")]
    NoKinds,
    /// What `kube play` cannot do with a valid document.
    #[error("{0}")]
    Play(String),
    /// `kube play URL`: the YAML could not be fetched.
    #[error("fetching {url}: {message}")]
    Fetch { url: String, message: String },
    #[error("{context} {}: {source}", path.display())]
    Io {
        context: String,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[cfg(feature = "container")]
    #[error(transparent)]
    Pod(Box<hoist_pod::PodError>),
    #[cfg(feature = "container")]
    #[error(transparent)]
    Engine(Box<hoist_engine::EngineError>),
    #[cfg(feature = "container")]
    #[error(transparent)]
    Secret(#[from] hoist_secrets::SecretError),
    #[cfg(feature = "container")]
    #[error("building {image}: {source}")]
    Build {
        image: String,
        #[source]
        source: Box<hoist_build::exec::BuildError>,
    },
}

#[cfg(feature = "container")]
impl From<hoist_pod::PodError> for KubeError {
    fn from(e: hoist_pod::PodError) -> KubeError {
        KubeError::Pod(Box::new(e))
    }
}

#[cfg(feature = "container")]
impl From<hoist_engine::EngineError> for KubeError {
    fn from(e: hoist_engine::EngineError) -> KubeError {
        KubeError::Engine(Box::new(e))
    }
}

impl KubeError {
    /// The exit code podman gives this failure: 125 (an engine error),
    /// or the container's own code where one decided it.
    pub fn exit_code(&self) -> i32 {
        match self {
            #[cfg(feature = "container")]
            KubeError::Container(e) => e.exit_code(),
            #[cfg(feature = "container")]
            KubeError::Pod(e) => e.exit_code(),
            _ => 125,
        }
    }
}

/// An I/O error naming what was done to which path.
#[cfg(feature = "container")]
pub(crate) fn io_err(
    context: impl Into<String>,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> KubeError {
    let (context, path) = (context.into(), path.to_path_buf());
    move |source| KubeError::Io {
        context,
        path,
        source,
    }
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

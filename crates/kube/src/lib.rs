//! Kubernetes YAML for hoist's containers (and, later, pods), in the
//! shape podman 4.3's `kube generate` prints, and the parser `kube play`
//! reads untrusted YAML with.
//!
//! The model is engine-neutral: a [`PodDesc`] is a list of
//! [`ContainerDesc`] plus pod-level settings; [`from_container`] fills a
//! `ContainerDesc` from hoist-container's inspect data. The YAML itself is
//! built from k8s-openapi's API types, so every field has the name and type
//! the Kubernetes schema gives it.

mod emit;
mod error;
#[cfg(feature = "container")]
mod from_container;
mod generate;
mod model;
mod parse;
#[cfg(feature = "container")]
pub mod play;

pub use error::{KubeError, Result};
#[cfg(feature = "container")]
pub use from_container::{from_container, from_pod, PodInfo};
pub use generate::{generate, pod_from_lone_container, GenerateOptions, Kind};
/// The Kubernetes API types the documents are made of.
pub use k8s_openapi;
pub use model::{ContainerDesc, MountDesc, PodDesc, PortDesc, VolumeDesc, DEFAULT_CAPABILITIES};
pub use parse::{parse, parse_lenient, KubeDocument, Parsed};

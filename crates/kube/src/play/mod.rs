//! `kube play` and `kube down`: Kubernetes YAML made into pods, as podman
//! 4.3 makes them.
//!
//! [`plan::build`] turns the documents into a [`plan::Plan`] (pure: every
//! check that needs no engine happens there, before anything is made);
//! [`play`] makes it, taking everything away again on a failure
//! ([`execute`]); [`down`] removes the pods a YAML names.

mod build_image;
mod container;
pub mod down;
mod env;
mod execute;
pub mod hostpath;
pub mod plan;
mod quantity;
pub mod seccomp;
pub mod source;
pub mod sources;
pub mod volumes;

use std::sync::Arc;

use hoist_container::{Containers, MonitorLauncher};
use hoist_engine::Engine;
use hoist_pod::{PodError, Pods};

pub use down::{down, pod_names, DownReport};
pub use plan::{parse_annotation, Plan, PlanOptions};

use crate::error::{KubeError, Result};
use crate::parse::KubeDocument;

/// The engine parts a play works with.
pub struct Engines<'a> {
    pub engine: &'a Engine,
    pub cs: &'a Containers,
    pub pods: &'a Pods,
    /// Starts container monitors (the hoist binary).
    pub launcher: &'a MonitorLauncher,
}

/// `kube play`'s flags.
#[derive(Clone, Default)]
pub struct PlayOptions {
    /// `--start` (default true): start the pods once made.
    pub start: bool,
    /// `--replace`: take down the YAML's pods first; claims and secrets
    /// that exist are kept (secrets replaced).
    pub replace: bool,
    /// `--network`: the pods' networks (none: the default network).
    pub networks: Vec<String>,
    /// `--no-hosts`.
    pub no_hosts: bool,
    /// `--ip` and `--mac-address`: the first pod made gets the first of
    /// each, the second the second, and so on.
    pub static_ips: Vec<std::net::IpAddr>,
    pub static_macs: Vec<String>,
    pub conf: hoist_config::ContainersConf,
    /// How images are pulled (registry options).
    pub pull: hoist_engine::PullOptions,
    /// Where pull progress goes (`--quiet`: nowhere).
    pub progress: Option<Arc<dyn hoist_engine::progress::Progress>>,
    /// The command line, recorded on the pods and containers.
    pub create_command: Vec<String>,
    pub plan: PlanOptions,
    /// `--build`: `Some(true)` builds every image that has a build
    /// directory, `None` only those missing locally, `Some(false)` none.
    pub build: Option<bool>,
    /// `--context-dir`: where build directories are looked for (default:
    /// the current directory, as podman does).
    pub context_dir: Option<std::path::PathBuf>,
    /// `--service-container`: the name of a service container to make
    /// (podman's: the first 12 hex digits of the YAML's SHA-256, then
    /// `-service`), which runs while any of the pods does.
    pub service_container: Option<String>,
}

/// One pod made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayedPod {
    pub id: String,
    pub name: String,
    pub containers: Vec<String>,
    /// Those left after the play (podman's `always` init containers, or
    /// all of them when the pod was not started).
    pub init_containers: Vec<String>,
}

/// What a play made, for the output podman prints.
#[derive(Debug, Clone, Default)]
pub struct PlayReport {
    /// What `--replace` took down first.
    pub replaced: Option<DownReport>,
    /// The PersistentVolumeClaims' volumes.
    pub volumes: Vec<String>,
    pub pods: Vec<PlayedPod>,
}

/// A secret of hoist's store as the Kubernetes Secret it holds.
fn store_secret(
    root: &std::path::Path,
    name: &str,
) -> Result<Option<k8s_openapi::api::core::v1::Secret>> {
    let secrets = hoist_secrets::Secrets::open(root);
    if !secrets.exists(name)? {
        return Ok(None);
    }
    let data = secrets.data(name)?;
    sources::secret_from_store_data(name, &data).map(Some)
}

/// The name `--service-container` gives the service container of the YAML
/// `text`: podman's, the first 12 hex digits of its SHA-256 and
/// `-service`, so the same YAML names the same container.
pub fn service_container_name(text: &str) -> String {
    let mut hasher = hoist_image::digest::Hasher::sha256();
    hasher.update(text.as_bytes());
    format!("{}-service", &hasher.finish().hex()[..12])
}

/// Makes the pods, volumes and secrets `docs` describe; on failure nothing
/// of it is left.
pub fn play(e: &Engines<'_>, docs: &[KubeDocument], opts: &PlayOptions) -> Result<PlayReport> {
    let root = e.cs.root().to_path_buf();
    let lookup = move |name: &str| store_secret(&root, name);
    let plan = plan::build(docs, &opts.plan, &lookup)?;
    let replaced = if opts.replace {
        let names: Vec<String> = plan.pods.iter().map(|p| p.name.clone()).collect();
        let mut r = down(e, &names)?;
        r.missing.clear();
        // podman reports the teardown only when it took something down.
        (!r.removed.is_empty()).then_some(r)
    } else {
        None
    };
    check_names(e, &plan)?;
    let mut rb = execute::Rollback::new(e);
    match execute::run(&mut rb, &plan, opts) {
        Ok(pods) => Ok(PlayReport {
            replaced,
            volumes: plan.claims.iter().map(|c| c.name.clone()).collect(),
            pods,
        }),
        Err(err) => {
            rb.undo();
            Err(err)
        }
    }
}

/// Pods and containers of the YAML must not exist yet (podman's errors).
fn check_names(e: &Engines<'_>, plan: &Plan) -> Result<()> {
    for p in &plan.pods {
        if e.pods.get(&p.name).is_ok() {
            return Err(PodError::NameInUse(p.name.clone()).into());
        }
        for c in p.init_containers.iter().chain(&p.containers) {
            if let Ok(existing) = e.cs.get(&c.name) {
                return Err(KubeError::Play(format!(
                    "creating container storage: the container name {:?} is already in use by {}. You have to remove that container to be able to reuse that name: that name is already in use",
                    c.name,
                    existing.id()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod service_name_tests {
    #[test]
    fn service_container_names_are_the_yaml_digest() {
        // sha256 of "a: b\n" starts 52c9693cf3f2.
        assert_eq!(
            super::service_container_name("a: b\n"),
            "52c9693cf3f2-service"
        );
    }
}

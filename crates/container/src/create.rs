//! Creating a container: the image (pulled as the policy says), an
//! optional `--replace` of the container holding the name, anonymous
//! volumes, and the record. Every front end (CLI, API service, `kube
//! play`) creates containers through [`create`].

use std::path::PathBuf;
use std::sync::Arc;

use hoist_engine::{Engine, PullOptions, PullPolicy};

use crate::error::Result;
use crate::options::CreateOptions;
use crate::record::ContainerConfig;
use crate::store::{Containers, NewContainer};
use crate::volumes::{create_anonymous_volumes, Volumes};

/// What a new container is made of.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// The image as the user named it.
    pub image: String,
    /// `--name`; a random name when `None`.
    pub name: Option<String>,
    pub options: CreateOptions,
    /// When to pull the image.
    pub pull_policy: PullPolicy,
    /// How to pull it, when it is pulled.
    pub pull: PullOptions,
    /// Record which files the container reads into this directory (the
    /// image's layers are then served lazily, see hoist-lazy).
    pub record_access: Option<PathBuf>,
    /// Remove the container that holds `name` first (`--replace`).
    pub replace: bool,
}

/// Makes the record of a new container, in state `created`.
///
/// Anonymous volumes made for it are removed again when the record cannot
/// be made: they would belong to no container.
pub fn create(engine: &Engine, cs: &Containers, req: CreateRequest) -> Result<ContainerConfig> {
    let CreateRequest {
        image: image_name,
        name,
        mut options,
        pull_policy,
        pull,
        record_access,
        replace,
    } = req;
    // Pull progress is not shown: `run` prints only the container's output.
    let progress: Arc<dyn hoist_engine::progress::Progress> =
        Arc::new(hoist_engine::progress::Silent);
    let mut image = engine.image_for_container(&image_name, pull_policy, &pull, &progress)?;
    if let Some(dir) = &record_access {
        image.lazy_layers = engine.recording_specs(&image_name, dir)?;
    }
    if replace {
        if let Some(name) = &name {
            if let Ok(old) = cs.get(name) {
                crate::lifecycle::remove(cs, &old, true)?;
            }
        }
    }
    let anonymous = create_anonymous_volumes(cs.root(), &mut options)?;
    let made = cs.create(NewContainer {
        name,
        image: image_name,
        image_id: image.record.id.hex().to_string(),
        layer_dirs: image.layer_dirs,
        lazy_layers: image.lazy_layers,
        image_config: image.config,
        options,
    });
    if made.is_err() {
        if let Ok(vols) = Volumes::open(cs.root()) {
            for v in &anonymous {
                if let Err(e) = vols.remove(v, &[]) {
                    tracing::warn!(volume = %v, error = %e, "removing the anonymous volume of a container that was not created");
                }
            }
        }
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ContainerError;
    use crate::options::MountOption;

    #[test]
    fn a_missing_image_creates_nothing() {
        let d = tempfile::tempdir().unwrap();
        let engine = Engine::open(d.path()).unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let options = anonymous_volume();
        let err = create(
            &engine,
            &cs,
            CreateRequest {
                image: "localhost/surely-not-here:1".into(),
                options,
                pull_policy: PullPolicy::Never,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("image not known"), "{err}");
        assert_eq!(err.exit_code(), crate::EXIT_ENGINE);
        assert!(cs.list().unwrap().is_empty());
        assert!(Volumes::open(d.path()).unwrap().list().unwrap().is_empty());
    }

    /// A store with the busybox test image; returns its image ID.
    fn store_with_image(root: &std::path::Path) -> (Engine, String) {
        let layout = root.join("layout");
        let built =
            hoist_testenv::image::ImageBuilder::single_layer().build_oci_layout(&layout, "v1");
        let engine = Engine::open(&root.join("store")).unwrap();
        let progress: Arc<dyn hoist_engine::progress::Progress> =
            Arc::new(hoist_engine::progress::Silent);
        let pulled = engine
            .pull(&built.oci_reference(), &PullOptions::default(), &progress)
            .unwrap();
        (engine, pulled.id.hex().to_string())
    }

    fn anonymous_volume() -> CreateOptions {
        let mut options = CreateOptions::default();
        options.mounts.push(MountOption::Volume {
            name: String::new(),
            destination: "/data".into(),
            read_only: false,
            anonymous: true,
        });
        options
    }

    #[test]
    fn creates_with_anonymous_volumes_and_rolls_them_back_on_failure() {
        let d = tempfile::tempdir().unwrap();
        let (engine, id) = store_with_image(d.path());
        let cs = Containers::open(&d.path().join("store")).unwrap();
        let vols = || Volumes::open(cs.root()).unwrap().list().unwrap();
        let req = |name: &str| CreateRequest {
            image: id.clone(),
            name: Some(name.into()),
            options: anonymous_volume(),
            pull_policy: PullPolicy::Never,
            ..Default::default()
        };

        let made = create(&engine, &cs, req("web")).unwrap();
        assert_eq!(made.image_id, id);
        assert_eq!(made.name, "web");
        let MountOption::Volume { name, .. } = &made.options.mounts[0] else {
            panic!("a volume mount");
        };
        assert_eq!(vols().len(), 1);
        assert_eq!(&vols()[0].name, name);
        let c = cs.get("web").unwrap();
        assert!(c.image_config().unwrap().config().is_some());

        // The record cannot be made: its new volume goes again.
        let err = create(&engine, &cs, req("web")).unwrap_err();
        assert!(matches!(err, ContainerError::NameInUse { .. }), "{err}");
        let err = create(&engine, &cs, req("-bad")).unwrap_err();
        assert!(matches!(err, ContainerError::InvalidName(_)), "{err}");
        assert_eq!(vols().len(), 1);

        // --replace removes the holder of the name first.
        let again = create(
            &engine,
            &cs,
            CreateRequest {
                replace: true,
                ..req("web")
            },
        )
        .unwrap();
        assert_ne!(again.id, made.id);
        assert!(!cs.exists(&made.id));
        assert_eq!(cs.lookup("web").unwrap(), again.id);
    }
}

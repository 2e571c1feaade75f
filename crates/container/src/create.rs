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
#[derive(Clone, Default)]
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
    /// containers.conf: fills the options the request left unset (see
    /// [`crate::apply_conf`]). The default is podman's built-in values.
    pub conf: hoist_config::ContainersConf,
    /// Where pull progress goes when the image is pulled (podman's
    /// `Trying to pull ...` lines); silent by default.
    pub progress: Option<Arc<dyn hoist_engine::progress::Progress>>,
}

impl std::fmt::Debug for CreateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateRequest")
            .field("image", &self.image)
            .field("name", &self.name)
            .field("options", &self.options)
            .field("pull_policy", &self.pull_policy)
            .field("replace", &self.replace)
            .finish_non_exhaustive()
    }
}

/// Makes the record of a new container, in state `created`.
///
/// Anonymous volumes made for it are removed again when the record cannot
/// be made: they would belong to no container.
pub fn create(engine: &Engine, cs: &Containers, req: CreateRequest) -> Result<ContainerConfig> {
    create_with_id(engine, cs, req, None)
}

/// [`create`] with a given container id (`restore --import`).
pub fn create_with_id(
    engine: &Engine,
    cs: &Containers,
    req: CreateRequest,
    id: Option<String>,
) -> Result<ContainerConfig> {
    let CreateRequest {
        image: image_name,
        name,
        mut options,
        pull_policy,
        pull,
        record_access,
        replace,
        conf,
        progress,
    } = req;
    crate::volumes::dedup_mounts(&mut options.mounts)?;
    crate::conf_defaults::apply_conf(&mut options, &conf)?;
    crate::networks::check_dns_has_network(&options)?;
    crate::networks::apply_network_conf(&mut options, &conf)?;
    crate::volumes::apply_volume_conf(&mut options, &conf)?;
    crate::options::check_device_rules(&options)?;
    crate::run_setup::check_ipc_join(cs, options.ipc.as_deref())?;
    crate::run_flags::check_create(cs, &options)?;
    for d in &options.devices {
        crate::run_setup::check_device(d)?;
    }
    crate::secrets::resolve(cs.root(), &mut options.secrets)?;
    let progress: Arc<dyn hoist_engine::progress::Progress> =
        progress.unwrap_or_else(|| Arc::new(hoist_engine::progress::Silent));
    let mut image = match &options.rootfs {
        Some(dir) => rootfs_image(dir)?,
        None => {
            Picked::from(engine.image_for_container(&image_name, pull_policy, &pull, &progress)?)
        }
    };
    if let Some(dir) = &record_access {
        image.lazy_layers = engine.recording_specs(&image_name, dir)?;
    }
    let image_name = if options.rootfs.is_some() {
        String::new()
    } else {
        full_image_name(&image_name, &image.names)
    };
    if options.healthcheck.is_none() {
        options.healthcheck =
            crate::health::resolve(options.health_request.as_ref(), &image.config)?;
    }
    crate::health::check_options(&options)?;
    if replace {
        if let Some(name) = &name {
            if let Ok(old) = cs.get(name) {
                crate::lifecycle::remove(cs, &old, true)?;
            }
        }
    }
    volumes_from(cs, &mut options)?;
    crate::volumes::add_image_volumes(&mut options, &image.config);
    if options.publish_all {
        publish_exposed(&mut options, &image.config)?;
    }
    let anonymous = create_anonymous_volumes(cs.root(), &mut options)?;
    // --userns=auto: a range of IDs no other container has, held from the
    // choice until this container is recorded.
    let _auto = match options.run_flags.userns.as_deref() {
        Some(v) if v.split(':').next() == Some("auto") => {
            let size = crate::userns_auto::requested_size(v)?;
            let lock = crate::userns_auto::lock(cs)?;
            let (uids, gids) = crate::userns_auto::allocate(cs, size)?;
            options.run_flags.uid_map = uids;
            options.run_flags.gid_map = gids;
            Some(lock)
        }
        _ => None,
    };
    let made = cs.create_with_id(
        NewContainer {
            name,
            image: image_name,
            image_id: image.id,
            image_digest: image.digest,
            layer_dirs: image.layer_dirs,
            lazy_layers: image.lazy_layers,
            image_config: image.config,
            options,
        },
        id,
    );
    if let Ok(config) = &made {
        if let Ok(c) = cs.load(&config.id) {
            crate::events::emit(&c, hoist_events::Status::Create);
        }
    }
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

/// `--volumes-from CONTAINER[:ro|rw]`: the volumes and bind mounts of
/// other containers, read-only or read-write as asked (else as they have
/// them), unless this container mounts something there itself. A volume
/// taken over this way is never this container's anonymous volume, so
/// `rm -v` leaves it to its owner.
fn volumes_from(cs: &Containers, options: &mut CreateOptions) -> Result<()> {
    use crate::options::MountOption;
    for spec in std::mem::take(&mut options.volumes_from) {
        let (name, mode) = match spec.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (spec.as_str(), None),
        };
        let read_only = match mode {
            None | Some("z" | "Z" | "") => None,
            Some(m) if m.split(',').any(|o| o == "ro") => Some(true),
            Some(m) if m.split(',').any(|o| o == "rw") => Some(false),
            Some(other) => {
                return Err(crate::ContainerError::Invalid(format!(
                    "invalid --volumes-from option {other:?} in {spec:?}: use ro or rw"
                )))
            }
        };
        let other = cs.get(name)?;
        for m in &other.config.options.mounts {
            if options
                .mounts
                .iter()
                .any(|mine| mine.destination() == m.destination())
            {
                continue;
            }
            let copied = match m.clone() {
                MountOption::Bind {
                    source,
                    destination,
                    read_only: ro,
                    options: o,
                } => MountOption::Bind {
                    source,
                    destination,
                    read_only: read_only.unwrap_or(ro),
                    options: o,
                },
                MountOption::Volume {
                    name,
                    destination,
                    read_only: ro,
                    options: o,
                    ..
                } => MountOption::Volume {
                    name,
                    destination,
                    read_only: read_only.unwrap_or(ro),
                    anonymous: false,
                    options: o,
                },
                // tmpfs and image mounts are the other container's own.
                _ => continue,
            };
            options.mounts.push(copied);
        }
    }
    Ok(())
}

/// `--publish-all`: every port the image exposes (`ExposedPorts`) or
/// `--expose` names, not already published, on a host port picked at
/// start.
fn publish_exposed(options: &mut CreateOptions, image_config: &[u8]) -> Result<()> {
    let mut specs: Vec<String> = serde_json::from_slice::<serde_json::Value>(image_config)
        .ok()
        .and_then(|v| v["config"]["ExposedPorts"].as_object().cloned())
        .map(|ports| ports.keys().cloned().collect())
        .unwrap_or_default();
    specs.extend(options.expose.iter().cloned());
    for spec in specs {
        let mapping = hoist_network::PortMapping::parse(&spec)
            .map_err(|e| crate::ContainerError::Invalid(format!("--expose {spec}: {e}")))?;
        let taken = options.ports.iter().any(|p| {
            p.protocol == mapping.protocol
                && (p.container_port..p.container_port + p.range.max(1))
                    .contains(&mapping.container_port)
        });
        if !taken {
            options.ports.push(mapping);
        }
    }
    Ok(())
}

/// What a container is made from: an image, or a `--rootfs` directory.
struct Picked {
    /// The image's names (none for a directory).
    names: Vec<String>,
    /// Image ID and manifest digest (empty for a directory).
    id: String,
    digest: String,
    config: Vec<u8>,
    layer_dirs: Vec<PathBuf>,
    lazy_layers: Vec<hoist_lazy::LazyLayerSpec>,
}

impl From<hoist_engine::ContainerImage> for Picked {
    fn from(image: hoist_engine::ContainerImage) -> Picked {
        Picked {
            names: image.record.names,
            id: image.record.id.hex().to_string(),
            digest: image.record.manifest_digest.to_string(),
            config: image.config,
            layer_dirs: image.layer_dirs,
            lazy_layers: image.lazy_layers,
        }
    }
}

/// `--rootfs DIR`: the directory stands for the image: one layer, and a
/// config with no command or environment of its own.
fn rootfs_image(dir: &std::path::Path) -> Result<Picked> {
    if !dir.is_dir() {
        return Err(crate::ContainerError::Invalid(format!(
            "--rootfs {}: not a directory; give the root filesystem of the container",
            dir.display()
        )));
    }
    Ok(Picked {
        names: Vec::new(),
        id: String::new(),
        digest: String::new(),
        config: br#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec(),
        layer_dirs: vec![dir.to_path_buf()],
        lazy_layers: Vec::new(),
    })
}

/// The image name a container records (podman's `.ImageName`): the
/// image's full name that `given` stands for (`alpine` for
/// `docker.io/library/alpine:latest`), else `given` itself (an ID).
fn full_image_name(given: &str, names: &[String]) -> String {
    if names.iter().any(|n| n == given) {
        return given.to_string();
    }
    let Ok(parsed) = hoist_image::reference::parse_name(given) else {
        return given.to_string();
    };
    names
        .iter()
        .filter_map(|n| hoist_image::Reference::parse(n).ok().map(|r| (n, r)))
        .find(|(n, r)| {
            let expanded = parsed.on_registry(&r.registry).to_string();
            expanded == **n
        })
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| given.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ContainerError;
    use crate::options::MountOption;

    #[test]
    fn image_names_are_recorded_in_full() {
        let names = vec![
            "localhost/a/b:latest".to_string(),
            "quay.io/x/y:1".to_string(),
        ];
        assert_eq!(
            full_image_name("localhost/a/b", &names),
            "localhost/a/b:latest"
        );
        assert_eq!(full_image_name("a/b", &names), "localhost/a/b:latest");
        assert_eq!(full_image_name("quay.io/x/y:1", &names), "quay.io/x/y:1");
        assert_eq!(full_image_name("0d518a2f", &names), "0d518a2f");
    }

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
            options: Vec::new(),
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

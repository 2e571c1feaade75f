//! `system df`, `system prune` and `system reset`: the whole store at once
//! (images from the engine, containers, volumes and networks from here).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use hoist_engine::Engine;
use hoist_image::Digest;

use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;
use crate::store::Containers;
use crate::volumes::{FilterUse, Volume, VolumeFilter, Volumes};

/// One image of `system df -v`.
#[derive(Debug, Clone)]
pub struct ImageDiskUse {
    /// The first name, `None` for a dangling image.
    pub name: Option<String>,
    /// The config digest's hex.
    pub id: String,
    pub created: DateTime<Utc>,
    pub size: u64,
    /// Bytes of layers other images share.
    pub shared_size: u64,
    /// How many containers were made from it.
    pub containers: usize,
}

/// One container of `system df -v`.
#[derive(Debug, Clone)]
pub struct ContainerDiskUse {
    pub id: String,
    pub image_id: String,
    pub command: String,
    /// How many named volumes it mounts.
    pub local_volumes: usize,
    /// Bytes it wrote (its own layer).
    pub size: u64,
    pub created: DateTime<Utc>,
    /// podman's state word: created, running, exited...
    pub status: String,
    pub running: bool,
    pub name: String,
}

/// One volume of `system df -v`.
#[derive(Debug, Clone)]
pub struct VolumeDiskUse {
    pub name: String,
    /// How many containers use it.
    pub links: usize,
    pub size: u64,
}

/// What `system df` reports.
#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    pub images: Vec<ImageDiskUse>,
    pub containers: Vec<ContainerDiskUse>,
    pub volumes: Vec<VolumeDiskUse>,
}

/// One row of `system df`'s summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSummary {
    /// "Images", "Containers" or "Local Volumes".
    pub kind: &'static str,
    pub total: usize,
    pub active: usize,
    pub size: u64,
    pub reclaimable: u64,
}

impl DiskUsage {
    /// The three summary rows, in podman's order.
    pub fn summary(&self) -> [DiskSummary; 3] {
        let images = DiskSummary {
            kind: "Images",
            total: self.images.len(),
            active: self.images.iter().filter(|i| i.containers > 0).count(),
            size: self.images.iter().map(|i| i.size).sum(),
            reclaimable: self
                .images
                .iter()
                .filter(|i| i.containers == 0)
                .map(|i| i.size)
                .sum(),
        };
        let containers = DiskSummary {
            kind: "Containers",
            total: self.containers.len(),
            active: self.containers.iter().filter(|c| c.running).count(),
            size: self.containers.iter().map(|c| c.size).sum(),
            reclaimable: self
                .containers
                .iter()
                .filter(|c| !c.running)
                .map(|c| c.size)
                .sum(),
        };
        let volumes = DiskSummary {
            kind: "Local Volumes",
            total: self.volumes.len(),
            active: self.volumes.iter().filter(|v| v.links > 0).count(),
            size: self.volumes.iter().map(|v| v.size).sum(),
            reclaimable: self
                .volumes
                .iter()
                .filter(|v| v.links == 0)
                .map(|v| v.size)
                .sum(),
        };
        [images, containers, volumes]
    }
}

/// `system df`: what images, containers and volumes take on disk.
pub fn disk_usage(engine: &Engine, cs: &Containers) -> Result<DiskUsage> {
    let containers = cs.list()?;
    let records = engine
        .store()
        .images()
        .map_err(hoist_engine::EngineError::from)?;
    // A layer counts as shared when more than one image lists it.
    let mut layer_users: HashMap<&Digest, usize> = HashMap::new();
    for r in &records {
        for l in &r.layers {
            *layer_users.entry(&l.diff_id).or_default() += 1;
        }
    }
    let images = records
        .iter()
        .map(|r| {
            let shared: u64 = r
                .layers
                .iter()
                .filter(|l| layer_users.get(&l.diff_id).copied().unwrap_or(0) > 1)
                .map(|l| l.size)
                .sum();
            ImageDiskUse {
                name: r.names.first().cloned(),
                id: r.id.hex().to_string(),
                created: DateTime::parse_from_rfc3339(&r.created)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default(),
                size: r.size,
                shared_size: shared.min(r.size),
                containers: containers
                    .iter()
                    .filter(|c| c.config.image_id == r.id.hex())
                    .count(),
            }
        })
        .collect();
    let volumes = Volumes::open(cs.root())?
        .list()?
        .into_iter()
        .map(|v| VolumeDiskUse {
            links: containers
                .iter()
                .filter(|c| crate::volumes::volume_names(&c.config).any(|n| n == v.name))
                .count(),
            size: crate::ps_extra::tree_size(&v.mountpoint),
            name: v.name,
        })
        .collect();
    let containers = containers.iter().map(container_use).collect();
    Ok(DiskUsage {
        images,
        containers,
        volumes,
    })
}

fn container_use(c: &Container) -> ContainerDiskUse {
    let o = &c.config.options;
    let command: Vec<String> = o
        .entrypoint
        .iter()
        .flatten()
        .chain(o.command.iter().flatten())
        .cloned()
        .collect();
    let status = c.status();
    ContainerDiskUse {
        id: c.id().to_string(),
        image_id: c.config.image_id.clone(),
        command: command.join(" "),
        local_volumes: crate::volumes::volume_names(&c.config).count(),
        size: c.disk_size().rw_size,
        created: c.config.created,
        status: status.as_str().to_string(),
        running: status.is_active(),
        name: c.name().to_string(),
    }
}

/// What `system prune` removes besides stopped containers, networks no
/// container uses and dangling images.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// `--all`: every image no container uses, not only dangling ones.
    pub all: bool,
    /// `--volumes`: volumes no container uses.
    pub volumes: bool,
    /// `--filter`: `label=`, `label!=`, `until=` (podman's prune filters).
    pub filters: Vec<String>,
}

/// What `system prune` removed, each with the bytes it freed.
#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    pub containers: Vec<(String, u64)>,
    pub networks: Vec<String>,
    pub volumes: Vec<(String, u64)>,
    pub images: Vec<(Digest, u64)>,
}

impl PruneReport {
    pub fn reclaimed(&self) -> u64 {
        self.containers.iter().map(|c| c.1).sum::<u64>()
            + self.volumes.iter().map(|v| v.1).sum::<u64>()
            + self.images.iter().map(|i| i.1).sum::<u64>()
    }
}

/// The filters of `system prune`, checked once for every kind of object.
struct PruneFilter {
    labels: Vec<(String, Option<String>)>,
    not_labels: Vec<(String, Option<String>)>,
    until: Option<DateTime<Utc>>,
}

impl PruneFilter {
    fn parse(items: &[String]) -> Result<PruneFilter> {
        let mut f = PruneFilter {
            labels: vec![],
            not_labels: vec![],
            until: None,
        };
        for item in items {
            let (key, value) = item.split_once('=').ok_or_else(|| {
                ContainerError::Invalid(format!("{item:?}: a filter is KEY=VALUE"))
            })?;
            let label = || match value.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (value.to_string(), None),
            };
            match key {
                "label" => f.labels.push(label()),
                "label!" => f.not_labels.push(label()),
                "until" => {
                    let t = crate::logs::parse_time(value).ok_or_else(|| {
                        ContainerError::Invalid(format!(
                            "until={value}: not a time: give a timestamp or a duration like 10m"
                        ))
                    })?;
                    f.until = Some(t.with_timezone(&Utc));
                }
                _ => {
                    return Err(ContainerError::Invalid(format!(
                        "{key} is an invalid filter: system prune takes label, label! and until"
                    )))
                }
            }
        }
        Ok(f)
    }

    fn matches(
        &self,
        labels: &std::collections::BTreeMap<String, String>,
        created: DateTime<Utc>,
    ) -> bool {
        let has = |(k, v): &(String, Option<String>)| {
            labels
                .get(k)
                .is_some_and(|have| v.as_ref().is_none_or(|want| want == have))
        };
        self.labels.iter().all(has)
            && !self.not_labels.iter().any(has)
            && self.until.is_none_or(|u| created < u)
    }
}

/// `system prune`: removes stopped containers, networks no container
/// uses, dangling images (every unused image with `all`) and, with
/// `volumes`, unused volumes.
pub fn prune(engine: &Engine, cs: &Containers, opts: &PruneOptions) -> Result<PruneReport> {
    let filter = PruneFilter::parse(&opts.filters)?;
    let mut report = PruneReport::default();
    for c in cs.list()? {
        // Infra containers go with their pods.
        if c.status().is_active()
            || c.config.options.infra
            || !filter.matches(&c.config.options.labels, c.config.created)
        {
            continue;
        }
        let size = c.disk_size().rw_size;
        crate::lifecycle::remove(cs, &c, false)?;
        report.containers.push((c.id().to_string(), size));
    }
    report.networks = crate::networks::prune_networks(
        cs,
        &crate::networks::parse_filter(&opts.filters, FilterUse::Prune)?,
    )?;
    if opts.volumes {
        let vfilter = VolumeFilter::parse(&opts.filters, FilterUse::Prune)?;
        let sizes: HashMap<String, u64> = crate::volumes::prune_candidates(cs, &vfilter)?
            .iter()
            .map(|v: &Volume| (v.name.clone(), crate::ps_extra::tree_size(&v.mountpoint)))
            .collect();
        for name in crate::volumes::prune(cs, &vfilter)? {
            let size = sizes.get(&name).copied().unwrap_or(0);
            report.volumes.push((name, size));
        }
    }
    report.images = prune_images(engine, cs, opts.all, &filter)?;
    Ok(report)
}

fn prune_images(
    engine: &Engine,
    cs: &Containers,
    all: bool,
    filter: &PruneFilter,
) -> Result<Vec<(Digest, u64)>> {
    let mut keep: HashSet<String> = HashSet::new();
    if !filter.labels.is_empty() || !filter.not_labels.is_empty() || filter.until.is_some() {
        for i in engine.list_images()? {
            let created = DateTime::from_timestamp(i.created, 0).unwrap_or_default();
            if !filter.matches(&i.labels.clone().unwrap_or_default(), created) {
                keep.insert(i.id);
            }
        }
    }
    let sizes: HashMap<String, u64> = engine
        .list_images()?
        .into_iter()
        .map(|i| (i.id, i.size))
        .collect();
    Ok(engine
        .prune_images_except(all, cs, &keep)?
        .into_iter()
        .map(|d| {
            let size = sizes.get(d.hex()).copied().unwrap_or(0);
            (d, size)
        })
        .collect())
}

/// `system reset`: removes every container (stopping running ones),
/// image, volume and network, then everything else under the store's
/// root, and leaves an empty store that works.
pub fn reset(root: &Path) -> Result<()> {
    let cs = Containers::open(root)?;
    // Members before infra containers (which they join); the pod records
    // go with the rest of the root.
    let mut all = cs.list()?;
    all.sort_by_key(|c| c.config.options.infra);
    for c in all {
        crate::lifecycle::remove_member(&cs, &c, true)?;
    }
    let vols = Volumes::open(root)?;
    for v in vols.list()? {
        vols.remove(&v.name, &[])?;
    }
    for net in crate::networks::list_networks(&cs, &Default::default())? {
        if net.name != hoist_network::DEFAULT_NETWORK_NAME {
            crate::networks::remove_network(&cs, &net.name, true, None)?;
        }
    }
    // Images, layers and blobs go with the rest of the root.
    clear_dir(root)?;
    // Open once so the layout is there for the next command.
    Engine::open(root)?;
    Containers::open(root)?;
    Ok(())
}

/// Removes what is under `dir`, refusing to cross into mounted file
/// systems (a mount left behind would take its contents with it).
fn clear_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(dir)
        .map_err(io_err("reading", dir))?
        .dev();
    for e in std::fs::read_dir(dir).map_err(io_err("listing", dir))? {
        let e = e.map_err(io_err("listing", dir))?;
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path).map_err(io_err("reading", &path))?;
        if meta.is_dir() {
            if meta.dev() != dev {
                return Err(ContainerError::Invalid(format!(
                    "{} is a mount point: unmount it (umount {}) and run system reset again",
                    path.display(),
                    path.display()
                )));
            }
            clear_dir(&path)?;
            std::fs::remove_dir(&path).map_err(io_err("removing", &path))?;
        } else {
            std::fs::remove_file(&path).map_err(io_err("removing", &path))?;
        }
    }
    Ok(())
}

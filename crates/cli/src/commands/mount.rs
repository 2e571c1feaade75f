//! `mount`/`umount` (a container's root filesystem on the host) and
//! `image mount`/`image umount` (an image's files, read-only).

use anyhow::Result;
use clap::Args;
use hoist_container::snapshot::{self, ImageMounts};
use hoist_engine::{Engine, PullOptions, PullPolicy};

#[derive(Debug, Args)]
pub struct MountArgs {
    /// Containers to mount (none: list the mounted ones).
    pub containers: Vec<String>,
    /// Mount every container.
    #[arg(short, long)]
    pub all: bool,
    /// The latest container (accepted for podman compatibility: name one instead).
    #[arg(short, long)]
    pub latest: bool,
    /// Show whole container IDs (`--notruncate` is an older name of it).
    #[arg(long = "no-trunc", alias = "notruncate")]
    pub notruncate: bool,
    /// json, or a Go template.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct UmountArgs {
    pub containers: Vec<String>,
    /// Unmount every container.
    #[arg(short, long)]
    pub all: bool,
    /// Unmount even if mounted several times.
    #[arg(short, long)]
    pub force: bool,
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Debug, Args)]
pub struct ImageMountArgs {
    /// Images to mount (none: list the mounted ones).
    pub images: Vec<String>,
    /// Mount every image.
    #[arg(short, long)]
    pub all: bool,
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImageUmountArgs {
    pub images: Vec<String>,
    /// Unmount every image.
    #[arg(short, long)]
    pub all: bool,
    /// Unmount even if mounted several times.
    #[arg(short, long)]
    pub force: bool,
}

pub fn mount(engine: &Engine, a: MountArgs) -> Result<i32> {
    let cs = super::container::open(engine.root())?;
    let short = |id: &str| {
        if a.notruncate {
            id.to_string()
        } else {
            hoist_container::short_id(id).to_string()
        }
    };
    if a.containers.is_empty() && !a.all && !a.latest {
        let rows: Vec<serde_json::Value> = snapshot::mounted(&cs)?
            .iter()
            .map(|(c, path)| serde_json::json!({"ID": c.id(), "Names": [c.name()], "Mountpoint": path}))
            .collect();
        if a.format.as_deref() == Some("json") {
            crate::output::print_json(&rows)?;
        } else {
            // Two spaces apart, as podman's aligned columns of equal-length IDs.
            for r in &rows {
                let id = r["ID"].as_str().unwrap_or_default();
                println!(
                    "{}  {}",
                    short(id),
                    r["Mountpoint"].as_str().unwrap_or_default()
                );
            }
        }
        return Ok(0);
    }
    let targets = if a.all {
        cs.ids()?
    } else if a.latest {
        latest(&cs)?
    } else {
        a.containers.clone()
    };
    for name in &targets {
        let c = cs.get(name)?;
        let path = snapshot::mount(&cs, &c)?;
        if a.all {
            println!("{} {}", short(c.id()), path.display());
        } else {
            println!("{}", path.display());
        }
    }
    Ok(0)
}

pub fn umount(engine: &Engine, a: UmountArgs) -> Result<i32> {
    let cs = super::container::open(engine.root())?;
    if a.containers.is_empty() && !a.all && !a.latest {
        anyhow::bail!("`umount` needs at least one container name or ID, or --all");
    }
    let targets: Vec<String> = if a.all {
        snapshot::mounted(&cs)?
            .into_iter()
            .map(|(c, _)| c.id().to_string())
            .collect()
    } else if a.latest {
        latest(&cs)?
    } else {
        a.containers.clone()
    };
    for name in &targets {
        let c = cs.get(name)?;
        snapshot::unmount(&cs, &c)?;
        println!("{}", if a.all { c.id() } else { name.as_str() });
    }
    Ok(0)
}

/// `--latest`: the newest container, as a one-element list.
fn latest(cs: &hoist_container::Containers) -> Result<Vec<String>> {
    match cs.newest()? {
        Some(c) => Ok(vec![c.id().to_string()]),
        None => anyhow::bail!("no containers to choose the latest of"),
    }
}

pub fn image_mount(engine: &Engine, a: ImageMountArgs) -> Result<i32> {
    let mounts = ImageMounts::new(engine.root());
    if a.images.is_empty() && !a.all {
        print_mounted(engine, &mounts, a.format.as_deref())?;
        return Ok(0);
    }
    let targets: Vec<String> = if a.all {
        engine.list_images()?.into_iter().map(|i| i.id).collect()
    } else {
        a.images.clone()
    };
    for name in &targets {
        let image = engine.image_for_container(
            name,
            PullPolicy::Never,
            &PullOptions::default(),
            &(std::sync::Arc::new(hoist_engine::progress::Silent) as _),
        )?;
        let path = mounts.mount(&image)?;
        if !a.all {
            println!("{}", path.display());
        }
    }
    if a.all {
        print_mounted(engine, &mounts, a.format.as_deref())?;
    }
    Ok(0)
}

/// `NAME PATH` for each mounted image (its first name, or its ID).
fn print_mounted(engine: &Engine, mounts: &ImageMounts, format: Option<&str>) -> Result<()> {
    let images = engine.list_images()?;
    let rows: Vec<serde_json::Value> = mounts
        .list()
        .iter()
        .map(|m| {
            let names = images
                .iter()
                .find(|i| i.id == m.id)
                .map(|i| i.repo_tags.clone())
                .unwrap_or_default();
            serde_json::json!({"ID": m.id, "Repositories": names, "Mountpoint": m.path})
        })
        .collect();
    if format == Some("json") {
        return crate::output::print_json(&rows);
    }
    for r in &rows {
        let name = r["Repositories"][0]
            .as_str()
            .or(r["ID"].as_str())
            .unwrap_or_default();
        println!("{name} {}", r["Mountpoint"].as_str().unwrap_or_default());
    }
    Ok(())
}

pub fn image_umount(engine: &Engine, a: ImageUmountArgs) -> Result<i32> {
    let mounts = ImageMounts::new(engine.root());
    if a.images.is_empty() && !a.all {
        anyhow::bail!("`image umount` needs at least one image name or ID, or --all");
    }
    let ids: Vec<String> = if a.all {
        mounts.list().into_iter().map(|m| m.id).collect()
    } else {
        a.images
            .iter()
            .map(|n| engine.image_id(n).map(|d| d.hex().to_string()))
            .collect::<Result<_, _>>()?
    };
    for id in ids {
        if mounts.unmount(&id, a.force || a.all)? {
            println!("{id}");
        }
    }
    Ok(0)
}

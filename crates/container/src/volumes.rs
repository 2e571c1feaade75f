//! Named volumes: `<root>/volumes/<name>/_data` plus `volume.json`, as
//! podman's local driver lays them out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{io_err, ContainerError, Result};

/// A volume as `volume inspect` shows it (podman's field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub name: String,
    pub driver: String,
    pub mountpoint: PathBuf,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub scope: String,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Made by `-v /dest` for one container (podman's `Anonymous`).
    #[serde(default)]
    pub anonymous: bool,
}

/// Volume names follow the container name rule.
pub fn validate_name(name: &str) -> Result<()> {
    if crate::names::is_valid_name(name) {
        Ok(())
    } else {
        Err(ContainerError::Invalid(format!(
            "invalid volume name {name:?}: use letters, digits, '_', '.' and '-', starting with a letter or digit"
        )))
    }
}

/// The volumes of one hoist root.
#[derive(Debug, Clone)]
pub struct Volumes {
    dir: PathBuf,
}

impl Volumes {
    pub fn open(root: &Path) -> Result<Volumes> {
        let dir = std::path::absolute(root.join("volumes")).map_err(io_err("resolving", root))?;
        std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        Ok(Volumes { dir })
    }

    fn meta(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("volume.json")
    }

    /// Creates volume `name` (a random one if `None`). With `ignore_existing`
    /// an existing volume is returned as it is.
    pub fn create(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        ignore_existing: bool,
    ) -> Result<Volume> {
        self.create_inner(name, labels, ignore_existing, false)
    }

    /// The volume a mount names, made on first use as podman does.
    pub fn get_or_create(&self, name: &str) -> Result<Volume> {
        self.create(Some(name), BTreeMap::new(), true)
    }

    /// Creates an anonymous volume: a random 64-hex name, marked anonymous.
    pub fn create_anonymous(&self) -> Result<Volume> {
        self.create_inner(None, BTreeMap::new(), false, true)
    }

    fn create_inner(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        ignore_existing: bool,
        anonymous: bool,
    ) -> Result<Volume> {
        let name = match name {
            Some(n) => n.to_string(),
            None => {
                use rand::RngCore;
                let mut b = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut b);
                b.iter().map(|x| format!("{x:02x}")).collect()
            }
        };
        validate_name(&name)?;
        let vdir = self.dir.join(&name);
        match std::fs::create_dir(&vdir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if ignore_existing {
                    if let Ok(v) = self.get(&name) {
                        return Ok(v);
                    }
                } else {
                    return Err(ContainerError::Invalid(format!(
                        "volume {name:?} already exists; pick another name or remove it with `hoist volume rm {name}`"
                    )));
                }
            }
            Err(e) => return Err(io_err("creating volume directory", &vdir)(e)),
        }
        let data = vdir.join("_data");
        std::fs::create_dir_all(&data).map_err(io_err("creating", &data))?;
        let v = Volume {
            name: name.clone(),
            driver: "local".into(),
            mountpoint: data,
            created_at: Utc::now(),
            labels,
            scope: "local".into(),
            options: BTreeMap::new(),
            anonymous,
        };
        crate::store::write_atomic(
            &self.meta(&name),
            &serde_json::to_vec_pretty(&v).expect("serializes"),
        )?;
        Ok(v)
    }

    pub fn get(&self, name: &str) -> Result<Volume> {
        validate_name(name)?;
        let p = self.meta(name);
        let bytes = std::fs::read(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ContainerError::Invalid(format!(
                    "no volume named {name:?}; list volumes with `hoist volume ls`"
                ))
            } else {
                io_err("reading", &p)(e)
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|source| ContainerError::Corrupt { path: p, source })
    }

    pub fn list(&self) -> Result<Vec<Volume>> {
        let mut all = Vec::new();
        for e in std::fs::read_dir(&self.dir)
            .map_err(io_err("listing", &self.dir))?
            .flatten()
        {
            if let Ok(v) = self.get(&e.file_name().to_string_lossy()) {
                all.push(v);
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// Removes volume `name`; `users` are the containers using it (refused
    /// unless the caller removed them).
    pub fn remove(&self, name: &str, users: &[String]) -> Result<()> {
        self.get(name)?;
        if !users.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "volume {name} is being used by container(s) {}: remove them first or use --force",
                users.join(", ")
            )));
        }
        let vdir = self.dir.join(name);
        std::fs::remove_dir_all(&vdir).map_err(io_err("removing volume", &vdir))
    }
}

/// Gives every anonymous volume of `opts` (`-v /dest`) a new volume.
pub fn create_anonymous_volumes(
    root: &Path,
    opts: &mut crate::options::CreateOptions,
) -> Result<Vec<String>> {
    let mut made = Vec::new();
    for m in &mut opts.mounts {
        if let crate::options::MountOption::Volume {
            name,
            anonymous: true,
            ..
        } = m
        {
            if name.is_empty() {
                let v = Volumes::open(root)?.create_anonymous()?;
                *name = v.name.clone();
                made.push(v.name);
            }
        }
    }
    Ok(made)
}

/// `rm -v`: removes the anonymous volumes of container `config` that no
/// other container uses; returns their names.
pub fn remove_anonymous_volumes(
    cs: &crate::store::Containers,
    config: &crate::record::ContainerConfig,
) -> Result<Vec<String>> {
    let vols = Volumes::open(cs.root())?;
    let others = cs.list().unwrap_or_default();
    let mut removed = Vec::new();
    for m in &config.options.mounts {
        let crate::options::MountOption::Volume {
            name,
            anonymous: true,
            ..
        } = m
        else {
            continue;
        };
        let used = others.iter().any(|c| {
            c.id() != config.id
                && c.config.options.mounts.iter().any(|o| {
                    matches!(o, crate::options::MountOption::Volume { name: n, .. } if n == name)
                })
        });
        if used || vols.get(name).is_err() {
            continue;
        }
        vols.remove(name, &[])?;
        removed.push(name.clone());
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_list_remove() {
        let d = tempfile::tempdir().unwrap();
        let vs = Volumes::open(d.path()).unwrap();
        let v = vs.create(Some("data"), BTreeMap::new(), false).unwrap();
        assert!(v.mountpoint.ends_with("volumes/data/_data"));
        assert!(v.mountpoint.is_dir());
        assert!(vs.create(Some("data"), BTreeMap::new(), false).is_err());
        assert_eq!(vs.create(Some("data"), BTreeMap::new(), true).unwrap(), v);
        assert_eq!(vs.list().unwrap().len(), 1);
        assert!(vs.remove("data", &["c1".into()]).is_err());
        vs.remove("data", &[]).unwrap();
        assert!(vs.get("data").is_err());
        assert!(vs.get("../x").is_err());
        let a = vs.create_anonymous().unwrap();
        assert!(a.anonymous && a.name.len() == 64);
        assert!(a.name.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(vs.get(&a.name).unwrap().anonymous);
        assert!(
            !vs.create(Some("named"), BTreeMap::new(), false)
                .unwrap()
                .anonymous
        );
    }
}

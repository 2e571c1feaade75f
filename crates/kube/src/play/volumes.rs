//! A pod's `volumes` as what hoist mounts: host paths, named volumes (a
//! PersistentVolumeClaim is one), a shared volume for an emptyDir (a tmpfs
//! when its medium is Memory), and volumes filled with the keys of a
//! ConfigMap or Secret, as podman 4.3 makes them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{KeyToPath, Volume};

use super::quantity;
use super::sources::Sources;
use crate::error::{KubeError, Result};

/// What a hostPath's `type` asks to be checked (or made) on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPathKind {
    /// No `type`: nothing is checked.
    Any,
    Directory,
    DirectoryOrCreate,
    File,
    FileOrCreate,
    Socket,
    CharDevice,
    BlockDevice,
}

impl HostPathKind {
    fn parse(t: Option<&str>) -> Result<HostPathKind> {
        Ok(match t.unwrap_or("") {
            "" => HostPathKind::Any,
            "Directory" => HostPathKind::Directory,
            "DirectoryOrCreate" => HostPathKind::DirectoryOrCreate,
            "File" => HostPathKind::File,
            "FileOrCreate" => HostPathKind::FileOrCreate,
            "Socket" => HostPathKind::Socket,
            "CharDevice" => HostPathKind::CharDevice,
            "BlockDevice" => HostPathKind::BlockDevice,
            other => {
                return Err(KubeError::Play(format!(
                    "invalid HostPath type {other:?}: use Directory, DirectoryOrCreate, File, FileOrCreate, Socket, CharDevice or BlockDevice"
                )))
            }
        })
    }
}

/// One file of a ConfigMap or Secret volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFile {
    /// Relative to the volume's root.
    pub path: String,
    pub data: Vec<u8>,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumePlan {
    HostPath {
        path: PathBuf,
        kind: HostPathKind,
    },
    /// A named volume (made when missing).
    Claim(String),
    /// A volume of the pod's own, removed with it.
    EmptyDir,
    Tmpfs {
        size: Option<u64>,
    },
    /// A named volume holding these files (a ConfigMap's or a Secret's).
    Files {
        name: String,
        files: Vec<VolumeFile>,
    },
}

/// The pod's volumes by name.
pub fn plan(volumes: &[Volume], src: &Sources<'_>) -> Result<BTreeMap<String, VolumePlan>> {
    let mut out = BTreeMap::new();
    for v in volumes {
        if out.insert(v.name.clone(), one(v, src)?).is_some() {
            return Err(KubeError::Play(format!(
                "volume {:?} is defined twice in the pod: give each volume its own name",
                v.name
            )));
        }
    }
    Ok(out)
}

fn one(v: &Volume, src: &Sources<'_>) -> Result<VolumePlan> {
    if let Some(h) = &v.host_path {
        if !h.path.starts_with('/') {
            return Err(KubeError::Play(format!(
                "volume {:?}: hostPath {:?} must be an absolute path",
                v.name, h.path
            )));
        }
        return Ok(VolumePlan::HostPath {
            path: PathBuf::from(&h.path),
            kind: HostPathKind::parse(h.type_.as_deref())?,
        });
    }
    if let Some(c) = &v.persistent_volume_claim {
        return Ok(VolumePlan::Claim(c.claim_name.clone()));
    }
    if let Some(e) = &v.empty_dir {
        if e.medium.as_deref() == Some("Memory") {
            let size = e
                .size_limit
                .as_ref()
                .map(|q| quantity::bytes(&format!("volume {:?} sizeLimit", v.name), &q.0))
                .transpose()?
                .map(|b| b as u64);
            return Ok(VolumePlan::Tmpfs { size });
        }
        return Ok(VolumePlan::EmptyDir);
    }
    if let Some(c) = &v.config_map {
        let data = match src.configmap(&c.name) {
            Some(d) => d,
            None if c.optional == Some(true) => BTreeMap::new(),
            None => {
                return Err(KubeError::Play(format!(
                    "volume {:?}: ConfigMap {:?} not found: add it to the YAML or give it with --configmap",
                    v.name, c.name
                )))
            }
        };
        let files = files(&v.name, data, c.items.as_deref(), c.default_mode)?;
        return Ok(VolumePlan::Files {
            name: c.name.clone(),
            files,
        });
    }
    if let Some(s) = &v.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        let data = match src.secret(&name)? {
            Some(d) => d,
            None if s.optional == Some(true) => BTreeMap::new(),
            None => {
                return Err(KubeError::Play(format!(
                    "volume {:?}: Secret {name:?} not found: add it to the YAML or create it with `hoist secret create`",
                    v.name
                )))
            }
        };
        let files = files(&v.name, data, s.items.as_deref(), s.default_mode)?;
        return Ok(VolumePlan::Files { name, files });
    }
    Err(KubeError::Play(format!(
        "volume {:?}: unsupported volume source: kube play supports hostPath, persistentVolumeClaim, emptyDir, configMap and secret",
        v.name
    )))
}

/// The files of a ConfigMap or Secret volume: every key, or the `items`
/// asked for at the paths they name.
fn files(
    volume: &str,
    data: BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
) -> Result<Vec<VolumeFile>> {
    let mode = default_mode.map_or(0o644, |m| (m as u32) & 0o777);
    let picked: Vec<(String, Vec<u8>, u32)> = match items {
        None => data.into_iter().map(|(k, v)| (k, v, mode)).collect(),
        Some(items) => items
            .iter()
            .map(|i| {
                let v = data.get(&i.key).cloned().ok_or_else(|| {
                    KubeError::Play(format!("volume {volume:?}: no key {:?} to mount", i.key))
                })?;
                let m = i.mode.map_or(mode, |m| (m as u32) & 0o777);
                Ok((i.path.clone(), v, m))
            })
            .collect::<Result<_>>()?,
    };
    picked
        .into_iter()
        .map(|(path, data, mode)| {
            // The files stay inside the volume.
            let safe = !path.is_empty()
                && !path.starts_with('/')
                && path
                    .split('/')
                    .all(|p| !p.is_empty() && p != "." && p != "..");
            if !safe {
                return Err(KubeError::Play(format!(
                    "volume {volume:?}: {path:?} is not a relative path inside the volume"
                )));
            }
            Ok(VolumeFile { path, data, mode })
        })
        .collect()
}

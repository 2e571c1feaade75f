//! Pod records: `pods/<id>/pod.json` under the engine root, and a name
//! index `pods/names/<name>` holding the ID (made with O_EXCL, so two
//! concurrent `pod create --name X` cannot both win).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{io_err, PodError, Result};

/// One pod, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pod {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
    /// The container holding the shared namespaces (`--infra`, default true).
    pub infra_id: Option<String>,
    /// The namespaces its containers share: cgroup, ipc, net, pid, uts.
    pub shared: Vec<String>,
    /// `continue` or `stop` (stop the pod when its last container exits).
    pub exit_policy: String,
    pub cgroup_parent: Option<String>,
    /// The host name its containers get (the pod's name by default).
    pub hostname: String,
    /// `--network host`.
    pub host_network: bool,
    /// The command line that made it.
    pub create_command: Vec<String>,
    /// `--share-parent` (default true): its containers are made under the
    /// pod's own cgroup, which carries the pod's resource limits.
    pub share_parent: bool,
    /// `--memory`, `--cpus`, ...: limits of the pod's cgroup.
    pub resources: crate::Resources,
    /// `--volume`/`--volumes-from`/`--mount`: every container of the pod
    /// gets these mounts (as resolved for the infra container).
    pub mounts: Vec<hoist_container::MountOption>,
    /// `--device`: every container of the pod gets these devices.
    pub devices: Vec<String>,
    /// `--uidmap`/`--gidmap`: the infra container's user namespace, which
    /// every container of the pod joins (empty: none).
    pub uid_map: Vec<hoist_container::run_flags::IdMap>,
    pub gid_map: Vec<hoist_container::run_flags::IdMap>,
    /// `--security-opt` (of the infra container; shown by `pod inspect`).
    pub security_opt: Vec<String>,
    /// The image of the infra container, as given (for `pod clone`).
    pub infra_image: Option<String>,
    /// `--pid` (`host` or `ns:PATH`) and `--uts` (`host`) of the infra
    /// container; `None` for its own (podman's `private`).
    pub pid: Option<String>,
    pub uts: Option<String>,
}

impl Default for Pod {
    fn default() -> Pod {
        Pod {
            id: String::new(),
            name: String::new(),
            labels: BTreeMap::new(),
            created: Utc::now(),
            infra_id: None,
            shared: Vec::new(),
            exit_policy: "continue".into(),
            cgroup_parent: None,
            hostname: String::new(),
            host_network: false,
            create_command: Vec::new(),
            share_parent: true,
            resources: crate::Resources::default(),
            mounts: Vec::new(),
            devices: Vec::new(),
            uid_map: Vec::new(),
            gid_map: Vec::new(),
            security_opt: Vec::new(),
            infra_image: None,
            pid: None,
            uts: None,
        }
    }
}

impl Pod {
    pub fn shares(&self, ns: &str) -> bool {
        self.shared.iter().any(|s| s == ns)
    }

    /// The parent of the pod's cgroup (`--cgroup-parent`, else `/hoist`,
    /// where hoist's other containers live).
    pub fn cgroup_parent(&self) -> String {
        match self.cgroup_parent.as_deref() {
            Some(p) if !p.trim_matches('/').is_empty() => format!("/{}", p.trim_matches('/')),
            _ => crate::cgroup::DEFAULT_PARENT.to_string(),
        }
    }

    /// The pod's own cgroup (`PARENT/ID`), when its containers share it
    /// (`--share-parent`, the default).
    pub fn cgroup_path(&self) -> Option<String> {
        self.share_parent
            .then(|| format!("{}/{}", self.cgroup_parent(), self.id))
    }
}

/// The pod records under one engine root.
#[derive(Debug, Clone)]
pub struct Pods {
    dir: PathBuf,
}

impl Pods {
    pub fn open(root: &Path) -> Result<Pods> {
        let dir = root.join("pods");
        let names = dir.join("names");
        std::fs::create_dir_all(&names).map_err(io_err("creating", &names))?;
        Ok(Pods { dir })
    }

    fn record(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("pod.json")
    }

    fn name_file(&self, name: &str) -> PathBuf {
        self.dir.join("names").join(name)
    }

    /// Claims `name` for pod `id`; fails when another pod has it. The
    /// pod's directory is made first, so a pod still being created (no
    /// record yet) keeps its name.
    pub(crate) fn claim_name(&self, name: &str, id: &str) -> Result<()> {
        let dir = self.dir.join(id);
        std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        let path = self.name_file(name);
        // The name file appears with its owner in it (a hard link of a
        // written file), never empty: a second claim reading an empty
        // file took the name for free, and both pods got it.
        let claim = dir.join("name.claim");
        std::fs::write(&claim, id).map_err(io_err("writing", &claim))?;
        let linked = std::fs::hard_link(&claim, &path);
        let _ = std::fs::remove_file(&claim);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // A name left by a pod whose record is gone is free again.
                let owner = std::fs::read_to_string(&path).unwrap_or_default();
                if !owner.is_empty() && self.dir.join(&owner).exists() {
                    return Err(PodError::NameInUse(name.to_string()));
                }
                std::fs::write(&path, id).map_err(io_err("writing", &path))
            }
            Err(e) => Err(io_err("creating", &path)(e)),
        }
    }

    /// Writes `pod`'s record (atomically: a reader sees the old or new).
    pub(crate) fn save(&self, pod: &Pod) -> Result<()> {
        let dir = self.dir.join(&pod.id);
        std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        let path = self.record(&pod.id);
        let tmp = dir.join("pod.json.tmp");
        let bytes = serde_json::to_vec_pretty(pod).expect("a pod serializes");
        std::fs::write(&tmp, bytes).map_err(io_err("writing", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err("renaming", &tmp))
    }

    /// Deletes `pod`'s record and frees its name.
    pub(crate) fn delete(&self, pod: &Pod) -> Result<()> {
        let dir = self.dir.join(&pod.id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("removing", &dir)(e)),
        }
        let name = self.name_file(&pod.name);
        if std::fs::read_to_string(&name).is_ok_and(|owner| owner == pod.id) {
            let _ = std::fs::remove_file(&name);
        }
        Ok(())
    }

    pub fn load(&self, id: &str) -> Result<Pod> {
        let path = self.record(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PodError::NotFound(id.to_string()))
            }
            Err(e) => return Err(io_err("reading", &path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            PodError::Invalid(format!("pod record {} is damaged: {e}", path.display()))
        })
    }

    /// Every pod ID with a record.
    pub fn ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let entries = std::fs::read_dir(&self.dir).map_err(io_err("reading", &self.dir))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name != "names" && e.path().join("pod.json").exists() {
                ids.push(name);
            }
        }
        Ok(ids)
    }

    /// The pod a name, ID or ID prefix names.
    pub fn get(&self, query: &str) -> Result<Pod> {
        if let Ok(id) = std::fs::read_to_string(self.name_file(query)) {
            if let Ok(p) = self.load(&id) {
                return Ok(p);
            }
        }
        if query.is_empty() || !query.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PodError::NotFound(query.to_string()));
        }
        let matches: Vec<String> = self
            .ids()?
            .into_iter()
            .filter(|id| id.starts_with(query))
            .collect();
        match matches.as_slice() {
            [] => Err(PodError::NotFound(query.to_string())),
            [one] => self.load(one),
            _ => Err(PodError::Ambiguous {
                query: query.to_string(),
                matches: matches.join(", "),
            }),
        }
    }

    /// Every pod, oldest first; one removed meanwhile is left out.
    pub fn list(&self) -> Result<Vec<Pod>> {
        let mut pods: Vec<Pod> = self
            .ids()?
            .iter()
            .filter_map(|id| self.load(id).ok())
            .collect();
        pods.sort_by_key(|p| p.created);
        Ok(pods)
    }
}

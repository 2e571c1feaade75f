//! The container records of one hoist root: `<root>/containers/<id>/` and
//! the name index `<root>/containers/names/<name>`, a symlink to the id.
//! Claiming a name is one `symlink(2)`, atomic, so concurrent `create`s
//! never share a name and no index file can be left half-written.

use std::path::{Path, PathBuf};

use chrono::Utc;
use rand::RngCore;

use crate::error::{io_err, ContainerError, Result};
use crate::lock::Lock;
use crate::names::{is_valid_name, random_name};
use crate::options::CreateOptions;
use crate::record::{Container, ContainerConfig, ContainerState};

pub(crate) const CONFIG: &str = "config.json";
pub(crate) const STATE: &str = "state.json";
/// Taken for every read-modify-write of `state.json`.
pub(crate) const STATE_LOCK: &str = "lock";
/// Held by the monitor for as long as it lives.
pub(crate) const MONITOR_LOCK: &str = "monitor.lock";

/// What `create` needs to make a record.
#[derive(Debug, Clone)]
pub struct NewContainer {
    pub name: Option<String>,
    pub image: String,
    pub image_id: String,
    /// The digest of the image's manifest.
    pub image_digest: String,
    pub layer_dirs: Vec<PathBuf>,
    /// Layers to read on demand (see `ContainerConfig::lazy_layers`).
    pub lazy_layers: Vec<hoist_lazy::LazyLayerSpec>,
    /// The image config JSON, kept as `image-config.json`.
    pub image_config: Vec<u8>,
    pub options: CreateOptions,
}

/// The containers of one hoist root.
#[derive(Debug, Clone)]
pub struct Containers {
    root: PathBuf,
    dir: PathBuf,
}

/// Replaces `path` with `bytes` durably: readers and a crash see the old or
/// the new record, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(hoist_fsutil::write_file(path, bytes, 0o644)?)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(io_err("reading", path))?;
    serde_json::from_slice(&bytes).map_err(|source| ContainerError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}

/// The state of a container that has no `state.json` yet (none is written
/// at creation) or whose file is unreadable: created, and removed on exit
/// when its options say `--rm`.
fn initial_state(config: &ContainerConfig) -> ContainerState {
    ContainerState {
        removed_on_exit: config.options.auto_remove,
        ..ContainerState::default()
    }
}

fn new_id() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Containers {
    /// Opens (creating if needed) the containers of hoist root `root`.
    pub fn open(root: &Path) -> Result<Containers> {
        let root = std::path::absolute(root).map_err(io_err("resolving", root))?;
        let dir = root.join("containers");
        let names = dir.join("names");
        std::fs::create_dir_all(&names).map_err(io_err("creating", &names))?;
        Ok(Containers { root, dir })
    }

    /// The hoist root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    pub(crate) fn name_link(&self, name: &str) -> PathBuf {
        self.dir.join("names").join(name)
    }

    /// The id owning `name`, if any.
    pub fn id_of_name(&self, name: &str) -> Option<String> {
        let target = std::fs::read_link(self.name_link(name)).ok()?;
        let id = target.to_str()?.to_string();
        self.dir_of(&id).join(CONFIG).exists().then_some(id)
    }

    /// Makes the record of a new container in state `created`.
    pub fn create(&self, new: NewContainer) -> Result<ContainerConfig> {
        self.create_with_id(new, None)
    }

    /// [`Containers::create`] with a given id (`restore --import` keeps
    /// the checkpointed container's); a new one when `None`.
    pub fn create_with_id(&self, new: NewContainer, id: Option<String>) -> Result<ContainerConfig> {
        let id = match id {
            Some(id) if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) => {
                return Err(ContainerError::Invalid(format!("invalid container ID {id:?}")))
            }
            Some(id) if self.dir_of(&id).exists() => {
                return Err(ContainerError::Invalid(format!(
                    "a container with ID {id} already exists: remove it first or restore under a new name (-n)"
                )))
            }
            Some(id) => id,
            None => new_id(),
        };
        let name = match &new.name {
            Some(n) if !is_valid_name(n) => return Err(ContainerError::InvalidName(n.clone())),
            Some(n) => n.clone(),
            None => random_name(),
        };
        let dir = self.dir_of(&id);
        std::fs::create_dir(&dir).map_err(io_err("creating container directory", &dir))?;
        let config = ContainerConfig {
            id: id.clone(),
            name: name.clone(),
            image: new.image,
            image_id: new.image_id,
            image_digest: new.image_digest,
            layer_dirs: new.layer_dirs,
            lazy_layers: new.lazy_layers,
            created: Utc::now(),
            options: new.options,
        };
        let result = (|| {
            for sub in ["upper", "work", "userdata", "bundle/rootfs"] {
                let p = dir.join(sub);
                std::fs::create_dir_all(&p).map_err(io_err("creating", &p))?;
            }
            // The overlay's root takes the upper directory's mode: podman
            // gives a container's `/` 0555 whatever the image's layers say.
            let upper = dir.join("upper");
            std::fs::set_permissions(&upper, std::os::unix::fs::PermissionsExt::from_mode(0o555))
                .map_err(io_err("setting the mode of", &upper))?;
            let config_bytes = serde_json::to_vec_pretty(&config).expect("serializes");
            // config.json last: a directory without it is not a container.
            // No state.json: a new container's state follows from its
            // config (see `initial_state`), and the first update then
            // creates the file instead of replacing a synced one (which
            // frees a block: a wait for the device on a disk mounted with
            // `discard`).
            hoist_fsutil::write_files(
                &dir,
                &[
                    ("image-config.json", &new.image_config),
                    (CONFIG, &config_bytes),
                ],
                0o644,
            )?;
            self.claim_name(&name, &id, new.name.is_none())
        })();
        match result {
            Ok(final_name) => {
                if final_name != name {
                    let mut c = config.clone();
                    c.name = final_name;
                    write_atomic(
                        &dir.join(CONFIG),
                        &serde_json::to_vec_pretty(&c).expect("serializes"),
                    )?;
                    return Ok(c);
                }
                Ok(config)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// Points `name` at `id`; a random name is re-drawn on a clash.
    pub(crate) fn claim_name(&self, name: &str, id: &str, random: bool) -> Result<String> {
        let mut name = name.to_string();
        for attempt in 0..50 {
            let link = self.name_link(&name);
            match std::os::unix::fs::symlink(id, &link) {
                Ok(()) => return Ok(name),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // A link to a container that no longer exists is stale.
                    if let Ok(t) = std::fs::read_link(&link) {
                        if !self.dir_of(&t.to_string_lossy()).join(CONFIG).exists() {
                            let _ = std::fs::remove_file(&link);
                            continue;
                        }
                        if !random {
                            return Err(ContainerError::NameInUse {
                                name,
                                id: t.to_string_lossy().chars().take(12).collect(),
                            });
                        }
                    }
                    name = if attempt < 20 {
                        random_name()
                    } else {
                        format!("{}_{}", random_name(), &new_id()[..6])
                    };
                }
                Err(e) => return Err(io_err("creating name link", link)(e)),
            }
        }
        Err(ContainerError::Invalid(
            "could not find a free container name; pass --name".into(),
        ))
    }

    /// The id of the container `query` names: a name, a full id or an id prefix.
    pub fn lookup(&self, query: &str) -> Result<String> {
        if let Some(id) = self.id_of_name(query) {
            return Ok(id);
        }
        if !query.is_empty() && query.bytes().all(|b| b.is_ascii_hexdigit()) {
            let matches: Vec<String> = self
                .ids()?
                .into_iter()
                .filter(|id| id.starts_with(query))
                .collect();
            match matches.len() {
                0 => {}
                1 => return Ok(matches.into_iter().next().expect("one")),
                _ => {
                    return Err(ContainerError::Ambiguous {
                        query: query.to_string(),
                        matches: matches
                            .iter()
                            .map(|m| crate::short_id(m))
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                }
            }
        }
        Err(ContainerError::NotFound(query.to_string()))
    }

    /// Every container id with a record.
    pub fn ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(io_err("listing", &self.dir))? {
            let e = e.map_err(io_err("listing", &self.dir))?;
            let n = e.file_name().to_string_lossy().into_owned();
            if n.len() == 64 && e.path().join(CONFIG).exists() {
                ids.push(n);
            }
        }
        Ok(ids)
    }

    pub fn load(&self, id: &str) -> Result<Container> {
        let dir = self.dir_of(id);
        if !dir.join(CONFIG).exists() {
            return Err(ContainerError::NotFound(id.to_string()));
        }
        let config: ContainerConfig = read_json(&dir.join(CONFIG))?;
        let state = read_json(&dir.join(STATE)).unwrap_or_else(|_| initial_state(&config));
        Ok(Container { config, state, dir })
    }

    /// Looks `query` up and loads it.
    pub fn get(&self, query: &str) -> Result<Container> {
        self.load(&self.lookup(query)?)
    }

    /// All containers, newest first. Containers removed meanwhile are
    /// skipped; leftovers of interrupted removals are swept.
    pub fn list(&self) -> Result<Vec<Container>> {
        self.sweep(LEFTOVER_AGE);
        let mut all: Vec<Container> = self
            .ids()?
            .iter()
            .filter_map(|id| self.load(id).ok())
            .collect();
        all.sort_by_key(|c| std::cmp::Reverse(c.config.created));
        Ok(all)
    }

    /// The most recently created container (`--latest`), if there is one.
    pub fn newest(&self) -> Result<Option<Container>> {
        Ok(self.list()?.into_iter().next())
    }

    /// Takes the container's state lock: no other process changes its
    /// state until the guard is dropped.
    pub(crate) fn lock(&self, id: &str) -> Result<Lock> {
        Ok(Lock::exclusive(&self.dir_of(id).join(STATE_LOCK))?)
    }

    /// Reads, changes and writes `state.json` under the state lock.
    pub fn update_state<F: FnOnce(&mut ContainerState)>(
        &self,
        id: &str,
        f: F,
    ) -> Result<ContainerState> {
        let _l = self.lock(id)?;
        self.update_state_locked(id, f)
    }

    /// As [`Self::update_state`], for a caller already holding the lock.
    /// A change that leaves the state as it was writes nothing: replacing
    /// the file would cost a new inode and freeing the old one's block
    /// (on a disk mounted `discard`, a wait for the device).
    pub(crate) fn update_state_locked<F: FnOnce(&mut ContainerState)>(
        &self,
        id: &str,
        f: F,
    ) -> Result<ContainerState> {
        let dir = self.dir_of(id);
        let path = dir.join(STATE);
        let old = std::fs::read(&path).ok();
        let mut st: ContainerState = match old.as_deref().map(serde_json::from_slice) {
            Some(Ok(st)) => st,
            // Never started, or a state a crash cut short: as `load` sees it.
            _ => read_json(&dir.join(CONFIG))
                .map(|c| initial_state(&c))
                .unwrap_or_default(),
        };
        f(&mut st);
        let bytes = serde_json::to_vec_pretty(&st).expect("serializes");
        if old.as_deref() == Some(bytes.as_slice()) {
            return Ok(st);
        }
        if st.removed_on_exit {
            hoist_fsutil::write_file_unsynced(&path, &bytes, 0o644)?;
        } else {
            write_atomic(&path, &bytes)?;
        }
        Ok(st)
    }

    /// Whether container `id` has a record.
    pub fn exists(&self, id: &str) -> bool {
        self.dir_of(id).join(CONFIG).exists()
    }

    /// Deletes the record and its name (nothing must be mounted or running).
    ///
    /// The directory is first renamed to a hidden tombstone, atomically: from
    /// then on no other process can create anything in it (a lock file, a
    /// state update) and make the removal fail with "Directory not empty",
    /// and of two processes removing the same container exactly one wins,
    /// the other finds it gone. A tombstone left by a crash is swept by
    /// [`Containers::sweep`].
    pub(crate) fn delete_record(&self, c: &Container) -> Result<()> {
        let grave = self.dir.join(format!(
            "{TOMBSTONE_PREFIX}{}-{}",
            c.id(),
            std::process::id()
        ));
        let renamed = std::fs::rename(&c.dir, &grave);
        let link = self.name_link(c.name());
        if std::fs::read_link(&link).is_ok_and(|t| t.as_os_str() == c.id()) {
            let _ = std::fs::remove_file(&link);
        }
        match renamed {
            Ok(()) => remove_tree(&grave),
            // Someone else removed it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("moving aside container directory", &c.dir)(e)),
        }
    }

    /// Removes what interrupted removals and creations left in the
    /// containers directory: tombstones, and container directories without
    /// a record that no monitor holds and nothing has touched for
    /// `older_than` (a `create` in progress writes its record last).
    /// Returns how many it removed. Best effort: failures are logged.
    pub fn sweep(&self, older_than: std::time::Duration) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let leftover = if name.starts_with(TOMBSTONE_PREFIX) {
                true
            } else if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                let untouched = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= older_than);
                untouched
                    && !path.join(CONFIG).exists()
                    && !crate::lock::is_held(&path.join(MONITOR_LOCK))
            } else {
                false
            };
            if !leftover {
                continue;
            }
            // Into a tombstone of our own first, so a concurrent sweep or
            // create never sees it half removed.
            let grave = self.dir.join(format!(
                "{TOMBSTONE_PREFIX}sweep-{}-{}",
                std::process::id(),
                new_id()
            ));
            let target = if name.starts_with(TOMBSTONE_PREFIX) {
                path
            } else {
                match std::fs::rename(&path, &grave) {
                    Ok(()) => grave,
                    Err(_) => continue,
                }
            };
            match remove_tree(&target) {
                Ok(()) => {
                    tracing::info!(path = %target.display(), "removed a leftover container directory");
                    removed += 1;
                }
                // Often another process removing the same tree right now.
                Err(e) => tracing::debug!(error = %e, "removing a leftover container directory"),
            }
        }
        removed
    }
}

/// The name prefix of container directories being removed.
const TOMBSTONE_PREFIX: &str = ".removing-";

/// How old a container directory without a record must be before
/// [`Containers::sweep`] takes it for a leftover.
pub const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// `remove_dir_all`, tolerating a concurrent removal of the same tree.
fn remove_tree(path: &Path) -> Result<()> {
    let mut last = None;
    for _ in 0..3 {
        match std::fs::remove_dir_all(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(io_err("removing container directory", path)(
        last.expect("an error after failed attempts"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    fn new(name: Option<&str>) -> NewContainer {
        NewContainer {
            name: name.map(String::from),
            image: "busybox".into(),
            image_id: "ab".repeat(32),
            image_digest: String::new(),
            layer_dirs: vec![],
            lazy_layers: vec![],
            image_config: b"{}".to_vec(),
            options: CreateOptions::default(),
        }
    }

    #[test]
    fn create_lookup_names_and_delete() {
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let a = cs.create(new(Some("web"))).unwrap();
        assert_eq!(a.id.len(), 64);
        assert_eq!(cs.lookup("web").unwrap(), a.id);
        assert_eq!(cs.lookup(&a.id[..12]).unwrap(), a.id);
        assert!(matches!(
            cs.create(new(Some("web"))),
            Err(ContainerError::NameInUse { .. })
        ));
        assert!(matches!(
            cs.create(new(Some("-bad"))),
            Err(ContainerError::InvalidName(_))
        ));
        let b = cs.create(new(None)).unwrap();
        assert_ne!(b.name, a.name);
        assert_eq!(cs.list().unwrap().len(), 2);
        let st = cs.update_state(&a.id, |s| s.exit_code = Some(3)).unwrap();
        assert_eq!(cs.load(&a.id).unwrap().state, st);
        cs.delete_record(&cs.load(&a.id).unwrap()).unwrap();
        assert!(matches!(cs.lookup("web"), Err(ContainerError::NotFound(_))));
        // The name is free again.
        cs.create(new(Some("web"))).unwrap();
        assert!(matches!(cs.lookup("zzz"), Err(ContainerError::NotFound(_))));
    }

    #[test]
    fn an_update_that_changes_nothing_leaves_the_file_as_it_was() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let a = cs.create(new(Some("same"))).unwrap();
        let state = cs.dir_of(&a.id).join(STATE);
        cs.update_state(&a.id, |s| s.exit_code = Some(3)).unwrap();
        let written = std::fs::metadata(&state).unwrap().ino();
        let st = cs.update_state(&a.id, |s| s.exit_code = Some(3)).unwrap();
        assert_eq!(std::fs::metadata(&state).unwrap().ino(), written);
        assert_eq!(cs.load(&a.id).unwrap().state, st);
        cs.update_state(&a.id, |s| s.exit_code = Some(4)).unwrap();
        assert_ne!(std::fs::metadata(&state).unwrap().ino(), written);
        assert_eq!(cs.load(&a.id).unwrap().state.exit_code, Some(4));
    }

    #[test]
    fn a_new_container_has_no_state_file_until_its_state_changes() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let mut rm = new(Some("rm"));
        rm.options.auto_remove = true;
        for (c, auto_remove) in [
            (cs.create(rm).unwrap(), true),
            (cs.create(new(Some("kept"))).unwrap(), false),
        ] {
            let state = cs.dir_of(&c.id).join(STATE);
            assert!(!state.exists());
            let loaded = cs.load(&c.id).unwrap().state;
            assert_eq!(loaded.status, Status::Created);
            assert_eq!(loaded.removed_on_exit, auto_remove);
            assert!(cs.list().unwrap().iter().any(|l| l.id() == c.id));
            // The first update starts from the same state and creates the file.
            let st = cs.update_state(&c.id, |s| s.monitor_pid = Some(7)).unwrap();
            assert_eq!(st.removed_on_exit, auto_remove);
            assert_eq!(st.status, Status::Created);
            let first = std::fs::metadata(&state).unwrap().ino();
            assert_eq!(cs.load(&c.id).unwrap().state, st);
            // A state a crash cut short reads as the initial one again.
            std::fs::write(&state, b"").unwrap();
            assert_eq!(cs.load(&c.id).unwrap().state.removed_on_exit, auto_remove);
            let st = cs.update_state(&c.id, |s| s.exit_code = Some(1)).unwrap();
            assert_eq!((st.removed_on_exit, st.monitor_pid), (auto_remove, None));
            assert_ne!(std::fs::metadata(&state).unwrap().ino(), first);
        }
    }

    #[test]
    fn an_rm_containers_state_is_marked_unsynced_from_its_creation_and_stays_readable() {
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let mut rm = new(Some("gone-on-exit"));
        rm.options.auto_remove = true;
        let a = cs.create(rm).unwrap();
        let kept = cs.create(new(Some("kept"))).unwrap();
        assert!(cs.load(&a.id).unwrap().state.removed_on_exit);
        assert!(!cs.load(&kept.id).unwrap().state.removed_on_exit);
        for code in [1, 2, 3] {
            let st = cs
                .update_state(&a.id, |s| s.exit_code = Some(code))
                .unwrap();
            assert!(st.removed_on_exit);
            assert_eq!(cs.load(&a.id).unwrap().state, st);
        }
        // No temporary file is left beside the record.
        let names: Vec<_> = std::fs::read_dir(cs.dir_of(&a.id))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn delete_is_idempotent_and_sweep_removes_leftovers() {
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        let a = cs.create(new(Some("a"))).unwrap();
        let c = cs.load(&a.id).unwrap();
        cs.delete_record(&c).unwrap();
        // The second removal finds nothing to do.
        cs.delete_record(&c).unwrap();
        assert!(!cs.exists(&a.id));
        let left: Vec<_> = std::fs::read_dir(&cs.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["names"]);

        // What an interrupted removal of an older hoist left: a directory
        // with only a lock file, and a tombstone.
        let b = cs.create(new(Some("b"))).unwrap();
        let orphan = cs.dir_of(&"e".repeat(64));
        std::fs::create_dir(&orphan).unwrap();
        std::fs::write(orphan.join(MONITOR_LOCK), "").unwrap();
        let grave = cs.dir.join(format!("{TOMBSTONE_PREFIX}x"));
        std::fs::create_dir_all(grave.join("upper/deep")).unwrap();
        // Too young: could be a create in progress.
        assert_eq!(cs.sweep(std::time::Duration::from_secs(3600)), 1);
        assert!(orphan.exists() && !grave.exists());
        // A monitor holding its lock keeps it too.
        let held = Lock::exclusive(&orphan.join(MONITOR_LOCK)).unwrap();
        assert_eq!(cs.sweep(std::time::Duration::ZERO), 0);
        drop(held);
        assert_eq!(cs.sweep(std::time::Duration::ZERO), 1);
        assert!(!orphan.exists());
        assert!(cs.exists(&b.id), "a real container is never swept");
        assert_eq!(cs.list().unwrap().len(), 1);
    }

    #[test]
    fn stale_name_links_are_reclaimed() {
        let d = tempfile::tempdir().unwrap();
        let cs = Containers::open(d.path()).unwrap();
        std::os::unix::fs::symlink("f".repeat(64), cs.name_link("db")).unwrap();
        cs.create(new(Some("db"))).unwrap();
    }
}

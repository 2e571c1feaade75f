//! Named volumes: `<root>/volumes/<name>/_data` plus `volume.json`, as
//! podman's local driver lays them out.
//!
//! A plain volume is a directory. A volume made with mount options
//! (`volume create -o type=tmpfs -o device=tmpfs`, `-o type=bind -o
//! device=/srv`) is mounted on its `_data` while something uses it: the
//! first container (or `volume mount`) mounts it, the last one to let go
//! unmounts it; `MountCount` counts the users, as podman's does.
//!
//! On a volume's first use by a container the image's content at the mount
//! destination is copied into it (podman's copy-up, `NeedsCopyUp`) and it
//! takes the owner of the container's user, or of that destination
//! (`NeedsChown`).
//!
//! Every change to a volume's record happens under one lock,
//! `<root>/volumes/.lock`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use hoist_fsutil::FileLock;
use serde::{Deserialize, Serialize};

use crate::error::{io_err, ContainerError, Result};
use crate::options::MountOption;
use crate::record::{Container, ContainerConfig};
use crate::store::Containers;

/// The only driver hoist has: directories (or mounts) on this host.
pub const LOCAL_DRIVER: &str = "local";

/// What can go wrong with volumes, in podman's words where podman has them
/// (scripts match on them).
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("no volume with name {0:?} found: no such volume")]
    NotFound(String),

    #[error("more than one volume matches {query:?} ({}): give the full name", matches.join(", "))]
    Ambiguous { query: String, matches: Vec<String> },

    #[error("volume with name {0} already exists: volume already exists")]
    Exists(String),

    #[error("volume {name} is being used by the following container(s): {}: volume is being used", users.join(", "))]
    InUse { name: String, users: Vec<String> },

    #[error("names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument (volume name {0:?})")]
    InvalidName(String),

    #[error("invalid mount option {0} for driver 'local': invalid argument")]
    InvalidOption(String),

    #[error("invalid volume option {key} for driver '{LOCAL_DRIVER}': {reason}")]
    BadOptionValue { key: String, reason: String },

    #[error(
        "volume options size and inodes not supported. Filesystem does not support Project Quota"
    )]
    QuotaUnsupported,

    #[error("volume {name} uses volume plugin {driver} but it could not be retrieved: no volume plugin with name {driver} available: required plugin missing")]
    UnknownDriver { name: String, driver: String },

    #[error("mounting volume {name}: {message}")]
    MountFailed { name: String, message: String },

    #[error("unmounting volume {name}: {message}")]
    UnmountFailed { name: String, message: String },

    #[error("{0:?} is an invalid volume filter")]
    InvalidFilter(String),

    #[error("{value:?} is not a valid value for the {key:?} filter - {hint}")]
    InvalidFilterValue {
        key: String,
        value: String,
        hint: String,
    },
}

impl From<VolumeError> for ContainerError {
    fn from(e: VolumeError) -> ContainerError {
        ContainerError::Volume(Box::new(e))
    }
}

/// A volume as `volume inspect` shows it (podman's field names and order).
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
    /// The `-o` options of `volume create` (`type`, `device`, `o`, ...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Made by `-v /dest` for one container (podman's `Anonymous`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    /// How many users hold the volume's mount (volumes with mount
    /// options); kept beside the record as the set of those users.
    #[serde(default)]
    pub mount_count: u32,
    /// The next container to use it copies its image's content at the
    /// mount destination into the volume.
    #[serde(default = "yes")]
    pub needs_copy_up: bool,
    /// The next container to use it gives it its user's owner.
    #[serde(default = "yes")]
    pub needs_chown: bool,
}

fn yes() -> bool {
    true
}

impl Volume {
    /// Whether the volume is a mount (made from `type`/`device`/`o`
    /// options) rather than a plain directory.
    pub fn needs_mount(&self) -> bool {
        self.driver == LOCAL_DRIVER && mount_plan(&self.options).is_some()
    }
}

/// Volume names follow the container name rule.
pub fn validate_name(name: &str) -> Result<()> {
    if crate::names::is_valid_name(name) {
        Ok(())
    } else {
        Err(VolumeError::InvalidName(name.to_string()).into())
    }
}

/// What `volume create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewVolume {
    /// A random 64-hex name when `None`.
    pub name: Option<String>,
    /// `None` is the local driver.
    pub driver: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// `-o KEY=VALUE`: type, device, o, uid, gid, copy, nocopy, ...
    pub options: BTreeMap<String, String>,
    /// `--ignore`: an existing volume of that name is returned as it is.
    pub ignore_existing: bool,
    pub anonymous: bool,
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

    /// Who holds the mount of volume `name`: container ids, or the
    /// commands that mounted it by hand.
    fn holders_file(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("holders.json")
    }

    fn holders(&self, name: &str) -> std::collections::BTreeSet<String> {
        std::fs::read(self.holders_file(name))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn set_holders(&self, name: &str, holders: &std::collections::BTreeSet<String>) -> Result<()> {
        crate::store::write_atomic(
            &self.holders_file(name),
            &serde_json::to_vec(holders).expect("serializes"),
        )
    }

    fn lock(&self) -> Result<FileLock> {
        Ok(FileLock::exclusive(&self.dir.join(".lock"))?)
    }

    /// Creates a volume as `volume create` does.
    pub fn create(&self, req: NewVolume) -> Result<Volume> {
        let name = match req.name {
            Some(n) => n,
            None => random_name(),
        };
        validate_name(&name)?;
        let driver = req.driver.unwrap_or_else(|| LOCAL_DRIVER.to_string());
        if driver != LOCAL_DRIVER {
            return Err(VolumeError::UnknownDriver { name, driver }.into());
        }
        let owner = check_options(&req.options)?;
        let _lock = self.lock()?;
        let vdir = self.dir.join(&name);
        match std::fs::create_dir(&vdir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if req.ignore_existing {
                    if let Ok(v) = self.get(&name) {
                        return Ok(v);
                    }
                } else if self.meta(&name).exists() {
                    return Err(VolumeError::Exists(name).into());
                }
                // A directory without a record: left by a failed create.
            }
            Err(e) => return Err(io_err("creating volume directory", &vdir)(e)),
        }
        let data = vdir.join("_data");
        std::fs::create_dir_all(&data).map_err(io_err("creating", &data))?;
        let copy = !req.options.keys().any(|k| k.eq_ignore_ascii_case("nocopy"))
            && !req
                .options
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("copy") && v == "false");
        if owner != (None, None) {
            chown(&data, owner.0, owner.1)?;
        }
        let v = Volume {
            name: name.clone(),
            driver,
            mountpoint: data,
            created_at: Utc::now(),
            labels: req.labels,
            scope: "local".into(),
            options: req.options,
            anonymous: req.anonymous,
            mount_count: 0,
            needs_copy_up: copy,
            // An owner given at creation stays.
            needs_chown: owner == (None, None),
        };
        self.save(&v)?;
        hoist_events::emit(hoist_events::Event::volume(
            hoist_events::Status::Create,
            &v.name,
        ));
        Ok(v)
    }

    /// The volume a mount names, made on first use as podman does.
    pub fn get_or_create(&self, name: &str) -> Result<Volume> {
        self.create(NewVolume {
            name: Some(name.to_string()),
            ignore_existing: true,
            ..NewVolume::default()
        })
    }

    /// Creates an anonymous volume: a random 64-hex name, marked anonymous.
    pub fn create_anonymous(&self) -> Result<Volume> {
        self.create(NewVolume {
            anonymous: true,
            ..NewVolume::default()
        })
    }

    fn save(&self, v: &Volume) -> Result<()> {
        crate::store::write_atomic(
            &self.meta(&v.name),
            &serde_json::to_vec_pretty(v).expect("serializes"),
        )
    }

    /// The volume named exactly `name`.
    pub fn get(&self, name: &str) -> Result<Volume> {
        if !crate::names::is_valid_name(name) {
            return Err(VolumeError::NotFound(name.to_string()).into());
        }
        let p = self.meta(name);
        let bytes = std::fs::read(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                VolumeError::NotFound(name.to_string()).into()
            } else {
                io_err("reading", &p)(e)
            }
        })?;
        let mut v: Volume = serde_json::from_slice(&bytes)
            .map_err(|source| ContainerError::Corrupt { path: p, source })?;
        v.mount_count = u32::try_from(self.holders(name).len()).unwrap_or(u32::MAX);
        Ok(v)
    }

    /// The volume named `query`, or the only one whose name starts with it.
    pub fn lookup(&self, query: &str) -> Result<Volume> {
        match self.get(query) {
            Err(ContainerError::Volume(e)) if matches!(*e, VolumeError::NotFound(_)) => {}
            other => return other,
        }
        let mut matches: Vec<Volume> = self
            .list()?
            .into_iter()
            .filter(|v| !query.is_empty() && v.name.starts_with(query))
            .collect();
        match matches.len() {
            0 => Err(VolumeError::NotFound(query.to_string()).into()),
            1 => Ok(matches.remove(0)),
            _ => Err(VolumeError::Ambiguous {
                query: query.to_string(),
                matches: matches.into_iter().map(|v| v.name).collect(),
            }
            .into()),
        }
    }

    /// Every volume, by name.
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

    /// Changes the record of volume `name` under the lock.
    fn update<T>(&self, name: &str, f: impl FnOnce(&mut Volume) -> Result<T>) -> Result<T> {
        let _lock = self.lock()?;
        let mut v = self.get(name)?;
        let out = f(&mut v)?;
        self.save(&v)?;
        Ok(out)
    }

    /// Removes volume `name`; `users` are the ids of the containers using
    /// it (refused unless the caller removed them first).
    pub fn remove(&self, name: &str, users: &[String]) -> Result<()> {
        let _lock = self.lock()?;
        let v = self.get(name)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                users: users.to_vec(),
            }
            .into());
        }
        if v.needs_mount() && is_mounted(&v.mountpoint) {
            unmount_data(&v)?;
        }
        let vdir = self.dir.join(name);
        std::fs::remove_dir_all(&vdir).map_err(io_err("removing volume", &vdir))?;
        hoist_events::emit(hoist_events::Event::volume(
            hoist_events::Status::Remove,
            name,
        ));
        Ok(())
    }

    /// Makes the volume's content reachable at its mountpoint (mounting a
    /// volume made with mount options) for `holder` (a container id, or
    /// [`MANUAL_HOLDER`]); returns the mountpoint. Holding twice counts once.
    pub fn mount(&self, name: &str, holder: &str) -> Result<PathBuf> {
        let _lock = self.lock()?;
        let v = self.get(name)?;
        if !v.needs_mount() {
            return Ok(v.mountpoint);
        }
        let mut holders = self.holders(name);
        // Holders that died without letting go do not stand for a mount
        // that is gone (a reboot, an unmount by hand).
        if holders.is_empty() || !is_mounted(&v.mountpoint) {
            mount_data(&v)?;
            holders.clear();
        }
        if holder == MANUAL_HOLDER {
            // Every `volume mount` counts, as in podman.
            let n = (1..)
                .find(|n| !holders.contains(&format!("{MANUAL_HOLDER}-{n}")))
                .expect("a free number");
            holders.insert(format!("{MANUAL_HOLDER}-{n}"));
        } else {
            holders.insert(holder.to_string());
        }
        self.set_holders(name, &holders)?;
        Ok(v.mountpoint)
    }

    /// Lets go of `holder`'s [`Volumes::mount`]; the last holder unmounts.
    pub fn unmount(&self, name: &str, holder: &str) -> Result<()> {
        let _lock = self.lock()?;
        let v = self.get(name)?;
        if !v.needs_mount() {
            return Ok(());
        }
        let mut holders = self.holders(name);
        if holder == MANUAL_HOLDER {
            let prefix = format!("{MANUAL_HOLDER}-");
            let manual = holders.iter().rfind(|h| h.starts_with(&prefix)).cloned();
            if let Some(h) = manual {
                holders.remove(&h);
            }
        } else {
            holders.remove(holder);
        }
        if holders.is_empty() && is_mounted(&v.mountpoint) {
            unmount_data(&v)?;
        }
        self.set_holders(name, &holders)
    }

    /// `volume export`: the volume's content as a tar stream.
    pub fn export(&self, name: &str, to: impl Write) -> Result<()> {
        let v = self.get(name)?;
        let holder = format!("export-{}", std::process::id());
        let dir = self.mount(&v.name, &holder)?;
        let result = write_tar(&dir, to);
        self.unmount(&v.name, &holder)?;
        result
    }

    /// `volume import`: unpacks a tar stream into the volume, over what it
    /// holds.
    pub fn import(&self, name: &str, from: impl Read) -> Result<()> {
        let v = self.get(name)?;
        let holder = format!("import-{}", std::process::id());
        let dir = self.mount(&v.name, &holder)?;
        let mut archive = tar::Archive::new(from);
        archive.set_preserve_permissions(true);
        archive.set_preserve_ownerships(rustix::process::geteuid().is_root());
        archive.set_overwrite(true);
        let result = archive
            .unpack(&dir)
            .map_err(io_err("unpacking the archive into", &dir));
        self.unmount(&v.name, &holder)?;
        result
    }
}

/// The holder `volume mount` / `volume unmount` stand for.
pub const MANUAL_HOLDER: &str = "volume-mount";

fn random_name() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn write_tar(dir: &Path, to: impl Write) -> Result<()> {
    let mut b = tar::Builder::new(to);
    b.follow_symlinks(false);
    b.append_dir_all(".", dir)
        .and_then(|()| b.finish())
        .map_err(io_err("archiving", dir))
}

/// Go's wording of an OS error ("no such file or directory"), as podman
/// prints it.
fn go_error_text(e: &std::io::Error) -> String {
    let text = match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => e.to_string(),
    };
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Checks `volume create -o` options as podman's local driver does;
/// returns the owner (`uid`, `gid`) they ask for.
fn check_options(options: &BTreeMap<String, String>) -> Result<(Option<u32>, Option<u32>)> {
    let mut owner = (None, None);
    let id = |key: &str, v: &str| {
        v.parse::<u32>().map_err(|_| VolumeError::BadOptionValue {
            key: key.to_string(),
            reason: format!("{v:?} is not a number"),
        })
    };
    let is_tmpfs = options
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("type") && v == "tmpfs");
    for (key, value) in options {
        match key.to_ascii_lowercase().as_str() {
            "device" => {
                if options.get("type").map(String::as_str) == Some("bind") {
                    std::fs::metadata(value).map_err(|e| VolumeError::BadOptionValue {
                        key: key.clone(),
                        reason: format!("stat {value}: {}", go_error_text(&e)),
                    })?;
                }
            }
            "uid" => owner.0 = Some(id(key, value)?),
            "gid" => owner.1 = Some(id(key, value)?),
            "size" | "inodes" => return Err(VolumeError::QuotaUnsupported.into()),
            "o" => {
                for o in value.split(',') {
                    let (k, v) = o.split_once('=').unwrap_or((o, ""));
                    match k.to_ascii_lowercase().as_str() {
                        "uid" => owner.0 = Some(id(k, v)?),
                        "gid" => owner.1 = Some(id(k, v)?),
                        "size" | "inodes" if !is_tmpfs => {
                            return Err(VolumeError::QuotaUnsupported.into())
                        }
                        _ => {}
                    }
                }
            }
            "type" | "noquota" | "timeout" | "copy" | "nocopy" => {}
            _ => return Err(VolumeError::InvalidOption(key.clone()).into()),
        }
    }
    Ok(owner)
}

/// How to mount a volume with options: `mount [-t TYPE] [-o O] DEVICE`.
#[derive(Debug, PartialEq, Eq)]
struct MountPlan {
    fs_type: Option<String>,
    options: Vec<String>,
    device: String,
}

/// The mount a volume's options describe, `None` for a plain directory.
/// The options podman handles itself (`uid`, `gid`, `timeout`, `noquota`)
/// are not mount options; `type=bind` is a bind mount.
fn mount_plan(options: &BTreeMap<String, String>) -> Option<MountPlan> {
    let get = |k: &str| {
        options
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let fs_type = get("type").filter(|t| !t.is_empty());
    let device = get("device").filter(|d| !d.is_empty());
    let mut opts: Vec<String> = get("o")
        .unwrap_or_default()
        .split(',')
        .filter(|o| {
            let k = o.split('=').next().unwrap_or("").to_ascii_lowercase();
            !o.is_empty() && !matches!(k.as_str(), "uid" | "gid" | "timeout" | "noquota")
        })
        .map(str::to_string)
        .collect();
    if fs_type.is_none() && device.is_none() && opts.is_empty() {
        return None;
    }
    let fs_type = match fs_type {
        Some(t) if t == "bind" => {
            if !opts.iter().any(|o| o == "bind" || o == "rbind") {
                opts.insert(0, "bind".into());
            }
            None
        }
        other => other,
    };
    Some(MountPlan {
        device: device
            .or_else(|| fs_type.clone())
            .unwrap_or_else(|| "none".into()),
        fs_type,
        options: opts,
    })
}

/// Whether something is mounted right on `path`.
fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    let found = hoist_fsutil::mountinfo::mount_entries(&info).any(|m| m.mount_point == want);
    found
}

/// Runs mount(8) for a volume: it knows every filesystem's helpers (nfs,
/// cifs) and option syntax, as podman relies on.
fn mount_data(v: &Volume) -> Result<()> {
    let plan = mount_plan(&v.options).expect("a volume that needs a mount");
    let mut cmd = std::process::Command::new("mount");
    if let Some(t) = &plan.fs_type {
        cmd.arg("-t").arg(t);
    }
    if !plan.options.is_empty() {
        cmd.arg("-o").arg(plan.options.join(","));
    }
    cmd.arg(&plan.device).arg(&v.mountpoint);
    run_mount_tool(cmd, "mount").map_err(|message| {
        VolumeError::MountFailed {
            name: v.name.clone(),
            message,
        }
        .into()
    })
}

fn unmount_data(v: &Volume) -> Result<()> {
    rustix::mount::unmount(&v.mountpoint, rustix::mount::UnmountFlags::empty()).map_err(|e| {
        VolumeError::UnmountFailed {
            name: v.name.clone(),
            message: e.to_string(),
        }
        .into()
    })
}

fn run_mount_tool(mut cmd: std::process::Command, tool: &str) -> std::result::Result<(), String> {
    match cmd.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "{tool}(8) not found: install it with `apt-get install mount`"
        )),
        Err(e) => Err(format!("running {tool}: {e}")),
    }
}

fn chown(path: &Path, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
    std::os::unix::fs::lchown(path, uid, gid).map_err(io_err("changing the owner of", path))
}

/// The names of the volumes `config` mounts.
pub(crate) fn volume_names(config: &ContainerConfig) -> impl Iterator<Item = &str> {
    config.options.mounts.iter().filter_map(|m| match m {
        MountOption::Volume { name, .. } => Some(name.as_str()),
        _ => None,
    })
}

/// The containers whose mounts name volume `name`.
pub fn users(cs: &Containers, name: &str) -> Result<Vec<Container>> {
    Ok(cs
        .list()?
        .into_iter()
        .filter(|c| volume_names(&c.config).any(|n| n == name))
        .collect())
}

/// `volume rm`: removes volume `query` (a name or a unique prefix). A
/// volume in use is refused unless `force`, which removes its containers
/// first (stopping running ones with `timeout`, as `stop -t`). Returns the
/// volume's name.
pub fn remove_volume(
    cs: &Containers,
    query: &str,
    force: bool,
    timeout: Option<u64>,
) -> Result<String> {
    let vols = Volumes::open(cs.root())?;
    let v = vols.lookup(query)?;
    let holders = users(cs, &v.name)?;
    if force {
        for c in &holders {
            if timeout.is_some() {
                crate::lifecycle::stop(cs, c, timeout)?;
            }
            crate::lifecycle::remove(cs, c, true)?;
        }
        vols.remove(&v.name, &[])?;
    } else {
        let ids: Vec<String> = holders.iter().map(|c| c.id().to_string()).collect();
        vols.remove(&v.name, &ids)?;
    }
    Ok(v.name)
}

/// `volume ls --filter` / `volume prune --filter`: podman's filters. The
/// values of one key are alternatives; different keys must all match.
#[derive(Debug, Default, Clone)]
pub struct VolumeFilter {
    names: Vec<regex::Regex>,
    drivers: Vec<String>,
    scopes: Vec<String>,
    labels: Vec<String>,
    not_labels: Vec<String>,
    opts: Vec<String>,
    dangling: Option<bool>,
    until: Option<DateTime<Utc>>,
}

/// Which filters a command takes: `List` (`volume ls`: every filter) or
/// `Prune` (`volume prune`: `label`, `label!` and `until`). The same type
/// as networks', so one value serves `system prune` for both.
pub use hoist_network::FilterUse;

impl VolumeFilter {
    /// Parses `KEY=VALUE` filters.
    pub fn parse(filters: &[String], usage: FilterUse) -> Result<VolumeFilter> {
        let mut f = VolumeFilter::default();
        for item in filters {
            let (key, value) = match item.split_once("!=") {
                Some((k, v)) if !k.contains('=') => (format!("{k}!"), v),
                _ => {
                    let (k, v) = item.split_once('=').unwrap_or((item, ""));
                    (k.to_string(), v)
                }
            };
            let prune_ok = matches!(key.as_str(), "label" | "label!" | "until");
            if usage == FilterUse::Prune && !prune_ok {
                return Err(VolumeError::InvalidFilter(key).into());
            }
            match key.as_str() {
                "name" => f.names.push(regex::Regex::new(value).map_err(|e| {
                    VolumeError::InvalidFilterValue {
                        key: key.clone(),
                        value: value.to_string(),
                        hint: format!("not a regular expression: {e}"),
                    }
                })?),
                "driver" => f.drivers.push(value.to_string()),
                "scope" => f.scopes.push(value.to_string()),
                "label" => f.labels.push(value.to_string()),
                "label!" => f.not_labels.push(value.to_string()),
                "opt" => f.opts.push(value.to_string()),
                "dangling" => {
                    f.dangling = Some(match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(VolumeError::InvalidFilterValue {
                                key,
                                value: value.to_string(),
                                hint: "must be true or false".into(),
                            }
                            .into())
                        }
                    })
                }
                "until" => {
                    let t = crate::logs::parse_time(value).ok_or_else(|| {
                        VolumeError::InvalidFilterValue {
                            key: key.clone(),
                            value: value.to_string(),
                            hint: "use a timestamp (RFC 3339, YYYY-MM-DD, Unix seconds) or a duration (10m)".into(),
                        }
                    })?;
                    f.until = Some(t.with_timezone(&Utc));
                }
                _ => return Err(VolumeError::InvalidFilter(key).into()),
            }
        }
        Ok(f)
    }

    /// Whether the filter looks at which containers use a volume.
    pub fn needs_users(&self) -> bool {
        self.dangling.is_some()
    }

    /// Whether `v` passes; `in_use` says whether a container uses it.
    pub fn matches(&self, v: &Volume, in_use: bool) -> bool {
        let any = |list: &[String], f: &dyn Fn(&str) -> bool| {
            list.is_empty() || list.iter().any(|x| f(x))
        };
        (self.names.is_empty() || self.names.iter().any(|r| r.is_match(&v.name)))
            && any(&self.drivers, &|d| d == v.driver)
            && any(&self.scopes, &|s| s == v.scope)
            && self.labels.iter().all(|l| label_matches(&v.labels, l))
            && !self.not_labels.iter().any(|l| label_matches(&v.labels, l))
            && any(&self.opts, &|o| label_matches(&v.options, o))
            && self.dangling.is_none_or(|d| d != in_use)
            && self.until.is_none_or(|t| v.created_at < t)
    }
}

/// `key` or `key=value` against a map.
fn label_matches(map: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => map.get(k).is_some_and(|x| x == v),
        None => map.contains_key(filter),
    }
}

/// `volume ls`: the volumes that pass `filter`, by name.
pub fn list_volumes(cs: &Containers, filter: &VolumeFilter) -> Result<Vec<Volume>> {
    let vols = Volumes::open(cs.root())?;
    let used = if filter.needs_users() {
        used_volume_names(cs)?
    } else {
        Default::default()
    };
    Ok(vols
        .list()?
        .into_iter()
        .filter(|v| filter.matches(v, used.contains(&v.name)))
        .collect())
}

fn used_volume_names(cs: &Containers) -> Result<std::collections::HashSet<String>> {
    Ok(cs
        .list()?
        .iter()
        .flat_map(|c| {
            volume_names(&c.config)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect())
}

/// The volumes `volume prune` would remove: no container uses them and
/// they pass `filter`.
pub fn prune_candidates(cs: &Containers, filter: &VolumeFilter) -> Result<Vec<Volume>> {
    let vols = Volumes::open(cs.root())?;
    let used = used_volume_names(cs)?;
    Ok(vols
        .list()?
        .into_iter()
        .filter(|v| !used.contains(&v.name) && filter.matches(v, false))
        .collect())
}

/// `volume prune --force`: removes the unused volumes that pass `filter`;
/// returns their names. A volume a container took meanwhile is kept.
pub fn prune(cs: &Containers, filter: &VolumeFilter) -> Result<Vec<String>> {
    let vols = Volumes::open(cs.root())?;
    let mut removed = Vec::new();
    for v in prune_candidates(cs, filter)? {
        let ids: Vec<String> = users(cs, &v.name)?
            .iter()
            .map(|c| c.id().to_string())
            .collect();
        match vols.remove(&v.name, &ids) {
            Ok(()) => removed.push(v.name),
            Err(ContainerError::Volume(e)) if matches!(*e, VolumeError::InUse { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// Gives every anonymous volume of `opts` (`-v /dest`) a new volume.
pub fn create_anonymous_volumes(
    root: &Path,
    opts: &mut crate::options::CreateOptions,
) -> Result<Vec<String>> {
    let mut made = Vec::new();
    for m in &mut opts.mounts {
        if let MountOption::Volume {
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
pub fn remove_anonymous_volumes(cs: &Containers, config: &ContainerConfig) -> Result<Vec<String>> {
    let anonymous: Vec<&String> = config
        .options
        .mounts
        .iter()
        .filter_map(|m| match m {
            MountOption::Volume {
                name,
                anonymous: true,
                ..
            } => Some(name),
            _ => None,
        })
        .collect();
    // Reading every other container's record is for the volumes only.
    if anonymous.is_empty() {
        return Ok(Vec::new());
    }
    let vols = Volumes::open(cs.root())?;
    let others = cs.list().unwrap_or_default();
    let mut removed = Vec::new();
    for name in anonymous {
        let used = others
            .iter()
            .any(|c| c.id() != config.id && volume_names(&c.config).any(|n| n == name));
        if used || vols.get(name).is_err() {
            continue;
        }
        vols.remove(name, &[])?;
        removed.push(name.clone());
    }
    Ok(removed)
}

/// What the VOLUMEs an image declares become (`--image-volume`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageVolumeMode {
    /// An anonymous volume, filled from the image (podman's default).
    #[default]
    Bind,
    /// A tmpfs.
    Tmpfs,
    /// Nothing: the image's directory as it is.
    Ignore,
}

impl std::str::FromStr for ImageVolumeMode {
    type Err = ContainerError;
    fn from_str(s: &str) -> Result<ImageVolumeMode> {
        match s {
            "bind" => Ok(ImageVolumeMode::Bind),
            "tmpfs" => Ok(ImageVolumeMode::Tmpfs),
            "ignore" => Ok(ImageVolumeMode::Ignore),
            _ => Err(ContainerError::Invalid(format!(
                "invalid image volume mode {s:?} required value: bind, tmpfs, ignore"
            ))),
        }
    }
}

/// containers.conf's `image_volume_mode` (`[engine]`) where
/// `--image-volume` was not given.
pub fn apply_volume_conf(
    options: &mut crate::options::CreateOptions,
    conf: &hoist_config::ContainersConf,
) -> Result<()> {
    if options.image_volume.is_none() {
        options.image_volume = Some(conf.engine().image_volume_mode().parse()?);
    }
    Ok(())
}

/// The VOLUME directories of an image's config (`config.Volumes`).
fn image_volumes(image_config: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(image_config) else {
        return Vec::new();
    };
    let mut dirs: Vec<String> = v["config"]["Volumes"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Adds a mount for each VOLUME of the image that no mount of `options`
/// covers already: an anonymous volume (filled from the image on first
/// use) or a tmpfs, as `options.image_volume` says.
pub fn add_image_volumes(options: &mut crate::options::CreateOptions, image_config: &[u8]) {
    let mode = options.image_volume.unwrap_or_default();
    if mode == ImageVolumeMode::Ignore {
        return;
    }
    for dir in image_volumes(image_config) {
        let dest = format!("/{}", dir.trim_matches('/'));
        if options
            .mounts
            .iter()
            .any(|m| m.destination().trim_end_matches('/') == dest.trim_end_matches('/'))
        {
            continue;
        }
        options.mounts.push(match mode {
            ImageVolumeMode::Tmpfs => MountOption::Tmpfs {
                destination: dest,
                size: None,
                mode: None,
                options: Vec::new(),
            },
            _ => MountOption::Volume {
                name: String::new(),
                destination: dest,
                read_only: false,
                anonymous: true,
                options: Vec::new(),
            },
        });
    }
}

/// Whether absolute `path` lies on one of `mounts` (at or below its
/// destination).
pub fn on_mount(mounts: &[MountOption], path: &str) -> bool {
    path.starts_with('/')
        && mounts.iter().any(|m| {
            let dest = m.destination().trim_end_matches('/');
            path == dest
                || path
                    .strip_prefix(dest)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// Two mounts on one destination are refused (podman's "duplicate mount
/// destination"); the same mount given twice counts once.
pub fn dedup_mounts(mounts: &mut Vec<MountOption>) -> Result<()> {
    let mut kept: Vec<MountOption> = Vec::with_capacity(mounts.len());
    for m in mounts.drain(..) {
        let dest = m.destination().trim_end_matches('/').to_string();
        match kept
            .iter()
            .find(|k| k.destination().trim_end_matches('/') == dest)
        {
            Some(k) if same_mount(k, &m) => {}
            Some(_) => {
                return Err(ContainerError::Invalid(format!(
                    "{}: duplicate mount destination",
                    m.destination()
                )))
            }
            None => kept.push(m),
        }
    }
    *mounts = kept;
    Ok(())
}

/// Whether two mounts on one destination are the same mount: the same
/// source (tmpfs options aside: `--tmpfs /x --tmpfs /x:ro` differ).
fn same_mount(a: &MountOption, b: &MountOption) -> bool {
    match (a, b) {
        (MountOption::Bind { source: x, .. }, MountOption::Bind { source: y, .. }) => x == y,
        (MountOption::Volume { name: x, .. }, MountOption::Volume { name: y, .. }) => {
            !x.is_empty() && x == y
        }
        (MountOption::Tmpfs { .. }, MountOption::Tmpfs { .. }) => a == b,
        _ => false,
    }
}

/// Gets the volumes of a starting container ready, with its root
/// filesystem mounted at `rootfs` and its user resolved to `uid`/`gid`:
/// mounts volumes made with mount options, copies the image's content at
/// each destination into a volume on its first use and gives a new volume
/// its owner. Volumes mounted here are let go by [`release_volumes`].
pub fn prepare_volumes(
    cs: &Containers,
    config: &ContainerConfig,
    rootfs: &Path,
    uid: u32,
    gid: u32,
) -> Result<()> {
    let vols = Volumes::open(cs.root())?;
    let mut mounted: Vec<&str> = Vec::new();
    let result = (|| {
        for m in &config.options.mounts {
            let MountOption::Volume {
                name,
                destination,
                options,
                ..
            } = m
            else {
                continue;
            };
            vols.get_or_create(name)?;
            vols.mount(name, &config.id)?;
            mounted.push(name);
            let nocopy = options.iter().any(|o| o == "nocopy");
            vols.update(name, |v| {
                first_use(v, rootfs, destination, uid, gid, nocopy)
            })?;
        }
        Ok(())
    })();
    if result.is_err() {
        for name in mounted {
            let _ = vols.unmount(name, &config.id);
        }
    }
    result
}

/// Undoes the mounts of [`prepare_volumes`] when the container stops.
pub fn release_volumes(cs: &Containers, config: &ContainerConfig) {
    let Ok(vols) = Volumes::open(cs.root()) else {
        return;
    };
    for name in volume_names(config) {
        if vols.get(name).is_err() {
            continue;
        }
        if let Err(e) = vols.unmount(name, &config.id) {
            tracing::warn!(volume = %name, error = %e, "releasing a volume");
        }
    }
}

/// Copy-up and chown on a volume's first use (under the volume lock).
fn first_use(
    v: &mut Volume,
    rootfs: &Path,
    destination: &str,
    uid: u32,
    gid: u32,
    nocopy: bool,
) -> Result<()> {
    let image_dir = stat_in_root(rootfs, destination);
    // A bind volume shows a host directory: its owner is the host's
    // business, not the container's.
    let binds_host_dir = mount_plan(&v.options)
        .is_some_and(|p| p.options.iter().any(|o| o == "bind" || o == "rbind"));
    if v.needs_chown && binds_host_dir {
        v.needs_chown = false;
    }
    if v.needs_chown {
        v.needs_chown = false;
        chown(&v.mountpoint, Some(uid), Some(gid))?;
        // The volume takes the place of the image's directory: it looks
        // like it (podman #10188).
        if let Some(st) = &image_dir {
            chown(&v.mountpoint, Some(st.st_uid), Some(st.st_gid))?;
            let mode = std::fs::Permissions::from_mode(st.st_mode & 0o7777);
            std::fs::set_permissions(&v.mountpoint, mode)
                .map_err(io_err("changing the mode of", &v.mountpoint))?;
        }
    }
    if !v.needs_copy_up || nocopy || image_dir.is_none() {
        return Ok(());
    }
    // Content that came from elsewhere is never overwritten (CVE-2020-1726).
    if dir_has_entries(&v.mountpoint)? {
        return Ok(());
    }
    if !root_dir_has_entries(rootfs, destination) {
        return Ok(());
    }
    v.needs_copy_up = false;
    crate::copy::copyup::copy_dir_contents(
        rootfs,
        destination,
        &v.mountpoint,
        format!("the volume {}", v.name),
    )
}

/// The stat of directory `path` inside root `rootfs`, resolved without
/// leaving it; `None` when it is missing or not a directory.
fn stat_in_root(rootfs: &Path, path: &str) -> Option<rustix::fs::Stat> {
    let fd = open_in_root(rootfs, path)?;
    rustix::fs::fstat(&fd).ok()
}

fn open_in_root(rootfs: &Path, path: &str) -> Option<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    loop {
        match rustix::fs::openat2(
            root.as_fd(),
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(rustix::io::Errno::AGAIN) => continue,
            r => return r.ok(),
        }
    }
}

fn root_dir_has_entries(rootfs: &Path, path: &str) -> bool {
    let Some(fd) = open_in_root(rootfs, path) else {
        return false;
    };
    let Ok(mut dir) = rustix::fs::Dir::read_from(&fd) else {
        return false;
    };
    dir.any(|e| e.is_ok_and(|e| ![&b"."[..], b".."].contains(&e.file_name().to_bytes())))
}

fn dir_has_entries(path: &Path) -> Result<bool> {
    Ok(std::fs::read_dir(path)
        .map_err(io_err("reading", path))?
        .next()
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> NewVolume {
        NewVolume {
            name: Some(name.into()),
            ..NewVolume::default()
        }
    }

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn create_list_remove() {
        let d = tempfile::tempdir().unwrap();
        let vs = Volumes::open(d.path()).unwrap();
        let v = vs.create(named("data")).unwrap();
        assert!(v.mountpoint.ends_with("volumes/data/_data"));
        assert!(v.mountpoint.is_dir());
        assert!(v.needs_copy_up && v.needs_chown && !v.needs_mount());
        let e = vs.create(named("data")).unwrap_err().to_string();
        assert_eq!(
            e,
            "volume with name data already exists: volume already exists"
        );
        let again = NewVolume {
            ignore_existing: true,
            ..named("data")
        };
        assert_eq!(vs.create(again).unwrap(), v);
        assert_eq!(vs.list().unwrap().len(), 1);
        let e = vs.remove("data", &["c1".into()]).unwrap_err().to_string();
        assert_eq!(
            e,
            "volume data is being used by the following container(s): c1: volume is being used"
        );
        assert_eq!(vs.lookup("da").unwrap().name, "data");
        vs.remove("data", &[]).unwrap();
        let e = vs.get("data").unwrap_err().to_string();
        assert_eq!(e, "no volume with name \"data\" found: no such volume");
        assert!(vs.get("../x").is_err());
        let a = vs.create_anonymous().unwrap();
        assert!(a.anonymous && a.name.len() == 64);
        assert!(a.name.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(vs.get(&a.name).unwrap().anonymous);
        assert!(!vs.create(named("named")).unwrap().anonymous);
    }

    #[test]
    fn prefixes_must_be_unique() {
        let d = tempfile::tempdir().unwrap();
        let vs = Volumes::open(d.path()).unwrap();
        vs.create(named("abc1")).unwrap();
        vs.create(named("abc2")).unwrap();
        assert!(vs.lookup("abc").is_err());
        assert_eq!(vs.lookup("abc2").unwrap().name, "abc2");
        assert!(vs.lookup("").is_err());
    }

    #[test]
    fn options_are_checked_like_the_local_driver() {
        let d = tempfile::tempdir().unwrap();
        let vs = Volumes::open(d.path()).unwrap();
        let mk = |name: &str, o: &[(&str, &str)]| {
            vs.create(NewVolume {
                options: opts(o),
                ..named(name)
            })
        };
        let e = mk("b", &[("type", "bind"), ("device", "/bogus")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid volume option device for driver 'local': stat /bogus: no such file or directory"
        );
        let e = mk("f", &[("foo", "bar")]).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid mount option foo for driver 'local': invalid argument"
        );
        let t = mk(
            "t",
            &[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")],
        )
        .unwrap();
        assert!(t.needs_mount());
        let owned = mk("o", &[("o", "uid=5,gid=7")]).unwrap();
        assert!(!owned.needs_chown && !owned.needs_mount());
        use std::os::unix::fs::MetadataExt;
        if rustix::process::geteuid().is_root() {
            let md = std::fs::metadata(&owned.mountpoint).unwrap();
            assert_eq!((md.uid(), md.gid()), (5, 7));
        }
        let nocopy = mk("n", &[("nocopy", "")]).unwrap();
        assert!(!nocopy.needs_copy_up);
        let e = vs
            .create(NewVolume {
                driver: Some("foo".into()),
                ..named("x")
            })
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no volume plugin with name foo available"),
            "{e}"
        );
    }

    #[test]
    fn mount_plans_follow_the_options() {
        assert_eq!(mount_plan(&opts(&[("uid", "1")])), None);
        assert_eq!(
            mount_plan(&opts(&[
                ("type", "tmpfs"),
                ("device", "tmpfs"),
                ("o", "size=1m,uid=3")
            ])),
            Some(MountPlan {
                fs_type: Some("tmpfs".into()),
                options: vec!["size=1m".into()],
                device: "tmpfs".into()
            })
        );
        assert_eq!(
            mount_plan(&opts(&[("type", "bind"), ("device", "/srv"), ("o", "ro")])),
            Some(MountPlan {
                fs_type: None,
                options: vec!["bind".into(), "ro".into()],
                device: "/srv".into()
            })
        );
    }

    #[test]
    fn filters() {
        let d = tempfile::tempdir().unwrap();
        let vs = Volumes::open(d.path()).unwrap();
        let a = vs.create(named("volume_1_x")).unwrap();
        let mut b = vs.create(named("volume_2_x")).unwrap();
        b.labels.insert("k".into(), "v".into());
        let f = |s: &[&str]| {
            let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            VolumeFilter::parse(&s, FilterUse::List).unwrap()
        };
        assert!(f(&["name=volume_1.+"]).matches(&a, false));
        assert!(!f(&["name=volume_1.+"]).matches(&b, false));
        // A regular expression, not a glob: `_1*` is "_ then any 1s".
        assert!(f(&["name=volume_1*"]).matches(&b, false));
        assert!(f(&["label=k"]).matches(&b, false) && !f(&["label=k"]).matches(&a, false));
        assert!(f(&["label=k=v"]).matches(&b, false));
        assert!(!f(&["label=k=w"]).matches(&b, false));
        assert!(f(&["label!=k"]).matches(&a, false) && !f(&["label!=k"]).matches(&b, false));
        assert!(f(&["dangling=true"]).matches(&a, false));
        assert!(!f(&["dangling=true"]).matches(&a, true));
        assert!(f(&["driver=local", "driver=other"]).matches(&a, false));
        assert!(!f(&["driver=local", "name=nope"]).matches(&a, false));
        let bad = |s: &str, u| {
            VolumeFilter::parse(&[s.to_string()], u)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            bad("foo=bar", FilterUse::List),
            "\"foo\" is an invalid volume filter"
        );
        assert_eq!(
            bad("dangling=maybe", FilterUse::List),
            "\"maybe\" is not a valid value for the \"dangling\" filter - must be true or false"
        );
        assert!(VolumeFilter::parse(&["name=x".into()], FilterUse::Prune).is_err());
        assert!(VolumeFilter::parse(&["label=x".into()], FilterUse::Prune).is_ok());
    }

    #[test]
    fn duplicate_destinations() {
        let bind = |s: &str, d: &str| MountOption::Bind {
            source: s.into(),
            destination: d.into(),
            read_only: false,
            options: vec![],
        };
        let vol = |n: &str, d: &str| MountOption::Volume {
            name: n.into(),
            destination: d.into(),
            read_only: false,
            anonymous: false,
            options: vec![],
        };
        let tmpfs = |d: &str, o: &[&str]| MountOption::Tmpfs {
            destination: d.into(),
            size: None,
            mode: None,
            options: o.iter().map(|s| s.to_string()).collect(),
        };
        let mut same = vec![
            bind("/a", "/x"),
            bind("/a", "/x"),
            vol("v", "/y"),
            vol("v", "/y"),
        ];
        dedup_mounts(&mut same).unwrap();
        assert_eq!(same.len(), 2);
        let mut t = vec![tmpfs("/t", &[]), tmpfs("/t", &[])];
        dedup_mounts(&mut t).unwrap();
        assert_eq!(t.len(), 1);
        for mut bad in [
            vec![bind("/a", "/x"), bind("/b", "/x")],
            vec![vol("v", "/x"), vol("w", "/x")],
            vec![tmpfs("/x", &[]), tmpfs("/x", &["ro"])],
            vec![vol("v", "/x"), tmpfs("/x", &[])],
            vec![bind("/a", "/x"), tmpfs("/x/", &[])],
        ] {
            let e = dedup_mounts(&mut bad).unwrap_err().to_string();
            assert!(e.ends_with(": duplicate mount destination"), "{e}");
        }
    }

    #[test]
    fn image_volumes_become_mounts() {
        let config = br#"{"config": {"Volumes": {"/data": {}, "/logs/": {}}}}"#;
        let mut o = crate::options::CreateOptions::default();
        o.mounts.push(MountOption::Tmpfs {
            destination: "/logs".into(),
            size: None,
            mode: None,
            options: vec![],
        });
        add_image_volumes(&mut o, config);
        assert_eq!(o.mounts.len(), 2, "a mount of the user's wins");
        assert!(matches!(
            &o.mounts[1],
            MountOption::Volume { anonymous: true, destination, name, .. }
                if destination == "/data" && name.is_empty()
        ));
        let mut t = crate::options::CreateOptions {
            image_volume: Some("tmpfs".parse().unwrap()),
            ..Default::default()
        };
        add_image_volumes(&mut t, config);
        assert!(t
            .mounts
            .iter()
            .all(|m| matches!(m, MountOption::Tmpfs { .. })));
        let mut i = crate::options::CreateOptions {
            image_volume: Some(ImageVolumeMode::Ignore),
            ..Default::default()
        };
        add_image_volumes(&mut i, config);
        assert!(i.mounts.is_empty());
        let e = "foo".parse::<ImageVolumeMode>().unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid image volume mode \"foo\" required value: bind, tmpfs, ignore"
        );
    }

    #[test]
    fn go_error_texts() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(go_error_text(&e), "no such file or directory");
    }
}

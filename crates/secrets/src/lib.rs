//! podman's secrets, with its `file` driver: each secret's data in a 0600
//! file under `<root>/secrets/filedriver/<id>`, their metadata in
//! `<root>/secrets/secrets.json`, changed under `<root>/secrets/lock`.
//!
//! Containers name secrets (`run --secret`); the data is only read when
//! a container starts, so it never lands in a container's record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use hoist_fsutil::FileLock;
use serde::{Deserialize, Serialize};

/// The only driver: the data in a file of the store.
pub const FILE_DRIVER: &str = "file";
/// podman's limit on a secret's size.
pub const MAX_SIZE: usize = 512_000;
/// Length of a secret id (hex digits), as podman's.
const ID_LEN: usize = 25;

/// What can go wrong with secrets; the messages are podman's where it
/// has one.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no secret with name or id {0:?}: no such secret")]
    NotFound(String),
    #[error("{0}: secret name in use")]
    NameInUse(String),
    #[error("secret name {0:?} is invalid: use 1 to 253 characters, none of them '/', ',' or '='")]
    InvalidName(String),
    #[error("secret data must be larger than 0 and less than {MAX_SIZE} bytes")]
    BadSize,
    #[error("unsupported secret driver {0:?}: hoist has only the \"file\" driver")]
    UnsupportedDriver(String),
    #[error("secret store {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret store {} is corrupt: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T> = std::result::Result<T, SecretError>;

impl From<hoist_fsutil::Error> for SecretError {
    fn from(e: hoist_fsutil::Error) -> Self {
        SecretError::Io {
            path: e.path.clone(),
            source: e.into(),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SecretError + '_ {
    move |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `secret inspect`'s `Spec.Driver`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DriverSpec {
    pub name: String,
    pub options: BTreeMap<String, String>,
}

/// `secret inspect`'s `Spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretSpec {
    pub name: String,
    pub driver: DriverSpec,
    pub labels: BTreeMap<String, String>,
}

/// One secret's metadata, as `secret inspect` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "CreatedAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "UpdatedAt")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "Spec")]
    pub spec: SecretSpec,
}

/// What `secret create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewSecret {
    pub name: String,
    /// `None`: the file driver.
    pub driver: Option<String>,
    pub driver_options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub data: Vec<u8>,
}

/// The secrets of one engine root.
#[derive(Debug, Clone)]
pub struct Secrets {
    dir: PathBuf,
}

impl Secrets {
    /// The store under `root` (made on first write).
    pub fn open(root: &Path) -> Secrets {
        Secrets {
            dir: root.join("secrets"),
        }
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("secrets.json")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("filedriver")
    }

    fn lock(&self) -> Result<FileLock> {
        std::fs::create_dir_all(self.data_dir()).map_err(io_err(&self.dir))?;
        set_mode(&self.dir, 0o700)?;
        set_mode(&self.data_dir(), 0o700)?;
        Ok(FileLock::exclusive(&self.dir.join("lock"))?)
    }

    fn read_index(&self) -> Result<Vec<Secret>> {
        let p = self.index_path();
        match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| SecretError::Corrupt { path: p, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_err(&p)(e)),
        }
    }

    fn write_index(&self, all: &[Secret]) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(all).expect("secrets serialize");
        hoist_fsutil::write_file(&self.index_path(), &bytes, 0o600)?;
        Ok(())
    }

    /// Every secret, oldest first.
    pub fn list(&self) -> Result<Vec<Secret>> {
        self.read_index()
    }

    /// The secret named `key`, or whose id is or starts with `key`.
    pub fn get(&self, key: &str) -> Result<Secret> {
        find(&self.read_index()?, key).cloned()
    }

    /// Whether [`Secrets::get`] would find it.
    pub fn exists(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            Ok(_) => Ok(true),
            Err(SecretError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stores a new secret; returns it.
    pub fn create(&self, new: NewSecret) -> Result<Secret> {
        check_name(&new.name)?;
        let driver = new.driver.unwrap_or_else(|| FILE_DRIVER.into());
        if driver != FILE_DRIVER {
            return Err(SecretError::UnsupportedDriver(driver));
        }
        if new.data.is_empty() || new.data.len() >= MAX_SIZE {
            return Err(SecretError::BadSize);
        }
        let _lock = self.lock()?;
        let mut all = self.read_index()?;
        if all.iter().any(|s| s.spec.name == new.name) {
            return Err(SecretError::NameInUse(new.name));
        }
        let id = loop {
            let id = random_id();
            if !all.iter().any(|s| s.id == id) {
                break id;
            }
        };
        hoist_fsutil::write_file(&self.data_dir().join(&id), &new.data, 0o600)?;
        let mut options = new.driver_options;
        options.insert("path".into(), self.data_dir().display().to_string());
        let now = Utc::now();
        let secret = Secret {
            id,
            created_at: now,
            updated_at: now,
            spec: SecretSpec {
                name: new.name,
                driver: DriverSpec {
                    name: driver,
                    options,
                },
                labels: new.labels,
            },
        };
        all.push(secret.clone());
        self.write_index(&all)?;
        Ok(secret)
    }

    /// Removes a secret; returns its id.
    pub fn remove(&self, key: &str) -> Result<String> {
        let _lock = self.lock()?;
        let mut all = self.read_index()?;
        let id = find(&all, key)?.id.clone();
        all.retain(|s| s.id != id);
        self.write_index(&all)?;
        let data = self.data_dir().join(&id);
        match std::fs::remove_file(&data) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&data)(e)),
            _ => Ok(id),
        }
    }

    /// A secret's data.
    pub fn data(&self, key: &str) -> Result<Vec<u8>> {
        let s = self.get(key)?;
        let p = self.data_dir().join(&s.id);
        std::fs::read(&p).map_err(io_err(&p))
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io_err(path))
}

fn find<'a>(all: &'a [Secret], key: &str) -> Result<&'a Secret> {
    all.iter()
        .find(|s| s.spec.name == key || s.id == key)
        .or_else(|| {
            // A unique id prefix, as podman takes one.
            let mut by_prefix = all
                .iter()
                .filter(|s| !key.is_empty() && s.id.starts_with(key));
            match (by_prefix.next(), by_prefix.next()) {
                (Some(s), None) => Some(s),
                _ => None,
            }
        })
        .ok_or_else(|| SecretError::NotFound(key.to_string()))
}

/// podman's rule: 1 to 253 characters, no `/`, `,` or `=` (a secret's
/// name is also a file name and a `--secret` option value).
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 253 || name.contains(['/', ',', '=']) {
        return Err(SecretError::InvalidName(name.to_string()));
    }
    Ok(())
}

fn random_id() -> String {
    let bytes: [u8; 13] = rand::random();
    let mut id = hex::encode(bytes);
    id.truncate(ID_LEN);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, data: &[u8]) -> NewSecret {
        NewSecret {
            name: name.into(),
            data: data.to_vec(),
            ..NewSecret::default()
        }
    }

    #[test]
    fn create_get_remove() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::open(dir.path());
        let made = s.create(new("a", b"xyz")).unwrap();
        assert_eq!(made.id.len(), ID_LEN);
        assert_eq!(s.get("a").unwrap().id, made.id);
        assert_eq!(s.get(&made.id[..6]).unwrap().spec.name, "a");
        assert_eq!(s.data("a").unwrap(), b"xyz");
        assert!(matches!(
            s.create(new("a", b"1")),
            Err(SecretError::NameInUse(_))
        ));
        assert_eq!(s.remove("a").unwrap(), made.id);
        assert!(!s.exists("a").unwrap());
        assert!(matches!(s.remove("a"), Err(SecretError::NotFound(_))));
    }

    #[test]
    fn data_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::open(dir.path());
        let made = s.create(new("p", b"x")).unwrap();
        let meta = std::fs::metadata(dir.path().join("secrets/filedriver").join(made.id)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn names_and_sizes_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::open(dir.path());
        assert!(matches!(
            s.create(new("a/b", b"x")),
            Err(SecretError::InvalidName(_))
        ));
        assert!(matches!(s.create(new("e", b"")), Err(SecretError::BadSize)));
    }
}

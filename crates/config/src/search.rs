//! Which files podman 4.3 (containers/common 0.50) reads, in order:
//!
//! 1. if `CONTAINERS_CONF` is set (non-empty): that one file only, and it
//!    must exist; nothing else is read, not even the user's file;
//! 2. otherwise `/usr/share/containers/containers.conf`, then
//!    `/etc/containers/containers.conf` (each if it exists), then the
//!    `*.conf` files of `/etc/containers/containers.conf.d` in lexical
//!    order (0.50 has no `/usr/share/containers/containers.conf.d`);
//! 3. when not root, then `$XDG_CONFIG_HOME/containers/containers.conf`
//!    (`$HOME/.config/...` when `XDG_CONFIG_HOME` is unset) and the `*.conf`
//!    files of the `containers.conf.d` directory beside it.
//!
//! `CONTAINERS_CONF_OVERRIDE` came after podman 4.3 and is not read.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// The environment a search runs in: taken from the process by
/// [`LoadEnv::from_process`], or built by hand (tests point the system
/// directories at temporary ones and never touch the process environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadEnv {
    /// `CONTAINERS_CONF`.
    pub containers_conf: Option<PathBuf>,
    /// The effective uid; user files are read only when it is not 0.
    pub uid: u32,
    /// `XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<PathBuf>,
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// Where the distribution's file lives (`/usr/share/containers`).
    pub system_dir: PathBuf,
    /// Where the administrator's files live (`/etc/containers`).
    pub admin_dir: PathBuf,
}

/// The distribution's directory.
pub const SYSTEM_DIR: &str = "/usr/share/containers";
/// The administrator's directory.
pub const ADMIN_DIR: &str = "/etc/containers";
const FILE_NAME: &str = "containers.conf";
const DROP_IN_DIR: &str = "containers.conf.d";

fn non_empty(v: Option<OsString>) -> Option<PathBuf> {
    v.filter(|v| !v.is_empty()).map(PathBuf::from)
}

impl LoadEnv {
    /// The process's environment and effective uid, the standard directories.
    pub fn from_process() -> Self {
        Self {
            containers_conf: non_empty(std::env::var_os("CONTAINERS_CONF")),
            uid: rustix::process::geteuid().as_raw(),
            xdg_config_home: non_empty(std::env::var_os("XDG_CONFIG_HOME")),
            home: non_empty(std::env::var_os("HOME")),
            system_dir: PathBuf::from(SYSTEM_DIR),
            admin_dir: PathBuf::from(ADMIN_DIR),
        }
    }

    /// The user's containers.conf, when not root and a home is known.
    pub fn user_file(&self) -> Option<PathBuf> {
        if self.uid == 0 {
            return None;
        }
        let base = match (&self.xdg_config_home, &self.home) {
            (Some(xdg), _) => xdg.clone(),
            (None, Some(home)) => home.join(".config"),
            (None, None) => {
                tracing::debug!("neither XDG_CONFIG_HOME nor HOME is set: no user containers.conf");
                return None;
            }
        };
        Some(base.join("containers").join(FILE_NAME))
    }

    /// The files to read, lowest precedence first.
    pub fn config_files(&self) -> Result<Vec<PathBuf>, ConfigError> {
        if let Some(path) = &self.containers_conf {
            // podman checks with stat(2) and fails instead of falling back.
            std::fs::metadata(path).map_err(|source| ConfigError::EnvFile {
                path: path.clone(),
                source,
            })?;
            return Ok(vec![path.clone()]);
        }
        let mut files = Vec::new();
        for dir in [&self.system_dir, &self.admin_dir] {
            let file = dir.join(FILE_NAME);
            if exists(&file) {
                files.push(file);
            }
        }
        files.extend(drop_ins(&self.admin_dir.join(DROP_IN_DIR))?);
        if let Some(user) = self.user_file() {
            if exists(&user) {
                files.push(user.clone());
            }
            let dir = user.with_file_name(DROP_IN_DIR);
            files.extend(drop_ins(&dir)?);
        }
        Ok(files)
    }
}

/// As podman's stat check: anything stat(2) succeeds on counts (a file that
/// then cannot be read is an error, not skipped).
fn exists(path: &Path) -> bool {
    std::fs::metadata(path).is_ok()
}

/// The `*.conf` entries of `dir` (not its subdirectories), sorted by byte
/// value of the path; a missing directory has none.
pub(crate) fn drop_ins(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let read_dir_error = |source| ConfigError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_dir_error(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_dir_error)?;
        let path = entry.path();
        if !path.as_os_str().as_encoded_bytes().ends_with(b".conf") {
            continue;
        }
        // Symlinks to directories count as directories, as podman's walk sees them.
        let is_dir = std::fs::metadata(&path)
            .map(|m| m.is_dir())
            .unwrap_or(false);
        if is_dir {
            continue;
        }
        files.push(path);
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs;

    /// A search rooted in a scratch directory instead of `/`.
    pub(crate) fn env_in(root: &Path) -> LoadEnv {
        LoadEnv {
            containers_conf: None,
            uid: 0,
            xdg_config_home: None,
            home: None,
            system_dir: root.join("usr/share/containers"),
            admin_dir: root.join("etc/containers"),
        }
    }

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "").unwrap();
    }

    #[test]
    fn root_order_and_drop_in_rules() {
        let t = tempfile::tempdir().unwrap();
        let env = env_in(t.path());
        assert!(env.config_files().unwrap().is_empty());
        touch(&t.path().join("usr/share/containers/containers.conf"));
        touch(&t.path().join("etc/containers/containers.conf"));
        let d = t.path().join("etc/containers/containers.conf.d");
        touch(&d.join("20-b.conf"));
        touch(&d.join("10-a.conf"));
        touch(&d.join("B.conf"));
        touch(&d.join("notes.txt"));
        touch(&d.join("sub.conf/inner.conf"));
        // 0.50 has no drop-in directory under /usr/share.
        touch(
            &t.path()
                .join("usr/share/containers/containers.conf.d/x.conf"),
        );
        let got = env.config_files().unwrap();
        let want: Vec<PathBuf> = vec![
            t.path().join("usr/share/containers/containers.conf"),
            t.path().join("etc/containers/containers.conf"),
            d.join("10-a.conf"),
            d.join("20-b.conf"),
            d.join("B.conf"),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn drop_ins_without_main_files() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("etc/containers/containers.conf.d");
        touch(&d.join("a.conf"));
        assert_eq!(
            env_in(t.path()).config_files().unwrap(),
            vec![d.join("a.conf")]
        );
    }

    #[test]
    fn rootless_adds_user_file_and_its_drop_ins() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("etc/containers/containers.conf"));
        let home = t.path().join("home/u");
        touch(&home.join(".config/containers/containers.conf"));
        touch(&home.join(".config/containers/containers.conf.d/1.conf"));
        let mut env = env_in(t.path());
        env.home = Some(home.clone());
        // Root ignores the home directory.
        assert_eq!(env.config_files().unwrap().len(), 1);
        env.uid = 1000;
        assert_eq!(
            env.config_files().unwrap(),
            vec![
                t.path().join("etc/containers/containers.conf"),
                home.join(".config/containers/containers.conf"),
                home.join(".config/containers/containers.conf.d/1.conf"),
            ]
        );
        // XDG_CONFIG_HOME wins over HOME.
        let xdg = t.path().join("xdg");
        touch(&xdg.join("containers/containers.conf"));
        env.xdg_config_home = Some(xdg.clone());
        assert_eq!(
            env.config_files().unwrap(),
            vec![
                t.path().join("etc/containers/containers.conf"),
                xdg.join("containers/containers.conf"),
            ]
        );
    }

    #[test]
    fn containers_conf_replaces_everything() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("usr/share/containers/containers.conf"));
        touch(&t.path().join("etc/containers/containers.conf"));
        touch(&t.path().join("etc/containers/containers.conf.d/a.conf"));
        let home = t.path().join("home");
        touch(&home.join(".config/containers/containers.conf"));
        let only = t.path().join("only.conf");
        touch(&only);
        let mut env = env_in(t.path());
        env.uid = 1000;
        env.home = Some(home);
        env.containers_conf = Some(only.clone());
        assert_eq!(env.config_files().unwrap(), vec![only]);
        env.containers_conf = Some(t.path().join("missing.conf"));
        let e = env.config_files().unwrap_err();
        assert!(matches!(e, ConfigError::EnvFile { .. }), "{e:?}");
        assert!(e.to_string().contains("missing.conf"), "{e}");
    }
}

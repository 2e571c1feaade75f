//! `run --secret`: a secret of the store (hoist-secrets) given to a
//! container as a read-only file (by default `/run/secrets/NAME`) or as an
//! environment variable. The container's record names the secret only;
//! its data is read at each start, into a 0400-by-default file of the
//! container's own directory that is bind-mounted.

use std::path::Path;

use hoist_runtime::spec::{MountSpec, SpecOptions};
use hoist_secrets::Secrets;
use serde::{Deserialize, Serialize};

use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;

/// Where secrets are mounted by default.
const SECRETS_DIR: &str = "/run/secrets";

/// How a secret reaches the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretKind {
    #[default]
    Mount,
    Env,
}

/// One `--secret NAME[,type=mount|env][,target=T][,uid=U][,gid=G][,mode=M]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretUse {
    pub name: String,
    /// The secret's id, filled in at create.
    #[serde(default)]
    pub id: String,
    pub kind: SecretKind,
    /// The file (mount: absolute, or relative to /run/secrets) or the
    /// variable (env); `None`: the secret's name.
    pub target: Option<String>,
    pub uid: u32,
    pub gid: u32,
    /// File mode of a mounted secret (podman's default 0444).
    pub mode: u32,
}

impl SecretUse {
    /// Parses the value of `--secret`.
    pub fn parse(flag: &str) -> Result<SecretUse> {
        // podman's words: "<why>: parsing secret".
        let bad = |why: String| ContainerError::Invalid(format!("{why}: parsing secret"));
        let mut parts = flag.split(',');
        let name = parts.next().unwrap_or_default().to_string();
        if name.is_empty() {
            return Err(bad(format!("no secret name in {flag:?}")));
        }
        let mut u = SecretUse {
            name,
            id: String::new(),
            kind: SecretKind::Mount,
            target: None,
            uid: 0,
            gid: 0,
            mode: 0o444,
        };
        let mut ownership = false;
        for opt in parts {
            let (k, v) = opt
                .split_once('=')
                .ok_or_else(|| bad(format!("option {opt} invalid")))?;
            let num = |radix| {
                u32::from_str_radix(v, radix)
                    .map_err(|_| bad(format!("{k}={v} is not a valid number")))
            };
            match k {
                "type" => {
                    u.kind = match v {
                        "mount" => SecretKind::Mount,
                        "env" => SecretKind::Env,
                        _ => return Err(bad(format!("type {v} is invalid"))),
                    }
                }
                "target" => u.target = Some(v.to_string()),
                "uid" => (u.uid, ownership) = (num(10)?, true),
                "gid" => (u.gid, ownership) = (num(10)?, true),
                "mode" => (u.mode, ownership) = (num(8)?, true),
                _ => return Err(bad(format!("option {opt} invalid"))),
            }
        }
        if ownership && u.kind == SecretKind::Env {
            return Err(bad(
                "UID, GID, Mode options cannot be set with secret type env".into(),
            ));
        }
        Ok(u)
    }

    /// The path in the container (mount) or the variable name (env).
    pub fn target(&self) -> String {
        match (self.kind, &self.target) {
            (SecretKind::Env, t) => t.clone().unwrap_or_else(|| self.name.clone()),
            (SecretKind::Mount, Some(t)) if t.starts_with('/') => t.clone(),
            (SecretKind::Mount, Some(t)) => format!("{SECRETS_DIR}/{t}"),
            (SecretKind::Mount, None) => format!("{SECRETS_DIR}/{}", self.name),
        }
    }
}

/// Fills in the id of every secret named; fails unless they all exist
/// (at create, as podman checks).
pub(crate) fn resolve(root: &Path, uses: &mut [SecretUse]) -> Result<()> {
    let store = Secrets::open(root);
    for u in uses {
        u.id = store.get(&u.name)?.id;
    }
    Ok(())
}

/// One of `inspect`'s `.Config.Secrets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectSecret {
    pub name: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "UID")]
    pub uid: u32,
    #[serde(rename = "GID")]
    pub gid: u32,
    pub mode: u32,
}

/// `.Config.Secrets`: the secrets given as files, as podman lists them.
pub(crate) fn inspect(o: &crate::options::CreateOptions) -> Vec<InspectSecret> {
    o.secrets
        .iter()
        .filter(|u| u.kind == SecretKind::Mount)
        .map(|u| InspectSecret {
            name: u.name.clone(),
            id: u.id.clone(),
            uid: u.uid,
            gid: u.gid,
            mode: u.mode,
        })
        .collect()
}

/// The variables given as env secrets (left out of `inspect`).
pub(crate) fn env_names(c: &Container) -> Vec<String> {
    c.config
        .options
        .secrets
        .iter()
        .filter(|u| u.kind == SecretKind::Env)
        .map(SecretUse::target)
        .collect()
}

/// Adds the container's secrets to its spec: files written under
/// `<dir>/secrets` and bind-mounted, variables added to its environment.
pub(crate) fn apply(root: &Path, c: &Container, spec: &mut SpecOptions) -> Result<()> {
    if c.config.options.secrets.is_empty() {
        return Ok(());
    }
    let store = Secrets::open(root);
    let dir = c.dir.join("secrets");
    for (i, u) in c.config.options.secrets.iter().enumerate() {
        // The secret given at create, even if another now has its name.
        let data = store.data(if u.id.is_empty() { &u.name } else { &u.id })?;
        match u.kind {
            SecretKind::Env => {
                let value = String::from_utf8_lossy(&data);
                spec.env.push(format!("{}={value}", u.target()));
            }
            SecretKind::Mount => {
                std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
                let file = dir.join(i.to_string());
                hoist_fsutil::write_file(&file, &data, u.mode)
                    .map_err(|e| ContainerError::Monitor(e.to_string()))?;
                std::os::unix::fs::chown(&file, Some(u.uid), Some(u.gid))
                    .map_err(io_err("setting the owner of", &file))?;
                spec.mounts.push(MountSpec::Bind {
                    source: file,
                    destination: u.target(),
                    read_only: true,
                    options: Vec::new(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_podman_forms() {
        let u = SecretUse::parse("s").unwrap();
        assert_eq!(
            (u.kind, u.target(), u.mode),
            (SecretKind::Mount, "/run/secrets/s".into(), 0o444)
        );
        let u = SecretUse::parse("s,type=env,target=TOKEN").unwrap();
        assert_eq!((u.kind, u.target()), (SecretKind::Env, "TOKEN".into()));
        let u = SecretUse::parse("s,target=k,uid=1,gid=2,mode=400").unwrap();
        assert_eq!(
            (u.target(), u.uid, u.gid, u.mode),
            ("/run/secrets/k".into(), 1, 2, 0o400)
        );
        assert!(SecretUse::parse("s,type=env,uid=1").is_err());
        assert!(SecretUse::parse("s,bogus=1").is_err());
        assert!(SecretUse::parse(",type=env").is_err());
    }
}

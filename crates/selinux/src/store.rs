//! The host's SELinux policy as files on disk: the policy store libsemanage
//! keeps (`/var/lib/selinux/TYPE/active`: modules, file contexts, local
//! changes) and the installed policy libselinux labels files from
//! (`/etc/selinux/TYPE/contexts/files`). Both are readable with SELinux
//! disabled, which is how udica can run on such a host.

use std::cell::OnceCell;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{io_err, Result, SelinuxError};
use crate::fcontext::{self, LabelFiles, Spec};
use crate::ports::PortTypes;

/// What a policy generator asks of the host policy.
pub trait Labels {
    /// The type of host port `port`/`protocol` (`tcp`, `udp`, `sctp`).
    fn port_type(&self, port: u32, protocol: &str) -> Result<String>;
    /// The types a mount of `dir` needs: those of every file context
    /// expression starting with `dir`, then the label of `dir` itself.
    fn path_types(&self, dir: &str) -> Result<Vec<String>>;
}

/// The policy named in `/etc/selinux/config`, read on first use.
#[derive(Debug)]
pub struct PolicyStore {
    /// `/var/lib/selinux/TYPE/active`.
    active: PathBuf,
    /// `/etc/selinux/TYPE/contexts/files`.
    files: PathBuf,
    ports: OnceCell<PortTypes>,
    semanage_specs: OnceCell<Vec<Spec>>,
    label_files: OnceCell<LabelFiles>,
}

/// libselinux's policy type when the config names none.
const DEFAULT_TYPE: &str = "targeted";

impl PolicyStore {
    /// The host's policy (`/etc/selinux`, `/var/lib/selinux`).
    pub fn host() -> PolicyStore {
        PolicyStore::at(Path::new("/etc/selinux"), Path::new("/var/lib/selinux"))
    }

    /// The policy under `etc` (holding `config`) and store root `store`.
    pub fn at(etc: &Path, store: &Path) -> PolicyStore {
        let name = std::fs::read_to_string(etc.join("config"))
            .ok()
            .and_then(|c| policy_type(&c))
            .unwrap_or_else(|| DEFAULT_TYPE.to_string());
        PolicyStore {
            active: store.join(&name).join("active"),
            files: etc.join(&name).join("contexts/files"),
            ports: OnceCell::new(),
            semanage_specs: OnceCell::new(),
            label_files: OnceCell::new(),
        }
    }

    fn check_store(&self) -> Result<()> {
        if self.active.is_dir() {
            Ok(())
        } else {
            Err(SelinuxError::NoStore(self.active.clone()))
        }
    }

    fn ports(&self) -> Result<&PortTypes> {
        if let Some(p) = self.ports.get() {
            return Ok(p);
        }
        self.check_store()?;
        let local = read_optional(&self.active.join("ports.local"))?;
        let modules = self.module_texts()?;
        Ok(self
            .ports
            .get_or_init(|| PortTypes::new(local.as_deref(), &modules)))
    }

    /// The CIL of every enabled module, at its highest priority.
    fn module_texts(&self) -> Result<Vec<String>> {
        let modules = self.active.join("modules");
        let disabled = modules.join("disabled");
        let mut priorities: Vec<PathBuf> = read_dir(&modules)?
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .collect();
        // Highest priority first: the first copy of a module seen wins.
        priorities.sort_by_key(|p| {
            std::cmp::Reverse(
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse::<u32>().ok()),
            )
        });
        let mut seen: Vec<std::ffi::OsString> = Vec::new();
        let mut texts = Vec::new();
        for prio in priorities {
            for module in read_dir(&prio)? {
                let Some(name) = module.file_name().map(|n| n.to_os_string()) else {
                    continue;
                };
                if seen.contains(&name) || disabled.join(&name).exists() {
                    continue;
                }
                seen.push(name);
                let cil = module.join("cil");
                if cil.exists() {
                    texts.push(read_module(&cil)?);
                }
            }
        }
        Ok(texts)
    }

    fn semanage_specs(&self) -> Result<&[Spec]> {
        if let Some(s) = self.semanage_specs.get() {
            return Ok(s);
        }
        self.check_store()?;
        let mut specs = Vec::new();
        for name in [
            "file_contexts",
            "file_contexts.local",
            "file_contexts.homedirs",
        ] {
            if let Some(text) = read_optional(&self.active.join(name))? {
                specs.extend(fcontext::parse_specs(&text));
            }
        }
        Ok(self.semanage_specs.get_or_init(|| specs))
    }

    fn label_files(&self) -> Result<&LabelFiles> {
        if let Some(s) = self.label_files.get() {
            return Ok(s);
        }
        let base = self.files.join("file_contexts");
        if !base.exists() {
            return Err(SelinuxError::NoStore(self.files.clone()));
        }
        let mut specs = Vec::new();
        for name in [
            "file_contexts",
            "file_contexts.homedirs",
            "file_contexts.local",
        ] {
            if let Some(text) = read_optional(&self.files.join(name))? {
                specs.extend(fcontext::parse_specs(&text));
            }
        }
        let mut aliases: [fcontext::Aliases; 2] = Default::default();
        for (i, name) in ["file_contexts.subs", "file_contexts.subs_dist"]
            .iter()
            .enumerate()
        {
            if let Some(text) = read_optional(&self.files.join(name))? {
                aliases[i] = fcontext::parse_subs(&text);
            }
        }
        Ok(self
            .label_files
            .get_or_init(|| LabelFiles { specs, aliases }))
    }
}

impl Labels for PolicyStore {
    fn port_type(&self, port: u32, protocol: &str) -> Result<String> {
        self.ports()?
            .lookup(port, protocol)
            .map(str::to_string)
            .ok_or_else(|| SelinuxError::NoPortType {
                port,
                protocol: protocol.to_string(),
            })
    }

    fn path_types(&self, dir: &str) -> Result<Vec<String>> {
        let mut types = fcontext::types_under(self.semanage_specs()?.iter(), dir);
        match fcontext::lookup(self.label_files()?, dir) {
            Ok(Some(t)) => types.push(t),
            _ => return Err(SelinuxError::NoFileContext(dir.to_string())),
        }
        Ok(types)
    }
}

/// `SELINUXTYPE=` of /etc/selinux/config.
fn policy_type(config: &str) -> Option<String> {
    config.lines().find_map(|l| {
        let v = l.trim().strip_prefix("SELINUXTYPE=")?.trim();
        (!v.is_empty()).then(|| v.to_string())
    })
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    Ok(out)
}

/// A module's CIL, bzip2-compressed or not (semanage.conf decides).
fn read_module(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let text = if bytes.starts_with(b"BZh") {
        let mut out = Vec::new();
        bzip2::read::BzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(io_err(path))?;
        out
    } else {
        bytes
    };
    Ok(String::from_utf8_lossy(&text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_store_and_an_installed_policy() {
        let d = tempfile::tempdir().unwrap();
        let etc = d.path().join("etc");
        let store = d.path().join("store");
        std::fs::create_dir_all(etc.join("mine/contexts/files")).unwrap();
        std::fs::write(etc.join("config"), "SELINUX=disabled\nSELINUXTYPE=mine\n").unwrap();
        let fc = "/srv(/.*)?\tsystem_u:object_r:var_t:s0\n/srv/www(/.*)?\tsystem_u:object_r:httpd_sys_content_t:s0\n";
        std::fs::write(etc.join("mine/contexts/files/file_contexts"), fc).unwrap();
        let active = store.join("mine/active");
        std::fs::create_dir_all(active.join("modules/100/base")).unwrap();
        std::fs::create_dir_all(active.join("modules/400/base")).unwrap();
        std::fs::create_dir_all(active.join("modules/100/off")).unwrap();
        std::fs::create_dir_all(active.join("modules/disabled")).unwrap();
        std::fs::write(active.join("modules/disabled/off"), "").unwrap();
        std::fs::write(active.join("file_contexts"), fc).unwrap();
        let port = |t: &str| format!("(portcon tcp 80 (system_u object_r {t} ((s0) (s0))))");
        std::fs::write(active.join("modules/100/base/cil"), port("old_t")).unwrap();
        std::fs::write(active.join("modules/400/base/cil"), port("http_port_t")).unwrap();
        std::fs::write(
            active.join("modules/100/off/cil"),
            "(portcon tcp 81 (u r off_t ((s0) (s0))))",
        )
        .unwrap();
        let p = PolicyStore::at(&etc, &store);
        assert_eq!(p.port_type(80, "tcp").unwrap(), "http_port_t");
        assert!(matches!(
            p.port_type(81, "tcp"),
            Err(SelinuxError::NoPortType { .. })
        ));
        assert_eq!(
            p.path_types("/srv").unwrap(),
            ["var_t", "httpd_sys_content_t", "var_t"]
        );
        assert_eq!(p.path_types("/srv/www/x").unwrap(), ["httpd_sys_content_t"]);
        let none = PolicyStore::at(&d.path().join("nothing"), &d.path().join("nothing"));
        assert!(matches!(
            none.port_type(80, "tcp"),
            Err(SelinuxError::NoStore(_))
        ));
    }
}

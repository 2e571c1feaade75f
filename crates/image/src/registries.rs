//! `registries.conf` as podman reads it (containers-registries.conf(5), v2
//! format, with the v1 `[registries.search]`/`[registries.insecure]` tables
//! still understood): short-name search, aliases, prefix rewrites to another
//! location, mirrors, and insecure (plain HTTP / unverified TLS) registries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::reference::{parse_name, Reference, ReferenceError};

pub const DEFAULT_PATH: &str = "/etc/containers/registries.conf";
pub const ENV_VAR: &str = "CONTAINERS_REGISTRIES_CONF";

#[derive(Debug, thiserror::Error)]
pub enum RegistriesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    #[error("registry {0} is blocked in registries.conf")]
    Blocked(String),
    #[error("short name {0:?} did not resolve to an alias and no unqualified-search registries are defined in registries.conf: use a fully qualified name such as docker.io/library/{0}")]
    NoSearchRegistries(String),
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Mirror {
    pub location: String,
    #[serde(default)]
    pub insecure: bool,
    #[serde(rename = "pull-from-mirror", default)]
    pub pull_from_mirror: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct RegistryEntry {
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default, rename = "mirror")]
    pub mirrors: Vec<Mirror>,
}

impl RegistryEntry {
    fn effective_prefix(&self) -> &str {
        if self.prefix.is_empty() {
            &self.location
        } else {
            &self.prefix
        }
    }

    /// How well this entry's prefix matches `name` (`registry/repository`):
    /// the prefix length for a match, `None` otherwise. `*.example.com`
    /// prefixes match any subdomain.
    fn match_len(&self, name: &str) -> Option<usize> {
        let prefix = self.effective_prefix();
        if let Some(suffix) = prefix.strip_prefix("*.") {
            let host = name.split('/').next().unwrap_or("");
            let host_no_port = host.split(':').next().unwrap_or("");
            return (host_no_port.ends_with(&format!(".{suffix}"))).then_some(prefix.len());
        }
        let boundary_ok = name.len() == prefix.len()
            || matches!(name.as_bytes().get(prefix.len()), Some(b'/' | b':' | b'@'));
        (name.starts_with(prefix) && boundary_ok).then_some(prefix.len())
    }
}

#[derive(Debug, Default, Deserialize)]
struct V1Tables {
    #[serde(default)]
    search: Option<V1List>,
    #[serde(default)]
    insecure: Option<V1List>,
    #[serde(default)]
    block: Option<V1List>,
}

#[derive(Debug, Default, Deserialize)]
struct V1List {
    #[serde(default)]
    registries: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct FileFormat {
    #[serde(rename = "unqualified-search-registries", default)]
    unqualified_search_registries: Option<Vec<String>>,
    #[serde(rename = "short-name-mode", default)]
    short_name_mode: Option<String>,
    #[serde(default, rename = "registry")]
    registry: Vec<RegistryEntry>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    #[serde(default)]
    registries: Option<V1Tables>,
}

/// Where one pull attempt goes: a (possibly rewritten or mirrored) reference,
/// and whether that endpoint is insecure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSource {
    pub reference: Reference,
    pub insecure: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistriesConf {
    pub unqualified_search: Vec<String>,
    pub short_name_mode: Option<String>,
    pub registries: Vec<RegistryEntry>,
    pub aliases: BTreeMap<String, String>,
}

impl RegistriesConf {
    /// The configuration podman would use: `$CONTAINERS_REGISTRIES_CONF` if
    /// set, else /etc/containers/registries.conf, plus the drop-ins of the
    /// `.d` directory beside it. A missing file is an empty configuration.
    pub fn load_default() -> Result<RegistriesConf, RegistriesError> {
        match std::env::var_os(ENV_VAR) {
            Some(p) => RegistriesConf::load(Path::new(&p)),
            None => {
                let mut conf = RegistriesConf::load(Path::new(DEFAULT_PATH))?;
                conf.merge_dropins(Path::new("/etc/containers/registries.conf.d"))?;
                Ok(conf)
            }
        }
    }

    pub fn load(path: &Path) -> Result<RegistriesConf, RegistriesError> {
        match std::fs::read_to_string(path) {
            Ok(text) => RegistriesConf::parse_at(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RegistriesConf::default()),
            Err(source) => Err(RegistriesError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn parse(text: &str) -> Result<RegistriesConf, RegistriesError> {
        RegistriesConf::parse_at(text, Path::new("<registries.conf>"))
    }

    fn parse_at(text: &str, path: &Path) -> Result<RegistriesConf, RegistriesError> {
        let file: FileFormat = toml::from_str(text).map_err(|e| RegistriesError::Parse {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        let mut conf = RegistriesConf {
            unqualified_search: file.unqualified_search_registries.unwrap_or_default(),
            short_name_mode: file.short_name_mode,
            registries: file.registry,
            aliases: file.aliases,
        };
        if let Some(v1) = file.registries {
            conf.apply_v1(v1);
        }
        Ok(conf)
    }

    fn apply_v1(&mut self, v1: V1Tables) {
        if let Some(search) = v1.search {
            self.unqualified_search.extend(search.registries);
        }
        let mut flag = |hosts: Vec<String>, set: fn(&mut RegistryEntry)| {
            for host in hosts {
                let pos = self
                    .registries
                    .iter()
                    .position(|r| r.effective_prefix() == host);
                let entry = match pos {
                    Some(i) => &mut self.registries[i],
                    None => {
                        self.registries.push(RegistryEntry {
                            location: host.clone(),
                            ..RegistryEntry::default()
                        });
                        self.registries.last_mut().expect("just pushed")
                    }
                };
                set(entry);
            }
        };
        flag(v1.insecure.map(|l| l.registries).unwrap_or_default(), |e| {
            e.insecure = true
        });
        flag(v1.block.map(|l| l.registries).unwrap_or_default(), |e| {
            e.blocked = true
        });
    }

    /// Drop-in files override keys of the main file, in lexical order.
    fn merge_dropins(&mut self, dir: &Path) -> Result<(), RegistriesError> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        paths.sort();
        for p in paths {
            let d = RegistriesConf::load(&p)?;
            if !d.unqualified_search.is_empty() {
                self.unqualified_search = d.unqualified_search;
            }
            if d.short_name_mode.is_some() {
                self.short_name_mode = d.short_name_mode;
            }
            for r in d.registries {
                self.registries
                    .retain(|old| old.effective_prefix() != r.effective_prefix());
                self.registries.push(r);
            }
            self.aliases.extend(d.aliases);
        }
        Ok(())
    }

    /// The entry with the longest prefix matching `reference`.
    pub fn find(&self, reference: &Reference) -> Option<&RegistryEntry> {
        let name = reference.name();
        self.registries
            .iter()
            .filter_map(|r| r.match_len(&name).map(|n| (n, r)))
            .max_by_key(|(n, _)| *n)
            .map(|(_, r)| r)
    }

    /// Whether the registry host (`host[:port]`) is marked insecure.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let probe = Reference {
            registry: registry.to_string(),
            repository: "x".to_string(),
            tag: None,
            digest: None,
        };
        self.find(&probe).is_some_and(|r| r.insecure)
    }

    /// The endpoints to try, in order, for a pull of `reference`: its mirrors,
    /// then its (possibly rewritten) location. Blocked registries are an error.
    pub fn pull_sources(&self, reference: &Reference) -> Result<Vec<PullSource>, RegistriesError> {
        let Some(entry) = self.find(reference) else {
            return Ok(vec![PullSource {
                reference: reference.clone(),
                insecure: false,
            }]);
        };
        if entry.blocked {
            return Err(RegistriesError::Blocked(reference.registry.clone()));
        }
        let mut sources = Vec::new();
        let digest_pinned = reference.digest.is_some();
        for m in &entry.mirrors {
            // "digest-only" mirrors serve only pulls by digest, as podman does.
            if m.pull_from_mirror.as_deref() == Some("digest-only") && !digest_pinned {
                continue;
            }
            if m.pull_from_mirror.as_deref() == Some("tag-only") && digest_pinned {
                continue;
            }
            sources.push(PullSource {
                reference: rewrite(reference, entry.effective_prefix(), &m.location)?,
                insecure: m.insecure,
            });
        }
        let location = if entry.location.is_empty() {
            entry.effective_prefix()
        } else {
            &entry.location
        };
        sources.push(PullSource {
            reference: rewrite(reference, entry.effective_prefix(), location)?,
            insecure: entry.insecure,
        });
        Ok(sources)
    }

    /// Candidate references for a short name, as podman resolves them: an
    /// alias if one is configured, else the name on each unqualified-search
    /// registry in order. A qualified name is returned as it is.
    pub fn resolve(&self, input: &str) -> Result<Vec<Reference>, RegistriesError> {
        let parsed = parse_name(input)?;
        if parsed.is_qualified() {
            return Ok(vec![Reference::parse(input)?]);
        }
        if let Some(alias) = self.aliases.get(&parsed.path) {
            let target = parse_name(alias)?;
            let registry = target.domain.clone().unwrap_or_default();
            let mut r = crate::reference::ParsedName {
                tag: parsed.tag.clone().or(target.tag.clone()),
                digest: parsed.digest.clone().or(target.digest.clone()),
                ..target
            }
            .on_registry(&registry);
            if r.digest.is_some() && parsed.tag.is_none() {
                r.tag = None;
            }
            return Ok(vec![r]);
        }
        if self.unqualified_search.is_empty() {
            return Err(RegistriesError::NoSearchRegistries(input.to_string()));
        }
        Ok(self
            .unqualified_search
            .iter()
            .map(|reg| parsed.on_registry(reg))
            .collect())
    }
}

/// Replaces `prefix` at the start of `reference`'s name with `location`.
/// Wildcard prefixes (`*.example.com`) cannot be rewritten, so they keep the host.
fn rewrite(
    reference: &Reference,
    prefix: &str,
    location: &str,
) -> Result<Reference, RegistriesError> {
    if prefix.starts_with("*.") || prefix == location {
        return Ok(reference.clone());
    }
    let name = reference.name();
    let rest = &name[prefix.len().min(name.len())..];
    let new_name = format!("{location}{rest}");
    let (registry, repository) = new_name
        .split_once('/')
        .map(|(r, p)| (r.to_string(), p.to_string()))
        .unwrap_or((new_name.clone(), String::new()));
    Ok(Reference {
        registry,
        repository,
        tag: reference.tag.clone(),
        digest: reference.digest.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
unqualified-search-registries = ["127.0.0.1:5000", "docker.io"]

[[registry]]
prefix = "example.com/foo"
location = "internal.example.com/bar"
insecure = true

[[registry.mirror]]
location = "mirror.local:5000/foo"
insecure = true

[[registry]]
location = "example.com"
blocked = true

[[registry]]
prefix = "*.wild.io"
insecure = true

[aliases]
"myapp" = "quay.io/team/app"
"#;

    #[test]
    fn short_names_resolve_through_search_registries_and_aliases() {
        let c = RegistriesConf::parse(CONF).unwrap();
        let got: Vec<String> = c
            .resolve("busybox")
            .unwrap()
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            got,
            [
                "127.0.0.1:5000/busybox:latest",
                "docker.io/library/busybox:latest"
            ]
        );
        assert_eq!(
            c.resolve("myapp:2").unwrap()[0].to_string(),
            "quay.io/team/app:2"
        );
        assert_eq!(
            c.resolve("quay.io/x/y").unwrap()[0].to_string(),
            "quay.io/x/y:latest"
        );
        let empty = RegistriesConf::default();
        assert!(matches!(
            empty.resolve("busybox"),
            Err(RegistriesError::NoSearchRegistries(_))
        ));
    }

    #[test]
    fn prefixes_rewrite_mirror_and_block() {
        let c = RegistriesConf::parse(CONF).unwrap();
        let r = Reference::parse("example.com/foo/app:1").unwrap();
        let s = c.pull_sources(&r).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].reference.to_string(), "mirror.local:5000/foo/app:1");
        assert_eq!(s[1].reference.to_string(), "internal.example.com/bar/app:1");
        assert!(s[1].insecure);
        // "example.com/foobar" must not match the "example.com/foo" prefix.
        let other = Reference::parse("example.com/foobar:1").unwrap();
        assert!(matches!(
            c.pull_sources(&other),
            Err(RegistriesError::Blocked(_))
        ));
        assert!(c.is_insecure("a.wild.io"));
        assert!(!c.is_insecure("wild.io.evil.com"));
        assert!(!c.is_insecure("docker.io"));
    }

    #[test]
    fn v1_tables_are_understood() {
        let c = RegistriesConf::parse(
            "[registries.search]\nregistries = ['r.io']\n[registries.insecure]\nregistries = ['localhost:5000']\n",
        )
        .unwrap();
        assert_eq!(c.unqualified_search, ["r.io"]);
        assert!(c.is_insecure("localhost:5000"));
    }

    #[test]
    fn bad_files_give_a_clear_error() {
        let e = RegistriesConf::parse("unqualified-search-registries = 3").unwrap_err();
        assert!(e.to_string().contains("cannot parse"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let missing = RegistriesConf::load(&dir.path().join("nope.conf")).unwrap();
        assert_eq!(missing, RegistriesConf::default());
    }
}

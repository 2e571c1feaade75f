//! Lookaside signature storage, configured as containers/image does in
//! `registries.d`: YAML files whose `docker` map gives, per registry,
//! namespace, repository or image, where signatures are read
//! (`lookaside`) and written (`lookaside-staging`); `default-docker` covers
//! the rest. The older key names `sigstore` and `sigstore-staging` mean the
//! same. The most precise scope that has a section wins, whole.
//!
//! A signature of manifest `D` of repository `ns/name` lives at
//! `BASE/ns/name@sha256=HEX/signature-N`, N counting from 1.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use hoist_image::{Digest, Reference};
use serde::Deserialize;
use url::Url;

use crate::error::{Result, SignError};

/// Where registries.d lives unless the user has one of their own.
pub const SYSTEM_DIR: &str = "/etc/containers/registries.d";
/// Where signatures go when no configuration names a place (containers/image's default for root).
pub const DEFAULT_STORE: &str = "file:///var/lib/containers/sigstore";
/// containers/image reads at most this many signatures of one manifest.
pub const MAX_SIGNATURES: u32 = 128;

#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
struct Section {
    lookaside: Option<String>,
    lookaside_staging: Option<String>,
    sigstore: Option<String>,
    sigstore_staging: Option<String>,
    // Accepted for compatibility; sigstore attachments are not supported.
    #[serde(default)]
    #[allow(dead_code)]
    use_sigstore_attachments: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct File {
    default_docker: Option<Section>,
    #[serde(default)]
    docker: BTreeMap<String, Section>,
}

/// The merged registries.d configuration.
#[derive(Debug, Default, Clone)]
pub struct Lookaside {
    default_docker: Option<Section>,
    docker: BTreeMap<String, Section>,
}

/// The registries.d directory containers/image reads: the user's
/// `$HOME/.config/containers/registries.d` if it exists, else the system's.
pub fn default_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".config/containers/registries.d"))
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(|| PathBuf::from(SYSTEM_DIR))
}

impl Lookaside {
    /// Reads every `*.yaml` file of `dir`; a missing directory is an empty
    /// configuration. A scope defined in two files is an error, as in
    /// containers/image, since which one wins would be arbitrary.
    pub fn load(dir: &Path) -> Result<Lookaside> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lookaside::default()),
            Err(e) => return Err(SignError::io(dir, e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        paths.sort();
        let mut merged = Lookaside::default();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| SignError::io(&path, e))?;
            merged.merge(&path, &text)?;
        }
        Ok(merged)
    }

    /// Adds one file's content.
    pub fn merge(&mut self, path: &Path, text: &str) -> Result<()> {
        let config_error = |reason: String| SignError::Config {
            path: path.to_path_buf(),
            reason,
        };
        let file: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| config_error(e.to_string()))?
        };
        if let Some(d) = file.default_docker {
            if self.default_docker.is_some() {
                return Err(config_error(
                    "default-docker is defined in more than one file".into(),
                ));
            }
            self.default_docker = Some(d);
        }
        for (scope, section) in file.docker {
            if self.docker.contains_key(&scope) {
                return Err(config_error(format!(
                    "scope {scope} is defined in more than one file"
                )));
            }
            self.docker.insert(scope, section);
        }
        Ok(())
    }

    /// The section for `image`: its most precise scope's, else the default.
    fn section(&self, image: &Reference) -> Option<&Section> {
        scopes(image)
            .iter()
            .find_map(|s| self.docker.get(s))
            .or(self.default_docker.as_ref())
    }

    /// Where signatures of `image`'s repository are written: a directory.
    pub fn staging_dir(&self, image: &Reference) -> Result<PathBuf> {
        let section = self.section(image);
        let base = section
            .and_then(|s| {
                s.lookaside_staging
                    .clone()
                    .or_else(|| s.sigstore_staging.clone())
                    .or_else(|| s.lookaside.clone())
                    .or_else(|| s.sigstore.clone())
            })
            .unwrap_or_else(|| DEFAULT_STORE.to_string());
        let url = Url::parse(&base).map_err(|_| SignError::NotWritable(base.clone()))?;
        if url.scheme() != "file" {
            return Err(SignError::NotWritable(base));
        }
        Ok(Path::new(url.path()).join(&image.repository))
    }

    /// Where signatures of `image`'s repository are read, if anywhere is
    /// configured: `file`, `http` or `https` URL of the repository's part.
    pub fn read_base(&self, image: &Reference) -> Option<Url> {
        let section = self.section(image)?;
        let base = section
            .lookaside
            .clone()
            .or_else(|| section.sigstore.clone())?;
        let mut url = Url::parse(&base).ok()?;
        let path = format!("{}/{}", url.path().trim_end_matches('/'), image.repository);
        url.set_path(&path);
        Some(url)
    }
}

/// The scopes that may configure `image`, most precise first: the image
/// itself, its repository, each parent namespace, the registry.
fn scopes(image: &Reference) -> Vec<String> {
    let name = image.name();
    let mut out = vec![];
    match (&image.digest, &image.tag) {
        (Some(d), _) => out.push(format!("{name}@{d}")),
        (None, Some(t)) => out.push(format!("{name}:{t}")),
        (None, None) => out.push(format!("{name}:latest")),
    }
    let mut scope = name.as_str();
    out.push(scope.to_string());
    while let Some((parent, _)) = scope.rsplit_once('/') {
        out.push(parent.to_string());
        scope = parent;
    }
    out
}

/// The directory of `digest`'s signatures under a repository's base.
fn manifest_part(digest: &Digest) -> String {
    format!("@{}={}", digest.algorithm().as_str(), digest.hex())
}

/// Signatures of one repository, kept in a directory.
#[derive(Debug, Clone)]
pub struct SignatureStore {
    repository_dir: PathBuf,
}

impl SignatureStore {
    /// The store whose repository directory is `repository_dir`
    /// (`BASE/ns/name`).
    pub fn new(repository_dir: PathBuf) -> SignatureStore {
        SignatureStore { repository_dir }
    }

    /// The directory holding the signatures of `digest`.
    pub fn dir_of(&self, digest: &Digest) -> PathBuf {
        let mut name = self.repository_dir.clone().into_os_string();
        name.push(manifest_part(digest));
        PathBuf::from(name)
    }

    /// Adds `signature` as the first free `signature-N` of `digest`. The
    /// file appears whole or not at all; two signers at once each get
    /// their own N.
    pub fn add(&self, digest: &Digest, signature: &[u8]) -> Result<PathBuf> {
        let dir = self.dir_of(digest);
        std::fs::create_dir_all(&dir).map_err(|e| SignError::io(&dir, e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".signature-")
            .tempfile_in(&dir)
            .map_err(|e| SignError::io(&dir, e))?;
        tmp.write_all(signature)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| SignError::io(tmp.path(), e))?;
        let mut n = 1;
        loop {
            let target = dir.join(format!("signature-{n}"));
            match tmp.persist_noclobber(&target) {
                Ok(file) => {
                    set_mode(&target, &file)?;
                    return Ok(target);
                }
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                    tmp = e.file;
                    n += 1;
                }
                Err(e) => return Err(SignError::io(&target, e.error)),
            }
        }
    }

    /// The signatures of `digest` in this directory, in order, stopping
    /// at the first missing number.
    pub fn read(&self, digest: &Digest) -> Result<Vec<Vec<u8>>> {
        let dir = self.dir_of(digest);
        let mut out = vec![];
        for n in 1..=MAX_SIGNATURES {
            let path = dir.join(format!("signature-{n}"));
            match std::fs::read(&path) {
                Ok(bytes) => out.push(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(SignError::io(&path, e)),
            }
        }
        Ok(out)
    }
}

/// The URL of signature `n` of `digest` under a repository's read base.
pub fn signature_url(repository: &Url, digest: &Digest, n: u32) -> Url {
    let mut url = repository.clone();
    let path = format!("{}{}/signature-{n}", url.path(), manifest_part(digest));
    url.set_path(&path);
    url
}

/// Signatures are public; 0644 as podman writes them (a temporary file
/// starts at 0600).
fn set_mode(path: &Path, file: &std::fs::File) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(|e| SignError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    fn config(yaml: &str) -> Lookaside {
        let mut l = Lookaside::default();
        l.merge(Path::new("t.yaml"), yaml).unwrap();
        l
    }

    #[test]
    fn the_most_precise_scope_wins_whole_and_staging_comes_first() {
        let l = config(
            "default-docker:\n  lookaside: file:///d\n\
             docker:\n  reg.io:\n    sigstore: file:///r\n    sigstore-staging: file:///rs\n\
             \x20 reg.io/team:\n    lookaside: https://sigs.example/x\n",
        );
        assert_eq!(
            l.staging_dir(&r("reg.io/app:1")).unwrap(),
            Path::new("/rs/app")
        );
        assert_eq!(
            l.staging_dir(&r("other.io/a/b")).unwrap(),
            Path::new("/d/a/b")
        );
        // reg.io/team has only a remote lookaside: nothing writable, and
        // reg.io's staging is not consulted.
        assert!(matches!(
            l.staging_dir(&r("reg.io/team/app:1")),
            Err(SignError::NotWritable(_))
        ));
        assert_eq!(
            l.read_base(&r("reg.io/team/app:1")).unwrap().as_str(),
            "https://sigs.example/x/team/app"
        );
        assert!(Lookaside::default().read_base(&r("reg.io/a")).is_none());
    }

    #[test]
    fn without_configuration_signatures_go_to_the_default_store() {
        let l = Lookaside::default();
        assert_eq!(
            l.staging_dir(&r("quay.io/libpod/testimage:1")).unwrap(),
            Path::new("/var/lib/containers/sigstore/libpod/testimage")
        );
    }

    #[test]
    fn a_scope_in_two_files_and_bad_yaml_are_errors() {
        let mut l = config("docker:\n  reg.io:\n    lookaside: file:///a\n");
        assert!(l
            .merge(
                Path::new("b.yaml"),
                "docker:\n  reg.io:\n    lookaside: file:///b\n"
            )
            .is_err());
        assert!(l.merge(Path::new("c.yaml"), "docker: [1, 2]\n").is_err());
        assert!(l.merge(Path::new("d.yaml"), "surprise: {}\n").is_err());
    }

    #[test]
    fn signatures_take_the_first_free_number_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SignatureStore::new(dir.path().join("ns/app"));
        let d = Digest::sha256_of(b"m");
        let first = store.add(&d, b"one").unwrap();
        let second = store.add(&d, b"two").unwrap();
        assert_eq!(
            first,
            dir.path()
                .join(format!("ns/app@sha256={}/signature-1", d.hex()))
        );
        assert!(second.ends_with("signature-2"));
        assert_eq!(
            store.read(&d).unwrap(),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        let leftovers = std::fs::read_dir(store.dir_of(&d)).unwrap().count();
        assert_eq!(leftovers, 2, "no temporary file is left");
    }

    #[test]
    fn signature_urls_follow_the_lookaside_layout() {
        let d = Digest::sha256_of(b"m");
        let base = Url::parse("https://s.example/sigs/ns/app").unwrap();
        assert_eq!(
            signature_url(&base, &d, 3).as_str(),
            format!(
                "https://s.example/sigs/ns/app@sha256={}/signature-3",
                d.hex()
            )
        );
    }
}

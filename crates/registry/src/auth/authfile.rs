//! containers-auth.json, read and written as podman does:
//! `{"auths":{"host:port":{"auth":"base64(user:pass)"}}}`.
//!
//! Keys may be a host (`quay.io`), a host with a namespace or repository
//! (`quay.io/team`, podman's per-repository logins), or a docker-style URL
//! (`https://index.docker.io/v1/`). Other top-level fields and entry fields
//! we do not understand (credHelpers, identitytoken...) are preserved.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::{RegistryError, Result};

/// One auth file, loaded into memory. Missing files load as empty.
#[derive(Debug, Clone)]
pub struct AuthFile {
    path: PathBuf,
    root: Map<String, Value>,
}

impl AuthFile {
    /// podman's default: $REGISTRY_AUTH_FILE, else
    /// $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/<uid>/auth.json.
    pub fn default_path() -> PathBuf {
        default_path_from(
            std::env::var_os("REGISTRY_AUTH_FILE"),
            std::env::var_os("XDG_RUNTIME_DIR"),
            rustix::process::getuid().as_raw(),
        )
    }

    /// Files consulted read-only, after the primary one, when looking up
    /// credentials: $XDG_CONFIG_HOME/containers/auth.json and the docker CLI's
    /// $HOME/.docker/config.json, as podman does.
    pub fn fallback_paths() -> Vec<PathBuf> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| home.as_ref().map(|h| h.join(".config")));
        let mut out = Vec::new();
        if let Some(c) = config {
            out.push(c.join("containers/auth.json"));
        }
        if let Some(h) = home {
            out.push(h.join(".docker/config.json"));
        }
        out
    }

    /// Loads `path`; a missing or empty file is an empty auth file.
    pub fn load(path: impl AsRef<Path>) -> Result<AuthFile> {
        let path = path.as_ref().to_path_buf();
        let err = |detail: String| RegistryError::AuthFile {
            path: path.display().to_string(),
            detail,
        };
        let root = match fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err(err("not a JSON object; fix or remove the file".into())),
                Err(e) => return Err(err(format!("invalid JSON ({e}); fix or remove the file"))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(err(format!("cannot read: {e}"))),
        };
        if root.get("auths").is_some_and(|a| !a.is_object()) {
            return Err(err(
                "\"auths\" is not a JSON object; fix or remove the file".into(),
            ));
        }
        Ok(AuthFile { path, root })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.root.get("auths")?.as_object()
    }

    fn auths_mut(&mut self) -> &mut Map<String, Value> {
        let v = self
            .root
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !v.is_object() {
            *v = Value::Object(Map::new());
        }
        v.as_object_mut().expect("just made an object")
    }

    /// The registry keys present, as written in the file.
    pub fn keys(&self) -> Vec<String> {
        self.auths()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Credentials for a registry host: an entry keyed by exactly that host
    /// (in any of the accepted spellings) wins, else any `host/namespace` entry.
    pub fn get(&self, registry: &str) -> Option<(String, String)> {
        let want = normalize_host(registry);
        let auths = self.auths()?;
        let mut fallback = None;
        for (key, entry) in auths {
            let (host, path) = split_key(key);
            if host != want {
                continue;
            }
            let Some(creds) = decode_entry(entry) else {
                continue;
            };
            if path.is_empty() {
                return Some(creds);
            }
            fallback.get_or_insert(creds);
        }
        fallback
    }

    /// Credentials for one repository: the most specific key wins
    /// (`host/ns/repo` over `host/ns` over `host`), as podman resolves them.
    pub fn get_for_repository(&self, registry: &str, repository: &str) -> Option<(String, String)> {
        let want = normalize_host(registry);
        let auths = self.auths()?;
        let mut best: Option<(usize, (String, String))> = None;
        for (key, entry) in auths {
            let (host, path) = split_key(key);
            if host != want {
                continue;
            }
            let matches = path.is_empty()
                || repository == path
                || repository
                    .strip_prefix(path.as_str())
                    .is_some_and(|r| r.starts_with('/'));
            if !matches {
                continue;
            }
            let Some(creds) = decode_entry(entry) else {
                continue;
            };
            if best.as_ref().is_none_or(|(len, _)| path.len() > *len) {
                best = Some((path.len(), creds));
            }
        }
        best.map(|(_, c)| c)
    }

    /// Stores credentials under `registry` (a host or `host/namespace`),
    /// replacing other spellings of the same key.
    pub fn set(&mut self, registry: &str, username: &str, password: &str) {
        let key = normalize_key(registry);
        self.remove_spellings(&key);
        let mut entry = Map::new();
        entry.insert(
            "auth".into(),
            Value::String(B64.encode(format!("{username}:{password}"))),
        );
        self.auths_mut().insert(key, Value::Object(entry));
    }

    /// Removes the entry for `registry` (any spelling); false if there was none.
    pub fn remove(&mut self, registry: &str) -> bool {
        let key = normalize_key(registry);
        self.remove_spellings(&key)
    }

    /// Removes every entry (podman logout --all).
    pub fn remove_all(&mut self) {
        self.auths_mut().clear();
    }

    fn remove_spellings(&mut self, key: &str) -> bool {
        let auths = self.auths_mut();
        let doomed: Vec<String> = auths
            .keys()
            .filter(|k| normalize_key(k) == key)
            .cloned()
            .collect();
        for k in &doomed {
            auths.remove(k);
        }
        !doomed.is_empty()
    }

    /// Writes the file atomically and durably (hoist_fsutil) with mode 0600,
    /// creating its directory (mode 0700) if needed.
    pub fn save(&self) -> Result<()> {
        let err = |detail: String| RegistryError::AuthFile {
            path: self.path.display().to_string(),
            detail,
        };
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| err(format!("cannot create directory {}: {e}", dir.display())))?;
        let mut root = self.root.clone();
        root.entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        // podman indents with tabs; keep the file diff-friendly the same way.
        let mut text = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut text, fmt);
        serde::Serialize::serialize(&Value::Object(root), &mut ser)
            .map_err(|e| err(format!("cannot serialize: {e}")))?;
        text.push(b'\n');

        // 0600 as podman keeps it: the file holds credentials.
        hoist_fsutil::write_file(&self.path, &text, 0o600)
            .map_err(|e| err(format!("cannot write: {e}")))
    }
}

fn default_path_from(
    explicit: Option<std::ffi::OsString>,
    runtime_dir: Option<std::ffi::OsString>,
    uid: u32,
) -> PathBuf {
    if let Some(p) = explicit.filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(d) = runtime_dir.filter(|p| !p.is_empty()) {
        return PathBuf::from(d).join("containers/auth.json");
    }
    PathBuf::from(format!("/run/containers/{uid}/auth.json"))
}

/// Docker Hub has several historical host names; credentials for any of them
/// are credentials for `docker.io`.
pub fn normalize_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

/// Splits a key into (normalized host, repository path without slashes at the ends).
fn split_key(key: &str) -> (String, String) {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let (host, path) = k.split_once('/').unwrap_or((k, ""));
    let host = normalize_host(host);
    // Docker CLI keys look like https://index.docker.io/v1/: the path there
    // is an API version, not a namespace.
    let path = path.trim_matches('/');
    let path = if key.contains("://") && (path == "v1" || path == "v2") {
        ""
    } else {
        path
    };
    (host, path.to_string())
}

fn normalize_key(key: &str) -> String {
    let (host, path) = split_key(key);
    if path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

fn decode_entry(entry: &Value) -> Option<(String, String)> {
    let auth = entry.get("auth")?.as_str()?;
    if auth.is_empty() {
        return None;
    }
    let raw = B64.decode(auth.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.trim_end_matches('\n').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn auth(user: &str, pass: &str) -> String {
        B64.encode(format!("{user}:{pass}"))
    }

    #[test]
    fn default_path_follows_podman_order() {
        assert_eq!(
            default_path_from(
                Some("/x/a.json".into()),
                Some("/run/user/1000".into()),
                1000
            ),
            PathBuf::from("/x/a.json")
        );
        assert_eq!(
            default_path_from(None, Some("/run/user/1000".into()), 1000),
            PathBuf::from("/run/user/1000/containers/auth.json")
        );
        assert_eq!(
            default_path_from(Some("".into()), None, 0),
            PathBuf::from("/run/containers/0/auth.json")
        );
    }

    #[test]
    fn round_trip_preserves_unknown_fields_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/auth.json");
        let mut f = AuthFile::load(&path).unwrap();
        assert!(f.get("quay.io").is_none());
        f.set("quay.io", "alice", "pa:ss");
        f.set("127.0.0.1:5000", "bob", "secret");
        f.save().unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);

        let text = fs::read_to_string(&path).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["auths"]["quay.io"]["auth"], auth("alice", "pa:ss"));
        assert!(text.contains("\n\t\"auths\""), "{text}");

        // Unknown fields survive a load/save cycle.
        let mut v = v;
        v["credHelpers"] = serde_json::json!({"gcr.io": "gcloud"});
        v["auths"]["quay.io"]["identitytoken"] = "x".into();
        fs::write(&path, v.to_string()).unwrap();
        let mut f = AuthFile::load(&path).unwrap();
        assert_eq!(f.get("quay.io"), Some(("alice".into(), "pa:ss".into())));
        assert!(f.remove("127.0.0.1:5000"));
        assert!(!f.remove("127.0.0.1:5000"));
        f.save().unwrap();
        let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["credHelpers"]["gcr.io"], "gcloud");
        assert!(v["auths"].get("127.0.0.1:5000").is_none());

        f.remove_all();
        f.save().unwrap();
        let f = AuthFile::load(&path).unwrap();
        assert!(f.keys().is_empty());
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn lookup_matches_every_key_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let json = serde_json::json!({"auths": {
            "https://index.docker.io/v1/": {"auth": auth("hub", "h")},
            "https://ghcr.io/": {"auth": auth("gh", "g")},
            "quay.io/team": {"auth": auth("team", "t")},
            "quay.io/team/app": {"auth": auth("app", "a")},
            "registry.example:5000": {"auth": ""},
            "Example.COM": {"auth": auth("ex", "e")},
        }});
        fs::write(&path, json.to_string()).unwrap();
        let f = AuthFile::load(&path).unwrap();
        assert_eq!(f.get("docker.io").unwrap().0, "hub");
        assert_eq!(f.get("registry-1.docker.io").unwrap().0, "hub");
        assert_eq!(f.get("ghcr.io").unwrap().0, "gh");
        assert_eq!(f.get("example.com").unwrap().0, "ex");
        // Only namespace-scoped entries exist for quay.io: one of them is used.
        assert!(f.get("quay.io").is_some());
        assert_eq!(
            f.get_for_repository("quay.io", "team/app").unwrap().0,
            "app"
        );
        assert_eq!(
            f.get_for_repository("quay.io", "team/other").unwrap().0,
            "team"
        );
        assert_eq!(f.get_for_repository("quay.io", "teamster/x"), None);
        assert_eq!(f.get_for_repository("quay.io", "other/x"), None);
        // An empty auth (e.g. identity token only) is not usable credentials.
        assert_eq!(f.get("registry.example:5000"), None);
        assert_eq!(f.get("nowhere.example"), None);
    }

    #[test]
    fn set_replaces_other_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        fs::write(
            &path,
            serde_json::json!({"auths": {"https://index.docker.io/v1/": {"auth": auth("old", "o")}}})
                .to_string(),
        )
        .unwrap();
        let mut f = AuthFile::load(&path).unwrap();
        f.set("docker.io", "new", "n");
        assert_eq!(f.keys(), vec!["docker.io".to_string()]);
        assert_eq!(f.get("docker.io").unwrap().0, "new");
    }

    #[test]
    fn refuses_corrupt_files_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        fs::write(&path, "{not json").unwrap();
        let e = AuthFile::load(&path).unwrap_err().to_string();
        assert!(e.contains("invalid JSON") && e.contains("auth.json"), "{e}");
        fs::write(&path, "  \n").unwrap();
        assert!(AuthFile::load(&path).unwrap().keys().is_empty());
    }
}

//! Authentication: where credentials come from, which scopes a request
//! needs, and the Authorization header a registry's challenge calls for.

pub mod authfile;
pub mod challenge;
pub mod token;

use std::fmt;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use reqwest::header::HeaderValue;

use crate::error::Result;
use crate::host::Host;
pub use authfile::AuthFile;
use challenge::Scheme;

/// A repository access scope of the token protocol.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub repository: String,
    pub push: bool,
}

impl Scope {
    pub fn pull(repository: &str) -> Scope {
        Scope {
            repository: repository.to_string(),
            push: false,
        }
    }

    pub fn push(repository: &str) -> Scope {
        Scope {
            repository: repository.to_string(),
            push: true,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actions = if self.push { "pull,push" } else { "pull" };
        write!(f, "repository:{}:{actions}", self.repository)
    }
}

/// Where credentials come from.
#[derive(Clone)]
pub enum CredentialSource {
    /// Never send credentials.
    Anonymous,
    /// The same credentials for every registry (podman's `--creds`).
    Static { username: String, password: String },
    /// An auth file (`None`: `AuthFile::default_path()`), then, if
    /// `fallbacks`, podman's read-only fallbacks ($XDG_CONFIG_HOME's
    /// containers/auth.json and ~/.docker/config.json). Files are re-read on
    /// each lookup, so a login by another process is seen.
    AuthFiles {
        primary: Option<PathBuf>,
        fallbacks: bool,
    },
}

// Hand-written so that a password never reaches a log through `{:?}`.
impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Anonymous => f.write_str("Anonymous"),
            CredentialSource::Static { username, .. } => f
                .debug_struct("Static")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            CredentialSource::AuthFiles { primary, fallbacks } => f
                .debug_struct("AuthFiles")
                .field("primary", primary)
                .field("fallbacks", fallbacks)
                .finish(),
        }
    }
}

impl Default for CredentialSource {
    fn default() -> Self {
        CredentialSource::AuthFiles {
            primary: None,
            fallbacks: true,
        }
    }
}

impl CredentialSource {
    /// Credentials for `repository` (may be empty) on `registry`, if any.
    pub fn lookup(&self, registry: &str, repository: &str) -> Result<Option<(String, String)>> {
        match self {
            CredentialSource::Anonymous => Ok(None),
            CredentialSource::Static { username, password } => {
                Ok(Some((username.clone(), password.clone())))
            }
            CredentialSource::AuthFiles { primary, fallbacks } => {
                let mut paths = vec![primary.clone().unwrap_or_else(AuthFile::default_path)];
                if *fallbacks {
                    paths.extend(AuthFile::fallback_paths());
                }
                for (i, path) in paths.iter().enumerate() {
                    let file = match AuthFile::load(path) {
                        Ok(f) => f,
                        // A broken fallback (say, a docker config we cannot
                        // parse) must not stop pulls; a broken primary must.
                        Err(e) if i > 0 => {
                            tracing::warn!("ignoring {e}");
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    let found = if repository.is_empty() {
                        file.get(registry)
                    } else {
                        file.get_for_repository(registry, repository)
                    };
                    if found.is_some() {
                        tracing::debug!(registry, file = %path.display(), "using stored credentials");
                        return Ok(found);
                    }
                }
                Ok(None)
            }
        }
    }
}

pub(crate) fn basic_header(user: &str, pass: &str) -> HeaderValue {
    let mut v = HeaderValue::from_str(&format!("Basic {}", B64.encode(format!("{user}:{pass}"))))
        .expect("base64 is a valid header value");
    v.set_sensitive(true);
    v
}

fn bearer_header(token: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// Cache key of a token: the scopes it was issued for, order-independent.
fn scope_key(scopes: &[String]) -> String {
    let mut s = scopes.to_vec();
    s.sort();
    s.dedup();
    s.join(" ")
}

impl Host {
    /// The Authorization header for a request needing `scopes`, following the
    /// registry's last challenge. `extra` is a scope the registry asked for
    /// in a 401; `fresh` skips the token cache after a refusal.
    pub(crate) async fn authorization(
        &self,
        scopes: &[Scope],
        extra: Option<&str>,
        fresh: bool,
    ) -> Result<Option<HeaderValue>> {
        let challenges = self.challenges.lock().expect("poisoned").clone();
        let repo = scopes.first().map(|s| s.repository.as_str()).unwrap_or("");
        if let Some(c) = challenges
            .iter()
            .find(|c| c.scheme == Scheme::Bearer && c.realm().is_some())
        {
            let mut wanted: Vec<String> = scopes.iter().map(Scope::to_string).collect();
            if let Some(e) = extra {
                wanted.push(e.to_string());
            }
            let key = scope_key(&wanted);
            if !fresh {
                if let Some(t) = self.tokens.lock().expect("poisoned").get(&key) {
                    if t.is_fresh() {
                        return Ok(bearer_header(&t.value));
                    }
                }
            }
            let creds = self.creds.lookup(&self.name, repo)?;
            let token = self.fetch_token(c, &wanted, creds.as_ref()).await?;
            let header = bearer_header(&token.value);
            self.tokens.lock().expect("poisoned").insert(key, token);
            return Ok(header);
        }
        if challenges.iter().any(|c| c.scheme == Scheme::Basic) {
            if let Some((u, p)) = self.creds.lookup(&self.name, repo)? {
                return Ok(Some(basic_header(&u, &p)));
            }
        }
        Ok(None)
    }

    /// Forgets cached tokens, e.g. after a login changed the credentials.
    pub(crate) fn forget_tokens(&self) {
        self.tokens.lock().expect("poisoned").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_render_as_the_token_protocol_wants() {
        assert_eq!(
            Scope::pull("library/busybox").to_string(),
            "repository:library/busybox:pull"
        );
        assert_eq!(Scope::push("a/b").to_string(), "repository:a/b:pull,push");
        assert_eq!(
            scope_key(&["b".into(), "a".into(), "b".into()]),
            scope_key(&["a".into(), "b".into()])
        );
    }

    #[test]
    fn static_and_anonymous_sources() {
        let s = CredentialSource::Static {
            username: "u".into(),
            password: "p".into(),
        };
        assert_eq!(
            s.lookup("any", "x").unwrap(),
            Some(("u".into(), "p".into()))
        );
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("\"p\"") && shown.contains("redacted"),
            "{shown}"
        );
        assert_eq!(
            CredentialSource::Anonymous.lookup("any", "x").unwrap(),
            None
        );
    }

    #[test]
    fn auth_file_source_reads_primary_then_fallbacks() {
        let dir = tempfile::tempdir().unwrap();
        let primary = dir.path().join("auth.json");
        let mut f = AuthFile::load(&primary).unwrap();
        f.set("reg.example", "alice", "pw");
        f.save().unwrap();
        let src = CredentialSource::AuthFiles {
            primary: Some(primary.clone()),
            fallbacks: false,
        };
        assert_eq!(
            src.lookup("reg.example", "a/b").unwrap().unwrap().0,
            "alice"
        );
        assert_eq!(src.lookup("reg.example", "").unwrap().unwrap().0, "alice");
        assert_eq!(src.lookup("other.example", "a/b").unwrap(), None);
        std::fs::write(&primary, "{broken").unwrap();
        assert!(src.lookup("reg.example", "a/b").is_err());
    }
}

//! Image references, normalized as podman and docker do:
//! `busybox` → `docker.io/library/busybox:latest`, `localhost:5000/a/b@sha256:…`.
//!
//! Grammar (from the distribution project's reference format): a name is
//! `[DOMAIN/]PATH`, where the first component is a domain only if it contains
//! `.` or `:` or is `localhost`; path components are lower-case alphanumerics
//! joined by `.`, `_`, `__` or runs of `-`; a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.

use std::fmt;

use crate::digest::Digest;

pub const DOCKER_HUB: &str = "docker.io";
const MAX_NAME_LEN: usize = 255;

/// A fully qualified image reference: `registry/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host with optional port, e.g. `docker.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// Repository path, e.g. `library/busybox`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid image reference {input:?}: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

fn err(input: &str, reason: impl Into<String>) -> ReferenceError {
    ReferenceError {
        input: input.to_string(),
        reason: reason.into(),
    }
}

/// A reference split into its parts before any registry is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    /// The domain the user wrote, if any.
    pub domain: Option<String>,
    /// The path as written (no `library/` added).
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl ParsedName {
    /// Whether the user named a registry (podman calls the rest "short names").
    pub fn is_qualified(&self) -> bool {
        self.domain.is_some()
    }

    /// The reference on `registry`, adding `library/` for single-component
    /// paths on Docker Hub, and `:latest` when neither tag nor digest is given.
    pub fn on_registry(&self, registry: &str) -> Reference {
        let registry = normalize_domain(registry);
        let repository = if registry == DOCKER_HUB && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        };
        let tag = match (&self.tag, &self.digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t.clone(),
        };
        Reference {
            registry,
            repository,
            tag,
            digest: self.digest.clone(),
        }
    }
}

fn normalize_domain(domain: &str) -> String {
    match domain {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        d => d.to_string(),
    }
}

/// Splits `input` into domain, path, tag and digest, validating each part.
pub fn parse_name(input: &str) -> Result<ParsedName, ReferenceError> {
    if input.is_empty() {
        return Err(err(input, "empty reference"));
    }
    let (rest, digest) = match input.split_once('@') {
        Some((r, d)) => {
            let digest = d.parse::<Digest>().map_err(|e| err(input, e.to_string()))?;
            (r, Some(digest))
        }
        None => (input, None),
    };
    // A tag is what follows the last ':' when no '/' comes after it
    // (otherwise that ':' belongs to a registry port).
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag {
        validate_tag(input, t)?;
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, path)) if looks_like_domain(first) => (Some(first), path),
        _ => (None, name),
    };
    // The limit applies to the repository as it will be stored, so a name
    // that parses also parses again once normalized (Docker Hub adds `library/`).
    let hub = domain.is_none_or(|d| normalize_domain(d) == DOCKER_HUB);
    let library = if hub && !path.contains('/') {
        "library/".len()
    } else {
        0
    };
    if path.len() + library > MAX_NAME_LEN {
        return Err(err(
            input,
            format!("repository name longer than {MAX_NAME_LEN} characters"),
        ));
    }
    if let Some(d) = domain {
        validate_domain(input, d)?;
    }
    validate_path(input, path)?;
    Ok(ParsedName {
        domain: domain.map(normalize_domain),
        path: path.to_string(),
        tag: tag.map(str::to_string),
        digest,
    })
}

fn looks_like_domain(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn validate_tag(input: &str, tag: &str) -> Result<(), ReferenceError> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(err(
            input,
            format!("invalid tag {tag:?} (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')"),
        ))
    }
}

fn validate_domain(input: &str, domain: &str) -> Result<(), ReferenceError> {
    let (host, port) = match domain.rsplit_once(':') {
        // An IPv6 literal's colons live inside brackets.
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (domain, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                input,
                format!("invalid port {p:?} in registry {domain:?}"),
            ));
        }
    }
    let host_ok = if host.starts_with('[') && host.ends_with(']') {
        host[1..host.len() - 1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':')
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    };
    if host_ok {
        Ok(())
    } else {
        Err(err(input, format!("invalid registry host {host:?}")))
    }
}

fn validate_path(input: &str, path: &str) -> Result<(), ReferenceError> {
    if path.is_empty() {
        return Err(err(input, "missing repository name"));
    }
    if path.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(err(input, "repository name must be lowercase"));
    }
    for component in path.split('/') {
        if !valid_path_component(component) {
            return Err(err(
                input,
                format!("invalid repository component {component:?} (lower-case letters and digits, joined by '.', '_', '__' or '-')"),
            ));
        }
    }
    Ok(())
}

fn valid_path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let dashes = sep.bytes().all(|b| b == b'-');
        if !(sep == "." || sep == "_" || sep == "__" || dashes) {
            return false;
        }
    }
    true
}

impl Reference {
    /// Parses and normalizes a reference, treating a short name as Docker Hub's
    /// (the docker convention). Pulls resolve short names through
    /// registries.conf instead; see [`crate::registries`].
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        let parsed = parse_name(input)?;
        let registry = parsed
            .domain
            .clone()
            .unwrap_or_else(|| DOCKER_HUB.to_string());
        Ok(parsed.on_registry(&registry))
    }

    /// What to ask the registry's manifest endpoint for: the digest if any, else the tag.
    pub fn tag_or_digest(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// `registry/repository`, the name without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// This reference, or with the tag `latest` when it names neither a
    /// tag nor a digest (what a push or a signature names).
    pub fn or_latest(&self) -> Reference {
        match (&self.tag, &self.digest) {
            (None, None) => self.with_tag("latest"),
            _ => self.clone(),
        }
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same repository pinned to `digest` (tag dropped, as podman prints pinned names).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn norm(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalizes_like_podman() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(norm("library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("user/app"), "docker.io/user/app:latest");
        assert_eq!(
            norm("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(norm("quay.io/a/b/c:v1"), "quay.io/a/b/c:v1");
        assert_eq!(norm("localhost/app"), "localhost/app:latest");
        assert_eq!(norm("127.0.0.1:5000/app:t"), "127.0.0.1:5000/app:t");
        assert_eq!(norm("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(
            norm(&format!("busybox@{D}")),
            format!("docker.io/library/busybox@{D}")
        );
        assert_eq!(
            norm(&format!("r.io:443/x:tag@{D}")),
            format!("r.io:443/x:tag@{D}")
        );
        assert_eq!(norm("[::1]:5000/app"), "[::1]:5000/app:latest");
        assert_eq!(norm("a__b/c-d--e/f.g"), "docker.io/a__b/c-d--e/f.g:latest");
    }

    #[test]
    fn short_names_are_recognized() {
        assert!(!parse_name("busybox").unwrap().is_qualified());
        assert!(!parse_name("user/app:1").unwrap().is_qualified());
        assert!(parse_name("localhost/app").unwrap().is_qualified());
        assert!(parse_name("host:5000/app").unwrap().is_qualified());
        let p = parse_name("user/app").unwrap();
        assert_eq!(
            p.on_registry("quay.io").to_string(),
            "quay.io/user/app:latest"
        );
        assert_eq!(
            parse_name("busybox")
                .unwrap()
                .on_registry("docker.io")
                .to_string(),
            "docker.io/library/busybox:latest"
        );
    }

    #[test]
    fn rejects_invalid_references() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox:-tag",
            "busybox@sha256:abc",
            "a//b",
            "-a/b",
            "a/b_",
            "host:port/app",
            "a/.b",
            "a/b:t@",
            &"a".repeat(256),
            &format!("a:{}", "t".repeat(129)),
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} accepted");
        }
        let e = Reference::parse("Busybox").unwrap_err();
        assert!(e.to_string().contains("lowercase"), "{e}");
    }

    #[test]
    fn tag_and_digest_helpers() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.tag_or_digest(), "latest");
        assert_eq!(r.name(), "docker.io/library/busybox");
        let d: Digest = D.parse().unwrap();
        assert_eq!(r.with_digest(d.clone()).tag_or_digest(), D);
        assert_eq!(r.with_tag("x").to_string(), "docker.io/library/busybox:x");
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    /// Found by the `reference` fuzz target: every normalized reference parses back to itself.
    #[test]
    fn normalized_names_round_trip() {
        let long = "c-ub-c-ub--ub--ub-b--ub-c-ub--ub--ub--ub-b-ub--ub-b-ub--ubb3cc.oaccllhost0-bc-ub-c-ub--ub--ub-b--ub-c-ub--ub--ub--ub-b-ub--ub-b-ub--ubb3cc.oaccllhost0-b--ub-c-ub--ub--ub--ub-ub--ub--ub-b-ub--b---ub-c-ub--ub--ub--ub-ub--ub--ub-b-ub--b--b-u";
        for input in [long, &"a".repeat(250)] {
            if let Ok(r) = Reference::parse(input) {
                assert_eq!(Reference::parse(&r.to_string()), Ok(r));
            }
        }
    }
}

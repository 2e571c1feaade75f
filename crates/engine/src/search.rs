//! `search`: repositories of registries whose name contains a term, and
//! `search --list-tags`: the tags of one repository. Registries without a
//! search API (every plain v2 registry) are searched through their
//! catalog (`/v2/_catalog`), as podman does.

use hoist_image::registries::RegistriesConf;
use hoist_registry::RegistryClient;

use crate::error::{EngineError, Result};
use crate::{block_on, RegistryOptions};

/// podman's default `--limit`: results per registry.
pub const DEFAULT_SEARCH_LIMIT: usize = 25;

/// What `search` was asked.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    pub registry: RegistryOptions,
    /// Results per registry (default [`DEFAULT_SEARCH_LIMIT`]).
    pub limit: Option<usize>,
    pub filter: SearchFilter,
}

/// `--filter`: `stars=N`, `is-official=BOOL`, `is-automated=BOOL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    pub min_stars: u64,
    pub is_official: Option<bool>,
    pub is_automated: Option<bool>,
}

impl SearchFilter {
    pub fn parse(items: &[String]) -> Result<SearchFilter> {
        let mut f = SearchFilter::default();
        for item in items {
            let (key, value) = item.split_once('=').ok_or_else(|| {
                EngineError::Invalid(format!(
                    "invalid filter {item:?}: use stars=N, is-official=BOOL or is-automated=BOOL"
                ))
            })?;
            let boolean = || {
                value.parse::<bool>().map_err(|_| {
                    EngineError::Invalid(format!(
                        "invalid filter {item:?}: {value:?} is not a boolean"
                    ))
                })
            };
            match key {
                "stars" => {
                    f.min_stars = value.parse().map_err(|_| {
                        EngineError::Invalid(format!(
                            "invalid filter {item:?}: stars takes a number"
                        ))
                    })?
                }
                "is-official" => f.is_official = Some(boolean()?),
                "is-automated" => f.is_automated = Some(boolean()?),
                _ => {
                    return Err(EngineError::Invalid(format!(
                        "invalid filter type {key:?}: use stars, is-official or is-automated"
                    )))
                }
            }
        }
        Ok(f)
    }

    fn matches(&self, r: &SearchResult) -> bool {
        r.stars >= self.min_stars
            && self.is_official.is_none_or(|o| o == r.official)
            && self.is_automated.is_none_or(|a| a == r.automated)
    }
}

/// One repository found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    /// The registry.
    pub index: String,
    /// REGISTRY/REPOSITORY.
    pub name: String,
    pub description: String,
    pub stars: u64,
    pub official: bool,
    pub automated: bool,
}

/// The registry a term names and the rest of it, or `None` for a term
/// without a registry (searched on the unqualified-search registries).
pub fn split_term(term: &str) -> (Option<&str>, &str) {
    match term.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, term),
    }
}

/// The repositories whose name contains the term, registry by registry.
pub fn search(term: &str, opts: &SearchOptions) -> Result<Vec<SearchResult>> {
    let conf = RegistriesConf::load_default()?;
    let (registry, query) = split_term(term);
    let registries = match registry {
        Some(r) => vec![r.to_string()],
        None if conf.unqualified_search.is_empty() => {
            return Err(EngineError::Invalid(format!(
                "cannot search for {term:?}: no registry is named and registries.conf has no unqualified-search-registries; name one (REGISTRY/{term})"
            )))
        }
        None => conf.unqualified_search.clone(),
    };
    let client = crate::auth::client(&opts.registry, &conf)?;
    let limit = opts.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for registry in &registries {
        match block_on(catalog_matches(&client, registry, query))? {
            Ok(found) => out.extend(
                found
                    .into_iter()
                    .filter(|r| opts.filter.matches(r))
                    .take(limit),
            ),
            Err(e) => errors.push(e),
        }
    }
    // One registry answering is enough; all failing is an error.
    match errors.into_iter().next() {
        Some(e) if out.is_empty() => Err(e.into()),
        _ => Ok(out),
    }
}

async fn catalog_matches(
    client: &RegistryClient,
    registry: &str,
    query: &str,
) -> std::result::Result<Vec<SearchResult>, hoist_registry::RegistryError> {
    let query = query.to_ascii_lowercase();
    Ok(client
        .list_repositories(registry, None)
        .await?
        .into_iter()
        .filter(|repo| repo.contains(&query))
        .map(|repo| SearchResult {
            index: registry.to_string(),
            name: format!("{registry}/{repo}"),
            description: String::new(),
            stars: 0,
            official: false,
            automated: false,
        })
        .collect())
}

/// `search --list-tags IMAGE`: the image's repository and (at most
/// `limit`, default [`DEFAULT_SEARCH_LIMIT`]) of its tags.
pub fn search_tags(image: &str, opts: &SearchOptions) -> Result<(String, Vec<String>)> {
    let conf = RegistriesConf::load_default()?;
    let parsed = hoist_image::reference::parse_name(image)?;
    if parsed.tag.is_some() || parsed.digest.is_some() {
        return Err(EngineError::Invalid(format!(
            "reference {image:?} must not have a tag or digest for --list-tags: name the repository only"
        )));
    }
    let (registry, repository) = match split_term(image) {
        (Some(r), rest) => (r.to_string(), rest.to_string()),
        (None, _) => match conf.unqualified_search.first() {
            Some(r) => (r.clone(), image.to_string()),
            None => {
                return Err(EngineError::Invalid(format!(
                    "cannot list the tags of {image:?}: name its registry (REGISTRY/{image})"
                )))
            }
        },
    };
    let client = crate::auth::client(&opts.registry, &conf)?;
    let mut tags = block_on(client.list_tags(&registry, &repository))??;
    tags.truncate(opts.limit.unwrap_or(DEFAULT_SEARCH_LIMIT));
    Ok((format!("{registry}/{repository}"), tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_name_a_registry_only_when_qualified() {
        assert_eq!(split_term("busybox"), (None, "busybox"));
        assert_eq!(split_term("user/app"), (None, "user/app"));
        assert_eq!(
            split_term("127.0.0.1:5000/foo"),
            (Some("127.0.0.1:5000"), "foo")
        );
        assert_eq!(split_term("quay.io/"), (Some("quay.io"), ""));
    }

    #[test]
    fn filters_parse_and_match() {
        let f = SearchFilter::parse(&["stars=3".into(), "is-official=true".into()]).unwrap();
        assert_eq!(f.min_stars, 3);
        assert!(SearchFilter::parse(&["color=red".into()]).is_err());
        let r = SearchResult {
            index: "r".into(),
            name: "r/a".into(),
            description: String::new(),
            stars: 0,
            official: false,
            automated: false,
        };
        assert!(!f.matches(&r));
        assert!(SearchFilter::default().matches(&r));
    }
}

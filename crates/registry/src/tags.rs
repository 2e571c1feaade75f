//! Listing a repository's tags, following `Link: <...>; rel="next"` pages.

use reqwest::header::LINK;
use reqwest::Method;
use serde::Deserialize;

use crate::auth::Scope;
use crate::client::RegistryClient;
use crate::error::{RegistryError, Result};
use crate::host::Request;

/// A registry paginating forever must not keep us forever.
const MAX_PAGES: usize = 1000;

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// The target of the `rel="next"` link in a Link header value, if any.
pub fn next_link(value: &str) -> Option<String> {
    for link in value.split(',') {
        let link = link.trim();
        let Some(rest) = link.strip_prefix('<') else {
            continue;
        };
        let Some((target, params)) = rest.split_once('>') else {
            continue;
        };
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(target.trim().to_string());
        }
    }
    None
}

impl RegistryClient {
    /// All tags of a repository, in the registry's order.
    pub async fn list_tags(&self, registry: &str, repository: &str) -> Result<Vec<String>> {
        self.list_tags_paged(registry, repository, None).await
    }

    /// Like `list_tags`, asking for pages of at most `page_size` tags
    /// (`n=`); registries may cap pages on their own anyway.
    pub async fn list_tags_paged(
        &self,
        registry: &str,
        repository: &str,
        page_size: Option<u32>,
    ) -> Result<Vec<String>> {
        let host = self.host(registry)?;
        let what = format!("listing tags of {registry}/{repository}");
        let mut url = host.url(&format!("/v2/{repository}/tags/list")).await?;
        if let Some(n) = page_size {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let resp = host
                .execute(
                    &[Scope::pull(repository)],
                    &what,
                    &Request::new(Method::GET, url.clone()),
                )
                .await?;
            if !resp.status().is_success() {
                return Err(host.fail(&what, resp).await);
            }
            let next = resp
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let page_url = resp.url().clone();
            let body = crate::idle::Body::new(resp, host.read_timeout)
                .collect(usize::MAX)
                .await
                .map_err(|e| host.map_body_error(&what, e))?
                .unwrap_or_default();
            let page: TagList =
                serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                    registry: registry.to_string(),
                    what: what.clone(),
                    detail: format!("tag list is not valid JSON: {e}"),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(n) => {
                    url = page_url.join(&n).map_err(|e| RegistryError::Protocol {
                        registry: registry.to_string(),
                        what: what.clone(),
                        detail: format!("bad next-page link {n:?}: {e}"),
                    })?;
                }
                None => return Ok(tags),
            }
        }
        Err(RegistryError::Protocol {
            registry: registry.to_string(),
            what,
            detail: format!("more than {MAX_PAGES} pages of tags"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_link() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#).as_deref(),
            Some("https://x/next")
        );
        assert_eq!(next_link(r#"<https://x/p>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }
}

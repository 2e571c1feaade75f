//! Listing a repository's tags and a registry's repositories (its
//! catalog), following `Link: <...>; rel="next"` pages.

use reqwest::header::LINK;
use reqwest::Method;

use crate::auth::Scope;
use crate::client::RegistryClient;
use crate::error::{RegistryError, Result};
use crate::host::Request;

/// A registry paginating forever must not keep us forever.
const MAX_PAGES: usize = 1000;

/// One page of a list is JSON of a few names; a registry sending more is
/// broken or hostile, and must not make us hold it all in memory.
const MAX_PAGE_BYTES: usize = 16 << 20;

/// The names in one page of a tag list or catalog: the array under `key`
/// (absent or null: none). The error says what was wrong with the page.
pub fn parse_page(body: &[u8], key: &str) -> std::result::Result<Vec<String>, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the list is not valid JSON: {e}"))?;
    match doc.get(key) {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("{key:?} is not a list of names: {e}")),
    }
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
        let page = ListPage {
            path: format!("/v2/{repository}/tags/list"),
            key: "tags",
            what: format!("listing tags of {registry}/{repository}"),
        };
        self.list_pages(registry, &[Scope::pull(repository)], &page, page_size, None)
            .await
    }

    /// The repositories of a registry (`/v2/_catalog`), in its order; at
    /// most `limit` of them when given. Registries that keep their catalog
    /// to themselves answer 401/403/404: an error naming the registry.
    pub async fn list_repositories(
        &self,
        registry: &str,
        limit: Option<usize>,
    ) -> Result<Vec<String>> {
        let page = ListPage {
            path: "/v2/_catalog".to_string(),
            key: "repositories",
            what: format!("listing the repositories of {registry}"),
        };
        // No scope of ours: a token registry's challenge names the one
        // it wants (registry:catalog:*), which `execute` then asks for.
        self.list_pages(registry, &[], &page, Some(100), limit)
            .await
    }

    /// Fetches every page of a JSON list (`{KEY: [..]}`), following
    /// `Link: rel="next"`, until the registry says there is no more or
    /// `limit` items are in.
    async fn list_pages(
        &self,
        registry: &str,
        scopes: &[Scope],
        page: &ListPage,
        page_size: Option<u32>,
        limit: Option<usize>,
    ) -> Result<Vec<String>> {
        let host = self.host(registry)?;
        let what = &page.what;
        let mut url = host.url(&page.path).await?;
        if let Some(n) = page_size {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let protocol = |detail: String| RegistryError::Protocol {
            registry: registry.to_string(),
            what: what.clone(),
            detail,
        };
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let resp = host
                .execute(scopes, what, &Request::new(Method::GET, url.clone()))
                .await?;
            if !resp.status().is_success() {
                return Err(host.fail(what, resp).await);
            }
            let next = resp
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let page_url = resp.url().clone();
            let body = crate::idle::Body::new(resp, host.read_timeout)
                .collect(MAX_PAGE_BYTES)
                .await
                .map_err(|e| host.map_body_error(what, e))?
                .ok_or_else(|| protocol(format!("a page is larger than {MAX_PAGE_BYTES} bytes")))?;
            items.extend(parse_page(&body, page.key).map_err(protocol)?);
            if let Some(limit) = limit {
                if items.len() >= limit {
                    items.truncate(limit);
                    return Ok(items);
                }
            }
            match next {
                Some(n) => {
                    url = page_url
                        .join(&n)
                        .map_err(|e| protocol(format!("bad next-page link {n:?}: {e}")))?;
                }
                None => return Ok(items),
            }
        }
        Err(protocol(format!("more than {MAX_PAGES} pages")))
    }
}

/// One paginated list endpoint.
struct ListPage {
    path: String,
    /// The JSON key of the list in each page.
    key: &'static str,
    what: String,
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

    #[test]
    fn pages_parse_or_say_what_is_wrong() {
        assert_eq!(
            parse_page(br#"{"tags":["a","b"]}"#, "tags").unwrap(),
            ["a", "b"]
        );
        assert!(parse_page(br#"{"name":"x","tags":null}"#, "tags")
            .unwrap()
            .is_empty());
        assert!(parse_page(b"{}", "repositories").unwrap().is_empty());
        let not_names = parse_page(br#"{"tags":[1]}"#, "tags").unwrap_err();
        assert!(not_names.contains("not a list of names"), "{not_names}");
        let not_json = parse_page(b"<html>", "tags").unwrap_err();
        assert!(not_json.contains("not valid JSON"), "{not_json}");
    }
}

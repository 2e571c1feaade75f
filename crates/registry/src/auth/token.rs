//! The registry token flow: GET the challenge's realm with `service` and
//! `scope` parameters (Basic credentials if we have any), read `token` or
//! `access_token` from the JSON answer, and cache it until shortly before it
//! expires.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use url::Url;

use super::challenge::Challenge;
use crate::error::{parse_error_body, RegistryError, Result};
use crate::host::Host;

/// The spec's default lifetime when the token server does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// The longest we keep a token. `expires_in` comes from the token server,
/// and `Instant + Duration` panics on overflow: a huge value must not crash
/// the pull (asking for a new token after a day costs nothing).
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone)]
pub struct Token {
    pub value: String,
    pub expires: Instant,
}

impl Token {
    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.expires
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The realm URL with `service` and one `scope` parameter per scope.
pub fn token_url(challenge: &Challenge, scopes: &[String]) -> std::result::Result<Url, String> {
    let realm = challenge
        .realm()
        .ok_or("Bearer challenge without a realm")?;
    let mut url = Url::parse(realm).map_err(|e| format!("bad token realm {realm:?}: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("token realm {realm:?} is not an HTTP(S) URL"));
    }
    {
        let mut q = url.query_pairs_mut();
        if let Some(service) = challenge.param("service") {
            q.append_pair("service", service);
        }
        for s in scopes {
            q.append_pair("scope", s);
        }
    }
    Ok(url)
}

/// Parses a token server's answer; `now` is when the request was made.
pub fn parse_token_response(body: &[u8], now: Instant) -> std::result::Result<Token, String> {
    let r: TokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("token response is not JSON: {e}"))?;
    let value = r
        .token
        .filter(|t| !t.is_empty())
        .or(r.access_token.filter(|t| !t.is_empty()))
        .ok_or("token response has neither token nor access_token")?;
    let lifetime = r
        .expires_in
        .map(Duration::from_secs)
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_LIFETIME)
        .min(MAX_LIFETIME);
    // Renew a little early so a token does not expire between our check and
    // the registry's.
    let margin = (lifetime / 10).min(Duration::from_secs(30));
    Ok(Token {
        value,
        expires: now + lifetime - margin,
    })
}

impl Host {
    /// Asks the challenge's token server for a token covering `scopes`.
    pub(crate) async fn fetch_token(
        &self,
        challenge: &Challenge,
        scopes: &[String],
        creds: Option<&(String, String)>,
    ) -> Result<Token> {
        let what = format!("getting an authentication token for {}", scopes.join(" "));
        let url = token_url(challenge, scopes).map_err(|detail| RegistryError::Protocol {
            registry: self.name.clone(),
            what: what.clone(),
            detail,
        })?;
        tracing::debug!(registry = %self.name, %url, with_credentials = creds.is_some(), "requesting token");
        let started = Instant::now();
        let resp = self
            .send_retrying(&what, || {
                let mut rb = self.http.get(url.clone());
                if let Some((u, p)) = creds {
                    rb = rb.header(
                        reqwest::header::AUTHORIZATION,
                        format!("Basic {}", B64.encode(format!("{u}:{p}"))),
                    );
                }
                rb
            })
            .await?;
        let status = resp.status().as_u16();
        let body = self.read_error_body(resp).await;
        if matches!(status, 401 | 403) {
            let (_, message) = parse_error_body(&body);
            return Err(RegistryError::Unauthorized {
                registry: self.name.clone(),
                what,
                hint: if creds.is_some() {
                    format!("the token server refused the credentials ({message}); log in again")
                } else {
                    format!("the token server requires credentials ({message}); log in first")
                },
            });
        }
        if !(200..300).contains(&status) {
            let (code, message) = parse_error_body(&body);
            return Err(RegistryError::Http {
                what: format!("{what} from {}", challenge.realm().unwrap_or("?")),
                status,
                code,
                message,
            });
        }
        parse_token_response(&body, started).map_err(|detail| RegistryError::Protocol {
            registry: self.name.clone(),
            what,
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::challenge::parse_challenges;
    use super::*;

    #[test]
    fn a_huge_expires_in_is_capped_instead_of_overflowing() {
        let now = Instant::now();
        let t = parse_token_response(br#"{"token":"t","expires_in":18446744073709551615}"#, now)
            .unwrap();
        assert!(t.expires > now);
        assert!(t.expires <= now + MAX_LIFETIME);
    }

    #[test]
    fn builds_token_url_with_service_and_scopes() {
        let c = &parse_challenges(
            r#"Bearer realm="https://auth.example/token?x=1",service="reg istry""#,
        )[0];
        let url = token_url(
            c,
            &[
                "repository:a/b:pull,push".into(),
                "repository:c:pull".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://auth.example/token?x=1&service=reg+istry&scope=repository%3Aa%2Fb%3Apull%2Cpush&scope=repository%3Ac%3Apull"
        );
        let no_realm = &parse_challenges(r#"Bearer service="x""#)[0];
        assert!(token_url(no_realm, &[]).is_err());
        let ftp = &parse_challenges(r#"Bearer realm="ftp://x/""#)[0];
        assert!(token_url(ftp, &[]).is_err());
    }

    #[test]
    fn parses_token_and_access_token_with_expiry() {
        let now = Instant::now();
        let t = parse_token_response(br#"{"token":"abc","expires_in":300}"#, now).unwrap();
        assert_eq!(t.value, "abc");
        assert_eq!(t.expires, now + Duration::from_secs(270));
        let t = parse_token_response(br#"{"token":"","access_token":"xyz"}"#, now).unwrap();
        assert_eq!(t.value, "xyz");
        assert_eq!(t.expires, now + Duration::from_secs(54));
        assert!(parse_token_response(br#"{"expires_in":3}"#, now).is_err());
        assert!(parse_token_response(b"<html>", now).is_err());
    }
}

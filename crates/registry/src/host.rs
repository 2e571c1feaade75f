//! Per-registry state and the request loop every operation goes through:
//! endpoint discovery (HTTPS, or HTTP where allowed), retries of transient
//! failures, and authentication with one re-authentication on 401.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_LENGTH, RETRY_AFTER};
use reqwest::{Method, Response};
use url::Url;

use crate::auth::challenge::{self, Challenge, Scheme};
use crate::auth::token::Token;
use crate::auth::{CredentialSource, Scope};
use crate::error::{parse_error_body, RegistryError, Result};
use crate::idle::{tracked_body, until_idle, Activity, Body, BodyError};
use crate::options::{ClientOptions, HostTls};
use crate::retry::{parse_retry_after, retryable_error, retryable_status, RetryPolicy};

/// How much of an error body we read: enough for any JSON error, not a
/// whole HTML page or a misdirected blob.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A request that can be sent more than once (retries, re-authentication).
pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Request {
        Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
        }
    }
}

pub(crate) struct Host {
    /// The registry as the user names it, e.g. `docker.io`.
    pub name: String,
    /// Where its API lives, e.g. `registry-1.docker.io`.
    pub api_host: String,
    pub tls: HostTls,
    pub http: reqwest::Client,
    pub retry: RetryPolicy,
    /// Longest silence on a request, and the window of the stall check on
    /// response bodies (see `crate::idle`).
    pub read_timeout: std::time::Duration,
    pub creds: CredentialSource,
    endpoint: tokio::sync::OnceCell<Url>,
    pub(crate) challenges: Mutex<Vec<Challenge>>,
    pub(crate) tokens: Mutex<HashMap<String, Token>>,
    /// Set once the registry answered a multi-range request unusably.
    pub(crate) single_range_only: std::sync::atomic::AtomicBool,
}

/// Docker Hub's API is not served under its name.
pub fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

/// The messages of an error chain, without the repetitions and the generic
/// wrapper texts of reqwest and hyper ("error sending request for url",
/// "client error (Connect)"), which say nothing the variant does not.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in crate::error::causes(err) {
        let s = e.to_string();
        if s.starts_with("error sending request") || s.starts_with("client error (") {
            continue;
        }
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    if parts.is_empty() {
        return err.to_string();
    }
    parts.join(": ")
}

/// `error_chain` prefixed with the URL a reqwest error concerns.
fn describe(e: &reqwest::Error) -> String {
    match e.url() {
        Some(u) => format!("{u}: {}", error_chain(e)),
        None => error_chain(e),
    }
}

impl Host {
    pub fn new(opts: &ClientOptions, registry: &str) -> Result<Host> {
        let tls = opts.tls_for(registry);
        Ok(Host {
            name: registry.to_string(),
            api_host: api_host(registry).to_string(),
            tls,
            http: crate::tls::build_http_client(opts, registry, tls)?,
            retry: opts.retry.clone(),
            read_timeout: opts.read_timeout,
            creds: opts.credentials.clone(),
            endpoint: tokio::sync::OnceCell::new(),
            challenges: Mutex::new(Vec::new()),
            tokens: Mutex::new(HashMap::new()),
            single_range_only: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// `path` (starting with `/v2/`) on this registry's endpoint.
    pub async fn url(&self, path: &str) -> Result<Url> {
        let base = self.endpoint().await?;
        base.join(path).map_err(|e| RegistryError::Protocol {
            registry: self.name.clone(),
            what: format!("building URL for {path}"),
            detail: e.to_string(),
        })
    }

    /// The base URL: HTTPS, or plain HTTP when the registry is insecure and
    /// HTTPS cannot be spoken at all. Only the second needs finding out, by
    /// pinging `/v2/` (unless a first request found it, see
    /// [`Host::execute_at`]); authentication starts from the first 401's
    /// challenge either way, so a registry that must speak HTTPS costs no
    /// round trip here.
    pub async fn endpoint(&self) -> Result<&Url> {
        self.endpoint
            .get_or_try_init(|| async {
                let https = self.base("https")?;
                if !self.tls.allow_http {
                    return Ok(https);
                }
                let (base, challenges) = self.ping_insecure(https).await?;
                *self.challenges.lock().expect("poisoned") = challenges;
                Ok(base)
            })
            .await
    }

    /// The endpoint and the authentication challenges its `/v2/` answers
    /// with now: for `login`, which must know how to present credentials
    /// before it sends them.
    pub(crate) async fn probe(&self) -> Result<(Url, Vec<Challenge>)> {
        let base = self.endpoint().await?.clone();
        let challenges = self.ping(&base, true).await?;
        *self.challenges.lock().expect("poisoned") = challenges.clone();
        Ok((base, challenges))
    }

    /// Pings an insecure registry over HTTPS and plain HTTP at once, and
    /// takes HTTPS whenever it answers: the same choice as trying HTTPS
    /// first and HTTP after it failed, without the failed attempt's round
    /// trips before the HTTP ping starts.
    async fn ping_insecure(&self, https: Url) -> Result<(Url, Vec<Challenge>)> {
        let http = self.base("http")?;
        let raced = self
            .prefer_https(self.ping(&https, false), self.ping(&http, true))
            .await;
        match raced {
            Ok((true, challenges)) => Ok((https, challenges)),
            Ok((false, challenges)) => Ok((http, challenges)),
            Err((https_err, _)) => Err(https_err),
        }
    }

    /// Runs `https` and `http` (the same request over both schemes) at once
    /// and takes HTTPS's result whenever it succeeds, else HTTP's: `true`
    /// with the result when HTTPS gave it. Both errors when both fail.
    async fn prefer_https<T>(
        &self,
        https: impl std::future::Future<Output = Result<T>>,
        http: impl std::future::Future<Output = Result<T>>,
    ) -> std::result::Result<(bool, T), (RegistryError, RegistryError)> {
        tokio::pin!(https, http);
        let mut http_result = None;
        let https_result = loop {
            tokio::select! {
                r = &mut https => break r,
                r = &mut http, if http_result.is_none() => http_result = Some(r),
            }
        };
        let https_err = match https_result {
            Ok(t) => return Ok((true, t)),
            Err(e) => e,
        };
        tracing::debug!(registry = %self.name, "HTTPS failed ({https_err}), using plain HTTP");
        let http_result = match http_result {
            Some(r) => r,
            None => http.await,
        };
        http_result
            .map(|t| (false, t))
            .map_err(|http_err| (https_err, http_err))
    }

    /// The base URL if a request has found it already (no ping).
    pub fn known_endpoint(&self) -> Option<&Url> {
        self.endpoint.get()
    }

    /// Takes `base` as the endpoint without pinging, as a previous command
    /// found it: saves the ping's round trips (two more for an insecure
    /// registry, whose HTTPS attempt fails first). Authentication then
    /// starts from the first 401's challenge. Ignored unless `base` is this
    /// registry's API host and its scheme is one this client may use now
    /// (plain HTTP only for a registry still marked insecure).
    pub fn assume_endpoint(&self, base: &Url) -> bool {
        let allowed = match base.scheme() {
            "https" => true,
            "http" => self.tls.allow_http,
            _ => false,
        };
        let ours = self
            .base(base.scheme())
            .is_ok_and(|b| b.origin() == base.origin() && base.path() == "/");
        allowed && ours && self.endpoint.set(base.clone()).is_ok()
    }

    /// Whether `url` is on the registry's own endpoint (scheme, host and
    /// port), i.e. whether it may receive our credentials.
    pub async fn same_origin(&self, url: &Url) -> bool {
        match self.endpoint().await {
            Ok(base) => base.origin() == url.origin(),
            Err(_) => false,
        }
    }

    fn base(&self, scheme: &str) -> Result<Url> {
        Url::parse(&format!("{scheme}://{}/", self.api_host)).map_err(|e| {
            RegistryError::Config(format!("{:?} is not a valid registry host: {e}", self.name))
        })
    }

    /// Pings `base` and returns the authentication challenges it answered with.
    async fn ping(&self, base: &Url, retry: bool) -> Result<Vec<Challenge>> {
        let url = base.join("v2/").expect("static path");
        let what = format!("pinging {url}");
        let resp = if retry {
            self.send_retrying(&what, || self.http.get(url.clone()))
                .await?
        } else {
            self.send_single(&what, self.http.get(url.clone()), &Activity::new())
                .await?
        };
        let challenges = challenge::from_headers(resp.headers());
        tracing::debug!(registry = %self.name, %url, status = resp.status().as_u16(), ?challenges, "pinged registry");
        Ok(challenges)
    }

    /// Sends `make()`'s request, retrying transport errors and retryable
    /// statuses per the retry policy. Returns whatever response comes last.
    pub async fn send_retrying(
        &self,
        what: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Response> {
        self.send_tracked(what, |_| make()).await
    }

    /// [`Host::send_retrying`] for requests whose body marks `Activity` as
    /// it is sent (see [`tracked_body`]). An attempt fails when nothing
    /// moves for the read timeout; attempts that end in a timeout are
    /// limited by `RetryPolicy::max_timeouts`, since a registry that stays
    /// silent twice is not going to answer a third time.
    async fn send_tracked(
        &self,
        what: &str,
        make: impl Fn(&Activity) -> reqwest::RequestBuilder,
    ) -> Result<Response> {
        let attempts = self.retry.max_attempts.max(1);
        let max_timeouts = self.retry.max_timeouts.max(1);
        let mut retry = 0;
        let mut timeouts = 0;
        loop {
            let activity = Activity::new();
            let sent = until_idle(make(&activity).send(), &activity, self.read_timeout).await;
            let timed_out = match &sent {
                Err(_) => true,
                Ok(Err(e)) => e.is_timeout(),
                Ok(Ok(_)) => false,
            };
            if timed_out {
                timeouts += 1;
            }
            let last = retry + 1 >= attempts || (timed_out && timeouts >= max_timeouts);
            let sent = match sent {
                Ok(r) => r,
                Err(_idle) if !last => {
                    let delay = self.retry.delay(retry, None);
                    tracing::info!(registry = %self.name, timeout = ?self.read_timeout, ?delay, "{what}: no answer; retrying");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                    continue;
                }
                Err(_idle) => {
                    return Err(RegistryError::Timeout {
                        registry: self.name.clone(),
                        what: what.to_string(),
                    })
                }
            };
            match sent {
                Ok(resp) if !last && retryable_status(resp.status().as_u16()) => {
                    let after = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
                    let delay = self.retry.delay(retry, after);
                    tracing::info!(registry = %self.name, status = resp.status().as_u16(), ?delay, "{what}: retrying");
                    tokio::time::sleep(delay).await;
                }
                Ok(resp) => return Ok(resp),
                Err(e) if !last && retryable_error(&e) => {
                    let delay = self.retry.delay(retry, None);
                    tracing::info!(registry = %self.name, error = %error_chain(&e), ?delay, "{what}: retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(self.map_send_error(what, e)),
            }
            retry += 1;
        }
    }

    /// Turns a failed body read into the variant the user can act on.
    pub fn map_body_error(&self, what: &str, e: BodyError) -> RegistryError {
        match e {
            BodyError::Transport(e) => self.map_send_error(what, e),
            BodyError::Idle => RegistryError::Timeout {
                registry: self.name.clone(),
                what: what.to_string(),
            },
            BodyError::Stalled { bytes, window } => RegistryError::Stalled {
                registry: self.name.clone(),
                what: what.to_string(),
                bytes,
                window,
            },
        }
    }

    /// Turns a transport error into the variant the user can act on.
    pub fn map_send_error(&self, what: &str, e: reqwest::Error) -> RegistryError {
        if let Some(detail) = crate::tls::tls_failure(&e) {
            return RegistryError::Tls {
                registry: self.name.clone(),
                detail,
            };
        }
        if e.is_timeout() {
            return RegistryError::Timeout {
                registry: self.name.clone(),
                what: what.to_string(),
            };
        }
        if e.is_connect() {
            return RegistryError::Connect {
                registry: self.name.clone(),
                detail: describe(&e),
            };
        }
        RegistryError::Network {
            registry: self.name.clone(),
            what: what.to_string(),
            detail: describe(&e),
        }
    }

    /// Sends `req` with authentication. A 401 triggers one fresh
    /// authentication (following the new challenge) and one resend; a second
    /// 401 is an Unauthorized error.
    pub async fn execute(&self, scopes: &[Scope], what: &str, req: &Request) -> Result<Response> {
        self.execute_after(scopes, what, req, None).await
    }

    /// [`Host::execute`] of a GET or HEAD of `path`, made by `make` from its
    /// URL. While an insecure registry's endpoint is unknown, the request
    /// itself goes out over HTTPS and plain HTTP at once and settles it,
    /// instead of a ping first: one round trip less for the first request
    /// of every command.
    pub async fn execute_at(
        &self,
        scopes: &[Scope],
        what: &str,
        path: &str,
        make: impl Fn(Url) -> Request,
    ) -> Result<Response> {
        if self.tls.allow_http && self.known_endpoint().is_none() {
            if let Some((req, first)) = self.discover_with(what, path, &make).await? {
                return self.execute_after(scopes, what, &req, Some(first)).await;
            }
        }
        let req = make(self.url(path).await?);
        self.execute(scopes, what, &req).await
    }

    /// Sends `make`'s request for `path`, without credentials, to an
    /// insecure registry over HTTPS and plain HTTP at once, and takes HTTPS
    /// whenever it answers, as [`Host::ping_insecure`] does. The scheme that
    /// answered becomes the endpoint, and its request and response are
    /// returned; `None` if another request settled the endpoint meanwhile
    /// on the other scheme.
    async fn discover_with(
        &self,
        what: &str,
        path: &str,
        make: &impl Fn(Url) -> Request,
    ) -> Result<Option<(Request, Response)>> {
        let join = |base: Url| {
            base.join(path.trim_start_matches('/'))
                .map_err(|e| RegistryError::Protocol {
                    registry: self.name.clone(),
                    what: format!("building URL for {path}"),
                    detail: e.to_string(),
                })
        };
        let (https, http) = (self.base("https")?, self.base("http")?);
        let https_req = make(join(https.clone())?);
        let http_req = make(join(http.clone())?);
        debug_assert!(matches!(https_req.method, Method::GET | Method::HEAD));
        let raced = self
            .prefer_https(
                self.send_without_retry(what, &https_req),
                self.send_tracked(what, |activity| {
                    self.request_builder(&http_req, None, activity)
                }),
            )
            .await;
        let (over_https, resp) = match raced {
            Ok(won) => won,
            // Something answered on the port, only not in TLS: what went
            // wrong over plain HTTP is the story.
            Err((RegistryError::Tls { .. }, http_err)) => return Err(http_err),
            Err((https_err, _)) => return Err(https_err),
        };
        let (base, req) = if over_https {
            (https, https_req)
        } else {
            (http, http_req)
        };
        if self.endpoint.set(base.clone()).is_err() && self.known_endpoint() != Some(&base) {
            return Ok(None);
        }
        tracing::debug!(registry = %self.name, %base, "endpoint found by the first request");
        Ok(Some((req, resp)))
    }

    /// One attempt at `req` without credentials, failing at the first
    /// error: the HTTPS side of a race, which plain HTTP may win.
    async fn send_without_retry(&self, what: &str, req: &Request) -> Result<Response> {
        let activity = Activity::new();
        let rb = self.request_builder(req, None, &activity);
        self.send_single(what, rb, &activity).await
    }

    /// Sends `rb` once. It fails when nothing moves (see `activity`) for
    /// the read timeout, and with the error variant the user can act on.
    pub(crate) async fn send_single(
        &self,
        what: &str,
        rb: reqwest::RequestBuilder,
        activity: &Activity,
    ) -> Result<Response> {
        until_idle(rb.send(), activity, self.read_timeout)
            .await
            .map_err(|_| RegistryError::Timeout {
                registry: self.name.clone(),
                what: what.to_string(),
            })?
            .map_err(|e| self.map_send_error(what, e))
    }

    /// The reqwest request for `req`, with `auth` if any.
    fn request_builder(
        &self,
        req: &Request,
        auth: Option<&reqwest::header::HeaderValue>,
        activity: &Activity,
    ) -> reqwest::RequestBuilder {
        let mut headers = req.headers.clone();
        if let Some(b) = &req.body {
            // A body sent in tracked pieces has no length of its own.
            headers.insert(CONTENT_LENGTH, b.len().into());
        }
        let mut rb = self
            .http
            .request(req.method.clone(), req.url.clone())
            .headers(headers);
        if let Some(a) = auth {
            rb = rb.header(AUTHORIZATION, a.clone());
        }
        if let Some(b) = &req.body {
            rb = rb.body(tracked_body(b.clone(), activity));
        }
        rb
    }

    /// [`Host::execute`], starting from `first`, a response to `req` that
    /// was sent without credentials.
    async fn execute_after(
        &self,
        scopes: &[Scope],
        what: &str,
        req: &Request,
        mut first: Option<Response>,
    ) -> Result<Response> {
        let mut extra: Option<String> = None;
        let mut fresh = false;
        loop {
            let resp = match first.take() {
                Some(resp) => resp,
                None => {
                    // Upload sessions may live elsewhere (storage front
                    // ends): our credentials go only to the registry itself.
                    let auth = if self.same_origin(&req.url).await {
                        self.authorization(scopes, extra.as_deref(), fresh).await?
                    } else {
                        None
                    };
                    self.send_tracked(what, |activity| {
                        self.request_builder(req, auth.as_ref(), activity)
                    })
                    .await?
                }
            };
            if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            if fresh {
                return Err(self.fail(what, resp).await);
            }
            let new = challenge::from_headers(resp.headers());
            if !new.is_empty() {
                let ours: Vec<String> = scopes.iter().map(Scope::to_string).collect();
                extra = new
                    .iter()
                    .find(|c| c.scheme == Scheme::Bearer)
                    .and_then(|c| c.param("scope"))
                    .filter(|s| !ours.iter().any(|o| o == s))
                    .map(str::to_string);
                *self.challenges.lock().expect("poisoned") = new;
            }
            fresh = true;
        }
    }

    /// Reads at most ERROR_BODY_LIMIT bytes of a response body (less if it
    /// breaks off, goes silent or trickles).
    pub async fn read_error_body(&self, resp: Response) -> Vec<u8> {
        let mut out = Vec::new();
        let mut body = Body::new(resp, self.read_timeout);
        while let Some(Ok(chunk)) = body.next().await {
            let room = ERROR_BODY_LIMIT - out.len();
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if out.len() >= ERROR_BODY_LIMIT {
                break;
            }
        }
        out
    }

    /// The error for an unexpected response to `what`.
    pub async fn fail(&self, what: &str, resp: Response) -> RegistryError {
        let status = resp.status().as_u16();
        let body = self.read_error_body(resp).await;
        let (code, message) = parse_error_body(&body);
        match status {
            401 | 403 => {
                let has_creds = matches!(self.creds.lookup(&self.name, ""), Ok(Some(_)));
                let generic = ["authentication required", "unauthorized", "access denied"];
                let why = if message.is_empty()
                    || generic.iter().any(|g| message.eq_ignore_ascii_case(g))
                {
                    String::new()
                } else {
                    format!("{message}; ")
                };
                let hint = if status == 403 || has_creds {
                    format!("{why}the credentials used lack access: check the repository name and your permissions, or log in again with `hoist login {}`", self.name)
                } else {
                    format!("{why}authentication required: log in with `hoist login {}`, and check the repository name", self.name)
                };
                RegistryError::Unauthorized {
                    registry: self.name.clone(),
                    what: what.to_string(),
                    hint,
                }
            }
            404 => RegistryError::NotFound {
                what: format!("{what} on {}", self.name),
            },
            _ => RegistryError::Http {
                what: what.to_string(),
                status,
                code,
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_api_host() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn error_chain_drops_repetitions() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let outer = std::io::Error::other(inner);
        // io::Error's Display for a wrapped error repeats the inner message.
        assert_eq!(error_chain(&outer), "refused");
    }
}

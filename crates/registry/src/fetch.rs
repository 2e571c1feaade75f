//! A plain HTTP(S) GET outside any registry (`build`'s `ADD URL`, `kube
//! play URL`): the body streamed into a writer, bounded in size and in how
//! long the server may stay silent, with its Last-Modified time. Proxies
//! come from the usual environment variables.

use std::io::Write;
use std::time::{Duration, SystemTime};

/// Why a fetch failed, in words for the caller's message.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the server answered {0}")]
    Status(reqwest::StatusCode),
    #[error("the body is larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Http(String),
    #[error("writing the body: {0}")]
    Write(#[source] std::io::Error),
}

/// What a fetch told beside the body.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The body's Last-Modified time, when the server sent one.
    pub last_modified: Option<SystemTime>,
    pub bytes: u64,
}

/// GETs `url` into `out`: at most `limit` bytes (else [`FetchError::TooLarge`]),
/// failing when the server sends nothing for `silence`.
pub fn get(
    url: &str,
    out: &mut dyn Write,
    limit: Option<u64>,
    silence: Duration,
) -> Result<Fetched, FetchError> {
    let http = |e: reqwest::Error| FetchError::Http(e.to_string());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Http(e.to_string()))?;
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .read_timeout(silence)
            .build()
            .map_err(http)?;
        let mut resp = client.get(url).send().await.map_err(http)?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status()));
        }
        let last_modified = resp
            .headers()
            .get(reqwest::header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        let mut bytes = 0u64;
        while let Some(chunk) = resp.chunk().await.map_err(http)? {
            bytes += chunk.len() as u64;
            if limit.is_some_and(|l| bytes > l) {
                return Err(FetchError::TooLarge(limit.unwrap_or_default()));
            }
            out.write_all(&chunk).map_err(FetchError::Write)?;
        }
        out.flush().map_err(FetchError::Write)?;
        Ok(Fetched {
            last_modified,
            bytes,
        })
    })
}

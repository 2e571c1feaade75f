//! Checking credentials against a registry before storing them, as
//! `podman login` does.

use reqwest::header::AUTHORIZATION;

use crate::auth::challenge::Scheme;
use crate::auth::{basic_header, AuthFile};
use crate::client::RegistryClient;
use crate::error::{RegistryError, Result};

impl RegistryClient {
    /// Verifies `username`/`password` against `registry`: pings `/v2/`,
    /// then gets a token with them (Bearer registries) or sends them as Basic
    /// credentials. A refusal is `RegistryError::InvalidCredentials`.
    pub async fn verify_credentials(
        &self,
        registry: &str,
        username: &str,
        password: &str,
    ) -> Result<()> {
        let host = self.host(registry)?;
        let (base, challenges) = host.probe().await?;
        let url = base.join("v2/").expect("static path");
        let creds = (username.to_string(), password.to_string());
        let invalid = || RegistryError::InvalidCredentials {
            registry: registry.to_string(),
        };
        let auth = if let Some(c) = challenges
            .iter()
            .find(|c| c.scheme == Scheme::Bearer && c.realm().is_some())
        {
            match host.fetch_token(c, &[], Some(&creds)).await {
                Ok(t) => Some(format!("Bearer {}", t.value).parse().map_err(|_| {
                    RegistryError::Protocol {
                        registry: registry.to_string(),
                        what: "logging in".into(),
                        detail: "token is not a valid header value".into(),
                    }
                })?),
                Err(RegistryError::Unauthorized { .. }) => return Err(invalid()),
                Err(e) => return Err(e),
            }
        } else if challenges.iter().any(|c| c.scheme == Scheme::Basic) {
            Some(basic_header(username, password))
        } else {
            // The registry asks for no authentication: like podman, accept
            // and store the credentials.
            None
        };
        let what = format!("logging in to {registry}");
        let resp = host
            .send_retrying(&what, || {
                let rb = host.http.get(url.clone());
                match &auth {
                    Some(a) => rb.header(AUTHORIZATION, a.clone()),
                    None => rb,
                }
            })
            .await?;
        match resp.status().as_u16() {
            401 => Err(invalid()),
            s if (200..300).contains(&s) => {
                host.forget_tokens();
                Ok(())
            }
            _ => Err(host.fail(&what, resp).await),
        }
    }

    /// Verifies the credentials, then stores them in `auth_file` under
    /// `registry` and saves it. Nothing is stored if verification fails.
    pub async fn login(
        &self,
        registry: &str,
        username: &str,
        password: &str,
        auth_file: &mut AuthFile,
    ) -> Result<()> {
        self.verify_credentials(registry, username, password)
            .await?;
        auth_file.set(registry, username, password);
        auth_file.save()?;
        tracing::info!(registry, file = %auth_file.path().display(), "login succeeded");
        Ok(())
    }
}

//! Registry clients built from the user's options and registries.conf, and
//! `login`/`logout` over podman's auth.json.

use std::path::{Path, PathBuf};

use hoist_image::registries::RegistriesConf;
use hoist_registry::{AuthFile, CredentialSource};
use hoist_registry::{ClientOptions, RegistryClient};

use crate::error::Result;
use crate::{block_on, RegistryOptions};

/// A client honouring `--tls-verify`, `--cert-dir`, `--creds`/`--authfile`
/// and the insecure registries of registries.conf.
/// Timeouts come from `HOIST_REGISTRY_TIMEOUT` and
/// `HOIST_REGISTRY_CONNECT_TIMEOUT` when set (see `ClientOptions`).
pub(crate) fn client(opts: &RegistryOptions, conf: &RegistriesConf) -> Result<RegistryClient> {
    Ok(RegistryClient::new(client_options(opts, conf)?))
}

fn client_options(opts: &RegistryOptions, conf: &RegistriesConf) -> Result<ClientOptions> {
    let credentials = match &opts.creds {
        Some((username, password)) => CredentialSource::Static {
            username: username.clone(),
            password: password.clone(),
        },
        None => CredentialSource::AuthFiles {
            primary: opts.authfile.clone(),
            fallbacks: opts.authfile.is_none(),
        },
    };
    let mut out = ClientOptions {
        tls_verify: opts.tls_verify,
        insecure_registries: insecure_registries(conf),
        cert_dir: opts.cert_dir.clone(),
        credentials,
        ..ClientOptions::default()
    };
    out.apply_env_timeouts()?;
    if let Some(n) = opts.retry {
        out.retry.max_attempts = n.saturating_add(1);
    }
    if let Some(d) = opts.retry_delay {
        // Every retry waits about `d` (the policy's jitter stays, within
        // half of it), not a doubling delay.
        out.retry.base_delay = d;
        out.retry.max_delay = d;
    }
    Ok(out)
}

/// The registries (`host[:port]`) registries.conf marks insecure, mirrors included.
pub(crate) fn insecure_registries(conf: &RegistriesConf) -> std::collections::HashSet<String> {
    conf.registries
        .iter()
        .filter(|r| r.insecure)
        .map(|r| {
            if r.location.is_empty() {
                r.prefix.clone()
            } else {
                r.location.clone()
            }
        })
        .chain(conf.registries.iter().flat_map(|r| {
            r.mirrors
                .iter()
                .filter(|m| m.insecure)
                .map(|m| m.location.clone())
        }))
        .map(|l| l.split('/').next().unwrap_or_default().to_string())
        .collect()
}

/// The auth file `--authfile` names, else the default one.
fn auth_file_path(path: Option<&Path>) -> PathBuf {
    path.map(Path::to_path_buf)
        .unwrap_or_else(AuthFile::default_path)
}

fn auth_file(path: Option<&Path>) -> Result<AuthFile> {
    Ok(AuthFile::load(auth_file_path(path))?)
}

/// Checks the credentials against the registry, then stores them;
/// returns the auth file they went to.
pub fn login(
    registry: &str,
    username: &str,
    password: &str,
    opts: &RegistryOptions,
) -> Result<PathBuf> {
    let conf = RegistriesConf::load_default()?;
    let client = client(opts, &conf)?;
    let path = auth_file_path(opts.authfile.as_deref());
    let mut file = AuthFile::load(path.clone())?;
    block_on(client.login(registry, username, password, &mut file))??;
    Ok(path)
}

/// The user name stored for `registry`, if any.
pub fn stored_user(registry: &str, opts: &RegistryOptions) -> Result<Option<String>> {
    let file = auth_file(opts.authfile.as_deref())?;
    Ok(file.get(registry).map(|(user, _)| user))
}

/// Removes stored credentials; false when there were none.
pub fn logout(registry: &str, authfile: Option<&Path>) -> Result<bool> {
    let mut file = auth_file(authfile)?;
    let removed = file.remove(registry);
    if removed {
        file.save()?;
    }
    Ok(removed)
}

pub fn logout_all(authfile: Option<&Path>) -> Result<()> {
    let mut file = auth_file(authfile)?;
    file.remove_all();
    file.save()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_flags_set_the_clients_policy() {
        let opts = RegistryOptions {
            retry: Some(2),
            retry_delay: Some(std::time::Duration::from_millis(1500)),
            ..RegistryOptions::default()
        };
        let got = client_options(&opts, &RegistriesConf::default()).unwrap();
        assert_eq!(got.retry.max_attempts, 3);
        assert_eq!(got.retry.base_delay, std::time::Duration::from_millis(1500));
        assert_eq!(got.retry.max_delay, std::time::Duration::from_millis(1500));
        // Unset: the client's own policy.
        let plain =
            client_options(&RegistryOptions::default(), &RegistriesConf::default()).unwrap();
        assert_eq!(plain.retry, ClientOptions::default().retry);
    }
}

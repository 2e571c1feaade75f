//! The client handle: one per process, cheap to clone, shared by concurrent
//! pulls and pushes. Per-registry state (endpoint, HTTP client, tokens) is
//! created on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::host::Host;
use crate::options::ClientOptions;

#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

struct Inner {
    opts: ClientOptions,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("user_agent", &self.inner.opts.user_agent)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// Creates a client. Nothing is contacted or loaded until a registry is
    /// first used, so configuration errors (an unreadable cert dir) surface
    /// on that first use, naming the registry.
    pub fn new(opts: ClientOptions) -> RegistryClient {
        RegistryClient {
            inner: Arc::new(Inner {
                opts,
                hosts: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// The base URL of `registry` (e.g. `http://127.0.0.1:5000/`) if this
    /// client has talked to it, for a later client's
    /// [`RegistryClient::assume_endpoint`].
    pub fn known_endpoint(&self, registry: &str) -> Option<url::Url> {
        let hosts = self.inner.hosts.lock().expect("poisoned");
        hosts.get(registry)?.known_endpoint().cloned()
    }

    /// Uses `base` for `registry` without pinging it first; false (and
    /// nothing changed) when it is not that registry's endpoint or its
    /// scheme is not allowed for it now. See `Host::assume_endpoint`.
    pub fn assume_endpoint(&self, registry: &str, base: &url::Url) -> bool {
        self.host(registry).is_ok_and(|h| h.assume_endpoint(base))
    }

    pub(crate) fn host(&self, registry: &str) -> Result<Arc<Host>> {
        let mut hosts = self.inner.hosts.lock().expect("poisoned");
        if let Some(h) = hosts.get(registry) {
            return Ok(h.clone());
        }
        let h = Arc::new(Host::new(&self.inner.opts, registry)?);
        hosts.insert(registry.to_string(), h.clone());
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_image::{Digest, Reference};

    fn assert_send<T: Send>(_: &T) {}

    /// Callers spawn these futures on a multi-threaded runtime: they must be
    /// Send (no lock guard may be held across an await).
    #[test]
    fn operation_futures_are_send() {
        let c = RegistryClient::new(ClientOptions::default());
        let r = Reference {
            registry: "r".into(),
            repository: "a".into(),
            tag: None,
            digest: None,
        };
        let d = Digest::sha256_of(b"");
        let p = crate::Progress::none();
        let mut sink: Vec<u8> = Vec::new();
        let mut file = crate::AuthFile::load("/nonexistent/auth.json").unwrap();
        assert_send(&c.get_manifest(&r));
        assert_send(&c.head_manifest(&r));
        assert_send(&c.put_manifest(&r, b"", ""));
        assert_send(&c.fetch_blob("r", "a", &d, &mut sink, &p));
        assert_send(&c.blob_exists("r", "a", &d));
        assert_send(&c.mount_blob("r", "a", &d, "b"));
        assert_send(&c.push_blob("r", "a", &d, 0, std::io::Cursor::new(Vec::new()), &p));
        assert_send(&c.push_blob_bytes("r", "a", bytes::Bytes::new()));
        assert_send(&c.list_tags("r", "a"));
        assert_send(&c.login("r", "u", "p", &mut file));
    }
}

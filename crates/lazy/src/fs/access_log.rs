//! Which files a workload touched, in the order it first touched them.

use std::collections::HashSet;
use std::sync::Mutex;

/// Records the TOC names of regular files opened or read and of symlinks
/// read, in first-access order, each once. `image convert --optimize` puts
/// these files first in the converted layer so they can be prefetched.
///
/// A file reached through a hard link is recorded under the name of the
/// entry that holds its content (the hard link's target).
#[derive(Debug, Default)]
pub struct AccessLog {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashSet<String>,
    order: Vec<String>,
}

impl AccessLog {
    pub fn new() -> AccessLog {
        AccessLog::default()
    }

    /// Notes an access to `name`; repeated accesses keep the first position.
    pub(crate) fn record(&self, name: &str) {
        // A poisoned lock only means another thread panicked mid-insert; the
        // set and the list are still consistent enough to keep recording.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !inner.seen.contains(name) {
            inner.seen.insert(name.to_owned());
            inner.order.push(name.to_owned());
        }
    }

    /// The recorded names, first access first.
    pub fn paths(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .order
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_access_order_without_duplicates() {
        let log = AccessLog::new();
        for name in [
            "bin/sh",
            "etc/passwd",
            "bin/sh",
            "lib/libc.so",
            "etc/passwd",
        ] {
            log.record(name);
        }
        assert_eq!(log.paths(), ["bin/sh", "etc/passwd", "lib/libc.so"]);
    }
}

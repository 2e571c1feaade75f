//! `pull --all-tags`: every tag of a repository, listed by the registry's
//! `/v2/<name>/tags/list` and pulled one by one.

use std::sync::Arc;

use hoist_image::reference::parse_name;
use hoist_image::registries::{RegistriesConf, RegistriesError};
use hoist_image::transport::ImageName;
use hoist_image::Reference;
use tracing::debug;

use crate::error::{EngineError, Result};
use crate::progress::Progress;
use crate::{block_on, Engine, PullOptions, PulledImage};

impl Engine {
    /// Pulls every tag of the repository `name` names, in the order the
    /// registry lists them. A tag or digest in `name` is ignored, as podman
    /// 4.3 ignores it: the repository is what `--all-tags` is about.
    pub fn pull_all_tags(
        &self,
        name: &str,
        opts: &PullOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<Vec<PulledImage>> {
        let ImageName::Registry(raw) = ImageName::parse(name)? else {
            return Err(EngineError::Unsupported {
                what: format!("pulling all tags of {name}"),
                why: "--all-tags lists the tags of a registry repository; name one".into(),
            });
        };
        let (reference, tags) =
            block_on(self.repository_with_tags(&repository_name(&raw)?, opts))??;
        let mut pulled = Vec::with_capacity(tags.len());
        for tag in tags {
            pulled.push(self.pull(&reference.with_tag(&tag).to_string(), opts, progress)?);
        }
        Ok(pulled)
    }

    /// The first candidate for the (possibly short) repository name whose
    /// registry lists its tags, with those tags.
    async fn repository_with_tags(
        &self,
        name: &str,
        opts: &PullOptions,
    ) -> Result<(Reference, Vec<String>)> {
        let conf = RegistriesConf::load_default()?;
        let candidates = match conf.resolve(name) {
            Ok(c) => c,
            Err(RegistriesError::NoSearchRegistries(_)) => vec![Reference::parse(name)?],
            Err(e) => return Err(e.into()),
        };
        let client = crate::auth::client(&opts.registry, &conf)?;
        let mut failures = Vec::new();
        for candidate in candidates {
            match client
                .list_tags(&candidate.registry, &candidate.repository)
                .await
            {
                Ok(tags) if !tags.is_empty() => return Ok((candidate, tags)),
                Ok(_) => failures.push(format!("{}: the repository has no tags", candidate.name())),
                Err(e) => {
                    debug!(repository = %candidate.name(), error = %e, "listing tags failed");
                    failures.push(format!("{}: {e}", candidate.name()));
                }
            }
        }
        Err(EngineError::AllSourcesFailed(format!(
            "{name}: no registry could list the tags of the repository:\n  {}",
            failures.join("\n  ")
        )))
    }
}

/// `name` without its tag or digest, as written (a short name stays short,
/// so registries.conf still resolves it).
fn repository_name(raw: &str) -> Result<String> {
    let parsed = parse_name(raw)?;
    Ok(match parsed.domain {
        Some(domain) => format!("{domain}/{}", parsed.path),
        None => parsed.path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_and_digest_are_dropped_and_the_name_kept_as_written() {
        assert_eq!(repository_name("busybox:1").unwrap(), "busybox");
        assert_eq!(
            repository_name("localhost:5000/a/b:2").unwrap(),
            "localhost:5000/a/b"
        );
        let pinned = format!("quay.io/x/y@sha256:{}", "0".repeat(64));
        assert_eq!(repository_name(&pinned).unwrap(), "quay.io/x/y");
    }
}

//! `rename`: a new name for a container, running or not. The name index
//! is a symlink per name (see [`crate::store`]): the new link is claimed
//! first (atomically, so two renames never take the same name), then the
//! record is rewritten and the old link dropped.

use crate::error::{ContainerError, Result};
use crate::names::is_valid_name;
use crate::record::Container;
use crate::store::{write_atomic, Containers, CONFIG};

/// Renames `c` to `new_name`.
pub fn rename(cs: &Containers, c: &Container, new_name: &str) -> Result<()> {
    if !is_valid_name(new_name) {
        // podman's wording, which names the rule.
        return Err(ContainerError::Invalid(
            "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument".into(),
        ));
    }
    let _lock = cs.lock(c.id())?;
    let mut now = cs.load(c.id())?;
    let old_name = now.config.name.clone();
    if old_name == new_name {
        return Ok(());
    }
    cs.claim_name(new_name, c.id(), false)
        .map_err(|e| match e {
            ContainerError::NameInUse { name, .. } => ContainerError::NameTaken {
                name,
                id: c.id().to_string(),
            },
            other => other,
        })?;
    now.config.name = new_name.to_string();
    let written = write_atomic(
        &now.dir.join(CONFIG),
        &serde_json::to_vec_pretty(&now.config).expect("serializes"),
    );
    if let Err(e) = written {
        // Give the new name back: the container keeps its old one.
        let _ = std::fs::remove_file(cs.name_link(new_name));
        return Err(e);
    }
    let old_link = cs.name_link(&old_name);
    if std::fs::read_link(&old_link).is_ok_and(|t| t.as_os_str() == c.id()) {
        let _ = std::fs::remove_file(&old_link);
    }
    crate::events::emit(&now, hoist_events::Status::Rename);
    Ok(())
}

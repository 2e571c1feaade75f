//! `container prune`: removes every container that is not running (or
//! paused), that the filters let through.

use crate::error::Result;
use crate::filter::ContainerFilter;
use crate::record::Container;
use crate::store::Containers;

/// The outcome for one container: its id, and whether it went.
pub type Pruned = (String, Result<()>);

/// Removes the stopped containers `filter` matches, oldest last as podman
/// lists them; containers others depend on go after their dependents.
pub fn prune(cs: &Containers, filter: &ContainerFilter) -> Result<Vec<Pruned>> {
    let candidates: Vec<Container> = cs
        .list()?
        .into_iter()
        // Infra containers go with their pods (`pod rm`, `pod prune`).
        .filter(|c| !c.status().is_active() && !c.config.options.infra && filter.matches(c))
        .collect();
    let mut left = candidates;
    let mut done = Vec::new();
    // Dependents first: each round removes those nothing left depends on.
    while !left.is_empty() {
        let (ready, blocked): (Vec<Container>, Vec<Container>) = left
            .into_iter()
            .partition(|c| crate::lifecycle::dependents(cs, c).map_or(true, |d| d.is_empty()));
        if ready.is_empty() {
            // Held by containers we do not remove: report each refusal.
            for c in blocked {
                let r = crate::lifecycle::remove(cs, &c, false);
                done.push((c.id().to_string(), r));
            }
            break;
        }
        for c in ready {
            let r = crate::lifecycle::remove(cs, &c, false);
            done.push((c.id().to_string(), r));
        }
        left = blocked;
    }
    Ok(done)
}

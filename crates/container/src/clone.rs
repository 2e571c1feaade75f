//! `container clone`: a new container with the configuration of another,
//! optionally with another name, image and resource limits.

use hoist_engine::Engine;

use crate::create::{create, CreateRequest};
use crate::error::Result;
use crate::record::{Container, ContainerConfig};
use crate::store::Containers;
use crate::update::ResourceUpdate;

/// What differs in the copy.
#[derive(Debug, Clone, Default)]
pub struct CloneRequest {
    /// The new name; podman's `NAME-clone` (then `-clone1`, ...) when `None`.
    pub name: Option<String>,
    /// Another image for the copy.
    pub image: Option<String>,
    /// Limits that replace the original's.
    pub resources: ResourceUpdate,
    /// containers.conf, for what the original left unset.
    pub conf: hoist_config::ContainersConf,
}

/// Creates the copy of `c` (in state `created`) and returns its record.
pub fn clone(
    engine: &Engine,
    cs: &Containers,
    c: &Container,
    req: CloneRequest,
) -> Result<ContainerConfig> {
    let mut options = c.config.options.clone();
    req.resources.apply(&mut options);
    let name = match req.name {
        Some(n) => n,
        None => free_clone_name(cs, c.name()),
    };
    create(
        engine,
        cs,
        CreateRequest {
            image: req.image.unwrap_or_else(|| c.config.image.clone()),
            name: Some(name),
            options,
            conf: req.conf,
            ..CreateRequest::default()
        },
    )
}

/// `NAME-clone`, or the first of `NAME-clone1`, `NAME-clone2`, ... that no
/// container holds.
fn free_clone_name(cs: &Containers, name: &str) -> String {
    let base = format!("{name}-clone");
    if cs.id_of_name(&base).is_none() {
        return base;
    }
    (1..)
        .map(|i| format!("{base}{i}"))
        .find(|n| cs.id_of_name(n).is_none())
        .expect("some suffix is free")
}

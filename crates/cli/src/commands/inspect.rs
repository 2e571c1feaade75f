//! `inspect`: containers, images, volumes, networks and pods by name,
//! or only one kind of them with `--type`.

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

use crate::cli::ObjectInspectArgs;
use crate::exit::{ExitWith, ENGINE_ERROR};
use crate::output::{self, Format};

use super::container;

/// What `--type` restricts the names to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Container,
    Image,
    Volume,
    Network,
    Pod,
    All,
}

impl Kind {
    fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "container" => Kind::Container,
            "image" => Kind::Image,
            "volume" => Kind::Volume,
            "network" => Kind::Network,
            "pod" => Kind::Pod,
            "all" => Kind::All,
            // podman's wording (a runtime error, exit 125).
            _ => {
                return Err(ExitWith {
                    code: ENGINE_ERROR,
                    message: format!(
                        "invalid type {s:?}: must be \"image\", \"container\", \"pod\", \"network\", \"volume\", or \"all\""
                    ),
                }
                .into())
            }
        })
    }

    /// The kinds `name` is tried as, in podman's order for `all`.
    fn tried(self) -> &'static [Kind] {
        match self {
            Kind::All => &[
                Kind::Container,
                Kind::Image,
                Kind::Volume,
                Kind::Network,
                Kind::Pod,
            ],
            Kind::Container => &[Kind::Container],
            Kind::Image => &[Kind::Image],
            Kind::Volume => &[Kind::Volume],
            Kind::Network => &[Kind::Network],
            Kind::Pod => &[Kind::Pod],
        }
    }

    /// podman's reason for a name that is not of this kind.
    fn not_found(self, name: &str) -> String {
        match self {
            Kind::Container => format!("no such container {name}"),
            Kind::Image => format!("{name}: image not known"),
            Kind::Volume => format!("no such volume {name}"),
            Kind::Network => format!(
                "network {name}: unable to find network with name or ID {name}: network not found"
            ),
            Kind::Pod => format!("no such pod {name}"),
            Kind::All => format!("no such object: {name:?}"),
        }
    }
}

pub fn inspect(root: &Path, args: ObjectInspectArgs) -> Result<i32> {
    let kind = Kind::parse(&args.kind)?;
    let a = args.targets;
    // --latest names a container whatever the type.
    if a.latest {
        return container::inspect(root, a);
    }
    let mut docs = Vec::new();
    let mut missing = Vec::new();
    for name in &a.containers {
        match find(root, kind, name, a.size)? {
            Some(d) => docs.push(d),
            None => missing.push(kind.not_found(name)),
        }
    }
    match Format::parse(a.format.as_deref())? {
        Format::Default | Format::Json => output::print_json(&docs)?,
        Format::Template(t) => {
            for d in docs {
                println!("{}", t.render(&container::with_template_aliases(d))?);
            }
        }
    }
    // As podman: every reason but the first as a line, the first as the error.
    let Some((first, rest)) = missing.split_first() else {
        return Ok(0);
    };
    for m in rest {
        eprintln!("error inspecting object: {m}");
    }
    Err(ExitWith {
        code: ENGINE_ERROR,
        message: format!("inspecting object: {first}"),
    }
    .into())
}

/// The inspect document of the first kind `name` is found as.
fn find(root: &Path, kind: Kind, name: &str, size: bool) -> Result<Option<Value>> {
    for k in kind.tried() {
        let doc = match k {
            Kind::Container => container::inspect_value(root, name, size)?,
            Kind::Image => {
                let engine = super::open(root)?;
                match engine.image_exists(name)? {
                    true => Some(engine.inspect_image(name)?),
                    false => None,
                }
            }
            Kind::Volume => container::volume::inspect_value(root, name)?,
            Kind::Network => container::network::inspect_value(root, name)?,
            Kind::Pod => super::pod::inspect_value(root, name)?,
            Kind::All => None,
        };
        if doc.is_some() {
            return Ok(doc);
        }
    }
    Ok(None)
}

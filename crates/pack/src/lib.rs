//! `hoist pack`: turning an OS directory tree into image layers that make
//! updates cheap. A client re-downloads every layer that holds a changed
//! file, so files are grouped by what changes together:
//!
//! 1. [`component`]: the tree is cut into components, one per dpkg package
//!    (merged-`/usr` aliases resolved, the package's own dpkg info files
//!    included), one per large unowned file, one for package-manager state,
//!    one for the remaining unowned files; by directory when there is no
//!    dpkg data. Each package's update frequency comes from its changelog.
//! 2. [`plan`]: components are placed into at most N layers, big and
//!    frequently updated ones alone, the base system apart from what was
//!    added on top, stable small ones together; or as in a prior image.
//! 3. [`carry`]: with a prior image, its layers that (nearly) match the tree
//!    are kept as they are, and what changed in them is carried on top.
//! 4. [`layer`]: each layer is written as a reproducible tar+gzip stream.
//!
//! This crate only plans and writes bytes; the engine puts the layers into
//! the store and makes the image.

pub mod carry;
pub mod changelog;
pub mod component;
pub mod dpkg;
mod error;
pub mod ideal;
pub mod layer;
pub mod plan;
pub mod resolve;
pub mod tree;

#[cfg(test)]
pub(crate) mod testutil;

use std::path::Path;

pub use component::{Component, ComponentKind, Tier};
pub use error::{PackError, Result};
pub use layer::{write_layer, write_layer_with_whiteouts, WriteOptions, WrittenLayer};
pub use plan::{PlannedLayer, PriorLayout};
pub use tree::{Kind, Node, Tree};

/// The layer annotation listing the components a layer holds, as a JSON
/// array of component ids (`["pkg:bash","pkg:libc6:amd64"]`). A later
/// `hoist pack --prior` reads it to keep each component where it was.
pub const ANNOTATION_COMPONENTS: &str = "org.hoist.pack.components";

/// How the tree was cut into components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// By dpkg package.
    Dpkg,
    /// By directory and size: the tree has no dpkg database.
    Directory,
}

/// A scanned tree cut into components, ready to be planned and written.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub tree: Tree,
    pub components: Vec<Component>,
    pub grouping: Grouping,
    /// The tree's Debian architecture (`amd64`), from dpkg's own package.
    pub architecture: Option<String>,
    /// Things the user should know: why there is no per-package grouping,
    /// what was left out.
    pub notes: Vec<String>,
}

/// Scans `root` and cuts it into components. `max_layers` sizes the
/// directory groups of a tree without dpkg data.
pub fn analyze(root: &Path, max_layers: usize) -> Result<Analysis> {
    if max_layers == 0 {
        return Err(PackError::NoLayers);
    }
    let tree = Tree::scan(root)?;
    let mut notes = tree.notes.clone();
    let (components, grouping, architecture) = match dpkg::DpkgDb::read(root)? {
        Some(db) => {
            let release = changelog::release(&tree);
            if release.is_none() {
                notes.push(
                    "the tree's /etc/os-release names no distribution release hoist knows: \
                     update frequency counts security uploads and +debNuM versions only"
                        .to_string(),
                );
            }
            let comps = component::from_dpkg(&tree, &db, release.map(|r| r.1))?;
            let arch = db.native_architecture().map(str::to_string);
            (comps, Grouping::Dpkg, arch)
        }
        None => {
            notes.push(format!(
                "no dpkg database in {} (var/lib/dpkg/status and var/lib/dpkg/info/*.list): \
                 files are grouped by directory and size, not by package, and update \
                 frequency is unknown",
                root.display()
            ));
            let total: u64 = tree
                .nodes()
                .iter()
                .map(|n| n.size() + component::ENTRY_COST)
                .sum();
            let comps = component::by_directory(&tree, directory_target(total, max_layers));
            (comps, Grouping::Directory, None)
        }
    };
    Ok(Analysis {
        tree,
        components,
        grouping,
        architecture,
        notes,
    })
}

/// The most bytes a directory component holds whole: about a quarter of a
/// layer's fair share, rounded up to a power of two so that small changes
/// to the tree do not move the cut.
fn directory_target(total: u64, max_layers: usize) -> u64 {
    let share = total / (max_layers as u64 * 4).max(1);
    share.max(component::LARGE_FILE).next_power_of_two()
}

impl Analysis {
    /// Places the components into at most `max_layers` layers.
    pub fn plan(&self, max_layers: usize, prior: Option<&PriorLayout>) -> Vec<PlannedLayer> {
        plan::plan(&self.components, max_layers, prior)
    }

    /// The tree nodes of a planned layer (parents are added when writing).
    pub fn layer_nodes(&self, layer: &PlannedLayer) -> Vec<usize> {
        let mut v: Vec<usize> = layer
            .components
            .iter()
            .flat_map(|&c| self.components[c].nodes.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The ids of the components of a planned layer, sorted.
    pub fn layer_ids(&self, layer: &PlannedLayer) -> Vec<String> {
        layer
            .components
            .iter()
            .map(|&c| self.components[c].id.clone())
            .collect()
    }

    /// The newest modification time of any non-directory: when the tree
    /// was last built, a reproducible image creation time.
    pub fn newest_mtime(&self) -> i64 {
        self.tree
            .nodes()
            .iter()
            .filter(|n| !n.is_dir())
            .map(|n| n.mtime)
            .max()
            .unwrap_or(0)
            .max(0)
    }
}

/// The annotation value for a layer holding `ids`.
pub fn annotation_value(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_string())
}

/// The component ids of an annotation value; `None` if it is not one.
pub fn parse_annotation(value: &str) -> Option<Vec<String>> {
    serde_json::from_str(value).ok()
}

/// The OCI architecture and variant of a Debian architecture.
pub fn oci_platform(debian_arch: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match debian_arch {
        "amd64" => ("amd64", None),
        "arm64" => ("arm64", Some("v8")),
        "armhf" => ("arm", Some("v7")),
        "armel" => ("arm", Some("v5")),
        "i386" => ("386", None),
        "ppc64el" => ("ppc64le", None),
        "s390x" => ("s390x", None),
        "riscv64" => ("riscv64", None),
        "mips64el" => ("mips64le", None),
        "loong64" => ("loong64", None),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::FakeRoot;

    #[test]
    fn analyze_notes_missing_dpkg_data() {
        let r = FakeRoot::new();
        r.write("usr/bin/x", b"x").write("etc/y", b"y");
        let a = analyze(r.path(), 64).unwrap();
        assert_eq!(a.grouping, Grouping::Directory);
        assert!(
            a.notes.iter().any(|n| n.contains("no dpkg database")),
            "{:?}",
            a.notes
        );
        let plan = a.plan(64, None);
        let nodes: usize = plan.iter().map(|l| a.layer_nodes(l).len()).sum();
        assert_eq!(nodes, 5, "every node once: {plan:?}");
    }

    #[test]
    fn annotation_round_trips() {
        let ids = vec!["pkg:a".to_string(), "file:/x,y".to_string()];
        assert_eq!(parse_annotation(&annotation_value(&ids)), Some(ids));
        assert_eq!(parse_annotation("nope"), None);
    }

    #[test]
    fn directory_target_is_a_stable_power_of_two() {
        assert_eq!(directory_target(300 << 20, 64), 2 << 20);
        assert_eq!(directory_target((300 << 20) + 12345, 64), 2 << 20);
        assert_eq!(directory_target(10, 64), 1 << 20);
    }
}

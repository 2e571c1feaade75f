//! Placing components into at most N layers so that an update touches few
//! bytes: a client re-downloads every layer that holds a changed file.
//!
//! - Binary packages of one source are updated together, so they form one
//!   unit; units of the base system and of packages added on top are kept
//!   apart, so that installing something new does not disturb the base's
//!   layers.
//! - Package-manager state, the other unowned files and each large unowned
//!   file get a layer each.
//! - Within a tier, the units that matter most get a layer of their own:
//!   ranked by size weighted by how often the package was updated, so big
//!   packages and frequently updated ones are alone and a change to them
//!   downloads nothing else. The rest are small and stable; they share a
//!   few layers, chosen by a hash of their name so that adding or removing
//!   one disturbs only its own layer.
//! - Each tier's share of the layers is fixed by N and the tiers' sizes,
//!   not by the number of packages, and the added tier always has a reserve:
//!   a small update or installation leaves the other layers' assignments,
//!   and so their digests, as they were.
//! - With a prior image, components keep the layer they had; new ones are
//!   planned as above into the layers left.
//!
//! Everything here is a pure function of the components, so the same tree
//! always gives the same plan.

use std::collections::{BTreeMap, HashMap};

use crate::component::{Component, ComponentKind, Tier, ENTRY_COST};

/// The layers of a previous image, by the component ids each one held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriorLayout {
    pub layers: Vec<Vec<String>>,
}

/// A planned layer: indices into the component list, sorted by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLayer {
    pub components: Vec<usize>,
    /// The index of the prior image's layer it continues, if any.
    pub prior: Option<usize>,
}

/// Where a unit ranks in the layer order (and which budget it draws on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Class {
    Tier(Tier),
    LargeFile,
    Unowned,
    State,
}

/// Components that always share a layer.
#[derive(Debug, Clone)]
struct Unit {
    key: String,
    class: Class,
    comps: Vec<usize>,
    size: u64,
    updates: u32,
}

impl Unit {
    /// Size weighted by update history: ×1 for a package never updated,
    /// ×2 after one update, ×3 after two or three, ×4 after four to seven...
    /// Steps at powers of two so one more update rarely changes the rank.
    fn score(&self) -> u128 {
        let weight = 1 + (u64::from(self.updates) + 1).ilog2();
        u128::from(self.size) * u128::from(weight)
    }
}

/// Plans the layers for `comps` within `max_layers` (at least 1).
pub fn plan(
    comps: &[Component],
    max_layers: usize,
    prior: Option<&PriorLayout>,
) -> Vec<PlannedLayer> {
    let max_layers = max_layers.max(1);
    let mut groups: Vec<Group> = Vec::new();
    let mut fresh: Vec<usize> = (0..comps.len()).collect();
    if let Some(prior) = prior {
        let mut where_: HashMap<&str, usize> = HashMap::new();
        for (li, ids) in prior.layers.iter().enumerate() {
            for id in ids {
                where_.entry(id.as_str()).or_insert(li);
            }
        }
        let mut kept: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        fresh.clear();
        for (ci, c) in comps.iter().enumerate() {
            match where_.get(c.id.as_str()) {
                Some(&li) => kept.entry(li).or_default().push(ci),
                None => fresh.push(ci),
            }
        }
        for (li, members) in kept {
            let size = members.iter().map(|&c| unit_size(&comps[c])).sum();
            groups.push(Group {
                rank: (0, li, String::new()),
                comps: members,
                size,
                prior: Some(li),
            });
        }
    }
    let budget = max_layers.saturating_sub(groups.len()).max(1);
    let units = units(comps, &fresh);
    groups.extend(plan_units(units, budget));
    fit(&mut groups, max_layers);
    groups.sort_by(|a, b| a.rank.cmp(&b.rank));
    groups
        .into_iter()
        .map(|g| {
            let mut components = g.comps;
            components.sort_by(|&a, &b| comps[a].id.cmp(&comps[b].id));
            PlannedLayer {
                components,
                prior: g.prior,
            }
        })
        .collect()
}

/// Every component in a layer of its own: the "one layer per package"
/// baseline of benchmarks, not a plan to use (it ignores any layer limit).
pub fn one_per_component(comps: &[Component]) -> Vec<PlannedLayer> {
    (0..comps.len())
        .map(|c| PlannedLayer {
            components: vec![c],
            prior: None,
        })
        .collect()
}

/// A layer being planned.
#[derive(Debug, Clone)]
struct Group {
    /// Sort key for the layer order: (kind of layer, position, name).
    rank: (usize, usize, String),
    comps: Vec<usize>,
    size: u64,
    prior: Option<usize>,
}

fn unit_size(c: &Component) -> u64 {
    c.size + ENTRY_COST * c.nodes.len() as u64
}

/// Groups the components `which` into units, sorted by key.
fn units(comps: &[Component], which: &[usize]) -> Vec<Unit> {
    let mut by_key: BTreeMap<(Class, String), Unit> = BTreeMap::new();
    for &ci in which {
        let c = &comps[ci];
        let (class, key, updates) = match &c.kind {
            ComponentKind::Package {
                source,
                tier,
                updates,
            } => (Class::Tier(*tier), format!("src:{source}"), *updates),
            ComponentKind::Directory => (Class::Tier(Tier::Base), c.id.clone(), 0),
            ComponentKind::LargeFile => (Class::LargeFile, c.id.clone(), 0),
            ComponentKind::Unowned => (Class::Unowned, c.id.clone(), 0),
            ComponentKind::PackageState => (Class::State, c.id.clone(), 0),
        };
        let u = by_key.entry((class, key.clone())).or_insert_with(|| Unit {
            key,
            class,
            comps: Vec::new(),
            size: 0,
            updates: 0,
        });
        u.comps.push(ci);
        u.size += unit_size(c);
        u.updates = u.updates.max(updates);
    }
    by_key.into_values().collect()
}

/// Plans units into at most about `budget` layers (`fit` trims the rest).
fn plan_units(units: Vec<Unit>, budget: usize) -> Vec<Group> {
    let mut out = Vec::new();
    let mut base = Vec::new();
    let mut added = Vec::new();
    for u in units {
        match u.class {
            Class::Tier(Tier::Base) => base.push(u),
            Class::Tier(Tier::Added) => added.push(u),
            _ => out.push(single(u)),
        }
    }
    // A sixteenth of the layers for the special components (usually three)
    // and as much again for the added tier at least.
    let reserve = budget.div_ceil(16);
    let tiers_budget = budget.saturating_sub(reserve);
    let bytes = |v: &[Unit]| v.iter().map(|u| u.size).sum::<u64>();
    let base_bytes = bytes(&base);
    let added_bytes = bytes(&added);
    let total = (base_bytes + added_bytes).max(1);
    // The added tier's share, by bytes, but never less than the reserve,
    // so the base's share does not move when a little is installed.
    let added_share = (tiers_budget as u128 * added_bytes as u128).div_ceil(total as u128) as usize;
    let base_budget = tiers_budget.saturating_sub(added_share.max(reserve)).max(1);
    let base_groups = pack_tier(base, base_budget);
    let left = budget.saturating_sub(out.len() + base_groups.len()).max(1);
    out.extend(base_groups);
    out.extend(pack_tier(added, left));
    out
}

fn single(u: Unit) -> Group {
    let class_rank = class_rank(u.class);
    Group {
        rank: (class_rank, 0, u.key),
        comps: u.comps,
        size: u.size,
        prior: None,
    }
}

/// Layer order: base first, then additions, large files, unowned files and
/// the package state, which changes most often, last.
fn class_rank(c: Class) -> usize {
    match c {
        Class::Tier(Tier::Base) => 1,
        Class::Tier(Tier::Added) => 3,
        Class::LargeFile => 5,
        Class::Unowned => 6,
        Class::State => 7,
    }
}

/// One tier into at most `budget` layers: the highest-scoring units alone,
/// the rest in hash-chosen shared layers.
fn pack_tier(mut units: Vec<Unit>, budget: usize) -> Vec<Group> {
    let budget = budget.max(1);
    let mut out = Vec::new();
    if units.len() <= budget {
        out.extend(units.into_iter().map(single));
        return out;
    }
    let bins = (budget / 8).max(1);
    let singles = budget - bins;
    units.sort_by(|a, b| b.score().cmp(&a.score()).then_with(|| a.key.cmp(&b.key)));
    let tail = units.split_off(singles);
    out.extend(units.into_iter().map(single));
    out.extend(hash_bins(tail, bins));
    out
}

/// Shares `bins` layers among `units` by a hash of their keys, so a unit's
/// layer does not depend on which other units exist.
fn hash_bins(units: Vec<Unit>, bins: usize) -> Vec<Group> {
    let bins = bins.max(1);
    let mut shared: Vec<Option<Group>> = vec![None; bins];
    for u in units {
        let b = (fnv1a(u.key.as_bytes()) % bins as u64) as usize;
        let rank = class_rank(u.class) + 1;
        let g = shared[b].get_or_insert_with(|| Group {
            rank: (rank, b, String::new()),
            comps: Vec::new(),
            size: 0,
            prior: None,
        });
        g.comps.extend(u.comps);
        g.size += u.size;
    }
    shared.into_iter().flatten().collect()
}

/// Merges the two smallest layers until at most `max` remain. Only needed
/// when the budgets above overflow (tiny N, many large files).
fn fit(groups: &mut Vec<Group>, max: usize) {
    while groups.len() > max {
        groups.sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.rank.cmp(&b.rank)));
        let second = groups.remove(1);
        let first = &mut groups[0];
        first.comps.extend(second.comps);
        first.size += second.size;
        first.prior = first.prior.or(second.prior);
        first.rank = first.rank.clone().min(second.rank);
    }
}

/// FNV-1a, 64 bits: a fixed hash, the same on every platform and run.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, source: &str, tier: Tier, size: u64, updates: u32) -> Component {
        Component {
            id: format!("pkg:{name}"),
            kind: ComponentKind::Package {
                source: source.to_string(),
                tier,
                updates,
            },
            nodes: vec![],
            size,
        }
    }

    fn special(id: &str, kind: ComponentKind, size: u64) -> Component {
        Component {
            id: id.to_string(),
            kind,
            nodes: vec![],
            size,
        }
    }

    fn ids(comps: &[Component], plan: &[PlannedLayer]) -> Vec<Vec<String>> {
        plan.iter()
            .map(|l| l.components.iter().map(|&c| comps[c].id.clone()).collect())
            .collect()
    }

    /// A base system of `n` packages of decreasing size, some from shared sources.
    fn system(n: usize) -> Vec<Component> {
        let mut v: Vec<Component> = (0..n)
            .map(|i| {
                let size = 10_000_000 / (i as u64 + 1);
                pkg(
                    &format!("p{i:03}"),
                    &format!("s{:03}", i / 2 * 2),
                    Tier::Base,
                    size,
                    (i % 5) as u32,
                )
            })
            .collect();
        v.push(special(
            "package-state",
            ComponentKind::PackageState,
            500_000,
        ));
        v.push(special("unowned", ComponentKind::Unowned, 100_000));
        v.push(special(
            "file:/usr/lib/udev/hwdb.bin",
            ComponentKind::LargeFile,
            9_000_000,
        ));
        v
    }

    fn layer_of<'a>(ids: &'a [Vec<String>], id: &str) -> &'a Vec<String> {
        ids.iter().find(|l| l.iter().any(|c| c == id)).unwrap()
    }

    #[test]
    fn every_component_once_within_budget() {
        for n in [1, 5, 40, 200] {
            let comps = system(n);
            for max in [1, 2, 3, 8, 64, 1000] {
                let p = plan(&comps, max, None);
                assert!(p.len() <= max, "{n} comps, max {max}: {} layers", p.len());
                let mut all: Vec<usize> = p.iter().flat_map(|l| l.components.clone()).collect();
                all.sort();
                assert_eq!(all, (0..comps.len()).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn sources_share_a_layer_and_specials_are_alone() {
        let comps = system(200);
        let p = ids(&comps, &plan(&comps, 64, None));
        assert_eq!(
            layer_of(&p, "pkg:p000"),
            &vec!["pkg:p000".to_string(), "pkg:p001".to_string()]
        );
        assert_eq!(
            layer_of(&p, "package-state"),
            &vec!["package-state".to_string()]
        );
        assert_eq!(layer_of(&p, "unowned"), &vec!["unowned".to_string()]);
        // Layers are ordered base first, state last.
        assert_eq!(p.last().unwrap(), &vec!["package-state".to_string()]);
        assert_eq!(p[0], vec!["pkg:p000".to_string(), "pkg:p001".to_string()]);
    }

    #[test]
    fn frequently_updated_small_packages_get_their_own_layer() {
        let mut comps = system(200);
        comps.push(pkg("base-files", "base-files", Tier::Base, 150_000, 15));
        comps.push(pkg("stable-small", "stable-small", Tier::Base, 150_000, 0));
        let p = ids(&comps, &plan(&comps, 64, None));
        assert_eq!(layer_of(&p, "pkg:base-files").len(), 1);
        assert!(layer_of(&p, "pkg:stable-small").len() > 1);
    }

    #[test]
    fn added_packages_leave_the_base_layers_alone() {
        let base = system(200);
        let mut more = base.clone();
        for i in 0..15 {
            more.push(pkg(
                &format!("new{i}"),
                &format!("new{i}"),
                Tier::Added,
                100_000,
                1,
            ));
        }
        // Same source as a base package, but added: not merged into its layer.
        more.push(pkg("p000-tool", "s000", Tier::Added, 50_000, 0));
        let before = ids(&base, &plan(&base, 64, None));
        let after = ids(&more, &plan(&more, 64, None));
        assert!(after.len() <= 64);
        for l in &before {
            assert!(after.contains(l), "base layer {l:?} changed");
        }
    }

    #[test]
    fn an_update_changes_only_its_own_layer() {
        let base = system(200);
        let mut updated = base.clone();
        // A mid-sized package grows a little and gets one more update.
        if let ComponentKind::Package { updates, .. } = &mut updated[30].kind {
            *updates += 1;
        }
        updated[30].size += 1000;
        let before = ids(&base, &plan(&base, 64, None));
        let after = ids(&updated, &plan(&updated, 64, None));
        let changed: Vec<_> = before.iter().filter(|l| !after.contains(l)).collect();
        assert!(changed.len() <= 1, "{changed:?}");
    }

    #[test]
    fn prior_layout_is_kept_and_new_components_go_elsewhere() {
        let comps = system(100);
        let first = plan(&comps, 64, None);
        let prior = PriorLayout {
            layers: ids(&comps, &first),
        };
        let mut more = comps.clone();
        more.push(pkg("brand-new", "brand-new", Tier::Base, 5_000, 0));
        // A component that moves would normally change layers; with the prior it does not.
        let p = plan(&more, 64, Some(&prior));
        let got = ids(&more, &p);
        for l in &prior.layers {
            assert!(got.contains(l), "prior layer {l:?} changed");
        }
        assert_eq!(
            layer_of(&got, "pkg:brand-new"),
            &vec!["pkg:brand-new".to_string()]
        );
        assert!(p.iter().filter(|l| l.prior.is_some()).count() == prior.layers.len());
    }

    #[test]
    fn prior_over_budget_is_merged_down() {
        let comps = system(100);
        let prior = PriorLayout {
            layers: comps.iter().map(|c| vec![c.id.clone()]).collect(),
        };
        let p = plan(&comps, 10, Some(&prior));
        assert_eq!(p.len(), 10);
    }

    #[test]
    fn fnv_is_fixed() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}

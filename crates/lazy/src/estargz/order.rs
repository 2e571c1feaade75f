//! The order entries are written in: prioritized files first.
//!
//! A prioritized file is moved to the front together with what it needs to
//! be extracted there: its parent directories (and the root entry, if the
//! tar has one) and, for a hard link, the link's target, so the target
//! still comes before the link. Every entry of a moved name moves (tars may
//! repeat a name; their relative order is kept, so the last still wins).
//! Everything else keeps its input order.

use std::collections::{HashMap, HashSet};

use super::names;
use super::spool::SpooledEntry;

/// The write order: `order[..prioritized]` are the prioritized entries (the
/// landmark goes after them), the rest follow.
#[derive(Debug)]
pub(crate) struct Plan {
    pub order: Vec<usize>,
    pub prioritized: usize,
    /// Requested paths with no entry in the layer.
    pub missing: Vec<String>,
}

struct Mover<'a> {
    entries: &'a [SpooledEntry],
    by_name: HashMap<&'a str, Vec<usize>>,
    moved: Vec<bool>,
    order: Vec<usize>,
    /// Names being moved, to stop at hard link cycles.
    visiting: HashSet<String>,
}

pub(crate) fn plan(entries: &[SpooledEntry], prioritized: &[String]) -> Plan {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_name.entry(e.clean.as_str()).or_default().push(i);
    }
    let mut m = Mover {
        entries,
        by_name,
        moved: vec![false; entries.len()],
        order: Vec::with_capacity(entries.len()),
        visiting: HashSet::new(),
    };
    let mut missing = Vec::new();
    for p in prioritized {
        let clean = names::clean(p);
        if clean.is_empty() || !m.by_name.contains_key(clean.as_str()) {
            tracing::warn!(path = %p, "prioritized file is not in the layer; ignoring it");
            missing.push(p.clone());
            continue;
        }
        m.move_with_deps(&clean);
    }
    let prioritized = m.order.len();
    let mut order = m.order;
    order.extend((0..entries.len()).filter(|&i| !m.moved[i]));
    Plan {
        order,
        prioritized,
        missing,
    }
}

impl Mover<'_> {
    fn move_with_deps(&mut self, name: &str) {
        if !self.visiting.insert(name.to_string()) {
            return;
        }
        if !name.is_empty() {
            // Parents first; a parent without an entry of its own is
            // implicit and simply skipped.
            self.move_with_deps(names::parent(name));
        }
        let idx = self.by_name.get(name).cloned().unwrap_or_default();
        for &i in &idx {
            if let Some(target) = &self.entries[i].clean_link {
                if !self.moved[i] && self.by_name.contains_key(target.as_str()) {
                    let target = target.clone();
                    self.move_with_deps(&target);
                }
            }
        }
        for i in idx {
            if !self.moved[i] {
                self.moved[i] = true;
                self.order.push(i);
            }
        }
        self.visiting.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::estargz::spool::EntryMeta;
    use crate::toc::EntryType;

    fn entry(name: &str, kind: EntryType, link: &str) -> SpooledEntry {
        SpooledEntry {
            header: 0..0,
            data_start: 0,
            meta: EntryMeta {
                name: name.into(),
                kind,
                link_name: link.into(),
                size: 0,
                mode: 0,
                uid: 0,
                gid: 0,
                uname: String::new(),
                gname: String::new(),
                mtime: 0,
                dev_major: 0,
                dev_minor: 0,
                xattrs: BTreeMap::new(),
            },
            clean: names::clean(name),
            clean_link: (kind == EntryType::Hardlink).then(|| names::clean(link)),
        }
    }

    fn names_in(entries: &[SpooledEntry], plan: &Plan) -> Vec<String> {
        plan.order
            .iter()
            .map(|&i| entries[i].meta.name.clone())
            .collect()
    }

    #[test]
    fn moves_parents_and_link_targets_first() {
        let es = vec![
            entry("./", EntryType::Dir, ""),
            entry("./a/", EntryType::Dir, ""),
            entry("./a/target", EntryType::Reg, ""),
            entry("./b/", EntryType::Dir, ""),
            entry("./b/file", EntryType::Reg, ""),
            entry("./b/link", EntryType::Hardlink, "./a/target"),
            entry("./c", EntryType::Reg, ""),
            entry("./c", EntryType::Reg, ""),
        ];
        let p = plan(
            &es,
            &[
                "/b/link".into(),
                "c".into(),
                "nope".into(),
                "./b/link".into(),
            ],
        );
        assert_eq!(p.prioritized, 7);
        assert_eq!(p.missing, vec!["nope".to_string()]);
        assert_eq!(
            names_in(&es, &p),
            [
                "./",
                "./b/",
                "./a/",
                "./a/target",
                "./b/link",
                "./c",
                "./c",
                "./b/file"
            ]
        );
        assert_eq!(p.order[5..7], [6, 7], "duplicates keep their order");
    }

    #[test]
    fn nothing_prioritized_keeps_the_order() {
        let es = vec![
            entry("z", EntryType::Reg, ""),
            entry("a", EntryType::Reg, ""),
        ];
        let p = plan(&es, &[]);
        assert_eq!((p.order, p.prioritized), (vec![0, 1], 0));
    }

    #[test]
    fn hardlink_cycles_terminate() {
        let es = vec![
            entry("x", EntryType::Hardlink, "y"),
            entry("y", EntryType::Hardlink, "x"),
        ];
        let p = plan(&es, &["x".into()]);
        assert_eq!(p.prioritized, 2);
    }
}

//! Path resolution inside one layer, from its TOC: which regular file an
//! absolute path names once symbolic and hard links are followed, as the
//! container would see it if this layer were the whole image.
//!
//! Used to find what to fetch ahead; a path that leaves the layer (a link
//! into a lower layer) or loops simply resolves to nothing.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::estargz::names;
use crate::toc::{EntryType, Toc};

/// The loader follows at most 40 links per path, like the kernel.
const MAX_LINKS: usize = 40;

#[derive(Debug, Default)]
pub(crate) struct LayerPaths {
    /// Cleaned name -> symlink target, as written.
    symlinks: HashMap<String, String>,
    /// Cleaned name -> cleaned name of the file it is a hard link to.
    hardlinks: HashMap<String, String>,
    /// Cleaned names of regular files.
    files: HashSet<String>,
}

impl LayerPaths {
    pub(crate) fn index(toc: &Toc) -> LayerPaths {
        let mut paths = LayerPaths::default();
        for e in &toc.entries {
            let name = names::clean(&e.name);
            match e.kind {
                EntryType::Reg => {
                    paths.files.insert(name);
                }
                EntryType::Symlink => {
                    paths.symlinks.insert(name, e.link_name.clone());
                }
                EntryType::Hardlink => {
                    paths.hardlinks.insert(name, names::clean(&e.link_name));
                }
                _ => {}
            }
        }
        paths
    }

    /// The cleaned name of the regular file `path` resolves to (relative
    /// paths count from the root), if it is one of this layer's.
    pub(crate) fn regular_file(&self, path: &str) -> Option<String> {
        let mut todo: VecDeque<String> = path.split('/').map(str::to_owned).collect();
        let mut at: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = todo.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    at.pop();
                    continue;
                }
                _ => at.push(part),
            }
            let Some(target) = self.symlinks.get(&at.join("/")) else {
                continue;
            };
            links += 1;
            if links > MAX_LINKS {
                return None;
            }
            at.pop();
            if target.starts_with('/') {
                at.clear();
            }
            for piece in target.split('/').rev() {
                todo.push_front(piece.to_owned());
            }
        }
        let name = at.join("/");
        let name = self.hardlinks.get(&name).cloned().unwrap_or(name);
        self.files.contains(&name).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toc::TocEntry;

    fn entry(name: &str, kind: EntryType, link: &str) -> TocEntry {
        let mut e: TocEntry = serde_json::from_str(r#"{"name":"x","type":"reg"}"#).unwrap();
        e.name = name.into();
        e.kind = kind;
        e.link_name = link.into();
        e
    }

    /// A merged-/usr Debian layout with its usual library links.
    fn debian() -> LayerPaths {
        let entries = vec![
            entry("./lib", EntryType::Symlink, "usr/lib"),
            entry("./lib64", EntryType::Symlink, "usr/lib64"),
            entry(
                "./usr/lib64/ld-linux-x86-64.so.2",
                EntryType::Symlink,
                "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            ),
            entry(
                "./usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                EntryType::Reg,
                "",
            ),
            entry(
                "./usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
                EntryType::Reg,
                "",
            ),
            entry(
                "./usr/lib/x86_64-linux-gnu/libz.so.1",
                EntryType::Symlink,
                "libz.so.1.2.13",
            ),
            entry("./usr/bin/perl5.36", EntryType::Reg, ""),
            entry("./usr/bin/perl", EntryType::Hardlink, "./usr/bin/perl5.36"),
            entry("./loop/a", EntryType::Symlink, "b"),
            entry("./loop/b", EntryType::Symlink, "a"),
            entry("./out", EntryType::Symlink, "../../../etc/shadow"),
        ];
        LayerPaths::index(&Toc {
            version: 1,
            entries,
        })
    }

    #[test]
    fn links_are_followed_like_the_kernel_does() {
        let p = debian();
        assert_eq!(
            p.regular_file("/lib64/ld-linux-x86-64.so.2").as_deref(),
            Some("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        );
        assert_eq!(
            p.regular_file("/lib/x86_64-linux-gnu/libz.so.1").as_deref(),
            Some("usr/lib/x86_64-linux-gnu/libz.so.1.2.13")
        );
        assert_eq!(
            p.regular_file("/usr/bin/perl").as_deref(),
            Some("usr/bin/perl5.36")
        );
    }

    #[test]
    fn loops_escapes_and_strangers_resolve_to_nothing() {
        let p = debian();
        assert_eq!(p.regular_file("/loop/a"), None);
        assert_eq!(p.regular_file("/out"), None, "`..` stops at the root");
        assert_eq!(p.regular_file("/usr/lib/x86_64-linux-gnu/libnone.so"), None);
        assert_eq!(p.regular_file("/usr/lib"), None, "a directory");
    }
}

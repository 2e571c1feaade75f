//! Resolving paths the way a process inside the tree would see them: dpkg
//! lists `/bin/bash`, but with a merged `/usr` the file is at
//! `usr/bin/bash` because `/bin` is a symlink to `usr/bin`. Resolution uses
//! the scanned tree only (never the host's file system), and absolute link
//! targets are relative to the tree's root, as in a chroot.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use crate::tree::{Kind, Tree};

/// Symlinks followed before giving up, as the kernel's limit.
const MAX_HOPS: usize = 40;

/// The tree path `listed` (absolute or relative to the root) names, with
/// every symlink among its directories followed, and the last component
/// followed too when `follow_last`. The result need not exist. `None` for
/// a symlink loop.
pub fn resolve(tree: &Tree, listed: &Path, follow_last: bool) -> Option<PathBuf> {
    let mut pending: VecDeque<OsString> = components(listed).collect();
    let mut cur = PathBuf::new();
    let mut hops = 0;
    while let Some(c) = pending.pop_front() {
        if c == ".." {
            cur.pop();
            continue;
        }
        let candidate = cur.join(&c);
        let is_last = pending.is_empty();
        if let Some(i) = tree.find(&candidate) {
            if let Kind::Symlink { target } = &tree.node(i).kind {
                if !is_last || follow_last {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return None;
                    }
                    if target.is_absolute() {
                        cur = PathBuf::new();
                    }
                    for t in components(target).collect::<Vec<_>>().into_iter().rev() {
                        pending.push_front(t);
                    }
                    continue;
                }
            }
        }
        cur = candidate;
    }
    Some(cur)
}

/// The normal and `..` components of a path (`/` and `.` dropped).
fn components(p: &Path) -> impl Iterator<Item = OsString> + '_ {
    p.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{dir, file, link, tree};

    #[test]
    fn follows_merged_usr_aliases_in_directories_only() {
        let t = tree(vec![
            link("bin", "usr/bin"),
            link("lib64", "/usr/lib64"),
            dir("usr"),
            dir("usr/bin"),
            file("usr/bin/bash", 3),
            link("usr/bin/sh", "dash"),
            dir("usr/lib64"),
            link("usr/lib64/ld.so", "../lib/x/ld.so"),
        ]);
        let r = |p: &str, last| resolve(&t, Path::new(p), last).unwrap();
        assert_eq!(r("/bin/bash", false), Path::new("usr/bin/bash"));
        assert_eq!(r("/bin/sh", false), Path::new("usr/bin/sh"));
        assert_eq!(r("/bin/sh", true), Path::new("usr/bin/dash"));
        assert_eq!(r("/lib64/ld.so", false), Path::new("usr/lib64/ld.so"));
        assert_eq!(r("/lib64/ld.so", true), Path::new("usr/lib/x/ld.so"));
        assert_eq!(r("/bin", false), Path::new("bin"));
        assert_eq!(r("/bin", true), Path::new("usr/bin"));
        assert_eq!(r("/./usr/../bin/new", false), Path::new("usr/bin/new"));
        assert_eq!(r("/../../etc", false), Path::new("etc"));
    }

    #[test]
    fn loops_give_none() {
        let t = tree(vec![link("a", "b"), link("b", "a")]);
        assert_eq!(resolve(&t, Path::new("/a/x"), false), None);
    }
}

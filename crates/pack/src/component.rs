//! Cutting a tree into components, the units that are placed into layers
//! whole: one per dpkg package (its files, merged-`/usr` aliases resolved,
//! and its own files in dpkg's info directory), one per large unowned
//! file, one for the package managers' state, one for everything else.
//! A tree without a dpkg database is cut by directory instead.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::changelog;
use crate::dpkg::{DpkgDb, Package};
use crate::error::Result;
use crate::resolve::resolve;
use crate::tree::{Kind, Tree};

/// Unowned files at least this large are components of their own.
pub const LARGE_FILE: u64 = 1 << 20;

/// Where dpkg, apt and debconf keep their state; unowned files there form
/// one component, which changes with every package operation.
const STATE_PREFIXES: &[&str] = &[
    "var/lib/dpkg",
    "var/lib/apt",
    "var/cache/apt",
    "var/cache/debconf",
    "var/lib/debconf",
    "var/lib/ucf",
    "var/log/apt",
    "var/log/dpkg.log",
    "var/log/alternatives.log",
];

pub const STATE_ID: &str = "package-state";
pub const UNOWNED_ID: &str = "unowned";

/// Whether a package belongs to the system's base or was added on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Essential, required or important packages and what they depend on:
    /// what `debootstrap` installs.
    Base,
    /// Everything else: what was installed on top of the base.
    Added,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentKind {
    Package {
        /// The source package: binaries of one source are updated together.
        source: String,
        tier: Tier,
        /// Stable or security updates seen in its changelog (or version).
        updates: u32,
    },
    /// An unowned file of [`LARGE_FILE`] bytes or more.
    LargeFile,
    /// Unowned files under the package managers' state directories.
    PackageState,
    /// Every other unowned file and directory.
    Unowned,
    /// A directory's files, in a tree without dpkg data.
    Directory,
}

/// A set of tree nodes that always share a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Stable name, written into layer annotations and matched against a
    /// prior image: `pkg:bash`, `file:/usr/lib/udev/hwdb.bin`,
    /// `package-state`, `unowned`, `dir:/usr/lib`.
    pub id: String,
    pub kind: ComponentKind,
    /// Tree nodes, sorted. Directories are included when the component
    /// lists them itself; parents are added when a layer is written.
    pub nodes: Vec<usize>,
    /// Bytes of file content (each hardlinked inode once).
    pub size: u64,
}

impl Component {
    fn new(id: String, kind: ComponentKind) -> Component {
        Component {
            id,
            kind,
            nodes: Vec::new(),
            size: 0,
        }
    }
}

/// Components from the dpkg database; `release` is the distribution's
/// release time, for counting updates in changelogs.
pub fn from_dpkg(tree: &Tree, db: &DpkgDb, release: Option<i64>) -> Result<Vec<Component>> {
    let tiers = tiers(db);
    let mut comps: Vec<Component> = Vec::new();
    let mut owner: Vec<Option<usize>> = vec![None; tree.nodes().len()];
    let mut dirs: Vec<BTreeSet<usize>> = Vec::new();
    let mut history_cache: HashMap<PathBuf, u32> = HashMap::new();
    for pkg in &db.packages {
        let ci = comps.len();
        let updates = updates(tree, pkg, release, &mut history_cache)?;
        comps.push(Component::new(
            format!("pkg:{}", pkg.name),
            ComponentKind::Package {
                source: pkg.source.clone(),
                tier: tiers[&pkg.name],
                updates,
            },
        ));
        let mut own_dirs = BTreeSet::new();
        for i in listed_nodes(tree, db, pkg) {
            if tree.node(i).is_dir() {
                own_dirs.insert(i);
            } else if owner[i].is_none() {
                owner[i] = Some(ci);
            }
        }
        for f in &pkg.info_files {
            if let Some(i) = tree.find(f).filter(|&i| !tree.node(i).is_dir()) {
                owner[i] = Some(ci);
            }
        }
        dirs.push(own_dirs);
    }
    let state = comps.len();
    comps.push(Component::new(
        STATE_ID.to_string(),
        ComponentKind::PackageState,
    ));
    dirs.push(BTreeSet::new());
    let unowned = comps.len();
    comps.push(Component::new(
        UNOWNED_ID.to_string(),
        ComponentKind::Unowned,
    ));
    dirs.push(BTreeSet::new());
    let mut large: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, n) in tree.nodes().iter().enumerate() {
        if n.is_dir() || owner[i].is_some() {
            continue;
        }
        owner[i] = Some(if is_state(&n.path) {
            state
        } else if n.size() >= LARGE_FILE {
            *large.entry(i).or_insert_with(|| {
                comps.push(Component::new(
                    format!("file:/{}", n.path.display()),
                    ComponentKind::LargeFile,
                ));
                dirs.push(BTreeSet::new());
                comps.len() - 1
            })
        } else {
            unowned
        });
    }
    unify_hardlinks(tree, &mut owner);
    // Directories nobody lists and nothing is inside of must still be in a layer.
    let mut covered = vec![false; tree.nodes().len()];
    for (i, n) in tree.nodes().iter().enumerate() {
        if !n.is_dir() || dirs.iter().any(|d| d.contains(&i)) {
            mark_ancestors(tree, i, &mut covered);
            covered[i] = true;
        }
    }
    for (i, n) in tree.nodes().iter().enumerate() {
        if n.is_dir() && !covered[i] {
            dirs[if is_state(&n.path) { state } else { unowned }].insert(i);
        }
    }
    fill(tree, &mut comps, &owner, &dirs);
    // Large files whose hardlinks took them elsewhere leave empty components.
    comps.retain(|c| !c.nodes.is_empty() || c.kind == ComponentKind::Unowned);
    Ok(comps)
}

/// Components for a tree without dpkg data: each large file alone, then
/// directories whose contents are at most `target` bytes whole, larger
/// ones split into their own files and their subdirectories.
pub fn by_directory(tree: &Tree, target: u64) -> Vec<Component> {
    let n = tree.nodes().len();
    let mut owner: Vec<Option<usize>> = vec![None; n];
    let mut comps = Vec::new();
    for (i, node) in tree.nodes().iter().enumerate() {
        if !node.is_dir() && node.size() >= LARGE_FILE {
            owner[i] = Some(comps.len());
            comps.push(Component::new(
                format!("file:/{}", node.path.display()),
                ComponentKind::LargeFile,
            ));
        }
    }
    // Bytes below each directory, large files excluded (they are placed).
    let mut below = vec![0u64; n];
    for (i, node) in tree.nodes().iter().enumerate() {
        if owner[i].is_none() && !node.is_dir() {
            let mut p = node.path.parent();
            while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
                if let Some(di) = tree.find(d) {
                    below[di] += node.size() + ENTRY_COST;
                }
                p = d.parent();
            }
        }
    }
    let mut dirs: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); comps.len()];
    let mut stack = vec![None::<usize>];
    while let Some(d) = stack.pop() {
        let (rel, whole) = match d {
            None => (PathBuf::new(), false),
            Some(di) => (tree.node(di).path.clone(), below[di] <= target),
        };
        let ci = comps.len();
        comps.push(Component::new(
            format!("dir:/{}", rel.display()),
            ComponentKind::Directory,
        ));
        let mut own = BTreeSet::new();
        if let Some(di) = d {
            own.insert(di);
        }
        let depth = rel.components().count();
        for i in tree.descendants(&rel) {
            if owner[i].is_some() {
                continue;
            }
            let node = tree.node(i);
            let direct = node.path.components().count() == depth + 1;
            if whole {
                if node.is_dir() {
                    own.insert(i);
                } else {
                    owner[i] = Some(ci);
                }
            } else if direct {
                if node.is_dir() {
                    stack.push(Some(i));
                } else {
                    owner[i] = Some(ci);
                }
            }
        }
        dirs.push(own);
    }
    unify_hardlinks(tree, &mut owner);
    fill(tree, &mut comps, &owner, &dirs);
    comps.retain(|c| !c.nodes.is_empty());
    comps
}

/// Rough bytes a tar entry costs besides its content (one header block).
pub const ENTRY_COST: u64 = 512;

/// The tree nodes a package's list names, aliases and diversions resolved.
fn listed_nodes(tree: &Tree, db: &DpkgDb, pkg: &Package) -> Vec<usize> {
    // A listed path that has listed paths below it is a directory to
    // dpkg, even where the tree has a symlink (`/bin` -> `usr/bin`).
    let listed_dirs: HashSet<&Path> = pkg.list.iter().filter_map(|p| p.parent()).collect();
    let mut out = Vec::new();
    for listed in &pkg.list {
        if listed.as_os_str() == "/." {
            continue;
        }
        let diverted = db
            .diversions
            .iter()
            .find(|d| &d.from == listed && d.by.as_deref() != Some(pkg.package.as_str()))
            .map_or(listed.as_path(), |d| d.to.as_path());
        let Some(rel) = resolve(tree, diverted, false) else {
            continue;
        };
        let Some(mut i) = tree.find(&rel) else {
            continue;
        };
        if matches!(tree.node(i).kind, Kind::Symlink { .. })
            && listed_dirs.contains(listed.as_path())
        {
            match resolve(tree, diverted, true).and_then(|r| tree.find_dir(&r)) {
                Some(d) => i = d,
                None => continue,
            }
        }
        out.push(i);
    }
    out
}

/// The stable or security updates of a package: counted in its changelog
/// (shared by the binaries of one source, hence the cache), or read from
/// its version when it ships no changelog.
fn updates(
    tree: &Tree,
    pkg: &Package,
    release: Option<i64>,
    cache: &mut HashMap<PathBuf, u32>,
) -> Result<u32> {
    let from_version = changelog::updates_in_version(&pkg.version);
    let Some(path) = changelog::changelog_path(tree, &pkg.package) else {
        return Ok(from_version);
    };
    if let Some(&n) = cache.get(&path) {
        return Ok(n.max(from_version));
    }
    let n = changelog::updates_in_file(tree, &path, release)?;
    cache.insert(path, n);
    Ok(n.max(from_version))
}

/// Base packages: essential, required or important ones and everything
/// they depend on (through any installed alternative or provider).
fn tiers(db: &DpkgDb) -> HashMap<String, Tier> {
    let mut by_package: HashMap<&str, Vec<&Package>> = HashMap::new();
    for p in &db.packages {
        by_package.entry(&p.package).or_default().push(p);
        for v in &p.provides {
            by_package.entry(v).or_default().push(p);
        }
    }
    let mut base: HashSet<&str> = HashSet::new();
    let mut queue: Vec<&Package> = db
        .packages
        .iter()
        .filter(|p| p.essential || p.priority == "required" || p.priority == "important")
        .collect();
    if db.packages.iter().all(|p| p.priority.is_empty()) {
        // No priorities at all: no way to tell the base from additions.
        queue = db.packages.iter().collect();
    }
    while let Some(p) = queue.pop() {
        if !base.insert(&p.name) {
            continue;
        }
        for alt in p.depends.iter().flatten() {
            for dep in by_package.get(alt.as_str()).into_iter().flatten() {
                if !base.contains(dep.name.as_str()) {
                    queue.push(dep);
                }
            }
        }
    }
    db.packages
        .iter()
        .map(|p| {
            let tier = if base.contains(p.name.as_str()) {
                Tier::Base
            } else {
                Tier::Added
            };
            (p.name.clone(), tier)
        })
        .collect()
}

fn is_state(rel: &Path) -> bool {
    STATE_PREFIXES.iter().any(|p| rel.starts_with(p))
}

fn mark_ancestors(tree: &Tree, i: usize, covered: &mut [bool]) {
    let mut p = tree.node(i).path.parent();
    while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
        match tree.find(d) {
            Some(di) if !covered[di] => covered[di] = true,
            // Already marked, and so are its ancestors.
            Some(_) => return,
            None => {}
        }
        p = d.parent();
    }
}

/// All names of a hardlinked inode go where its first name (in path
/// order) went: a layer can only hold a hardlink to a file of its own.
fn unify_hardlinks(tree: &Tree, owner: &mut [Option<usize>]) {
    let mut first: HashMap<(u64, u64), usize> = HashMap::new();
    for (i, n) in tree.nodes().iter().enumerate() {
        if n.nlink > 1 && matches!(n.kind, Kind::File { .. }) {
            let f = *first.entry(n.inode).or_insert(i);
            owner[i] = owner[f];
        }
    }
}

/// Fills in the components' node lists and sizes.
fn fill(tree: &Tree, comps: &mut [Component], owner: &[Option<usize>], dirs: &[BTreeSet<usize>]) {
    let mut seen_inodes = HashSet::new();
    for (i, o) in owner.iter().enumerate() {
        if let Some(c) = o {
            let n = tree.node(i);
            comps[*c].nodes.push(i);
            if n.nlink <= 1 || seen_inodes.insert(n.inode) {
                comps[*c].size += n.size();
            }
        }
    }
    for (c, d) in comps.iter_mut().zip(dirs) {
        c.nodes.extend(d.iter().copied());
        c.nodes.sort_unstable();
        c.nodes.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::FakeRoot;

    fn comp<'a>(comps: &'a [Component], id: &str) -> &'a Component {
        comps
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no component {id}"))
    }

    fn paths(t: &Tree, c: &Component) -> Vec<String> {
        c.nodes
            .iter()
            .map(|&i| t.node(i).path.display().to_string())
            .collect()
    }

    /// A small merged-/usr Debian tree.
    fn debian() -> FakeRoot {
        let r = FakeRoot::new();
        r.symlink("bin", "usr/bin").symlink("lib", "usr/lib");
        r.package(
            "bash",
            "Priority: required\nEssential: yes\nDepends: libc6\n",
            &[("/usr/bin/bash", 100)],
        );
        r.package(
            "libc6:amd64",
            "Priority: optional\nSource: glibc\n",
            &[
                ("/usr/lib/libc.so.6", 200),
                ("/usr/share/doc/libc6/copyright", 5),
            ],
        );
        r.package(
            "curl",
            "Priority: optional\nDepends: libc6\n",
            &[("/usr/bin/curl", 50)],
        );
        // dpkg lists pre-merge paths; the files live under /usr.
        let list = "/.\n/bin\n/bin/sh\n/usr\n/usr/bin\n/usr/bin/dash\n";
        r.write("usr/bin/dash", b"dash");
        r.write("var/lib/dpkg/info/dash.list", list.as_bytes());
        let status = std::fs::read_to_string(r.path().join("var/lib/dpkg/status")).unwrap();
        r.write(
            "var/lib/dpkg/status",
            format!(
                "{status}\nPackage: dash\nPriority: required\nArchitecture: amd64\nVersion: 1\n"
            )
            .as_bytes(),
        );
        r.symlink("usr/bin/sh", "dash");
        r.write("usr/lib/udev/hwdb.bin", &vec![7u8; LARGE_FILE as usize]);
        r.write("etc/passwd", b"root:x:0:0\n");
        r.write("var/cache/debconf/config.dat", b"Name: x\n");
        r.write("var/lib/dpkg/info/format", b"1\n");
        r.mkdir("home").mkdir("var/lib/apt/lists");
        r
    }

    #[test]
    fn packages_own_their_files_through_aliases() {
        let r = debian();
        let t = r.scan();
        let db = DpkgDb::read(r.path()).unwrap().unwrap();
        let comps = from_dpkg(&t, &db, None).unwrap();
        let ids: Vec<_> = comps.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "pkg:bash",
                "pkg:curl",
                "pkg:dash",
                "pkg:libc6:amd64",
                "package-state",
                "unowned",
                "file:/usr/lib/udev/hwdb.bin"
            ]
        );
        let dash = comp(&comps, "pkg:dash");
        // /bin is listed as a directory: the alias resolves to usr/bin.
        assert_eq!(
            paths(&t, dash),
            [
                "usr",
                "usr/bin",
                "usr/bin/dash",
                "usr/bin/sh",
                "var/lib/dpkg/info/dash.list"
            ]
        );
        assert_eq!(
            dash.size,
            4 + std::fs::metadata(r.path().join("var/lib/dpkg/info/dash.list"))
                .unwrap()
                .len()
        );
        let libc = comp(&comps, "pkg:libc6:amd64");
        assert!(paths(&t, libc).contains(&"usr/lib/libc.so.6".to_string()));
        assert!(paths(&t, libc).contains(&"usr/share/doc/libc6/copyright".to_string()));
        assert!(paths(&t, libc).contains(&"var/lib/dpkg/info/libc6:amd64.md5sums".to_string()));
        assert_eq!(
            libc.kind,
            ComponentKind::Package {
                source: "glibc".into(),
                tier: Tier::Base,
                updates: 0
            }
        );
        // curl is not needed by any base package.
        assert!(matches!(
            comp(&comps, "pkg:curl").kind,
            ComponentKind::Package {
                tier: Tier::Added,
                ..
            }
        ));
        assert_eq!(
            paths(&t, comp(&comps, "package-state")),
            [
                "var/cache/debconf/config.dat",
                "var/lib/apt",
                "var/lib/apt/lists",
                "var/lib/dpkg/info/format",
                "var/lib/dpkg/status"
            ]
        );
        assert_eq!(
            paths(&t, comp(&comps, "unowned")),
            ["bin", "etc/passwd", "home", "lib"]
        );
        assert_eq!(
            paths(&t, comp(&comps, "file:/usr/lib/udev/hwdb.bin")),
            ["usr/lib/udev/hwdb.bin"]
        );
    }

    #[test]
    fn every_node_lands_in_a_component() {
        let r = debian();
        let t = r.scan();
        let db = DpkgDb::read(r.path()).unwrap().unwrap();
        let comps = from_dpkg(&t, &db, None).unwrap();
        let mut placed = vec![false; t.nodes().len()];
        for c in &comps {
            for &i in &c.nodes {
                placed[i] = true;
                // parents are implied
                let mut p = t.node(i).path.parent();
                while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
                    placed[t.find(d).unwrap()] = true;
                    p = d.parent();
                }
            }
        }
        let missing: Vec<_> = placed
            .iter()
            .enumerate()
            .filter(|(_, p)| !**p)
            .map(|(i, _)| t.node(i).path.clone())
            .collect();
        assert!(missing.is_empty(), "not in any component: {missing:?}");
        // Non-directories are in exactly one component.
        let mut seen = HashSet::new();
        for c in &comps {
            for &i in &c.nodes {
                if !t.node(i).is_dir() {
                    assert!(seen.insert(i), "{} twice", t.node(i).path.display());
                }
            }
        }
    }

    #[test]
    fn hardlinks_and_diversions() {
        let r = FakeRoot::new();
        r.package("perl", "Priority: required\n", &[("/usr/bin/perl", 10)]);
        std::fs::hard_link(
            r.path().join("usr/bin/perl"),
            r.path().join("usr/bin/perl5.36"),
        )
        .unwrap();
        // A second name of perl's file that nobody lists still goes with perl.
        r.package("dash", "Priority: required\n", &[("/usr/bin/sh", 3)]);
        r.package("bash", "Priority: required\n", &[("/usr/bin/bash", 3)]);
        // bash's /usr/bin/sh is diverted by dash to sh.distrib.
        std::fs::write(
            r.path().join("var/lib/dpkg/info/bash.list"),
            "/.\n/usr\n/usr/bin\n/usr/bin/bash\n/usr/bin/sh\n",
        )
        .unwrap();
        r.write("usr/bin/sh.distrib", b"bash-sh");
        r.write(
            "var/lib/dpkg/diversions",
            b"/usr/bin/sh\n/usr/bin/sh.distrib\ndash\n",
        );
        let t = r.scan();
        let db = DpkgDb::read(r.path()).unwrap().unwrap();
        let comps = from_dpkg(&t, &db, None).unwrap();
        let perl = comp(&comps, "pkg:perl");
        assert!(paths(&t, perl).contains(&"usr/bin/perl5.36".to_string()));
        assert_eq!(
            perl.size,
            10 + std::fs::metadata(r.path().join("var/lib/dpkg/info/perl.list"))
                .unwrap()
                .len()
                + 6
        );
        assert!(paths(&t, comp(&comps, "pkg:bash")).contains(&"usr/bin/sh.distrib".to_string()));
        assert!(paths(&t, comp(&comps, "pkg:dash")).contains(&"usr/bin/sh".to_string()));
    }

    #[test]
    fn updates_come_from_changelogs_shared_by_a_source() {
        let r = FakeRoot::new();
        r.write("etc/os-release", b"VERSION_CODENAME=bookworm\n");
        r.package(
            "libssl3",
            "Priority: optional\nSource: openssl\n",
            &[("/usr/lib/libssl.so.3", 10)],
        );
        r.write_gz(
            "usr/share/doc/libssl3/changelog.Debian.gz",
            &crate::testutil::changelog(
                "openssl",
                &[
                    (
                        "3.0.20-1~deb12u1",
                        "bookworm",
                        "Tue, 1 Jul 2025 10:00:00 +0000",
                    ),
                    (
                        "3.0.19-1~deb12u1",
                        "bookworm-security",
                        "Tue, 1 Apr 2025 10:00:00 +0000",
                    ),
                    ("3.0.9-1", "unstable", "Wed, 31 May 2023 10:00:00 +0000"),
                ],
            ),
        );
        r.package("perl-base", "Priority: required\n", &[("/usr/bin/perl", 1)]);
        let status = std::fs::read_to_string(r.path().join("var/lib/dpkg/status"))
            .unwrap()
            .replace(
                "Version: 1.0\nPriority: required",
                "Version: 5.36.0-7+deb12u3\nPriority: required",
            );
        r.write("var/lib/dpkg/status", status.as_bytes());
        let t = r.scan();
        let db = DpkgDb::read(r.path()).unwrap().unwrap();
        let release = changelog::release(&t).map(|r| r.1);
        let comps = from_dpkg(&t, &db, release).unwrap();
        let upd = |id| match &comp(&comps, id).kind {
            ComponentKind::Package { updates, .. } => *updates,
            k => panic!("{k:?}"),
        };
        assert_eq!(upd("pkg:libssl3"), 2);
        // No changelog: the +deb12u3 of its version.
        assert_eq!(upd("pkg:perl-base"), 3);
    }

    #[test]
    fn directories_split_until_small_enough() {
        let r = FakeRoot::new();
        r.write("usr/lib/a/1", &[0; 3000])
            .write("usr/lib/a/2", &[0; 3000]);
        r.write("usr/lib/b/1", &[0; 100]);
        r.write("usr/bin/x", &[0; 100]);
        r.write("etc/conf", &[0; 10])
            .write("big", &vec![0; LARGE_FILE as usize]);
        r.mkdir("empty");
        let t = r.scan();
        let comps = by_directory(&t, 4000);
        let mut ids: Vec<_> = comps.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        // The root has no files of its own, so no "dir:/".
        assert_eq!(
            ids,
            [
                "dir:/empty",
                "dir:/etc",
                "dir:/usr",
                "dir:/usr/bin",
                "dir:/usr/lib",
                "dir:/usr/lib/a",
                "dir:/usr/lib/b",
                "file:/big"
            ]
        );
        assert_eq!(paths(&t, comp(&comps, "dir:/empty")), ["empty"]);
        assert_eq!(
            paths(&t, comp(&comps, "dir:/usr/lib/a")),
            ["usr/lib/a", "usr/lib/a/1", "usr/lib/a/2"]
        );
        assert_eq!(comp(&comps, "dir:/usr/lib/a").size, 6000);
        assert_eq!(paths(&t, comp(&comps, "dir:/usr")), ["usr"]);
    }
}

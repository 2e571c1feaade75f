//! Updating an image packed before rather than replacing its layers.
//!
//! A client that holds the prior image has all of its layers. When the
//! tree is packed again with that image as `--prior`:
//!
//! - a prior layer whose entries the tree still has, unchanged, is kept as
//!   it is: the same blob, nothing to download. Content, type, mode, owner,
//!   extended attributes and link targets are compared; modification times
//!   are not, so a package upgrade that rewrites a file with the same bytes
//!   changes nothing;
//! - a prior layer where less than half of the bytes changed is kept too,
//!   and what changed in it is carried by one layer on top, with whiteouts
//!   for what the tree no longer has;
//! - every other layer is written from the tree, as without a prior.
//!
//! The carrying layer is the smallest of those written anyway (or, when
//! none is, the smallest changed one), moved to the top: the number of
//! layers does not grow. Since a kept layer is compared with the tree as
//! the prior image had it, its stale part never piles up across updates:
//! once half of a kept layer has changed, it is written again. What an
//! earlier update carried into a layer counts as live while the tree still
//! has it as it is, so the next update keeps that layer (and does not
//! download the carried files again) unless something in it changed.
//!
//! A file whose content did not change is served from the prior layer, so
//! the new image shows the prior's modification time for it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::ops::Bound;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component as PathPart, Path, PathBuf};

use hoist_image::{Digest, Hasher};
use tar::EntryType;

use crate::component::ENTRY_COST;
use crate::error::{io, PackError, Result};
use crate::layer::with_parents;
use crate::plan::PlannedLayer;
use crate::tree::{Kind, Tree};
use crate::Analysis;

/// A changed prior layer is kept while its changed bytes are less than this
/// fraction of its live bytes. Keeping it saves downloading its unchanged
/// bytes and costs storing its stale ones: at a half, it always saves more
/// than it wastes.
const KEEP_BELOW: (u64, u64) = (1, 2);

/// What an entry of a prior layer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    File {
        size: u64,
        sha256: Digest,
    },
    Dir,
    Symlink(Vec<u8>),
    CharDevice(u32, u32),
    BlockDevice(u32, u32),
    Fifo,
    /// Something no tree node ever matches (a hardlink to a missing name,
    /// a sparse file): the tree's version is always carried over it.
    Other,
}

/// One entry of a prior layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub object: Object,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Sorted by name.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Entry {
    fn cost(&self) -> u64 {
        match self.object {
            Object::File { size, .. } => size + ENTRY_COST,
            _ => ENTRY_COST,
        }
    }
}

/// What one layer of the prior image holds, read from its tar stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerFiles {
    entries: BTreeMap<PathBuf, Entry>,
    /// Paths the layer hides in the layers below (`.wh.<name>`).
    whiteouts: Vec<PathBuf>,
    /// Directories whose lower contents the layer hides (`.wh..wh..opq`).
    opaque: Vec<PathBuf>,
}

impl LayerFiles {
    pub fn entries(&self) -> &BTreeMap<PathBuf, Entry> {
        &self.entries
    }

    pub fn whiteouts(&self) -> &[PathBuf] {
        &self.whiteouts
    }
}

/// Reads an uncompressed layer tar stream. Content is hashed, not kept.
pub fn read_layer(r: impl Read) -> Result<LayerFiles> {
    let bad = |source| PackError::PriorLayer { source };
    let mut archive = tar::Archive::new(r);
    let mut files = LayerFiles::default();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = clean(&entry.path().map_err(bad)?).map_err(bad)?;
        let Some(name) = path.file_name().map(|n| n.as_bytes().to_vec()) else {
            continue; // the root itself
        };
        let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
        if name == b".wh..wh..opq" {
            files.opaque.push(parent);
            continue;
        }
        if let Some(hidden) = name.strip_prefix(b".wh.") {
            files
                .whiteouts
                .push(parent.join(std::ffi::OsStr::from_bytes(hidden)));
            continue;
        }
        let read = read_entry(&mut entry, &files.entries).map_err(bad)?;
        files.entries.insert(path, read);
    }
    Ok(files)
}

fn read_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    earlier: &BTreeMap<PathBuf, Entry>,
) -> std::io::Result<Entry> {
    let h = entry.header();
    let mut e = Entry {
        object: Object::Other,
        mode: h.mode()? & 0o7777,
        uid: u32::try_from(h.uid()?).unwrap_or(u32::MAX),
        gid: u32::try_from(h.gid()?).unwrap_or(u32::MAX),
        xattrs: Vec::new(),
    };
    let kind = h.entry_type();
    let devices = (h.device_major()?, h.device_minor()?);
    if let Some(pax) = entry.pax_extensions()? {
        for ext in pax {
            let ext = ext?;
            let key = ext.key_bytes();
            if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                e.xattrs.push((name.to_vec(), ext.value_bytes().to_vec()));
            } else if key == b"uid" || key == b"gid" {
                let id = std::str::from_utf8(ext.value_bytes())
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(u32::MAX);
                if key == b"uid" {
                    e.uid = id;
                } else {
                    e.gid = id;
                }
            }
        }
    }
    e.xattrs.sort();
    let target = |entry: &tar::Entry<'_, R>| -> Vec<u8> {
        entry
            .link_name_bytes()
            .map(|b| b.into_owned())
            .unwrap_or_default()
    };
    e.object = match kind {
        EntryType::Regular | EntryType::Continuous => {
            let (size, sha256) = sha256_of(entry)?;
            Object::File { size, sha256 }
        }
        EntryType::Link => {
            let to = clean(Path::new(std::ffi::OsStr::from_bytes(&target(entry))))?;
            // A hardlink shares its first name's inode: its content and
            // metadata are that entry's.
            return Ok(earlier.get(&to).cloned().unwrap_or(Entry {
                object: Object::Other,
                ..e
            }));
        }
        EntryType::Directory => Object::Dir,
        EntryType::Symlink => Object::Symlink(target(entry)),
        EntryType::Char => {
            Object::CharDevice(devices.0.unwrap_or_default(), devices.1.unwrap_or_default())
        }
        EntryType::Block => {
            Object::BlockDevice(devices.0.unwrap_or_default(), devices.1.unwrap_or_default())
        }
        EntryType::Fifo => Object::Fifo,
        _ => Object::Other,
    };
    Ok(e)
}

/// The length and sha256 of what `r` reads.
fn sha256_of(mut r: impl Read) -> std::io::Result<(u64, Digest)> {
    let mut hasher = Hasher::sha256();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((size, hasher.finish()));
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
}

/// A layer path relative to the root: `./` and a leading `/` dropped;
/// `..` refused (hoist never writes it, and a path with it names nothing
/// of the tree).
fn clean(path: &Path) -> std::io::Result<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            PathPart::Normal(p) => out.push(p),
            PathPart::CurDir | PathPart::RootDir => {}
            PathPart::ParentDir | PathPart::Prefix(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("layer entry {} leaves the root", path.display()),
                ))
            }
        }
    }
    Ok(out)
}

/// How a planned layer ends up in the new image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The prior image's layer at this index, unchanged.
    Keep { prior: usize },
    /// Written from the tree: these nodes (parents are added when writing)
    /// and whiteouts for these paths.
    Write {
        nodes: Vec<usize>,
        whiteouts: Vec<PathBuf>,
    },
}

/// A layer of the new image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledLayer {
    /// The planned layer: its components are the ones annotated.
    pub planned: PlannedLayer,
    pub how: Settled,
    /// Entries carried for kept layers (0 except in the carrying layer).
    pub carried: usize,
}

impl Analysis {
    /// Decides, for each layer of `plan`, whether the prior image's layer
    /// it continues is kept or written again, and carries the changes of
    /// kept layers in one layer on top. `prior[i]` is what the prior
    /// image's layer `i` holds (`None` when it could not be read: that
    /// layer is not kept).
    pub fn settle(
        &self,
        plan: &[PlannedLayer],
        prior: &[Option<LayerFiles>],
    ) -> Result<Vec<SettledLayer>> {
        let mut digests = TreeDigests::new(&self.tree);
        let mut layers = Vec::with_capacity(plan.len());
        // Per layer, when kept: how many bytes of its prior layer changed.
        let mut dirty: Vec<Option<u64>> = Vec::with_capacity(plan.len());
        let mut used = HashSet::new();
        for p in plan {
            let nodes = self.layer_nodes(p);
            let files = p
                .prior
                .filter(|&li| used.insert(li))
                .and_then(|li| prior.get(li)?.as_ref().map(|f| (li, f)));
            let keep = match files {
                Some((li, files)) => {
                    let all = with_parents(&self.tree, &nodes);
                    let (changed, live) = change(&self.tree, &all, files, &mut digests)?;
                    (changed == 0 || changed * KEEP_BELOW.1 < live * KEEP_BELOW.0)
                        .then_some((li, changed))
                }
                None => None,
            };
            dirty.push(keep.map(|k| k.1));
            layers.push(SettledLayer {
                planned: p.clone(),
                how: match keep {
                    Some((li, _)) => Settled::Keep { prior: li },
                    None => Settled::Write {
                        nodes,
                        whiteouts: Vec::new(),
                    },
                },
                carried: 0,
            });
        }
        if !dirty.iter().any(|d| d.is_some_and(|c| c > 0)) {
            return Ok(layers);
        }
        let carrier = self.carrier(&layers, &dirty);
        let mut carrying = layers.remove(carrier);
        let mut own = match carrying.how {
            Settled::Write { nodes, .. } => nodes,
            Settled::Keep { .. } => self.layer_nodes(&carrying.planned),
        };
        let view = View::of(&self.tree, &layers, prior);
        let (carried, whiteouts) = view.differences(&self.tree, &own, &mut digests)?;
        carrying.carried = carried.len() + whiteouts.len();
        own.extend(carried);
        own.sort_unstable();
        own.dedup();
        carrying.how = Settled::Write {
            nodes: own,
            whiteouts,
        };
        layers.push(carrying);
        Ok(layers)
    }

    /// The layer that carries the changes: the smallest of those written
    /// anyway, else the smallest kept one that changed.
    fn carrier(&self, layers: &[SettledLayer], dirty: &[Option<u64>]) -> usize {
        let size = |l: &SettledLayer| -> u64 {
            self.layer_nodes(&l.planned)
                .iter()
                .map(|&i| self.tree.node(i).size() + ENTRY_COST)
                .sum()
        };
        let smallest = |want: &dyn Fn(usize) -> bool| {
            (0..layers.len())
                .filter(|&i| want(i))
                .min_by_key(|&i| (size(&layers[i]), i))
        };
        smallest(&|i| matches!(layers[i].how, Settled::Write { .. }))
            .or_else(|| smallest(&|i| dirty[i].is_some_and(|c| c > 0)))
            .unwrap_or(layers.len() - 1)
    }
}

/// How many bytes of a prior layer changed (entries the tree has
/// differently or no longer has, whiteouts of paths it has again), and how
/// many bytes of it are live: the planned layer `all` (nodes with parents)
/// and the entries beyond it that still match the tree.
fn change(
    tree: &Tree,
    all: &[usize],
    files: &LayerFiles,
    digests: &mut TreeDigests,
) -> Result<(u64, u64)> {
    let mut changed = 0;
    let mut live = 0;
    let mut present = HashSet::with_capacity(all.len());
    for &i in all {
        let node = tree.node(i);
        let cost = node.size() + ENTRY_COST;
        live += cost;
        present.insert(node.path.as_path());
        let same = match files.entries.get(&node.path) {
            Some(e) => digests.matches(i, e)?,
            None => false,
        };
        if !same {
            changed += cost;
        }
    }
    for (p, e) in &files.entries {
        if present.contains(p.as_path()) {
            continue;
        }
        // An entry beyond the layer's components (carried into it by an
        // earlier update) does no harm while the tree still has it as it
        // is: keeping it is what spares downloading it again.
        let harmless = match tree.find(p) {
            Some(i) => digests.matches(i, e)?,
            None => false,
        };
        if harmless {
            live += e.cost();
        } else {
            changed += e.cost();
        }
    }
    // Likewise a whiteout of a path the tree does not have; an opaque
    // directory (hoist writes none) may hide anything.
    let hiding = files.whiteouts.iter().filter(|w| tree.find(w).is_some());
    changed += (hiding.count() + files.opaque.len()) as u64 * ENTRY_COST;
    Ok((changed, live))
}

/// What a client sees of a stack of layers: by path, which entry wins.
struct View<'a> {
    map: BTreeMap<&'a Path, Source<'a>>,
}

#[derive(Clone, Copy)]
enum Source<'a> {
    Prior(&'a Entry),
    Tree(usize),
}

impl<'a> View<'a> {
    /// The view of `layers`, bottom to top.
    fn of(tree: &'a Tree, layers: &[SettledLayer], prior: &'a [Option<LayerFiles>]) -> View<'a> {
        let mut v = View {
            map: BTreeMap::new(),
        };
        for l in layers {
            match &l.how {
                Settled::Keep { prior: li } => {
                    if let Some(Some(files)) = prior.get(*li) {
                        v.apply_prior(files);
                    }
                }
                Settled::Write { nodes, .. } => {
                    for i in with_parents(tree, nodes) {
                        let n = tree.node(i);
                        if !n.is_dir() {
                            v.hide_below(&n.path);
                        }
                        v.map.insert(&n.path, Source::Tree(i));
                    }
                }
            }
        }
        v
    }

    fn apply_prior(&mut self, files: &'a LayerFiles) {
        for d in &files.opaque {
            self.hide_below(d);
        }
        for w in &files.whiteouts {
            self.hide_below(w);
            self.map.remove(w.as_path());
        }
        for (p, e) in &files.entries {
            if e.object != Object::Dir {
                self.hide_below(p);
            }
            self.map.insert(p, Source::Prior(e));
        }
    }

    /// Drops everything below `dir` (an upper non-directory or an opaque
    /// directory hides it).
    fn hide_below(&mut self, dir: &Path) {
        let below: Vec<&'a Path> = self
            .map
            .range::<Path, _>((Bound::Excluded(dir), Bound::Unbounded))
            .map(|(p, _)| *p)
            .take_while(|p| p.starts_with(dir))
            .collect();
        for p in below {
            self.map.remove(p);
        }
    }

    /// The tree nodes this view does not show as they are (other than
    /// those in `own`, which the carrying layer holds anyway), and the
    /// paths it shows that the tree no longer has, as whiteouts: one for
    /// the topmost missing path of each removed subtree.
    fn differences(
        &self,
        tree: &Tree,
        own: &[usize],
        digests: &mut TreeDigests,
    ) -> Result<(Vec<usize>, Vec<PathBuf>)> {
        let own: HashSet<usize> = own.iter().copied().collect();
        let mut carried = Vec::new();
        for (i, n) in tree.nodes().iter().enumerate() {
            if own.contains(&i) {
                continue;
            }
            let same = match self.map.get(n.path.as_path()) {
                Some(Source::Tree(j)) => *j == i,
                Some(Source::Prior(e)) => digests.matches(i, e)?,
                None => false,
            };
            if !same {
                carried.push(i);
            }
        }
        let mut whiteouts = Vec::new();
        for p in self.map.keys() {
            if tree.find(p).is_some() {
                continue;
            }
            let parent = p.parent().unwrap_or(Path::new(""));
            if parent.as_os_str().is_empty() || tree.find_dir(parent).is_some() {
                whiteouts.push(p.to_path_buf());
            }
        }
        Ok((carried, whiteouts))
    }
}

/// sha256 of tree files, read once each and only when a prior entry of
/// the same size is compared with them.
struct TreeDigests<'a> {
    tree: &'a Tree,
    known: HashMap<usize, Digest>,
}

impl<'a> TreeDigests<'a> {
    fn new(tree: &'a Tree) -> Self {
        TreeDigests {
            tree,
            known: HashMap::new(),
        }
    }

    /// Whether node `i` is what `e` holds, times aside.
    fn matches(&mut self, i: usize, e: &Entry) -> Result<bool> {
        let n = self.tree.node(i);
        if n.mode != e.mode || n.uid != e.uid || n.gid != e.gid || n.xattrs != e.xattrs {
            return Ok(false);
        }
        Ok(match (&n.kind, &e.object) {
            (Kind::File { size }, Object::File { size: s, sha256 }) => {
                *size == *s && self.digest(i)? == sha256
            }
            (Kind::Dir, Object::Dir) => true,
            (Kind::Symlink { target }, Object::Symlink(t)) => {
                target.as_os_str().as_bytes() == t.as_slice()
            }
            (Kind::CharDevice { major, minor }, Object::CharDevice(a, b))
            | (Kind::BlockDevice { major, minor }, Object::BlockDevice(a, b)) => {
                (major, minor) == (a, b)
            }
            (Kind::Fifo, Object::Fifo) => true,
            _ => false,
        })
    }

    fn digest(&mut self, i: usize) -> Result<&Digest> {
        if !self.known.contains_key(&i) {
            let path = self.tree.host_path(i);
            let digest = std::fs::File::open(&path)
                .and_then(sha256_of)
                .map_err(io("reading", &path))?
                .1;
            self.known.insert(i, digest);
        }
        Ok(&self.known[&i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::{Component, ComponentKind};
    use crate::layer::{write_layer_with_whiteouts, WriteOptions};
    use crate::testutil::FakeRoot;
    use crate::Grouping;

    /// The tree cut by top-level directory, one layer per directory, each
    /// continuing the prior layer of the same index.
    fn by_top_dir(root: &FakeRoot, dirs: &[&str]) -> (Analysis, Vec<PlannedLayer>) {
        let tree = root.scan();
        let components: Vec<Component> = dirs
            .iter()
            .map(|d| {
                let nodes: Vec<usize> = (0..tree.nodes().len())
                    .filter(|&i| tree.node(i).path.starts_with(d))
                    .collect();
                Component {
                    id: format!("dir:/{d}"),
                    kind: ComponentKind::Directory,
                    size: nodes.iter().map(|&i| tree.node(i).size()).sum(),
                    nodes,
                }
            })
            .collect();
        let plan = (0..dirs.len())
            .map(|c| PlannedLayer {
                components: vec![c],
                prior: Some(c),
            })
            .collect();
        let analysis = Analysis {
            tree,
            components,
            grouping: Grouping::Directory,
            architecture: None,
            notes: Vec::new(),
        };
        (analysis, plan)
    }

    fn tar_of(tree: &Tree, nodes: &[usize], whiteouts: &[PathBuf]) -> Vec<u8> {
        let mut gz = Vec::new();
        write_layer_with_whiteouts(tree, nodes, whiteouts, &WriteOptions::default(), &mut gz)
            .unwrap();
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut tar)
            .unwrap();
        tar
    }

    /// The prior image's layers, as `hoist pack` wrote them.
    fn packed(analysis: &Analysis, plan: &[PlannedLayer]) -> Vec<Option<LayerFiles>> {
        plan.iter()
            .map(|p| {
                let tar = tar_of(&analysis.tree, &analysis.layer_nodes(p), &[]);
                Some(read_layer(&tar[..]).unwrap())
            })
            .collect()
    }

    /// What a client unpacking `layers` bottom to top ends up with.
    fn unpacked(layers: &[LayerFiles]) -> BTreeMap<PathBuf, Entry> {
        let mut fs: BTreeMap<PathBuf, Entry> = BTreeMap::new();
        for l in layers {
            let hidden: Vec<PathBuf> = fs
                .keys()
                .filter(|p| {
                    l.whiteouts.iter().any(|w| p.starts_with(w))
                        || l.entries
                            .iter()
                            .any(|(q, e)| e.object != Object::Dir && p.starts_with(q) && *p != q)
                })
                .cloned()
                .collect();
            for p in hidden {
                fs.remove(&p);
            }
            fs.extend(l.entries.iter().map(|(p, e)| (p.clone(), e.clone())));
        }
        fs
    }

    /// The layers of the new image, the prior's where kept.
    fn image(
        analysis: &Analysis,
        settled: &[SettledLayer],
        prior: &[Option<LayerFiles>],
    ) -> Vec<LayerFiles> {
        settled
            .iter()
            .map(|l| match &l.how {
                Settled::Keep { prior: li } => prior[*li].clone().unwrap(),
                Settled::Write { nodes, whiteouts } => {
                    read_layer(&tar_of(&analysis.tree, nodes, whiteouts)[..]).unwrap()
                }
            })
            .collect()
    }

    fn whole(analysis: &Analysis) -> BTreeMap<PathBuf, Entry> {
        let all: Vec<usize> = (0..analysis.tree.nodes().len()).collect();
        read_layer(&tar_of(&analysis.tree, &all, &[])[..])
            .unwrap()
            .entries
    }

    fn touch(root: &FakeRoot, rel: &str, secs: i64) {
        let f = std::fs::File::options()
            .write(true)
            .open(root.path().join(rel))
            .unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64))
            .unwrap();
    }

    #[test]
    fn reading_a_written_layer_gives_back_its_entries() {
        let r = FakeRoot::new();
        r.write("usr/bin/tool", b"#!/bin/sh\n")
            .symlink("usr/bin/alias", "tool")
            .write("etc/conf", &[7u8; 3000]);
        std::fs::hard_link(r.path().join("etc/conf"), r.path().join("etc/conf2")).unwrap();
        let (a, _) = by_top_dir(&r, &["usr", "etc"]);
        let files = whole(&a);
        assert_eq!(
            files[Path::new("usr/bin/alias")].object,
            Object::Symlink(b"tool".to_vec())
        );
        assert_eq!(files[Path::new("usr/bin")].object, Object::Dir);
        // The second name of a hardlink is its first name's entry.
        assert_eq!(files[Path::new("etc/conf2")], files[Path::new("etc/conf")]);
        let Object::File { size, sha256 } = &files[Path::new("etc/conf")].object else {
            panic!("not a file: {:?}", files[Path::new("etc/conf")]);
        };
        assert_eq!((*size, sha256), (3000, &Digest::sha256_of(&[7u8; 3000])));
        let tar = tar_of(
            &a.tree,
            &[a.tree.find(Path::new("usr")).unwrap()],
            &[PathBuf::from("usr/gone"), PathBuf::from("top")],
        );
        let l = read_layer(&tar[..]).unwrap();
        assert_eq!(
            l.whiteouts,
            vec![PathBuf::from("usr/gone"), PathBuf::from("top")]
        );
        assert!(l.entries.contains_key(Path::new("usr")));
    }

    #[test]
    fn a_layer_outside_the_root_is_refused() {
        // A raw name: tar's builder would refuse to write `..` itself.
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..9].copy_from_slice(b"../escape");
        h.set_size(0);
        h.set_mode(0o644);
        h.set_cksum();
        let mut raw = h.as_bytes().to_vec();
        raw.extend_from_slice(&[0u8; 1024]);
        let err = read_layer(&raw[..]).unwrap_err().to_string();
        assert!(err.contains("leaves the root"), "{err}");
    }

    #[test]
    fn layers_that_changed_only_in_times_are_kept() {
        let r = FakeRoot::new();
        r.write("a/one", &[1u8; 5000]).write("b/two", b"two");
        let (a, plan) = by_top_dir(&r, &["a", "b"]);
        let prior = packed(&a, &plan);
        touch(&r, "a/one", 1_000);
        touch(&r, "b/two", 2_000);
        let (a2, plan2) = by_top_dir(&r, &["a", "b"]);
        let settled = a2.settle(&plan2, &prior).unwrap();
        let how: Vec<&Settled> = settled.iter().map(|l| &l.how).collect();
        assert_eq!(
            how,
            [&Settled::Keep { prior: 0 }, &Settled::Keep { prior: 1 }]
        );
    }

    #[test]
    fn small_changes_are_carried_on_top_of_kept_layers() {
        let r = FakeRoot::new();
        r.write("a/big", &[1u8; 64 * 1024])
            .write("a/small", b"v1")
            .write("a/sub/old", b"old")
            .write("b/one", &[2u8; 8192])
            .write("b/gone", b"bye")
            .write("c/state", b"state 1");
        let dirs = ["a", "b", "c"];
        let (a1, plan1) = by_top_dir(&r, &dirs);
        let prior = packed(&a1, &plan1);

        r.write("a/small", b"v2")
            .write("a/new", b"new")
            .write("c/state", b"state 2");
        touch(&r, "a/big", 5);
        std::fs::remove_file(r.path().join("b/gone")).unwrap();
        std::fs::remove_dir_all(r.path().join("a/sub")).unwrap();
        let (a2, plan2) = by_top_dir(&r, &dirs);
        let settled = a2.settle(&plan2, &prior).unwrap();

        // a and b mostly unchanged: kept; c changed whole: written, and on
        // top, carrying a's and b's changes.
        assert_eq!(settled.len(), 3);
        assert_eq!(settled[0].how, Settled::Keep { prior: 0 });
        assert_eq!(settled[1].how, Settled::Keep { prior: 1 });
        assert_eq!(settled[2].planned.components, vec![2]);
        let Settled::Write { nodes, whiteouts } = &settled[2].how else {
            panic!("top layer not written: {:?}", settled[2]);
        };
        let names: Vec<&Path> = nodes
            .iter()
            .map(|&i| a2.tree.node(i).path.as_path())
            .collect();
        for want in ["a/small", "a/new", "c/state"] {
            assert!(
                names.contains(&Path::new(want)),
                "{want} not carried: {names:?}"
            );
        }
        assert!(
            !names.contains(&Path::new("a/big")),
            "unchanged a/big carried"
        );
        assert_eq!(
            whiteouts,
            &[PathBuf::from("a/sub"), PathBuf::from("b/gone")]
        );
        assert_eq!(settled[2].carried, 4);
        // What a client unpacks is the tree, times aside.
        assert_eq!(unpacked(&image(&a2, &settled, &prior)), whole(&a2));
    }

    #[test]
    fn the_next_update_keeps_the_carrying_layer_and_carries_only_what_is_new() {
        let r = FakeRoot::new();
        r.write("a/big", &[1u8; 64 * 1024])
            .write("a/small", b"a1")
            .write("b/big", &[2u8; 64 * 1024])
            .write("b/small", b"b1")
            .write("c/state", b"c1")
            .write("d/state", b"d1");
        // Layer order as in the image after the first update: the carrying
        // layer (c) last.
        let dirs = ["a", "b", "d", "c"];
        let (a1, plan1) = by_top_dir(&r, &dirs);
        let first = packed(&a1, &plan1);

        // a's change is bigger than c's own layer.
        r.write("a/small", &[9u8; 4096]).write("c/state", b"c2");
        let (a2, plan2) = by_top_dir(&r, &dirs);
        let settled2 = a2.settle(&plan2, &first).unwrap();
        assert_eq!(settled2[3].planned.components, vec![3], "{settled2:?}");
        assert_eq!(settled2[3].carried, 1);
        let second: Vec<Option<LayerFiles>> = image(&a2, &settled2, &first)
            .into_iter()
            .map(Some)
            .collect();

        // The next update changes b and d only: c's layer, with a's change
        // in it, is kept; d's carries b's change and nothing of a's.
        r.write("b/small", b"b2").write("d/state", b"d2");
        let (a3, plan3) = by_top_dir(&r, &dirs);
        let settled3 = a3.settle(&plan3, &second).unwrap();
        let how: Vec<&Settled> = settled3.iter().map(|l| &l.how).collect();
        assert_eq!(
            how[..3],
            [
                &Settled::Keep { prior: 0 },
                &Settled::Keep { prior: 1 },
                &Settled::Keep { prior: 3 },
            ]
        );
        assert_eq!(settled3[3].planned.components, vec![2]);
        let Settled::Write { nodes, whiteouts } = &settled3[3].how else {
            panic!("d's layer not written: {:?}", settled3[3]);
        };
        let files: Vec<&Path> = nodes
            .iter()
            .map(|&i| a3.tree.node(i))
            .filter(|n| !n.is_dir())
            .map(|n| n.path.as_path())
            .collect();
        assert_eq!(files, [Path::new("b/small"), Path::new("d/state")]);
        assert!(whiteouts.is_empty());
        assert_eq!(unpacked(&image(&a3, &settled3, &second)), whole(&a3));
    }

    #[test]
    fn a_layer_mostly_changed_is_written_again_and_types_may_change() {
        let r = FakeRoot::new();
        r.write("a/big", &[1u8; 64 * 1024])
            .write("a/dir/inner", b"x")
            .write("b/file", b"file")
            .write("b/most", &[3u8; 20000])
            .write("b/keep", b"k");
        let dirs = ["a", "b"];
        let (a1, plan1) = by_top_dir(&r, &dirs);
        let prior = packed(&a1, &plan1);

        // a: a directory becomes a file (small: carried). b: most of it
        // changes (written again), and a file becomes a directory.
        std::fs::remove_dir_all(r.path().join("a/dir")).unwrap();
        r.write("a/dir", b"now a file");
        std::fs::remove_file(r.path().join("b/file")).unwrap();
        r.write("b/file/inside", b"now a dir")
            .write("b/most", &[4u8; 20000]);
        let (a2, plan2) = by_top_dir(&r, &dirs);
        let settled = a2.settle(&plan2, &prior).unwrap();
        assert_eq!(settled[0].how, Settled::Keep { prior: 0 });
        assert!(
            matches!(settled[1].how, Settled::Write { .. }),
            "{:?}",
            settled[1]
        );
        assert_eq!(settled[1].planned.components, vec![1]);
        assert_eq!(unpacked(&image(&a2, &settled, &prior)), whole(&a2));
    }

    #[test]
    fn without_a_readable_prior_layer_everything_is_written() {
        let r = FakeRoot::new();
        r.write("a/x", b"x").write("b/y", b"y");
        let (a, plan) = by_top_dir(&r, &["a", "b"]);
        let settled = a.settle(&plan, &[None, None]).unwrap();
        assert!(settled
            .iter()
            .all(|l| matches!(l.how, Settled::Write { .. })));
    }
}

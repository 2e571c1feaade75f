//! The in-memory inode table of a lazy layer, built once from its TOC.
//!
//! Inode numbers are indices into one vector (the root is 1). The table never
//! changes after it is built, so the server reads it without locks.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{FileAttr, FileType, INodeNo};

use super::FsError;
use crate::toc::{
    ChunkRef, EntryType, Toc, TocEntry, NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, TOC_TAR_NAME,
};

/// The root directory's inode number (FUSE's `FUSE_ROOT_ID`).
pub(crate) const ROOT: u64 = 1;

/// The xattr overlayfs reads to decide that a lower directory hides the
/// layers below it.
pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Xattr namespaces private to overlayfs (`user.overlay.` when it runs with
/// `userxattr`). A layer must never set them: redirects or metacopy markers
/// from a hostile image would make overlayfs look up arbitrary lower paths.
/// Whiteouts and opaque directories travel as `.wh.` files instead.
const OVERLAY_XATTR_PREFIXES: [&str; 2] = ["trusted.overlay.", "user.overlay."];

/// Permissions, owner and time of directories the TOC implies but does not list.
const IMPLIED_DIR_PERM: u16 = 0o755;

/// Size reported for directories (what ext4 shows for a small one).
const DIR_SIZE: u64 = 4096;

#[derive(Debug)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
}

#[derive(Debug)]
pub(crate) struct Node {
    /// The TOC name of the entry that defined this inode ("" for the root);
    /// for hard-linked files, the name of the entry holding the content.
    pub name: String,
    pub kind: Kind,
    pub perm: u16,
    pub uid: u32,
    pub gid: u32,
    pub mtime: SystemTime,
    pub nlink: u32,
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// A directory marked opaque by a `.wh..wh..opq` entry.
    pub opaque: bool,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Dir {
        parent: u64,
        children: BTreeMap<String, u64>,
    },
    File {
        size: u64,
        /// Sorted, contiguous, non-empty, covering `0..size` exactly.
        chunks: Vec<ChunkRef>,
    },
    Symlink {
        target: String,
    },
    Char {
        rdev: u32,
    },
    Block {
        rdev: u32,
    },
    Fifo,
}

impl Tree {
    /// Builds the table from `toc`, taking each regular file's chunks from
    /// `chunks` (keyed by TOC name).
    pub(crate) fn build(
        toc: &Toc,
        chunks: BTreeMap<String, Vec<ChunkRef>>,
    ) -> Result<Tree, FsError> {
        let mut chunks: HashMap<String, Vec<ChunkRef>> = chunks
            .into_iter()
            .map(|(name, list)| (canonical_name(&name), list))
            .collect();
        let mut tree = Tree {
            nodes: vec![Node::implied_dir(String::new(), ROOT)],
        };
        for entry in &toc.entries {
            tree.add(entry, &mut chunks)?;
        }
        tree.count_links();
        Ok(tree)
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn get(&self, ino: u64) -> Option<&Node> {
        let index = usize::try_from(ino.checked_sub(1)?).ok()?;
        self.nodes.get(index)
    }

    /// The inode named `name` in directory `parent`; `None` if either does
    /// not exist or `parent` is not a directory.
    pub(crate) fn child(&self, parent: u64, name: &str) -> Option<u64> {
        match &self.get(parent)?.kind {
            Kind::Dir { children, .. } => children.get(name).copied(),
            _ => None,
        }
    }

    /// The FUSE attributes of inode `ino`, if it exists.
    pub(crate) fn attr(&self, ino: u64) -> Option<FileAttr> {
        let node = self.get(ino)?;
        let (kind, size, rdev) = match &node.kind {
            Kind::Dir { .. } => (FileType::Directory, DIR_SIZE, 0),
            Kind::File { size, .. } => (FileType::RegularFile, *size, 0),
            Kind::Symlink { target } => (FileType::Symlink, target.len() as u64, 0),
            Kind::Char { rdev } => (FileType::CharDevice, 0, *rdev),
            Kind::Block { rdev } => (FileType::BlockDevice, 0, *rdev),
            Kind::Fifo => (FileType::NamedPipe, 0, 0),
        };
        Some(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: node.mtime,
            mtime: node.mtime,
            ctime: node.mtime,
            crtime: node.mtime,
            kind,
            perm: node.perm,
            nlink: node.nlink,
            uid: node.uid,
            gid: node.gid,
            rdev,
            blksize: 4096,
            flags: 0,
        })
    }

    /// Totals for statfs: (bytes in regular files, inodes reachable).
    pub(crate) fn usage(&self) -> (u64, u64) {
        let bytes = self
            .nodes
            .iter()
            .filter(|n| n.nlink > 0)
            .map(|n| match n.kind {
                Kind::File { size, .. } => size,
                _ => 0,
            })
            .sum();
        let files = self.nodes.iter().filter(|n| n.nlink > 0).count() as u64;
        (bytes, files)
    }

    fn node_mut(&mut self, ino: u64) -> &mut Node {
        &mut self.nodes[(ino - 1) as usize]
    }

    fn push(&mut self, node: Node) -> u64 {
        self.nodes.push(node);
        self.nodes.len() as u64
    }

    fn add(
        &mut self,
        entry: &TocEntry,
        chunks: &mut HashMap<String, Vec<ChunkRef>>,
    ) -> Result<(), FsError> {
        if entry.kind == EntryType::Chunk {
            // Further chunks of a regular file: the chunk list already has them.
            return Ok(());
        }
        let invalid = |reason: String| FsError::InvalidEntry {
            name: entry.name.clone(),
            reason,
        };
        if entry.name.contains('\0') {
            return Err(invalid("the name contains a NUL byte".into()));
        }
        let components = components(&entry.name);
        let name = components.join("/");
        if [TOC_TAR_NAME, PREFETCH_LANDMARK, NO_PREFETCH_LANDMARK].contains(&name.as_str()) {
            return Ok(());
        }
        let Some((base, parents)) = components.split_last() else {
            if entry.kind != EntryType::Dir {
                return Err(invalid(format!(
                    "names the layer's root but is a {:?}, not a directory",
                    entry.kind
                )));
            }
            let meta = Meta::from_entry(entry)?;
            meta.apply(self.node_mut(ROOT));
            return Ok(());
        };
        let parent = self.make_parents(parents, entry)?;

        if let Some(hidden) = base.strip_prefix(WHITEOUT_PREFIX) {
            if *base == OPAQUE_MARKER {
                self.node_mut(parent).opaque = true;
                return Ok(());
            }
            if hidden.starts_with(WHITEOUT_PREFIX) {
                // aufs bookkeeping (`.wh..wh.plnk`, ...): not part of the tree.
                tracing::debug!(name = %entry.name, "skipping aufs metadata entry");
                return Ok(());
            }
            if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(invalid("is a whiteout that names no file".into()));
            }
            let meta = Meta::from_entry(entry)?;
            let node = meta.node(name, Kind::Char { rdev: 0 });
            let ino = self.push(node);
            self.insert(parent, hidden, ino);
            return Ok(());
        }

        let kind = match entry.kind {
            EntryType::Dir => {
                let meta = Meta::from_entry(entry)?;
                if let Some(existing) = self.child(parent, base) {
                    if matches!(self.node_mut(existing).kind, Kind::Dir { .. }) {
                        // Listed again (or implied before): newer metadata wins,
                        // the contents stay.
                        meta.apply(self.node_mut(existing));
                        return Ok(());
                    }
                }
                let ino = self.push(meta.node(
                    name,
                    Kind::Dir {
                        parent,
                        children: BTreeMap::new(),
                    },
                ));
                self.insert(parent, base, ino);
                return Ok(());
            }
            EntryType::Hardlink => {
                let ino = self.resolve_hardlink(entry, &name)?;
                self.insert(parent, base, ino);
                return Ok(());
            }
            EntryType::Reg => {
                let size = u64::try_from(entry.size)
                    .map_err(|_| invalid(format!("has a negative size {}", entry.size)))?;
                let list = chunks.remove(&name).unwrap_or_default();
                let chunks = check_chunks(&name, size, list)?;
                Kind::File { size, chunks }
            }
            EntryType::Symlink => {
                if entry.link_name.is_empty() || entry.link_name.contains('\0') {
                    return Err(invalid(
                        "is a symlink with an empty target or a NUL byte in it".into(),
                    ));
                }
                Kind::Symlink {
                    target: entry.link_name.clone(),
                }
            }
            EntryType::Char | EntryType::Block => {
                let rdev = encode_dev(entry.dev_major, entry.dev_minor).ok_or_else(|| {
                    invalid(format!(
                        "has an impossible device number {}:{}",
                        entry.dev_major, entry.dev_minor
                    ))
                })?;
                if entry.kind == EntryType::Char {
                    Kind::Char { rdev }
                } else {
                    Kind::Block { rdev }
                }
            }
            EntryType::Fifo => Kind::Fifo,
            EntryType::Chunk => unreachable!("chunk entries return early"),
        };
        let meta = Meta::from_entry(entry)?;
        let ino = self.push(meta.node(name, kind));
        self.insert(parent, base, ino);
        Ok(())
    }

    /// Walks to the directory holding `parents`, creating the directories the
    /// TOC implies without listing them.
    fn make_parents(&mut self, parents: &[&str], entry: &TocEntry) -> Result<u64, FsError> {
        let mut dir = ROOT;
        for (depth, component) in parents.iter().enumerate() {
            dir = match self.child(dir, component) {
                Some(ino) => {
                    if !matches!(self.node_mut(ino).kind, Kind::Dir { .. }) {
                        return Err(FsError::InvalidEntry {
                            name: entry.name.clone(),
                            reason: format!(
                                "its parent {:?} is not a directory",
                                parents[..=depth].join("/")
                            ),
                        });
                    }
                    ino
                }
                None => {
                    let ino = self.push(Node::implied_dir(parents[..=depth].join("/"), dir));
                    self.insert(dir, component, ino);
                    ino
                }
            };
        }
        Ok(dir)
    }

    fn resolve_hardlink(&self, entry: &TocEntry, name: &str) -> Result<u64, FsError> {
        let bad = |reason: &str| FsError::BadHardlink {
            name: name.to_owned(),
            target: entry.link_name.clone(),
            reason: reason.to_owned(),
        };
        let mut ino = ROOT;
        for component in components(&entry.link_name) {
            ino = self
                .child(ino, component)
                .ok_or_else(|| bad("the target does not appear before the link in the layer"))?;
        }
        match self.get(ino).map(|n| &n.kind) {
            Some(Kind::Dir { .. }) => Err(bad("the target is a directory")),
            Some(_) => Ok(ino),
            None => Err(bad("the target does not exist")),
        }
    }

    fn insert(&mut self, parent: u64, name: &str, ino: u64) {
        if let Kind::Dir { children, .. } = &mut self.node_mut(parent).kind {
            // A later entry with the same name replaces the earlier one, as
            // when a tar stream is extracted.
            children.insert(name.to_owned(), ino);
        }
    }

    /// Sets every reachable inode's link count: directories have 2 plus one
    /// per subdirectory, other inodes one per name.
    fn count_links(&mut self) {
        for node in &mut self.nodes {
            node.nlink = 0;
        }
        let mut stack = vec![ROOT];
        while let Some(dir) = stack.pop() {
            let children: Vec<u64> = match &self.node_mut(dir).kind {
                Kind::Dir { children, .. } => children.values().copied().collect(),
                _ => continue,
            };
            self.node_mut(dir).nlink += 2;
            for child in children {
                if matches!(self.node_mut(child).kind, Kind::Dir { .. }) {
                    self.node_mut(dir).nlink += 1;
                    stack.push(child);
                } else {
                    self.node_mut(child).nlink += 1;
                }
            }
        }
    }
}

impl Node {
    fn implied_dir(name: String, parent: u64) -> Node {
        Node {
            name,
            kind: Kind::Dir {
                parent,
                children: BTreeMap::new(),
            },
            perm: IMPLIED_DIR_PERM,
            uid: 0,
            gid: 0,
            mtime: UNIX_EPOCH,
            nlink: 0,
            xattrs: BTreeMap::new(),
            opaque: false,
        }
    }
}

/// The metadata a TOC entry gives its inode, validated.
struct Meta {
    perm: u16,
    uid: u32,
    gid: u32,
    mtime: SystemTime,
    xattrs: BTreeMap<String, Vec<u8>>,
}

impl Meta {
    fn from_entry(entry: &TocEntry) -> Result<Meta, FsError> {
        let invalid = |reason: String| FsError::InvalidEntry {
            name: entry.name.clone(),
            reason,
        };
        if entry.mode < 0 {
            return Err(invalid(format!("has a negative mode {}", entry.mode)));
        }
        // Like a tar header, `mode` may carry file type bits from older
        // writers; the type comes from `type`, so only permission bits count.
        let perm = (entry.mode & 0o7777) as u16;
        let uid = u32::try_from(entry.uid)
            .map_err(|_| invalid(format!("has an impossible uid {}", entry.uid)))?;
        let gid = u32::try_from(entry.gid)
            .map_err(|_| invalid(format!("has an impossible gid {}", entry.gid)))?;
        let mtime = parse_mtime(&entry.mod_time).map_err(invalid)?;
        let xattrs = entry
            .xattrs
            .iter()
            .filter(|(key, _)| {
                let private = OVERLAY_XATTR_PREFIXES.iter().any(|p| key.starts_with(p));
                if private {
                    tracing::warn!(name = %entry.name, xattr = %key, "ignoring overlayfs xattr set by a layer");
                }
                !private
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Meta {
            perm,
            uid,
            gid,
            mtime,
            xattrs,
        })
    }

    fn node(self, name: String, kind: Kind) -> Node {
        Node {
            name,
            kind,
            perm: self.perm,
            uid: self.uid,
            gid: self.gid,
            mtime: self.mtime,
            nlink: 0,
            xattrs: self.xattrs,
            opaque: false,
        }
    }

    fn apply(self, node: &mut Node) {
        node.perm = self.perm;
        node.uid = self.uid;
        node.gid = self.gid;
        node.mtime = self.mtime;
        node.xattrs = self.xattrs;
    }
}

/// The path components of a TOC name, cleaned lexically like the reference
/// implementation does (`path.Clean("/" + name)`): no empty or `.` parts, and
/// `..` removes the part before it but never climbs above the root.
fn components(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            part => out.push(part),
        }
    }
    out
}

/// The canonical form of a TOC name: what [`Node::name`] holds.
fn canonical_name(name: &str) -> String {
    components(name).join("/")
}

/// Parses a TOC `modtime`; an absent time is the epoch.
fn parse_mtime(text: &str) -> Result<SystemTime, String> {
    if text.is_empty() {
        return Ok(UNIX_EPOCH);
    }
    let time = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("has a modtime {text:?} that is not RFC 3339: {e}"))?;
    let secs = time.timestamp();
    let nanos = Duration::from_nanos(u64::from(time.timestamp_subsec_nanos()));
    let whole = Duration::from_secs(secs.unsigned_abs());
    let base = if secs >= 0 {
        UNIX_EPOCH.checked_add(whole)
    } else {
        UNIX_EPOCH.checked_sub(whole)
    };
    base.and_then(|t| t.checked_add(nanos))
        .ok_or_else(|| format!("has a modtime {text:?} out of range"))
}

/// Encodes a device number the way FUSE carries it (the kernel's
/// `new_encode_dev`): 12 bits of major, 20 of minor.
fn encode_dev(major: i64, minor: i64) -> Option<u32> {
    let major = u32::try_from(major).ok().filter(|m| *m < 1 << 12)?;
    let minor = u32::try_from(minor).ok().filter(|m| *m < 1 << 20)?;
    Some((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12))
}

/// Checks that `chunks` cover `0..size` exactly, and sorts them.
fn check_chunks(
    name: &str,
    size: u64,
    mut chunks: Vec<ChunkRef>,
) -> Result<Vec<ChunkRef>, FsError> {
    let bad = |reason: String| FsError::BadChunks {
        name: name.to_owned(),
        reason,
    };
    chunks.retain(|c| c.len > 0);
    chunks.sort_by_key(|c| c.file_offset);
    let mut next = 0u64;
    for chunk in &chunks {
        if chunk.file_offset != next {
            return Err(bad(format!(
                "do not continue at offset {next} (the next one starts at {})",
                chunk.file_offset
            )));
        }
        next = next
            .checked_add(chunk.len)
            .ok_or_else(|| bad("overflow a 64-bit offset".into()))?;
    }
    if next != size {
        return Err(bad(format!(
            "cover {next} bytes but the file's size is {size}"
        )));
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(file_offset: u64, len: u64) -> ChunkRef {
        ChunkRef {
            file_offset,
            len,
            blob_range: 0..1,
            inner_offset: 0,
            digest: None,
        }
    }

    fn reg(name: &str, size: i64) -> TocEntry {
        let mut e = TocEntry::new(name, EntryType::Reg);
        e.size = size;
        e.mode = 0o644;
        e
    }

    fn lookup(tree: &Tree, path: &str) -> Option<u64> {
        let mut ino = ROOT;
        for c in components(path) {
            ino = tree.child(ino, c)?;
        }
        Some(ino)
    }

    #[test]
    fn names_are_cleaned_like_the_reference() {
        assert_eq!(components("./a//b/./c/"), ["a", "b", "c"]);
        assert_eq!(components("/../../etc/passwd"), ["etc", "passwd"]);
        assert_eq!(components("a/b/../c"), ["a", "c"]);
        assert!(components("./").is_empty());
    }

    #[test]
    fn device_numbers_match_the_kernel_encoding() {
        // new_encode_dev(MKDEV(1, 3)) == 0x103; MKDEV(8, 0x12345) spills minor bits high.
        assert_eq!(encode_dev(1, 3), Some(0x103));
        assert_eq!(
            encode_dev(8, 0x12345),
            Some(0x45 | (8 << 8) | (0x12300 << 12))
        );
        assert_eq!(encode_dev(4096, 0), None);
        assert_eq!(encode_dev(0, 1 << 20), None);
        assert_eq!(encode_dev(-1, 0), None);
    }

    #[test]
    fn modtimes_parse_including_before_the_epoch() {
        assert_eq!(parse_mtime("").unwrap(), UNIX_EPOCH);
        assert_eq!(
            parse_mtime("2021-03-04T05:06:07Z").unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_614_834_367)
        );
        assert_eq!(
            parse_mtime("1970-01-01T01:00:00.5+01:00").unwrap(),
            UNIX_EPOCH + Duration::from_millis(500)
        );
        // Go's zero time, written by the reference for entries without one.
        assert_eq!(
            parse_mtime("0001-01-01T00:00:00Z").unwrap(),
            UNIX_EPOCH - Duration::from_secs(62_135_596_800)
        );
        assert!(parse_mtime("yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn chunks_must_cover_the_file() {
        assert!(check_chunks("f", 10, vec![chunk(4, 6), chunk(0, 4)]).is_ok());
        assert!(check_chunks("f", 0, vec![]).is_ok());
        let gap = check_chunks("f", 10, vec![chunk(0, 4), chunk(5, 5)]).unwrap_err();
        assert!(gap.to_string().contains("continue at offset 4"), "{gap}");
        let short = check_chunks("f", 10, vec![chunk(0, 4)]).unwrap_err();
        assert!(short.to_string().contains("cover 4 bytes"), "{short}");
        assert!(check_chunks("f", 3, vec![]).is_err());
    }

    #[test]
    fn builds_implied_dirs_hardlinks_and_whiteouts() {
        let mut toc = Toc::default();
        toc.entries
            .push(TocEntry::new("stargz.index.json", EntryType::Reg));
        toc.entries.push(reg("./a/b/file", 3));
        let mut link = TocEntry::new("a/link", EntryType::Hardlink);
        link.link_name = "a/b/file".into();
        toc.entries.push(link);
        let mut dir = TocEntry::new("a/", EntryType::Dir);
        dir.mode = 0o700;
        dir.uid = 5;
        dir.xattrs.insert("user.keep".into(), b"1".to_vec());
        dir.xattrs
            .insert("trusted.overlay.redirect".into(), b"/x".to_vec());
        toc.entries.push(dir);
        toc.entries
            .push(TocEntry::new("a/.wh.gone", EntryType::Reg));
        toc.entries
            .push(TocEntry::new("a/b/.wh..wh..opq", EntryType::Reg));
        toc.entries
            .push(TocEntry::new(".prefetch.landmark", EntryType::Reg));
        let chunks = BTreeMap::from([("a/b/file".to_string(), vec![chunk(0, 3)])]);
        let tree = Tree::build(&toc, chunks).unwrap();

        assert_eq!(lookup(&tree, "stargz.index.json"), None);
        assert_eq!(lookup(&tree, ".prefetch.landmark"), None);
        let a = tree.get(lookup(&tree, "a").unwrap()).unwrap();
        assert_eq!((a.perm, a.uid), (0o700, 5));
        assert_eq!(a.xattrs.keys().collect::<Vec<_>>(), ["user.keep"]);
        // a: itself, its entry in the root, and b's "..".
        assert_eq!(a.nlink, 3);
        let b = lookup(&tree, "a/b").unwrap();
        assert!(tree.get(b).unwrap().opaque);
        assert_eq!(tree.get(b).unwrap().perm, IMPLIED_DIR_PERM);
        let file = lookup(&tree, "a/b/file").unwrap();
        assert_eq!(lookup(&tree, "a/link"), Some(file));
        assert_eq!(tree.get(file).unwrap().nlink, 2);
        assert_eq!(tree.get(file).unwrap().name, "a/b/file");
        let gone = tree.attr(lookup(&tree, "a/gone").unwrap()).unwrap();
        assert_eq!((gone.kind, gone.rdev), (FileType::CharDevice, 0));
        assert_eq!(lookup(&tree, "a/.wh.gone"), None);
        assert_eq!(lookup(&tree, "a/b/.wh..wh..opq"), None);
    }

    #[test]
    fn rejects_what_cannot_be_served() {
        let build = |entries: Vec<TocEntry>| {
            Tree::build(
                &Toc {
                    version: 1,
                    entries,
                },
                BTreeMap::new(),
            )
        };
        let mut link = TocEntry::new("l", EntryType::Hardlink);
        link.link_name = "missing".into();
        assert!(matches!(
            build(vec![link]),
            Err(FsError::BadHardlink { .. })
        ));
        let mut link = TocEntry::new("l", EntryType::Hardlink);
        link.link_name = "d".into();
        assert!(matches!(
            build(vec![TocEntry::new("d", EntryType::Dir), link]),
            Err(FsError::BadHardlink { .. })
        ));
        assert!(matches!(
            build(vec![reg("f", 0), reg("f/g", 0)]),
            Err(FsError::InvalidEntry { .. })
        ));
        assert!(matches!(
            build(vec![reg("f", 5)]),
            Err(FsError::BadChunks { .. })
        ));
        let mut bad_time = reg("f", 0);
        bad_time.mod_time = "not a time".into();
        assert!(matches!(
            build(vec![bad_time]),
            Err(FsError::InvalidEntry { .. })
        ));
    }
}

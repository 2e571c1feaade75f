//! The layer tar of a `COPY` or `ADD`, written straight from the source
//! files (no container): every parent directory of what is copied gets
//! an entry, with the metadata it has in the image below (so `/tmp` keeps
//! its sticky bit in the merged view) or, when new, 0755.

use std::collections::BTreeSet;
use std::fs::{File, Metadata};
use std::io::{BufWriter, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hoist_image::digest::Hasher;

use super::error::{io_err, BuildError, Result};
use super::inroot;
use crate::ignore::IgnoreRules;

/// How copied entries are stamped.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Stamp {
    /// `--chown`: owner of every copied entry (and of new directories).
    pub owner: Option<(u32, u32)>,
    /// Keep the source's owner (COPY --from another image); else root
    /// owns what came from the context, as Docker does.
    pub keep_owner: bool,
    /// `--chmod`: permission bits of every copied entry.
    pub mode: Option<u32>,
    /// `--timestamp`: every entry's modification time.
    pub mtime: Option<u64>,
}

/// A layer being written.
pub(crate) struct LayerTar {
    builder: tar::Builder<BufWriter<File>>,
    /// Directories that have their entry already.
    dirs: BTreeSet<String>,
    /// The image the layer goes on (mounted), to copy parents' metadata.
    below: Option<PathBuf>,
    stamp: Stamp,
    path: PathBuf,
    /// Files with several links seen so far, by (device, inode): later
    /// names become hard links to the first, as in the source.
    links: std::collections::HashMap<(u64, u64), String>,
    /// What the layer holds, for the cache key: every entry's name,
    /// metadata and content, but not the times of directories this layer
    /// makes up (they are "now", and must not make every build a miss).
    identity: Hasher,
    /// Off while [`LayerTar::add_unhashed`] writes entries.
    hashing: bool,
}

/// Where a copied tree comes from (a context, a mounted stage).
#[derive(Default)]
pub(crate) struct TreeSource<'a> {
    /// The `.containerignore` rules when it is the build context.
    pub ignore: Option<&'a IgnoreRules>,
    /// `COPY --exclude=` patterns.
    pub exclude: Option<&'a IgnoreRules>,
    /// The copied source's path relative to the root: `--exclude`
    /// patterns match below it (as BuildKit matches them below each
    /// source), the ignore rules the whole path.
    pub base: &'a str,
}

impl TreeSource<'_> {
    /// Whether the walk leaves out `rel` (relative to the root), a
    /// directory with everything below it when `is_dir`.
    fn skips(&self, rel: &str, is_dir: bool) -> bool {
        let skips = |rules: &IgnoreRules, path: &str| {
            if is_dir {
                rules.can_skip_dir(path)
            } else {
                rules.is_excluded(path)
            }
        };
        let below = rel
            .strip_prefix(self.base)
            .map_or(rel, |r| r.trim_start_matches('/'));
        self.ignore.is_some_and(|r| skips(r, rel)) || self.exclude.is_some_and(|r| skips(r, below))
    }
}

impl LayerTar {
    pub fn create(path: &Path, below: Option<&Path>, stamp: Stamp) -> Result<LayerTar> {
        let file = File::create(path).map_err(io_err("creating", path))?;
        let mut builder = tar::Builder::new(BufWriter::new(file));
        builder.mode(tar::HeaderMode::Complete);
        builder.follow_symlinks(false);
        Ok(LayerTar {
            builder,
            dirs: BTreeSet::new(),
            below: below.map(Path::to_path_buf),
            stamp,
            path: path.to_path_buf(),
            identity: Hasher::sha256(),
            hashing: true,
            links: Default::default(),
        })
    }

    /// The digest of what the layer holds (see `identity`).
    pub fn identity(&self) -> String {
        self.identity.clone().finish().to_string()
    }

    /// Ends the archive.
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        let mut w = self
            .builder
            .into_inner()
            .map_err(io_err("writing", path.clone()))?;
        std::io::Write::flush(&mut w).map_err(io_err("writing", path))
    }

    /// Entries for `dir` (a resolved, absolute path in the image) and each
    /// of its parents that has none yet.
    pub fn ensure_dir(&mut self, dir: &str) -> Result<()> {
        let mut path = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            path.push('/');
            path.push_str(part);
            if self.dirs.contains(&path) {
                continue;
            }
            let existing = self
                .below
                .as_ref()
                .and_then(|b| std::fs::symlink_metadata(inroot::on_host(b, &path)).ok())
                .filter(Metadata::is_dir);
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            match existing {
                Some(m) => {
                    h.set_mode(m.mode() & 0o7777);
                    h.set_uid(m.uid().into());
                    h.set_gid(m.gid().into());
                    h.set_mtime(self.stamp.mtime.unwrap_or(m.mtime().max(0) as u64));
                }
                None => {
                    let (uid, gid) = self.stamp.owner.unwrap_or((0, 0));
                    h.set_mode(0o755);
                    h.set_uid(uid.into());
                    h.set_gid(gid.into());
                    h.set_mtime(self.stamp.mtime.unwrap_or_else(now));
                    // Its time is not part of the layer's identity.
                    self.note(&h, &path, false);
                    self.raw_append(&mut h, &path, std::io::empty())?;
                    self.dirs.insert(path.clone());
                    continue;
                }
            }
            self.append(&mut h, &path, std::io::empty())?;
            self.dirs.insert(path.clone());
        }
        Ok(())
    }

    /// Writes the entries `add` adds without feeding them to the identity;
    /// `stand_in` goes there instead: what those entries are known to
    /// depend on when their bytes differ from one build to the next (a
    /// kept `.git`: the commit, not the clone's own index and logs).
    pub fn add_unhashed(
        &mut self,
        stand_in: &str,
        add: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        let line = format!("unhashed\0{stand_in}\n");
        let _ = std::io::Write::write_all(&mut self.identity, line.as_bytes());
        self.hashing = false;
        let added = add(self);
        self.hashing = true;
        added
    }

    /// A file with `content` at `dest` (`COPY <<EOF`).
    pub fn add_bytes(&mut self, dest: &str, content: &[u8]) -> Result<()> {
        self.ensure_dir(parent(dest))?;
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(content.len() as u64);
        let (uid, gid) = self.stamp.owner.unwrap_or((0, 0));
        h.set_uid(uid.into());
        h.set_gid(gid.into());
        h.set_mode(self.stamp.mode.unwrap_or(0o644));
        h.set_mtime(self.stamp.mtime.unwrap_or_else(now));
        self.append(&mut h, dest, content)
    }

    /// The entry `host` (not followed if a symlink) as `dest`, and all
    /// below it when it is a directory (its contents go into `dest`).
    /// `rel` is its path relative to the source root, for the ignore
    /// rules.
    pub fn add_tree(
        &mut self,
        src: &TreeSource<'_>,
        host: &Path,
        rel: &str,
        dest: &str,
    ) -> Result<()> {
        let meta = std::fs::symlink_metadata(host).map_err(io_err("reading", host))?;
        if meta.is_dir() {
            self.add_dir_entry(&meta, dest)?;
            return self.add_children(src, host, rel, dest);
        }
        self.ensure_dir(parent(dest))?;
        let mut h = self.header_for(&meta);
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(host).map_err(io_err("reading", host))?;
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            let path = tar_path(dest);
            self.note(&h, &format!("{dest} -> {}", target.display()), true);
            return self
                .builder
                .append_link(&mut h, &path, &target)
                .map_err(io_err("writing", self.path.clone()));
        }
        if !ft.is_file() {
            return Err(BuildError::Io {
                what: "copying",
                path: host.to_path_buf(),
                source: std::io::Error::other(
                    "not a regular file, directory or symlink (sockets, fifos and devices are not copied into images)",
                ),
            });
        }
        if meta.nlink() > 1 {
            if let Some(first) = self.links.get(&(meta.dev(), meta.ino())).cloned() {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                self.note(&h, &format!("{dest} => {first}"), true);
                return self
                    .builder
                    .append_link(&mut h, tar_path(dest), tar_path(&first))
                    .map_err(io_err("writing", self.path.clone()));
            }
            self.links
                .insert((meta.dev(), meta.ino()), dest.to_string());
        }
        let file = File::open(host).map_err(io_err("opening", host))?;
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(meta.len());
        self.append(&mut h, dest, file.take(meta.len()))
    }

    /// What is inside the directory `host` into the directory `dest`
    /// (COPY of a directory copies its contents, not the directory).
    pub fn add_dir_contents(
        &mut self,
        src: &TreeSource<'_>,
        host: &Path,
        rel: &str,
        dest: &str,
    ) -> Result<()> {
        self.ensure_dir(dest)?;
        self.add_children(src, host, rel, dest)
    }

    fn add_children(
        &mut self,
        src: &TreeSource<'_>,
        host: &Path,
        rel: &str,
        dest: &str,
    ) -> Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(host)
            .map_err(io_err("listing", host))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(io_err("listing", host))?;
        names.sort();
        for name in names {
            let name = name.to_string_lossy().into_owned();
            let child_rel = join_rel(rel, &name);
            let child_host = host.join(&name);
            let is_dir = child_host.symlink_metadata().is_ok_and(|m| m.is_dir());
            if src.skips(&child_rel, is_dir) {
                continue;
            }
            let child_dest = format!("{}/{name}", dest.trim_end_matches('/'));
            self.add_tree(src, &child_host, &child_rel, &child_dest)?;
        }
        Ok(())
    }

    /// The entries of the tar archive `archive` (plain, gzip or zstd)
    /// below the directory `dest` (`ADD` of a local archive). Names that
    /// climb out with `..` make the whole step fail.
    pub fn add_archive(&mut self, archive: &Path, dest: &str) -> Result<()> {
        self.ensure_dir(dest)?;
        let mut ar = tar::Archive::new(super::archive::open(archive)?);
        let bad = |why: String| BuildError::Io {
            what: "extracting",
            path: archive.to_path_buf(),
            source: std::io::Error::other(why),
        };
        for entry in ar.entries().map_err(io_err("reading", archive))? {
            let entry = entry.map_err(io_err("reading", archive))?;
            let name = entry
                .path()
                .map_err(io_err("reading", archive))?
                .to_string_lossy()
                .into_owned();
            let rel = safe_rel(&name)
                .ok_or_else(|| bad(format!("entry {name:?} leaves the destination")))?;
            if rel.is_empty() {
                continue;
            }
            let to = format!("{}/{rel}", dest.trim_end_matches('/'));
            self.ensure_dir(parent(&to))?;
            let mut h = entry.header().clone();
            if let Some(t) = self.stamp.mtime {
                h.set_mtime(t);
            }
            let kind = h.entry_type();
            if kind.is_hard_link() || kind.is_symlink() {
                let target = entry
                    .link_name()
                    .map_err(io_err("reading", archive))?
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let target = if kind.is_hard_link() {
                    let t = safe_rel(&target).ok_or_else(|| {
                        bad(format!("hard link {name:?} points out of the archive"))
                    })?;
                    tar_path(&format!("{}/{t}", dest.trim_end_matches('/')))
                } else {
                    target
                };
                self.note(&h, &format!("{to} -> {target}"), true);
                self.builder
                    .append_link(&mut h, tar_path(&to), target)
                    .map_err(io_err("writing", self.path.clone()))?;
                continue;
            }
            if kind.is_dir() {
                self.dirs.insert(to.trim_end_matches('/').to_string());
            }
            self.append(&mut h, &to, entry)?;
        }
        Ok(())
    }

    fn add_dir_entry(&mut self, meta: &Metadata, dest: &str) -> Result<()> {
        self.ensure_dir(parent(dest))?;
        let mut h = self.header_for(meta);
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        self.append(&mut h, dest, std::io::empty())?;
        self.dirs.insert(dest.trim_end_matches('/').to_string());
        Ok(())
    }

    /// A header with the stamp applied over `meta`.
    fn header_for(&self, meta: &Metadata) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        let (uid, gid) = match (self.stamp.owner, self.stamp.keep_owner) {
            (Some(o), _) => o,
            (None, true) => (meta.uid(), meta.gid()),
            (None, false) => (0, 0),
        };
        h.set_uid(uid.into());
        h.set_gid(gid.into());
        let mode = meta.permissions().mode() & 0o7777;
        h.set_mode(match self.stamp.mode {
            Some(m) if !meta.file_type().is_symlink() => m,
            _ => mode,
        });
        h.set_mtime(self.stamp.mtime.unwrap_or(meta.mtime().max(0) as u64));
        h
    }

    fn append(&mut self, h: &mut tar::Header, dest: &str, data: impl Read) -> Result<()> {
        if !self.hashing {
            return self.raw_append(h, dest, data);
        }
        self.note(h, dest, true);
        let tee = Tee {
            inner: data,
            hasher: &mut self.identity,
        };
        self.builder
            .append_data(h, tar_path(dest), tee)
            .map_err(io_err("writing", self.path.clone()))
    }

    /// Appends without feeding the data to the identity (directories).
    fn raw_append(&mut self, h: &mut tar::Header, dest: &str, data: impl Read) -> Result<()> {
        self.builder
            .append_data(h, tar_path(dest), data)
            .map_err(io_err("writing", self.path.clone()))
    }

    /// Feeds an entry's name and metadata to the identity.
    fn note(&mut self, h: &tar::Header, dest: &str, with_time: bool) {
        if !self.hashing {
            return;
        }
        let line = format!(
            "{dest}\0{:?}\0{:o}\0{}\0{}\0{}\0{}\n",
            h.entry_type(),
            h.mode().unwrap_or(0),
            h.uid().unwrap_or(0),
            h.gid().unwrap_or(0),
            h.size().unwrap_or(0),
            if with_time { h.mtime().unwrap_or(0) } else { 0 },
        );
        let _ = std::io::Write::write_all(&mut self.identity, line.as_bytes());
    }
}

/// Rewrites the layer tar at `path` with every entry's modification time
/// set to `mtime` (`--timestamp`: a RUN's files then do not depend on
/// when it ran). Extended attributes (PAX records) are kept.
pub(crate) fn restamp(path: &Path, mtime: u64) -> Result<()> {
    let tmp = path.with_extension("restamped");
    {
        let src = File::open(path).map_err(io_err("opening", path))?;
        let mut ar = tar::Archive::new(std::io::BufReader::new(src));
        let dst = File::create(&tmp).map_err(io_err("creating", tmp.as_path()))?;
        let mut b = tar::Builder::new(BufWriter::new(dst));
        let werr = || io_err("writing", tmp.clone());
        for entry in ar.entries().map_err(io_err("reading", path))? {
            let mut entry = entry.map_err(io_err("reading", path))?;
            let name = entry.path().map_err(io_err("reading", path))?.into_owned();
            let link = entry
                .link_name()
                .map_err(io_err("reading", path))?
                .map(|l| l.into_owned());
            let pax: Vec<(String, Vec<u8>)> =
                match entry.pax_extensions().map_err(io_err("reading", path))? {
                    Some(exts) => exts
                        .filter_map(|e| e.ok())
                        .filter_map(|e| Some((e.key().ok()?.to_string(), e.value_bytes().to_vec())))
                        .filter(|(k, _)| {
                            k.starts_with("SCHILY.xattr.") || k.starts_with("LIBARCHIVE.xattr.")
                        })
                        .collect(),
                    None => Vec::new(),
                };
            if !pax.is_empty() {
                b.append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                    .map_err(werr())?;
            }
            let mut h = entry.header().clone();
            h.set_mtime(mtime);
            match link {
                Some(target) => b.append_link(&mut h, &name, &target).map_err(werr())?,
                None => b.append_data(&mut h, &name, &mut entry).map_err(werr())?,
            }
        }
        let mut w = b.into_inner().map_err(werr())?;
        std::io::Write::flush(&mut w).map_err(werr())?;
    }
    std::fs::rename(&tmp, path).map_err(io_err("replacing", path))
}

/// A reader that feeds what it reads to a hasher.
struct Tee<'a, R> {
    inner: R,
    hasher: &'a mut Hasher,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        std::io::Write::write_all(self.hasher, &buf[..n])?;
        Ok(n)
    }
}

/// The parent of an absolute path (`/` for `/x`).
pub(crate) fn parent(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// A tar member name: no leading `/`.
fn tar_path(dest: &str) -> String {
    let p = dest.trim_start_matches('/').to_string();
    if p.is_empty() {
        ".".into()
    } else {
        p
    }
}

fn join_rel(rel: &str, name: &str) -> String {
    if rel.is_empty() || rel == "." {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    }
}

/// An archive member's name made relative and checked: `None` when `..`
/// would climb above where it is extracted.
fn safe_rel(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in name.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_never_climb_out() {
        assert_eq!(safe_rel("./a/b").unwrap(), "a/b");
        assert_eq!(safe_rel("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(safe_rel("a/../b").unwrap(), "b");
        assert!(safe_rel("../x").is_none());
        assert!(safe_rel("a/../../x").is_none());
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
    }

    #[test]
    fn excludes_match_below_the_source_and_ignore_rules_the_whole_path() {
        let ignore = IgnoreRules::parse("docs/secret").unwrap();
        let exclude = IgnoreRules::parse("*.md\ntmp").unwrap();
        let src = TreeSource {
            ignore: Some(&ignore),
            exclude: Some(&exclude),
            base: "docs",
        };
        assert!(src.skips("docs/guide.md", false));
        assert!(!src.skips("docs/sub/nested.md", false));
        assert!(src.skips("docs/tmp", true));
        assert!(src.skips("docs/secret", false));
        assert!(!src.skips("docs/guide.html", false));
    }
}

//! A container's files seen from the host: mounting its root filesystem
//! (`hoist mount`), its whole tree as a tarball (`export`), its changes
//! over the image as a layer (`commit`), and the settings it ran with as
//! image config fields.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;
use crate::store::Containers;

/// overlayfs marks a directory that hides the lower ones with this xattr.
pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Files the engine bind-mounts into every container: their empty mount
/// points in the upper directory are no change of the container's.
const MOUNT_POINT_STUBS: [&str; 4] = [
    "etc/hosts",
    "etc/hostname",
    "etc/resolv.conf",
    "run/.containerenv",
];

/// What the engine itself put in a container's upper directory, which is
/// no change of the container's: an empty mount point stub, or the
/// /etc/mtab link made for an image without one (see
/// `run_setup::ensure_mtab`).
fn is_engine_stub(name: &Path, path: &Path, meta: &std::fs::Metadata) -> bool {
    let kind = meta.file_type();
    if kind.is_file() && meta.len() == 0 {
        return MOUNT_POINT_STUBS.iter().any(|s| Path::new(s) == name);
    }
    kind.is_symlink()
        && name == Path::new("etc/mtab")
        && std::fs::read_link(path).is_ok_and(|t| t == Path::new("/proc/mounts"))
}

/// Mounts the container's root filesystem (unless it is mounted: a running
/// container's is) and returns where.
pub fn mount(cs: &Containers, c: &Container) -> Result<PathBuf> {
    let rootfs = c.rootfs();
    if c.state.mounted || c.status().is_active() {
        return Ok(rootfs);
    }
    if let Some(missing) = c.config.layer_dirs.iter().find(|d| !d.is_dir()) {
        return Err(ContainerError::Invalid(format!(
            "container {} reads layer {} lazily: start it once (or pull its image with --pull-mode full) before mounting it",
            crate::short_id(c.id()),
            missing.display()
        )));
    }
    let work = c.dir.join("work");
    // overlayfs wants an empty work directory.
    hoist_fsutil::empty_dir(&work).map_err(io_err("emptying", &work))?;
    for dir in [&rootfs, &c.dir.join("upper")] {
        std::fs::create_dir_all(dir).map_err(io_err("creating", dir.as_path()))?;
    }
    let lower: Vec<PathBuf> = c.config.layer_dirs.iter().rev().cloned().collect();
    hoist_runtime::rootfs::mount_overlay(&lower, &c.dir.join("upper"), &work, &rootfs)?;
    cs.update_state(c.id(), |s| s.mounted = true)?;
    Ok(rootfs)
}

/// Unmounts the root filesystem `mount` mounted. A running container keeps
/// its own.
pub fn unmount(cs: &Containers, c: &Container) -> Result<()> {
    if c.status().is_active() {
        return Ok(());
    }
    crate::lifecycle::unmount_rootfs(c)?;
    cs.update_state(c.id(), |s| {
        s.mounted = false;
        s.rootfs_kept = false;
    })?;
    Ok(())
}

/// The containers whose root filesystem is mounted, with where.
pub fn mounted(cs: &Containers) -> Result<Vec<(Container, PathBuf)>> {
    Ok(cs
        .list()?
        .into_iter()
        .filter(|c| c.state.mounted || c.status().is_active())
        .map(|c| {
            let path = c.rootfs();
            (c, path)
        })
        .collect())
}

/// Writes the container's whole file tree as a tar stream (`export`),
/// mounting it for the time it takes if it is not mounted.
pub fn export(cs: &Containers, c: &Container, out: impl Write) -> Result<()> {
    let was_mounted = c.state.mounted || c.status().is_active();
    let rootfs = mount(cs, c)?;
    let written = write_tree_as(&rootfs, out, Mode::Tree, unmap_of(c));
    if !was_mounted {
        unmount(cs, &cs.load(c.id())?)?;
    }
    written?;
    crate::events::emit(c, hoist_events::Status::Export);
    Ok(())
}

/// `export -o FILE`: the tar goes to an unnamed file linked into place
/// when complete, so a failed or killed export leaves no truncated archive
/// under the name asked for.
pub fn export_to_file(cs: &Containers, c: &Container, path: &Path) -> Result<()> {
    let mut file = hoist_fsutil::AtomicFile::create(path, 0o644)?;
    export(cs, c, std::io::BufWriter::new(file.file()))?;
    file.commit()?;
    Ok(())
}

/// Writes an image's whole file tree as a tar stream (`build --output`),
/// the image mounted read-only (under `root`) for the time it takes.
pub fn export_image(
    root: &Path,
    image: &hoist_engine::ContainerImage,
    out: impl Write,
) -> Result<()> {
    let mounts = ImageMounts::new(root);
    let tree = mounts.mount(image)?;
    let written = write_tree(&tree, out, Mode::Tree);
    mounts.unmount(image.record.id.hex(), false)?;
    written
}

/// Writes what the container changed over its image as a layer tar
/// (`commit`): its upper directory, with overlayfs's whiteouts (0:0
/// character devices, opaque directories) in the OCI spelling.
pub fn write_changes(c: &Container, out: impl Write) -> Result<()> {
    let upper = c.dir.join("upper");
    std::fs::create_dir_all(&upper).map_err(io_err("creating", upper.as_path()))?;
    write_tree_as(&upper, out, Mode::Changes, unmap_of(c))
}

/// What [`write_tree`] writes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The tree as it is.
    Tree,
    /// An overlayfs upper directory as a layer: whiteouts in the OCI
    /// spelling, without the engine's mount point stubs.
    Changes,
}

/// The image config fields (`Cmd`, `Entrypoint`, `Env`, `WorkingDir`,
/// `User`, `Labels`) of what the container was created with, for `commit`.
pub fn run_config(c: &Container) -> Map<String, Value> {
    let o = &c.config.options;
    let mut m = Map::new();
    if let Some(cmd) = &o.command {
        m.insert("Cmd".into(), json!(cmd));
    }
    if let Some(ep) = &o.entrypoint {
        m.insert("Entrypoint".into(), json!(ep));
        // `--entrypoint` without a command drops the image's Cmd (as the
        // container ran it): the image made from it has none either.
        if o.command.is_none() {
            m.insert("Cmd".into(), json!([]));
        }
    }
    if !o.env.is_empty() {
        m.insert("Env".into(), json!(o.env));
    }
    if let Some(w) = &o.workdir {
        m.insert("WorkingDir".into(), json!(w));
    }
    if let Some(u) = &o.user {
        m.insert("User".into(), json!(u));
    }
    if !o.labels.is_empty() {
        m.insert("Labels".into(), json!(o.labels));
    }
    m
}

/// What happened to one path of a container (`diff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl ChangeKind {
    /// podman's letter: A, C or D.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// The paths a container added, changed or deleted over its image, sorted
/// by path (`/etc/x`). A directory counts as changed only for what changed
/// below it; the engine's mount point stubs are no change.
pub fn changes(c: &Container) -> Result<Vec<(ChangeKind, String)>> {
    layer_changes(&c.dir.join("upper"), &c.config.layer_dirs)
}

/// The changes of the layer directory `upper` over the layers `below`
/// (bottom first): a container's, or an image's top layer's.
pub fn layer_changes(upper: &Path, below: &[PathBuf]) -> Result<Vec<(ChangeKind, String)>> {
    let mut out = Vec::new();
    if upper.is_dir() {
        walk_changes(upper, Path::new(""), below, &mut out)
            .map_err(io_err("reading the changes in", upper))?;
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Adds the changes below `upper/rel`; whether there were any.
fn walk_changes(
    upper: &Path,
    rel: &Path,
    layers: &[PathBuf],
    out: &mut Vec<(ChangeKind, String)>,
) -> std::io::Result<bool> {
    let mut any = false;
    for e in std::fs::read_dir(upper.join(rel))? {
        let e = e?;
        let name = rel.join(e.file_name());
        let meta = std::fs::symlink_metadata(e.path())?;
        let kind = meta.file_type();
        let shown = format!("/{}", name.display());
        if is_engine_stub(&name, &e.path(), &meta) {
            continue;
        }
        if kind.is_char_device() && meta.rdev() == 0 {
            out.push((ChangeKind::Deleted, shown));
            any = true;
            continue;
        }
        let in_image = in_lower(layers, &name);
        if kind.is_dir() && in_image {
            // A directory copied up for what happens inside it.
            if walk_changes(upper, &name, layers, out)? || is_opaque(&e.path()) {
                out.push((ChangeKind::Changed, shown));
                any = true;
            }
            continue;
        }
        if kind.is_dir() {
            // New, unless it only holds mount point stubs the engine made.
            let at = out.len();
            let inside = walk_changes(upper, &name, layers, out)?;
            if inside || !holds_only_stubs(upper, &name)? {
                out.insert(at, (ChangeKind::Added, shown));
                any = true;
            }
            continue;
        }
        out.push((
            if in_image {
                ChangeKind::Changed
            } else {
                ChangeKind::Added
            },
            shown,
        ));
        any = true;
    }
    Ok(any)
}

/// Whether the directory `upper/rel` has entries, all of them mount point stubs.
fn holds_only_stubs(upper: &Path, rel: &Path) -> std::io::Result<bool> {
    let mut entries = std::fs::read_dir(upper.join(rel))?.peekable();
    if entries.peek().is_none() {
        return Ok(false);
    }
    for e in entries {
        let e = e?;
        let name = rel.join(e.file_name());
        let meta = std::fs::symlink_metadata(e.path())?;
        if !is_engine_stub(&name, &e.path(), &meta) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Removes from stopped container `c`'s upper directory the mount points
/// the runtime made for `destinations` (an empty file or directory the
/// image does not have, and the empty directories made on the way to
/// it): a build step's mounts (secrets, SSH agents) are no change of its.
/// A path through a symbolic link is left alone, so a step cannot point
/// this at the host's files.
pub fn drop_mount_points<'a>(
    c: &Container,
    destinations: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let upper = c.dir.join("upper");
    for dest in destinations {
        let rel = Path::new(dest.trim_start_matches('/'));
        if rel.as_os_str().is_empty() || !no_link_on_the_way(&upper, rel) {
            continue;
        }
        let mut at = Some(rel);
        while let Some(r) = at.filter(|r| !r.as_os_str().is_empty()) {
            let path = upper.join(r);
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                break;
            };
            let empty = (meta.is_file() && meta.len() == 0)
                || (meta.is_dir()
                    && std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none())
                    && !is_opaque(&path));
            if !empty || in_lower(&c.config.layer_dirs, r) {
                break;
            }
            let removed = if meta.is_dir() {
                std::fs::remove_dir(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(io_err("removing the mount point", path.as_path()))?;
            at = r.parent();
        }
    }
    Ok(())
}

/// Whether no prefix of `rel` under `root` is a symbolic link.
fn no_link_on_the_way(root: &Path, rel: &Path) -> bool {
    let mut at = root.to_path_buf();
    rel.components().all(|part| {
        at.push(part);
        !std::fs::symlink_metadata(&at).is_ok_and(|m| m.is_symlink())
    })
}

/// Whether the image (its layer directories, bottom first) has `rel`.
fn in_lower(layers: &[PathBuf], rel: &Path) -> bool {
    for layer in layers.iter().rev() {
        match std::fs::symlink_metadata(layer.join(rel)) {
            Ok(m) => return !(m.file_type().is_char_device() && m.rdev() == 0),
            Err(_) => {
                let opaque_parent = rel
                    .parent()
                    .is_some_and(|p| !p.as_os_str().is_empty() && is_opaque(&layer.join(p)));
                if opaque_parent {
                    return false;
                }
            }
        }
    }
    false
}

/// Images mounted read-only on the host (`image mount`), each with a count
/// of the mounts asked for, under `<root>/image-mounts/<id>/`.
pub struct ImageMounts {
    dir: PathBuf,
}

/// One mounted image.
#[derive(Debug, Clone)]
pub struct MountedImage {
    /// The image ID (hex).
    pub id: String,
    pub path: PathBuf,
}

impl ImageMounts {
    pub fn new(root: &Path) -> ImageMounts {
        ImageMounts {
            dir: root.join("image-mounts"),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("merged")
    }

    fn count_file(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("count")
    }

    fn count(&self, id: &str) -> u32 {
        std::fs::read_to_string(self.count_file(id))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn set_count(&self, id: &str, n: u32) -> Result<()> {
        let file = self.count_file(id);
        hoist_fsutil::write_file(&file, n.to_string().as_bytes(), 0o600)
            .map_err(|e| ContainerError::Invalid(format!("recording the mount of image {id}: {e}")))
    }

    fn lock(&self, id: &str) -> Result<hoist_fsutil::FileLock> {
        std::fs::create_dir_all(self.dir.join(id))
            .map_err(io_err("creating", self.dir.join(id)))?;
        hoist_fsutil::FileLock::exclusive(&self.dir.join(id).join("lock"))
            .map_err(|e| ContainerError::Invalid(format!("locking the mount of image {id}: {e}")))
    }

    /// Mounts the image (or counts one more mount of it); where.
    pub fn mount(&self, image: &hoist_engine::ContainerImage) -> Result<PathBuf> {
        let id = image.record.id.hex().to_string();
        let _lock = self.lock(&id)?;
        let path = self.path(&id);
        let n = self.count(&id);
        if n == 0 {
            if let Some(missing) = image.layer_dirs.iter().find(|d| !d.is_dir()) {
                return Err(ContainerError::Invalid(format!(
                    "image {} has layer {} still to be fetched: pull it with --pull-mode full to mount it",
                    &id[..12],
                    missing.display()
                )));
            }
            std::fs::create_dir_all(&path).map_err(io_err("creating", path.as_path()))?;
            let lower: Vec<PathBuf> = image.layer_dirs.iter().rev().cloned().collect();
            hoist_runtime::rootfs::mount_overlay_readonly(&lower, &path)?;
        }
        self.set_count(&id, n + 1)?;
        Ok(path)
    }

    /// Counts one mount less (all of them with `force`), unmounting at
    /// zero. Whether the image was unmounted.
    pub fn unmount(&self, id: &str, force: bool) -> Result<bool> {
        let _lock = self.lock(id)?;
        let n = self.count(id);
        if n == 0 {
            return Ok(false);
        }
        if n > 1 && !force {
            self.set_count(id, n - 1)?;
            return Ok(false);
        }
        let path = self.path(id);
        hoist_runtime::rootfs::unmount(&path)?;
        let _ = std::fs::remove_file(self.count_file(id));
        let _ = std::fs::remove_dir(&path);
        Ok(true)
    }

    /// The mounted images.
    pub fn list(&self) -> Vec<MountedImage> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<MountedImage> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|id| self.count(id) > 0)
            .map(|id| MountedImage {
                path: self.path(&id),
                id,
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}

/// Where a container keeps its `--mount type=image` mount number `index`.
fn image_mount_dir(c: &Container, index: usize) -> PathBuf {
    c.dir.join("image-mounts").join(index.to_string())
}

/// Mounts the image of a container's `--mount type=image` (counted as one
/// more mount of that image, as `image mount` counts them) and returns
/// what to bind into the container: the image's read-only tree, or with
/// `read_write` an overlay on it whose changes stay in the container's
/// directory. [`release_image_mounts`] undoes it.
pub(crate) fn mount_image_for(
    cs: &Containers,
    c: &Container,
    index: usize,
    source: &str,
    read_write: bool,
) -> Result<PathBuf> {
    let engine = hoist_engine::Engine::open(cs.root())
        .map_err(|e| ContainerError::Invalid(format!("opening the image store: {e}")))?;
    let silent: std::sync::Arc<dyn hoist_engine::progress::Progress> =
        std::sync::Arc::new(hoist_engine::progress::Silent);
    let image = engine
        .image_for_container(
            source,
            hoist_engine::PullPolicy::Missing,
            &hoist_engine::PullOptions::default(),
            &silent,
        )
        .map_err(|e| ContainerError::Invalid(format!("--mount type=image,source={source}: {e}")))?;
    let dir = image_mount_dir(c, index);
    // What a dead monitor left behind goes first.
    release_one(cs, &dir);
    std::fs::create_dir_all(&dir).map_err(io_err("creating", dir.as_path()))?;
    let path = ImageMounts::new(cs.root()).mount(&image)?;
    let id = image.record.id.hex().to_string();
    hoist_fsutil::write_file(&dir.join("image"), id.as_bytes(), 0o600)
        .map_err(|e| ContainerError::Invalid(format!("recording the image mount: {e}")))?;
    if !read_write {
        return Ok(path);
    }
    let (upper, work, merged) = (dir.join("upper"), dir.join("work"), dir.join("merged"));
    for d in [&upper, &work, &merged] {
        std::fs::create_dir_all(d).map_err(io_err("creating", d.as_path()))?;
    }
    let lower: Vec<PathBuf> = image.layer_dirs.iter().rev().cloned().collect();
    hoist_runtime::rootfs::mount_overlay(&lower, &upper, &work, &merged)?;
    Ok(merged)
}

/// Unmounts what [`mount_image_for`] mounted for the container.
pub(crate) fn release_image_mounts(cs: &Containers, c: &Container) {
    let Ok(entries) = std::fs::read_dir(c.dir.join("image-mounts")) else {
        return;
    };
    for e in entries.flatten() {
        release_one(cs, &e.path());
    }
}

fn release_one(cs: &Containers, dir: &Path) {
    let merged = dir.join("merged");
    if let Err(e) = hoist_runtime::rootfs::unmount(&merged) {
        tracing::warn!(error = %e, "unmounting an image mount");
    }
    if let Ok(id) = std::fs::read_to_string(dir.join("image")) {
        if let Err(e) = ImageMounts::new(cs.root()).unmount(id.trim(), false) {
            tracing::warn!(error = %e, "releasing an image mount");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

pub(crate) fn write_tree(root: &Path, out: impl Write, mode: Mode) -> Result<()> {
    write_tree_as(root, out, mode, None)
}

/// Host IDs written back as the container IDs they stand for: the files a
/// container in a user namespace made belong to its mapped IDs on disk,
/// and an image or an export holds the IDs as the container saw them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unmap<'a> {
    pub uids: &'a [hoist_idmap::IdMap],
    pub gids: &'a [hoist_idmap::IdMap],
}

/// The owners container `c` sees, if it has a user namespace.
pub(crate) fn unmap_of(c: &Container) -> Option<Unmap<'_>> {
    crate::userns::maps(c).map(|(uids, gids)| Unmap { uids, gids })
}

/// [`write_tree`], with `unmap` applied to every entry's owner.
pub(crate) fn write_tree_as(
    root: &Path,
    out: impl Write,
    mode: Mode,
    unmap: Option<Unmap<'_>>,
) -> Result<()> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let failed = |e: std::io::Error| io_err("writing a tar of", root)(e);
    append_dir(&mut builder, root, Path::new(""), mode, unmap).map_err(failed)?;
    builder
        .into_inner()
        .and_then(|mut w| w.flush())
        .map_err(failed)?;
    Ok(())
}

/// Appends the entries below `root/rel`, sorted by name.
fn append_dir<W: Write>(
    b: &mut tar::Builder<W>,
    root: &Path,
    rel: &Path,
    mode: Mode,
    unmap: Option<Unmap<'_>>,
) -> std::io::Result<()> {
    let whiteouts = mode == Mode::Changes;
    let dir = root.join(rel);
    if whiteouts && !rel.as_os_str().is_empty() && is_opaque(&dir) {
        empty_file(b, &rel.join(".wh..wh..opq"))?;
    }
    let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = rel.join(e.file_name());
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path)?;
        let kind = meta.file_type();
        let stub = whiteouts && is_engine_stub(&name, &path, &meta);
        if kind.is_socket() || stub {
            continue;
        }
        if whiteouts && kind.is_char_device() && meta.rdev() == 0 {
            let mut wh = std::ffi::OsString::from(".wh.");
            wh.push(e.file_name());
            empty_file(b, &rel.join(wh))?;
            continue;
        }
        match unmap {
            Some(u) => append_unmapped(b, &path, &name, &meta, u)?,
            None => b.append_path_with_name(&path, &name)?,
        }
        if kind.is_dir() {
            append_dir(b, root, &name, mode, unmap)?;
        }
    }
    Ok(())
}

/// One entry with its owner seen through `u` (an ID outside the maps
/// stays as it is).
fn append_unmapped<W: Write>(
    b: &mut tar::Builder<W>,
    path: &Path,
    name: &Path,
    meta: &std::fs::Metadata,
    u: Unmap<'_>,
) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
    let uid = hoist_idmap::container_id(u.uids, meta.uid()).unwrap_or(meta.uid());
    let gid = hoist_idmap::container_id(u.gids, meta.gid()).unwrap_or(meta.gid());
    h.set_uid(u64::from(uid));
    h.set_gid(u64::from(gid));
    let kind = meta.file_type();
    if kind.is_file() {
        b.append_data(&mut h, name, std::fs::File::open(path)?)
    } else if kind.is_symlink() {
        b.append_link(&mut h, name, std::fs::read_link(path)?)
    } else {
        if kind.is_char_device() || kind.is_block_device() {
            let dev = meta.rdev();
            h.set_device_major(rustix::fs::major(dev))?;
            h.set_device_minor(rustix::fs::minor(dev))?;
        }
        h.set_size(0);
        b.append_data(&mut h, name, std::io::empty())
    }
}

pub(crate) fn is_opaque(dir: &Path) -> bool {
    let mut value = [0u8; 4];
    matches!(rustix::fs::lgetxattr(dir, OPAQUE_XATTR, &mut value), Ok(1) if value[0] == b'y')
}

fn empty_file<W: Write>(b: &mut tar::Builder<W>, name: &Path) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(0);
    h.set_mode(0o644);
    h.set_mtime(0);
    b.append_data(&mut h, name, std::io::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar: &[u8]) -> Vec<String> {
        tar::Archive::new(tar)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn trees_are_written_sorted_with_directories_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::write(dir.path().join("b/c/f"), "x").unwrap();
        std::fs::write(dir.path().join("a"), "y").unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("l")).unwrap();
        let mut out = Vec::new();
        write_tree(dir.path(), &mut out, Mode::Changes).unwrap();
        assert_eq!(names(&out), ["a", "b", "b/c", "b/c/f", "l"]);
    }

    #[test]
    fn changes_compare_the_upper_directory_with_the_layers() {
        let dir = tempfile::tempdir().unwrap();
        let (lower, upper) = (dir.path().join("lower"), dir.path().join("upper"));
        for d in ["etc", "usr/lib"] {
            std::fs::create_dir_all(lower.join(d)).unwrap();
        }
        std::fs::write(lower.join("etc/services"), "x").unwrap();
        std::fs::write(lower.join("etc/passwd"), "x").unwrap();
        for d in ["etc", "run", "usr/lib", "new/dir", "empty"] {
            std::fs::create_dir_all(upper.join(d)).unwrap();
        }
        std::fs::write(upper.join("etc/passwd"), "y").unwrap();
        std::fs::write(upper.join("etc/hosts"), "").unwrap();
        // /run is not in the image: made only for the stub, it is no change.
        std::fs::write(upper.join("run/.containerenv"), "").unwrap();
        std::fs::write(upper.join("added"), "").unwrap();
        let mut out = Vec::new();
        walk_changes(&upper, Path::new(""), &[lower], &mut out).unwrap();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        let shown: Vec<String> = out
            .iter()
            .map(|(k, p)| format!("{} {p}", k.letter()))
            .collect();
        assert_eq!(
            shown,
            [
                "A /added",
                "A /empty",
                "C /etc",
                "C /etc/passwd",
                "A /new",
                "A /new/dir"
            ]
        );
    }

    #[test]
    fn a_link_on_the_way_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("run/x")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("link")).unwrap();
        assert!(no_link_on_the_way(dir.path(), Path::new("run/x/agent")));
        assert!(!no_link_on_the_way(dir.path(), Path::new("link/passwd")));
    }

    #[test]
    fn changes_leave_out_mount_point_stubs_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/hosts"), "").unwrap();
        std::fs::write(dir.path().join("etc/hostname"), "written\n").unwrap();
        std::os::unix::fs::symlink("/proc/mounts", dir.path().join("etc/mtab")).unwrap();
        std::os::unix::fs::symlink("/proc/mounts", dir.path().join("etc/mounts")).unwrap();
        let mut changes = Vec::new();
        write_tree(dir.path(), &mut changes, Mode::Changes).unwrap();
        assert_eq!(names(&changes), ["etc", "etc/hostname", "etc/mounts"]);
        let mut tree = Vec::new();
        write_tree(dir.path(), &mut tree, Mode::Tree).unwrap();
        assert_eq!(
            names(&tree),
            ["etc", "etc/hostname", "etc/hosts", "etc/mounts", "etc/mtab"]
        );
    }
}

//! `build --squash` and `--squash-all`: an image's layers above its first
//! `keep` merged into one. The merge rebuilds, in a scratch directory of
//! the store, the tree overlayfs would show for those layers (files are
//! hard-linked from the store's layer directories, never copied), then
//! writes it as one layer tar. When layers stay below it (`--squash`), what
//! the merged layers deleted from them stays deleted: whiteouts and opaque
//! directories are kept where they still hide something below.

use std::fs::{self, Metadata};
use std::io::{self, BufWriter};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hoist_engine::Engine;
use hoist_image::Digest;

use crate::error::{io_err, Result};
use crate::snapshot::{is_opaque, write_tree, Mode, OPAQUE_XATTR};

/// A new image like `image` with its layers above the first `keep` merged
/// into one (`keep` 0: the whole image in one layer); its ID. With at
/// most one layer above `keep` the image is already squashed and returned.
pub fn squash_image(engine: &Engine, image: &str, keep: usize) -> Result<Digest> {
    let dirs = engine.layer_dirs_above(image, keep)?;
    if dirs.len() <= 1 {
        return Ok(engine.image_id(image)?);
    }
    let scratch = engine
        .store()
        .temp_dir()
        .map_err(hoist_engine::EngineError::from)?;
    let tree = scratch.path().join("tree");
    fs::create_dir(&tree).map_err(io_err("creating", tree.as_path()))?;
    let keep_deletions = keep > 0;
    for dir in &dirs {
        apply_layer(dir, &tree, Path::new(""), keep_deletions)
            .map_err(io_err("merging layer", dir.as_path()))?;
    }
    let layer = scratch.path().join("layer.tar");
    let file = fs::File::create(&layer).map_err(io_err("creating", layer.as_path()))?;
    let mode = if keep_deletions {
        Mode::Changes
    } else {
        Mode::Tree
    };
    write_tree(&tree, BufWriter::new(file), mode)?;
    Ok(engine.replace_top_layers(image, keep, &layer)?)
}

/// Puts the entries of `layer/rel` over `tree/rel`, as overlayfs stacks a
/// layer over the ones below it.
fn apply_layer(layer: &Path, tree: &Path, rel: &Path, keep_deletions: bool) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(layer.join(rel))?.collect::<io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = rel.join(entry.file_name());
        let (src, dst) = (layer.join(&name), tree.join(&name));
        let meta = fs::symlink_metadata(&src)?;
        let existing = fs::symlink_metadata(&dst).ok();
        if is_whiteout(&meta) {
            remove_any(&dst, existing.as_ref())?;
            if keep_deletions {
                make_whiteout(&dst)?;
            }
        } else if meta.is_dir() {
            let was_dir = existing.as_ref().is_some_and(Metadata::is_dir);
            let opaque = is_opaque(&src);
            if was_dir && opaque {
                clear_dir(&dst)?;
            } else if !was_dir {
                remove_any(&dst, existing.as_ref())?;
                fs::create_dir(&dst)?;
            }
            // A directory over a file or a whiteout of the merged layers
            // hides what the layers kept below have there, as an opaque
            // one does.
            if keep_deletions && (opaque || (existing.is_some() && !was_dir)) {
                rustix::fs::lsetxattr(&dst, OPAQUE_XATTR, b"y", rustix::fs::XattrFlags::empty())?;
            }
            apply_layer(layer, tree, &name, keep_deletions)?;
            copy_dir_metadata(&meta, &dst)?;
        } else {
            remove_any(&dst, existing.as_ref())?;
            fs::hard_link(&src, &dst)?;
        }
    }
    Ok(())
}

/// overlayfs' whiteout: a character device 0:0.
fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn make_whiteout(path: &Path) -> io::Result<()> {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::from_raw_mode(0o000),
        0,
    )?;
    Ok(())
}

fn remove_any(path: &Path, meta: Option<&Metadata>) -> io::Result<()> {
    match meta {
        Some(m) if m.is_dir() => fs::remove_dir_all(path),
        Some(_) => fs::remove_file(path),
        None => Ok(()),
    }
}

fn clear_dir(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path: PathBuf = entry?.path();
        let meta = fs::symlink_metadata(&path)?;
        remove_any(&path, Some(&meta))?;
    }
    Ok(())
}

/// The directory's owner, mode and modification time, set after its
/// entries are in (adding them changes the time).
fn copy_dir_metadata(meta: &Metadata, dst: &Path) -> io::Result<()> {
    std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))?;
    fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    let mtime = rustix::fs::Timespec {
        tv_sec: meta.mtime(),
        tv_nsec: meta.mtime_nsec() as _,
    };
    let times = rustix::fs::Timestamps {
        last_access: mtime,
        last_modification: mtime,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        dst,
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(files: &[&str], whiteouts: &[&str], opaque: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            if f.ends_with('/') {
                fs::create_dir_all(&p).unwrap();
            } else {
                fs::write(&p, f).unwrap();
            }
        }
        for w in whiteouts {
            let p = dir.path().join(w);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            make_whiteout(&p).unwrap();
        }
        for o in opaque {
            let p = dir.path().join(o);
            fs::create_dir_all(&p).unwrap();
            rustix::fs::lsetxattr(&p, OPAQUE_XATTR, b"y", rustix::fs::XattrFlags::empty()).unwrap();
        }
        dir
    }

    /// Every path in the merged tree: "path", "path (whiteout)", "dir/ (opaque)".
    fn listing(root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in walk(root) {
            let rel = e.strip_prefix(root).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&e).unwrap();
            out.push(if is_whiteout(&meta) {
                format!("{rel} (whiteout)")
            } else if meta.is_dir() && is_opaque(&e) {
                format!("{rel}/ (opaque)")
            } else if meta.is_dir() {
                format!("{rel}/")
            } else {
                rel
            });
        }
        out.sort();
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut all = Vec::new();
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            all.push(p.clone());
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                all.extend(walk(&p));
            }
        }
        all
    }

    fn merge(layers: &[&tempfile::TempDir], keep_deletions: bool) -> Vec<String> {
        let tree = tempfile::tempdir().unwrap();
        for l in layers {
            apply_layer(l.path(), tree.path(), Path::new(""), keep_deletions).unwrap();
        }
        listing(tree.path())
    }

    #[test]
    fn upper_layers_win_and_deletions_of_the_merged_layers_vanish() {
        let lower = layer(&["a", "d/x", "d/y", "gone"], &[], &[]);
        let upper = layer(&["d/z"], &["gone", "d/x"], &[]);
        // --squash-all: nothing below, so no whiteouts at all.
        assert_eq!(merge(&[&lower, &upper], false), ["a", "d/", "d/y", "d/z"]);
        // --squash: the deletions may hide files of the layers kept below.
        assert_eq!(
            merge(&[&lower, &upper], true),
            ["a", "d/", "d/x (whiteout)", "d/y", "d/z", "gone (whiteout)"]
        );
    }

    #[test]
    fn opaque_and_recreated_directories_hide_what_is_below() {
        let lower = layer(&["d/old", "f"], &[], &[]);
        let upper = layer(&["d/new"], &[], &["d"]);
        assert_eq!(merge(&[&lower, &upper], false), ["d/", "d/new", "f"]);
        assert_eq!(
            merge(&[&lower, &upper], true),
            ["d/ (opaque)", "d/new", "f"]
        );
        // A directory where a merged layer deleted one (or had a file)
        // must not let the kept layers' entries show through it.
        let deleting = layer(&[], &["e"], &[]);
        let recreating = layer(&["e/only"], &[], &[]);
        assert_eq!(
            merge(&[&deleting, &recreating], true),
            ["e/ (opaque)", "e/only"]
        );
        // A file over a directory replaces it whole.
        let dir = layer(&["g/inner"], &[], &[]);
        let file = layer(&["g"], &[], &[]);
        assert_eq!(merge(&[&dir, &file], true), ["g"]);
    }
}

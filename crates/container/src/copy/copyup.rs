//! tmpfs copy-up: a tmpfs mounted over a directory of the image starts
//! with that directory's contents, as podman's tmpfs mounts do (runc's
//! `tmpcopyup`; `notmpcopyup` turns it off). So files the image has there,
//! or that `cp` put into a created container, are seen when it runs.
//!
//! The runtime cannot fill a tmpfs it mounts itself, so hoist mounts the
//! tmpfs in the container's directory, copies the directory's contents in
//! with the same safe walk as `cp` (resolved inside the root, symlinks
//! copied as symlinks) and hands it to the runtime as a bind mount. It is
//! unmounted with the root filesystem ([`unmount_copies`]). An empty or
//! missing directory gets a plain tmpfs from the runtime.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountFlags, UnmountFlags};

use super::resolve::{self, Base, Dest, End};
use super::tree::{self, Owner, Put};
use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;

/// Where the filled tmpfs mounts of a container are, one directory each.
fn copies_dir(c: &Container) -> PathBuf {
    c.dir.join("tmpfs-copyup")
}

/// Mount flags and data for the host-side tmpfs, from the mount's options
/// (`nosuid,nodev` unless `suid`/`dev`; `size=`, `mode=`, `nr_inodes=` ...
/// as data). Options about propagation and copy-up are not the kernel's.
fn flags_and_data(
    size: Option<u64>,
    mode: Option<u32>,
    options: &[String],
) -> (MountFlags, String) {
    let mut flags = MountFlags::NOSUID | MountFlags::NODEV;
    let mut data = vec![format!("mode={:o}", mode.unwrap_or(0o1777))];
    if let Some(s) = size {
        data.push(format!("size={}k", s.div_ceil(1024)));
    }
    for o in options {
        match o.as_str() {
            "suid" => flags.remove(MountFlags::NOSUID),
            "dev" => flags.remove(MountFlags::NODEV),
            "exec" => flags.remove(MountFlags::NOEXEC),
            "noexec" => flags |= MountFlags::NOEXEC,
            "nosuid" => flags |= MountFlags::NOSUID,
            "nodev" => flags |= MountFlags::NODEV,
            "noatime" => flags |= MountFlags::NOATIME,
            "nodiratime" => flags |= MountFlags::NODIRATIME,
            "relatime" => flags |= MountFlags::RELATIME,
            "strictatime" => flags |= MountFlags::STRICTATIME,
            "sync" => flags |= MountFlags::SYNCHRONOUS,
            // Read-only is the bind mount's, once filled; the rest are
            // not about the file system.
            "ro" | "rw" | "tmpcopyup" | "notmpcopyup" | "bind" | "rbind" | "private"
            | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "z" | "Z" | "U" => {}
            other => data.push(other.to_string()),
        }
    }
    (flags, data.join(","))
}

/// The options of a plain (unfilled) tmpfs for the runtime: without the
/// copy-up ones, which are not the kernel's.
pub(crate) fn kernel_options(options: &[String]) -> Vec<String> {
    options
        .iter()
        .filter(|o| !matches!(o.as_str(), "tmpcopyup" | "notmpcopyup"))
        .cloned()
        .collect()
}

/// Whether the mount asks for no copy-up.
pub(crate) fn wants_copyup(options: &[String]) -> bool {
    !options.iter().any(|o| o == "notmpcopyup")
}

/// Fills a tmpfs for mount number `index` of `c` at `destination` from the
/// mounted root filesystem; the host directory to bind there, or `None`
/// when there is nothing to copy (a plain tmpfs will do).
pub(crate) fn fill_tmpfs(
    c: &Container,
    index: usize,
    destination: &str,
    size: Option<u64>,
    mode: Option<u32>,
    options: &[String],
) -> Result<Option<PathBuf>> {
    if !wants_copyup(options) {
        return Ok(None);
    }
    // Not there, or not a directory: nothing to copy up.
    let Some(source) = dir_in_root(&c.rootfs(), destination)? else {
        return Ok(None);
    };
    if !has_entries(&source)? {
        return Ok(None);
    }
    let target = copies_dir(c).join(index.to_string());
    std::fs::create_dir_all(&target).map_err(io_err("creating", &target))?;
    let (flags, data) = flags_and_data(size, mode, options);
    let data = std::ffi::CString::new(data)
        .map_err(|_| ContainerError::Invalid(format!("invalid tmpfs options for {destination}")))?;
    rustix::mount::mount("tmpfs", &target, "tmpfs", flags, Some(data.as_c_str()))
        .map_err(|e| io_err("mounting a tmpfs on", &target)(e.into()))?;
    if let Err(e) = fill(
        source,
        &target,
        format!("the tmpfs at {destination}"),
        destination,
    ) {
        let _ = rustix::mount::unmount(&target, UnmountFlags::DETACH);
        return Err(e);
    }
    Ok(Some(target))
}

fn has_entries(source: &resolve::Source) -> Result<bool> {
    let tree::Node::Dir(fd) = &source.node else {
        return Ok(false);
    };
    let mut dir =
        rustix::fs::Dir::read_from(fd).map_err(tree::errno("listing", "a tmpfs mount point"))?;
    Ok(dir.by_ref().filter_map(|e| e.ok()).any(|e| {
        let n = e.file_name().to_bytes();
        n != b"." && n != b".."
    }))
}

/// The contents of directory `destination` of the root file system at
/// `rootfs`, resolved without leaving it; `None` when it is missing or
/// not a directory.
fn dir_in_root(rootfs: &Path, destination: &str) -> Result<Option<resolve::Source>> {
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(tree::errno("opening", rootfs))?;
    let contents = format!("{}/.", destination.trim_end_matches('/'));
    let end = End {
        base: Base::Root(root.as_fd()),
        path: &contents,
        given: destination,
        place: "in the image",
        mount_name: None,
        meaning: resolve::Meaning::of(&contents),
        shown_prefix: "",
    };
    Ok(resolve::source(&end).ok())
}

/// Copies the contents of directory `destination` of the root file system
/// at `rootfs` into the directory `target` (a new volume's copy-up), with
/// the same safe walk as `cp`, keeping owners, modes and times; `place`
/// names `target` in errors. A missing `destination` copies nothing.
pub(crate) fn copy_dir_contents(
    rootfs: &Path,
    destination: &str,
    target: &Path,
    place: String,
) -> Result<()> {
    match dir_in_root(rootfs, destination)? {
        Some(source) => fill(source, target, place, &target.display().to_string()),
        None => Ok(()),
    }
}

fn fill(source: resolve::Source, target: &Path, place: String, shown: &str) -> Result<()> {
    let fd = rustix::fs::open(
        target,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(tree::errno("opening", target))?;
    let put = Put {
        owner: Owner::Keep,
        overwrite: true,
        skip_devices: false,
        place,
        full_prefix: String::new(),
        links: Default::default(),
    };
    let dest = Dest::Dir {
        fd,
        shown: shown.to_string(),
    };
    tree::transfer(source, dest, &put, None)
}

/// Unmounts and removes the filled tmpfs mounts of `c` (after it stopped).
pub(crate) fn unmount_copies(c: &Container) -> Result<()> {
    let dir = copies_dir(c);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        crate::detach::unmount(&p)?;
        let _ = std::fs::remove_dir(&p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_options_split_into_flags_and_data() {
        let (f, d) = flags_and_data(
            Some(1 << 20),
            Some(0o700),
            &["noexec".into(), "nr_inodes=9".into(), "tmpcopyup".into()],
        );
        assert!(f.contains(MountFlags::NOEXEC | MountFlags::NOSUID | MountFlags::NODEV));
        assert_eq!(d, "mode=700,size=1024k,nr_inodes=9");
        let (f, d) = flags_and_data(None, None, &["exec".into(), "dev".into()]);
        assert!(!f.contains(MountFlags::NODEV));
        assert_eq!(d, "mode=1777");
        assert!(!wants_copyup(&["notmpcopyup".into()]));
        assert!(wants_copyup(&[]));
    }
}

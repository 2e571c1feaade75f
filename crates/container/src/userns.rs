//! Containers in a user namespace of their own (`--uidmap`, `--gidmap`).
//!
//! The container gets a user namespace hoist makes before the container
//! exists, with the maps asked for, and joins it (the spec names it by
//! path); hoist uses the same namespace for two things first:
//! - the root filesystem: the image's layers stay owned by the host's
//!   root on disk (other containers share them), so they are mounted
//!   through idmapped bind mounts, which show them owned by the mapped
//!   root, and the writable layer's top directory belongs to that root;
//! - the network namespace, made inside it: so the container's processes
//!   can join it and mount a sysfs of their own, while netavark (the
//!   host's root) configures it as usual.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use hoist_idmap::{host_id, IdMap, UserNamespace};
use oci_spec::runtime::{
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, MountBuilder,
    Spec,
};

use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;
use crate::store::Containers;

/// The container's ID maps, if it has a user namespace of its own.
pub(crate) fn maps(c: &Container) -> Option<(&[IdMap], &[IdMap])> {
    c.config.options.run_flags.user_namespace()
}

/// The host user and group that the container's root is.
pub(crate) fn mapped_root(c: &Container) -> Option<(u32, u32)> {
    let (uids, gids) = maps(c)?;
    Some((host_id(uids, 0)?, host_id(gids, 0)?))
}

/// The host IDs that container user `uid` and group `gid` of `c` are:
/// through its maps if it has a user namespace (an unmapped ID stays as it
/// is), else the same IDs.
pub(crate) fn host_ids(c: &Container, uid: u32, gid: u32) -> (u32, u32) {
    match maps(c) {
        Some((uids, gids)) => (
            host_id(uids, uid).unwrap_or(uid),
            host_id(gids, gid).unwrap_or(gid),
        ),
        None => (uid, gid),
    }
}

/// Gives `path` (not a symlink's target) to host user `uid` and group
/// `gid`, where set.
fn give(path: &Path, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
    rustix::fs::chownat(
        rustix::fs::CWD,
        path,
        uid.map(rustix::fs::Uid::from_raw),
        gid.map(rustix::fs::Gid::from_raw),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| io_err("giving the mapped root", path)(e.into()))
}

/// Mounts the overlay of `lower` (top first) on `rootfs` with each layer
/// seen through the container's ID maps, and gives the writable layer's
/// top directory to the mapped root.
pub(crate) fn mount_rootfs(
    c: &Container,
    ns: &UserNamespace,
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    rootfs: &Path,
    volatile: bool,
) -> Result<()> {
    let (uid, gid) = root_of(c)?;
    // Each layer is bound, idmapped, under the container's directory only
    // while the overlay is mounted: overlayfs keeps its own reference to
    // every layer, so the binds are detached right after.
    let staging = c.dir.join("idmapped");
    let _ = std::fs::remove_dir_all(&staging);
    let mut binds = Vec::with_capacity(lower.len());
    let result = (|| {
        for (i, layer) in lower.iter().enumerate() {
            let target = staging.join(i.to_string());
            std::fs::create_dir_all(&target).map_err(io_err("creating", &target))?;
            hoist_idmap::idmapped_bind(layer, &target, ns).map_err(idmap_error)?;
            binds.push(target);
        }
        give(upper, Some(uid), Some(gid))?;
        let mount = if volatile {
            hoist_runtime::rootfs::mount_overlay_volatile
        } else {
            hoist_runtime::rootfs::mount_overlay
        };
        mount(&binds, upper, work, rootfs).map_err(ContainerError::from)
    })();
    for b in &binds {
        let _ = rustix::mount::unmount(b, rustix::mount::UnmountFlags::DETACH);
    }
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// The user namespace for container `c`'s start, if it has ID maps: the
/// one of the container whose namespaces it joins (a pod's infra
/// container), else a new one.
pub(crate) fn namespace(cs: &Containers, c: &Container) -> Result<Option<UserNamespace>> {
    let Some((uids, gids)) = maps(c) else {
        return Ok(None);
    };
    root_of(c)?;
    if let Some(path) = joined(cs, c)? {
        return UserNamespace::open(&path).map(Some).map_err(idmap_error);
    }
    UserNamespace::with_maps(uids, gids)
        .map(Some)
        .map_err(idmap_error)
}

/// The user namespace of the running container whose network, IPC, UTS
/// or PID namespace `c` joins (`container:NAME`), if that one has its own:
/// namespaces made inside a user namespace are joined from inside it.
fn joined(cs: &Containers, c: &Container) -> Result<Option<PathBuf>> {
    let o = &c.config.options;
    let targets = o
        .networks
        .iter()
        .chain(o.ipc.iter())
        .chain(o.uts.iter())
        .chain(o.pid.iter())
        .filter_map(|m| m.strip_prefix("container:"));
    for name in targets {
        let other = cs.get(name)?;
        if maps(&other) != maps(c) {
            return Err(ContainerError::Invalid(format!(
                "{}: joins the namespaces of {name}, whose user namespace has other ID maps: give both the same --uidmap/--gidmap",
                c.name()
            )));
        }
        if let Some(pid) = other.state.pid.filter(|_| other.status().is_active()) {
            return Ok(Some(PathBuf::from(format!("/proc/{pid}/ns/user"))));
        }
    }
    Ok(None)
}

fn root_of(c: &Container) -> Result<(u32, u32)> {
    mapped_root(c).ok_or_else(|| ContainerError::Invalid(crate::run_flags::UNMAPPED_ROOT.into()))
}

/// Gives the mapped root what hoist itself made in the writable layer as
/// the host's root (/etc/mtab, mount points, the working directory...):
/// inside the user namespace the host's root is nobody, so the runtime
/// could not create its mount points below such a directory. Anything else
/// there was written through the container's IDs and is left alone. The
/// writable layer is walked to find them, but they are changed through the
/// mounted root filesystem: overlayfs would not see a change made below it.
pub(crate) fn give_made_files_to_root(c: &Container) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Some((uid, gid)) = mapped_root(c) else {
        return Ok(());
    };
    let upper = c.dir.join("upper");
    let rootfs = c.rootfs();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = upper.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(io_err("reading", &dir))?;
        for e in entries {
            let e = e.map_err(io_err("reading", &dir))?;
            let rel = rel.join(e.file_name());
            let meta = e.metadata().map_err(io_err("reading", &upper.join(&rel)))?;
            if meta.uid() == 0 || meta.gid() == 0 {
                give(
                    &rootfs.join(&rel),
                    (meta.uid() == 0).then_some(uid),
                    (meta.gid() == 0).then_some(gid),
                )?;
            }
            if meta.is_dir() {
                stack.push(rel);
            }
        }
    }
    Ok(())
}

fn idmap_error(e: hoist_idmap::IdmapError) -> ContainerError {
    ContainerError::Invalid(format!("user namespace: {e}"))
}

/// Makes the container join `ns` (by this process's descriptor of it,
/// which stays open until the runtime has created the container), and
/// gives the files hoist bind-mounts from the container's directory to
/// the mapped root. On the host's network (`--network host`) a new sysfs
/// cannot be mounted: the host's `/sys` is bound instead, with the mounts
/// below it, as the kernel refuses a user namespace a bind that would
/// uncover what they hide.
pub(crate) fn apply_to_spec(c: &Container, spec: &mut Spec, ns: &UserNamespace) -> Result<()> {
    let Some((uids, gids)) = maps(c) else {
        return Ok(());
    };
    let (uid, gid) = root_of(c)?;
    let Some(mut linux) = spec.linux().clone() else {
        return Ok(());
    };
    let mut namespaces = linux.namespaces().clone().unwrap_or_default();
    let host_network = !namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Network);
    let path = format!("/proc/{}/fd/{}", std::process::id(), ns.as_fd().as_raw_fd());
    namespaces.push(
        LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::User)
            .path(path)
            .build()
            .map_err(spec_error)?,
    );
    linux.set_namespaces(Some(namespaces));
    linux.set_uid_mappings(Some(id_mappings(uids)?));
    linux.set_gid_mappings(Some(id_mappings(gids)?));
    spec.set_linux(Some(linux));
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for m in &mut mounts {
        if host_network && m.destination() == Path::new("/sys") {
            *m = MountBuilder::default()
                .destination("/sys")
                .typ("bind")
                .source("/sys")
                .options(
                    ["rbind", "nosuid", "noexec", "nodev", "ro"]
                        .map(String::from)
                        .to_vec(),
                )
                .build()
                .map_err(spec_error)?;
        }
        let from_container_dir = m
            .source()
            .as_ref()
            .is_some_and(|s| s.starts_with(&c.dir) && s.is_file());
        if from_container_dir {
            let source = m.source().clone().expect("checked above");
            give(&source, Some(uid), Some(gid))?;
        }
    }
    spec.set_mounts(Some(mounts));
    Ok(())
}

fn id_mappings(maps: &[IdMap]) -> Result<Vec<LinuxIdMapping>> {
    maps.iter()
        .map(|m| {
            LinuxIdMappingBuilder::default()
                .container_id(m.container)
                .host_id(m.host)
                .size(m.size)
                .build()
                .map_err(spec_error)
        })
        .collect()
}

fn spec_error(e: oci_spec::OciSpecError) -> ContainerError {
    ContainerError::Invalid(format!("building the user namespace's spec: {e}"))
}

/// `exec` in a container with a user namespace: this process joins it, so
/// the runtime's processes start there (libcontainer 0.7 joins every other
/// namespace of the container but that one). The caller must be single
/// threaded; it stays in the namespace.
pub(crate) fn enter_for_exec(c: &Container) -> Result<()> {
    if maps(c).is_none() || c.config.options.runtime.is_some() {
        return Ok(());
    }
    let pid = c.state.pid.ok_or_else(|| {
        ContainerError::Invalid("the container runs but has no recorded process".into())
    })?;
    let user = PathBuf::from(format!("/proc/{pid}/ns/user"));
    let theirs = open_ns(&user)?;
    // A process that already joined (a healthcheck timer running its
    // check again) stays: joining one's own namespace is an error.
    let ours = open_ns(Path::new("/proc/self/ns/user"))?;
    if same_inode(&theirs, &ours) {
        return Ok(());
    }
    join(&theirs, &user, rustix::thread::LinkNameSpaceType::User)
}

fn same_inode(a: &OwnedFd, b: &OwnedFd) -> bool {
    match (rustix::fs::fstat(a), rustix::fs::fstat(b)) {
        (Ok(x), Ok(y)) => x.st_ino == y.st_ino && x.st_dev == y.st_dev,
        _ => false,
    }
}

fn open_ns(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| io_err("opening", path)(e.into()))
}

fn join(fd: &OwnedFd, path: &Path, kind: rustix::thread::LinkNameSpaceType) -> Result<()> {
    rustix::thread::move_into_link_name_space(fd.as_fd(), Some(kind))
        .map_err(|e| io_err("joining the namespace", path)(e.into()))
}

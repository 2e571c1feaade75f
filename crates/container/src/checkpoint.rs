//! `container checkpoint` and `container restore`: a running container's
//! processes saved by CRIU (see hoist-checkpoint) and brought back, in
//! place or from podman's archive into a new container.
//!
//! Checkpointing runs in the caller's process. Restoring runs in a new
//! monitor, like a start: the restored tree must be the monitor's child,
//! so the monitor waits for it, logs its output and records its end as for
//! any container. A `restore.json` in the container directory tells the
//! monitor to restore instead of creating the process.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use hoist_checkpoint::{
    Compression, CriuStats, DumpRequest, ExternalMount, RestoreRequest, CHECKPOINT_DIR,
    CONFIG_DUMP, DELETED_FILES, DEVSHM, NETWORK_STATUS, ROOTFS_DIFF, SPEC_DUMP, STATS_DUMP,
    VOLUMES_DIR,
};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde::{Deserialize, Serialize};

pub use crate::checkpoint_pod::PodTarget;
use crate::error::{io_err, ContainerError, Result};
use crate::record::{Container, ContainerConfig, Status};
use crate::store::Containers;

/// Where the CRIU images of a container's last checkpoint are.
pub fn checkpoint_dir(c: &Container) -> PathBuf {
    c.dir.join(CHECKPOINT_DIR)
}

/// The stdio the checkpointed init had (`/proc/PID/fd/{0,1,2}` targets),
/// which restore maps to the new monitor's pipes.
const DESCRIPTORS: &str = "descriptors.json";
/// Marks a container restored from an archive under a new name.
const COPY_MARKER: &str = "restored-copy";
/// Tells the next monitor of this container to restore it.
const RESTORE_MARKER: &str = "restore.json";
/// CRIU's statistics of the last restore, copied beside the container by
/// its monitor: the images they come with go once it runs.
const STATS_RESTORE: &str = "stats-restore";
/// Where a restore moves the images it used, until its monitor removes them.
const RESTORED_IMAGES: &str = "checkpoint.restored";

/// `checkpoint`'s flags.
#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    pub leave_running: bool,
    pub keep: bool,
    pub tcp_established: bool,
    pub file_locks: bool,
    pub export: Option<PathBuf>,
    pub compression: Compression,
    pub ignore_rootfs: bool,
    pub ignore_volumes: bool,
    pub pre_checkpoint: bool,
    pub with_previous: bool,
}

/// What a checkpoint or restore took, for `--print-stats`.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    /// The runtime's (CRIU's) part, in microseconds.
    pub runtime_us: u64,
    pub criu: CriuStats,
}

/// Checkpoints running container `c`.
pub fn checkpoint(cs: &Containers, c: &Container, opts: &CheckpointOptions) -> Result<Timing> {
    if opts.pre_checkpoint || opts.with_previous {
        if !hoist_checkpoint::soft_dirty_supported() {
            return Err(hoist_checkpoint::CheckpointError::NoSoftDirty.into());
        }
        return Err(ContainerError::Invalid(
            "--pre-checkpoint and --with-previous are not supported by hoist yet".into(),
        ));
    }
    if c.status() != Status::Running {
        return Err(ContainerError::StateImproper(format!(
            "{} is not running: cannot checkpoint",
            c.name()
        )));
    }
    if crate::userns::maps(c).is_some() {
        return Err(ContainerError::Invalid(format!(
            "{}: checkpointing a container with --uidmap/--gidmap is not supported by hoist yet; stop it instead, or run it without ID maps to checkpoint it",
            c.name()
        )));
    }
    let pid = c
        .state
        .pid
        .ok_or_else(|| ContainerError::Monitor("no pid recorded".into()))?;
    let spec = hoist_runtime::executor::read_bundle_config(&c.bundle())?;
    let shared_namespaces = crate::checkpoint_pod::shared_for_dump(c.name(), &spec, pid)?;
    let dir = checkpoint_dir(c);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    write_descriptors(pid, &dir)?;
    // Established connections outlive the dump only if the host keeps
    // its side of them too: the monitor then leaves the network set up
    // (CRIU keeps the namespace locked, dropping what the peers send)
    // for the restore. Torn down, it would take the host's connection
    // tracking along whenever the bridge goes with it (the kernel forgets
    // the masqueraded connections of an interface that goes down, as a
    // connection to a published port from the host itself is), and the
    // restored socket's first packet would meet a reset.
    let keep_network = opts.tcp_established && !opts.leave_running;
    // The root filesystem stays mounted too, as runc leaves a bundle's:
    // unmounting an overlay syncs the file system under it, which would
    // write out every image CRIU has just written, and the restore in
    // place would mount it again. An export is for elsewhere: the
    // container is let go of entirely, as podman does, and the archive is
    // written while the monitor unmounts. Not with lazy layers, whose
    // server ends with the monitor.
    let keep_rootfs =
        !opts.leave_running && opts.export.is_none() && c.config.lazy_layers.is_empty();
    if !opts.leave_running {
        // Its end is the checkpoint's doing: no restart policy.
        cs.update_state(c.id(), |s| {
            s.stopped_by_user = true;
            s.network_kept = keep_network && s.netns.is_some();
            s.rootfs_kept = keep_rootfs;
        })?;
    }
    // An export's memory pages go to disk, and into zstd frames, while
    // CRIU writes them: the monitor's unmount of the root, which the
    // export waits for, would otherwise write them out.
    let early_pages = opts.export.as_ref().map(|_| match opts.compression {
        hoist_checkpoint::Compression::Zstd => hoist_checkpoint::PageFollower::compressing(&dir),
        _ => hoist_checkpoint::PageFollower::writing_back(&dir),
    });
    let started = Instant::now();
    let dumped = hoist_checkpoint::dump(&DumpRequest {
        pid,
        images_dir: dir.clone(),
        root: c.rootfs(),
        leave_running: opts.leave_running,
        tcp_established: opts.tcp_established,
        file_locks: opts.file_locks,
        tty: c.config.options.tty,
        external_mounts: external_destinations(&spec),
        masked_files: masked_files(&spec, &PathBuf::from(format!("/proc/{pid}/root"))),
        external_netns: external_netns_inode(&spec),
        shared_namespaces,
        network_unreachable: has_private_netns(&spec),
    });
    let runtime_us = started.elapsed().as_micros() as u64;
    if let Err(e) = dumped {
        cs.update_state(c.id(), |s| {
            s.stopped_by_user = false;
            s.network_kept = false;
            s.rootfs_kept = false;
        })?;
        return Err(e.into());
    }
    write_json(&c.dir.join(CONFIG_DUMP), &config_dump(c, &spec))?;
    write_json(&c.dir.join(SPEC_DUMP), &spec_dump(&spec))?;
    write_json(&c.dir.join(NETWORK_STATUS), &c.state.network_status)?;
    let stats_src = dir.join("stats-dump");
    let criu = CriuStats::read(&stats_src).unwrap_or_default();
    let _ = std::fs::copy(&stats_src, c.dir.join(STATS_DUMP));
    let pages = early_pages
        .map(hoist_checkpoint::PageFollower::finish)
        .unwrap_or_default();
    let exported = opts
        .export
        .as_ref()
        .map(|file| export(cs, c, opts, file, pages));
    if !opts.leave_running {
        // The monitor records the end before it lets go of its lock and
        // the published ports: a restore right after needs both.
        crate::lifecycle::wait_monitor_gone(cs, c.id())?;
        cs.update_state(c.id(), |s| {
            s.exit_code = Some(0);
            s.checkpointed_at = Some(Utc::now());
            s.restored_at = None;
        })?;
    } else {
        cs.update_state(c.id(), |s| s.checkpointed_at = Some(Utc::now()))?;
    }
    crate::events::emit(c, hoist_events::Status::Checkpoint);
    if let Some(Err(e)) = exported {
        return Err(ContainerError::NotExported {
            source: Box::new(e),
            kept: if opts.leave_running {
                "the container is still running".into()
            } else {
                format!(
                    "it is kept with the container: `hoist container restore {}` brings it back where it stopped",
                    c.config.name
                )
            },
        });
    }
    Ok(Timing { runtime_us, criu })
}

/// `--export FILE`: podman's archive of the checkpoint just taken.
pub(crate) fn export(
    cs: &Containers,
    c: &Container,
    opts: &CheckpointOptions,
    file: &Path,
    pages: Vec<hoist_checkpoint::CompressedPages>,
) -> Result<()> {
    let staged = [ROOTFS_DIFF, DELETED_FILES];
    for name in staged {
        let _ = std::fs::remove_file(c.dir.join(name));
    }
    if !opts.ignore_rootfs {
        crate::checkpoint_rootfs::write_diff(
            &c.dir.join("upper"),
            &c.dir.join(ROOTFS_DIFF),
            &c.dir.join(DELETED_FILES),
        )?;
    }
    let volumes = c.dir.join(VOLUMES_DIR);
    let _ = std::fs::remove_dir_all(&volumes);
    let exported = if opts.ignore_volumes {
        Ok(())
    } else {
        export_volumes(cs, c, &volumes)
    }
    .and_then(|()| {
        Ok(hoist_checkpoint::export_with_pages(
            &c.dir,
            file,
            opts.compression,
            pages,
        )?)
    });
    for name in staged {
        let _ = std::fs::remove_file(c.dir.join(name));
    }
    let _ = std::fs::remove_dir_all(&volumes);
    exported
}

/// The container's named volumes: `volumes/NAME.tar` each, as podman.
fn export_volumes(cs: &Containers, c: &Container, dir: &Path) -> Result<()> {
    let vols = crate::volumes::Volumes::open(cs.root())?;
    for m in &c.config.options.mounts {
        let crate::MountOption::Volume { name, .. } = m else {
            continue;
        };
        std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        let path = dir.join(format!("{name}.tar"));
        let out = File::create(&path).map_err(io_err("creating", &path))?;
        vols.export(name, std::io::BufWriter::new(out))?;
    }
    Ok(())
}

/// An archive's `volumes/NAME.tar`: each volume made if missing and
/// filled, over what it holds.
fn import_volumes(cs: &Containers, dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let vols = crate::volumes::Volumes::open(cs.root())?;
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(name) = file.strip_suffix(".tar") else {
            continue;
        };
        crate::volumes::validate_name(name)?;
        vols.get_or_create(name)?;
        let f = File::open(e.path()).map_err(io_err("opening", e.path()))?;
        vols.import(name, std::io::BufReader::new(f))?;
    }
    Ok(())
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let data = serde_json::to_vec_pretty(value).expect("serializes");
    std::fs::write(path, data).map_err(io_err("writing", path))
}

fn write_descriptors(pid: i32, dir: &Path) -> Result<()> {
    let fds: Vec<String> = (0..3)
        .map(|n| {
            std::fs::read_link(format!("/proc/{pid}/fd/{n}"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "/dev/null".into())
        })
        .collect();
    write_json(&dir.join(DESCRIPTORS), &fds)
}

fn is_bind(m: &oci_spec::runtime::Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .as_ref()
            .is_some_and(|o| o.iter().any(|x| x == "bind" || x == "rbind"))
}

/// What CRIU must treat as mounted from outside: bind mounts and, on
/// cgroup v1, the controllers.
fn external_destinations(spec: &Spec) -> Vec<String> {
    let mut out: Vec<String> = spec
        .mounts()
        .iter()
        .flatten()
        .filter(|m| is_bind(m))
        .map(|m| m.destination().to_string_lossy().into_owned())
        .collect();
    out.extend(cgroup_v1_mounts(spec).into_iter().map(|(dest, _)| dest));
    out
}

/// The masked paths that are files in the running container `root`
/// (`/proc/PID/root`): the runtime binds /dev/null on them; masked
/// directories get a read-only tmpfs, which CRIU dumps itself.
fn masked_files(spec: &Spec, root: &Path) -> Vec<String> {
    masked_paths(spec)
        .into_iter()
        .filter(|p| {
            let inside = root.join(p.trim_start_matches('/'));
            std::fs::metadata(inside).is_ok_and(|m| !m.is_dir())
        })
        .collect()
}

fn masked_paths(spec: &Spec) -> Vec<String> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.masked_paths().clone())
        .unwrap_or_default()
}

/// On cgroup v1 the runtime bind-mounts each controller's directory of the
/// container's cgroup: (destination, host source) for each.
fn cgroup_v1_mounts(spec: &Spec) -> Vec<(String, String)> {
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return Vec::new();
    }
    let has_cgroup_mount = spec
        .mounts()
        .iter()
        .flatten()
        .any(|m| m.typ().as_deref() == Some("cgroup"));
    if !has_cgroup_mount {
        return Vec::new();
    }
    let cg = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().clone())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mountinfo
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split_whitespace().next()?;
            let point = pre.split_whitespace().nth(4)?;
            (fstype == "cgroup" && point.starts_with("/sys/fs/cgroup/")).then(|| {
                (
                    point.to_string(),
                    format!("{point}/{}", cg.trim_start_matches('/')),
                )
            })
        })
        .collect()
}

/// Bind mounts of the dumped container that this one lacks: podman binds
/// a directory of its own on /dev/shm (its contents travel as
/// `devshm-checkpoint.tar`), where hoist mounts a tmpfs.
fn foreign_binds(
    c: &Container,
    dumped: &Spec,
    have: &[ExternalMount],
) -> Result<Vec<ExternalMount>> {
    let mut out = Vec::new();
    for m in dumped.mounts().iter().flatten().filter(|m| is_bind(m)) {
        let dest = m.destination().to_string_lossy().into_owned();
        if have.iter().any(|h| h.destination == dest) || dest != "/dev/shm" {
            continue;
        }
        let shm = c.dir.join("userdata").join("shm");
        let _ = std::fs::remove_dir_all(&shm);
        std::fs::create_dir_all(&shm).map_err(io_err("creating", &shm))?;
        if let Ok(f) = File::open(c.dir.join(DEVSHM)) {
            hoist_store::extract_tar_with(
                std::io::BufReader::new(f),
                &shm,
                &hoist_store::ExtractOptions::default(),
            )
            .map_err(|e| {
                ContainerError::Invalid(format!("invalid checkpoint archive: {DEVSHM}: {e}"))
            })?;
        }
        out.push(ExternalMount {
            destination: dest,
            source: shm.to_string_lossy().into_owned(),
        });
    }
    Ok(out)
}

/// Makes the mount point of `m` in the root filesystem when missing (an
/// archive from podman leaves its own mount points out of the root
/// filesystem's changes): a file for a file, else a directory. Nothing is
/// made through a symbolic link of the image.
fn make_mountpoint(rootfs: &Path, m: &ExternalMount) {
    let mut at = rootfs.to_path_buf();
    let parts: Vec<_> = Path::new(&m.destination)
        .components()
        .filter_map(|p| match p {
            std::path::Component::Normal(n) => Some(n.to_owned()),
            _ => None,
        })
        .collect();
    let Some((last, dirs)) = parts.split_last() else {
        return;
    };
    for d in dirs {
        at.push(d);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return,
            Err(_) => {
                if std::fs::create_dir(&at).is_err() {
                    return;
                }
            }
        }
    }
    at.push(last);
    if std::fs::symlink_metadata(&at).is_ok() {
        return;
    }
    if Path::new(&m.source).is_dir() {
        let _ = std::fs::create_dir(&at);
    } else {
        let _ = File::create(&at);
    }
}

/// The network namespace `spec` joins (netavark's, or a pod's).
fn joined_netns(spec: &Spec) -> Option<PathBuf> {
    crate::checkpoint_pod::joined(spec)
        .into_iter()
        .find_map(|(t, path)| (t == LinuxNamespaceType::Network).then_some(path))
}

/// Whether the container's network namespace is one the runtime made for
/// it alone (`--network none`): nothing but a loopback, nothing outside
/// can send it a packet. Networks and pods give a namespace by path.
fn has_private_netns(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none())
        })
}

fn external_netns_inode(spec: &Spec) -> Option<u64> {
    std::fs::metadata(joined_netns(spec)?)
        .ok()
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
}

/// What the monitor is told by [`RESTORE_MARKER`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RestoreMarker {
    pub tcp_established: bool,
    pub file_locks: bool,
    pub keep: bool,
    /// The addresses to ask the network for (the checkpointed ones).
    #[serde(default)]
    pub static_ips: Vec<std::net::IpAddr>,
    #[serde(default)]
    pub static_mac: Option<String>,
}

/// `restore`'s flags.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    pub keep: bool,
    pub tcp_established: bool,
    pub file_locks: bool,
    pub ignore_rootfs: bool,
    pub ignore_volumes: bool,
    pub ignore_static_ip: bool,
    pub ignore_static_mac: bool,
    /// `-n`: the new container's name (with `--import`).
    pub name: Option<String>,
    /// `-p`: replaces the archived port mappings.
    pub publish: Option<Vec<hoist_network::PortMapping>>,
    /// `--pod`: the pod an archived pod member is restored into.
    pub pod: Option<PodTarget>,
}

/// Restores checkpointed container `c` in place: a new monitor restores
/// its processes. Returns once they run.
pub fn restore(
    cs: &Containers,
    launcher: &crate::MonitorLauncher,
    c: &Container,
    opts: &RestoreOptions,
) -> Result<Timing> {
    if c.status().is_active() {
        return Err(ContainerError::StateImproper(format!(
            "{} is running: cannot restore",
            c.name()
        )));
    }
    let dir = checkpoint_dir(c);
    if !dir.join("inventory.img").is_file() {
        return Err(ContainerError::Invalid(format!(
            "container {} does not have a checkpoint: checkpoint it first (hoist container checkpoint {})",
            c.name(),
            c.name()
        )));
    }
    let (static_ips, static_mac) = checkpointed_addresses(c, opts);
    let marker = RestoreMarker {
        tcp_established: opts.tcp_established,
        file_locks: opts.file_locks,
        keep: opts.keep,
        static_ips,
        static_mac,
    };
    write_json(&c.dir.join(RESTORE_MARKER), &marker)?;
    cs.update_state(c.id(), |s| s.stopped_by_user = false)?;
    let started = Instant::now();
    let result = launcher.start_detached(cs, c.id());
    let runtime_us = started.elapsed().as_micros() as u64;
    let _ = std::fs::remove_file(c.dir.join(RESTORE_MARKER));
    let _ = std::fs::remove_file(c.dir.join(COPY_MARKER));
    result?;
    let criu = CriuStats::read(&c.dir.join(STATS_RESTORE)).unwrap_or_default();
    if !opts.keep {
        // The monitor removes the images once it runs the container.
        for name in [
            CONFIG_DUMP,
            SPEC_DUMP,
            NETWORK_STATUS,
            STATS_DUMP,
            STATS_RESTORE,
        ] {
            let _ = std::fs::remove_file(c.dir.join(name));
        }
    }
    Ok(Timing { runtime_us, criu })
}

/// `restore --import FILE`: a new container from podman's archive,
/// restored. The image must be in the store. Returns the new container's
/// id with the timing.
pub fn restore_import(
    engine: &hoist_engine::Engine,
    cs: &Containers,
    launcher: &crate::MonitorLauncher,
    file: &Path,
    opts: &RestoreOptions,
) -> Result<(String, Timing)> {
    let staging = tempfile::Builder::new()
        .prefix("import-")
        .tempdir_in(cs.root())
        .map_err(io_err("creating a directory in", cs.root()))?;
    // The memory pages of hoist's archives come last, and are written
    // while the container is made and CRIU starts.
    let pages = hoist_checkpoint::import_streaming(file, staging.path())?;
    let arch_ok = std::fs::read_dir(staging.path().join(CHECKPOINT_DIR))
        .map_err(io_err("reading", staging.path()))?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("core-"))
        .filter_map(|e| hoist_checkpoint::core_machine(&e.path()))
        .all(|m| m == hoist_checkpoint::host_machine());
    if !arch_ok {
        return Err(hoist_checkpoint::CheckpointError::BadArchive {
            path: file.to_path_buf(),
            reason: format!(
                "it was made on another architecture than this host's ({})",
                std::env::consts::ARCH
            ),
        }
        .into());
    }
    let config = read_config_dump(file, staging.path())?;
    let name = opts.name.clone().unwrap_or_else(|| config.name.clone());
    if let Some(id) = cs.id_of_name(&name) {
        return Err(ContainerError::NameInUse {
            name,
            id: crate::short_id(&id).to_string(),
        });
    }
    let mut options = config.options.clone();
    crate::checkpoint_pod::apply_pod_target(&mut options, opts.pod.as_ref())?;
    if let Some(ports) = &opts.publish {
        if options.networks.iter().any(|n| n.starts_with("container:")) {
            return Err(ContainerError::Invalid(
                "--publish cannot be used when restoring into a pod that shares its network: the pod publishes the ports".into(),
            ));
        }
        options.ports = ports.clone();
    }
    // podman keeps the container's ID, unless it is restored as a copy.
    let id = opts.name.is_none().then(|| config.id.clone());
    let created = crate::create_with_id(
        engine,
        cs,
        crate::CreateRequest {
            image: config.image.clone(),
            name: Some(name),
            options,
            ..crate::CreateRequest::default()
        },
        id,
    )?;
    let c = cs.load(&created.id)?;
    let restored = fill_from_archive(cs, &c, staging.path(), opts)
        .and_then(|()| restore(cs, launcher, &c, opts));
    // A restore that got through has all the pages; one that did not may
    // have failed for want of them, the better error.
    let restored = pages.finish().map_err(Into::into).and(restored);
    match restored {
        Ok(t) => Ok((created.id, t)),
        Err(e) => {
            // Bad input creates nothing.
            let _ = crate::lifecycle::remove(cs, &cs.load(&created.id)?, true);
            Err(e)
        }
    }
}

/// Where hoist keeps its own configuration in `config.dump`, beside
/// podman's fields (which checkpointctl and podman read).
const HOIST_CONFIG_KEY: &str = "hoistConfig";

/// The runtime as podman names it in `config.dump`, and as `podman
/// --runtime NAME` must name it to restore the archive: `runc` for
/// `/usr/bin/runc`; `hoist` for hoist's own.
fn runtime_name(runtime: Option<&Path>) -> String {
    runtime
        .map(|p| {
            p.file_name()
                .unwrap_or(p.as_os_str())
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| "hoist".to_string())
}

/// `config.dump`: podman's container configuration fields that describe
/// the container (as podman writes them), and hoist's whole record.
fn config_dump(c: &Container, spec: &Spec) -> serde_json::Value {
    let o = &c.config.options;
    serde_json::json!({
        "id": c.id(),
        "name": c.name(),
        "RawImageName": c.config.image,
        "rootfsImageID": c.config.image_id,
        "rootfsImageName": c.config.image,
        "createdTime": c.config.created,
        "checkpointedTime": Utc::now(),
        "runtime": runtime_name(o.runtime.as_deref()),
        "command": spec.process().as_ref().and_then(|p| p.args().clone()).unwrap_or_default(),
        "stopSignal": o.stop_signal.unwrap_or(libc::SIGTERM),
        "newPortMappings": o.ports,
        "logDriver": "k8s-file",
        HOIST_CONFIG_KEY: c.config,
    })
}

/// `spec.dump`: the runtime spec, marked as podman marks its own (the
/// engine annotation checkpointctl reads to know the archive's layout).
fn spec_dump(spec: &Spec) -> Spec {
    let mut spec = spec.clone();
    let mut notes = spec.annotations().clone().unwrap_or_default();
    notes
        .entry("io.container.manager".into())
        .or_insert_with(|| "libpod".into());
    spec.set_annotations(Some(notes));
    spec
}

/// The container configuration of an archive: hoist's own, or one made
/// from podman's fields and its spec (image, command, environment, working
/// directory).
fn read_config_dump(file: &Path, dir: &Path) -> Result<ContainerConfig> {
    let bad = |reason: String| -> ContainerError {
        hoist_checkpoint::CheckpointError::BadArchive {
            path: file.to_path_buf(),
            reason,
        }
        .into()
    };
    let path = dir.join(CONFIG_DUMP);
    let data = std::fs::read(&path).map_err(io_err("reading", &path))?;
    let mut doc: serde_json::Value =
        serde_json::from_slice(&data).map_err(|e| bad(format!("config.dump is not JSON: {e}")))?;
    if let Some(own) = doc.get_mut(HOIST_CONFIG_KEY) {
        return serde_json::from_value(own.take()).map_err(|e| bad(format!("config.dump: {e}")));
    }
    let text = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(id), Some(name), Some(image)) = (text("id"), text("name"), text("rootfsImageName"))
    else {
        return Err(bad(
            "config.dump has no id, name and rootfsImageName: not a container checkpoint".into(),
        ));
    };
    let spec_path = dir.join(SPEC_DUMP);
    let spec: Spec =
        serde_json::from_slice(&std::fs::read(&spec_path).map_err(io_err("reading", &spec_path))?)
            .map_err(|e| bad(format!("spec.dump: {e}")))?;
    let process = spec.process().clone().unwrap_or_default();
    let mut options = crate::CreateOptions {
        entrypoint: Some(Vec::new()),
        command: process.args().clone(),
        env: process.env().clone().unwrap_or_default(),
        workdir: Some(process.cwd().to_string_lossy().into_owned()).filter(|w| w != "/"),
        ..crate::CreateOptions::default()
    };
    if let Some(ports) = doc.get("newPortMappings").cloned() {
        options.ports = serde_json::from_value(ports).unwrap_or_default();
    }
    crate::checkpoint_pod::podman_pod_options(text("pod"), &spec, &mut options);
    Ok(ContainerConfig {
        id,
        name,
        image,
        image_id: text("rootfsImageID").unwrap_or_default(),
        image_digest: String::new(),
        layer_dirs: Vec::new(),
        lazy_layers: Vec::new(),
        created: Utc::now(),
        options,
    })
}

/// Moves the archive's CRIU images and dumps into the new container and
/// applies its root filesystem changes to the container's upper layer.
fn fill_from_archive(
    cs: &Containers,
    c: &Container,
    staging: &Path,
    opts: &RestoreOptions,
) -> Result<()> {
    let dir = checkpoint_dir(c);
    let _ = std::fs::remove_dir_all(&dir);
    let from = staging.join(CHECKPOINT_DIR);
    std::fs::rename(&from, &dir).map_err(io_err("moving", &from))?;
    for name in [SPEC_DUMP, NETWORK_STATUS, STATS_DUMP, CONFIG_DUMP, DEVSHM] {
        let _ = std::fs::rename(staging.join(name), c.dir.join(name));
    }
    if opts.name.is_some() {
        std::fs::write(c.dir.join(COPY_MARKER), b"")
            .map_err(io_err("writing", c.dir.join(COPY_MARKER)))?;
    }
    if !opts.ignore_volumes {
        import_volumes(cs, &staging.join(VOLUMES_DIR))?;
    }
    if !opts.ignore_rootfs {
        crate::checkpoint_rootfs::apply_diff(
            &c.dir.join("upper"),
            &staging.join(ROOTFS_DIFF),
            &staging.join(DELETED_FILES),
        )?;
    }
    Ok(())
}

/// The addresses the container had when checkpointed (`network.status`),
/// on its one network, unless `--ignore-static-ip`/`--ignore-static-mac`:
/// established TCP connections only survive on the same address.
fn checkpointed_addresses(
    c: &Container,
    opts: &RestoreOptions,
) -> (Vec<std::net::IpAddr>, Option<String>) {
    let status: Option<hoist_network::StatusBlock> = std::fs::read(c.dir.join(NETWORK_STATUS))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .flatten();
    // A copy under a new name (`-n`) is another container: new addresses.
    let copy = c.dir.join(COPY_MARKER).exists();
    let Some(status) = status.filter(|s| s.networks.len() == 1 && !copy) else {
        return (Vec::new(), None);
    };
    let Some((name, net)) = status.networks.iter().next() else {
        return (Vec::new(), None);
    };
    // Only addresses this host's network of that name can give (an
    // archive from elsewhere may come from another subnet).
    let subnets: Vec<hoist_network::IpNet> = c
        .dir
        .parent()
        .and_then(Path::parent)
        .and_then(|root| crate::netsetup::network_store(root).ok())
        .and_then(|store| store.get(name).ok())
        .map(|n| n.subnets.iter().map(|s| s.subnet).collect())
        .unwrap_or_default();
    let ips = if opts.ignore_static_ip {
        Vec::new()
    } else {
        status
            .addresses_on(name)
            .into_iter()
            .filter(|ip| subnets.iter().any(|s| s.contains(ip)))
            .collect()
    };
    let mac = net
        .interfaces
        .values()
        .next()
        .map(|i| i.mac_address.clone())
        .filter(|m| !m.is_empty() && !opts.ignore_static_mac);
    (ips, mac)
}

/// The monitor's side: the container's configuration for the network
/// setup of a restore (the checkpointed addresses), or `None`.
pub(crate) fn restore_network_config(c: &Container) -> Option<ContainerConfig> {
    let marker = pending_restore(c)?;
    let flags = &c.config.options.run_flags;
    if marker.static_ips.is_empty() && marker.static_mac.is_none() || !flags.static_ips.is_empty() {
        return None;
    }
    let mut config = c.config.clone();
    config.options.run_flags.static_ips = marker.static_ips;
    if config.options.run_flags.static_mac.is_none() {
        config.options.run_flags.static_mac = marker.static_mac;
    }
    Some(config)
}

/// The monitor's side: the network a checkpoint of established TCP
/// connections left set up, when this start restores that checkpoint.
pub(crate) fn kept_network(c: &Container) -> Option<crate::netsetup::NetSetup> {
    let s = &c.state;
    if !s.network_kept || pending_restore(c).is_none() || c.dir.join(COPY_MARKER).exists() {
        return None;
    }
    Some(crate::netsetup::NetSetup {
        netns: Some(s.netns.clone()?),
        request: s.network_request.clone(),
        status: s.network_status.clone(),
        host: false,
        joined: None,
    })
}

/// The monitor's side: whether this start is a restore.
pub(crate) fn pending_restore(c: &Container) -> Option<RestoreMarker> {
    let data = std::fs::read(c.dir.join(RESTORE_MARKER)).ok()?;
    serde_json::from_slice(&data).ok()
}

/// The monitor's side: restores the container's processes as its children
/// with `stdio` (stdin, stdout, stderr) in place of the dumped pipes, in
/// the mounted root filesystem and the network namespace `spec` joins.
/// Returns the init pid.
pub(crate) fn restore_in_monitor(
    c: &Container,
    spec: &Spec,
    marker: &RestoreMarker,
    stdio: [OwnedFd; 3],
) -> Result<i32> {
    let dir = checkpoint_dir(c);
    let dumped: Vec<String> = std::fs::read(dir.join(DESCRIPTORS))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default();
    let inherit = stdio
        .into_iter()
        .zip(dumped)
        .filter(|(_, key)| key.starts_with("pipe:"))
        .collect();
    let mut mounts: Vec<ExternalMount> = spec
        .mounts()
        .iter()
        .flatten()
        .filter(|m| is_bind(m))
        .filter_map(|m| {
            Some(ExternalMount {
                destination: m.destination().to_string_lossy().into_owned(),
                source: m.source().as_ref()?.to_string_lossy().into_owned(),
            })
        })
        .collect();
    // The spec CRIU's images were made with: its mounts are the ones the
    // images name.
    let dumped_spec: Spec = std::fs::read(c.dir.join(SPEC_DUMP))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_else(|| spec.clone());
    mounts.extend(foreign_binds(c, &dumped_spec, &mounts)?);
    for m in &mounts {
        make_mountpoint(&c.rootfs(), m);
    }
    // The runtime's own mounts (/proc, /dev, /sys...) on directories.
    for m in dumped_spec
        .mounts()
        .iter()
        .flatten()
        .filter(|m| !is_bind(m))
    {
        let dir = ExternalMount {
            destination: m.destination().to_string_lossy().into_owned(),
            source: "/".into(),
        };
        make_mountpoint(&c.rootfs(), &dir);
    }
    mounts.extend(cgroup_mounts(&dumped_spec, spec));
    let netns = match joined_netns(spec).as_deref() {
        Some(p) => Some(OwnedFd::from(
            File::open(p).map_err(io_err("opening the network namespace", p))?,
        )),
        None => None,
    };
    let shared_namespaces = crate::checkpoint_pod::shared_for_restore(&dumped_spec, spec)?;
    let request = RestoreRequest {
        images_dir: dir,
        root: c.rootfs(),
        tcp_established: marker.tcp_established,
        file_locks: marker.file_locks,
        tty: c.config.options.tty,
        external_mounts: mounts,
        netns,
        inherit,
        shared_namespaces,
    };
    // The tree starts in this container's cgroup, not in the one it was
    // dumped from (another container's, for a copy): CRIU forks it from
    // here, so this process is in that cgroup while CRIU runs. It goes
    // back whatever happened: a join that failed half-way may have moved
    // it into some of the controllers.
    let home = hoist_runtime::cgroups::Membership::of_self();
    let restored = hoist_runtime::cgroups::join(spec, c.id())
        .map_err(ContainerError::from)
        .and_then(|()| hoist_checkpoint::restore(request).map_err(ContainerError::from));
    home.rejoin()?;
    let pid = restored.inspect_err(|_| remove_cgroup_of(spec))?;
    hoist_runtime::cgroups::apply_limits(spec, c.id())?;
    let _ = std::fs::copy(
        checkpoint_dir(c).join(STATS_RESTORE),
        c.dir.join(STATS_RESTORE),
    );
    if !marker.keep {
        // Out of the way at once (a checkpoint may follow as soon as the
        // restore is reported); removed once it is (`discard_images`).
        let restored = c.dir.join(RESTORED_IMAGES);
        let _ = std::fs::remove_dir_all(&restored);
        if let Err(e) = std::fs::rename(checkpoint_dir(c), &restored) {
            // The processes run: the images merely stay.
            tracing::warn!(error = %e, "moving the restored images aside");
        }
    }
    // So that exec, kill and the clean-up find it as they find a started
    // container. An external runtime has no such record: exec then fails.
    if c.config.options.runtime.is_none() {
        crate::monitor::in_process_runtime(&c.dir).adopt(c.id(), &c.bundle(), spec, pid)?;
    }
    Ok(pid)
}

/// After a restore that failed: the container's cgroup goes, from every
/// hierarchy (CRIU makes it in the ones it dumped, name=systemd among
/// them, which no runtime delete looks at). Best effort: logged.
fn remove_cgroup_of(spec: &Spec) {
    let Some(path) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
    else {
        return;
    };
    if let Err(e) = hoist_runtime::cgroup_removal::remove(path) {
        tracing::warn!(error = %e, "removing the cgroup of a failed restore");
    }
}

/// The monitor's side, once the restored container runs and its start is
/// reported: the images go unless `--keep` asked for them. Removing
/// hundreds of MB of pages takes a while, and the container needs none of
/// it, so `restore` does not wait for it.
pub(crate) fn discard_images(c: &Container) {
    let _ = std::fs::remove_dir_all(c.dir.join(RESTORED_IMAGES));
}

/// Removes every CRIU image of the container (`rm`).
pub(crate) fn remove_images(c: &Container) {
    let _ = std::fs::remove_dir_all(checkpoint_dir(c));
    discard_images(c);
}

/// The external mounts for the cgroup v1 controller directories the
/// container saw (bound by the runtime at the destinations `dumped`
/// names): each now shows the container's own cgroup (`spec`'s), made
/// here so that CRIU finds it.
fn cgroup_mounts(dumped: &Spec, spec: &Spec) -> Vec<ExternalMount> {
    let now = cgroup_v1_mounts(spec);
    cgroup_v1_mounts(dumped)
        .into_iter()
        .map(|(destination, old)| {
            let source = now
                .iter()
                .find(|(d, _)| *d == destination)
                .map_or(old, |(_, s)| s.clone());
            let _ = std::fs::create_dir_all(&source);
            ExternalMount {
                destination,
                source,
            }
        })
        .collect()
}

/// The checkpoint fields of `inspect`'s `State`, as podman names them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectCheckpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpointed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_log: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_log: Option<String>,
    pub checkpointed: bool,
    pub restored: bool,
}

impl InspectCheckpoint {
    pub fn of(c: &Container) -> InspectCheckpoint {
        let s = &c.state;
        let dir = checkpoint_dir(c);
        let log = |name: &str| {
            let p = dir.join(name);
            p.exists().then(|| p.to_string_lossy().into_owned())
        };
        let fmt = |t: Option<chrono::DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        };
        let restored = s.restored_at.is_some() && c.status().is_active();
        InspectCheckpoint {
            checkpointed_at: fmt(s.checkpointed_at),
            restored_at: fmt(s.restored_at),
            checkpoint_log: log(hoist_checkpoint::DUMP_LOG),
            checkpoint_path: dir
                .join("inventory.img")
                .exists()
                .then(|| dir.to_string_lossy().into_owned()),
            restore_log: log(hoist_checkpoint::RESTORE_LOG),
            checkpointed: s.checkpointed_at.is_some()
                && !c.status().is_active()
                && s.restored_at.is_none_or(|r| Some(r) < s.checkpointed_at),
            restored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_dump_names_the_runtime_as_podman_does() {
        assert_eq!(runtime_name(Some(Path::new("/usr/bin/runc"))), "runc");
        assert_eq!(runtime_name(Some(Path::new("crun"))), "crun");
        assert_eq!(runtime_name(None), "hoist");
    }
}

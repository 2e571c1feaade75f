//! `container checkpoint` and `container restore` (podman 4.3's flags and
//! output): flags in, hoist-container's checkpoint use cases, names out.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use hoist_checkpoint::Compression;
use hoist_container::checkpoint::{CheckpointOptions, RestoreOptions, Timing};
use hoist_container::{Container, Containers, Status};

/// `container checkpoint`.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// Checkpoint every running container.
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Keep the container running after checkpointing it.
    #[arg(short = 'R', long)]
    pub leave_running: bool,
    /// Keep CRIU's image and log files after the step, not only on failure.
    #[arg(short, long)]
    pub keep: bool,
    /// Include open TCP connections (they resume after the restore).
    #[arg(long)]
    pub tcp_established: bool,
    /// Include the file locks the processes hold.
    #[arg(long)]
    pub file_locks: bool,
    /// Export the checkpoint image to a tar file for `restore --import`.
    #[arg(short, long)]
    pub export: Option<PathBuf>,
    /// Compression of the exported archive: none, gzip or zstd.
    #[arg(short, long, default_value = "zstd")]
    pub compress: String,
    /// Do not include the root filesystem's changes in the archive.
    #[arg(long)]
    pub ignore_rootfs: bool,
    /// Do not export the named volumes of the container.
    #[arg(long)]
    pub ignore_volumes: bool,
    /// Dump memory only, leaving the container running (needs soft-dirty tracking).
    #[arg(short = 'P', long)]
    pub pre_checkpoint: bool,
    /// Checkpoint using the pre-checkpoint images.
    #[arg(long)]
    pub with_previous: bool,
    /// Save the checkpoint as a local image (not supported yet).
    #[arg(long)]
    pub create_image: Option<String>,
    /// Print checkpoint statistics as JSON.
    #[arg(long)]
    pub print_stats: bool,
    pub containers: Vec<String>,
}

/// `container restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Restore every checkpointed container.
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Keep CRIU's image and log files after the step, not only on failure.
    #[arg(short, long)]
    pub keep: bool,
    /// Bring back the TCP connections the checkpoint holds.
    #[arg(long)]
    pub tcp_established: bool,
    /// Bring back the file locks the checkpoint holds.
    #[arg(long)]
    pub file_locks: bool,
    /// Restore from a checkpoint archive made by `checkpoint --export`.
    #[arg(short, long)]
    pub import: Option<PathBuf>,
    /// Restore from an archive made with --pre-checkpoint (not supported yet).
    #[arg(long)]
    pub import_previous: Option<PathBuf>,
    /// Name of the restored copy (with --import).
    #[arg(short, long)]
    pub name: Option<String>,
    /// Do not restore the root filesystem's changes from the archive.
    #[arg(long)]
    pub ignore_rootfs: bool,
    /// Do not restore the volumes from the archive.
    #[arg(long)]
    pub ignore_volumes: bool,
    /// Ignore the IP address the container had.
    #[arg(long)]
    pub ignore_static_ip: bool,
    /// Ignore the MAC address the container had.
    #[arg(long)]
    pub ignore_static_mac: bool,
    /// Publish these ports instead of the archived ones (with --import).
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Restore into this existing pod (with --import or a checkpoint image).
    #[arg(long)]
    pub pod: Option<String>,
    /// Print restore statistics as JSON.
    #[arg(long)]
    pub print_stats: bool,
    pub containers: Vec<String>,
}

fn open(root: &Path) -> Result<Containers> {
    super::container::open(root)
}

/// The containers named, or all/latest of those `keep` accepts.
fn select(
    cs: &Containers,
    names: &[String],
    all: bool,
    latest: bool,
    keep: impl Fn(&Container) -> bool,
) -> Result<Vec<(String, Container)>> {
    if (all || latest) && !names.is_empty() {
        anyhow::bail!("--all and --latest cannot be used together with container names");
    }
    if !all && !latest && names.is_empty() {
        anyhow::bail!("you must provide at least one name or id");
    }
    if names.is_empty() {
        let mut list: Vec<Container> = cs.list()?.into_iter().filter(|c| keep(c)).collect();
        if latest {
            list.sort_by_key(|c| c.config.created);
            list = list.pop().into_iter().collect();
        }
        return Ok(list.into_iter().map(|c| (c.id().to_string(), c)).collect());
    }
    names.iter().map(|n| Ok((n.clone(), cs.get(n)?))).collect()
}

fn print_stats(key: &str, total_us: u64, stats: &[(String, Timing)], runtime_key: &str) {
    let containers: Vec<serde_json::Value> = stats
        .iter()
        .map(|(id, t)| {
            serde_json::json!({
                "Id": id,
                runtime_key: t.runtime_us,
                "criu_statistics": t.criu,
            })
        })
        .collect();
    let doc = serde_json::json!({ key: total_us, "container_statistics": containers });
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("serializes")
    );
}

/// `hoist container checkpoint`.
pub fn checkpoint(root: &Path, a: CheckpointArgs) -> Result<i32> {
    let compression: Compression = a.compress.parse().map_err(anyhow::Error::msg)?;
    let cs = open(root)?;
    let list = select(&cs, &a.containers, a.all, a.latest, |c| {
        c.status() == Status::Running
    })?;
    if a.export.is_some() && list.len() != 1 {
        anyhow::bail!("--export can only be used with exactly one container");
    }
    if a.create_image.is_some() && list.len() != 1 {
        anyhow::bail!("--create-image can only be used with exactly one container");
    }
    let engine = match &a.create_image {
        Some(_) => Some(
            hoist_engine::Engine::open(root)
                .with_context(|| format!("opening the store at {}", root.display()))?,
        ),
        None => None,
    };
    let opts = CheckpointOptions {
        leave_running: a.leave_running,
        keep: a.keep,
        tcp_established: a.tcp_established,
        file_locks: a.file_locks,
        export: a.export.clone(),
        compression,
        ignore_rootfs: a.ignore_rootfs,
        ignore_volumes: a.ignore_volumes,
        pre_checkpoint: a.pre_checkpoint,
        with_previous: a.with_previous,
    };
    let started = Instant::now();
    let mut done = Vec::new();
    for (label, c) in &list {
        let t = hoist_container::checkpoint::checkpoint(&cs, c, &opts)
            .with_context(|| format!("checkpointing container {}", c.id()))?;
        if let (Some(image), Some(engine)) = (&a.create_image, &engine) {
            hoist_container::checkpoint_image::create_image(engine, &cs, c, &opts, image)
                .with_context(|| format!("making checkpoint image {image}"))?;
        }
        if !a.print_stats {
            println!("{label}");
        }
        done.push((c.id().to_string(), t));
    }
    if a.print_stats {
        let total = started.elapsed().as_micros() as u64;
        print_stats(
            "podman_checkpoint_duration",
            total,
            &done,
            "runtime_checkpoint_duration",
        );
    }
    Ok(0)
}

/// `hoist container restore`.
pub fn restore(root: &Path, a: RestoreArgs) -> Result<i32> {
    if a.import_previous.is_some() {
        anyhow::bail!("--import-previous is not supported by hoist yet");
    }
    let cs = open(root)?;
    let engine = hoist_engine::Engine::open(root)
        .with_context(|| format!("opening the store at {}", root.display()))?;
    // `restore IMAGE`: a name that is no container but a checkpoint image
    // restores that image's archive, as --import does.
    let mut images = Vec::new();
    let mut containers = Vec::new();
    for name in &a.containers {
        match checkpoint_image_archive(&cs, &engine, name)? {
            Some(archive) => images.push((name.clone(), archive)),
            None => containers.push(name.clone()),
        }
    }
    let from_archive = a.import.is_some() || !images.is_empty();
    if a.name.is_some() && !from_archive {
        anyhow::bail!("--name can only be used with --import or a checkpoint image");
    }
    if !a.publish.is_empty() && !from_archive {
        anyhow::bail!("--publish can only be used with --import or a checkpoint image");
    }
    if a.pod.is_some() && !from_archive {
        anyhow::bail!("--pod can only be used with --import or a checkpoint image");
    }
    let publish = if a.publish.is_empty() {
        None
    } else {
        Some(hoist_network::parse_port_specs(&a.publish)?)
    };
    let opts = RestoreOptions {
        keep: a.keep,
        tcp_established: a.tcp_established,
        file_locks: a.file_locks,
        ignore_rootfs: a.ignore_rootfs,
        ignore_volumes: a.ignore_volumes,
        ignore_static_ip: a.ignore_static_ip,
        ignore_static_mac: a.ignore_static_mac,
        name: a.name.clone(),
        publish,
        pod: None,
    };
    let launcher = super::container::launcher()?;
    let opts = match &a.pod {
        Some(query) => {
            let pods = hoist_pod::Pods::open(root)?;
            let target = hoist_pod::restore_target(&cs, &pods, query, &launcher)
                .with_context(|| format!("restoring into pod {query}"))?;
            RestoreOptions {
                pod: Some(target),
                ..opts
            }
        }
        None => opts,
    };
    let started = Instant::now();
    let mut done = Vec::new();
    for (image, archive) in &images {
        let (id, t) =
            hoist_container::checkpoint::restore_import(&engine, &cs, &launcher, archive, &opts)
                .with_context(|| format!("restoring checkpoint image {image}"))?;
        if !a.print_stats {
            println!("{id}");
        }
        done.push((id, t));
    }
    if let Some(file) = &a.import {
        if a.all || a.latest || !a.containers.is_empty() {
            anyhow::bail!("--import cannot be used with container names, --all or --latest");
        }
        let (id, t) =
            hoist_container::checkpoint::restore_import(&engine, &cs, &launcher, file, &opts)
                .with_context(|| format!("restoring from {}", file.display()))?;
        if !a.print_stats {
            println!("{id}");
        }
        done.push((id, t));
    } else if !containers.is_empty() || a.all || a.latest || images.is_empty() {
        let list = select(&cs, &containers, a.all, a.latest, |c| {
            hoist_container::checkpoint::InspectCheckpoint::of(c).checkpointed
        })?;
        for (label, c) in &list {
            // A pod member rejoins its pod's namespaces: the infra runs first.
            hoist_pod::prepare_start(&cs, c, &launcher)
                .with_context(|| format!("restoring container {}", c.id()))?;
            let t = hoist_container::checkpoint::restore(&cs, &launcher, c, &opts)
                .with_context(|| format!("restoring container {}", c.id()))?;
            if !a.print_stats {
                println!("{label}");
            }
            done.push((c.id().to_string(), t));
        }
    }
    if a.print_stats {
        let total = started.elapsed().as_micros() as u64;
        print_stats(
            "podman_restore_duration",
            total,
            &done,
            "runtime_restore_duration",
        );
    }
    Ok(0)
}

/// The archive of checkpoint image `name`, when `name` is one and no
/// container answers to it (a container wins, as in podman).
fn checkpoint_image_archive(
    cs: &hoist_container::Containers,
    engine: &hoist_engine::Engine,
    name: &str,
) -> Result<Option<std::path::PathBuf>> {
    if cs.get(name).is_ok() {
        return Ok(None);
    }
    Ok(hoist_container::checkpoint_image::archive_of_image(
        engine, name,
    )?)
}

/// `info`'s `host.criuVersion`: the CRIU that checkpoint/restore would
/// use, or why there is none.
pub fn add_criu_info(doc: &mut serde_json::Value) {
    let version = match hoist_checkpoint::criu_version() {
        Ok(v) => v,
        Err(e) => format!("unavailable: {e}"),
    };
    if let Some(host) = doc.get_mut("host").and_then(|h| h.as_object_mut()) {
        host.insert("criuVersion".into(), serde_json::Value::String(version));
    }
}

/// `hoist checkpoint ...`: forensics on archives.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum CheckpointCommand {
    /// Show what checkpoint archives hold: container, image, engine, sizes.
    Show(ShowArgs),
    /// Look into a checkpoint archive: its process tree, files, sockets, mounts.
    Inspect(InspectArgs),
    /// Analyze the memory of a checkpoint's processes: sizes, or search it.
    Memparse(MemparseArgs),
}

#[derive(Debug, Args)]
pub struct MemparseArgs {
    /// The process to analyze (as the container numbered it).
    #[arg(short, long)]
    pub pid: Option<u32>,
    /// Search its memory pages for this string.
    #[arg(short, long)]
    pub search: Option<String>,
    /// Print this many bytes around each match.
    #[arg(short, long, default_value_t = 0)]
    pub context: usize,
    pub archive: PathBuf,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Show the process tree (the default).
    #[arg(long)]
    pub ps_tree: bool,
    /// Each process's open files (not sockets), with its working and root
    /// directory.
    #[arg(long)]
    pub files: bool,
    /// Each process's sockets: TCP/UDP addresses and state, UNIX names.
    #[arg(long)]
    pub sockets: bool,
    /// The container's mounts.
    #[arg(long)]
    pub mounts: bool,
    /// Everything hoist can show.
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of a tree.
    #[arg(long)]
    pub format: Option<String>,
    pub archive: PathBuf,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub archives: Vec<PathBuf>,
}

pub fn dispatch(cmd: CheckpointCommand) -> Result<i32> {
    match cmd {
        CheckpointCommand::Show(a) => show(a),
        CheckpointCommand::Inspect(a) => inspect(a),
        CheckpointCommand::Memparse(a) => memparse(a),
    }
}

fn memparse(a: MemparseArgs) -> Result<i32> {
    let dir = tempfile::tempdir().context("making a temporary directory")?;
    hoist_checkpoint::import(&a.archive, dir.path())?;
    let images = dir.path().join(hoist_checkpoint::CHECKPOINT_DIR);
    let procs = hoist_checkpoint::process_tree(&images)?;
    if let Some(pid) = a.pid.filter(|pid| !procs.iter().any(|p| p.pid == *pid)) {
        anyhow::bail!("the checkpoint has no process {pid}");
    }
    if let Some(needle) = &a.search {
        let pid = a
            .pid
            .context("--search needs --pid: the process whose memory to search")?;
        if procs.iter().any(|p| p.pid == pid && p.zombie) {
            println!("Process {pid} was a zombie when checkpointed: it has no memory to search");
            return Ok(0);
        }
        let found = hoist_checkpoint::search_memory(&images, pid, needle.as_bytes(), a.context)?;
        if found.is_empty() {
            println!("No matches for {needle:?} in the memory of process {pid}");
        }
        for m in found {
            println!("{:016x}  {}", m.address, m.context.escape_debug());
        }
        return Ok(0);
    }
    let pids: Vec<u32> = match a.pid {
        Some(p) => vec![p],
        None => procs.iter().map(|p| p.pid).collect(),
    };
    println!("PID  PROCESS NAME  MEMORY SIZE");
    for (pid, bytes) in hoist_checkpoint::memory_sizes(&images, &pids)? {
        let comm = procs
            .iter()
            .find(|p| p.pid == pid)
            .map_or("", |p| p.comm.as_str());
        // A zombie (exited, not yet reaped) is in the tree without memory.
        let size = bytes.map_or_else(|| "none (zombie)".into(), hoist_checkpoint::human_bytes);
        println!("{pid}  {comm}  {size}");
    }
    Ok(0)
}

fn inspect(a: InspectArgs) -> Result<i32> {
    let dir = tempfile::tempdir().context("making a temporary directory")?;
    hoist_checkpoint::import(&a.archive, dir.path())?;
    let info = hoist_checkpoint::show(dir.path())?;
    let images = dir.path().join(hoist_checkpoint::CHECKPOINT_DIR);
    let procs = hoist_checkpoint::process_tree(&images)?;
    let (want_files, want_sockets, want_mounts) =
        (a.files || a.all, a.sockets || a.all, a.mounts || a.all);
    let files = if want_files || want_sockets {
        let pids: Vec<u32> = procs.iter().filter(|p| !p.zombie).map(|p| p.pid).collect();
        hoist_checkpoint::open_files(&images, &pids)?
    } else {
        Vec::new()
    };
    let only = |sockets: bool| -> Vec<hoist_checkpoint::ProcessFiles> {
        files
            .iter()
            .map(|p| hoist_checkpoint::ProcessFiles {
                pid: p.pid,
                files: p
                    .files
                    .iter()
                    .filter(|f| is_socket(&f.what) == sockets)
                    .cloned()
                    .collect(),
            })
            .collect()
    };
    let mounts = if want_mounts {
        hoist_checkpoint::mounts(dir.path())?
    } else {
        Vec::new()
    };
    match a.format.as_deref() {
        Some("json") => {
            let mut doc = serde_json::json!({ "container": info, "processTree": procs });
            if want_files {
                doc["files"] = serde_json::to_value(only(false))?;
            }
            if want_sockets {
                doc["sockets"] = serde_json::to_value(only(true))?;
            }
            if want_mounts {
                doc["mounts"] = serde_json::to_value(&mounts)?;
            }
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Some(other) => anyhow::bail!("unknown --format {other:?}: use json"),
        None => {
            println!("{}", info.container);
            println!("Image: {}", info.image);
            println!("ID: {}", info.id);
            println!("Runtime: {}", info.runtime);
            println!("Created: {}", info.created);
            println!("Engine: {}", info.engine);
            println!("Process tree:");
            print!("{}", hoist_checkpoint::render_tree(&procs));
            if want_files {
                println!("Open files:");
                print_files(&only(false));
            }
            if want_sockets {
                println!("Open sockets:");
                print_files(&only(true));
            }
            if want_mounts {
                println!("Mounts:");
                for m in &mounts {
                    println!("  {}  {}  {}", m.destination, m.kind, m.source);
                }
            }
        }
    }
    Ok(0)
}

fn is_socket(d: &hoist_checkpoint::Description) -> bool {
    matches!(
        d,
        hoist_checkpoint::Description::Inet { .. } | hoist_checkpoint::Description::Unix { .. }
    )
}

/// Each process's files, one line each: `[FD] what`.
fn print_files(procs: &[hoist_checkpoint::ProcessFiles]) {
    use hoist_checkpoint::Description;
    for p in procs {
        println!("  PID {}:", p.pid);
        for f in &p.files {
            let what = match &f.what {
                Description::Reg { path } => path.clone(),
                Description::Inet {
                    protocol,
                    state,
                    source,
                    destination,
                } => format!("{protocol} ({state}) {source} -> {destination}"),
                Description::Unix { kind, state, name } => format!("UNIX {kind} ({state}) {name}"),
                Description::Other { kind } => kind.clone(),
            };
            println!("    [{}] {what}", f.fd);
        }
    }
}

fn show(a: ShowArgs) -> Result<i32> {
    let json = match a.format.as_deref() {
        None => false,
        Some("json") => true,
        Some(other) => anyhow::bail!("unknown --format {other:?}: use json"),
    };
    let mut rows = Vec::new();
    for file in &a.archives {
        let dir = tempfile::tempdir().context("making a temporary directory")?;
        hoist_checkpoint::import(file, dir.path())?;
        rows.push(hoist_checkpoint::show(dir.path())?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    let size = hoist_checkpoint::human_bytes;
    let mut table = vec![[
        "CONTAINER",
        "IMAGE",
        "ID",
        "RUNTIME",
        "CREATED",
        "ENGINE",
        "CHKPT SIZE",
        "MEMORY PAGES SIZE",
        "ROOT FS DIFF SIZE",
    ]
    .map(String::from)];
    for r in rows {
        table.push([
            r.container,
            r.image,
            r.id,
            r.runtime,
            r.created,
            r.engine,
            size(r.checkpoint_size),
            size(r.memory_pages_size),
            r.rootfs_diff_size.map(size).unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|i| table.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
    Ok(0)
}

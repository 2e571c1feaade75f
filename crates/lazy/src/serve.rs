//! The process that serves a container's lazy layers.
//!
//! The container's monitor forks it before the container starts (the
//! monitor is single-threaded then, and must stay so: its runtime forks the
//! container). The server mounts one FUSE filesystem per lazy layer, says
//! "ready" on a pipe, then serves reads, prefetches the prioritized files and
//! fetches the rest in the background. It lives exactly as long as the
//! container: the monitor stops it when the container ends, and the kernel
//! kills it if the monitor dies (after which `hoist rm` detaches the dead
//! mounts with [`unmount_stale`]). If it dies first, every read of the
//! container's files fails: the monitor, its parent, watches it (a pidfd),
//! stops the container and records why ([`LazyServer::exit_reason`]).

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoist_registry::RegistryClient;
use hoist_store::Store;

use crate::cache::ChunkCache;
use crate::early::EarlyPrefetch;
use crate::error::{io_err, LazyError};
use crate::estargz::EstargzBlob;
use crate::fs::{AccessLog, FsOptions, LayerFs};
use crate::layer::LazyLayer;
use crate::remote::RegistrySource;
use crate::source::{FileSource, RangeSource};
use crate::spec::{LazyLayerSpec, Recording};

/// A running server; stop it with [`LazyServer::stop`].
#[derive(Debug)]
pub struct LazyServer {
    pid: rustix::process::Pid,
    /// Closing this tells the server to unmount and exit.
    control: Option<OwnedFd>,
    mountpoints: Vec<PathBuf>,
    /// The blob digests of the layers it serves, for messages.
    layers: Vec<String>,
    /// How it ended, once reaped.
    ended: Option<String>,
}

/// Where each lazy layer is mounted: `mount_root/<layer index>`.
pub fn mountpoint(mount_root: &Path, spec: &LazyLayerSpec) -> PathBuf {
    mount_root.join(spec.index.to_string())
}

impl LazyServer {
    /// Forks the server for `specs`, mounting each layer under `mount_root`,
    /// and waits until every mount is ready. The server's log lines go to
    /// `log`. Must be called while the process has a single thread.
    pub fn start(
        specs: &[LazyLayerSpec],
        mount_root: &Path,
        log: &Path,
    ) -> Result<LazyServer, LazyError> {
        let mountpoints: Vec<PathBuf> = specs.iter().map(|s| mountpoint(mount_root, s)).collect();
        for mp in &mountpoints {
            unmount_stale(mp);
            std::fs::create_dir_all(mp).map_err(io_err("creating", mp))?;
        }
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(io_err("opening", log))?;
        let (ready_r, ready_w) = pipe()?;
        let (control_r, control_w) = pipe()?;
        ensure_single_threaded()?;
        match fork()? {
            None => {
                drop(ready_r);
                drop(control_w);
                child(specs, &mountpoints, ready_w, control_r, log_file)
            }
            Some(pid) => {
                drop(ready_w);
                drop(control_r);
                let server = LazyServer {
                    pid,
                    control: Some(control_w),
                    mountpoints,
                    layers: specs.iter().map(|s| s.blob.to_string()).collect(),
                    ended: None,
                };
                let mut answer = String::new();
                let _ = std::fs::File::from(ready_r).read_to_string(&mut answer);
                if answer.trim() == "ready" {
                    Ok(server)
                } else {
                    server.stop();
                    let detail = answer
                        .trim()
                        .strip_prefix("error: ")
                        .unwrap_or(answer.trim());
                    Err(LazyError::Start(if detail.is_empty() {
                        format!("it exited early; see {}", log.display())
                    } else {
                        detail.to_string()
                    }))
                }
            }
        }
    }

    /// The FUSE mountpoints, in the order of the specs.
    pub fn mountpoints(&self) -> &[PathBuf] {
        &self.mountpoints
    }

    /// The server's process id (the caller's child: watch it with a pidfd).
    pub fn pid(&self) -> i32 {
        self.pid.as_raw_nonzero().get()
    }

    /// The blob digests of the layers it serves.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }

    /// If the server has ended, reaps it and says how it ended ("killed by
    /// signal 9", "exited with status 1"); `None` while it runs. A server
    /// the kernel is still tearing down counts as ended: this waits for it.
    /// Call it before reaping children wholesale: only the first wait sees it.
    pub fn exit_reason(&mut self) -> Option<String> {
        if self.ended.is_none() {
            // A container can die of its dead files (its FUSE connection
            // aborts when the server's descriptors close) before the server
            // has finished exiting and can be waited for.
            if is_exiting(self.pid) {
                wait_readable(self.pid, EXITING_GRACE);
            }
            let status =
                rustix::process::waitpid(Some(self.pid), rustix::process::WaitOptions::NOHANG);
            self.ended = match status {
                Ok(Some((_, st))) => Some(describe_exit(st)),
                Ok(None) => None,
                Err(e) => Some(format!("it could not be waited for ({e})")),
            };
        }
        self.ended.clone()
    }

    /// Unmounts every layer and ends the server (killing it if it does not
    /// end within a few seconds, e.g. stuck on the network).
    pub fn stop(mut self) {
        for mp in &self.mountpoints {
            unmount_stale(mp);
        }
        drop(self.control.take());
        if self.ended.is_some() {
            // Already reaped.
            for mp in &self.mountpoints {
                let _ = std::fs::remove_dir(mp);
            }
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match rustix::process::waitpid(Some(self.pid), rustix::process::WaitOptions::NOHANG) {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    let _ = rustix::process::kill_process(self.pid, rustix::process::Signal::KILL);
                    let _ = rustix::process::waitpid(
                        Some(self.pid),
                        rustix::process::WaitOptions::empty(),
                    );
                    break;
                }
            }
        }
        for mp in &self.mountpoints {
            let _ = std::fs::remove_dir(mp);
        }
    }
}

/// How long a process already exiting may take to become waitable: it only
/// runs the kernel's teardown, so this bound matters only if that hangs.
const EXITING_GRACE: Duration = Duration::from_secs(10);

/// Whether the kernel is tearing `pid` down: killed or exited, but not yet
/// waitable. `PF_EXITING` (0x4) is set in the flags field of
/// /proc/PID/stat (proc(5)) from the start of the exit, before the process
/// closes its descriptors; a zombie keeps it.
fn is_exiting(pid: rustix::process::Pid) -> bool {
    const PF_EXITING: u64 = 0x4;
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw_nonzero()));
    // The fields after the command name (which may hold spaces and
    // parentheses) are: state, ppid, pgrp, session, tty_nr, tpgid, flags.
    let flags = stat.ok().and_then(|stat| {
        let (_, rest) = stat.rsplit_once(')')?;
        rest.split_whitespace().nth(6)?.parse::<u64>().ok()
    });
    flags.is_some_and(|f| f & PF_EXITING != 0)
}

/// Waits, at most `limit`, until `pid` (a child) can be waited for: its
/// pidfd becomes readable then.
fn wait_readable(pid: rustix::process::Pid, limit: Duration) {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let Ok(pidfd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        return;
    };
    let timeout = Timespec::try_from(limit).ok();
    let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
    while let Err(rustix::io::Errno::INTR) = poll(&mut fds, timeout.as_ref()) {}
}

fn describe_exit(st: rustix::process::WaitStatus) -> String {
    if let Some(sig) = st.terminating_signal() {
        // Debug prints `Signal::KILL`; people know it as SIGKILL.
        let name = rustix::process::Signal::from_named_raw(sig)
            .map(|s| {
                format!(
                    " (SIG{})",
                    format!("{s:?}")
                        .trim_matches('"')
                        .trim_start_matches("Signal::")
                )
            })
            .unwrap_or_default();
        format!("killed by signal {sig}{name}")
    } else if let Some(code) = st.exit_status() {
        format!("exited with status {code}")
    } else {
        format!("ended ({st:?})")
    }
}

/// Detaches whatever is mounted on `path` (a FUSE mount whose server died
/// answers ENOTCONN to everything until then). Missing paths are fine.
pub fn unmount_stale(path: &Path) {
    use rustix::mount::{unmount, UnmountFlags};
    while unmount(path, UnmountFlags::DETACH).is_ok() {}
}

fn pipe() -> Result<(OwnedFd, OwnedFd), LazyError> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| LazyError::Start(format!("creating a pipe: {e}")))
}

/// Forking a process with other threads would copy their locks but not the
/// threads; the monitor has none, and this makes sure of it.
fn ensure_single_threaded() -> Result<(), LazyError> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse::<u32>().ok());
    match threads {
        Some(1) | None => Ok(()),
        Some(n) => Err(LazyError::Start(format!(
            "the monitor has {n} threads and cannot fork the server safely"
        ))),
    }
}

/// `None` in the child, the child's pid in the parent.
#[allow(unsafe_code)]
fn fork() -> Result<Option<rustix::process::Pid>, LazyError> {
    // SAFETY: the process is single-threaded (checked just before), so the
    // child gets consistent copies of every lock and allocator state.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(LazyError::Start(format!(
            "fork: {}",
            std::io::Error::last_os_error()
        ))),
        0 => Ok(None),
        p => Ok(rustix::process::Pid::from_raw(p)),
    }
}

/// The server's whole life; never returns.
fn child(
    specs: &[LazyLayerSpec],
    mountpoints: &[PathBuf],
    ready: OwnedFd,
    control: OwnedFd,
    log: std::fs::File,
) -> ! {
    detach_from_monitor(&log);
    let mut ready = std::fs::File::from(ready);
    let code = match Served::mount(specs, mountpoints) {
        Ok(served) => {
            let _ = writeln!(ready, "ready");
            drop(ready);
            served.run_until_closed(control);
            0
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot serve lazy layers");
            let _ = writeln!(ready, "error: {e}");
            1
        }
    };
    std::process::exit(code)
}

/// Dies with the monitor, leaves its process group (a ^C at the terminal
/// must not take the filesystem away from the container first), and logs
/// to the container's lazy log.
fn detach_from_monitor(log: &std::fs::File) {
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let _ = rustix::process::setsid();
    if let Ok(null) = std::fs::File::open("/dev/null") {
        let _ = rustix::stdio::dup2_stdin(&null);
    }
    let _ = rustix::stdio::dup2_stdout(log);
    let _ = rustix::stdio::dup2_stderr(log);
    let _ = log.as_raw_fd();
}

/// Threads per layer fetching ahead (directories of files read from the
/// network, libraries of programs read from it): two fetches can run at
/// once while reads go on.
const AHEAD_WORKERS: usize = 2;

/// The mounted layers of one server.
struct Served {
    _runtime: tokio::runtime::Runtime,
    layers: Vec<(LazyLayerSpec, Arc<LazyLayer>, Option<Arc<AccessLog>>)>,
    /// Per layer, its prefetch if the request went out before it was open.
    early: Vec<Option<EarlyPrefetch>>,
    mounts: Vec<crate::fs::MountedLayer>,
    store: Store,
}

/// A registry layer's cache and source, and its prefetch if started.
struct Reached {
    cache: ChunkCache,
    source: Arc<dyn RangeSource>,
    early: Option<EarlyPrefetch>,
}

impl Served {
    fn mount(specs: &[LazyLayerSpec], mountpoints: &[PathBuf]) -> Result<Served, LazyError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| LazyError::Start(format!("starting the I/O runtime: {e}")))?;
        let store_root = &specs
            .first()
            .map(|s| s.store_root.clone())
            .unwrap_or_default();
        let store = Store::open(store_root)?;
        let mut clients: HashMap<String, RegistryClient> = HashMap::new();
        // Every prefetch request goes out before any TOC is read: reading
        // and indexing a large TOC takes longer than a round trip.
        let reached = specs
            .iter()
            .map(|spec| match spec.recording {
                Some(_) => Ok(None),
                None => {
                    let client = clients
                        .entry(spec.registry.clone())
                        .or_insert_with(|| spec.remote.client(&spec.registry))
                        .clone();
                    reach_layer(&store, spec, client, runtime.handle().clone()).map(Some)
                }
            })
            .collect::<Result<Vec<_>, LazyError>>()?;
        let mut layers = Vec::new();
        let mut early = Vec::new();
        let mut mounts = Vec::new();
        for ((spec, mp), reached) in specs.iter().zip(mountpoints).zip(reached) {
            let (layer, started) = match (&spec.recording, reached) {
                (Some(r), _) => (open_recorded_layer(spec, r)?, None),
                (None, Some(reached)) => (
                    open_layer(&store, spec, reached.cache, reached.source)?,
                    reached.early,
                ),
                (None, None) => unreachable!("every registry layer was reached"),
            };
            let layer = Arc::new(layer);
            early.push(started);
            if spec.recording.is_none() {
                layer
                    .fetch_ahead_in_background(AHEAD_WORKERS)
                    .map_err(|e| {
                        LazyError::Start(format!("starting the fetch-ahead threads: {e}"))
                    })?;
            }
            let access_log = spec.recording.as_ref().map(|_| Arc::new(AccessLog::new()));
            let opts = FsOptions {
                access_log: access_log.clone(),
            };
            let fs = LayerFs::new(
                layer.blob().toc(),
                layer.blob().chunks().clone(),
                layer.clone(),
                opts,
            )
            .map_err(|e| LazyError::Layer {
                blob: spec.blob.to_string(),
                detail: e.to_string(),
            })?;
            mounts.push(crate::fs::mount(fs, mp).map_err(io_err("mounting lazy layer on", mp))?);
            layers.push((spec.clone(), layer, access_log));
        }
        Ok(Served {
            _runtime: runtime,
            layers,
            early,
            mounts,
            store,
        })
    }

    /// Prefetches and completes the layers in the background until the
    /// monitor closes the control pipe, then unmounts.
    fn run_until_closed(mut self, control: OwnedFd) {
        let stop = Arc::new(AtomicBool::new(false));
        let early = std::mem::take(&mut self.early);
        let workers: Vec<_> = self
            .layers
            .iter()
            .zip(early)
            .filter(|((spec, _, _), _)| spec.recording.is_none())
            .map(|((spec, layer, _), early)| {
                let (spec, layer, stop, store) = (
                    spec.clone(),
                    layer.clone(),
                    stop.clone(),
                    self.store.clone(),
                );
                std::thread::spawn(move || fill_in(&store, &spec, &layer, early, &stop))
            })
            .collect();
        // EOF (or an error) once the monitor closed its end or died.
        let mut buf = [0u8; 64];
        let mut control = std::fs::File::from(control);
        while matches!(control.read(&mut buf), Ok(n) if n > 0) {}
        stop.store(true, Ordering::Relaxed);
        for (spec, _, log) in &self.layers {
            if let (Some(r), Some(log)) = (&spec.recording, log) {
                let mut text = log.paths().join("\n");
                text.push('\n');
                if let Err(e) = std::fs::write(&r.access_log, text) {
                    tracing::error!(path = %r.access_log.display(), error = %e, "writing the access log");
                }
            }
        }
        for m in self.mounts {
            if let Err(e) = m.unmount() {
                tracing::warn!(error = %e, "unmounting a lazy layer");
            }
        }
        drop(workers); // detached: a fetch in flight ends with the process
    }
}

/// Opens a registry layer's chunk cache and source, and sends the request
/// for its prioritized files if the spec says where they are and the cache
/// lacks some of them.
fn reach_layer(
    store: &Store,
    spec: &LazyLayerSpec,
    client: RegistryClient,
    runtime: tokio::runtime::Handle,
) -> Result<Reached, LazyError> {
    let dir = store.lazy_dir(&spec.blob);
    let cache = ChunkCache::open(&dir, spec.blob_size)
        .map_err(io_err("opening the chunk cache in", &dir))?;
    let source: Arc<dyn RangeSource> = Arc::new(RegistrySource::new(
        client,
        &spec.registry,
        &spec.repository,
        spec.blob.clone(),
        spec.blob_size,
        runtime,
    ));
    let early = spec
        .prefetch
        .clone()
        .filter(|r| !r.is_empty() && r.end <= spec.blob_size && !cache.contains(r))
        .and_then(|r| match EarlyPrefetch::start(source.clone(), r) {
            Ok(early) => Some(early),
            Err(e) => {
                tracing::warn!(blob = %spec.blob, error = %e, "cannot start the prefetch early");
                None
            }
        });
    Ok(Reached {
        cache,
        source,
        early,
    })
}

fn open_layer(
    store: &Store,
    spec: &LazyLayerSpec,
    cache: ChunkCache,
    source: Arc<dyn RangeSource>,
) -> Result<LazyLayer, LazyError> {
    let toc = store.read_lazy_toc(&spec.blob, &spec.toc_digest)?;
    let blob = EstargzBlob::from_parts(&toc, spec.toc_offset, spec.blob_size).map_err(|e| {
        LazyError::Layer {
            blob: spec.blob.to_string(),
            detail: e.to_string(),
        }
    })?;
    Ok(LazyLayer::new(spec.blob.to_string(), blob, cache, source))
}

/// A layer served from a local blob for a recording run.
fn open_recorded_layer(spec: &LazyLayerSpec, r: &Recording) -> Result<LazyLayer, LazyError> {
    let source = FileSource::open(&r.blob_file).map_err(io_err("opening", &r.blob_file))?;
    let blob =
        EstargzBlob::open(&source, Some(&spec.toc_digest)).map_err(|e| LazyError::Layer {
            blob: spec.blob.to_string(),
            detail: e.to_string(),
        })?;
    let cache = ChunkCache::open(&r.cache_dir, source.size())
        .map_err(io_err("opening the chunk cache in", &r.cache_dir))?;
    Ok(LazyLayer::new(
        spec.blob.to_string(),
        blob,
        cache,
        Arc::new(source),
    ))
}

/// Prefetch (taking over `early` if it was started), then the rest; a
/// complete layer goes into the store.
fn fill_in(
    store: &Store,
    spec: &LazyLayerSpec,
    layer: &LazyLayer,
    early: Option<EarlyPrefetch>,
    stop: &AtomicBool,
) {
    // Without prioritized files, the first reads are the program's and
    // its libraries': fetch those now, while the container is set up.
    let prioritized = layer.blob().prefetch_range().is_some_and(|r| !r.is_empty());
    if let (false, Some(program)) = (prioritized, &spec.first_program) {
        if let Some(file) = layer.fetch_program(program) {
            tracing::info!(blob = %spec.blob, file, "fetched the container's program and its libraries");
        }
    }
    let started_early = early.is_some();
    let prefetched = match early {
        Some(early) => layer.prefetch_from(early),
        None => layer.prefetch(),
    };
    match prefetched {
        Ok(0) => {}
        Ok(n) => tracing::info!(blob = %spec.blob, bytes = n, started_early,
            "prefetched the prioritized files"),
        Err(e) => {
            tracing::warn!(blob = %spec.blob, error = %e, "prefetch failed; files are fetched when read")
        }
    }
    match layer.fetch_rest(stop) {
        Ok(true) => {
            if let Err(e) = crate::complete::import_complete(store, spec, layer.cache()) {
                tracing::warn!(blob = %spec.blob, error = %e, "storing the completed layer");
            }
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(blob = %spec.blob, error = %e, "background fetch stopped; reads still fetch on demand")
        }
    }
}

/// Reads a server's log lines (used by tests and `hoist` to show why a
/// lazy read failed).
pub fn read_log(log: &Path) -> Vec<String> {
    std::fs::File::open(log)
        .map(|f| {
            std::io::BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .collect()
        })
        .unwrap_or_default()
}

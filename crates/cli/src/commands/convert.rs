//! `image convert --estargz`, with `--optimize` (one recording run of the
//! workload decides which files come first) and `--prioritized-files`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use hoist_engine::progress::Progress;
use hoist_engine::{Engine, EstargzOptions};

use crate::progress::Display;

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Write every layer as eStargz (a seekable tar.gz that can be pulled lazily).
    #[arg(long, required = true)]
    pub estargz: bool,
    /// Run the image once with this command line and put the files it reads
    /// first, where they are prefetched.
    #[arg(long, value_name = "CMD")]
    pub optimize: Option<String>,
    /// Stop the --optimize run after this many seconds (servers never exit).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub optimize_timeout: u64,
    /// A file naming the files to put first, one path per line (before
    /// those --optimize finds).
    #[arg(long, value_name = "FILE")]
    pub prioritized_files: Option<PathBuf>,
    /// Split files larger than this into chunks of this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub chunk_size: Option<u64>,
    /// Print only the new image's ID.
    #[arg(short, long)]
    pub quiet: bool,
    /// The image to convert.
    pub source: String,
    /// The name of the converted image.
    pub destination: String,
}

pub fn convert(engine: &Engine, root: &Path, a: ConvertArgs) -> Result<i32> {
    debug_assert!(a.estargz);
    let progress: Arc<dyn Progress> = Arc::new(Display::new(a.quiet));
    let mut prioritized = match &a.prioritized_files {
        Some(file) => read_path_list(file)?,
        None => Vec::new(),
    };
    let chunk_size = a.chunk_size.unwrap_or(0);
    if let Some(cmd) = &a.optimize {
        let recorded = record_workload(
            engine,
            root,
            &a.source,
            cmd,
            a.optimize_timeout,
            chunk_size,
            &progress,
        )?;
        progress.message(&format!("The workload read {} files", recorded.len()));
        for p in recorded {
            if !prioritized.contains(&p) {
                prioritized.push(p);
            }
        }
    }
    let opts = EstargzOptions {
        prioritized,
        chunk_size,
    };
    let record = engine.convert_estargz(&a.source, &a.destination, &opts, &progress)?;
    println!("{}", record.id.hex());
    Ok(0)
}

/// Paths, one per line; blank lines and `#` comments skipped.
fn read_path_list(file: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the prioritized files from {}", file.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_start_matches('/').to_string())
        .collect())
}

/// Converts without priorities into a scratch image, runs `cmd` in it with
/// every layer served through FUSE, and returns the files it read, first
/// read first.
fn record_workload(
    engine: &Engine,
    root: &Path,
    source: &str,
    cmd: &str,
    timeout: u64,
    chunk_size: u64,
    progress: &Arc<dyn Progress>,
) -> Result<Vec<String>> {
    let argv = shlex::split(cmd)
        .filter(|v| !v.is_empty())
        .with_context(|| format!("--optimize {cmd:?}: not a command line (check its quotes)"))?;
    let scratch = format!("localhost/hoist-optimize-{}:scratch", std::process::id());
    let opts = EstargzOptions {
        prioritized: Vec::new(),
        chunk_size,
    };
    engine.convert_estargz(source, &scratch, &opts, progress)?;
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    progress.message(&format!("Recording the files `{cmd}` reads"));
    let result = run_recording(
        root,
        &scratch,
        dir.path(),
        &argv,
        Duration::from_secs(timeout),
    );
    // Only the scratch name goes: the scratch conversion can be byte for
    // byte an image the store already has (an earlier conversion of the same
    // source), which then merely gained this name. Removing by name without
    // force untags when other names remain and deletes the image only when
    // the scratch name was its last one.
    let containers = super::container::open(engine.root())?;
    if let Err(e) = engine.remove_image(&scratch, false, &containers) {
        tracing::warn!(error = %e, "removing the scratch image {scratch}");
    }
    result?;
    let mut paths = Vec::new();
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "paths"))
        .collect();
    logs.sort();
    if logs.is_empty() {
        bail!("the --optimize run recorded nothing; see the errors above");
    }
    for log in logs {
        for p in read_path_list(&log)? {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
    }
    Ok(paths)
}

/// `hoist run --rm --network none --record-access DIR IMAGE ARGV...`,
/// stopped with `hoist stop` once `timeout` has passed.
fn run_recording(
    root: &Path,
    image: &str,
    dir: &Path,
    argv: &[String],
    timeout: Duration,
) -> Result<()> {
    let exe = std::env::current_exe().context("finding the hoist executable")?;
    let name = format!("hoist-optimize-{}", std::process::id());
    let mut child = Command::new(&exe)
        .arg("--root")
        .arg(root)
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--pull",
            "never",
            "--name",
            &name,
        ])
        .arg("--record-access")
        .arg(dir)
        .arg(image)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("starting the --optimize run")?;
    let started = Instant::now();
    let mut signalled = None;
    loop {
        if let Some(status) = child.try_wait()? {
            // The workload's own exit code does not matter: what it read does.
            if status.code() == Some(125) {
                bail!("the --optimize run could not start the container (see above)");
            }
            return Ok(());
        }
        match signalled {
            None if started.elapsed() >= timeout => {
                // `stop`, not a signal to the monitor: a workload running as
                // the container's PID 1 ignores SIGTERM without a handler,
                // and stop follows up with SIGKILL; the monitor then tears
                // the container down and the access logs get written.
                let _ = Command::new(&exe)
                    .arg("--root")
                    .arg(root)
                    .args(["stop", "-t", "2", &name])
                    .stdout(Stdio::null())
                    .status();
                signalled = Some(Instant::now());
            }
            Some(at) if at.elapsed() >= Duration::from_secs(20) => {
                send(child.id(), rustix::process::Signal::KILL);
                let _ = child.wait();
                bail!("the --optimize run did not stop within 20 s of `hoist stop`");
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn send(pid: u32, sig: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

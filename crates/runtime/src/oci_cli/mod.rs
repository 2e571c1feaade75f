//! runc-compatible command semantics over the in-process runtime, so hoist
//! can serve as an OCI runtime (`hoist oci create|start|state|kill|delete|run`)
//! for other engines and the OCI conformance suites. The command-line crate
//! adds the argument parsing; these functions do the work and return what
//! runc would print or exit with.
//!
//! As with runc, the container's stdio is the calling process's own. These
//! functions fork (see [`crate::executor::InProcessRuntime`]): call them from
//! the main thread of a single-threaded process.

mod signal;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::executor::{
    read_bundle_config, wait_exit, InProcessRuntime, Runtime, RuntimeError, Status, Stdio,
};

pub use signal::parse_signal;

/// State root when none is given (runc's is /run/runc).
pub const DEFAULT_ROOT: &str = "/run/hoist/oci";

#[derive(Debug, thiserror::Error)]
pub enum OciCliError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),

    #[error("unknown signal {0:?}; use a name like TERM or SIGKILL, or a number")]
    BadSignal(String),

    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What `state` prints, field for field as runc does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    pub oci_version: String,
    pub id: String,
    /// 0 when the container is stopped.
    pub pid: i32,
    pub status: Status,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: Option<DateTime<Utc>>,
    pub owner: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
}

impl OciState {
    /// The JSON text runc prints (pretty, two-space indent).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("state always serializes")
    }
}

impl From<hoist_fsutil::Error> for OciCliError {
    fn from(e: hoist_fsutil::Error) -> OciCliError {
        OciCliError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

fn absolute(p: &Path) -> Result<PathBuf, OciCliError> {
    std::path::absolute(p).map_err(|source| OciCliError::Io {
        op: "resolving",
        path: p.to_path_buf(),
        source,
    })
}

fn write_pid_file(path: &Path, pid: i32) -> Result<(), OciCliError> {
    let path = absolute(path)?;
    // The caller may poll for the file: it must appear whole.
    Ok(hoist_fsutil::write_file(
        &path,
        pid.to_string().as_bytes(),
        0o644,
    )?)
}

/// `create --bundle B [--pid-file F] [--console-socket S] ID`: creates the
/// container with this process's stdio and returns the init pid.
pub fn create(
    root: &Path,
    id: &str,
    bundle: &Path,
    pid_file: Option<&Path>,
    console_socket: Option<&Path>,
) -> Result<i32, OciCliError> {
    let bundle = absolute(bundle)?;
    let rt = InProcessRuntime::new(root);
    let pid = rt.create(id, &bundle, Stdio::inherit()?, console_socket)?;
    if let Some(f) = pid_file {
        write_pid_file(f, pid)?;
    }
    Ok(pid)
}

/// `start ID`.
pub fn start(root: &Path, id: &str) -> Result<(), OciCliError> {
    Ok(InProcessRuntime::new(root).start(id)?)
}

/// `state ID`.
pub fn state(root: &Path, id: &str) -> Result<OciState, OciCliError> {
    let st = InProcessRuntime::new(root).state(id)?;
    let rootfs = read_bundle_config(&st.bundle)
        .ok()
        .and_then(|spec| spec.root().as_ref().map(|r| r.path().clone()))
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                st.bundle.join(p)
            }
        })
        .unwrap_or_else(|| st.bundle.join("rootfs"));
    Ok(OciState {
        oci_version: st.oci_version,
        id: st.id,
        pid: st.pid.unwrap_or(0),
        status: st.status,
        bundle: st.bundle,
        rootfs,
        created: st.created,
        owner: String::new(),
        annotations: st.annotations,
    })
}

/// `kill ID [SIGNAL]` (default SIGTERM, as runc).
pub fn kill(root: &Path, id: &str, signal: Option<&str>) -> Result<(), OciCliError> {
    let sig = parse_signal(signal.unwrap_or("TERM"))?;
    Ok(InProcessRuntime::new(root).kill(id, sig)?)
}

/// `delete [--force] ID`. With `--force` a container that does not exist is
/// not an error, as with runc.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), OciCliError> {
    match InProcessRuntime::new(root).delete(id, force) {
        Err(RuntimeError::NotFound { .. }) if force => Ok(()),
        r => Ok(r?),
    }
}

/// `run --bundle B [--pid-file F] [--console-socket S] ID`: create, start,
/// wait for the init process, delete; returns its exit code (128 + signal
/// for a killed one), which runc exits with.
pub fn run(
    root: &Path,
    id: &str,
    bundle: &Path,
    pid_file: Option<&Path>,
    console_socket: Option<&Path>,
) -> Result<i32, OciCliError> {
    let pid = create(root, id, bundle, pid_file, console_socket)?;
    let rt = InProcessRuntime::new(root);
    if let Err(e) = rt.start(id) {
        let _ = rt.delete(id, true);
        let _ = wait_exit(pid);
        return Err(e.into());
    }
    let status = wait_exit(pid)?;
    rt.delete(id, true)?;
    Ok(status.code())
}

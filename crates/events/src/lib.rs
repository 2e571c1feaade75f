//! podman's event log for hoist.
//!
//! The library crates record what they do with [`emit`] (a container
//! created, an image tagged...), the way they log with `tracing`: the
//! binary decides once, with [`install`], where events go (the backend
//! chosen by `--events-backend` or containers.conf's `events_logger`).
//! Until then, and in library tests, [`emit`] records nothing.
//!
//! Backends:
//! - [`FileLog`]: podman's JSON lines file, rotated at a size limit;
//! - journald: the native journal protocol, with podman's fields (read
//!   back through `journalctl`);
//! - none: nothing is recorded, and reading is an error (podman's).

mod event;
mod file;
mod filter;
pub mod journald;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset};

pub use event::{go_rfc3339_nano, go_string, Event, EventType, Status};
pub use file::FileLog;
pub use filter::Filters;

/// Failures of writing or reading events.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("{0} is an invalid filter")]
    InvalidFilter(String),
    #[error("cannot read events with the \"none\" backend")]
    NoneBackend,
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("locking {0}: {1}")]
    Lock(PathBuf, String),
    #[error("journald: {0}")]
    Journald(String),
}

pub type Result<T, E = EventsError> = std::result::Result<T, E>;

pub(crate) fn io_err(
    op: &'static str,
    path: impl AsRef<Path>,
) -> impl FnOnce(std::io::Error) -> EventsError {
    let path = path.as_ref().to_path_buf();
    move |source| EventsError::Io { op, path, source }
}

/// Where events go and come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    File(FileLog),
    Journald,
    None,
}

/// What selects a backend, as podman's settings do.
#[derive(Debug, Clone, Default)]
pub struct BackendChoice {
    /// `--events-backend`, else containers.conf's `events_logger`; `None`:
    /// podman's default, journald where the machine keeps a systemd
    /// journal, else file.
    pub name: Option<String>,
    /// containers.conf's `events_logfile_path`; `None`:
    /// `events/events.log` under `tmp_dir`.
    pub logfile_path: Option<PathBuf>,
    /// The engine's directory for state that does not outlive a reboot.
    pub tmp_dir: PathBuf,
    /// containers.conf's `events_logfile_max_size` in bytes (0: no limit).
    pub max_size: u64,
}

/// Whether this machine logs to a systemd journal, decided as podman
/// decides its default events logger: systemd is process 1 and a journal
/// (`system.journal` under a machine directory of /run/log/journal or
/// /var/log/journal) exists. A machine with systemd's directories but no
/// journal gets the file backend, not an error on every event.
fn journal_in_use() -> bool {
    let pid1 = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
    pid1.trim() == "systemd"
        && ["/run/log/journal", "/var/log/journal"].iter().any(|root| {
            std::fs::read_dir(root).is_ok_and(|dirs| {
                dirs.flatten()
                    .any(|d| d.path().join("system.journal").is_file())
            })
        })
}

impl Backend {
    /// The backend `c` selects; an unknown name means the file backend.
    pub fn choose(c: BackendChoice) -> Backend {
        let name = c
            .name
            .unwrap_or_else(|| if journal_in_use() { "journald" } else { "file" }.to_string());
        match name.as_str() {
            "none" => Backend::None,
            "journald" => Backend::Journald,
            _ => Backend::File(FileLog {
                path: c
                    .logfile_path
                    .unwrap_or_else(|| c.tmp_dir.join("events").join("events.log")),
                max_size: c.max_size,
            }),
        }
    }

    /// The name `--events-backend` and `info` use.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::File(_) => "file",
            Backend::Journald => "journald",
            Backend::None => "none",
        }
    }

    /// Records `e`.
    pub fn write(&self, e: &Event) -> Result<()> {
        match self {
            Backend::File(f) => f.write(e),
            Backend::Journald => journald::write(e),
            Backend::None => Ok(()),
        }
    }

    /// Calls `each` with the recorded events `o` selects, oldest first
    /// (see [`FileLog::read`] for streaming); stops when it returns false.
    pub fn read(&self, o: &ReadOptions, each: &mut dyn FnMut(&Event) -> bool) -> Result<()> {
        match self {
            Backend::File(f) => f.read(o, each),
            Backend::Journald => journald::read(o, each),
            Backend::None => Err(EventsError::NoneBackend),
        }
    }
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Only events after this time.
    pub since: Option<DateTime<FixedOffset>>,
    /// Only events before this time; a stream ends once it has passed.
    pub until: Option<DateTime<FixedOffset>>,
    /// Keep following new events.
    pub stream: bool,
    pub filters: Filters,
}

impl ReadOptions {
    pub fn wants(&self, e: &Event) -> bool {
        self.since.is_none_or(|s| e.time > s)
            && self.until.is_none_or(|u| e.time < u)
            && self.filters.matches(e)
    }
}

/// The process's event sink and the global flags that give a child hoist
/// process (a container monitor) the same one.
#[derive(Debug)]
struct Sink {
    backend: Backend,
    child_flags: Vec<String>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sets where this process's events go; `child_flags` are the global
/// flags that select the same backend in a hoist process started by this
/// one. Only the first call counts (returns false after that).
pub fn install(backend: Backend, child_flags: Vec<String>) -> bool {
    SINK.set(Sink {
        backend,
        child_flags,
    })
    .is_ok()
}

/// The installed backend, if any.
pub fn backend() -> Option<&'static Backend> {
    SINK.get().map(|s| &s.backend)
}

/// The global flags a hoist child process needs for this process's backend.
pub fn child_flags() -> &'static [String] {
    SINK.get().map_or(&[], |s| s.child_flags.as_slice())
}

/// Records `e` in the installed backend. Recording never fails the action
/// it describes: a failure is logged, as podman does.
pub fn emit(e: Event) {
    let Some(sink) = SINK.get() else { return };
    if let Err(err) = sink.backend.write(&e) {
        tracing::error!("Unable to write {} event: {err}", e.kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_choice_follows_podmans_settings() {
        let base = BackendChoice {
            name: Some("file".into()),
            logfile_path: None,
            tmp_dir: PathBuf::from("/t"),
            max_size: 7,
        };
        assert_eq!(
            Backend::choose(base.clone()),
            Backend::File(FileLog {
                path: PathBuf::from("/t/events/events.log"),
                max_size: 7
            })
        );
        let custom = BackendChoice {
            logfile_path: Some(PathBuf::from("/x.log")),
            ..base.clone()
        };
        assert!(
            matches!(Backend::choose(custom), Backend::File(f) if f.path == Path::new("/x.log"))
        );
        let none = BackendChoice {
            name: Some("none".into()),
            ..base.clone()
        };
        assert_eq!(Backend::choose(none).name(), "none");
        let default = BackendChoice { name: None, ..base };
        let want = if journal_in_use() { "journald" } else { "file" };
        assert_eq!(Backend::choose(default).name(), want);
        assert!(matches!(
            Backend::None.read(&ReadOptions::default(), &mut |_| true),
            Err(EventsError::NoneBackend)
        ));
    }
}

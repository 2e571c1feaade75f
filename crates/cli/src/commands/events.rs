//! `events`, and the choice of this process's event backend from
//! `--events-backend` and containers.conf (`events_logger`,
//! `events_logfile_path`, `events_logfile_max_size`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use hoist_config::{parse::EventsLogger, ContainersConf};
use hoist_events::{Backend, BackendChoice, Event, Filters, ReadOptions};

use crate::cli::GlobalArgs;
use crate::output::template::Template;

/// `events`: podman's flags.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter events: container=, event= (status=), image=, volume=,
    /// network=, pod=, type=, label=KEY=VALUE. Several of one key: any may
    /// match; different keys: all must.
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Print events through a Go template, or "json".
    #[arg(long)]
    pub format: Option<String>,
    /// Do not shorten ids (--no-trunc=false prints 12 characters).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true, default_value = "true")]
    pub no_trunc: bool,
    /// Only events after this time (RFC 3339, a date, a Unix time or a duration like 10m).
    #[arg(long)]
    pub since: Option<String>,
    /// Keep printing new events (--stream=false: print what there is and exit).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true, default_value = "true")]
    pub stream: bool,
    /// Only events before this time; a stream ends when it has passed.
    #[arg(long)]
    pub until: Option<String>,
}

/// The backend this process uses: `--events-backend`, else
/// containers.conf's `events_logger`, else podman's default; the file is
/// `events_logfile_path`, else under the temporary directory: `--tmpdir`,
/// else containers.conf's `tmp_dir`, else hoist's root (where hoist keeps
/// all its state).
pub fn backend(root: &Path, globals: &GlobalArgs, conf: &ContainersConf) -> Backend {
    let engine = &conf.file().engine;
    let name = globals.events_backend.clone().or_else(|| {
        engine.events_logger.map(|l| match l {
            EventsLogger::Journald => "journald".to_string(),
            EventsLogger::File => "file".to_string(),
            EventsLogger::None => "none".to_string(),
        })
    });
    let set = |p: &Option<PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
    let tmp_dir = globals
        .tmpdir
        .clone()
        .or_else(|| set(&engine.tmp_dir))
        .unwrap_or_else(|| root.to_path_buf());
    Backend::choose(BackendChoice {
        name,
        logfile_path: set(&engine.events_logfile_path),
        tmp_dir,
        max_size: conf.engine().events_logfile_max_size().decimal_bytes(),
    })
}

/// Installs this process's event sink, and the flags that give the
/// container monitors it starts the same one.
pub fn install(root: &Path, globals: &GlobalArgs) {
    let conf = ContainersConf::load().unwrap_or_else(|e| {
        tracing::warn!("reading containers.conf for the events settings: {e}");
        ContainersConf::defaults()
    });
    let backend = backend(root, globals, &conf);
    let mut flags = vec!["--events-backend".to_string(), backend.name().to_string()];
    if let Some(dir) = &globals.tmpdir {
        flags.push("--tmpdir".into());
        flags.push(dir.display().to_string());
    }
    hoist_events::install(backend, flags);
}

/// An `events` time flag: podman's forms (see `hoist_container::logs::parse_time`).
fn time_flag(
    value: &Option<String>,
    flag: &str,
) -> Result<Option<chrono::DateTime<chrono::FixedOffset>>> {
    match value {
        None => Ok(None),
        Some(v) => match hoist_container::logs::parse_time(v) {
            Some(t) => Ok(Some(t)),
            None => bail!(
                "invalid {flag} {v:?}: use RFC 3339, a date, a Unix time or a duration like 10m"
            ),
        },
    }
}

/// The document templates see: podman's Go field names.
fn template_doc(e: &Event) -> serde_json::Value {
    let attributes = e.attributes.clone().unwrap_or_default();
    serde_json::json!({
        "ContainerExitCode": e.container_exit_code,
        "ID": e.id,
        "Image": e.image,
        "Name": e.name,
        "Network": e.network,
        "Status": e.status.as_str(),
        "Time": hoist_events::go_string(&e.time),
        "TimeNano": e.time.timestamp_nanos_opt().unwrap_or(0),
        "Type": e.kind.as_str(),
        "HealthStatus": e.health_status,
        "Attributes": attributes,
        "Details": {"ID": e.id, "Attributes": attributes},
    })
}

enum Printer {
    Human { truncate: bool },
    Json,
    Template(Template),
}

pub fn events(a: EventsArgs) -> Result<i32> {
    let backend = hoist_events::backend().cloned().unwrap_or(Backend::None);
    let filters = Filters::parse(&a.filter)?;
    let o = ReadOptions {
        since: time_flag(&a.since, "--since")?,
        until: time_flag(&a.until, "--until")?,
        stream: a.stream,
        filters,
    };
    let printer = match a.format.as_deref() {
        Some("json") | Some("{{json .}}") => Printer::Json,
        Some(f) if !f.is_empty() => Printer::Template(Template::parse(f)?),
        _ => Printer::Human {
            truncate: !a.no_trunc,
        },
    };
    let mut failure = None;
    let mut out = std::io::stdout().lock();
    backend.read(&o, &mut |e| {
        use std::io::Write;
        let line = match &printer {
            Printer::Human { truncate } => e.human(*truncate),
            Printer::Json => e.to_json(),
            Printer::Template(t) => match t.render(&template_doc(e)) {
                Ok(s) => s,
                Err(err) => {
                    failure = Some(err);
                    return false;
                }
            },
        };
        // A closed stdout (`events | head`) ends the stream.
        writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
    })?;
    if let Some(err) = failure {
        return Err(err.into());
    }
    Ok(0)
}

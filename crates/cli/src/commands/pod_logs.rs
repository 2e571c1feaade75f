//! `pod logs`: the logs of a pod's containers, each line after the short ID
//! (or with `--names` the name) of its container, in time order; with
//! `--container` one container's lines, unprefixed, as podman prints them.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use hoist_container::logs::{parse_time, print_logs, LogOptions, LogSource};
use hoist_container::{Container, Containers, Status};
use hoist_pod::{PodError, Pods};

use crate::exit::{ExitWith, ENGINE_ERROR};

#[derive(Debug, Args)]
pub struct PodLogsArgs {
    /// Show the logs of this container of the pod only (name or ID).
    #[arg(short, long)]
    pub container: Option<String>,
    /// Follow the log output.
    #[arg(short, long)]
    pub follow: bool,
    /// Use the latest pod.
    #[arg(short, long)]
    pub latest: bool,
    /// Print container names instead of IDs before each line.
    #[arg(short, long)]
    pub names: bool,
    /// Show logs since TIMESTAMP (RFC 3339, Unix time or a duration like 10m).
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs until TIMESTAMP.
    #[arg(long)]
    pub until: Option<String>,
    /// Print only the last LINES lines of each container (-1: all).
    #[arg(long, allow_negative_numbers = true)]
    pub tail: Option<i64>,
    /// Print the time of each line.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Print each container's lines in a color of its own.
    #[arg(long)]
    pub color: bool,
    pub pod: Option<String>,
}

fn error(message: String) -> anyhow::Error {
    anyhow::Error::new(ExitWith {
        code: ENGINE_ERROR,
        message,
    })
}

fn time(s: &Option<String>, flag: &str) -> Result<Option<chrono::DateTime<chrono::FixedOffset>>> {
    s.as_deref()
        .map(|t| {
            parse_time(t).ok_or_else(|| {
                error(format!(
                    "invalid {flag} {t:?}: use RFC 3339, a Unix time or a duration like 10m"
                ))
            })
        })
        .transpose()
}

/// Whether container `id` may still write to its log.
fn may_write(cs: &Containers, id: &str) -> bool {
    cs.load(id).is_ok_and(|c| match c.status() {
        Status::Exited => false,
        Status::Created => c.monitor_alive(),
        _ => true,
    })
}

/// The pod's containers whose logs are shown: `--container`'s, or all but
/// the infra container (which writes nothing).
fn chosen(cs: &Containers, pod: &hoist_pod::Pod, only: Option<&str>) -> Result<Vec<Container>> {
    let members = hoist_pod::containers(cs, pod).map_err(|e| error(e.to_string()))?;
    let Some(q) = only else {
        return Ok(members
            .into_iter()
            .filter(|c| !c.config.options.infra)
            .collect());
    };
    let found = members
        .into_iter()
        .find(|c| c.name() == q || (q.len() >= 3 && c.id().starts_with(q)));
    match found {
        Some(c) => Ok(vec![c]),
        None => Err(error(format!(
            "container {q} is not in pod {}: no such container",
            pod.name
        ))),
    }
}

pub fn logs(root: &Path, a: PodLogsArgs) -> Result<i32> {
    let cs = Containers::open(root)?;
    let pods = Pods::open(root).map_err(|e| error(e.to_string()))?;
    let pod = match (&a.pod, a.latest) {
        (_, true) => pods
            .list()
            .map_err(|e| error(e.to_string()))?
            .pop()
            .ok_or_else(|| error("no pods to show the logs of: --latest found none".into()))?,
        (Some(q), false) => pods.get(q).map_err(|e| match e {
            PodError::NotFound(_) => {
                error(format!("no pod with name or ID {q} found: no such pod"))
            }
            e => error(e.to_string()),
        })?,
        (None, false) => return Err(error("you must provide a pod name or ID".into())),
    };
    let o = LogOptions {
        tail: a.tail.filter(|t| *t >= 0).map(|t| t as usize),
        timestamps: a.timestamps,
        since: time(&a.since, "--since")?,
        until: time(&a.until, "--until")?,
        follow: a.follow,
        color: a.color,
    };
    let containers = chosen(&cs, &pod, a.container.as_deref())?;
    let mut sources = Vec::with_capacity(containers.len());
    for c in &containers {
        let prefix = a.container.is_none().then(|| {
            if a.names {
                c.name().to_string()
            } else {
                hoist_container::short_id(c.id()).to_string()
            }
        });
        let id = c.id().to_string();
        let cs = &cs;
        let alive = Box::new(move || may_write(cs, &id));
        sources.push(LogSource::of(c, prefix, a.follow, alive).map_err(|e| error(e.to_string()))?);
    }
    print_logs(sources, &o, &mut std::io::stdout(), &mut std::io::stderr())?;
    Ok(0)
}

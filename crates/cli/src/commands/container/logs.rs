//! `logs`: the k8s-file logs of one or more containers, with -f, --tail,
//! -t, --since, --until, --names.

use std::path::Path;

use anyhow::{bail, Result};
use hoist_container::logs::{parse_time, print_logs, LogOptions, LogSource};
use hoist_container::{Containers, Status};

use crate::container_args::LogsArgs;

use super::{lookup_all, open};

fn time(s: &Option<String>, flag: &str) -> Result<Option<chrono::DateTime<chrono::FixedOffset>>> {
    match s {
        None => Ok(None),
        Some(t) => match parse_time(t) {
            Some(t) => Ok(Some(t)),
            None => bail!("invalid {flag} {t:?}: use RFC 3339, a Unix time or a duration like 10m"),
        },
    }
}

/// Whether container `id` may still write to its log.
fn may_write(cs: &Containers, id: &str) -> bool {
    cs.load(id).is_ok_and(|c| match c.status() {
        Status::Exited => false,
        Status::Created => c.monitor_alive(),
        _ => true,
    })
}

pub fn logs(root: &Path, a: LogsArgs) -> Result<i32> {
    let cs = open(root)?;
    let o = LogOptions {
        tail: a.tail.filter(|t| *t >= 0).map(|t| t as usize),
        timestamps: a.timestamps,
        since: time(&a.since, "--since")?,
        until: time(&a.until, "--until")?,
        follow: a.follow,
        color: a.color,
    };
    let containers = if a.latest {
        match cs.newest()? {
            Some(c) => vec![c],
            None => bail!("no containers to show the logs of: --latest found none"),
        }
    } else {
        lookup_all(&cs, &a.containers)?
    };
    let several = containers.len() > 1;
    let mut sources = Vec::with_capacity(containers.len());
    for c in &containers {
        let prefix = several.then(|| {
            if a.names {
                c.name().to_string()
            } else {
                hoist_container::short_id(c.id()).to_string()
            }
        });
        let id = c.id().to_string();
        let cs = &cs;
        let alive = Box::new(move || may_write(cs, &id));
        sources.push(LogSource::of(c, prefix, a.follow, alive)?);
    }
    print_logs(sources, &o, &mut std::io::stdout(), &mut std::io::stderr())?;
    Ok(0)
}

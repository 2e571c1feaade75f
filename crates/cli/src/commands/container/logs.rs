//! `logs`: the k8s-file log, with -f, --tail, -t, --since, --until.

use std::path::Path;

use anyhow::{bail, Result};
use hoist_container::logs::{parse_time, print_log, LogOptions};

use crate::container_args::LogsArgs;

use super::{lookup_all, open};

pub fn logs(root: &Path, a: LogsArgs) -> Result<i32> {
    let cs = open(root)?;
    let time = |s: &Option<String>, flag: &str| -> Result<_> {
        match s {
            None => Ok(None),
            Some(t) => match parse_time(t) {
                Some(t) => Ok(Some(t)),
                None => {
                    bail!("invalid {flag} {t:?}: use RFC 3339, a Unix time or a duration like 10m")
                }
            },
        }
    };
    let o = LogOptions {
        tail: a.tail.filter(|t| *t >= 0).map(|t| t as usize),
        timestamps: a.timestamps,
        since: time(&a.since, "--since")?,
        until: time(&a.until, "--until")?,
    };
    for c in lookup_all(&cs, &a.containers)? {
        let id = c.id().to_string();
        let mut alive = || {
            cs.load(&id).is_ok_and(|c| match c.status() {
                hoist_container::Status::Exited => false,
                hoist_container::Status::Created => c.monitor_alive(),
                _ => true,
            })
        };
        print_log(
            &c.log_path(),
            &o,
            a.follow,
            &mut alive,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )?;
    }
    Ok(0)
}

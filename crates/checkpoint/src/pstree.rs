//! The process tree of a checkpoint, from CRIU's `pstree.img` (pids and
//! parents) and each process's `core-PID.img` (its command name).

use std::path::Path;

use serde::Serialize;

use crate::error::{io_err, CheckpointError, Result};
use crate::stats::{entries, fields, Value};

/// One checkpointed process (pids as the container saw them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    pub comm: String,
    /// It had exited but its parent had not reaped it yet: CRIU keeps
    /// such a zombie in the tree (to restore it as one) but dumps no
    /// memory for it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub zombie: bool,
}

/// task_core_entry.task_state of a dead (zombie) task: CRIU's TASK_DEAD.
const TASK_DEAD: u64 = 2;

/// The processes in `images` (a `checkpoint/` directory), parents first.
pub fn process_tree(images: &Path) -> Result<Vec<Process>> {
    let path = images.join("pstree.img");
    let data = std::fs::read(&path).map_err(io_err("reading", &path))?;
    let bad = || CheckpointError::BadArchive {
        path: path.clone(),
        reason: "pstree.img is not a CRIU process tree image".into(),
    };
    let mut out = Vec::new();
    for entry in entries(&data).ok_or_else(bad)? {
        let (mut pid, mut ppid) = (None, 0);
        for (f, v) in fields(entry).ok_or_else(bad)? {
            match (f, v) {
                (1, Value::Int(p)) => pid = u32::try_from(p).ok(),
                (2, Value::Int(p)) => ppid = u32::try_from(p).unwrap_or(0),
                _ => {}
            }
        }
        let pid = pid.ok_or_else(bad)?;
        let core = read_core(images, pid).unwrap_or_default();
        out.push(Process {
            pid,
            ppid,
            comm: core.comm,
            zombie: core.zombie,
        });
    }
    Ok(out)
}

/// What `core-PID.img` says of a process.
#[derive(Debug, Default)]
struct Core {
    comm: String,
    zombie: bool,
}

fn read_core(images: &Path, pid: u32) -> Option<Core> {
    parse_core(&std::fs::read(images.join(format!("core-{pid}.img"))).ok()?)
}

/// Whether process `pid` of the checkpoint in `images` was a zombie.
pub(crate) fn is_zombie(images: &Path, pid: u32) -> bool {
    read_core(images, pid).is_some_and(|c| c.zombie)
}

/// core_entry.tc (3): .task_state (1) and .comm (6).
fn parse_core(data: &[u8]) -> Option<Core> {
    let core = entries(data)?.into_iter().next()?;
    let tc = fields(core)?.into_iter().find_map(|(f, v)| match (f, v) {
        (3, Value::Bytes(b)) => Some(b),
        _ => None,
    })?;
    let mut out = Core::default();
    for (f, v) in fields(tc)? {
        match (f, v) {
            (1, Value::Int(state)) => out.zombie = state == TASK_DEAD,
            (6, Value::Bytes(b)) => out.comm = String::from_utf8_lossy(b).into_owned(),
            _ => {}
        }
    }
    Some(out)
}

/// The tree as text, one process a line, children indented under their
/// parent: `[PID]  COMM`.
pub fn render_tree(procs: &[Process]) -> String {
    let mut out = String::new();
    let roots: Vec<&Process> = procs
        .iter()
        .filter(|p| !procs.iter().any(|q| q.pid == p.ppid))
        .collect();
    for (i, r) in roots.iter().enumerate() {
        render(procs, r, "", i + 1 == roots.len(), &mut out);
    }
    out
}

fn render(procs: &[Process], p: &Process, indent: &str, last: bool, out: &mut String) {
    let branch = if last { "└── " } else { "├── " };
    out.push_str(&format!("{indent}{branch}[{}]  {}\n", p.pid, p.comm));
    let kids: Vec<&Process> = procs.iter().filter(|c| c.ppid == p.pid).collect();
    let deeper = format!("{indent}{}", if last { "    " } else { "│   " });
    for (i, k) in kids.iter().enumerate() {
        render(procs, k, &deeper, i + 1 == kids.len(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_children_under_parents() {
        let p = |pid, ppid, comm: &str| Process {
            pid,
            ppid,
            comm: comm.into(),
            zombie: false,
        };
        let t = render_tree(&[p(1, 0, "sh"), p(7, 1, "sleep"), p(8, 1, "httpd")]);
        assert_eq!(t, "└── [1]  sh\n    ├── [7]  sleep\n    └── [8]  httpd\n");
    }
}

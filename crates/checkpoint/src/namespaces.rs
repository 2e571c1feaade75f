//! Namespaces a container shares with another one (its pod's infra
//! container): they are not the container's to dump or to recreate.
//!
//! CRIU dumps every namespace of the tree that differs from its own, and
//! on restore makes new ones. So CRIU is run from inside the shared
//! namespaces: at dump it takes them for its own and leaves them out of
//! the images; at restore the tree inherits them from it, which puts the
//! restored container into the pod it is restored into (CRIU's `--join-ns`,
//! which the RPC client in use does not offer, has the same effect).

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use crate::error::{io_err, CheckpointError, Result};

/// A kind of namespace a container can share that CRIU can run inside.
/// (A shared PID namespace cannot be: the tree's init would not be its
/// init; see [`SharedNamespace::parse`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceKind {
    Ipc,
    Uts,
    Cgroup,
}

impl NamespaceKind {
    /// Its name under `/proc/PID/ns/`.
    pub fn proc_name(self) -> &'static str {
        match self {
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Uts => "uts",
            NamespaceKind::Cgroup => "cgroup",
        }
    }

    fn link_type(self) -> LinkNameSpaceType {
        match self {
            NamespaceKind::Ipc => LinkNameSpaceType::InterProcessCommunication,
            NamespaceKind::Uts => LinkNameSpaceType::HostNameAndNISDomainName,
            NamespaceKind::Cgroup => LinkNameSpaceType::ControlGroup,
        }
    }
}

/// A namespace the tree shares, by a path to it (`/proc/PID/ns/ipc`, a
/// bind mount of one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedNamespace {
    pub kind: NamespaceKind,
    pub path: PathBuf,
}

/// Runs `f` (which starts CRIU) with this thread moved into `shared`, and
/// moves the thread back afterwards, whatever `f` returned.
pub(crate) fn within<T>(shared: &[SharedNamespace], f: impl FnOnce() -> Result<T>) -> Result<T> {
    if shared.is_empty() {
        return f();
    }
    let own: Vec<(NamespaceKind, File)> = shared
        .iter()
        .map(|s| Ok((s.kind, open_ns(&own_path(s.kind))?)))
        .collect::<Result<_>>()?;
    let targets: Vec<(NamespaceKind, File)> = shared
        .iter()
        .map(|s| Ok((s.kind, open_ns(&s.path)?)))
        .collect::<Result<_>>()?;
    let entered = enter(&targets);
    let result = entered.and_then(|()| f());
    // Back in any case: this thread goes on serving the command.
    enter(&own)?;
    result
}

fn own_path(kind: NamespaceKind) -> PathBuf {
    PathBuf::from(format!("/proc/thread-self/ns/{}", kind.proc_name()))
}

fn open_ns(path: &Path) -> Result<File> {
    File::open(path).map_err(io_err("opening the namespace", path))
}

fn enter(namespaces: &[(NamespaceKind, File)]) -> Result<()> {
    for (kind, file) in namespaces {
        move_into_link_name_space(file.as_fd(), Some(kind.link_type())).map_err(|e| {
            CheckpointError::Io {
                op: "joining",
                path: format!("the shared {} namespace", kind.proc_name()).into(),
                source: e.into(),
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns_inode(path: &str) -> u64 {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
    }

    #[test]
    fn nothing_shared_runs_as_is() {
        assert_eq!(within(&[], || Ok(7)).unwrap(), 7);
    }

    #[test]
    fn a_missing_namespace_is_an_error_and_nothing_runs() {
        let shared = [SharedNamespace {
            kind: NamespaceKind::Uts,
            path: "/proc/0/ns/uts".into(),
        }];
        let mut ran = false;
        let err = within(&shared, || {
            ran = true;
            Ok(())
        })
        .unwrap_err();
        assert!(!ran);
        assert!(err.to_string().contains("/proc/0/ns/uts"), "{err}");
    }

    #[test]
    fn the_thread_is_inside_while_f_runs_and_back_after() {
        hoist_testenv::require_root_and(&["unshare"]);
        let mut child = std::process::Command::new("unshare")
            .args(["--uts", "sh", "-c", "read x"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("unshare (util-linux)");
        let path = format!("/proc/{}/ns/uts", child.id());
        let host = ns_inode("/proc/thread-self/ns/uts");
        hoist_testenv::wait_until(
            std::time::Duration::from_secs(10),
            "the child's own UTS namespace",
            || std::fs::metadata(&path).is_ok() && ns_inode(&path) != host,
        );
        let shared = [SharedNamespace {
            kind: NamespaceKind::Uts,
            path: path.clone().into(),
        }];
        let seen = within(&shared, || Ok(ns_inode("/proc/thread-self/ns/uts"))).unwrap();
        assert_eq!(seen, ns_inode(&path));
        assert_eq!(ns_inode("/proc/thread-self/ns/uts"), host);
        drop(child.stdin.take());
        child.wait().unwrap();
    }
}

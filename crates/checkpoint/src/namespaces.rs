//! Namespaces a container shares with another one (its pod's infra
//! container): they are not the container's to dump or to recreate.
//!
//! CRIU dumps every namespace of the tree that differs from its own, and
//! on restore makes new ones. So CRIU is run from inside the shared
//! namespaces: at dump it takes them for its own and leaves them out of
//! the images; at restore the tree inherits them from it, which puts the
//! restored container into the pod it is restored into.
//!
//! An archive another engine made (podman with runc) does hold the shared
//! namespaces: CRIU ran outside them. Restoring it, CRIU would make new
//! ones, so a restore also tells CRIU to join them (`join-ns`). The RPC
//! client in use has no such option, so it goes in a CRIU options file
//! named by `CRIU_CONFIG_FILE`, which `criu swrk` reads as the command
//! line's CRIU does. For a namespace the images do not hold, joining is
//! what `within` did already. A joined UTS namespace gets the dumped host
//! and domain names from CRIU; they are the pod's, so they are put back.

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

/// Runs `f` (which starts a CRIU restore) with CRIU told to join
/// `shared` rather than make new namespaces from the images. Call it
/// [`within`] the same namespaces: the UTS names it keeps are this
/// thread's.
pub(crate) fn joining<T>(shared: &[SharedNamespace], f: impl FnOnce() -> Result<T>) -> Result<T> {
    if shared.is_empty() {
        return f();
    }
    let uts = shared.iter().any(|s| s.kind == NamespaceKind::Uts);
    let names = uts.then(UtsNames::now);
    let result = with_join_options(shared, f);
    if let Some(names) = names {
        names.put_back()?;
    }
    result
}

/// The host and domain name of this thread's UTS namespace.
struct UtsNames {
    host: Vec<u8>,
    domain: Vec<u8>,
}

impl UtsNames {
    fn now() -> UtsNames {
        let u = rustix::system::uname();
        UtsNames {
            host: u.nodename().to_bytes().to_vec(),
            domain: u.domainname().to_bytes().to_vec(),
        }
    }

    fn put_back(&self) -> Result<()> {
        let now = UtsNames::now();
        let failed = |e: rustix::io::Errno| CheckpointError::Io {
            op: "setting back the host name of",
            path: "the shared UTS namespace".into(),
            source: e.into(),
        };
        if now.host != self.host {
            rustix::system::sethostname(&self.host).map_err(failed)?;
        }
        if now.domain != self.domain {
            rustix::system::setdomainname(&self.domain).map_err(failed)?;
        }
        Ok(())
    }
}

fn with_join_options<T>(shared: &[SharedNamespace], f: impl FnOnce() -> Result<T>) -> Result<T> {
    let mut file = tempfile::Builder::new()
        .prefix("hoist-criu-join-")
        .suffix(".conf")
        .tempfile()
        .map_err(io_err(
            "creating a CRIU options file in",
            std::env::temp_dir(),
        ))?;
    std::io::Write::write_all(&mut file, join_options(shared).as_bytes())
        .map_err(io_err("writing", file.path()))?;
    let before = std::env::var_os(CONFIG_ENV);
    // The restoring process is the container's monitor, which runs no
    // other thread that could read the environment meanwhile; CRIU's
    // swrk child inherits it.
    std::env::set_var(CONFIG_ENV, file.path());
    let result = f();
    match before {
        Some(v) => std::env::set_var(CONFIG_ENV, v),
        None => std::env::remove_var(CONFIG_ENV),
    }
    result
}

/// The environment variable naming an options file CRIU reads.
const CONFIG_ENV: &str = "CRIU_CONFIG_FILE";

/// CRIU options-file lines (`join-ns KIND:PATH`) for `shared`.
fn join_options(shared: &[SharedNamespace]) -> String {
    shared
        .iter()
        .map(|s| format!("join-ns {}:{}\n", s.kind.proc_name(), s.path.display()))
        .collect()
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
    fn join_options_name_each_namespace_by_kind_and_path() {
        let shared = [
            SharedNamespace {
                kind: NamespaceKind::Ipc,
                path: "/proc/42/ns/ipc".into(),
            },
            SharedNamespace {
                kind: NamespaceKind::Uts,
                path: "/run/x/uts".into(),
            },
        ];
        assert_eq!(
            join_options(&shared),
            "join-ns ipc:/proc/42/ns/ipc\njoin-ns uts:/run/x/uts\n"
        );
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

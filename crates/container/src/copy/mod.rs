//! `cp`: copies files and directory trees between containers and the host,
//! with podman's rules for names, symlinks, owners and errors.
//!
//! Every container path is resolved inside the container's root
//! ([`resolve`]: `openat2` with `RESOLVE_IN_ROOT`, names below it opened
//! without following symlinks, [`tree`]), so a hostile image
//! (`/etc/evil -> /etc/shadow`, `/x -> ../../..`) can never make `cp` read
//! or write a host file outside it. [`view`] finds that root: the running
//! container's own view, or a stopped one's overlay and mount sources.
//! Pausing the container is not needed for that (podman, too, ignores its
//! `--pause`).

pub(crate) mod copyup;
mod error;
mod resolve;
mod stream;
mod tree;
mod view;

use std::os::fd::AsFd;

use crate::error::Result;
use crate::record::Container;
use crate::store::Containers;
use resolve::{Base, End};
use tree::{Owner, Put};
use view::View;

pub use error::CopyError;
pub use stream::{copy_from_tar, copy_to_tar};

/// A path in a container.
#[derive(Debug, Clone, Copy)]
pub struct InContainer<'a> {
    pub container: &'a Container,
    /// The container as the user named it (for messages).
    pub given_as: &'a str,
    /// Absolute, or relative to the container's working directory.
    pub path: &'a str,
}

/// One end of a copy.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint<'a> {
    Host(&'a str),
    Container(InContainer<'a>),
}

/// `cp`'s flags.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// `--archive` (podman's default): what lands in a container belongs to
    /// the container's user; else it keeps its owner.
    pub chown: bool,
    /// `--overwrite`: a directory may replace a non-directory and the
    /// other way round.
    pub overwrite: bool,
}

impl Default for CopyOptions {
    fn default() -> CopyOptions {
        CopyOptions {
            chown: true,
            overwrite: false,
        }
    }
}

/// A container path made absolute: relative ones are below the working
/// directory (`-w`, else the image's, else `/`), keeping a trailing `/.`.
fn absolute(c: &Container, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let wd = c.working_dir();
    format!("{}/{path}", wd.trim_end_matches('/'))
}

/// The uid and gid the container's processes run as (`--user`, else the
/// image's user, else root), from its own user database.
fn container_user(view: &View, c: &Container) -> Result<Owner> {
    let spec = c
        .config
        .options
        .user
        .clone()
        .or_else(|| {
            c.image_config()
                .ok()
                .and_then(|i| i.config().as_ref().and_then(|c| c.user().clone()))
        })
        .unwrap_or_default();
    let u = hoist_runtime::spec::resolve_user(view.root_path(), &spec)?;
    // In a user namespace, the host IDs that user is.
    let (uid, gid) = crate::userns::host_ids(c, u.uid, u.gid);
    Ok(Owner::Set(uid, gid))
}

fn host_owner() -> Owner {
    Owner::Set(
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw(),
    )
}

/// An end resolved to a root and a path in it.
struct Located {
    root: Option<std::os::fd::OwnedFd>,
    path: String,
    given: String,
    place: String,
    mount_name: Option<String>,
    meaning: resolve::Meaning,
    shown_prefix: String,
}

impl Located {
    fn host(path: &str) -> Located {
        Located {
            root: None,
            path: path.to_string(),
            given: path.to_string(),
            place: "on the host".into(),
            mount_name: None,
            meaning: resolve::Meaning::of(path),
            shown_prefix: String::new(),
        }
    }

    fn in_container(view: &View, at: &InContainer<'_>) -> Result<Located> {
        let path = absolute(at.container, at.path);
        let found = view.locate(&path)?;
        Ok(Located {
            root: Some(found.root),
            path: found.path,
            given: at.path.to_string(),
            place: format!("on container {}", at.given_as),
            mount_name: found.mount_name,
            meaning: resolve::Meaning::of(&path),
            shown_prefix: found.shown_prefix,
        })
    }

    fn end(&self) -> End<'_> {
        End {
            base: match &self.root {
                Some(fd) => Base::Root(fd.as_fd()),
                None => Base::Host,
            },
            path: &self.path,
            given: &self.given,
            place: &self.place,
            mount_name: self.mount_name.as_deref(),
            meaning: self.meaning,
            shown_prefix: &self.shown_prefix,
        }
    }
}

/// Copies `from` to `to` (at least one of them in a container), with
/// podman's rules: into `to` when it is a directory (a directory's
/// contents only for `dir/.`), else as `to`; a missing `to` is created,
/// its parent must exist. What lands on the host belongs to the user
/// running hoist.
pub fn copy(
    cs: &Containers,
    from: &Endpoint<'_>,
    to: &Endpoint<'_>,
    opts: &CopyOptions,
) -> Result<()> {
    let from_view = match from {
        Endpoint::Container(at) => Some(View::open(cs, at.container)?),
        Endpoint::Host(_) => None,
    };
    let src = match from {
        Endpoint::Container(at) => {
            Located::in_container(from_view.as_ref().expect("opened above"), at)?
        }
        Endpoint::Host(p) => Located::host(p),
    };
    let source = resolve::source(&src.end())?;
    // One view when both ends are the same container (its lock is held once).
    let to_view = match (to, from) {
        (Endpoint::Container(t), Endpoint::Container(f))
            if t.container.id() == f.container.id() =>
        {
            None
        }
        (Endpoint::Container(t), _) => Some(View::open(cs, t.container)?),
        (Endpoint::Host(_), _) => None,
    };
    match to {
        Endpoint::Host(p) => {
            let dst = Located::host(p);
            let dest = resolve::destination(&dst.end(), true)?;
            let dir = match &dest {
                resolve::Dest::Dir { shown, .. } => shown.clone(),
                resolve::Dest::Entry { parent_shown, .. } => parent_shown.clone(),
            };
            let put = Put {
                owner: host_owner(),
                overwrite: opts.overwrite,
                skip_devices: true,
                place: format!("host directory {dir}"),
                full_prefix: dir.trim_end_matches('/').to_string(),
                links: Default::default(),
            };
            tree::transfer(source, dest, &put, Some(""))
        }
        Endpoint::Container(at) => {
            let view = to_view
                .as_ref()
                .or(from_view.as_ref())
                .expect("a view of the destination container");
            let dst = Located::in_container(view, at)?;
            let dest = resolve::destination(&dst.end(), false)?;
            let put = Put {
                owner: if opts.chown {
                    container_user(view, at.container)?
                } else {
                    Owner::Keep
                },
                overwrite: opts.overwrite,
                skip_devices: false,
                place: format!("container {}", at.given_as),
                full_prefix: String::new(),
                links: Default::default(),
            };
            tree::transfer(source, dest, &put, None)
        }
    }
}

//! The bundle libcontainer is given. When the bundle's spec has a seccomp
//! filter hoist can precompile ([`Program::supports`]), libcontainer gets a
//! copy of the spec without it (so it does not compile the filter in the
//! container's init on every start), in a directory of hoist's under the
//! runtime root, and [`FilteredExecutor`] installs the cached program
//! instead. Anything else goes to libcontainer unchanged.
//!
//! The copy keeps the container's capability sets, except that it lends
//! `CAP_SYS_ADMIN` to the effective and permitted sets for the install
//! (see [`super::workload`] for why that cannot outlive the exec).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capability, Process, Spec};

use super::workload::FilteredExecutor;
use crate::executor::bundle::{read_bundle_config, write_bundle_config};
use crate::executor::error::{io_err, RuntimeError};
use crate::seccomp::{BpfError, Program};

/// Under the runtime root. `@` is never part of a container id, so these
/// can not collide with libcontainer's per-container directories.
const BUNDLES_DIR: &str = "@bundles";
const PROGRAM_CACHE_DIR: &str = "@seccomp";
/// The container's own copy of its program, for `exec`.
const PROGRAM_FILE: &str = "seccomp.bpf";
/// Where the copy records the bundle it was made from, so `state` reports
/// that one (as runc does) rather than hoist's copy.
pub(super) const BUNDLE_ANNOTATION: &str = "run.hoist.bundle";

/// What to hand libcontainer for one container.
pub(super) struct Prepared {
    pub bundle: PathBuf,
    pub executor: Option<FilteredExecutor>,
}

/// Where a runtime with state root `root` caches programs by default.
pub(super) fn default_program_cache(root: &Path) -> PathBuf {
    root.join(PROGRAM_CACHE_DIR)
}

fn copy_dir(root: &Path, id: &str) -> PathBuf {
    root.join(BUNDLES_DIR).join(id)
}

fn bpf_err(id: &str) -> impl FnOnce(BpfError) -> RuntimeError + '_ {
    move |e| RuntimeError::Seccomp {
        id: id.to_string(),
        detail: e.to_string(),
    }
}

/// Prepares container `id`'s bundle for libcontainer (see the module docs).
pub(super) fn prepare(
    root: &Path,
    program_cache: &Path,
    id: &str,
    bundle: &Path,
) -> Result<Prepared, RuntimeError> {
    let unchanged = || Prepared {
        bundle: bundle.to_path_buf(),
        executor: None,
    };
    let mut spec = read_bundle_config(bundle)?;
    let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().clone()) else {
        return Ok(unchanged());
    };
    if Program::supports(&seccomp).is_err() {
        return Ok(unchanged());
    }
    let (program, cache_file) = Program::cached(&seccomp, program_cache).map_err(bpf_err(id))?;
    let bundle = bundle
        .canonicalize()
        .map_err(io_err("resolving bundle", bundle))?;
    if let Some(linux) = spec.linux_mut() {
        linux.set_seccomp(None);
    }
    anchor_paths(&mut spec, &bundle);
    let mut annotations = spec.annotations().clone().unwrap_or_default();
    annotations.insert(
        BUNDLE_ANNOTATION.to_string(),
        bundle.to_string_lossy().into_owned(),
    );
    spec.set_annotations(Some(annotations));
    let drop_sys_admin = match spec.process_mut() {
        Some(p) => lend_sys_admin(p),
        None => false,
    };
    let dir = copy_dir(root, id);
    write_bundle_config(&dir, &spec)?;
    keep_program(&program, &cache_file, &dir.join(PROGRAM_FILE)).map_err(bpf_err(id))?;
    Ok(Prepared {
        bundle: dir,
        executor: Some(FilteredExecutor::new(program, drop_sys_admin)),
    })
}

/// Gives the container its own reference to the program: a hard link to
/// the cache file (no second write), or a copy where linking fails (the
/// cache on another filesystem).
fn keep_program(program: &Program, cache_file: &Path, target: &Path) -> Result<(), BpfError> {
    let _ = std::fs::remove_file(target);
    if std::fs::hard_link(cache_file, target).is_ok() {
        return Ok(());
    }
    program.save(target)
}

/// The executor for a process `exec`ed into container `id`, if the
/// container was prepared with a program; lends `process` `CAP_SYS_ADMIN`
/// for the install as [`prepare`] does.
pub(super) fn exec_executor(
    root: &Path,
    id: &str,
    process: &mut Process,
) -> Result<Option<FilteredExecutor>, RuntimeError> {
    let path = copy_dir(root, id).join(PROGRAM_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let program = Program::load(&path).map_err(bpf_err(id))?;
    let drop_sys_admin = lend_sys_admin(process);
    Ok(Some(FilteredExecutor::new(program, drop_sys_admin)))
}

/// Removes what [`prepare`] made for container `id` (if anything).
pub(super) fn remove(root: &Path, id: &str) -> Result<(), RuntimeError> {
    let dir = copy_dir(root, id);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("removing", &dir)(e)),
        _ => Ok(()),
    }
}

/// The bundle a prepared container was made from, with the annotation
/// taken out of `annotations`.
pub(super) fn original_bundle(annotations: &mut HashMap<String, String>) -> Option<PathBuf> {
    annotations.remove(BUNDLE_ANNOTATION).map(PathBuf::from)
}

/// The copy lives elsewhere: paths the runtime spec resolves against the
/// bundle (the root filesystem, bind-mount sources) become absolute.
fn anchor_paths(spec: &mut Spec, bundle: &Path) {
    if let Some(root) = spec.root_mut() {
        if root.path().is_relative() {
            let abs = bundle.join(root.path());
            root.set_path(abs);
        }
    }
    for m in spec.mounts_mut().iter_mut().flatten() {
        let relative = m.source().as_ref().is_some_and(|s| s.is_relative());
        if relative && m.typ().as_deref() == Some("bind") {
            let abs = m.source().as_ref().map(|s| bundle.join(s));
            m.set_source(abs);
        }
    }
}

/// Puts `CAP_SYS_ADMIN` into the effective and permitted sets when the
/// process would not have it and needs it to install a filter (no
/// `noNewPrivileges`); returns whether it did, i.e. whether it must be
/// dropped again after the install.
fn lend_sys_admin(process: &mut Process) -> bool {
    if process.no_new_privileges() == Some(true) {
        return false;
    }
    let Some(mut caps) = process.capabilities().clone() else {
        return false;
    };
    let has = |set: &Option<oci_spec::runtime::Capabilities>| {
        set.as_ref()
            .is_none_or(|s| s.contains(&Capability::SysAdmin))
    };
    if has(caps.effective()) && has(caps.permitted()) {
        return false;
    }
    let lend = |set: &Option<oci_spec::runtime::Capabilities>| {
        set.clone().map(|mut s| {
            s.insert(Capability::SysAdmin);
            s
        })
    };
    caps.set_effective(lend(caps.effective()));
    caps.set_permitted(lend(caps.permitted()));
    process.set_capabilities(Some(caps));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxCapabilitiesBuilder;

    fn process(effective: &[Capability], nnp: bool) -> Process {
        let set: oci_spec::runtime::Capabilities = effective.iter().copied().collect();
        let mut p = Process::default();
        p.set_capabilities(Some(
            LinuxCapabilitiesBuilder::default()
                .bounding(set.clone())
                .effective(set.clone())
                .permitted(set.clone())
                .inheritable(set.clone())
                .ambient(set)
                .build()
                .unwrap(),
        ));
        p.set_no_new_privileges(Some(nnp));
        p
    }

    #[test]
    fn sys_admin_is_lent_to_effective_and_permitted_only() {
        let mut p = process(&[Capability::Chown], false);
        assert!(lend_sys_admin(&mut p));
        let c = p.capabilities().as_ref().unwrap();
        let with = |s: &Option<oci_spec::runtime::Capabilities>| {
            s.as_ref().unwrap().contains(&Capability::SysAdmin)
        };
        assert!(with(c.effective()) && with(c.permitted()));
        assert!(!with(c.bounding()) && !with(c.inheritable()) && !with(c.ambient()));
    }

    #[test]
    fn nothing_is_lent_when_not_needed() {
        let mut nnp = process(&[Capability::Chown], true);
        assert!(!lend_sys_admin(&mut nnp));
        let mut admin = process(&[Capability::SysAdmin], false);
        assert!(!lend_sys_admin(&mut admin));
        assert_eq!(admin, process(&[Capability::SysAdmin], false));
    }

    #[test]
    fn relative_paths_are_anchored_at_the_bundle() {
        let mut spec = Spec::default();
        spec.root_mut().as_mut().unwrap().set_path("rootfs".into());
        anchor_paths(&mut spec, Path::new("/b"));
        assert_eq!(spec.root().as_ref().unwrap().path(), Path::new("/b/rootfs"));
    }
}

//! What hoist hands libcontainer for one container, kept in a directory of
//! hoist's under the runtime root (`@bundles/<id>`):
//!
//! - the exec fifo (see [`super::workload`]), always;
//! - when the bundle's spec has a seccomp filter hoist can precompile
//!   ([`Program::supports`]), a copy of the spec without it (so libcontainer
//!   does not compile the filter in the container's init on every start),
//!   which [`HoistExecutor`] installs instead. Paths relative to the bundle
//!   are made absolute in the copy. The copy keeps the container's
//!   capability sets, except that it lends `CAP_SYS_ADMIN` to the effective
//!   and permitted sets for the install (see [`super::workload`] for why
//!   that cannot outlive the exec).
//!
//! Hooks see the container's state, whose `bundle` must be the user's: the
//! hooks libcontainer runs while it creates the container (`prestart`,
//! `createRuntime`, `createContainer`, `startContainer`) are given the
//! bundle libcontainer was given. A spec with any of those is therefore
//! never copied: libcontainer gets the user's bundle and compiles the
//! filter itself. (`poststart` and `poststop` hoist runs itself, see
//! [`super::record`].)

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capability, Process, Spec};

use super::workload::HoistExecutor;
use crate::executor::bundle::{read_bundle_config, write_bundle_config};
use crate::executor::error::{io_err, RuntimeError};
use crate::seccomp::{BpfError, Program};

/// Under the runtime root. `@` is never part of a container id, so these
/// can not collide with libcontainer's per-container directories.
const BUNDLES_DIR: &str = "@bundles";
const PROGRAM_CACHE_DIR: &str = "@seccomp";
/// The container's own copy of its program, for `exec`.
const PROGRAM_FILE: &str = "seccomp.bpf";
/// The fifo `start` reads to learn that the user's program was exec'd.
const EXEC_FIFO: &str = "exec.fifo";
/// Written by hoist versions that kept the original bundle in the copy's
/// annotations; still taken out of the state of such containers.
const OLD_BUNDLE_ANNOTATION: &str = "run.hoist.bundle";

/// What to hand libcontainer for one container.
pub(super) struct Prepared {
    /// The bundle libcontainer reads.
    pub bundle: PathBuf,
    /// The user's bundle (absolute, symlinks resolved, as `state` reports).
    pub origin: PathBuf,
    pub executor: HoistExecutor,
    /// The creator's end of the exec fifo; the init inherits it, and the
    /// creator must close it once the init exists (drop `Prepared`).
    pub _exec_fifo: OwnedFd,
    /// `linux.resources.memory.disableOOMKiller`, which libcontainer drops.
    pub disable_oom_killer: bool,
}

/// Where a runtime with state root `root` caches programs by default.
pub(super) fn default_program_cache(root: &Path) -> PathBuf {
    root.join(PROGRAM_CACHE_DIR)
}

pub(super) fn copy_dir(root: &Path, id: &str) -> PathBuf {
    root.join(BUNDLES_DIR).join(id)
}

pub(super) fn exec_fifo_path(root: &Path, id: &str) -> PathBuf {
    copy_dir(root, id).join(EXEC_FIFO)
}

fn bpf_err(id: &str) -> impl FnOnce(BpfError) -> RuntimeError + '_ {
    move |e| RuntimeError::Seccomp {
        id: id.to_string(),
        detail: e.to_string(),
    }
}

/// Whether the spec has hooks libcontainer runs during create or inside the
/// container (which see the bundle libcontainer was given).
fn has_creation_hooks(spec: &Spec) -> bool {
    let Some(h) = spec.hooks() else { return false };
    #[allow(deprecated)]
    let prestart = h.prestart();
    [
        prestart,
        h.create_runtime(),
        h.create_container(),
        h.start_container(),
    ]
    .iter()
    .any(|v| v.as_ref().is_some_and(|v| !v.is_empty()))
}

/// Makes the exec fifo and opens it for the init (read-write, so the open
/// does not wait for a reader; non-blocking; close-on-exec).
fn make_exec_fifo(path: &Path) -> Result<OwnedFd, RuntimeError> {
    use rustix::fs::{Mode, OFlags};
    let _ = std::fs::remove_file(path);
    rustix::fs::mkfifoat(rustix::fs::CWD, path, Mode::from_raw_mode(0o600))
        .map_err(|e| io_err("creating exec fifo", path)(e.into()))?;
    rustix::fs::open(
        path,
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_err("opening exec fifo", path)(e.into()))
}

/// Prepares container `id`'s bundle for libcontainer (see the module docs).
pub(super) fn prepare(
    root: &Path,
    program_cache: &Path,
    id: &str,
    bundle: &Path,
) -> Result<Prepared, RuntimeError> {
    let mut spec = read_bundle_config(bundle)?;
    let origin = bundle
        .canonicalize()
        .map_err(io_err("resolving bundle", bundle))?;
    let disable_oom_killer = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.memory().as_ref())
        .and_then(|m| m.disable_oom_killer())
        == Some(true);
    let dir = copy_dir(root, id);
    std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    let exec_fifo = make_exec_fifo(&dir.join(EXEC_FIFO))?;
    let fifo_fd = Some(exec_fifo.as_raw_fd());
    let unchanged = |exec_fifo| Prepared {
        bundle: origin.clone(),
        origin: origin.clone(),
        executor: HoistExecutor::new(None, false, fifo_fd),
        _exec_fifo: exec_fifo,
        disable_oom_killer,
    };
    let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().clone()) else {
        return Ok(unchanged(exec_fifo));
    };
    if Program::supports(&seccomp).is_err() || has_creation_hooks(&spec) {
        return Ok(unchanged(exec_fifo));
    }
    let (program, cache_file) = Program::cached(&seccomp, program_cache).map_err(bpf_err(id))?;
    if let Some(linux) = spec.linux_mut() {
        linux.set_seccomp(None);
    }
    anchor_paths(&mut spec, &origin);
    let drop_sys_admin = match spec.process_mut() {
        Some(p) => lend_sys_admin(p),
        None => false,
    };
    write_bundle_config(&dir, &spec)?;
    keep_program(&program, &cache_file, &dir.join(PROGRAM_FILE)).map_err(bpf_err(id))?;
    Ok(Prepared {
        bundle: dir,
        origin,
        executor: HoistExecutor::new(Some(program), drop_sys_admin, fifo_fd),
        _exec_fifo: exec_fifo,
        disable_oom_killer,
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

/// The executor for a process `exec`ed into container `id`: with the
/// container's program if it was prepared with one, and then lending
/// `process` `CAP_SYS_ADMIN` for the install as [`prepare`] does.
pub(super) fn exec_executor(
    root: &Path,
    id: &str,
    process: &mut Process,
) -> Result<HoistExecutor, RuntimeError> {
    let path = copy_dir(root, id).join(PROGRAM_FILE);
    if !path.exists() {
        return Ok(HoistExecutor::new(None, false, None));
    }
    let program = Program::load(&path).map_err(bpf_err(id))?;
    let drop_sys_admin = lend_sys_admin(process);
    Ok(HoistExecutor::new(Some(program), drop_sys_admin, None))
}

/// Removes what [`prepare`] made for container `id` (if anything).
pub(super) fn remove(root: &Path, id: &str) -> Result<(), RuntimeError> {
    let dir = copy_dir(root, id);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("removing", &dir)(e)),
        _ => Ok(()),
    }
}

/// The bundle an older hoist recorded in a copy's annotations, taken out
/// of `annotations`.
pub(super) fn old_original_bundle(
    annotations: &mut std::collections::HashMap<String, String>,
) -> Option<PathBuf> {
    annotations.remove(OLD_BUNDLE_ANNOTATION).map(PathBuf::from)
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
    fn only_hooks_run_during_create_or_inside_keep_the_bundle_uncopied() {
        let hook = || vec![oci_spec::runtime::Hook::default()];
        let with = |f: &dyn Fn(&mut oci_spec::runtime::Hooks) -> &mut oci_spec::runtime::Hooks| {
            let mut h = oci_spec::runtime::Hooks::default();
            f(&mut h);
            let mut spec = Spec::default();
            spec.set_hooks(Some(h));
            has_creation_hooks(&spec)
        };
        assert!(!has_creation_hooks(&Spec::default()));
        assert!(!with(&|h| h
            .set_poststart(Some(hook()))
            .set_poststop(Some(hook()))));
        assert!(!with(&|h| h.set_create_runtime(Some(Vec::new()))));
        assert!(with(&|h| h.set_create_runtime(Some(hook()))));
        assert!(with(&|h| h.set_create_container(Some(hook()))));
        assert!(with(&|h| h.set_start_container(Some(hook()))));
        #[allow(deprecated)]
        let prestart = with(&|h| h.set_prestart(Some(hook())));
        assert!(prestart);
    }

    #[test]
    fn relative_paths_are_anchored_at_the_bundle() {
        let mut spec = Spec::default();
        spec.root_mut().as_mut().unwrap().set_path("rootfs".into());
        anchor_paths(&mut spec, Path::new("/b"));
        assert_eq!(spec.root().as_ref().unwrap().path(), Path::new("/b/rootfs"));
    }
}

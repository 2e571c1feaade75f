//! The last step of libcontainer's init: install hoist's precompiled
//! seccomp program, then hand over to libcontainer's own executor (which
//! resolves the program on `PATH` and execs it).
//!
//! libcontainer loads a spec's filter before it drops capabilities, so that
//! a process without `no_new_privs` may still install one (that needs
//! `CAP_SYS_ADMIN`). hoist takes the filter out of the spec libcontainer
//! sees and installs it here instead, after the capability drop. So that it
//! may, [`super::prepared`] leaves `CAP_SYS_ADMIN` in the effective and
//! permitted sets when the container is not meant to have it (but never in
//! the bounding, inheritable or ambient sets); this executor removes it
//! again right after the install. Even if that removal failed (a profile
//! that forbids `capset`), `execve` would drop it: a capability outside the
//! bounding, inheritable and ambient sets never survives an exec, for root
//! or any other user, with or without file capabilities.

use libcontainer::oci_spec::runtime::Spec;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use rustix::thread::CapabilitySet;

use crate::seccomp::Program;

#[derive(Clone)]
pub(crate) struct FilteredExecutor {
    program: Program,
    /// Whether `CAP_SYS_ADMIN` was lent for the install only.
    drop_sys_admin: bool,
}

impl FilteredExecutor {
    pub(crate) fn new(program: Program, drop_sys_admin: bool) -> FilteredExecutor {
        FilteredExecutor {
            program,
            drop_sys_admin,
        }
    }
}

fn drop_sys_admin() -> std::io::Result<()> {
    let mut sets = rustix::thread::capabilities(None)?;
    sets.effective.remove(CapabilitySet::SYS_ADMIN);
    sets.permitted.remove(CapabilitySet::SYS_ADMIN);
    rustix::thread::set_capabilities(None, sets)?;
    Ok(())
}

impl Executor for FilteredExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        self.program
            .install()
            .map_err(|e| ExecutorError::Other(format!("installing the seccomp filter: {e}")))?;
        if self.drop_sys_admin {
            // See the module docs: exec drops it anyway.
            if let Err(e) = drop_sys_admin() {
                tracing::debug!("dropping CAP_SYS_ADMIN before exec: {e}");
            }
        }
        libcontainer::workload::default::get_executor().exec(spec)
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        libcontainer::workload::default::get_executor().validate(spec)
    }
}

//! Seccomp: hoist's default profile and profile files, turned into the
//! `linux.seccomp` of a runtime spec.
//!
//! Profiles use the format podman and docker read (a superset of the OCI
//! `LinuxSeccomp`): rules may apply only with or without some capabilities
//! (`includes`/`excludes` `caps`), on some architectures (`arches`) or from
//! a kernel version on (`minKernel`). [`Profile::to_oci`] resolves those for
//! one container, as podman does when it writes the spec, so the runtime
//! gets a plain OCI filter. A plain OCI `linux.seccomp` object is a valid
//! profile too.
//!
//! The default profile has podman's semantics: an allow-list; syscalls not
//! on it fail with `ENOSYS` (podman's `defaultErrnoRet` 38, so programs fall
//! back from syscalls the profile does not know yet, like glibc does from
//! `clone3`); syscalls known to be dangerous fail with `EPERM`; the
//! privileged ones are allowed only when the container has the capability
//! they need.
//!
//! Sub-architectures the running kernel serves no syscalls for (x32 on
//! most x86_64 kernels) are left out of the filter: libseccomp compiles it
//! in the container on every start, and each architecture costs about a
//! third of that time. See [`kernel_abi`].

pub mod bpf;
mod default;
pub mod kernel_abi;
mod profile;

use std::io;
use std::path::PathBuf;

pub use bpf::{BpfError, Program};
pub use default::{default_profile, DEFAULT_ERRNO, DENIED_ERRNO};
pub use profile::{ArchMap, Profile, ProfileArg, ProfileRule, RuleFilter, Target};

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("reading seccomp profile {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("seccomp profile {}: not a valid profile: {source}; it must be JSON in the OCI or podman/docker seccomp format", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("seccomp profile {what} {value:?} is not supported; {hint}")]
    Unsupported {
        what: &'static str,
        value: String,
        hint: &'static str,
    },
}

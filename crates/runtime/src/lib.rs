//! The container runtime layer of hoist.
//!
//! - [`spec`]: an OCI runtime spec made from an image config and run flags,
//!   with podman's defaults (capabilities, masked and read-only paths, mounts,
//!   rlimits clamped to the current hard limits, the default seccomp filter).
//! - [`seccomp`]: the default seccomp profile and a loader for profile files
//!   in the OCI or podman/docker format.
//! - [`rootfs`]: the overlayfs root filesystem over the store's layer
//!   directories, and `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`
//!   written outside the rootfs for bind mounting.
//! - [`executor`]: running a bundle, in-process with youki's libcontainer
//!   ([`executor::InProcessRuntime`]) or with any OCI runtime binary such as
//!   runc or crun ([`executor::ExternalRuntime`]).
//! - [`cgroups`]: joining a container's cgroup and applying its limits
//!   for processes the runtime did not start (a tree CRIU restores).
//! - [`cgroup_removal`]: a container's cgroup removed from every hierarchy.
//! - [`cgroup_warmup`]: taking the kernel's cgroup migration lock early so
//!   the container's cgroup join does not wait an RCU grace period for it.
//! - [`oci_cli`]: runc-compatible command semantics (`create`, `start`,
//!   `state`, `kill`, `delete`, `run`) over the in-process runtime, for a thin
//!   `hoist oci` command line.
//!
//! **Forking.** The in-process runtime forks (clones) the calling process
//! with a raw `clone3`, so no `pthread_atfork` handlers run: a lock another
//! thread holds at that moment (the allocator's, for one) stays locked in the
//! child forever. Call [`executor::InProcessRuntime`] only from a
//! single-threaded process, or at least never while other threads run
//! (not from inside an async runtime's worker threads).

pub mod cgroup_removal;
pub mod cgroup_warmup;
pub mod cgroups;
pub mod executor;
pub mod oci_cli;
pub mod rootfs;
pub mod seccomp;
pub mod spec;

mod safe_read;
mod signal_mask;

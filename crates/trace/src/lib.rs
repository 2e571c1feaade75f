//! hoist-trace: records which system calls a container makes and turns
//! them into a seccomp profile.
//!
//! [`Recorder`] loads an eBPF program (compiled with hoist, CO-RE) on the
//! raw_syscalls:sys_enter tracepoint that counts, in the kernel, the
//! system calls of the processes in one container's namespaces;
//! [`profile`] writes those calls in the containers/common seccomp JSON
//! format (merged with an input profile if asked), and compares profiles.

mod error;
pub mod names;
pub mod profile;
#[cfg(feature = "bpf")]
mod recorder;
pub mod request;

pub use error::TraceError;
#[cfg(feature = "bpf")]
pub use recorder::{ObjectStorage, Recorder};
pub use request::{RecordRequest, TRACE_ANNOTATION};

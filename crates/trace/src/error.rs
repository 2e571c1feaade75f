//! What can go wrong while recording system calls or handling profiles.

use std::path::PathBuf;

/// An error of the recorder or of the profile functions.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The kernel has no BTF, which the CO-RE recorder is relocated against.
    #[error("recording system calls needs a kernel with BTF type information ({path} is missing): use a kernel built with CONFIG_DEBUG_INFO_BTF=y")]
    NoKernelBtf { path: &'static str },
    /// Opening, loading or attaching the eBPF program failed.
    #[cfg(feature = "bpf")]
    #[error("cannot {what} the eBPF system call recorder: {source}; recording needs root (CAP_BPF and CAP_PERFMON, outside a user namespace) and a kernel with eBPF and BTF")]
    Bpf {
        what: &'static str,
        #[source]
        source: libbpf_rs::Error,
    },
    /// A process's namespaces could not be read from /proc.
    #[error("reading the namespaces of process {pid} from {path}: {source}")]
    Namespace {
        pid: i32,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The container's process showed the host's PID and mount namespaces:
    /// following them would record every process of the host.
    #[error("process {pid} of the container still has the host's PID and mount namespaces: recording it would record the whole host; the container was not started")]
    HostNamespaces { pid: i32 },
    /// The io.containers.trace-syscall annotation (or --seccomp-record) is malformed.
    #[error("invalid io.containers.trace-syscall value {value:?}: {why}; use of:OUTPUT.json, optionally followed by ;if:INPUT.json")]
    Request { value: String, why: String },
    /// A profile file could not be read, parsed or written.
    #[error("{what} seccomp profile {path}: {why}")]
    Profile {
        what: &'static str,
        path: PathBuf,
        why: String,
    },
}

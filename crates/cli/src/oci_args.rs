//! `hoist oci ...`: hoist's own runtime behind runc's command line, so other
//! engines (podman `--runtime`, conformance suites) can drive it.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct OciArgs {
    /// Where container state is kept (runc's --root).
    #[arg(long, default_value = hoist_runtime::oci_cli::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Accepted for runc compatibility; logs go to standard error.
    #[arg(long, hide = true)]
    pub log: Option<PathBuf>,
    #[arg(long, hide = true)]
    pub log_format: Option<String>,
    /// Accepted for runc compatibility (systemd cgroup driver is not used).
    #[arg(long, hide = true)]
    pub systemd_cgroup: bool,
    #[command(subcommand)]
    pub command: OciCommand,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The bundle directory (holding config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Accepted for runc compatibility.
    #[arg(long, hide = true)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility (descriptors beyond stdio are not passed on).
    #[arg(long, hide = true, default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum OciCommand {
    /// Create a container from a bundle (it waits for `start`).
    Create(BundleArgs),
    /// Start a created container.
    Start { id: String },
    /// Print the container's state as JSON.
    State { id: String },
    /// Send a signal (default TERM) to the container's init process.
    Kill {
        id: String,
        signal: Option<String>,
        /// Accepted for runc compatibility.
        #[arg(short, long, hide = true)]
        all: bool,
    },
    /// Delete a container.
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Create, start and wait for a container; exit with its code.
    Run(BundleArgs),
}

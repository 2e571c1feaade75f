//! The clap arguments of the container commands (run, ps, logs, ...), with
//! podman's flag names.

use clap::{Args, Subcommand};

/// Flags shared by `run` and `create`.
#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Replace an existing container of the same name.
    #[arg(long)]
    pub replace: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Keep stdin open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables (KEY=VALUE, or KEY to take it from the host).
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file of KEY=VALUE lines.
    #[arg(long)]
    pub env_file: Vec<std::path::PathBuf>,
    /// Bind mount a host path or a named volume: SRC:DEST[:ro].
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Attach a mount: type=bind|volume|tmpfs,source=..,target=..[,ro].
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount a tmpfs: DEST[:OPTIONS].
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User to run as: uid[:gid] or name[:group].
    #[arg(short, long)]
    pub user: Option<String>,
    /// Override the image's entrypoint (a command or a JSON array).
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// The container's host name.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Mount the root filesystem read-only.
    #[arg(long)]
    pub read_only: bool,
    /// Give the container every capability and device access.
    #[arg(long)]
    pub privileged: bool,
    #[arg(long)]
    pub cap_add: Vec<String>,
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// seccomp=unconfined|PROFILE, no-new-privileges, label=disable.
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Memory limit (e.g. 256m).
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Memory plus swap limit (-1 for unlimited swap).
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Number of CPUs (e.g. 0.5).
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Maximum number of processes (-1 for unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Resource limits: NAME=SOFT[:HARD].
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Run hoist's init as PID 1: it forwards signals and reaps zombies.
    #[arg(long)]
    pub init: bool,
    /// none, host, bridge or network names.
    #[arg(long, alias = "net")]
    pub network: Vec<String>,
    /// Publish ports: [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO].
    #[arg(short, long = "publish")]
    pub publish: Vec<String>,
    /// Set metadata: KEY=VALUE.
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Restart policy: no, on-failure[:MAX], always, unless-stopped.
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Pull policy: always, missing, never, newer.
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// How to pull layers with an eStargz table of contents: lazy (read
    /// files on demand while the container runs) or full.
    #[arg(long, default_value = "lazy", value_parser = ["lazy", "full"])]
    pub pull_mode: String,
    /// Serve every (eStargz) layer through FUSE from its local blob and
    /// write the files the container reads into DIR (`image convert
    /// --optimize` uses this).
    #[arg(long, hide = true, value_name = "DIR")]
    pub record_access: Option<std::path::PathBuf>,
    /// Signal to stop the container with.
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Seconds to wait for a stop before killing.
    #[arg(long)]
    pub stop_timeout: Option<u64>,
    /// An OCI runtime binary (runc, crun) to run the container with,
    /// instead of hoist's built-in one.
    #[arg(long)]
    pub runtime: Option<std::path::PathBuf>,
    /// Size of /dev/shm (e.g. 64m).
    #[arg(long)]
    pub shm_size: Option<String>,
    #[command(flatten)]
    pub registry: crate::cli::RegistryArgs,
    /// The image to create the container from.
    pub image: String,
    /// The command and its arguments (replacing the image's Cmd).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Run in the background and print the container ID.
    #[arg(short, long)]
    pub detach: bool,
    #[command(flatten)]
    pub create: CreateArgs,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep stdin open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// Run in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// Set environment variables (KEY=VALUE, or KEY to take it from the host).
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// User to run as: uid[:gid] or name[:group].
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// The container (name or ID).
    pub container: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Accepted for podman compatibility: owner, mode and times are always kept.
    #[arg(short, long)]
    pub archive: bool,
    /// CONTAINER:PATH, a host path, or - for a tar archive on stdin.
    pub source: String,
    /// CONTAINER:PATH, a host path, or - for a tar archive on stdout
    /// (exactly one side names a container).
    pub destination: String,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    pub container: String,
    /// ps descriptors (ignored: hoist prints podman's default columns).
    #[arg(trailing_var_arg = true)]
    pub descriptors: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print one sample and exit.
    #[arg(long)]
    pub no_stream: bool,
    /// Every running container (the default without names).
    #[arg(short, long)]
    pub all: bool,
    /// json or a Go template.
    #[arg(long)]
    pub format: Option<String>,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach to the container's output and wait for it (one container).
    #[arg(short, long)]
    pub attach: bool,
    #[arg(short, long)]
    pub interactive: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container.
    #[arg(short, long)]
    pub time: Option<u64>,
    #[arg(short, long)]
    pub all: bool,
    #[arg(short, long)]
    pub ignore: bool,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send (name or number).
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(short, long)]
    pub all: bool,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Remove running containers too (killing them).
    #[arg(short, long)]
    pub force: bool,
    #[arg(short, long)]
    pub all: bool,
    /// Also remove the containers' anonymous volumes (`-v /dest`).
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait before killing (with --force).
    #[arg(short, long)]
    pub time: Option<u64>,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers, not only running ones.
    #[arg(short, long)]
    pub all: bool,
    /// Print only IDs.
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(long)]
    pub no_trunc: bool,
    /// Filters: id=, name=, status=, label=KEY[=VALUE], ancestor=.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// json or a Go template ({{.ID}} {{.Names}} {{.Status}} ...).
    #[arg(long)]
    pub format: Option<String>,
    /// Show the latest container only.
    #[arg(short, long)]
    pub latest: bool,
    /// Also list containers made by other tools in this store (podman's
    /// buildah containers); hoist's store has none, so nothing changes.
    #[arg(long)]
    pub external: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new output.
    #[arg(short, long)]
    pub follow: bool,
    /// Print only the last N lines.
    #[arg(long)]
    pub tail: Option<i64>,
    /// Show timestamps.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Only output since this time (RFC 3339, a Unix time or a duration like 10m).
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long)]
    pub until: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContainersArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    #[arg(short, long)]
    pub time: Option<u64>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContainerInspectArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    pub container: String,
    /// Only this container port (PORT[/PROTO]).
    pub port: Option<String>,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Copy output to this process's stdout/stderr and exit with the container's code.
    #[arg(long)]
    pub attach: bool,
    /// Report the start on stdout and leave the caller's session.
    #[arg(long)]
    pub detached: bool,
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    Run(RunArgs),
    Create(CreateArgs),
    Exec(ExecArgs),
    /// Copy files between a container and the host.
    Cp(CpArgs),
    Top(TopArgs),
    Stats(StatsArgs),
    Start(StartArgs),
    Stop(StopArgs),
    Kill(KillArgs),
    Restart(RestartArgs),
    #[command(alias = "remove")]
    Rm(RmArgs),
    #[command(alias = "ls", alias = "list")]
    Ps(PsArgs),
    Logs(LogsArgs),
    Wait(ContainersArgs),
    Inspect(ContainerInspectArgs),
    Pause(ContainersArgs),
    Unpause(ContainersArgs),
    Port(PortArgs),
    /// Exit 0 if the container exists, 1 if not.
    Exists {
        container: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    Create(VolumeCreateArgs),
    #[command(alias = "list")]
    Ls(VolumeLsArgs),
    #[command(alias = "remove")]
    Rm(VolumeRmArgs),
    Inspect(VolumeInspectArgs),
    Prune(VolumePruneArgs),
}

#[derive(Debug, Args)]
pub struct VolumeCreateArgs {
    pub name: Option<String>,
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    #[arg(long)]
    pub ignore: bool,
}

#[derive(Debug, Args)]
pub struct VolumeLsArgs {
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct VolumeRmArgs {
    #[arg(short, long)]
    pub force: bool,
    #[arg(short, long)]
    pub all: bool,
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VolumeInspectArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct VolumePruneArgs {
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    Create(NetworkCreateArgs),
    #[command(alias = "list")]
    Ls(NetworkLsArgs),
    #[command(alias = "remove")]
    Rm(NetworkRmArgs),
    Inspect(NetworkInspectArgs),
}

#[derive(Debug, Args)]
pub struct NetworkCreateArgs {
    pub name: Option<String>,
    #[arg(long)]
    pub subnet: Option<String>,
    #[arg(long)]
    pub gateway: Option<String>,
    #[arg(long)]
    pub internal: bool,
    #[arg(long)]
    pub disable_dns: bool,
    #[arg(short, long)]
    pub driver: Option<String>,
    #[arg(long)]
    pub interface_name: Option<String>,
    #[arg(long = "label")]
    pub label: Vec<String>,
}

#[derive(Debug, Args)]
pub struct NetworkLsArgs {
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct NetworkRmArgs {
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct NetworkInspectArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
}

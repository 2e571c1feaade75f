//! The clap arguments of the container commands (run, ps, logs, ...), with
//! podman's flag names.

use clap::{Args, Subcommand};

/// Flags shared by `run` and `create`.
#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    /// The container's name (default: a generated one).
    #[arg(long)]
    pub name: Option<String>,
    /// Run the container in this pod (NAME or ID; new:NAME creates it).
    #[arg(long)]
    pub pod: Option<String>,
    /// Run the container in the pod whose ID this file holds.
    #[arg(long)]
    pub pod_id_file: Option<std::path::PathBuf>,
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
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Print help (`-h` is --hostname).
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
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
    /// --add-host, --dns, --dns-option, --dns-search, --http-proxy.
    #[command(flatten)]
    pub net: crate::commands::container::network::NetworkFlags,
    /// --image-volume.
    #[command(flatten)]
    pub vol: crate::commands::container::volume::VolumeFlags,
    /// --health-cmd, --health-interval, ..., --no-healthcheck.
    #[command(flatten)]
    pub health: crate::commands::healthcheck::HealthFlags,
    /// --secret.
    #[command(flatten)]
    pub secrets: crate::commands::secret::SecretFlags,
    /// --seccomp-record.
    #[command(flatten)]
    pub seccomp_record: crate::commands::seccomp::SeccompRecordFlags,
    /// --cgroup-parent, --ip, --no-hosts, --personality, --userns, ...
    #[command(flatten)]
    pub run_flags: crate::commands::container::run_flags::RunFlagArgs,
    /// Publish ports: [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO].
    #[arg(short, long = "publish")]
    pub publish: Vec<String>,
    /// Set metadata: KEY=VALUE.
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Restart policy: no, on-failure[:MAX], always, unless-stopped.
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Pull policy: always, missing, never, newer (default: containers.conf's
    /// pull_policy, else missing).
    #[arg(long)]
    pub pull: Option<String>,
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
    /// Where the container's output goes: k8s-file (default), json-file,
    /// journald, none or passthrough.
    #[arg(long, value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// Logging option KEY=VALUE: path=FILE, max-size=SIZE, tag=TAG (may be repeated).
    #[arg(long, value_name = "OPTION")]
    pub log_opt: Vec<String>,
    /// Set KEY=VALUE with $NAME or ${NAME} replaced by the image's (or
    /// default) value, e.g. PATH=/opt/bin:${PATH}.
    #[arg(long)]
    pub env_merge: Vec<String>,
    /// Remove a variable from the defaults and the image's environment.
    #[arg(long)]
    pub unsetenv: Vec<String>,
    /// Keep none of the default and image environment, only --env's.
    #[arg(long)]
    pub unsetenv_all: bool,
    /// The process's umask (octal, e.g. 0077).
    #[arg(long)]
    pub umask: Option<String>,
    /// Add a host device: HOST[:CONTAINER[:PERMISSIONS]].
    #[arg(long)]
    pub device: Vec<String>,
    /// Allow devices through the cgroup: 'TYPE MAJOR:MINOR ACCESS' (e.g. 'c 7:* rmw').
    #[arg(long)]
    pub device_cgroup_rule: Vec<String>,
    /// Limit read rate from a device (DEVICE:RATE, e.g. /dev/sda:1mb).
    #[arg(long)]
    pub device_read_bps: Vec<String>,
    /// Limit write rate to a device (DEVICE:RATE).
    #[arg(long)]
    pub device_write_bps: Vec<String>,
    /// Limit read operations per second from a device (DEVICE:COUNT).
    #[arg(long)]
    pub device_read_iops: Vec<String>,
    /// Limit write operations per second to a device (DEVICE:COUNT).
    #[arg(long)]
    pub device_write_iops: Vec<String>,
    /// The container's timezone: a zone name, or 'local' for the host's.
    #[arg(long)]
    pub tz: Option<String>,
    /// Pass N more file descriptors (3 .. 3+N-1) to the container.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Kill the container after this many seconds.
    #[arg(long)]
    pub timeout: Option<u64>,
    /// systemd mode: true (when the command is systemd or init), false or always.
    #[arg(long, value_parser = ["true", "false", "always"])]
    pub systemd: Option<String>,
    /// Write the container monitor's pid to this file.
    #[arg(long)]
    pub conmon_pidfile: Option<std::path::PathBuf>,
    /// Write the container ID to this file (which must not exist).
    #[arg(long)]
    pub cidfile: Option<std::path::PathBuf>,
    /// Accepted with a warning: kernel memory limits are gone from the kernel.
    #[arg(long)]
    pub kernel_memory: Option<String>,
    /// The init binary to use with --init.
    #[arg(long)]
    pub init_path: Option<std::path::PathBuf>,
    /// Do not print pull progress.
    #[arg(short, long)]
    pub quiet: bool,
    /// Relative CPU weight (default 1024).
    #[arg(long)]
    pub cpu_shares: Option<u64>,
    /// CPU CFS period in microseconds.
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds per period.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPUs the container may use (e.g. 0-3,5).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use (e.g. 0-1).
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Soft memory limit (e.g. 256m).
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Block I/O weight, 10 to 1000.
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// Block I/O weight of one device: DEVICE:WEIGHT (10 to 1000).
    #[arg(long)]
    pub blkio_weight_device: Vec<String>,
    /// The OOM killer's score adjustment, -1000 to 1000.
    #[arg(long, allow_hyphen_values = true)]
    pub oom_score_adj: Option<i32>,
    /// Kernel parameter KEY=VALUE (may be repeated).
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// Add a supplementary group (gid or name) to the user.
    #[arg(long)]
    pub group_add: Vec<String>,
    /// Add an annotation KEY=VALUE for the runtime.
    #[arg(long)]
    pub annotation: Vec<String>,
    /// With --read-only, mount tmpfs on /tmp, /var/tmp and /run (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub read_only_tmpfs: Option<bool>,
    /// Pass this process's whole environment to the container.
    #[arg(long)]
    pub env_host: bool,
    /// Read labels from a file of KEY=VALUE lines.
    #[arg(long)]
    pub label_file: Vec<std::path::PathBuf>,
    /// Expose a port or range (PORT[/PROTO]); --publish-all publishes it.
    #[arg(long)]
    pub expose: Vec<String>,
    /// Mount the volumes and bind mounts of a container: CONTAINER[:ro|rw].
    #[arg(long)]
    pub volumes_from: Vec<String>,
    /// Publish every exposed port on a free host port.
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Forward signals to the container (hoist always does when attached; accepted).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: Option<bool>,
    /// Key sequence to detach (accepted; hoist has no detach from a running attach).
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// PID namespace: host, private, container:NAME or ns:PATH.
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC namespace: host, private, container:NAME or ns:PATH.
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace: host, private, container:NAME or ns:PATH.
    #[arg(long)]
    pub uts: Option<String>,
    /// Cgroup namespace: host, private, container:NAME or ns:PATH.
    #[arg(long)]
    pub cgroupns: Option<String>,
    /// The first argument is a root filesystem directory (PATH, or PATH:O
    /// to keep changes in the container's own layer), not an image.
    #[arg(long)]
    pub rootfs: bool,
    /// Which of the container's streams to connect: stdin, stdout, stderr; may be repeated.
    #[arg(short, long, value_parser = ["stdin", "stdout", "stderr"], ignore_case = true)]
    pub attach: Vec<String>,
    /// Write the container process's pid to this file.
    #[arg(long)]
    pub pidfile: Option<std::path::PathBuf>,
    /// Swappiness of the container's memory, 0 to 100 (cgroup v1).
    #[arg(long)]
    pub memory_swappiness: Option<u64>,
    /// Keep the kernel's OOM killer away from the container.
    #[arg(long)]
    pub oom_kill_disable: bool,
    /// Real-time CPU period in microseconds.
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    /// Real-time CPU runtime in microseconds per period.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// Which seccomp profile to use: default (image annotations are not read).
    #[arg(long, value_parser = ["default", "image"])]
    pub seccomp_policy: Option<String>,
    /// --disable-content-trust (docker's; no effect, as in podman).
    #[command(flatten)]
    pub content_trust: crate::cli::ContentTrustArgs,
    #[command(flatten)]
    pub platform: crate::cli::PlatformArgs,
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
    /// Remove the image when the container is removed, unless other
    /// containers use it.
    #[arg(long)]
    pub rmi: bool,
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
    /// Read environment variables from a file (KEY=VALUE lines, # comments).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Give the process every capability (the container's own set stays).
    #[arg(long)]
    pub privileged: bool,
    /// Pass on N file descriptors after stdin, stdout and stderr (3 to 2+N).
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub preserve_fds: u32,
    /// Key sequence to detach (checked; an exec is not attached to a terminal it could leave).
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Run in the latest container (then the first argument is the command).
    #[arg(short, long)]
    pub latest: bool,
    /// The container (name or ID).
    pub container: Option<String>,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Give copied files to the destination container's main user and group (default true; -a=false keeps the owners they have).
    #[arg(
        short,
        long,
        num_args = 0..=1,
        default_value = "true",
        default_missing_value = "true",
        require_equals = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        hide_default_value = true,
        hide_possible_values = true
    )]
    pub archive: bool,
    /// Let a file replace a directory at the destination, or a directory a file.
    #[arg(long)]
    pub overwrite: bool,
    /// Accepted as podman's (hidden there too): every path is resolved
    /// inside the container's root, so the container is never paused.
    #[arg(
        long,
        hide = true,
        num_args = 0..=1,
        default_value = "true",
        default_missing_value = "true",
        require_equals = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub pause: bool,
    /// CONTAINER:PATH, a host path, or - for a tar archive on stdin.
    #[arg(value_name = "[CONTAINER:]SRC_PATH")]
    pub source: String,
    /// CONTAINER:PATH, a host path, or - for a tar archive on stdout
    /// (at least one side names a container).
    #[arg(value_name = "[CONTAINER:]DEST_PATH")]
    pub destination: String,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    #[arg(required_unless_present = "latest")]
    pub container: Option<String>,
    /// The most recently created container.
    #[arg(short, long)]
    pub latest: bool,
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
    /// Seconds between two samples when streaming.
    #[arg(short, long, default_value_t = 5)]
    pub interval: i64,
    /// Leave the screen as it is between samples instead of clearing it.
    #[arg(long)]
    pub no_reset: bool,
    /// Show whole container IDs.
    #[arg(long)]
    pub no_trunc: bool,
    /// The most recently created container.
    #[arg(short, long)]
    pub latest: bool,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach to the container's output and wait for it (one container).
    #[arg(short, long)]
    pub attach: bool,
    #[arg(short, long)]
    pub interactive: bool,
    /// Start every container that is not running.
    #[arg(long)]
    pub all: bool,
    /// Only the containers that match (id=, name=, status=, exited=, label=, restart-policy=...).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Accepted for podman compatibility (hoist has no detach keys).
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Accepted for podman compatibility.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: Option<bool>,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container.
    #[arg(short, long, alias = "timeout")]
    pub time: Option<u64>,
    /// Stop every container.
    #[arg(short, long)]
    pub all: bool,
    /// Ignore containers that do not exist.
    #[arg(short, long)]
    pub ignore: bool,
    /// Only the containers that match (id=, name=, status=, label=...).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Read the container ID from this file.
    #[arg(long)]
    pub cidfile: Vec<std::path::PathBuf>,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send (name or number).
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
    /// Signal every running container.
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Read the container ID from this file.
    #[arg(long)]
    pub cidfile: Vec<std::path::PathBuf>,
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
    /// Also remove the containers that depend on these (theirs first).
    #[arg(long)]
    pub depend: bool,
    /// Only the containers that match (id=, name=, status=, label=...).
    #[arg(long)]
    pub filter: Vec<String>,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Read the container ID from this file.
    #[arg(long)]
    pub cidfile: Vec<std::path::PathBuf>,
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
    /// Do not print the header line.
    #[arg(long)]
    pub noheading: bool,
    /// Sort by command, created, id, image, names, runningfor, size or status.
    #[arg(long, default_value = "created")]
    pub sort: String,
    /// Print the N last created containers (all states).
    #[arg(short = 'n', long, default_value_t = -1)]
    pub last: i64,
    /// Accepted for podman compatibility: hoist's state is always current.
    #[arg(long)]
    pub sync: bool,
    /// Show each container's disk use (its own layer, and with its image).
    #[arg(short, long)]
    pub size: bool,
    /// Show the namespaces of each container's process.
    #[arg(long)]
    pub ns: bool,
    /// Show the pod of each container (hoist has no pods: empty).
    #[arg(short, long)]
    pub pod: bool,
    /// Print the list again every N seconds.
    #[arg(short, long, value_name = "N")]
    pub watch: Option<u64>,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Every running container (pause) or paused one (unpause).
    #[arg(short, long)]
    pub all: bool,
    /// Only the containers that match (id=, name=, status=, label=...).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Read the container ID from this file.
    #[arg(long)]
    pub cidfile: Vec<std::path::PathBuf>,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The state to wait for (stopped by default; running, paused, created,
    /// exited, stopping); may be given several times.
    #[arg(long)]
    pub condition: Vec<String>,
    /// How often to look (accepted; hoist checks every 20ms).
    #[arg(short, long, default_value = "250ms")]
    pub interval: String,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Ignore containers that do not exist (printing -1).
    #[arg(long)]
    pub ignore: bool,
    pub containers: Vec<String>,
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
    /// Only output before this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// With several containers, prefix lines with names instead of ids.
    #[arg(short = 'n', long)]
    pub names: bool,
    /// Print each container's lines in a color of its own.
    #[arg(long)]
    pub color: bool,
    /// Show the logs of the container created last.
    #[arg(short = 'l', long, conflicts_with = "containers")]
    pub latest: bool,
    #[arg(required_unless_present = "latest")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Seconds to wait for the stop before killing the container.
    #[arg(short, long)]
    pub time: Option<u64>,
    /// Restart every container.
    #[arg(short, long)]
    pub all: bool,
    /// With --all: only the running containers.
    #[arg(long)]
    pub running: bool,
    /// Only the containers that match (id=, name=, status=, label=...).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Act on the latest container.
    #[arg(short, long)]
    pub latest: bool,
    /// Read the container ID from this file.
    #[arg(long)]
    pub cidfile: Vec<std::path::PathBuf>,
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContainerInspectArgs {
    #[arg(required_unless_present = "latest")]
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub format: Option<String>,
    /// The most recently created container.
    #[arg(short, long)]
    pub latest: bool,
    /// For containers: also measure their disk use (SizeRw, SizeRootFs).
    #[arg(short, long)]
    pub size: bool,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    pub container: Option<String>,
    /// Only this container port (PORT[/PROTO]).
    pub port: Option<String>,
    /// The ports of every running container, each line led by its ID.
    #[arg(short, long)]
    pub all: bool,
    /// The most recently created container.
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Copy output to this process's stdout/stderr and exit with the container's code.
    #[arg(long)]
    pub attach: bool,
    /// Report the start on stdout and leave the caller's session.
    #[arg(long)]
    pub detached: bool,
    /// Attached, do not copy the container's stdout.
    #[arg(long)]
    pub mute_stdout: bool,
    /// Attached, do not copy the container's stderr.
    #[arg(long)]
    pub mute_stderr: bool,
    /// Detached, wait for a go-ahead byte on stdin first.
    #[arg(long)]
    pub after_gate: bool,
    pub id: String,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContainerCommand {
    // `-h` is --hostname here, as in podman: help is `--help` only.
    #[command(disable_help_flag = true)]
    Run(RunArgs),
    #[command(disable_help_flag = true)]
    Create(CreateArgs),
    Exec(ExecArgs),
    /// Copy files or directories into or out of a container (or between two).
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
    Wait(WaitArgs),
    Inspect(ContainerInspectArgs),
    Pause(PauseArgs),
    Unpause(PauseArgs),
    Port(PortArgs),
    /// Exit 0 if the container exists, 1 if not.
    Exists {
        container: String,
        /// Also containers of other tools in the store: hoist's store
        /// has none, so this changes nothing.
        #[arg(long)]
        external: bool,
    },
    /// Create a new image from a container's changes.
    Commit(crate::commands::commit::CommitArgs),
    /// Export a container's filesystem contents as a tar archive.
    Export(crate::commands::commit::ExportArgs),
    /// Show the files a container added, changed or deleted.
    Diff(crate::commands::commit::DiffArgs),
    /// Mount a container's root filesystem (none: list the mounted ones).
    Mount(crate::commands::mount::MountArgs),
    /// Unmount a container's root filesystem.
    #[command(alias = "unmount")]
    Umount(crate::commands::mount::UmountArgs),
    /// Initialize containers: make them ready so that start only starts them.
    Init(crate::commands::container::extra::InitArgs),
    /// Give a container a new name.
    Rename(crate::commands::container::extra::RenameArgs),
    /// Connect the terminal to a running container's streams.
    Attach(crate::commands::container::extra::AttachArgs),
    /// Remove every container that is not running.
    Prune(crate::commands::container::extra::ContainerPruneArgs),
    /// Make a new container with another's configuration.
    Clone(crate::commands::container::extra::CloneArgs),
    /// Update the cgroup limits of an existing container.
    Update(crate::commands::container::extra::UpdateArgs),
    /// Checkpoint running containers with CRIU.
    Checkpoint(crate::commands::checkpoint::CheckpointArgs),
    /// Restore checkpointed containers, or one from a checkpoint archive.
    Restore(crate::commands::checkpoint::RestoreArgs),
    /// Release what stopped containers left behind (mounts, network) when
    /// their monitor died.
    Cleanup(crate::commands::container::extra::CleanupArgs),
    /// Run the command an image keeps in a label (INSTALL, RUN, ...).
    Runlabel(crate::commands::container::RunlabelArgs),
}

// `volume` and `network` keep their flags beside their commands.
pub use crate::commands::container::network::NetworkCommand;
pub use crate::commands::container::volume::VolumeCommand;

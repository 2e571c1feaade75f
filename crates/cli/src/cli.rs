//! The command line, shaped after podman's: same command names, same flags
//! where they exist.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hoist",
    version,
    about = "A daemonless container engine: podman's commands, one static binary",
    propagate_version = true,
    // podman's conventions (cobra/pflag): `-v` prints the version, a flag
    // given twice keeps its last value, `-1` is a value, not a flag.
    disable_version_flag = true,
    args_override_self = true,
    allow_negative_numbers = true,
    after_help = "Environment:\n  \
        HOIST_REGISTRY_TIMEOUT          Registry read timeout: seconds (\"2.5\") or \"500ms\"; default 30.\n  \
        \x20                               A request fails when nothing moves for this long, a download\n  \
        \x20                               when it brings under 1 KiB in this long; both are retried\n  \
        \x20                               (downloads resume), a silent registry at most twice.\n  \
        HOIST_REGISTRY_CONNECT_TIMEOUT  Time allowed to connect to a registry; default 10 (seconds)."
)]
pub struct Cli {
    /// Where images (and later containers) are stored.
    #[arg(
        long,
        global = true,
        env = "HOIST_ROOT",
        default_value = "/var/lib/hoist"
    )]
    pub root: PathBuf,

    /// Log messages at or above this level: trace, debug, info, warn,
    /// warning, error, fatal, panic (default warn). RUST_LOG, when set,
    /// takes precedence.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// Log at debug level (docker's spelling of --log-level=debug).
    #[arg(short = 'D', long)]
    pub debug: bool,

    /// Print the version and exit.
    #[arg(short = 'v', long)]
    pub version: bool,

    #[command(flatten)]
    pub globals: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<TopCommand>,
}

/// podman's other global options. Those hoist has no use for are accepted
/// so that scripts written for podman run unchanged; `info` reports them.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Directory for state that does not outlive a reboot (hoist keeps its
    /// state under --root; reported by `info`).
    #[arg(long, value_name = "DIR")]
    pub runroot: Option<PathBuf>,
    /// Where named volumes live (default: ROOT/volumes; reported by `info`).
    #[arg(long, value_name = "DIR")]
    pub volumepath: Option<PathBuf>,
    /// Storage driver name (hoist stores layers its own way: reported by `info` only).
    #[arg(long, value_name = "DRIVER")]
    pub storage_driver: Option<String>,
    /// Storage driver option KEY=VALUE (may be repeated; reported by `info` only).
    #[arg(long, value_name = "OPTION")]
    pub storage_opt: Vec<String>,
    /// Events backend: file, journald or none.
    #[arg(long, value_name = "BACKEND", value_parser = ["file", "journald", "none"])]
    pub events_backend: Option<String>,
    /// Cgroup manager: cgroupfs or systemd (hoist manages cgroups itself, as cgroupfs).
    #[arg(long, value_name = "MANAGER", value_parser = ["cgroupfs", "systemd"])]
    pub cgroup_manager: Option<String>,
    /// OCI runtime for every container (run and create take --runtime per container).
    #[arg(long, value_name = "PATH")]
    pub runtime: Option<String>,
    /// Global flag for the OCI runtime (accepted; hoist's runtime takes none).
    #[arg(long, value_name = "FLAG", allow_hyphen_values = true)]
    pub runtime_flag: Vec<String>,
    /// Directory for temporary engine state (accepted).
    #[arg(long, value_name = "DIR")]
    pub tmpdir: Option<PathBuf>,
    /// Directory of network configurations (accepted).
    #[arg(long, value_name = "DIR")]
    pub network_config_dir: Option<PathBuf>,
    /// Command used to set up networking (accepted).
    #[arg(long, value_name = "PATH")]
    pub network_cmd_path: Option<PathBuf>,
    /// Path of the conmon binary (accepted; hoist has its own monitor).
    #[arg(long, value_name = "PATH")]
    pub conmon: Option<PathBuf>,
    /// OCI hooks directory (accepted; may be repeated).
    #[arg(long, value_name = "DIR")]
    pub hooks_dir: Vec<PathBuf>,
    /// Namespace of containers and pods (accepted).
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Also log to syslog (accepted).
    #[arg(long)]
    pub syslog: bool,
    /// Discard standard output.
    #[arg(long)]
    pub noout: bool,
    /// File of default mounts (accepted).
    #[arg(long, value_name = "PATH", hide = true)]
    pub default_mounts_file: Option<PathBuf>,
    /// docker's --config: ignored, with a warning, as podman does.
    #[arg(long, value_name = "DIR", hide = true)]
    pub config: Option<String>,
    /// Access a remote service (hoist has no remote mode).
    #[arg(short = 'r', long)]
    pub remote: bool,
    /// URL of a remote service (hoist has no remote mode).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Remote connection to use (hoist has no remote mode).
    #[arg(short = 'c', long, value_name = "NAME")]
    pub connection: Option<String>,
    /// docker's --context: only "default" (this machine) exists.
    #[arg(long, value_name = "NAME", default_value = "default", hide = true)]
    pub context: String,
    /// SSH identity file for a remote service (accepted).
    #[arg(long, value_name = "PATH")]
    pub identity: Option<PathBuf>,
    /// SSH mode for a remote service (accepted).
    #[arg(long, value_name = "MODE")]
    pub ssh: Option<String>,
}

impl GlobalArgs {
    /// The remote-service option given, if any: hoist has no remote mode,
    /// so a command asked to run remotely must fail rather than run here.
    pub fn remote_request(&self) -> Option<&'static str> {
        if self.remote {
            Some("--remote")
        } else if self.url.is_some() {
            Some("--url")
        } else if self.connection.is_some() {
            Some("--connection")
        } else if self.context != "default" {
            Some("--context")
        } else {
            None
        }
    }
}

/// The top level's commands: `oci` is made at once, as clap builds a
/// command tree; the others only when reached (see
/// `usage::build_path`). A deferred `oci` would get hoist's global
/// `--root` before its own (runc's), and with it hoist's default.
// One value per process: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum TopCommand {
    #[command(flatten)]
    Engine(Command),
    /// hoist's own OCI runtime, with runc's command line.
    Oci(crate::oci_args::OciArgs),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Pull an image from a registry or a local transport (oci:, oci-archive:, docker-archive:).
    Pull(PullArgs),
    /// Push an image to a registry or a local transport.
    Push(PushArgs),
    /// List the images in hoist's store.
    #[command(alias = "list")]
    Images(ImagesArgs),
    /// Remove one or more images.
    Rmi(RmiArgs),
    /// Add names to a local image.
    Tag(TagArgs),
    /// Remove names from a local image (all of them when none are given).
    Untag(UntagArgs),
    /// Show details of containers, images, volumes, networks or pods.
    Inspect(ObjectInspectArgs),
    /// Save images to an archive.
    Save(SaveArgs),
    /// Load images from an archive.
    Load(LoadArgs),
    /// Build an image from a Containerfile or Dockerfile.
    Build(Box<crate::commands::build::BuildArgs>),
    /// Docker's buildx: `buildx build` is `build`.
    #[command(subcommand)]
    Buildx(BuildxCommand),
    /// Create a new image from a container's changes.
    Commit(crate::commands::commit::CommitArgs),
    /// Make a one-layer image from a root filesystem tarball.
    Import(crate::commands::commit::ImportArgs),
    /// Export a container's filesystem contents as a tar archive.
    Export(crate::commands::commit::ExportArgs),
    /// Show the history of an image.
    History(crate::commands::commit::HistoryArgs),
    /// Show the files a container (or an image's top layer) added, changed or deleted.
    Diff(crate::commands::commit::DiffArgs),
    /// Mount a container's root filesystem (none: list the mounted ones).
    Mount(crate::commands::mount::MountArgs),
    /// Unmount a container's root filesystem.
    #[command(alias = "unmount")]
    Umount(crate::commands::mount::UmountArgs),
    /// Create and change lists of images for several platforms.
    #[command(subcommand)]
    Manifest(crate::commands::manifest::ManifestCommand),
    /// Search registries for images.
    Search(crate::commands::search::SearchArgs),
    /// Generate structured data (systemd units, Kubernetes YAML) from containers.
    #[command(subcommand)]
    Generate(crate::commands::generate::GenerateCommand),
    /// Kubernetes YAML: make pods and volumes from it, describe them in it, tear them down.
    #[command(subcommand)]
    Kube(crate::commands::kube::KubeCommand),
    /// Kubernetes YAML: make pods and volumes from it, describe them in it, tear them down.
    #[command(subcommand)]
    Play(PlayCommand),
    /// Log in to a registry; credentials go to the same auth.json podman uses.
    Login(LoginArgs),
    /// Log out of a registry.
    Logout(LogoutArgs),
    /// Make an image from a directory tree, layered so that updates download little.
    Pack(crate::commands::pack::PackArgs),
    /// Manage images.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Show information about the host and the store.
    Info(FormatArgs),
    /// Show version information.
    Version(FormatArgs),
    /// Run a command in a rootless user namespace: hoist runs as root only,
    /// so this says so and fails, as podman does for root.
    Unshare(UnshareArgs),
    /// Manage the store.
    #[command(subcommand)]
    System(SystemCommand),
    /// Make a container from an image and run its command.
    // `-h` is --hostname here, as in podman: help is `--help` only.
    #[command(disable_help_flag = true)]
    Run(crate::container_args::RunArgs),
    /// Run a command in a running container.
    Exec(crate::container_args::ExecArgs),
    /// Copy files or directories into or out of a container (or between two).
    Cp(crate::container_args::CpArgs),
    /// Show a container's processes.
    Top(crate::container_args::TopArgs),
    /// Show containers' resource use.
    Stats(crate::container_args::StatsArgs),
    /// Create a container without starting it.
    #[command(disable_help_flag = true)]
    Create(crate::container_args::CreateArgs),
    /// Start created or stopped containers.
    Start(crate::container_args::StartArgs),
    /// Stop running containers (stop signal, then SIGKILL after --time).
    Stop(crate::container_args::StopArgs),
    /// Send a signal to running containers.
    Kill(crate::container_args::KillArgs),
    /// Stop and start containers.
    Restart(crate::container_args::RestartArgs),
    /// Remove containers.
    Rm(crate::container_args::RmArgs),
    /// List containers.
    Ps(crate::container_args::PsArgs),
    /// Show a container's output.
    Logs(crate::container_args::LogsArgs),
    /// Show engine events (containers, images, volumes, networks).
    Events(crate::commands::events::EventsArgs),
    /// Wait for containers to stop and print their exit codes.
    Wait(crate::container_args::WaitArgs),
    /// Freeze every process of containers.
    Pause(crate::container_args::PauseArgs),
    /// Thaw paused containers.
    Unpause(crate::container_args::PauseArgs),
    /// List a container's published ports.
    Port(crate::container_args::PortArgs),
    /// Initialize containers: make them ready so that start only starts them.
    Init(crate::commands::container::extra::InitArgs),
    /// Give a container a new name.
    Rename(crate::commands::container::extra::RenameArgs),
    /// Connect the terminal to a running container's streams.
    Attach(crate::commands::container::extra::AttachArgs),
    /// Update the cgroup limits of an existing container.
    Update(crate::commands::container::extra::UpdateArgs),
    /// Manage containers.
    #[command(subcommand)]
    Container(crate::container_args::ContainerCommand),
    /// Manage named volumes.
    #[command(subcommand)]
    Volume(crate::container_args::VolumeCommand),
    /// Manage networks.
    #[command(subcommand)]
    Network(crate::container_args::NetworkCommand),
    /// Manage secrets.
    #[command(subcommand)]
    Secret(crate::commands::secret::SecretCommand),
    /// Work with seccomp profiles (compare recorded ones).
    #[command(subcommand)]
    Seccomp(crate::commands::seccomp::SeccompCommand),
    /// Look into checkpoint archives (what checkpointctl shows).
    #[command(subcommand)]
    Checkpoint(crate::commands::checkpoint::CheckpointCommand),
    /// Manage pods: groups of containers sharing namespaces.
    #[command(subcommand)]
    Pod(crate::commands::pod::PodCommand),
    /// Run a container's health check by hand.
    #[command(subcommand)]
    Healthcheck(crate::commands::healthcheck::HealthcheckCommand),
    /// The process that looks after one container (started by hoist itself).
    #[command(hide = true)]
    ContainerMonitor(crate::container_args::MonitorArgs),
    /// Runs a container's healthcheck every interval (started by its monitor).
    #[command(hide = true)]
    HealthcheckTimer { id: String },
    /// The init of a container run with --init (runs inside the container).
    #[command(hide = true)]
    ContainerInit {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Print a shell completion script.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages for every command into DIR.
    #[command(hide = true)]
    GenerateMan { dir: PathBuf },
}

/// `play kube`: podman's older spelling of `kube play`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum PlayCommand {
    Kube(crate::commands::kube_play::PlayArgs),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImageCommand {
    Pull(PullArgs),
    Push(PushArgs),
    #[command(alias = "list")]
    Ls(ImagesArgs),
    #[command(alias = "remove")]
    Rm(RmiArgs),
    Tag(TagArgs),
    Untag(UntagArgs),
    Inspect(InspectArgs),
    Save(SaveArgs),
    Load(LoadArgs),
    /// Exit 0 if the image exists locally, 1 if it does not.
    Exists {
        image: String,
    },
    /// Remove dangling images (with -a, every image no container uses).
    Prune(PruneArgs),
    /// Bytes and layers a client holding OLD downloads to get NEW.
    UpdateCost(crate::commands::pack::UpdateCostArgs),
    /// Convert an image's layers to eStargz, so it can be pulled lazily.
    Convert(crate::commands::convert::ConvertArgs),
    /// Build an image from a Containerfile or Dockerfile.
    Build(Box<crate::commands::build::BuildArgs>),
    /// Create a new image from a container's changes.
    Commit(crate::commands::commit::CommitArgs),
    /// Make a one-layer image from a root filesystem tarball.
    Import(crate::commands::commit::ImportArgs),
    /// Show the history of an image.
    History(crate::commands::commit::HistoryArgs),
    /// Show the files an image's top layer added, changed or deleted.
    Diff(crate::commands::commit::DiffArgs),
    /// Print the layers of an image as a tree.
    Tree(crate::commands::commit::TreeArgs),
    /// Mount an image's root filesystem, read-only (none: list the mounted ones).
    Mount(crate::commands::mount::ImageMountArgs),
    /// Undo an image mount.
    #[command(alias = "unmount")]
    Umount(crate::commands::mount::ImageUmountArgs),
    /// Search registries for images.
    Search(crate::commands::search::SearchArgs),
    /// Sign images in a registry with a GnuPG key.
    Sign(crate::commands::sign::SignArgs),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SystemCommand {
    /// Verify every blob and layer in the store.
    Check(CheckArgs),
    /// Show hoist disk usage.
    Df(crate::commands::system_store::DfArgs),
    /// Remove unused data.
    Prune(crate::commands::system_store::SystemPruneArgs),
    /// Reset hoist storage back to its empty state.
    Reset(crate::commands::system_store::ResetArgs),
    /// Show information about the host and the store.
    Info(FormatArgs),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum BuildxCommand {
    /// Build an image from a Containerfile or Dockerfile.
    Build(Box<crate::commands::build::BuildArgs>),
}

#[derive(Debug, Args, Clone, Default)]
pub struct RegistryArgs {
    /// Require HTTPS and verify certificates (false: also allow plain HTTP).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Path of the authentication file (default: podman's auth.json).
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
    /// Directory of certificates (*.crt CAs, *.cert/*.key client pairs) for the registry.
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
    /// Credentials USER[:PASSWORD] for the registry.
    #[arg(long)]
    pub creds: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PlatformArgs {
    /// Platform OS/ARCH[/VARIANT] to choose from a multi-platform image.
    #[arg(long)]
    pub platform: Option<String>,
    /// Override the architecture (with --os and --variant).
    #[arg(long)]
    pub arch: Option<String>,
    #[arg(long)]
    pub os: Option<String>,
    #[arg(long)]
    pub variant: Option<String>,
}

/// How `push` and `manifest push` rewrite what they send: the manifest
/// type, the layers' compression; and whether they sign it.
#[derive(Debug, Clone, Args)]
pub struct PushConversionArgs {
    /// The manifest type pushed: oci or v2s2 (the stored type when not
    /// given); v2s1, long deprecated, is refused.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Compression of the pushed layers (gzip or zstd); layers stored in
    /// another compression are recompressed (zstd needs an OCI manifest).
    #[arg(long, value_name = "FORMAT")]
    pub compression_format: Option<String>,
    /// Drop the image's signatures when copying: hoist keeps none, so there
    /// is nothing to drop.
    #[arg(long)]
    pub remove_signatures: bool,
    #[command(flatten)]
    pub signing: SigningArgs,
}

impl PushConversionArgs {
    /// The push options these flags give over `registry`, `compress`
    /// (--compress, which `manifest push` lacks); sigstore signing is an error.
    pub fn options(
        &self,
        registry: hoist_engine::RegistryOptions,
        compress: bool,
    ) -> anyhow::Result<hoist_engine::PushOptions> {
        if let Some(file) = &self.signing.sign_passphrase_file {
            // Read as podman reads it, whether or not a key needs it.
            std::fs::File::open(file)
                .map_err(|e| anyhow::anyhow!("--sign-passphrase-file {}: {e}", file.display()))?;
        }
        if self.signing.sign_by_sigstore_private_key.is_some() {
            anyhow::bail!(
                "--sign-by-sigstore-private-key: sigstore signing is not supported by hoist; sign with a GnuPG key (--sign-by) or with cosign"
            );
        }
        // --remove-signatures needs nothing done: hoist keeps no signatures.
        Ok(hoist_engine::PushOptions {
            registry,
            format: self
                .format
                .as_deref()
                .map(hoist_engine::ManifestFormat::from_push_flag)
                .transpose()?,
            compression: self
                .compression_format
                .as_deref()
                .map(str::parse::<hoist_engine::LayerCompression>)
                .transpose()?,
            compress,
            sign_by: self.signing.sign_by.clone(),
            sign_passphrase_file: self.signing.sign_passphrase_file.clone(),
        })
    }
}

/// podman's signing flags of `push` and `manifest push`.
#[derive(Debug, Clone, Args)]
pub struct SigningArgs {
    /// Sign the pushed image with this GnuPG key (into the registries.d lookaside).
    #[arg(long, value_name = "KEY")]
    pub sign_by: Option<String>,
    /// A sigstore private key to sign with: refused, hoist signs with GnuPG only.
    #[arg(long, value_name = "PATH")]
    pub sign_by_sigstore_private_key: Option<PathBuf>,
    /// The file whose first line is the --sign-by key's passphrase.
    #[arg(long, value_name = "PATH")]
    pub sign_passphrase_file: Option<PathBuf>,
}

/// Docker's `--disable-content-trust`: podman accepts it and does nothing
/// with it, and so does hoist, so that scripts written for docker run.
#[derive(Debug, Clone, Args)]
pub struct ContentTrustArgs {
    /// Docker's switch for image verification; accepted, no effect (as in podman).
    #[arg(
        long,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub disable_content_trust: Option<bool>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Images to pull.
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Print only the image ID.
    #[arg(short, long)]
    pub quiet: bool,
    /// Pull every tag of the repository (a tag or digest given is ignored).
    #[arg(short, long)]
    pub all_tags: bool,
    /// How to pull layers with an eStargz table of contents: lazy (fetch the
    /// table of contents now, file contents when a container reads them) or
    /// full.
    #[arg(long, default_value = "lazy", value_parser = ["lazy", "full"])]
    pub pull_mode: String,
    /// The signature policy to check the image against, instead of
    /// /etc/containers/policy.json.
    #[arg(long, value_name = "FILE")]
    pub signature_policy: Option<PathBuf>,
    #[command(flatten)]
    pub content_trust: ContentTrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub platform: PlatformArgs,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    pub image: String,
    /// Where to push (default: the image's own name).
    pub destination: Option<String>,
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the digest of the pushed manifest to this file.
    #[arg(long)]
    pub digestfile: Option<PathBuf>,
    #[command(flatten)]
    pub conversion: PushConversionArgs,
    /// Compress layers stored uncompressed (built or committed images), with
    /// gzip unless --compression-format says otherwise (default: push layers
    /// as stored).
    #[arg(long)]
    pub compress: bool,
    #[command(flatten)]
    pub content_trust: ContentTrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show only images whose name matches.
    pub image: Option<String>,
    /// Also the unnamed images others were made on (a build's steps).
    #[arg(short, long)]
    pub all: bool,
    /// Print only image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(long)]
    pub digests: bool,
    /// json, or a Go template such as '{{.Repository}}:{{.Tag}}'.
    #[arg(long)]
    pub format: Option<String>,
    /// Show only images the filter lets through: before=, after=, since=,
    /// dangling=, label=, reference=, id=, readonly= (may be repeated).
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Do not print the header row.
    #[arg(short, long)]
    pub noheading: bool,
    /// Order rows by created, id, repository, size or tag.
    #[arg(long, default_value = "created", value_parser = ["created", "id", "repository", "size", "tag"])]
    pub sort: String,
    /// Also show the image's earlier names (accepted; see --format '{{.History}}').
    #[arg(long)]
    pub history: bool,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    pub images: Vec<String>,
    /// Remove the image even if it has several names or containers use it.
    #[arg(short, long)]
    pub force: bool,
    #[arg(short, long)]
    pub all: bool,
    /// Do not fail when an image does not exist.
    #[arg(short, long)]
    pub ignore: bool,
    /// Keep the unnamed images the removed one was made on.
    #[arg(long)]
    pub no_prune: bool,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    pub image: String,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UntagArgs {
    pub image: String,
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(required_unless_present = "latest")]
    pub images: Vec<String>,
    #[arg(short, long)]
    pub format: Option<String>,
    /// The most recently created container.
    #[arg(short, long)]
    pub latest: bool,
}

/// `inspect`: any kind of object by name.
#[derive(Debug, Args)]
pub struct ObjectInspectArgs {
    /// Names, --format, --latest and --size, as `container inspect` takes them.
    #[command(flatten)]
    pub targets: crate::container_args::ContainerInspectArgs,
    /// Look the names up only as this kind of object: container, image,
    /// volume, network, pod, or all of them in that order.
    #[arg(short = 't', long = "type", value_name = "TYPE", default_value = "all")]
    pub kind: String,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ArchiveFormat {
    #[value(name = "oci-archive")]
    OciArchive,
    #[value(name = "docker-archive")]
    DockerArchive,
    #[value(name = "oci-dir")]
    OciDir,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Write to this file (default: standard output, which must not be a terminal).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "docker-archive")]
    pub format: ArchiveFormat,
    /// Save several images into one docker-archive.
    #[arg(short = 'm', long)]
    pub multi_image_archive: bool,
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the layers of OCI formats uncompressed.
    #[arg(long)]
    pub uncompressed: bool,
    /// Compress layers saved to a directory (accepted: hoist keeps each layer's compression).
    #[arg(long)]
    pub compress: bool,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from this archive or http(s) URL (default: standard input).
    #[arg(short, long)]
    pub input: Option<String>,
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    pub registry: String,
    #[arg(short, long)]
    pub username: Option<String>,
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Only check whether credentials are stored for the registry.
    #[arg(long)]
    pub get_login: bool,
    /// Also say which auth file the credentials were written to.
    #[arg(short, long)]
    pub verbose: bool,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    pub registry: Option<String>,
    /// Remove the credentials of every registry.
    #[arg(short, long)]
    pub all: bool,
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not only dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Remove without asking first.
    #[arg(short, long)]
    pub force: bool,
    /// Only images that match: label=KEY[=VALUE], label!=KEY[=VALUE],
    /// until=TIME (created before it: RFC 3339, Unix seconds or a duration
    /// such as 24h); may be repeated, all must match.
    #[arg(long)]
    pub filter: Vec<String>,
    /// Also remove images that containers outside hoist's store use: there
    /// are none (build steps run as hoist's own containers), so this
    /// changes nothing.
    #[arg(long)]
    pub external: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Remove what is corrupt or incomplete so that the next pull fetches it again.
    #[arg(short, long)]
    pub repair: bool,
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct UnshareArgs {
    /// The command (and its arguments) to run.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Also join the rootless network namespace.
    #[arg(long)]
    pub rootless_netns: bool,
}

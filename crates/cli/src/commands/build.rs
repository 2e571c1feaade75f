//! `build` (also `image build`, `buildx build`): flags into
//! [`hoist_build::exec::BuildOptions`]; the building is hoist-build's.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use hoist_build::exec::{self, BuildOptions, Builder, Output};
use hoist_container::{parse_volume_flag, Containers, CreateOptions, MountOption};
use hoist_engine::{Engine, ManifestFormat, PullOptions, PullPolicy};

use crate::cli::{GlobalArgs, RegistryArgs};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The build context: a directory (default: the current one); `-`
    /// reads the Containerfile from standard input, with no context.
    pub context: Option<PathBuf>,
    /// The Containerfile (default: CONTEXT/Containerfile, else
    /// CONTEXT/Dockerfile); `-` reads it from standard input.
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<String>,
    /// A name for the image; may be repeated.
    #[arg(short, long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// ARG=VALUE for the Containerfile's ARG instructions; may be repeated.
    #[arg(long = "build-arg", value_name = "ARG=VALUE")]
    pub build_args: Vec<String>,
    /// A file of ARG=VALUE lines (# comments and blank lines skipped).
    #[arg(long = "build-arg-file", value_name = "FILE")]
    pub build_arg_files: Vec<PathBuf>,
    /// Start the first stage from this image, whatever its FROM names.
    #[arg(long, value_name = "IMAGE")]
    pub from: Option<String>,
    /// Build up to this stage (by name).
    #[arg(long)]
    pub target: Option<String>,
    /// Run every step again (the results still fill the cache).
    #[arg(long)]
    pub no_cache: bool,
    /// Reuse cached steps (default: $BUILDAH_LAYERS, else true);
    /// --layers=false is --no-cache.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub layers: Option<String>,
    /// When to pull base images: always, missing (default), never, newer.
    #[arg(long, num_args = 0..=1, default_missing_value = "always", require_equals = true)]
    pub pull: Option<String>,
    /// --pull=always (buildah's older spelling).
    #[arg(long, hide = true)]
    pub pull_always: bool,
    /// --pull=never (buildah's older spelling).
    #[arg(long, hide = true)]
    pub pull_never: bool,
    /// How many stages to build at once once what they need is built
    /// (default 1: one after another; 0: all that are ready).
    #[arg(long)]
    pub jobs: Option<u32>,
    /// Write everything the build prints to this file instead.
    #[arg(long, value_name = "FILE")]
    pub logfile: Option<PathBuf>,
    /// Exclusion rules from this file instead of the context's
    /// .containerignore or .dockerignore.
    #[arg(long, value_name = "FILE")]
    pub ignorefile: Option<PathBuf>,
    /// The memory limit of every RUN, as `run --memory` takes it (512m, 1g).
    #[arg(short, long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// A bind mount for every RUN: HOST-DIR:CONTAINER-DIR[:OPTIONS]; may be
    /// repeated. What RUN writes there stays on the host, out of the image.
    #[arg(
        short,
        long = "volume",
        value_name = "HOST-DIR:CONTAINER-DIR[:OPTIONS]"
    )]
    pub volumes: Vec<String>,
    /// Resource limits of every RUN: TYPE=SOFT[:HARD].
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Security options of every RUN (seccomp=..., no-new-privileges).
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// The OCI runtime of every RUN (a name from containers.conf or a path).
    #[arg(long)]
    pub runtime: Option<PathBuf>,
    /// The size of /dev/shm in every RUN (512m, 1g; 64m if not given).
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// A host device every RUN gets: HOST[:CONTAINER][:PERMISSIONS]; may
    /// be repeated.
    #[arg(long = "device", value_name = "HOST[:CONTAINER][:PERMS]")]
    pub devices: Vec<String>,
    /// RUN sees the image's own /etc/hosts: hoist writes none for it.
    #[arg(long)]
    pub no_hosts: bool,
    /// The CPU weight of every RUN, relative to other processes (1024 is
    /// the usual weight).
    #[arg(short = 'c', long, value_name = "SHARES")]
    pub cpu_shares: Option<u64>,
    /// The CFS scheduler period of every RUN, in microseconds.
    #[arg(long, value_name = "MICROSECONDS")]
    pub cpu_period: Option<u64>,
    /// The CPU time every RUN may use per CFS period, in microseconds.
    #[arg(long, value_name = "MICROSECONDS")]
    pub cpu_quota: Option<i64>,
    /// The CPUs every RUN may run on (0-3, 0,1).
    #[arg(long, value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// The memory nodes every RUN may allocate from (NUMA hosts).
    #[arg(long, value_name = "NODES")]
    pub cpuset_mems: Option<String>,
    /// Memory plus swap for every RUN (a size, or -1 for swap without
    /// limit).
    #[arg(long, value_name = "SIZE")]
    pub memory_swap: Option<String>,
    /// The PID namespace of every RUN: private (default), host, or the
    /// path of a namespace to join.
    #[arg(long, value_name = "private|host|PATH")]
    pub pid: Option<String>,
    /// The IPC namespace of every RUN: private (default), host, or the
    /// path of a namespace to join.
    #[arg(long, value_name = "private|host|PATH")]
    pub ipc: Option<String>,
    /// The UTS namespace (host name) of every RUN: private (default),
    /// host, or the path of a namespace to join.
    #[arg(long, value_name = "private|host|PATH")]
    pub uts: Option<String>,
    /// The cgroup namespace of every RUN: private or host.
    #[arg(long, value_name = "private|host")]
    pub cgroupns: Option<String>,
    /// The cgroup every RUN's cgroup is made under.
    #[arg(long, value_name = "PATH")]
    pub cgroup_parent: Option<String>,
    /// A flag for the OCI runtime of every RUN (`debug` is passed on as
    /// `--debug`); may be repeated. Added to the global --runtime-flag.
    #[arg(long = "runtime-flag", value_name = "FLAG", allow_hyphen_values = true)]
    pub runtime_flags: Vec<String>,
    /// Every RUN reads this command's standard input (else it reads
    /// nothing).
    #[arg(long)]
    pub stdin: bool,
    /// Remove each RUN's container once the step succeeds (default true;
    /// hoist always does: --rm=false is refused).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub rm: Option<String>,
    /// Remove each RUN's container when the step fails too (default true;
    /// hoist always does: --force-rm=false is refused).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub force_rm: Option<String>,
    /// Build only the stages the target needs (default true); with
    /// =false every stage up to the target is built.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub skip_unused_stages: Option<String>,
    /// How RUN is isolated: oci (a container, what hoist does; the
    /// default, also from $BUILDAH_ISOLATION). chroot and rootless are
    /// refused.
    #[arg(long, value_name = "oci")]
    pub isolation: Option<String>,
    /// Keep the layers in the store uncompressed (default true). Either
    /// value is accepted: hoist's store always keeps layers uncompressed
    /// and `push` compresses them.
    #[arg(
        short = 'D',
        long,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true
    )]
    pub disable_compression: Option<String>,
    /// Accepted for compatibility: a build writes to the local store,
    /// where layers are kept uncompressed (`push` compresses them).
    #[arg(long)]
    pub compress: bool,
    /// A directory of OCI hook definitions for every RUN; may be repeated.
    /// hoist runs no hooks from such directories: one that holds a hook
    /// definition (*.json) is refused.
    #[arg(long = "hooks-dir", value_name = "DIR")]
    pub hooks_dirs: Vec<PathBuf>,
    /// How many times a failed request to a registry is tried again when
    /// pulling base images (default: hoist's own policy, 3 retries).
    #[arg(long, value_name = "N")]
    pub retry: Option<u32>,
    /// The wait before each of those retries, as a Go duration (2s,
    /// 500ms); without it the waits grow from 250ms.
    #[arg(long, value_name = "DURATION")]
    pub retry_delay: Option<String>,
    /// buildx's flag: the image goes to the local store (always so here).
    #[arg(long, hide = true)]
    pub load: bool,
    #[command(flatten)]
    pub net: super::container::network::NetworkFlags,
    /// A label for the image: KEY=VALUE; may be repeated.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// An annotation for the image's manifest: KEY=VALUE; may be repeated.
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// Leave the image's history empty (no step of the build, nor of its
    /// base image, shows in `history`).
    #[arg(long)]
    pub omit_history: bool,
    /// Label the image io.buildah.version, as podman's builds are
    /// (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub identity_label: Option<String>,
    /// An environment variable for the image: KEY=VALUE; may be repeated.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Take this variable out of the image's environment (it came from
    /// the base image or an ENV); may be repeated or comma-separated.
    #[arg(long = "unsetenv", value_name = "NAME", value_delimiter = ',')]
    pub unset_env: Vec<String>,
    /// Seconds since the epoch for every time in the new image and its
    /// new layers: the same inputs give the same image ID.
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// The network of every RUN: none, host or a network name.
    #[arg(long)]
    pub network: Option<String>,
    /// Capabilities to add to every RUN (comma-separated or repeated).
    #[arg(long = "cap-add", value_delimiter = ',')]
    pub cap_add: Vec<String>,
    /// Capabilities to drop from every RUN.
    #[arg(long = "cap-drop", value_delimiter = ',')]
    pub cap_drop: Vec<String>,
    /// A secret for RUN --mount=type=secret: id=ID,src=FILE (or
    /// id=ID,env=VAR); may be repeated. It never reaches the image.
    #[arg(long = "secret", value_name = "id=ID,src=FILE")]
    pub secrets: Vec<String>,
    /// The platform to build for, OS/ARCH[/VARIANT]: this host's (hoist
    /// does not emulate other architectures).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// The OS to build for (with --arch and --variant, over --platform or
    /// this host's): this host's, as for --platform.
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// The architecture to build for: this host's, as for --platform.
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// The architecture variant to build for (v8 for arm64).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// An SSH agent for RUN --mount=type=ssh: default (SSH_AUTH_SOCK),
    /// ID=SOCKET or ID=KEY[,KEY...]; may be repeated.
    #[arg(long = "ssh", value_name = "default|ID[=SOCKET|KEY[,KEY]]")]
    pub ssh: Vec<String>,
    /// Also write the built image's files out: type=local,dest=DIR (or a
    /// bare DIR) copies them into DIR, type=tar,dest=FILE archives them
    /// (FILE `-`, or a bare `-`: to standard output, the build's own
    /// output then going to standard error).
    #[arg(short, long, value_name = "type=local|tar,dest=PATH")]
    pub output: Option<String>,
    /// Write the image ID to this file.
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Image format: oci or docker (schema 2, without annotations).
    #[arg(long, default_value = "oci", value_parser = ["oci", "docker"])]
    pub format: String,
    /// Print only the image ID (RUN output still shows).
    #[arg(short, long)]
    pub quiet: bool,
    /// Merge the layers this build makes into one (the base image's
    /// layers stay as they are).
    #[arg(long)]
    pub squash: bool,
    /// Merge every layer of the result, the base image's too, into one.
    #[arg(long)]
    pub squash_all: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub fn build(engine: &Engine, root: &Path, globals: &GlobalArgs, a: BuildArgs) -> Result<i32> {
    // Checked when given on the command line (podman's check); one from
    // $REGISTRY_AUTH_FILE may be made later by `login`.
    let from_env = std::env::var_os("REGISTRY_AUTH_FILE");
    if let Some(path) = &a.registry.authfile {
        if !path.exists() && from_env.as_deref() != Some(path.as_os_str()) {
            bail!(
                "checking authfile: stat {}: no such file or directory",
                path.display()
            );
        }
    }
    check_accepted_flags(&a)?;
    let output: Option<exec::OutputTarget> = a.output.as_deref().map(str::parse).transpose()?;
    // Taken before anything is printed: the archive must be all that
    // reaches standard output.
    let archive_out = match output {
        Some(exec::OutputTarget::Stdout) => Some(take_stdout()?),
        _ => None,
    };
    if let Some(log) = &a.logfile {
        redirect_output(log)?;
    }
    // `build -`: the Containerfile comes on standard input, with no context.
    let stdin_context = tempfile::tempdir().context("making an empty build context")?;
    let from_stdin = a.context.as_deref() == Some(Path::new("-"));
    let context = match &a.context {
        Some(c) if from_stdin => {
            let _ = c;
            stdin_context.path().to_path_buf()
        }
        Some(c) => c.clone(),
        None => PathBuf::from("."),
    };
    if !context.is_dir() {
        bail!(
            "the build context {} is not a directory: give the directory whose files COPY reads",
            context.display()
        );
    }
    let file = if from_stdin {
        Some("-")
    } else {
        a.file.as_deref()
    };
    let (file_text, file_name) = containerfile(&context, file)?;
    let mut build_args = BTreeMap::new();
    for f in &a.build_arg_files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            insert_arg(&mut build_args, line);
        }
    }
    for arg in &a.build_args {
        insert_arg(&mut build_args, arg);
    }
    let pull_policy = match a.pull.as_deref() {
        None if a.pull_never => PullPolicy::Never,
        None if a.pull_always => PullPolicy::Always,
        None => PullPolicy::Missing,
        Some("true") => PullPolicy::Always,
        Some("false") => PullPolicy::Missing,
        Some(p) => p.parse::<PullPolicy>()?,
    };
    if a.format == "docker" && !a.annotations.is_empty() {
        tracing::warn!("annotations are not supported by the docker image format and are dropped: build with --format oci to keep them");
    }
    let conf = hoist_config::ContainersConf::load()?;
    let options = BuildOptions {
        context: context
            .canonicalize()
            .with_context(|| format!("reading {}", context.display()))?,
        file_text,
        file_name,
        tags: a.tags.clone(),
        build_args,
        from: a.from.clone(),
        target: a.target.clone(),
        all_stages: !go_bool(
            "--skip-unused-stages",
            a.skip_unused_stages.as_deref(),
            true,
        )?,
        no_cache: a.no_cache || !layers(a.layers.as_deref())?,
        pull_policy,
        pull: PullOptions {
            registry: hoist_engine::RegistryOptions {
                retry: a.retry,
                retry_delay: retry_delay(a.retry_delay.as_deref())?,
                ..super::registry_options(&a.registry)?
            },
            ..PullOptions::default()
        },
        labels: a.labels.iter().map(|l| key_value(l)).collect(),
        annotations: a.annotations.iter().map(|l| key_value(l)).collect(),
        omit_history: a.omit_history,
        format: match a.format.as_str() {
            "docker" => ManifestFormat::Docker,
            _ => ManifestFormat::Oci,
        },
        omit_identity_label: !go_bool("--identity-label", a.identity_label.as_deref(), true)?,
        env: a.env.clone(),
        unset_env: a.unset_env.clone(),
        timestamp: a.timestamp,
        network: a.network.clone(),
        run_defaults: run_defaults(&a, globals, &conf)?,
        ignore_file: a.ignorefile.clone(),
        secrets: BTreeMap::new(),
        ssh: Default::default(),
        platform: platform(&a)?,
        quiet: a.quiet,
        squash: squash_mode(a.squash, a.squash_all)?,
        // buildah's --jobs 0: no limit.
        jobs: match a.jobs {
            None => 1,
            Some(0) => usize::MAX,
            Some(n) => n as usize,
        },
    };
    let scratch = tempfile::tempdir().context("making a directory for --secret env= values")?;
    let mut secrets = BTreeMap::new();
    for spec in &a.secrets {
        let (id, path) = secret(spec, scratch.path())?;
        secrets.insert(id, path);
    }
    let ssh = exec::ssh::SshAgents::forward(&a.ssh, scratch.path())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let options = BuildOptions {
        secrets,
        ssh: std::sync::Arc::new(ssh),
        ..options
    };
    let containers = Containers::open(root)?;
    let builder = Builder {
        engine,
        containers: &containers,
        launcher: super::container::run::launcher()?,
        conf,
    };
    match exec::build(&builder, &options, &mut Output::new(a.quiet)) {
        Ok(id) => {
            if let Some(path) = &a.iidfile {
                std::fs::write(path, id.to_string())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if let Some(target) = &output {
                let stdout = archive_out.map(std::io::BufWriter::new);
                if let Err(e) = exec::write_output(&builder, &id, target, stdout) {
                    eprintln!("Error: {e}");
                    return Ok(e.exit_code());
                }
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("Error: {e}");
            if hoist_fsutil::is_disk_full(&e) {
                eprintln!("{}", crate::exit::DISK_FULL_HINT);
            }
            Ok(e.exit_code())
        }
    }
}

/// What every RUN container starts from.
fn run_defaults(
    a: &BuildArgs,
    globals: &GlobalArgs,
    conf: &hoist_config::ContainersConf,
) -> Result<CreateOptions> {
    use super::container::run;
    let mut o = CreateOptions {
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        ulimits: a.ulimit.clone(),
        memory: a
            .memory
            .as_deref()
            .map(|m| run::size_flag("--memory", m))
            .transpose()?,
        memory_swap: run::memory_swap_flag(a.memory_swap.as_deref())?,
        shm_size: run::shm_size_flag(a.shm_size.as_deref())?,
        devices: a.devices.clone(),
        cpu_shares: a.cpu_shares,
        cpu_period: a.cpu_period,
        cpu_quota: a.cpu_quota,
        cpuset_cpus: a.cpuset_cpus.clone(),
        cpuset_mems: a.cpuset_mems.clone(),
        interactive: a.stdin,
        ..CreateOptions::default()
    };
    for v in &a.volumes {
        o.mounts.push(volume(v)?);
    }
    run::check_ulimits(&a.ulimit)?;
    run::apply_security_opts(&a.security_opt, &mut o)?;
    run::apply_runtime(a.runtime.clone(), globals, conf, &mut o)?;
    o.runtime_flags.extend(
        a.runtime_flags
            .iter()
            .map(String::as_str)
            .map(run::runtime_flag),
    );
    a.net.apply(&mut o)?;
    let namespaces = [&a.pid, &a.ipc, &a.uts, &a.cgroupns].map(|v| v.as_ref().map(ns_path));
    run::apply_namespaces(namespaces.each_ref().map(Option::as_ref), &mut o)?;
    o.run_flags.cgroup_parent = a
        .cgroup_parent
        .as_deref()
        .map(super::container::run_flags::cgroup_parent)
        .transpose()?;
    super::container::run_flags::apply_addressing([None, None], None, &[], a.no_hosts, &mut o)?;
    Ok(o)
}

/// A namespace flag as buildah takes it: a bare path is a namespace to
/// join (`ns:PATH` to `run`).
fn ns_path(value: &String) -> String {
    if value.starts_with('/') {
        format!("ns:{value}")
    } else {
        value.clone()
    }
}

/// `--platform` with `--os`, `--arch` and `--variant` over it (or over
/// this host's platform); `None` when none is given.
fn platform(a: &BuildArgs) -> Result<Option<hoist_image::platform::Platform>> {
    if a.platform.is_none() && a.os.is_none() && a.arch.is_none() && a.variant.is_none() {
        return Ok(None);
    }
    let flags = crate::cli::PlatformArgs {
        platform: a.platform.clone(),
        os: a.os.clone(),
        arch: a.arch.clone(),
        variant: a.variant.clone(),
    };
    super::platform(&flags)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("--platform: {e}"))
}

/// `-v` as buildah takes it: a bind of a host path that is absolute and
/// exists; named and anonymous volumes would outlive the build unseen.
fn volume(spec: &str) -> Result<MountOption> {
    let mount = parse_volume_flag(spec)?;
    let MountOption::Bind { source, .. } = &mount else {
        bail!("invalid --volume {spec:?}: give HOST-DIR:CONTAINER-DIR[:OPTIONS] (a build mounts host paths, not named volumes)");
    };
    if !spec.starts_with('/') {
        bail!("invalid --volume {spec:?}: the host path must be absolute");
    }
    if !source.exists() {
        bail!(
            "invalid --volume {spec:?}: {}: no such file or directory",
            source.display()
        );
    }
    Ok(mount)
}

/// `--label` and `--annotation`: KEY=VALUE, a bare KEY with an empty value
/// (as buildah takes them).
fn key_value(text: &str) -> (String, String) {
    match text.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (text.to_string(), String::new()),
    }
}

/// `--retry-delay` as a Go duration.
fn retry_delay(value: Option<&str>) -> Result<Option<std::time::Duration>> {
    let Some(v) = value else {
        return Ok(None);
    };
    match hoist_container::health::parse_duration(v) {
        Some(ns) => Ok(Some(std::time::Duration::from_nanos(ns))),
        None => bail!("invalid --retry-delay {v:?}: use a duration such as 2s or 500ms"),
    }
}

/// `--layers` as Go reads booleans; unset: `$BUILDAH_LAYERS`, else true.
fn layers(flag: Option<&str>) -> Result<bool> {
    let env = std::env::var("BUILDAH_LAYERS").ok();
    go_bool("--layers", flag.or(env.as_deref()), true)
}

/// A boolean flag's value as Go reads it (`true`, `1`, `f`, ...);
/// `default` when not given.
fn go_bool(flag: &str, value: Option<&str>, default: bool) -> Result<bool> {
    match value {
        None => Ok(default),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(other) => bail!("invalid {flag} {other:?}: use true or false"),
    }
}

/// The flags that describe what hoist always does, or has no use for,
/// checked: a value asking for what hoist does not do is refused rather
/// than ignored.
fn check_accepted_flags(a: &BuildArgs) -> Result<()> {
    if !go_bool("--rm", a.rm.as_deref(), true)? {
        bail!("--rm=false: hoist does not keep the containers of RUN steps (each is removed when its step ends); leave --rm out");
    }
    if !go_bool("--force-rm", a.force_rm.as_deref(), true)? {
        bail!("--force-rm=false: hoist removes the container of a failed RUN step too, and cannot keep it; leave --force-rm out");
    }
    go_bool(
        "--disable-compression",
        a.disable_compression.as_deref(),
        true,
    )?;
    let env = std::env::var("BUILDAH_ISOLATION").ok();
    match a.isolation.as_deref().or(env.as_deref()) {
        None | Some("" | "oci" | "default") => {}
        Some(other @ ("chroot" | "rootless")) => bail!(
            "--isolation {other}: hoist runs every RUN in an OCI container and has no {other} isolation; use --isolation oci"
        ),
        Some(other) => bail!("invalid --isolation {other:?}: use oci"),
    }
    for dir in &a.hooks_dirs {
        check_hooks_dir(dir)?;
    }
    Ok(())
}

/// `--hooks-dir`: hoist runs no hooks from directories, so one that
/// defines a hook is refused (an empty or missing one changes nothing).
fn check_hooks_dir(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let hook = entries
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"));
    if let Some(hook) = hook {
        bail!(
            "--hooks-dir {}: hoist does not run OCI hooks from hook directories, and {} defines one; build without it",
            dir.display(),
            hook.display()
        );
    }
    Ok(())
}

/// `--logfile`: this process's standard output and error go to `path`
/// (RUN output included, as the containers inherit them).
fn redirect_output(path: &Path) -> Result<()> {
    use std::os::fd::AsFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening the log file {}", path.display()))?;
    rustix::stdio::dup2_stdout(file.as_fd()).context("redirecting standard output")?;
    rustix::stdio::dup2_stderr(file.as_fd()).context("redirecting standard error")?;
    Ok(())
}

/// `--output -`: the archive gets this process's standard output to
/// itself (returned); what the build prints, RUN output included, goes
/// to standard error instead.
fn take_stdout() -> Result<std::fs::File> {
    use std::os::fd::AsFd;
    let saved = rustix::io::dup(std::io::stdout().as_fd())
        .context("keeping standard output for the --output archive")?;
    rustix::stdio::dup2_stdout(std::io::stderr().as_fd())
        .context("sending the build's output to standard error")?;
    Ok(std::fs::File::from(saved))
}

/// `--secret id=ID,src=FILE` or `id=ID,env=VAR` (the variable's value is
/// written to a file in `scratch`, which only this build reads).
fn secret(spec: &str, scratch: &Path) -> Result<(String, PathBuf)> {
    let mut id = None;
    let mut src = None;
    let mut env = None;
    for field in spec.split(',') {
        match field.split_once('=') {
            Some(("id", v)) => id = Some(v.to_string()),
            Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
            Some(("env", v)) => env = Some(v.to_string()),
            Some(("type", "file" | "env")) => {}
            _ => bail!("--secret {spec:?}: expected id=ID,src=FILE or id=ID,env=VAR"),
        }
    }
    let Some(id) = id else {
        bail!("--secret {spec:?}: the id= is missing (RUN --mount=type=secret,id=ID names it)");
    };
    let path = match (src, env) {
        (Some(p), _) => {
            if !p.is_file() {
                bail!("--secret {spec:?}: {} is not a file", p.display());
            }
            p
        }
        (None, Some(var)) => {
            let value = std::env::var(&var)
                .with_context(|| format!("--secret {spec:?}: the variable {var} is not set"))?;
            let p = scratch.join(format!("secret-{}", secrets_file_name(&id)));
            std::fs::write(&p, value).with_context(|| format!("writing {}", p.display()))?;
            p
        }
        (None, None) => bail!("--secret {spec:?}: give src=FILE or env=VAR"),
    };
    Ok((id, path))
}

/// A file name for a secret id (ids may hold `/`).
fn secrets_file_name(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `NAME=VALUE`; a bare `NAME` takes the value from hoist's environment
/// (as podman does), and is skipped when that has none.
fn insert_arg(args: &mut BTreeMap<String, String>, text: &str) {
    match text.split_once('=') {
        Some((k, v)) => {
            args.insert(k.to_string(), v.to_string());
        }
        None => {
            if let Ok(v) = std::env::var(text) {
                args.insert(text.to_string(), v);
            }
        }
    }
}

/// The Containerfile's text and the name errors call it by.
fn containerfile(context: &Path, file: Option<&str>) -> Result<(String, String)> {
    let path = match file {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the Containerfile from standard input")?;
            return Ok((text, "stdin".into()));
        }
        // A relative name not found here is looked for in the context.
        Some(f) => {
            let p = PathBuf::from(f);
            if !p.exists() && p.is_relative() && context.join(&p).exists() {
                context.join(p)
            } else {
                p
            }
        }
        None => {
            let found = ["Containerfile", "Dockerfile"]
                .iter()
                .map(|n| context.join(n))
                .find(|p| p.is_file());
            match found {
                Some(p) => p,
                None => bail!(
                    "{}: no such file or directory (nor a Containerfile there): name the file with --file",
                    context.join("Dockerfile").display()
                ),
            }
        }
    };
    if !path.exists() {
        bail!("{}: no such file or directory", path.display());
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the Containerfile {}", path.display()))?;
    Ok((text, path.display().to_string()))
}

/// `--squash` or `--squash-all` (not both: one already says what to merge).
fn squash_mode(squash: bool, all: bool) -> Result<exec::Squash> {
    Ok(match (squash, all) {
        (true, true) => bail!(
            "--squash and --squash-all cannot be used together: --squash merges the new layers, \
             --squash-all every layer; pick one"
        ),
        (true, false) => exec::Squash::New,
        (false, true) => exec::Squash::All,
        (false, false) => exec::Squash::No,
    })
}

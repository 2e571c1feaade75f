//! What a start adds to the runtime spec from the run flags beyond the
//! basics: environment defaults, umask and capabilities from
//! containers.conf, devices (`--device`, `--privileged`,
//! `--device-cgroup-rule`, block I/O throttles), `--tz`,
//! `/run/.containerenv`, systemd mode; and the working directory check
//! podman makes before the runtime runs.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use hoist_runtime::spec::{
    host_device, host_devices, BlkioKind, BlkioThrottle, DeviceRule, MountSpec, NamespaceMode,
    SpecOptions,
};
use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;

/// Where podman-style engines describe the container to itself.
pub const CONTAINERENV: &str = "/run/.containerenv";

/// Checks a `--pid`/`--ipc`/`--uts` value (`kind` names the flag).
pub fn check_namespace_flag(kind: &str, value: &str) -> Result<()> {
    match value.split_once(':') {
        None if matches!(value, "host" | "private" | "") => Ok(()),
        // IPC: `shareable` (the default) may be joined, `private` not;
        // `none` has no /dev/shm.
        None if kind == "ipc" && matches!(value, "shareable" | "none") => Ok(()),
        Some(("container", name)) if !name.is_empty() => Ok(()),
        Some(("ns", path)) if path.starts_with('/') => Ok(()),
        _ => Err(ContainerError::Invalid(format!(
            "invalid --{kind} {value:?}: use host, private, container:NAME or ns:PATH"
        ))),
    }
}

/// The namespace a `--pid`/`--ipc`/`--uts` value asks for; `container:X`
/// joins X's, which must be running.
fn namespace(
    cs: &crate::store::Containers,
    kind: &str,
    value: Option<&str>,
) -> Result<NamespaceMode> {
    let Some(value) = value else {
        return Ok(NamespaceMode::Private);
    };
    Ok(match value.split_once(':') {
        None if value == "host" => NamespaceMode::Host,
        Some(("ns", path)) => NamespaceMode::Path(path.into()),
        Some(("container", name)) => {
            let other = cs.get(name)?;
            if kind == "ipc" {
                check_ipc_donor(&other, name)?;
            }
            let pid = other
                .state
                .pid
                .filter(|_| other.status().is_active())
                .ok_or_else(|| {
                    ContainerError::Invalid(format!(
                        "--{kind} container:{name}: that container is not running; start it first"
                    ))
                })?;
            NamespaceMode::Path(format!("/proc/{pid}/ns/{kind}").into())
        }
        _ => NamespaceMode::Private,
    })
}

/// `--ipc container:NAME` joins only a shareable IPC namespace, as podman:
/// one made with `--ipc private` is the donor's alone.
fn check_ipc_donor(donor: &Container, name: &str) -> Result<()> {
    if donor.config.options.ipc.as_deref() == Some("private") {
        return Err(ContainerError::Invalid(format!(
            "joining the IPC namespace of container {name} is not allowed: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
        )));
    }
    Ok(())
}

/// At create: a `--ipc container:NAME` must name a container whose IPC
/// namespace may be shared.
pub(crate) fn check_ipc_join(cs: &crate::store::Containers, ipc: Option<&str>) -> Result<()> {
    if let Some(name) = ipc.and_then(|v| v.strip_prefix("container:")) {
        check_ipc_donor(&cs.get(name)?, name)?;
    }
    Ok(())
}

/// Fills the parts of `opts` that come from the options beyond the basics.
pub(crate) fn apply(
    cs: &crate::store::Containers,
    c: &Container,
    opts: &mut SpecOptions,
) -> Result<()> {
    let o = &c.config.options;
    namespaces(cs, c, opts)?;
    opts.tuning = tuning(o);
    opts.sysctls = sysctls(o, opts);
    opts.group_add = o.group_add.clone();
    opts.annotations
        .extend(o.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(t) = o.read_only_tmpfs {
        opts.read_only_tmpfs = t;
    }
    opts.default_env = o.default_env.clone();
    opts.unset_env = o.unset_env.clone();
    opts.env_merge = o.env_merge.clone();
    opts.unset_env_all = o.unset_env_all;
    if let Some(u) = o.umask {
        opts.umask = u;
    }
    opts.default_capabilities = o.default_capabilities.clone();
    devices(c, opts)?;
    mounts(c, opts)
}

/// The bind keeps the tmpfs's own flags: a remount inside a user
/// namespace may not drop them (the kernel locks them), and podman's
/// /dev/shm has them anyway.
fn shm_bind(source: PathBuf) -> MountSpec {
    MountSpec::Bind {
        source,
        destination: "/dev/shm".into(),
        read_only: false,
        options: ["nosuid", "nodev", "noexec"].map(String::from).to_vec(),
    }
}

/// `--pid`, `--ipc`, `--uts`, `--cgroupns`.
fn namespaces(cs: &crate::store::Containers, c: &Container, opts: &mut SpecOptions) -> Result<()> {
    let o = &c.config.options;
    opts.pid = namespace(cs, "pid", o.pid.as_deref())?;
    opts.ipc = namespace(cs, "ipc", o.ipc.as_deref())?;
    // `--ipc none`: an IPC namespace of its own and no /dev/shm.
    opts.shm = o.ipc.as_deref() != Some("none");
    // Joining another container's IPC namespace shares its /dev/shm too
    // (as podman, and as a pod's containers expect) when it has one the
    // host sees; otherwise the joiner keeps a tmpfs of its own.
    if let Some(donor) = o.ipc.as_deref().and_then(|v| v.strip_prefix("container:")) {
        if let Some(source) = crate::shm::of(&cs.get(donor)?) {
            opts.mounts.push(shm_bind(source));
        }
    }
    if crate::shm::is_shareable(o) {
        opts.mounts
            .push(shm_bind(crate::shm::mount(c, opts.shm_size)?));
    }
    opts.uts = namespace(cs, "uts", o.uts.as_deref())?;
    if o.cgroupns.is_some() {
        opts.cgroupns = Some(namespace(cs, "cgroup", o.cgroupns.as_deref())?);
    }
    Ok(())
}

fn tuning(o: &crate::options::CreateOptions) -> hoist_runtime::spec::Tuning {
    hoist_runtime::spec::Tuning {
        cpu_shares: o.cpu_shares,
        cpu_period: o.cpu_period,
        cpu_quota: o.cpu_quota,
        cpuset_cpus: o.cpuset_cpus.clone(),
        cpuset_mems: o.cpuset_mems.clone(),
        memory_reservation: o.memory_reservation,
        blkio_weight: o.blkio_weight,
        oom_score_adj: o.oom_score_adj,
        memory_swappiness: o.memory_swappiness,
        oom_kill_disable: o.oom_kill_disable,
        cpu_rt_period: o.cpu_rt_period,
        cpu_rt_runtime: o.cpu_rt_runtime,
    }
}

/// The sysctls to set: parameters of a namespace the container shares
/// with the host are the host's, left alone as podman leaves them.
fn sysctls(
    o: &crate::options::CreateOptions,
    opts: &SpecOptions,
) -> std::collections::BTreeMap<String, String> {
    let shared = |k: &str| {
        (opts.network == NamespaceMode::Host && k.starts_with("net."))
            || (opts.ipc == NamespaceMode::Host
                && ["kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue."]
                    .iter()
                    .any(|p| k.starts_with(p)))
            || (opts.uts == NamespaceMode::Host
                && (k == "kernel.hostname" || k == "kernel.domainname"))
    };
    o.sysctls
        .iter()
        .filter(|(k, _)| !shared(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Device nodes, cgroup rules and block I/O throttles.
fn devices(c: &Container, opts: &mut SpecOptions) -> Result<()> {
    let o = &c.config.options;
    if o.privileged {
        opts.devices = host_devices(systemd_mode(c));
    }
    for d in &o.devices {
        opts.devices.push(device(d)?);
    }
    for r in &o.device_cgroup_rules {
        opts.device_rules.push(r.parse::<DeviceRule>()?);
    }
    for b in &o.blkio {
        opts.blkio.push(throttle(b)?);
    }
    Ok(())
}

/// `--tz`, `/run/.containerenv` and systemd mode's tmpfs mounts.
fn mounts(c: &Container, opts: &mut SpecOptions) -> Result<()> {
    let o = &c.config.options;
    if let Some(tz) = &o.tz {
        opts.mounts.push(MountSpec::Bind {
            source: zone_file(tz)?,
            destination: "/etc/localtime".into(),
            read_only: true,
            options: Vec::new(),
        });
    }
    if systemd_mode(c) {
        for dest in ["/run", "/run/lock", "/tmp", "/var/log/journal"] {
            if !o.mounts.iter().any(|m| m.destination() == dest) {
                opts.mounts.push(MountSpec::Tmpfs {
                    destination: dest.into(),
                    size: None,
                    mode: Some(if dest == "/tmp" { 0o1777 } else { 0o755 }),
                    options: vec!["noexec".into()],
                });
            }
        }
    }
    // After systemd mode's tmpfs on /run, which would hide it.
    let env_file = write_containerenv(c)?;
    opts.mounts.push(MountSpec::Bind {
        source: env_file,
        destination: CONTAINERENV.into(),
        read_only: true,
        options: Vec::new(),
    });
    Ok(())
}

/// Whether the container runs in systemd mode: `--systemd=always`, or
/// `--systemd=true` (the default) with a command that is systemd or init.
pub(crate) fn systemd_mode(c: &Container) -> bool {
    match c.config.options.systemd.as_deref() {
        Some("always") => true,
        Some("false") => false,
        _ => {
            let cmd = c.command();
            cmd.first().is_some_and(|first| {
                let base = Path::new(first).file_name().and_then(|n| n.to_str());
                matches!(base, Some("init" | "systemd"))
                    || first == "/usr/sbin/init"
                    || first == "/sbin/init"
            })
        }
    }
}

/// Checks a `--device` value at create time: the host device must exist.
pub(crate) fn check_device(spec: &str) -> Result<()> {
    device(spec).map(drop)
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`.
fn device(spec: &str) -> Result<hoist_runtime::spec::DeviceSpec> {
    let parts: Vec<&str> = spec.split(':').collect();
    let is_perms = |s: &str| !s.is_empty() && s.chars().all(|c| "rwm".contains(c));
    let (host, dest, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if is_perms(p) => (*h, *h, *p),
        [h, d] => (*h, *d, "rwm"),
        [h, d, p] if is_perms(p) => (*h, *d, *p),
        _ => {
            return Err(ContainerError::Invalid(format!(
                "invalid --device {spec:?}: use HOST[:CONTAINER][:PERMISSIONS] with permissions from rwm"
            )))
        }
    };
    host_device(Path::new(host), dest, perms)
        .map_err(io_err("reading the device", host))?
        .ok_or_else(|| {
            ContainerError::Invalid(format!("--device {host}: not a character or block device"))
        })
}

/// A block I/O option with its device's numbers.
fn throttle(b: &crate::options::BlkioOption) -> Result<BlkioThrottle> {
    let kind = match b.kind.as_str() {
        "read-bps" => BlkioKind::ReadBps,
        "write-bps" => BlkioKind::WriteBps,
        "read-iops" => BlkioKind::ReadIops,
        "weight" => BlkioKind::Weight,
        _ => BlkioKind::WriteIops,
    };
    let meta = std::fs::metadata(&b.device).map_err(io_err("reading the device", &b.device))?;
    Ok(BlkioThrottle {
        kind,
        major: i64::from(rustix::fs::major(meta.rdev())),
        minor: i64::from(rustix::fs::minor(meta.rdev())),
        rate: b.rate,
    })
}

/// The zoneinfo file of `--tz` (`local`: the host's own).
pub fn zone_file(tz: &str) -> Result<PathBuf> {
    let unknown = || {
        ContainerError::Invalid(format!(
            "finding timezone: unknown time zone {tz}: use a name under /usr/share/zoneinfo (e.g. Europe/Berlin) or local"
        ))
    };
    let path = if tz == "local" {
        PathBuf::from("/etc/localtime")
    } else {
        if tz.is_empty() || tz.starts_with('/') || tz.split('/').any(|p| p == "..") {
            return Err(unknown());
        }
        Path::new("/usr/share/zoneinfo").join(tz)
    };
    let real = std::fs::canonicalize(&path).map_err(|_| unknown())?;
    if !real.is_file() {
        return Err(unknown());
    }
    Ok(real)
}

/// Writes the container's `.containerenv`: empty, or with `--privileged`
/// what podman writes there (engine, name, id, image, imageid, rootless).
fn write_containerenv(c: &Container) -> Result<PathBuf> {
    let dir = c.dir.join("userdata");
    std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    let path = dir.join(".containerenv");
    let text = if c.config.options.privileged {
        format!(
            "engine=\"podman-hoist-{}\"\nname=\"{}\"\nid=\"{}\"\nimage=\"{}\"\nimageid=\"{}\"\nrootless={}\n",
            env!("CARGO_PKG_VERSION"),
            c.name(),
            c.id(),
            c.config.image,
            c.config.image_id,
            u8::from(!rustix::process::geteuid().is_root()),
        )
    } else {
        String::new()
    };
    std::fs::write(&path, text).map_err(io_err("writing", &path))?;
    Ok(path)
}

/// Whether `path` exists inside `root`, resolved as if `root` were `/`.
fn exists_in_root(root: &Path, path: &str) -> bool {
    let Ok(dir) = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return true; // cannot tell: let the runtime decide
    };
    !matches!(
        rustix::fs::openat2(
            &dir,
            path.trim_start_matches('/'),
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ),
        Err(rustix::io::Errno::NOENT)
    )
}

/// `/etc/mtab`, which `mount` and `df` read, as a link to /proc/mounts when
/// the image has none (as podman makes it); inside the root filesystem
/// whatever links the image's /etc holds.
pub(crate) fn ensure_mtab(c: &Container) -> Result<()> {
    let root = c.rootfs();
    if exists_in_root(&root, "/etc/mtab") {
        return Ok(());
    }
    if !exists_in_root(&root, "/etc") {
        mkdir_in_root(&root, "/etc")?;
    }
    let rootfd = rustix::fs::open(
        &root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_err("opening", &root)(e.into()))?;
    // An /etc that is no directory (a link to nowhere, a file) gets no
    // mtab: it is the image's business, not a reason to fail the start.
    let Ok(etc) = rustix::fs::openat2(
        &rootfd,
        "etc",
        OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) else {
        return Ok(());
    };
    match rustix::fs::symlinkat("/proc/mounts", &etc, "mtab") {
        Ok(()) | Err(rustix::io::Errno::EXIST) => Ok(()),
        Err(e) => Err(io_err("creating", root.join("etc/mtab"))(e.into())),
    }
}

/// Makes directory `path` (and its parents) inside `root`, every lookup
/// resolved inside `root`, so an image's symlinks cannot lead outside.
fn mkdir_in_root(root: &Path, path: &str) -> Result<()> {
    let rootfd = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_err("opening", root)(e.into()))?;
    let mut so_far = String::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        let parent = rustix::fs::openat2(
            &rootfd,
            if so_far.is_empty() {
                "."
            } else {
                so_far.as_str()
            },
            OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
        .map_err(|e| io_err("opening", root.join(&so_far))(e.into()))?;
        match rustix::fs::mkdirat(&parent, part, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(io_err("creating the directory", path)(e.into())),
        }
        if !so_far.is_empty() {
            so_far.push('/');
        }
        so_far.push_str(part);
    }
    Ok(())
}

/// podman's working directory rule: a missing directory the image names
/// is created; one given with `--workdir` must exist, unless a mount
/// provides it (it is a mount's destination, inside one, or on the way to
/// one, which the runtime makes): else podman's error, exit 126.
pub(crate) fn ensure_workdir(c: &Container, cwd: &str) -> Result<()> {
    let root = c.rootfs();
    if exists_in_root(&root, cwd) {
        return Ok(());
    }
    if c.config.options.workdir.is_none() {
        return mkdir_in_root(&root, cwd);
    }
    let cwd_clean = cwd.trim_end_matches('/');
    let provided = c.config.options.mounts.iter().any(|m| {
        let dest = m.destination().trim_end_matches('/');
        dest == cwd_clean
            || dest.starts_with(&format!("{cwd_clean}/"))
            || cwd_clean.starts_with(&format!("{dest}/"))
    });
    if provided {
        return Ok(());
    }
    Err(ContainerError::StartFailed {
        code: crate::EXIT_CANNOT_INVOKE,
        message: format!("workdir {cwd:?} does not exist on container {}", c.id()),
    })
}

/// The global options hoist's built-in runtime takes, as runc names
/// them; they change nothing in it.
const BUILT_IN_RUNTIME_FLAGS: &[&str] = &[
    "debug",
    "log",
    "log-format",
    "systemd-cgroup",
    "rootless",
    "criu",
];

/// `--runtime-flag`s are for the runtime: the built-in one refuses those
/// it does not know, as an external runtime would (exit 126).
pub(crate) fn check_runtime_flags(c: &Container) -> Result<()> {
    let o = &c.config.options;
    if o.runtime.is_some() {
        return Ok(());
    }
    for flag in &o.runtime_flags {
        let name = flag.trim_start_matches('-');
        let name = name.split_once('=').map_or(name, |(n, _)| n);
        if !BUILT_IN_RUNTIME_FLAGS.contains(&name) {
            return Err(ContainerError::StartFailed {
                code: crate::EXIT_CANNOT_INVOKE,
                message: format!(
                    "OCI runtime error: hoist: flag provided but not defined: {flag}; the built-in runtime takes --{}",
                    BUILT_IN_RUNTIME_FLAGS.join(", --")
                ),
            });
        }
    }
    Ok(())
}

/// `--preserve-fds N`: descriptors 3 .. 3+N-1 must be ones `run` was
/// given. Those survived an exec, so they are not close-on-exec; every
/// descriptor hoist opens itself is, and must not reach the container.
pub(crate) fn check_preserved_fds(n: u32) -> Result<()> {
    for fd in 3..3 + i32::try_from(n).unwrap_or(i32::MAX - 3) {
        // SAFETY: fcntl(F_GETFD) only reads the descriptor's flags; an
        // invalid number is reported as EBADF.
        #[allow(unsafe_code)]
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        let why = if flags < 0 {
            "it is not open"
        } else if flags & libc::FD_CLOEXEC != 0 {
            "it was not given to run (hoist has it open for itself)"
        } else {
            continue;
        };
        return Err(ContainerError::Invalid(format!(
            "--preserve-fds {n}: file descriptor {fd} cannot be passed on: {why}; open descriptors 3 to {} for run",
            2 + n
        )));
    }
    Ok(())
}

/// `--pidfile`: the pid of the container's process, once it runs.
pub(crate) fn write_pidfile(c: &Container, pid: i32) -> Result<()> {
    if let Some(path) = &c.config.options.pidfile {
        std::fs::write(path, pid.to_string()).map_err(io_err("writing the pid file", path))?;
    }
    Ok(())
}

/// `--conmon-pidfile`: the monitor's pid, for service managers.
pub(crate) fn write_monitor_pidfile(c: &Container) -> Result<()> {
    let pid = std::process::id().to_string();
    if let Some(path) = &c.config.options.monitor_pidfile {
        std::fs::write(path, &pid).map_err(io_err("writing the monitor pid file", path))?;
    }
    // Always beside the container's run files too: the PIDFile= of the
    // units `generate systemd` writes. Only those units need it, so a
    // failure does not stop the container.
    let own = crate::systemd::monitor_pid_file(c);
    if let Err(e) = std::fs::write(&own, &pid) {
        tracing::warn!(path = %own.display(), error = %e, "cannot write the monitor pid file");
    }
    Ok(())
}

/// `--timeout`: kills the container's process once its time is up.
pub(crate) struct Timeout {
    fired: std::sync::Arc<std::sync::atomic::AtomicBool>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Timeout {
    /// Starts the clock for process `pid` (a child of ours). The timer
    /// thread only sleeps and sends one signal through a pidfd, so a fork
    /// made meanwhile (a restart) inherits no lock of it.
    pub(crate) fn start(pid: i32, secs: u64) -> Option<Timeout> {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let pid = rustix::process::Pid::from_raw(pid)?;
        let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()?;
        let fired = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (f, d) = (fired.clone(), done.clone());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        std::thread::spawn(move || {
            while !d.load(Ordering::SeqCst) {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    f.store(true, Ordering::SeqCst);
                    let _ = rustix::process::pidfd_send_signal(&fd, rustix::process::Signal::KILL);
                    return;
                }
                std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
            }
        });
        Some(Timeout { fired, done })
    }

    /// Stops the clock; whether it had run out.
    pub(crate) fn stop(self) -> bool {
        use std::sync::atomic::Ordering;
        self.done.store(true, Ordering::SeqCst);
        self.fired.load(Ordering::SeqCst)
    }
}

/// A socket bound to `addr` that holds the port; a TCP one also listens,
/// as podman's does: tools such as `ss -ltn` show the port as taken, and a
/// connection that forwarding rules no longer redirect waits there instead
/// of being refused. Nothing accepts: with the rules in place, netavark's
/// DNAT sends every connection to the container before it could arrive.
fn hold_port(
    addr: std::net::SocketAddr,
    kind: nix::sys::socket::SockType,
) -> std::io::Result<std::os::fd::OwnedFd> {
    use nix::sys::socket::{bind, socket, AddressFamily, SockFlag, SockaddrIn, SockaddrIn6};
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket(family, kind, SockFlag::SOCK_CLOEXEC, None)?;
    match addr {
        std::net::SocketAddr::V4(a) => {
            bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(a))?
        }
        std::net::SocketAddr::V6(a) => {
            bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn6::from(a))?
        }
    }
    if kind == nix::sys::socket::SockType::Stream {
        nix::sys::socket::listen(&fd, nix::sys::socket::Backlog::new(1)?)?;
    }
    Ok(fd)
}

/// Binds every host port the container publishes, as podman does, so a
/// second container asking for a port in use fails to start (exit 126,
/// podman's message) instead of both claiming it. The sockets are held
/// while the container runs; the forwarding itself is netavark's.
pub(crate) fn reserve_ports(
    ports: &[hoist_network::PortMapping],
) -> Result<Vec<std::os::fd::OwnedFd>> {
    use hoist_network::Protocol;
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let mut held = Vec::new();
    for p in ports.iter().filter(|p| p.host_port != 0) {
        for i in 0..p.range.max(1) {
            let port = p.host_port.saturating_add(i);
            let ip = p.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            let addr = SocketAddr::new(ip, port);
            let kind = match p.protocol {
                Protocol::Tcp => nix::sys::socket::SockType::Stream,
                Protocol::Udp => nix::sys::socket::SockType::Datagram,
                Protocol::Sctp => continue,
            };
            let bound = hold_port(addr, kind);
            match bound {
                Ok(fd) => held.push(fd),
                Err(e) => {
                    let proto = p.protocol.as_str();
                    let family = if ip.is_ipv4() { "4" } else { "6" };
                    let host = p.host_ip.map(|i| i.to_string()).unwrap_or_default();
                    return Err(ContainerError::StartFailed {
                        code: crate::EXIT_CANNOT_INVOKE,
                        message: format!(
                            "cannot listen on the {} port: listen {proto}{family} {host}:{port}: bind: {}",
                            proto.to_ascii_uppercase(),
                            if e.kind() == std::io::ErrorKind::AddrInUse {
                                "address already in use".to_string()
                            } else {
                                e.to_string()
                            }
                        ),
                    });
                }
            }
        }
    }
    Ok(held)
}

/// The runtime could not create or start the container: podman's exit
/// code 126 and its `OCI runtime error` prefix.
pub(crate) fn oci_runtime_error(e: hoist_runtime::executor::RuntimeError) -> ContainerError {
    ContainerError::StartFailed {
        code: crate::EXIT_CANNOT_INVOKE,
        message: format!("OCI runtime error: {e}"),
    }
}

/// `run --rmi`: removes the container's image (by the name it was run
/// with), unless other containers use it; that is no failure of the run.
pub(crate) fn remove_image(cs: &crate::store::Containers, c: &Container) {
    let engine = match hoist_engine::Engine::open(cs.root()) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "--rmi: opening the image store");
            return;
        }
    };
    let name = if c.config.image.is_empty() {
        &c.config.image_id
    } else {
        &c.config.image
    };
    match engine.remove_image(name, false, cs) {
        Ok(_) | Err(hoist_engine::EngineError::ImageInUse { .. }) => {}
        Err(e) => tracing::warn!(error = %e, image = %name, "--rmi: removing the image"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_port_in_use_fails_the_start() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let spec = format!("127.0.0.1:{port}:80");
        let ports = hoist_network::parse_port_specs(&[spec]).unwrap();
        let e = reserve_ports(&ports).unwrap_err();
        assert_eq!(e.exit_code(), crate::EXIT_CANNOT_INVOKE);
        assert_eq!(
            e.to_string(),
            format!("cannot listen on the TCP port: listen tcp4 127.0.0.1:{port}: bind: address already in use")
        );
        drop(taken);
        let held = reserve_ports(&ports).unwrap();
        assert_eq!(held.len(), 1);
        // Listening, as podman's reservation: a connection is taken in by
        // the kernel (and never accepted), not refused.
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("the held port listens");
        assert!(
            reserve_ports(&ports).is_err(),
            "held while the container runs"
        );
    }

    #[test]
    fn only_inherited_descriptors_are_preserved() {
        check_preserved_fds(0).unwrap();
        // A descriptor this process opened is close-on-exec.
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
        let n = u32::try_from(fd - 2).unwrap();
        let e = check_preserved_fds(n).unwrap_err().to_string();
        assert!(e.contains("cannot be passed on"), "{e}");
    }

    #[test]
    fn zones() {
        assert!(zone_file("UTC").is_ok() || !Path::new("/usr/share/zoneinfo/UTC").exists());
        for bad in ["Nowhere/Special", "../etc/passwd", "/etc/passwd", ""] {
            let e = zone_file(bad).unwrap_err().to_string();
            assert!(e.contains("unknown time zone"), "{bad}: {e}");
        }
    }

    #[test]
    fn directories_are_made_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("escape")).unwrap();
        mkdir_in_root(d.path(), "/a/b/c").unwrap();
        assert!(d.path().join("a/b/c").is_dir());
        assert!(exists_in_root(d.path(), "/a/b"));
        // An absolute symlink resolves inside the root: no directory
        // appears on the host side.
        let _ = mkdir_in_root(d.path(), "/escape/x");
        assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    }

    #[test]
    fn device_specs() {
        let d = device("/dev/null:/dev/mynull:rw").unwrap();
        assert_eq!(
            (d.path.as_str(), d.access.as_str(), d.major),
            ("/dev/mynull", "rw", 1)
        );
        assert_eq!(device("/dev/null:r").unwrap().path, "/dev/null");
        assert!(device("/etc/passwd").is_err());
        assert!(device("/dev/null:/x:rwz").is_err());
    }
}

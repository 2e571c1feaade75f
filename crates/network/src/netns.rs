//! Named network namespaces, kept alive by a bind mount of their nsfs file
//! (the same scheme as `ip netns`), so containers and netavark can join
//! them by path.
//!
//! A new namespace is made by a short-lived helper thread that unshares its
//! own network namespace and bind-mounts it; the calling thread never leaves
//! its namespace, and the helper thread exits right after, so nothing else
//! ever runs inside it by accident.

use std::fs::OpenOptions;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::mount::{mount_bind, mount_bind_recursive, mount_change, unmount};
use rustix::mount::{MountPropagationFlags, UnmountFlags};

use crate::error::{Error, IoContext, Result};
use crate::names::validate_netns_name;
use hoist_fsutil::FileLock;

/// Where hoist keeps its named network namespaces.
pub const DEFAULT_NETNS_DIR: &str = "/run/hoist/netns";

/// `statfs` f_type of the nsfs filesystem namespace files live on.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// A named network namespace mounted at `<dir>/<name>`. Dropping the value
/// does not remove the namespace: call [`Netns::remove`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Netns {
    path: PathBuf,
}

impl Netns {
    /// Creates `/run/hoist/netns/<name>` with `lo` up.
    pub fn create(name: &str) -> Result<Netns> {
        Self::create_in(Path::new(DEFAULT_NETNS_DIR), name)
    }

    /// Creates the namespace `<dir>/<name>` with `lo` up. Fails with
    /// [`Error::NetnsExists`] if the name is taken.
    pub fn create_in(dir: &Path, name: &str) -> Result<Netns> {
        Self::create_owned_in(dir, name, None)
    }

    /// [`Netns::create`], the namespace owned by the user namespace
    /// `userns` (a container's, so that its processes can join this
    /// namespace and mount a sysfs for it) rather than by ours.
    pub fn create_owned(name: &str, userns: Option<BorrowedFd<'_>>) -> Result<Netns> {
        Self::create_owned_in(Path::new(DEFAULT_NETNS_DIR), name, userns)
    }

    fn create_owned_in(dir: &Path, name: &str, userns: Option<BorrowedFd<'_>>) -> Result<Netns> {
        validate_netns_name(name)?;
        std::fs::create_dir_all(dir).ctx("creating network namespace directory", dir)?;
        ensure_shared_mount(dir)?;
        let path = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(&path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::NetnsExists { path })
            }
            Err(e) => return Err(e).ctx("creating network namespace file", path),
        }
        let target = path.clone();
        let outcome = match userns {
            Some(userns) => populate_owned(&target, userns),
            None => std::thread::Builder::new()
                .name("hoist-netns".into())
                .spawn(move || populate(&target))
                .ctx("starting network namespace thread for", &path)
                .and_then(|handle| {
                    handle.join().unwrap_or_else(|_| {
                        Err(Error::Io {
                            action: "creating network namespace (helper thread panicked)",
                            path: path.clone(),
                            source: std::io::Error::other("panic"),
                        })
                    })
                }),
        };
        let netns = Netns { path };
        if let Err(err) = outcome {
            if let Err(cleanup) = netns.remove() {
                tracing::warn!("cleaning up after failed namespace creation: {cleanup}");
            }
            return Err(err);
        }
        tracing::debug!(path = %netns.path.display(), "created network namespace");
        Ok(netns)
    }

    /// The existing namespace `/run/hoist/netns/<name>`.
    pub fn open(name: &str) -> Result<Netns> {
        Self::open_in(Path::new(DEFAULT_NETNS_DIR), name)
    }

    /// The existing namespace `<dir>/<name>`; fails with
    /// [`Error::NetnsNotFound`] unless a namespace is mounted there.
    pub fn open_in(dir: &Path, name: &str) -> Result<Netns> {
        validate_netns_name(name)?;
        let netns = Netns {
            path: dir.join(name),
        };
        if !netns.is_mounted() {
            return Err(Error::NetnsNotFound { path: netns.path });
        }
        Ok(netns)
    }

    /// Names of the namespaces mounted in `dir` (empty if it is missing).
    pub fn list_in(dir: &Path) -> Result<Vec<String>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).ctx("listing network namespaces in", dir),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.ctx("listing network namespaces in", dir)?;
            let netns = Netns { path: entry.path() };
            if netns.is_mounted() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The bind-mounted namespace file: what netavark, `nsenter --net=` and
    /// an OCI spec's network namespace path take.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file name of the namespace.
    pub fn name(&self) -> &str {
        self.path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }

    /// Whether a network namespace is mounted at the path.
    pub fn is_mounted(&self) -> bool {
        // f_type's integer type differs between architectures.
        #[allow(clippy::unnecessary_cast)]
        rustix::fs::statfs(&self.path).is_ok_and(|st| st.f_type as i64 == NSFS_MAGIC)
    }

    /// Unmounts and deletes the namespace file; the kernel frees the
    /// namespace once no process is left in it. Removing a missing
    /// namespace succeeds, so cleanup paths can call this unconditionally.
    pub fn remove(&self) -> Result<()> {
        match unmount(&self.path, UnmountFlags::DETACH) {
            // EINVAL: not a mount point (creation failed half-way or it
            // was already unmounted).
            Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => {}
            Err(e) => return Err(e).ctx("unmounting network namespace", &self.path),
        }
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).ctx("removing network namespace file", &self.path)
            }
            _ => {
                tracing::debug!(path = %self.path.display(), "removed network namespace");
                Ok(())
            }
        }
    }
}

/// Runs on the helper thread: move it into a new network namespace, pin the
/// namespace at `target`, bring its loopback up.
fn populate(target: &Path) -> Result<()> {
    // SAFETY: unshare_unsafe is unsafe only because CLONE_FILES would split
    // the descriptor table under other threads' feet; CLONE_NEWNET affects
    // nothing but this thread's network namespace.
    #[allow(unsafe_code)]
    let unshared = unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) };
    unshared.ctx("creating a new network namespace for", target)?;
    let own = format!(
        "/proc/self/task/{}/ns/net",
        rustix::thread::gettid().as_raw_nonzero()
    );
    mount_bind(&own, target).ctx("bind-mounting the new network namespace onto", target)?;
    loopback_up().ctx("bringing up lo in network namespace", target)
}

/// Makes the namespace in a child process that first joins `userns` (a
/// thread cannot join a user namespace), and binds it on `target`.
fn populate_owned(target: &Path, userns: BorrowedFd<'_>) -> Result<()> {
    let (ready_r, ready_w) = rustix::pipe::pipe().ctx("creating a pipe for", target)?;
    let (done_r, done_w) = rustix::pipe::pipe().ctx("creating a pipe for", target)?;
    // SAFETY: the child makes only system calls (setns, unshare, socket,
    // ioctl, read, write) before _exit, all async-signal-safe, so forking a
    // process with other threads is sound.
    #[allow(unsafe_code)]
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).ctx("forking to create", target);
    }
    if pid == 0 {
        owned_child(userns, ready_w.as_fd(), done_r.as_fd());
    }
    drop(ready_w);
    drop(done_r);
    let mut byte = [0u8; 1];
    let ready = rustix::io::read(&ready_r, &mut byte);
    let outcome = match ready {
        Ok(1) if byte[0] == 0 => {
            let theirs = format!("/proc/{pid}/ns/net");
            mount_bind(&theirs, target).ctx("bind-mounting the new network namespace onto", target)
        }
        Ok(1) => Err(std::io::Error::from_raw_os_error(i32::from(byte[0]))).ctx(
            "creating a network namespace in the user namespace for",
            target,
        ),
        _ => Err(std::io::Error::other("the helper process ended early"))
            .ctx("creating a network namespace for", target),
    };
    let _ = rustix::io::write(&done_w, &[0]);
    drop(done_w);
    let mut status = 0;
    // SAFETY: waits for our own child; status is a valid out pointer.
    #[allow(unsafe_code)]
    unsafe {
        libc::waitpid(pid, &mut status, 0)
    };
    outcome
}

/// The helper's life: join the user namespace, make the network
/// namespace with `lo` up, report 0 or an errno, wait to be let go.
#[allow(unsafe_code)]
fn owned_child(userns: BorrowedFd<'_>, ready: BorrowedFd<'_>, done: BorrowedFd<'_>) -> ! {
    use std::os::fd::AsRawFd;
    // SAFETY: system calls on valid descriptors, then _exit.
    unsafe {
        let mut code: u8 = 0;
        if libc::setns(userns.as_raw_fd(), libc::CLONE_NEWUSER) != 0
            || libc::unshare(libc::CLONE_NEWNET) != 0
        {
            code = std::io::Error::last_os_error().raw_os_error().unwrap_or(1) as u8;
        } else if let Err(e) = loopback_up() {
            code = e.raw_os_error().unwrap_or(1) as u8;
        }
        let byte = [code];
        libc::write(ready.as_raw_fd(), byte.as_ptr().cast(), 1);
        let mut b = [0u8; 1];
        libc::read(done.as_raw_fd(), b.as_mut_ptr().cast(), 1);
        libc::_exit(0)
    }
}

/// `ip link set lo up` for the calling thread's network namespace: netavark
/// only configures the interfaces it creates.
#[allow(unsafe_code)]
fn loopback_up() -> std::io::Result<()> {
    use rustix::net::{socket_with, AddressFamily, SocketFlags, SocketType};
    use std::os::fd::AsRawFd;

    let sock = socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data (names, integers, a pointer in a
    // union) for which all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads ifr_name and writes ifru_flags of `req`,
    // which lives for the whole call; the socket is open.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just filled ifru_flags, the union member read here.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS only reads `req`, valid for the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `dir` a mount point with shared propagation, as `ip netns` does
/// for /run/netns: when a namespace is unmounted here, copies of the mount
/// that other mount namespaces (containers) inherited go away too, instead
/// of pinning the namespace forever.
fn ensure_shared_mount(dir: &Path) -> Result<()> {
    let shared = MountPropagationFlags::SHARED | MountPropagationFlags::REC;
    let lock_path = PathBuf::from(format!("{}.lock", dir.display()));
    let _lock = FileLock::exclusive(&lock_path)?;
    match mount_change(dir, shared) {
        Ok(()) => return Ok(()),
        // Not a mount point yet.
        Err(Errno::INVAL) => {}
        Err(e) => return Err(e).ctx("making mount shared", dir),
    }
    mount_bind_recursive(dir, dir)
        .ctx("bind-mounting network namespace directory onto itself", dir)?;
    mount_change(dir, shared).ctx("making mount shared", dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_are_refused_before_touching_anything() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", "..", "a/b"] {
            assert!(matches!(
                Netns::create_in(dir.path(), bad),
                Err(Error::InvalidNetnsName { .. })
            ));
        }
    }

    #[test]
    fn removing_a_missing_namespace_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        Netns {
            path: dir.path().join("nothing"),
        }
        .remove()
        .unwrap();
        assert!(matches!(
            Netns::open_in(dir.path(), "nothing"),
            Err(Error::NetnsNotFound { .. })
        ));
    }
}

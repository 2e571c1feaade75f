//! Terminals for `-t`: the console socket on which the runtime hands over
//! the pty master it made inside the container, the caller's terminal in
//! raw mode for as long as it is attached, and window sizes.

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use rand::RngCore;

use crate::error::{io_err, ContainerError, Result};

/// A listening Unix socket the runtime connects to (`--console-socket`).
/// Lives in the temporary directory: socket addresses are limited to 108
/// bytes and container directories can be longer.
pub(crate) struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    pub(crate) fn bind() -> Result<ConsoleSocket> {
        let mut b = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut b);
        let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let file = format!("hoist-console-{name}.sock");
        let mut path = std::env::temp_dir().join(&file);
        // sun_path holds 108 bytes.
        if path.as_os_str().len() > 100 {
            path = Path::new("/tmp").join(&file);
        }
        let listener =
            UnixListener::bind(&path).map_err(io_err("binding console socket", &path))?;
        Ok(ConsoleSocket { listener, path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts the runtime's connection and takes the pty master from it.
    /// The runtime sends it before its create/exec returns, so the
    /// connection is already queued; a short wait covers slow runtimes.
    pub(crate) fn receive(&self) -> Result<OwnedFd> {
        let fail = |what: String| {
            ContainerError::Monitor(format!(
                "receiving the terminal from the runtime: {what}; run without -t to see the output"
            ))
        };
        let fd = self.listener.as_fd();
        let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(10_000u16)) {
            Ok(0) => return Err(fail("no connection within 10 seconds".into())),
            Ok(_) => {}
            Err(e) => return Err(fail(e.to_string())),
        }
        let (stream, _) = self.listener.accept().map_err(|e| fail(e.to_string()))?;
        let mut buf = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 2]);
        let msg = recvmsg::<UnixAddr>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| fail(e.to_string()))?;
        let mut got: Option<OwnedFd> = None;
        for c in msg.cmsgs().map_err(|e| fail(e.to_string()))? {
            if let ControlMessageOwned::ScmRights(list) = c {
                for raw in list {
                    // SAFETY: SCM_RIGHTS just installed `raw` in our fd table and nothing else owns it.
                    #[allow(unsafe_code)]
                    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                    if got.is_none() {
                        got = Some(owned);
                    }
                }
            }
        }
        got.ok_or_else(|| fail("the message carried no file descriptor".into()))
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether `fd` is a terminal.
pub(crate) fn is_tty(fd: BorrowedFd<'_>) -> bool {
    rustix::termios::isatty(fd)
}

/// Puts this process's stdin terminal in raw mode (keys go to the
/// container unprocessed, ^C included) and restores it when dropped.
pub(crate) struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// `None` when stdin is not a terminal.
    pub(crate) fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        if !is_tty(stdin.as_fd()) {
            return None;
        }
        let saved = tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Copies the window size of this process's terminal (stdin, else stdout)
/// to the pty `master`; nothing when neither is a terminal.
pub(crate) fn copy_window_size(master: BorrowedFd<'_>) {
    let size = rustix::termios::tcgetwinsize(std::io::stdin())
        .or_else(|_| rustix::termios::tcgetwinsize(std::io::stdout()));
    if let Ok(ws) = size {
        let _ = rustix::termios::tcsetwinsize(master, ws);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_socket_passes_a_descriptor() {
        let sock = ConsoleSocket::bind().unwrap();
        let path = sock.path().to_path_buf();
        assert!(path.exists());
        let client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let pty = nix::pty::openpty(None, None).unwrap();
        let fds = [pty.master.as_raw_fd()];
        nix::sys::socket::sendmsg::<UnixAddr>(
            client.as_raw_fd(),
            &[std::io::IoSlice::new(b"/dev/ptmx")],
            &[nix::sys::socket::ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .unwrap();
        let got = sock.receive().unwrap();
        assert!(is_tty(got.as_fd()));
        // The same pty: a size set on the received master shows on the slave.
        let ws = rustix::termios::Winsize {
            ws_row: 33,
            ws_col: 77,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&got, ws).unwrap();
        let back = rustix::termios::tcgetwinsize(&pty.slave).unwrap();
        assert_eq!((back.ws_row, back.ws_col), (33, 77));
        drop(sock);
        assert!(!path.exists());
    }

    #[test]
    fn no_connection_is_an_error() {
        let sock = ConsoleSocket::bind().unwrap();
        // Not waiting 10 s: a connection that sends nothing fails fast.
        let client = std::os::unix::net::UnixStream::connect(sock.path()).unwrap();
        drop(client);
        assert!(sock.receive().is_err());
    }
}

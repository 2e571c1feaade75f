//! The standard input of an interactive container (`-i`) that runs
//! without a terminal attached to its monitor (`run -d -i`, `start`): the
//! monitor keeps the writing end (a pipe, or the pty master with `-t`) and
//! listens on a socket in the container's directory, where `attach`
//! clients send what is typed.
//!
//! The stream is framed so the monitor can tell the end of the client's
//! input (passed on: the container's stdin is closed, as podman's is)
//! from a client that detached (the container's stdin stays open): a
//! frame is a kind byte, then for data a big-endian u16 length and the
//! bytes.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::error::{io_err, Result};
use crate::record::Container;

const DATA: u8 = b'D';
const END: u8 = b'E';
const SOCKET: &str = "attach.sock";

/// The socket of container directory `dir`, as a path short enough for
/// `sun_path` (108 bytes): through `/proc/self/fd` and an open `dir`
/// when the full path is longer. Keep the descriptor while using it.
fn socket_path(dir: &Path) -> Result<(Option<OwnedFd>, PathBuf)> {
    let path = dir.join(SOCKET);
    if path.as_os_str().len() < 100 {
        return Ok((None, path));
    }
    let fd = rustix::fs::open(
        dir,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| io_err("opening", dir)(e.into()))?;
    let short = PathBuf::from(format!("/proc/self/fd/{}/{SOCKET}", fd_number(&fd)));
    Ok((Some(fd), short))
}

fn fd_number(fd: &OwnedFd) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

/// One connected `attach` client and the bytes of its unfinished frame.
struct Client {
    stream: UnixStream,
    pending: Vec<u8>,
}

/// The monitor's side: the listening socket, its clients and the
/// container's stdin.
pub(crate) struct AttachInput {
    listener: UnixListener,
    path: PathBuf,
    clients: Vec<Client>,
    /// Where input goes; `None` once a client ended it (without `-t`).
    target: Option<OwnedFd>,
    /// A pty master is never closed by a client's end of input.
    tty: bool,
}

impl AttachInput {
    /// Listens for `attach` clients of `c`, whose input goes to `target`
    /// (the container's stdin pipe, or its pty master with `tty`).
    pub(crate) fn listen(c: &Container, target: OwnedFd, tty: bool) -> Result<AttachInput> {
        let (_dir, short) = socket_path(&c.dir)?;
        let path = c.dir.join(SOCKET);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&short).map_err(io_err("listening on", &path))?;
        listener
            .set_nonblocking(true)
            .map_err(io_err("listening on", &path))?;
        Ok(AttachInput {
            listener,
            path,
            clients: Vec::new(),
            target: Some(target),
            tty,
        })
    }

    /// The descriptors to poll for input, in the order [`Self::ready`]
    /// numbers them: the listener, then each client.
    pub(crate) fn fds(&self) -> Vec<BorrowedFd<'_>> {
        let mut v = vec![self.listener.as_fd()];
        v.extend(self.clients.iter().map(|c| c.stream.as_fd()));
        v
    }

    /// Handles the descriptors `ks` of [`Self::fds`] being readable (the
    /// highest first: a client that leaves shifts those after it).
    pub(crate) fn ready_all(&mut self, mut ks: Vec<usize>) {
        ks.sort_unstable_by(|a, b| b.cmp(a));
        for k in ks {
            self.ready(k);
        }
    }

    fn ready(&mut self, k: usize) {
        if k == 0 {
            while let Ok((stream, _)) = self.listener.accept() {
                if stream.set_nonblocking(true).is_ok() {
                    self.clients.push(Client {
                        stream,
                        pending: Vec::new(),
                    });
                }
            }
            return;
        }
        let Some(client) = self.clients.get_mut(k - 1) else {
            return;
        };
        let mut buf = [0u8; 16 * 1024];
        let mut gone = false;
        loop {
            match client.stream.read(&mut buf) {
                Ok(0) => {
                    gone = true;
                    break;
                }
                Ok(n) => client.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    gone = true;
                    break;
                }
            }
        }
        let (data, ended) = take_frames(&mut client.pending);
        if let Some(t) = &self.target {
            write_all(t.as_fd(), &data);
        }
        if ended && !self.tty {
            // The container sees the end of its input.
            self.target = None;
        }
        if gone || ended {
            self.clients.remove(k - 1);
        }
    }
}

impl Drop for AttachInput {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The data of the complete frames at the start of `pending` (removed
/// from it), and whether an end-of-input frame came.
fn take_frames(pending: &mut Vec<u8>) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    let mut used = 0;
    let mut ended = false;
    while used < pending.len() {
        match pending[used] {
            END => {
                ended = true;
                used = pending.len();
            }
            DATA if pending.len() >= used + 3 => {
                let len = usize::from(u16::from_be_bytes([pending[used + 1], pending[used + 2]]));
                if pending.len() < used + 3 + len {
                    break;
                }
                data.extend_from_slice(&pending[used + 3..used + 3 + len]);
                used += 3 + len;
            }
            DATA => break,
            // Not our protocol: drop the connection's input.
            _ => {
                ended = false;
                used = pending.len();
            }
        }
    }
    pending.drain(..used);
    (data, ended)
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => {
                let mut p = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLOUT)];
                let _ = nix::poll::poll(&mut p, nix::poll::PollTimeout::NONE);
            }
            Err(_) => return,
        }
    }
}

/// The client's side: a connection sending what `attach` reads.
pub(crate) struct AttachSender {
    stream: UnixStream,
}

impl AttachSender {
    /// Connects to the monitor of `c`; `None` when it takes no input
    /// (not interactive, or its stdin belongs to the terminal of `run`).
    pub(crate) fn connect(c: &Container) -> Option<AttachSender> {
        let (_dir, short) = socket_path(&c.dir).ok()?;
        let stream = UnixStream::connect(short).ok()?;
        Some(AttachSender { stream })
    }

    /// Sends `data` to the container's stdin.
    pub(crate) fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        for chunk in data.chunks(usize::from(u16::MAX)) {
            let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
            let mut frame = Vec::with_capacity(chunk.len() + 3);
            frame.push(DATA);
            frame.extend_from_slice(&len.to_be_bytes());
            frame.extend_from_slice(chunk);
            self.stream.write_all(&frame)?;
        }
        Ok(())
    }

    /// Ends the container's input (closes its stdin, unless it has a
    /// terminal).
    pub(crate) fn end(mut self) {
        let _ = self.stream.write_all(&[END]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_taken_whole() {
        let mut p = vec![DATA, 0, 2, b'h', b'i', DATA, 0, 3, b'x'];
        assert_eq!(take_frames(&mut p), (b"hi".to_vec(), false));
        assert_eq!(p, [DATA, 0, 3, b'x']);
        p.extend_from_slice(b"yz");
        p.push(END);
        assert_eq!(take_frames(&mut p), (b"xyz".to_vec(), true));
        assert!(p.is_empty());
        let mut partial = vec![DATA, 0];
        assert_eq!(take_frames(&mut partial), (vec![], false));
        assert_eq!(partial.len(), 2);
    }
}

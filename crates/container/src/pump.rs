//! The loop that looks after a running process: copies its output to the
//! log and/or our own stdout/stderr, our stdin to it, forwards signals and
//! window size changes, and returns when it has exited (and its output is
//! drained). Used by the monitor (a container's init) and by `exec`.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use hoist_runtime::executor::{wait_exit, ExitStatus};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::{io_err, ContainerError, Result};
use crate::logs::LogWriter;

/// Signals passed on to the process.
pub(crate) const FORWARDED: &[Signal] = &[
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Which of our streams an output goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// What to look after.
pub(crate) struct Pump<'a> {
    /// The process (our child).
    pub pid: i32,
    /// Its output: pipes, or a pty master.
    pub outputs: Vec<(BorrowedFd<'a>, Stream)>,
    pub log: Option<&'a mut LogWriter>,
    /// Copy the output to our own stdout/stderr.
    pub echo: bool,
    /// Streams not to copy even with `echo` (`run --attach stderr`).
    pub muted: Vec<Stream>,
    /// Copy our stdin here (the pty master with `-it`).
    pub stdin_to: Option<BorrowedFd<'a>>,
    /// Copy our terminal's window size here now and on SIGWINCH.
    pub winch_to: Option<BorrowedFd<'a>>,
    /// A pidfd of a process the container cannot do without (its lazy
    /// layer server): when that exits, the container is killed.
    pub lifeline: Option<BorrowedFd<'a>>,
    /// The input of `attach` clients, for an interactive container.
    pub attach_in: Option<&'a mut crate::attach_input::AttachInput>,
}

/// How a pumped process ended.
#[derive(Debug)]
pub(crate) struct PumpEnd {
    pub status: ExitStatus,
    /// The lifeline process exited first (and the process was killed).
    pub lifeline_lost: bool,
}

fn set_nonblocking(fd: BorrowedFd<'_>) {
    if let Ok(fl) = rustix::fs::fcntl_getfl(fd) {
        let _ = rustix::fs::fcntl_setfl(fd, fl | rustix::fs::OFlags::NONBLOCK);
    }
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(_) => return,
        }
    }
}

impl Pump<'_> {
    /// Runs until the process has exited; returns how it ended.
    pub(crate) fn run(self) -> Result<ExitStatus> {
        Ok(self.run_watching()?.status)
    }

    /// [`Pump::run`], saying also whether the lifeline was lost.
    pub(crate) fn run_watching(mut self) -> Result<PumpEnd> {
        let mut mask = SigSet::empty();
        for sig in FORWARDED {
            mask.add(*sig);
        }
        if self.winch_to.is_some() {
            mask.add(Signal::SIGWINCH);
        }
        let _ = mask.thread_block();
        let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC).ok();
        let result = self.run_inner(sfd.as_ref());
        let _ = mask.thread_unblock();
        result
    }

    fn run_inner(&mut self, sfd: Option<&SignalFd>) -> Result<PumpEnd> {
        if let Some(m) = self.winch_to {
            crate::tty::copy_window_size(m);
        }
        let pid = rustix::process::Pid::from_raw(self.pid)
            .ok_or_else(|| ContainerError::Monitor("bad pid".into()))?;
        let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            .map_err(|e| io_err("watching", format!("process {}", self.pid))(e.into()))?;
        for (fd, _) in &self.outputs {
            set_nonblocking(*fd);
        }
        let mut open = vec![true; self.outputs.len()];
        let mut stdin_open = self.stdin_to.is_some();
        let mut buf = vec![0u8; 64 * 1024];
        let mut exited = false;
        let mut lifeline_lost = false;
        let mut deadline: Option<Instant> = None;
        let stdin = std::io::stdin();
        loop {
            let drained = open.iter().all(|o| !o);
            if exited && (drained || deadline.is_some_and(|d| Instant::now() > d)) {
                break;
            }
            // Tags: output index, or one of the special sources.
            const PID: usize = usize::MAX;
            const SIG: usize = usize::MAX - 1;
            const STDIN: usize = usize::MAX - 2;
            const LIFELINE: usize = usize::MAX - 3;
            // Below it, the attach input's descriptors, counting down
            // (a listener and its clients: far fewer than ATTACH_ROOM).
            const ATTACH: usize = usize::MAX - 4;
            const ATTACH_ROOM: usize = 1 << 16;
            let is_attach = |w: &usize| (ATTACH - ATTACH_ROOM..=ATTACH).contains(w);
            let mut fds = Vec::new();
            let mut which = Vec::new();
            for (i, (fd, _)) in self.outputs.iter().enumerate() {
                if open[i] {
                    fds.push(PollFd::new(*fd, PollFlags::POLLIN));
                    which.push(i);
                }
            }
            if !exited {
                fds.push(PollFd::new(pidfd.as_fd(), PollFlags::POLLIN));
                which.push(PID);
                if let Some(sfd) = sfd {
                    fds.push(PollFd::new(sfd.as_fd(), PollFlags::POLLIN));
                    which.push(SIG);
                }
                if stdin_open {
                    fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
                    which.push(STDIN);
                }
                if let Some(fd) = self.lifeline.filter(|_| !lifeline_lost) {
                    fds.push(PollFd::new(fd, PollFlags::POLLIN));
                    which.push(LIFELINE);
                }
                if let Some(a) = self.attach_in.as_deref() {
                    for (k, fd) in a.fds().into_iter().enumerate() {
                        fds.push(PollFd::new(fd, PollFlags::POLLIN));
                        which.push(ATTACH - k);
                    }
                }
            }
            let timeout = if exited {
                PollTimeout::from(50u16)
            } else {
                PollTimeout::NONE
            };
            match nix::poll::poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(ContainerError::Monitor(format!("poll: {e}"))),
            }
            let ready: Vec<usize> = fds
                .iter()
                .zip(&which)
                .filter(|(f, _)| f.revents().is_some_and(|r| !r.is_empty()))
                .map(|(_, w)| *w)
                .collect();
            drop(fds);
            let attach_ready: Vec<usize> = ready
                .iter()
                .filter(|w| is_attach(w))
                .map(|w| ATTACH - w)
                .collect();
            if let Some(a) = self.attach_in.as_deref_mut() {
                if !attach_ready.is_empty() {
                    a.ready_all(attach_ready);
                }
            }
            for w in ready.into_iter().filter(|w| !is_attach(w)) {
                match w {
                    LIFELINE => {
                        // Nothing the process does can work any more (every
                        // read of its files fails): end it.
                        lifeline_lost = true;
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(self.pid),
                            Signal::SIGKILL,
                        );
                    }
                    PID => {
                        exited = true;
                        deadline = Some(Instant::now() + Duration::from_millis(500));
                    }
                    SIG => {
                        let Some(sfd) = sfd else { continue };
                        while let Ok(Some(info)) = sfd.read_signal() {
                            let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                                continue;
                            };
                            if sig == Signal::SIGWINCH {
                                if let Some(m) = self.winch_to {
                                    crate::tty::copy_window_size(m);
                                }
                            } else {
                                let _ = nix::sys::signal::kill(
                                    nix::unistd::Pid::from_raw(self.pid),
                                    sig,
                                );
                            }
                        }
                    }
                    STDIN => match rustix::io::read(&stdin, &mut buf) {
                        Ok(0) => stdin_open = false,
                        Ok(n) => {
                            if let Some(to) = self.stdin_to {
                                write_all(to, &buf[..n]);
                            }
                        }
                        Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => {}
                        Err(_) => stdin_open = false,
                    },
                    i => self.copy(i, &mut buf, &mut open),
                }
            }
        }
        Ok(PumpEnd {
            status: wait_exit(self.pid)?,
            lifeline_lost,
        })
    }

    /// Reads output `i` until it would block.
    fn copy(&mut self, i: usize, buf: &mut [u8], open: &mut [bool]) {
        let (fd, stream) = self.outputs[i];
        loop {
            match rustix::io::read(fd, &mut *buf) {
                // EIO: a pty master whose slave side is all closed.
                Ok(0) | Err(rustix::io::Errno::IO) => {
                    open[i] = false;
                    return;
                }
                Ok(n) => {
                    if let Some(log) = self.log.as_deref_mut() {
                        if let Err(e) = log.write(stream.name(), &buf[..n]) {
                            tracing::warn!(error = %e, "writing the container log");
                        }
                    }
                    if self.echo && !self.muted.contains(&stream) {
                        if stream == Stream::Stdout {
                            let mut o = std::io::stdout().lock();
                            let _ = o.write_all(&buf[..n]);
                            let _ = o.flush();
                        } else {
                            let _ = std::io::stderr().write_all(&buf[..n]);
                        }
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => return,
                Err(_) => {
                    open[i] = false;
                    return;
                }
            }
        }
    }
}

//! `attach` to a running container: its output as it comes (followed from
//! its log, so attaching never disturbs the container), the signals we get
//! passed on to it (`--sig-proxy`), our standard input passed on to an
//! interactive container (`-i`; see [`crate::attach_input`]), the detach
//! keys typed on our terminal, and its exit code when it ends.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::os::fd::AsFd;

use nix::sys::signal::SigSet;
use nix::sys::termios::{
    tcgetattr, tcsetattr, InputFlags, LocalFlags, SetArg, SpecialCharacterIndices, Termios,
};

use crate::error::{ContainerError, Result};
use crate::logs::{print_logs, LogOptions, LogSource};
use crate::record::{Container, Status};
use crate::store::Containers;

/// How to attach.
#[derive(Debug, Clone, Copy)]
pub struct AttachOptions<'a> {
    /// Pass SIGINT, SIGTERM, ... received by this process to the container.
    pub sig_proxy: bool,
    /// Read standard input: passed on to an interactive container, and
    /// watched for the detach keys.
    pub stdin: bool,
    /// The detach sequence (see [`parse_detach_keys`]); empty: none.
    pub detach_keys: &'a [u8],
}

/// podman's default detach sequence.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// Parses a detach sequence as podman writes it: comma-separated keys,
/// each a single character or `ctrl-X` with X one of `a`-`z`, `@`, `[`,
/// `\`, `]`, `^`, `_`. An empty string means no detaching.
pub fn parse_detach_keys(keys: &str) -> Result<Vec<u8>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    keys.split(',')
        .map(|k| {
            // podman's wording; the keys it takes are in `attach --help`.
            let bad = || {
                ContainerError::Invalid(format!("invalid detach keys: Unknown character: '{k}'"))
            };
            match k.strip_prefix("ctrl-") {
                Some(c) if c.len() == 1 => match c.as_bytes()[0] {
                    b @ b'a'..=b'z' => Ok(b - b'a' + 1),
                    b @ (b'@' | b'[' | b'\\' | b']' | b'^' | b'_') => Ok(b - b'@'),
                    _ => Err(bad()),
                },
                Some(_) => Err(bad()),
                None if k.len() == 1 && k.as_bytes()[0].is_ascii_alphabetic() => {
                    Ok(k.as_bytes()[0])
                }
                None => Err(bad()),
            }
        })
        .collect()
}

/// Attaches to `c` until it exits (returns its exit code, `None` when it
/// was removed on exit) or the detach keys are typed (returns `Some(0)`).
pub fn attach(cs: &Containers, c: &Container, o: AttachOptions<'_>) -> Result<Option<i32>> {
    if c.status() != Status::Running {
        return Err(ContainerError::Invalid(
            "you can only attach to running containers".into(),
        ));
    }
    let since = chrono::Local::now().fixed_offset();
    let id = c.id().to_string();
    let detached = Arc::new(AtomicBool::new(false));
    let alive = {
        let cs = cs.clone();
        let id = id.clone();
        let detached = detached.clone();
        Box::new(move || {
            !detached.load(Ordering::Relaxed)
                && cs
                    .load(&id)
                    .is_ok_and(|c| c.status().is_active() && c.monitor_alive())
        })
    };
    let source = LogSource::of(c, None, true, alive)?;
    handle_signals(cs.clone(), id.clone(), o.sig_proxy, detached.clone())?;
    let sender = crate::attach_input::AttachSender::connect(c);
    // Without our stdin, the container's input ends, as with podman's
    // `--no-stdin`.
    let sender = match sender {
        Some(s) if !o.stdin => {
            s.end();
            None
        }
        s => s,
    };
    // Keys are read from a terminal only, as podman reads them; bytes
    // piped in are not keys. Typing into a container's terminal wants
    // ours raw (its own terminal does the line editing).
    let term = if !o.stdin || (sender.is_none() && o.detach_keys.is_empty()) {
        None
    } else if sender.is_some() && c.config.options.tty {
        crate::tty::RawMode::enter().map(TermMode::Raw)
    } else {
        KeysMode::enter().map(TermMode::Keys)
    };
    let keys = match &term {
        Some(_) => o.detach_keys.to_vec(),
        None => Vec::new(),
    };
    if sender.is_some() || !keys.is_empty() {
        read_input(sender, keys, detached.clone());
    }
    crate::events::emit(c, hoist_events::Status::Attach);
    // What the container writes from now on (a line logged before our
    // first read but after this moment is still ours).
    let follow = LogOptions {
        tail: None,
        timestamps: false,
        since: Some(since),
        until: None,
        follow: true,
        color: false,
    };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    print_logs(vec![source], &follow, &mut out, &mut err)?;
    out.flush().ok();
    if detached.load(Ordering::Relaxed) {
        return Ok(Some(0));
    }
    crate::lifecycle::wait_stopped(cs, &id, None)?;
    Ok(cs.load(&id).ok().and_then(|c| c.exit_code()))
}

/// Blocks the forwarded signals in this thread (before any other thread
/// exists, so every thread inherits the mask) and handles each one that
/// arrives in a thread of its own: passed on to the container with
/// `proxy`, else it ends the attach (the container runs on, and our
/// terminal gets its settings back).
fn handle_signals(
    cs: Containers,
    id: String,
    proxy: bool,
    detached: Arc<AtomicBool>,
) -> Result<()> {
    let mut set = SigSet::empty();
    for s in crate::pump::FORWARDED {
        set.add(*s);
    }
    set.thread_block()
        .map_err(|e| ContainerError::Invalid(format!("blocking signals to proxy them: {e}")))?;
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            if !proxy {
                detached.store(true, Ordering::Relaxed);
                return;
            }
            let Ok(c) = cs.load(&id) else { return };
            if let Err(e) = crate::lifecycle::kill(&cs, &c, sig as i32) {
                tracing::debug!(error = %e, signal = %sig, "passing a signal on to the container");
            }
        }
    });
    Ok(())
}

/// How our terminal is set while we read it (restored on drop).
enum TermMode {
    Raw(#[allow(dead_code)] crate::tty::RawMode),
    Keys(#[allow(dead_code)] KeysMode),
}

/// Our terminal, while we read keys from it: every key comes at once (no
/// line editing, no echo) and ctrl-q is a key, not flow control; ctrl-c
/// still raises SIGINT (which `--sig-proxy` passes on) and output is
/// still turned into the terminal's line endings.
struct KeysMode {
    saved: Termios,
}

impl KeysMode {
    /// `None` when standard input is not a terminal.
    fn enter() -> Option<KeysMode> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok()?;
        let mut keys = saved.clone();
        keys.local_flags &= !(LocalFlags::ICANON | LocalFlags::ECHO);
        keys.input_flags &= !(InputFlags::IXON | InputFlags::ICRNL);
        keys.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        keys.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &keys).ok()?;
        Some(KeysMode { saved })
    }
}

impl Drop for KeysMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Reads standard input (from a thread of its own), passing it on through
/// `sender`; the detach sequence `keys` (when not empty) sets `detached`
/// instead. Bytes that begin the sequence are held back until it is
/// clear they are not it. At the end of our input, the container's ends.
fn read_input(
    mut sender: Option<crate::attach_input::AttachSender>,
    keys: Vec<u8>,
    detached: Arc<AtomicBool>,
) {
    std::thread::spawn(move || {
        let mut held = 0;
        let mut buf = [0u8; 4096];
        let mut stdin = std::io::stdin().lock();
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let mut out = Vec::with_capacity(n + keys.len());
            for &b in &buf[..n] {
                match step_keys(&keys, held, b) {
                    KeyStep::Detach => {
                        // Closing the connection leaves its stdin open.
                        detached.store(true, Ordering::Relaxed);
                        if let Some(s) = sender.as_mut() {
                            let _ = s.send(&out);
                        }
                        return;
                    }
                    KeyStep::Hold(h) => held = h,
                    KeyStep::Release(h) => {
                        out.extend_from_slice(&keys[..held]);
                        held = h;
                        if h == 0 {
                            out.push(b);
                        }
                    }
                }
            }
            if let Some(s) = sender.as_mut() {
                if s.send(&out).is_err() {
                    return;
                }
            }
        }
        if let Some(s) = sender {
            s.end();
        }
    });
}

/// What byte `b` does when `held` bytes of the detach `keys` came before.
#[derive(Debug, PartialEq, Eq)]
enum KeyStep {
    /// The whole sequence came.
    Detach,
    /// `b` continues it: now this many are held.
    Hold(usize),
    /// Not the sequence: pass the held bytes on, then hold this many
    /// (1 when `b` starts it anew, else 0 and `b` is passed on too).
    Release(usize),
}

fn step_keys(keys: &[u8], held: usize, b: u8) -> KeyStep {
    if keys.is_empty() {
        return KeyStep::Release(0);
    }
    if b == keys[held] {
        return if held + 1 == keys.len() {
            KeyStep::Detach
        } else {
            KeyStep::Hold(held + 1)
        };
    }
    if held > 0 && b == keys[0] {
        return if keys.len() == 1 {
            KeyStep::Detach
        } else {
            KeyStep::Release(1)
        };
    }
    KeyStep::Release(0)
}

#[cfg(test)]
mod tests {
    use super::{parse_detach_keys, step_keys, KeyStep};

    #[test]
    fn detach_sequence_is_held_back() {
        let k = [16, 17];
        assert_eq!(step_keys(&k, 0, b'a'), KeyStep::Release(0));
        assert_eq!(step_keys(&k, 0, 16), KeyStep::Hold(1));
        assert_eq!(step_keys(&k, 1, 17), KeyStep::Detach);
        assert_eq!(step_keys(&k, 1, b'x'), KeyStep::Release(0));
        assert_eq!(step_keys(&k, 1, 16), KeyStep::Release(1));
        assert_eq!(step_keys(&[], 0, 16), KeyStep::Release(0));
    }

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), [16, 17]);
        assert_eq!(parse_detach_keys("a,ctrl-@,ctrl-_").unwrap(), [b'a', 0, 31]);
        assert!(parse_detach_keys("").unwrap().is_empty());
        for bad in ["ctrl-", "ctrl-1", "ab", "1", "ctrl-p,"] {
            assert!(parse_detach_keys(bad).is_err(), "{bad}");
        }
    }
}

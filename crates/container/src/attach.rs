//! `attach` to a running container: its output as it comes (followed from
//! its log, so attaching never disturbs the container), the signals we get
//! passed on to it (`--sig-proxy`), the detach keys read from our standard
//! input, and its exit code when it ends.

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
    /// Read standard input for the detach keys.
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
    // Keys are read from a terminal only, as podman reads them; bytes
    // piped in are not keys.
    let _keys_mode = if o.stdin && !o.detach_keys.is_empty() {
        let mode = KeysMode::enter();
        if mode.is_some() {
            watch_detach_keys(o.detach_keys.to_vec(), detached.clone());
        }
        mode
    } else {
        None
    };
    crate::events::emit(c, hoist_events::Status::Attach);
    // What the container writes from now on (a line logged before our
    // first read but after this moment is still ours).
    let follow = LogOptions {
        tail: None,
        timestamps: false,
        since: Some(since),
        until: None,
        follow: true,
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

/// Reads standard input (from a thread of its own) until the detach
/// sequence comes by, then sets `detached`.
fn watch_detach_keys(keys: Vec<u8>, detached: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut matched = 0;
        let mut byte = [0u8; 1];
        let mut stdin = std::io::stdin().lock();
        while let Ok(1) = stdin.read(&mut byte) {
            matched = if byte[0] == keys[matched] {
                matched + 1
            } else {
                usize::from(byte[0] == keys[0])
            };
            if matched == keys.len() {
                detached.store(true, Ordering::Relaxed);
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::parse_detach_keys;

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

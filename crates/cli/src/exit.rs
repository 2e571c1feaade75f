//! podman's exit codes: 125 when the engine itself fails; commands that
//! answer a yes/no question (`image exists`) return 1 for "no".

use hoist_engine::EngineError;

/// The engine failed.
pub const ENGINE_ERROR: i32 = 125;

/// A failure with a chosen exit code (e.g. 1 for "image not known" in `rmi`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitWith {
    pub code: i32,
    pub message: String,
}

/// The outcome of a command that acts on several objects and keeps going
/// after a failure (`volume rm`, `network rm`), as podman ends one: every
/// failure but the last printed as it came, the last one the error and its
/// exit code; `Ok(0)` when nothing failed.
pub fn last_failure(failures: Vec<(i32, String)>) -> anyhow::Result<i32> {
    let mut failures = failures;
    let Some((code, message)) = failures.pop() else {
        return Ok(0);
    };
    for (_, m) in failures {
        eprintln!("Error: {m}");
    }
    Err(ExitWith { code, message }.into())
}

/// Prints `err` as podman does (`Error: ...`, with its causes) and returns the exit code.
pub fn report(err: &anyhow::Error) -> i32 {
    let mut text = format!("Error: {err}");
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(&format!(": {c}"));
        }
    }
    if disk_full(err) {
        text.push_str(&format!("\n{DISK_FULL_HINT}"));
    }
    eprintln!("{text}");
    if let Some(e) = err.downcast_ref::<ExitWith>() {
        return e.code;
    }
    if let Some(EngineError::ImageNotFound(_)) = err.downcast_ref::<EngineError>() {
        return ENGINE_ERROR;
    }
    ENGINE_ERROR
}

/// What to do when a write found the disk full; nothing half-written is kept,
/// so the same command can simply run again.
pub const DISK_FULL_HINT: &str =
    "The disk is full: free space on the filesystem of the path above \
(for hoist's store, `hoist system df` shows what hoist uses and `hoist system prune` removes \
what nothing uses) and run the command again.";

/// Whether any cause of `err` is a full disk.
fn disk_full(err: &anyhow::Error) -> bool {
    err.chain().any(hoist_fsutil::is_disk_full)
}

/// Points standard output at /dev/null (`--noout`), for the whole process
/// and the processes it starts.
pub fn discard_stdout() -> std::io::Result<()> {
    use std::os::fd::FromRawFd;
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    // SAFETY: descriptor 1 stays open for the life of the process; wrapping
    // it in ManuallyDrop means this OwnedFd never closes it.
    #[allow(unsafe_code)]
    let mut stdout = std::mem::ManuallyDrop::new(unsafe { std::os::fd::OwnedFd::from_raw_fd(1) });
    rustix::io::dup2(&null, &mut stdout)?;
    Ok(())
}

//! Recording a container's system calls into a seccomp profile (the
//! `io.containers.trace-syscall` annotation, `--seccomp-record`): the
//! monitor's side of [`hoist_trace`]. The monitor loads the recorder
//! before the first start, points it at each start's namespaces between
//! the runtime's create and start, and writes the profile each time the
//! container exits, so restarts add to the same profile.

use hoist_trace::{profile, ObjectStorage, RecordRequest, Recorder, TRACE_ANNOTATION};

use crate::error::{ContainerError, Result};
use crate::record::Container;

/// The recording container `c` asks for, if any.
pub(crate) fn request_of(c: &Container) -> Result<Option<RecordRequest>> {
    c.config
        .options
        .annotations
        .get(TRACE_ANNOTATION)
        .map(|v| RecordRequest::parse(v))
        .transpose()
        .map_err(ContainerError::from)
}

/// Loads the recorder if `c` asks for a recording: `Ok(None)` if it does
/// not, an error (to fail the start with) if it cannot be recorded.
pub(crate) fn start<'obj>(
    c: &Container,
    storage: &'obj mut ObjectStorage,
) -> Result<Option<(Recorder<'obj>, RecordRequest)>> {
    let Some(request) = request_of(c)? else {
        return Ok(None);
    };
    let began = std::time::Instant::now();
    let recorder = Recorder::start(storage)?;
    tracing::debug!(elapsed = ?began.elapsed(), "system call recorder loaded");
    Ok(Some((recorder, request)))
}

/// Where the calls recorded by earlier monitors of the container are kept
/// (`hoist restart`, `stop` then `start`): the profile covers every start.
const RECORDED: &str = "recorded-syscalls.json";

/// Writes what was recorded so far, with what earlier starts of `c`
/// recorded, to the request's output, merged into its input profile if
/// it names one.
pub(crate) fn write_profile(
    c: &Container,
    recorder: &Recorder,
    request: &RecordRequest,
) -> Result<()> {
    let began = std::time::Instant::now();
    let mut names = profile::names_of(recorder.counts()?.keys());
    tracing::debug!(elapsed = ?began.elapsed(), "recorded system calls read");
    let kept = c.dir.join(RECORDED);
    if let Ok(text) = std::fs::read(&kept) {
        // A damaged file only loses the earlier starts' calls.
        names.extend(serde_json::from_slice::<Vec<String>>(&text).unwrap_or_default());
    }
    let out = match &request.input {
        None => profile::from_names(&names),
        Some(input) => profile::merge(profile::read(input)?, &names).map_err(|why| {
            hoist_trace::TraceError::Profile {
                what: "merging the recorded calls into",
                path: input.clone(),
                why,
            }
        })?,
    };
    profile::write(&request.output, &out)?;
    let list = serde_json::to_vec(&names).expect("a list of names serializes");
    hoist_fsutil::write_file_unsynced(&kept, &list, 0o600)?;
    Ok(())
}

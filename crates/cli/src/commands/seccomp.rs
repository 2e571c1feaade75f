//! `--seccomp-record` of `run` and `create`, the recording annotation
//! they accept from `--annotation`, and `seccomp diff`. The recorder and
//! the profile format are hoist-trace.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hoist_trace::{profile, RecordRequest, TRACE_ANNOTATION};

/// `--seccomp-record` (flattened into the arguments of `run` and `create`).
#[derive(Debug, Args, Clone)]
pub struct SeccompRecordFlags {
    /// Record every system call of the container into a seccomp profile
    /// written to FILE when it exits (the same as `--annotation
    /// io.containers.trace-syscall=of:FILE`).
    #[arg(long, value_name = "FILE")]
    pub seccomp_record: Option<PathBuf>,
}

impl SeccompRecordFlags {
    /// Puts the recording request (this flag, else the annotation) into a
    /// new container's annotations, checked, with its paths made absolute
    /// against this directory: the monitor runs elsewhere.
    pub fn apply(&self, o: &mut hoist_container::CreateOptions) -> Result<()> {
        let request = match (&self.seccomp_record, o.annotations.get(TRACE_ANNOTATION)) {
            (Some(out), given) => {
                let input = match given {
                    Some(v) => RecordRequest::parse(v)?.input,
                    None => None,
                };
                RecordRequest {
                    output: out.clone(),
                    input,
                }
            }
            (None, Some(v)) => RecordRequest::parse(v)?,
            (None, None) => return Ok(()),
        };
        let cwd = std::env::current_dir().context("finding the current directory")?;
        let request = request.absolute(&cwd);
        o.annotations
            .insert(TRACE_ANNOTATION.to_string(), request.to_annotation());
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SeccompCommand {
    /// Compare the system calls two seccomp profiles allow: `-NAME` for
    /// calls only the first allows, `+NAME` for those only the second
    /// does; exit 1 if they differ (as diff(1)).
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first profile (JSON).
    pub a: PathBuf,
    /// The second profile (JSON).
    pub b: PathBuf,
}

pub fn dispatch(c: SeccompCommand) -> Result<i32> {
    match c {
        SeccompCommand::Diff(a) => diff(&a.a, &a.b),
    }
}

fn diff(a: &Path, b: &Path) -> Result<i32> {
    let (pa, pb) = (profile::read(a)?, profile::read(b)?);
    let (only_a, only_b) = profile::diff(&pa, &pb);
    for name in &only_a {
        println!("-{name}");
    }
    for name in &only_b {
        println!("+{name}");
    }
    // Not an error: the answer to "do they differ?", as diff(1) gives it.
    Ok(i32::from(!(only_a.is_empty() && only_b.is_empty())))
}

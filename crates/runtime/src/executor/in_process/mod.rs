//! The in-process runtime: youki's libcontainer, linked into hoist.
//!
//! **libcontainer forks the calling process** (raw `clone3`, so no
//! `pthread_atfork` handlers run). Call [`InProcessRuntime::create`] from a
//! single-threaded process (or while no other thread can hold a lock, such
//! as the allocator's), never from an async runtime's worker threads: the
//! child would inherit such a lock held and hang. The other operations
//! do not fork.

mod adopt;
mod oom;
mod prepared;
mod record;
mod start;
mod stopped;
mod workload;

use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container, ContainerStatus};
use libcontainer::error::LibcontainerError;
use libcontainer::signal::Signal;
use libcontainer::syscall::syscall::SyscallType;

use super::error::{io_err, RuntimeError};
use super::{check_id, with_exec_process_file, Runtime, State, Status, Stdio};

pub use workload::{runs_hoist_init, HOIST_INIT_COMMAND, HOIST_INIT_PATH};

/// Containers run by libcontainer, with their state under `root` (e.g.
/// `/run/hoist/runtime`; one directory per container).
#[derive(Debug, Clone)]
pub struct InProcessRuntime {
    root: PathBuf,
    program_cache: PathBuf,
}

/// The error and all its causes on one line: libcontainer's top-level
/// messages alone ("failed to create container") do not say what failed.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

impl InProcessRuntime {
    /// A runtime keeping its state under `root`, and compiled seccomp
    /// programs in `root/@seccomp`.
    pub fn new(root: impl Into<PathBuf>) -> InProcessRuntime {
        let root = root.into();
        InProcessRuntime {
            program_cache: prepared::default_program_cache(&root),
            root,
        }
    }

    /// Keeps compiled seccomp programs in `dir` instead: a cache shared by
    /// runtimes with different roots (hoist gives each container its own).
    pub fn with_program_cache(mut self, dir: impl Into<PathBuf>) -> InProcessRuntime {
        self.program_cache = dir.into();
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    fn err(&self, op: &'static str, id: &str, e: LibcontainerError) -> RuntimeError {
        let hint = match &e {
            LibcontainerError::IncorrectStatus(_) => "; check the container's state first",
            LibcontainerError::Exist => "; delete the old container first",
            _ => "",
        };
        RuntimeError::Libcontainer {
            op,
            id: id.to_string(),
            message: chain(&e),
            hint,
        }
    }

    fn load(&self, id: &str) -> Result<Container, RuntimeError> {
        check_id(id)?;
        let dir = self.container_dir(id);
        if !dir.join("state.json").exists() {
            return Err(RuntimeError::NotFound {
                id: id.to_string(),
                root: self.root.clone(),
            });
        }
        Container::load(dir).map_err(|e| self.err("loading", id, e))
    }
}

fn status(s: ContainerStatus) -> Status {
    match s {
        ContainerStatus::Creating => Status::Creating,
        ContainerStatus::Created => Status::Created,
        ContainerStatus::Running => Status::Running,
        ContainerStatus::Stopped => Status::Stopped,
        ContainerStatus::Paused => Status::Paused,
    }
}

impl Runtime for InProcessRuntime {
    /// See the module docs: this forks; call it single-threaded.
    fn create(
        &self,
        id: &str,
        bundle: &Path,
        stdio: Stdio,
        console_socket: Option<&Path>,
    ) -> Result<i32, RuntimeError> {
        check_id(id)?;
        if self.container_dir(id).exists() {
            return Err(RuntimeError::AlreadyExists {
                id: id.to_string(),
                root: self.root.clone(),
            });
        }
        std::fs::create_dir_all(&self.root).map_err(io_err("creating runtime root", &self.root))?;
        let prepared = match prepared::prepare(&self.root, &self.program_cache, id, bundle) {
            Ok(p) => p,
            Err(e) => {
                let _ = prepared::remove(&self.root, id);
                return Err(e);
            }
        };
        let pid = match self.build_init(id, &prepared, stdio, console_socket) {
            Ok(pid) => pid,
            Err(e) => {
                let _ = prepared::remove(&self.root, id);
                return Err(e);
            }
        };
        // The init has its end of the exec fifo now; ours must not keep
        // `start` from seeing end of file.
        let origin = prepared.origin.clone();
        let disable_oom_killer = prepared.disable_oom_killer;
        drop(prepared);
        let finish = || -> Result<(), RuntimeError> {
            record::Record::take_from_libcontainer(&self.container_dir(id), origin)?
                .save(&self.root, id)?;
            if disable_oom_killer {
                oom::disable_oom_killer(id, pid)?;
            }
            Ok(())
        };
        if let Err(e) = finish() {
            if let Ok(mut c) = self.load(id) {
                let _ = c.delete(true);
            }
            let _ = prepared::remove(&self.root, id);
            // The killed init is our child: leave no zombie.
            let _ = super::wait_exit(pid);
            return Err(e);
        }
        Ok(pid)
    }

    /// Returns once the user's program has been exec'd (as runc does), so
    /// a signal sent after it reaches that program; then reports the
    /// container `running` and runs the `poststart` hooks, whose failures
    /// are only logged.
    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        let mut c = self.load(id)?;
        let fifo = prepared::exec_fifo_path(&self.root, id);
        if !fifo.exists() {
            // Created by an older hoist: libcontainer's start.
            return c.start().map_err(|e| self.err("starting", id, e));
        }
        c.refresh_status()
            .map_err(|e| self.err("starting", id, e))?;
        if !c.can_start() {
            return Err(self.err(
                "starting",
                id,
                LibcontainerError::IncorrectStatus(c.status()),
            ));
        }
        start::release_and_wait(id, &self.container_dir(id), &fifo)?;
        c.set_status(ContainerStatus::Running)
            .save()
            .map_err(|e| self.err("starting", id, e))?;
        if let Some(rec) = record::Record::load(&self.root, id) {
            if !rec.poststart.is_empty() {
                let state = self.state(id)?;
                record::run_post_hooks("poststart", &rec.poststart, &state);
            }
        }
        Ok(())
    }

    fn state(&self, id: &str) -> Result<State, RuntimeError> {
        let c = self.load(id)?;
        let st = status(c.status());
        let mut annotations = c.state.annotations.clone().unwrap_or_default();
        let old = prepared::old_original_bundle(&mut annotations);
        let bundle = record::Record::load(&self.root, id)
            .map(|r| r.bundle)
            .or(old)
            .unwrap_or(c.bundle().clone());
        Ok(State {
            oci_version: c.state.oci_version.clone(),
            id: c.id().to_string(),
            status: st,
            pid: c
                .pid()
                .map(|p| p.as_raw())
                .filter(|_| st != Status::Stopped),
            bundle,
            created: c.created(),
            annotations: annotations.into_iter().collect(),
        })
    }

    fn kill(&self, id: &str, signal: i32) -> Result<(), RuntimeError> {
        let sig = Signal::try_from(signal).map_err(|_| RuntimeError::BadSignal(signal))?;
        self.load(id)?
            .kill(sig, false)
            .map_err(|e| self.err("signalling", id, e))
    }

    /// Runs the `poststop` hooks after libcontainer's delete; a failing
    /// one is logged and the others still run (the OCI runtime spec's
    /// rule), and the container is gone either way.
    fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        let mut c = self.load(id)?;
        let poststop = record::Record::load(&self.root, id)
            .map(|r| r.poststop)
            .unwrap_or_default();
        let state = if poststop.is_empty() {
            None
        } else {
            Some(self.state(id)?)
        };
        match stopped::own_delete_target(&c) {
            Some(cgroup) => stopped::delete(&c, &cgroup)?,
            None => c.delete(force).map_err(|e| self.err("deleting", id, e))?,
        }
        if let Some(mut state) = state {
            state.status = Status::Stopped;
            state.pid = None;
            record::run_post_hooks("poststop", &poststop, &state);
        }
        prepared::remove(&self.root, id)
    }

    fn exec(
        &self,
        id: &str,
        process: &oci_spec::runtime::Process,
        stdio: Stdio,
        console_socket: Option<&Path>,
    ) -> Result<i32, RuntimeError> {
        let _ = self.load(id)?;
        let mut process = process.clone();
        let executor = prepared::exec_executor(&self.root, id, &mut process)?;
        // libcontainer reads the process from a file (runc's --process).
        with_exec_process_file(&self.container_dir(id), id, &process, |file| {
            let pid = self
                .builder("executing in", id, stdio, console_socket, executor)?
                .as_tenant()
                .with_process(Some(file))
                .with_detach(true)
                .build()
                .map_err(|e| self.err("executing in", id, e))?;
            Ok(pid.as_raw())
        })
    }
}

impl InProcessRuntime {
    /// A libcontainer builder for container `id` with its stdio and, when
    /// the container has a precompiled seccomp program, hoist's executor.
    fn builder(
        &self,
        op: &'static str,
        id: &str,
        stdio: Stdio,
        console_socket: Option<&Path>,
        executor: workload::HoistExecutor,
    ) -> Result<ContainerBuilder, RuntimeError> {
        let preserve = i32::try_from(stdio.preserve_fds).unwrap_or(i32::MAX);
        let builder = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .with_root_path(&self.root)
            .map_err(|e| self.err(op, id, e))?
            .validate_id()
            .map_err(|e| self.err(op, id, e))?
            .with_preserved_fds(preserve)
            .with_stdin(stdio.stdin)
            .with_stdout(stdio.stdout)
            .with_stderr(stdio.stderr)
            .with_console_socket(console_socket)
            .with_executor(executor);
        Ok(builder)
    }

    /// libcontainer's create, on the bundle [`prepared::prepare`] chose.
    fn build_init(
        &self,
        id: &str,
        prepared: &prepared::Prepared,
        stdio: Stdio,
        console_socket: Option<&Path>,
    ) -> Result<i32, RuntimeError> {
        let container = self
            .builder(
                "creating",
                id,
                stdio,
                console_socket,
                prepared.executor.clone(),
            )?
            .as_init(&prepared.bundle)
            .with_systemd(false)
            .with_detach(true)
            .build()
            .map_err(|e| self.err("creating", id, e))?;
        container
            .pid()
            .map(|p| p.as_raw())
            .ok_or_else(|| RuntimeError::Libcontainer {
                op: "creating",
                id: id.to_string(),
                message: "libcontainer reported no init pid".into(),
                hint: "",
            })
    }
}

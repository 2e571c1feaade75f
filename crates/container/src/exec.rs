//! `exec`: another process in a running container, joining its namespaces
//! and cgroup with the same capabilities and seccomp filter as its init.
//! It runs as a child of the calling process (which must be single
//! threaded: the runtime forks), and exits with the process's code, or
//! 126/127 when the command cannot be run, like `run`.

use std::os::fd::{AsFd, OwnedFd};

use hoist_runtime::executor::{read_bundle_config, Stdio};
use hoist_runtime::spec::{resolve_user, DEFAULT_PATH};

use crate::error::{io_err, ContainerError, Result};
use crate::monitor::runtime_of;
use crate::pump::{Pump, Stream};
use crate::record::{Container, Status};
use crate::tty::{ConsoleSocket, RawMode};

/// What `exec` was asked for.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub command: Vec<String>,
    /// `KEY=VALUE`, overriding the container's.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// Give the process our stdin.
    pub interactive: bool,
    /// Give it a terminal.
    pub tty: bool,
    /// Do not wait for it.
    pub detach: bool,
    /// Every capability for this process, whatever the container's.
    pub privileged: bool,
    /// Descriptors 3 to 2+N of this process, passed on as they are.
    pub preserve_fds: u32,
}

/// `env` with `overrides` applied by key.
fn merge_env(env: &[String], overrides: &[String]) -> Vec<String> {
    let key = |e: &str| e.split('=').next().unwrap_or("").to_string();
    let mut out: Vec<String> = env
        .iter()
        .filter(|e| !overrides.iter().any(|o| key(o) == key(e)))
        .cloned()
        .collect();
    out.extend(overrides.iter().cloned());
    out
}

fn dup(fd: std::os::fd::BorrowedFd<'_>, name: &str) -> Result<OwnedFd> {
    fd.try_clone_to_owned()
        .map_err(io_err("duplicating", name.to_string()))
}

/// The process spec for `opts` in running container `c`: its init's
/// (capabilities, seccomp, user) with the command, environment, user and
/// working directory asked for. Fails (126/127) when the command cannot be
/// run.
pub(crate) fn prepared_process(
    c: &Container,
    opts: &ExecOptions,
) -> Result<oci_spec::runtime::Process> {
    let spec = read_bundle_config(&c.bundle())?;
    let mut process = spec
        .process()
        .clone()
        .ok_or_else(|| ContainerError::Monitor("the container's spec has no process".into()))?;
    let rootfs = c.rootfs();
    let mut env = merge_env(&process.env().clone().unwrap_or_default(), &opts.env);
    if let Some(u) = &opts.user {
        let r = resolve_user(&rootfs, u)?;
        let mut user = process.user().clone();
        user.set_uid(r.uid);
        user.set_gid(r.gid);
        user.set_additional_gids(Some(r.additional_gids));
        process.set_user(user);
        if let Some(home) = r.home {
            env = merge_env(&env, &[format!("HOME={home}")]);
        }
    }
    if opts.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    if let Some(w) = &opts.workdir {
        process.set_cwd(w.into());
    }
    if opts.privileged {
        process.set_capabilities(Some(hoist_runtime::spec::every_capability()?));
    }
    let path = env
        .iter()
        .find_map(|v| v.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    crate::exec_check::check_command(
        &rootfs,
        &opts.command[0],
        &path,
        process.cwd().to_str().unwrap_or("/"),
    )?;
    process.set_args(Some(opts.command.clone()));
    process.set_env(Some(env));
    process.set_terminal(Some(opts.tty));
    process.set_console_size(None);
    Ok(process)
}

/// Runs `opts.command` in running container `c`; returns its exit code
/// (0 at once with `detach`).
pub fn exec(c: &Container, opts: &ExecOptions) -> Result<i32> {
    if c.status() != Status::Running {
        return Err(ContainerError::BadState {
            id: crate::short_id(c.id()).into(),
            status: c.status().to_string(),
            op: "exec in it",
            hint: "only running containers accept exec; start it first",
        });
    }
    if opts.command.is_empty() {
        return Err(ContainerError::Invalid(
            "exec needs a command to run in the container".into(),
        ));
    }
    crate::run_setup::check_preserved_fds(opts.preserve_fds)?;
    let process = prepared_process(c, opts)?;

    let console = if opts.tty {
        Some(ConsoleSocket::bind()?)
    } else {
        None
    };
    let stdin: OwnedFd = if opts.interactive && !opts.tty {
        dup(std::io::stdin().as_fd(), "stdin")?
    } else {
        let (r, _w) = std::io::pipe().map_err(io_err("creating", "a pipe"))?;
        r.into()
    };
    let stdio = if opts.detach {
        // Nobody reads a detached exec's output (and holding our stdout
        // open would keep whoever reads ours waiting for it).
        let null = std::fs::File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(io_err("opening", "/dev/null"))?;
        let null: OwnedFd = null.into();
        Stdio::new(stdin, dup(null.as_fd(), "/dev/null")?, null)
    } else {
        Stdio::new(
            stdin,
            dup(std::io::stdout().as_fd(), "stdout")?,
            dup(std::io::stderr().as_fd(), "stderr")?,
        )
    };
    let stdio = stdio.with_preserved_fds(opts.preserve_fds);
    let rt = runtime_of(c);
    crate::userns::enter_for_exec(c)?;
    let pid = rt.exec(c.id(), &process, stdio, console.as_ref().map(|s| s.path()))?;
    crate::events::emit(c, hoist_events::Status::Exec);
    let master = match &console {
        Some(s) => {
            let m = s.receive()?;
            // The process already runs (libcontainer returns once it has
            // exec'd): set the size as soon as we can and tell it, as a
            // resize would. A program reading the size at its very first
            // instant can still see 0x0 (libcontainer 0.7 ignores
            // process.consoleSize).
            crate::tty::copy_window_size(m.as_fd());
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGWINCH,
            );
            Some(m)
        }
        None => None,
    };
    if opts.detach {
        // With -t and no one attached, the pty is closed with us.
        return Ok(0);
    }
    let _raw = if master.is_some() {
        RawMode::enter()
    } else {
        None
    };
    let m = master.as_ref().map(|m| m.as_fd());
    let status = Pump {
        pid,
        outputs: m.map(|m| vec![(m, Stream::Stdout)]).unwrap_or_default(),
        log: None,
        echo: true,
        muted: Vec::new(),
        stdin_to: if opts.interactive { m } else { None },
        winch_to: m,
        lifeline: None,
        attach_in: None,
    }
    .run()?;
    crate::events::exec_died(c, status.code());
    Ok(status.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_by_key() {
        let base = vec!["PATH=/bin".to_string(), "A=1".into(), "B=2".into()];
        let got = merge_env(&base, &["A=9".into(), "C=3".into()]);
        assert_eq!(got, vec!["PATH=/bin", "B=2", "A=9", "C=3"]);
    }
}

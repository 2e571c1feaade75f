//! `start`, `stop`, `kill`, `restart`, `rm`, `wait`, `pause`, `unpause`, `port`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hoist_container::lifecycle;
use hoist_container::{Container, ContainerError, ContainerFilter, Containers, Status};

use crate::container_args::{
    KillArgs, PauseArgs, PortArgs, RestartArgs, RmArgs, StartArgs, StopArgs, WaitArgs,
};
use crate::exit::ExitWith;

use super::open;

/// How a command picks its containers: names (and `--cidfile`s), or
/// `--all`/`--latest`/`--filter`, checked with podman's messages.
struct Selection<'a> {
    names: Vec<String>,
    all: bool,
    latest: bool,
    filter: &'a [String],
}

impl<'a> Selection<'a> {
    fn new(
        names: &[String],
        cidfiles: &[PathBuf],
        all: bool,
        latest: bool,
        filter: &'a [String],
    ) -> Result<Selection<'a>> {
        let mut names = names.to_vec();
        for f in cidfiles {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading CIDFile {}", f.display()))?;
            names.push(text.lines().next().unwrap_or("").trim().to_string());
        }
        Ok(Selection {
            names,
            all,
            latest,
            filter,
        })
    }

    /// podman's checks of `stop`, `rm`, `kill`, `pause`, `unpause`.
    fn check(&self) -> Result<()> {
        let named = !self.names.is_empty();
        if self.all && self.latest {
            usage("--all and --latest cannot be used together")?;
        }
        if self.all && named {
            usage("no arguments are needed with --all")?;
        }
        if self.latest && named {
            usage("--latest and containers cannot be used together")?;
        }
        if !self.filter.is_empty() && named {
            usage("--filter takes no arguments")?;
        }
        if !named && !self.all && !self.latest && self.filter.is_empty() {
            usage("you must provide at least one name or id")?;
        }
        Ok(())
    }

    /// The containers with the label to print for each (what was typed,
    /// or the full id when picked by --all, --latest or --filter); `all`
    /// says which containers `--all` takes (--filter alone looks at all).
    fn resolve(
        &self,
        cs: &Containers,
        all: impl Fn(&Container) -> bool,
    ) -> Result<Vec<(String, Result<Container, ContainerError>)>> {
        let filter = ContainerFilter::parse(cs, self.filter)?;
        if !self.names.is_empty() {
            return Ok(self
                .names
                .iter()
                .map(|n| (n.clone(), cs.get(n)))
                .filter(|(_, c)| c.as_ref().map_or(true, |c| filter.matches(c)))
                .collect());
        }
        let mut list = cs.list()?;
        if self.latest {
            // list() is newest first.
            list.truncate(1);
            if list.is_empty() {
                bail!("no such container");
            }
        } else if self.all {
            list.retain(|c| all(c));
        }
        Ok(list
            .into_iter()
            .filter(|c| filter.matches(c))
            .map(|c| (c.id().to_string(), Ok(c)))
            .collect())
    }
}

/// A usage error: podman's exit code 125 and message.
fn usage(message: &str) -> Result<()> {
    Err(ExitWith {
        code: crate::exit::ENGINE_ERROR,
        message: message.to_string(),
    }
    .into())
}

/// podman's exit codes for failures on single containers: 125, except
/// where a command has its own (`rm`: 1 for a missing container, 2 for a
/// running one).
type ExitCodes = fn(&anyhow::Error) -> i32;

fn engine_error(_: &anyhow::Error) -> i32 {
    crate::exit::ENGINE_ERROR
}

fn rm_code(e: &anyhow::Error) -> i32 {
    match e.downcast_ref::<ContainerError>() {
        Some(ContainerError::NotFound(_)) => 1,
        Some(ContainerError::StateImproper(_)) => 2,
        _ => crate::exit::ENGINE_ERROR,
    }
}

/// Runs `op` on each container, printing what it returns (the label by
/// default) and carrying on after failures like podman; returns the exit
/// code: 0, or the code of the first failure (`rm`: 1 if any container
/// was missing).
fn each(
    list: Vec<(String, Result<Container, ContainerError>)>,
    ignore_missing: bool,
    codes: ExitCodes,
    mut op: impl FnMut(&str, &Container) -> Result<Vec<String>>,
) -> i32 {
    let mut code = 0;
    for (label, item) in list {
        let result = match item {
            Ok(c) => op(&label, &c),
            Err(ContainerError::NotFound(_)) if ignore_missing => continue,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => {
                crate::exit::report(&e);
                let c = codes(&e);
                if code == 0 || c == 1 {
                    code = c;
                }
            }
        }
    }
    code
}

/// `op` printing the label on success.
fn label_of(
    mut op: impl FnMut(&Container) -> Result<()>,
) -> impl FnMut(&str, &Container) -> Result<Vec<String>> {
    move |label, c| op(c).map(|()| vec![label.to_string()])
}

pub fn start(root: &Path, a: StartArgs) -> Result<i32> {
    if a.containers.is_empty() && !a.latest && !a.all && a.filter.is_empty() {
        usage("start requires at least one argument")?;
    }
    if a.all && a.latest {
        usage("--all and --latest cannot be used together")?;
    }
    if a.latest && !a.containers.is_empty() {
        usage("--latest and containers cannot be used together")?;
    }
    if a.all && !a.containers.is_empty() {
        usage("either start all containers or the container(s) provided in the arguments")?;
    }
    if a.attach && a.all {
        usage("you cannot start and attach all containers at once")?;
    }
    // Only an attached start runs the monitor here; a detached monitor
    // warms up for itself.
    if a.attach {
        hoist_container::monitor::warm_up_cgroup_join();
    }
    let cs = open(root)?;
    let sel = Selection::new(&a.containers, &[], a.all, a.latest, &a.filter)?;
    let list = sel.resolve(&cs, |c| !c.status().is_active())?;
    if a.attach {
        if list.len() != 1 {
            usage("you cannot start and attach multiple containers at once")?;
        }
        let (_, c) = list.into_iter().next().expect("one container");
        let c = c?;
        if lifecycle::monitor_will_run(&cs, c.id())? {
            bail!("container {} is already running", c.name());
        }
        return super::run::exec_attached(&cs, c.id());
    }
    Ok(each(list, false, engine_error, |label, c| {
        if lifecycle::monitor_will_run(&cs, c.id())? {
            // Already running: nothing done, nothing printed (podman).
            return Ok(Vec::new());
        }
        // Whatever the container's own exit code would be, a start that
        // fails is an engine failure to podman (125).
        super::run::start_detached(&cs, c.id())
            .map_err(|e| anyhow::anyhow!("unable to start container {:?}: {e:#}", c.id()))?;
        Ok(vec![label.to_string()])
    }))
}

pub fn stop(root: &Path, a: StopArgs) -> Result<i32> {
    let sel = Selection::new(&a.containers, &a.cidfile, a.all, a.latest, &a.filter)?;
    sel.check()?;
    let cs = open(root)?;
    let list = sel.resolve(&cs, |_| true)?;
    Ok(each(
        list,
        a.ignore,
        engine_error,
        label_of(|c| Ok(lifecycle::stop(&cs, c, a.time)?)),
    ))
}

pub fn kill(root: &Path, a: KillArgs) -> Result<i32> {
    let sig = lifecycle::parse_signal(&a.signal)?;
    let sel = Selection::new(&a.containers, &a.cidfile, a.all, a.latest, &[])?;
    sel.check()?;
    let cs = open(root)?;
    let list = sel.resolve(&cs, |c| c.status().is_active())?;
    Ok(each(
        list,
        false,
        engine_error,
        label_of(|c| Ok(lifecycle::kill(&cs, c, sig)?)),
    ))
}

pub fn rm(root: &Path, a: RmArgs) -> Result<i32> {
    let sel = Selection::new(&a.containers, &a.cidfile, a.all, a.latest, &a.filter)?;
    sel.check()?;
    let cs = open(root)?;
    let list = sel.resolve(&cs, |_| true)?;
    // podman: `rm -f` of a container that is not there (any more) is fine.
    Ok(each(list, a.ignore || a.force, rm_code, |label, c| {
        if a.force && a.time.is_some_and(|t| t > 0) {
            lifecycle::stop(&cs, c, a.time)?;
        }
        let c = cs.load(c.id()).unwrap_or_else(|_| c.clone());
        // `rm --depend` of an infra container, or `rm -f -a`: its whole pod
        // goes, as podman.
        let removed = if c.config.options.infra && (a.depend || (a.all && a.force)) {
            hoist_pod::remove_by_infra(&cs, &c).map_err(|e| match e {
                hoist_pod::PodError::Container(e) => anyhow::Error::new(*e),
                e => anyhow::Error::msg(e.to_string()),
            })?
        } else if c.config.options.is_service && (a.depend || (a.all && a.force)) {
            // Its pods go with it, as with an infra container.
            hoist_pod::remove_service(&cs, &c).map_err(|e| match e {
                hoist_pod::PodError::Container(e) => anyhow::Error::new(*e),
                e => anyhow::Error::msg(e.to_string()),
            })?
        } else if a.depend {
            lifecycle::remove_with_dependents(&cs, &c, a.force)?
        } else {
            lifecycle::remove(&cs, &c, a.force)?;
            vec![label.to_string()]
        };
        if a.volumes {
            hoist_container::volumes::remove_anonymous_volumes(&cs, &c.config)?;
        }
        Ok(removed)
    }))
}

pub fn restart(root: &Path, a: RestartArgs) -> Result<i32> {
    let sel = Selection::new(&a.containers, &a.cidfile, a.all, a.latest, &a.filter)?;
    sel.check()?;
    let cs = open(root)?;
    let list = sel.resolve(&cs, |c| !a.running || c.status().is_active())?;
    Ok(each(
        list,
        false,
        engine_error,
        label_of(|c| super::run::restart(&cs, c, a.time)),
    ))
}

/// The states `wait --condition` takes, as hoist's statuses; `stopped`
/// and `exited` are the same to hoist.
fn wait_conditions(conditions: &[String]) -> Result<Vec<Status>> {
    if conditions.is_empty() {
        return Ok(vec![Status::Exited]);
    }
    conditions
        .iter()
        .map(|c| {
            Ok(match c.as_str() {
                "stopped" | "exited" => Status::Exited,
                "running" => Status::Running,
                "paused" => Status::Paused,
                "created" | "configured" => Status::Created,
                "initialized" => Status::Initialized,
                "stopping" => Status::Stopping,
                _ => {
                    return Err(anyhow::Error::new(ExitWith {
                        code: crate::exit::ENGINE_ERROR,
                        message: format!("unknown container state: {c}: invalid argument"),
                    }))
                }
            })
        })
        .collect()
}

/// Waits until container `id` is in one of `states`; its exit code then
/// (podman's: 0 for one that never ran, -1 for one removed meanwhile).
fn wait_one(cs: &Containers, id: &str, states: &[Status]) -> Result<i32> {
    if states == [Status::Exited] {
        lifecycle::wait_stopped(cs, id, None)?;
    } else {
        loop {
            match cs.load(id) {
                Ok(c) if states.contains(&c.status()) => break,
                Ok(_) => std::thread::sleep(Duration::from_millis(20)),
                Err(ContainerError::NotFound(_)) => return Ok(-1),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(match cs.load(id) {
        Ok(c) => c.exit_code().unwrap_or(0),
        // The record is gone with --rm; podman then reports what it saw.
        Err(_) => 0,
    })
}

pub fn wait(root: &Path, a: WaitArgs) -> Result<i32> {
    if a.latest && !a.containers.is_empty() {
        usage("--latest and containers cannot be used together")?;
    }
    if !a.latest && a.containers.is_empty() {
        usage("\"hoist wait\" requires a name, id, or the \"--latest\" flag")?;
    }
    let states = wait_conditions(&a.condition)?;
    let cs = open(root)?;
    let sel = Selection::new(&a.containers, &[], false, a.latest, &[])?;
    let list = sel.resolve(&cs, |_| true)?;
    Ok(each(list, a.ignore, engine_error, |_, c| {
        Ok(vec![wait_one(&cs, c.id(), &states)?.to_string()])
    }))
}

pub fn pause(root: &Path, a: PauseArgs) -> Result<i32> {
    let sel = Selection::new(&a.containers, &a.cidfile, a.all, a.latest, &a.filter)?;
    sel.check()?;
    let cs = open(root)?;
    let list = sel.resolve(&cs, |c| c.status() == Status::Running)?;
    Ok(each(
        list,
        false,
        engine_error,
        label_of(|c| Ok(lifecycle::pause(&cs, c)?)),
    ))
}

pub fn unpause(root: &Path, a: PauseArgs) -> Result<i32> {
    let sel = Selection::new(&a.containers, &a.cidfile, a.all, a.latest, &a.filter)?;
    sel.check()?;
    let cs = open(root)?;
    let list = sel.resolve(&cs, |c| c.status() == Status::Paused)?;
    Ok(each(
        list,
        false,
        engine_error,
        label_of(|c| Ok(lifecycle::unpause(&cs, c)?)),
    ))
}

pub fn port(root: &Path, a: PortArgs) -> Result<i32> {
    let cs = open(root)?;
    if a.all {
        if a.container.is_some() {
            // podman's wording.
            bail!("no arguments are needed with --all");
        }
        // Every running container, each line led by its short ID.
        for c in cs.list()? {
            if c.status() == Status::Running {
                let id = hoist_container::short_id(c.id());
                for (cport, host) in published(&c) {
                    println!("{id}\t{cport} -> {host}");
                }
            }
        }
        return Ok(0);
    }
    // With --latest the only argument is the port.
    let (c, port) = if a.latest {
        let newest = cs.newest()?;
        let c = newest.ok_or_else(|| anyhow::anyhow!("no containers: --latest found none"))?;
        (c, a.container.as_ref())
    } else {
        let Some(name) = &a.container else {
            bail!("you must supply a running container name or id");
        };
        (cs.get(name)?, a.port.as_ref())
    };
    let want = port.map(|w| {
        if w.contains('/') {
            w.clone()
        } else {
            format!("{w}/tcp")
        }
    });
    let mut found = false;
    for (cport, host) in published(&c) {
        match &want {
            Some(want) => {
                if *want == cport {
                    found = true;
                    println!("{host}");
                }
            }
            None => println!("{cport} -> {host}"),
        }
    }
    if let Some(want) = want.filter(|_| !found) {
        // podman's wording.
        anyhow::bail!("failed to find published port {want:?}");
    }
    Ok(0)
}

/// The published ports of `c`, one per port of a range, as
/// (`PORT/PROTO`, `HOST_IP:HOST_PORT`).
fn published(c: &Container) -> Vec<(String, String)> {
    let ports = if c.state.ports.is_empty() {
        &c.config.options.ports
    } else {
        &c.state.ports
    };
    let mut out = Vec::new();
    for p in ports {
        let ip = p
            .host_ip
            .map(|i| i.to_string())
            .unwrap_or_else(|| "0.0.0.0".into());
        for i in 0..p.range.max(1) {
            out.push((
                format!("{}/{}", p.container_port + i, p.protocol.as_str()),
                format!("{ip}:{}", p.host_port + i),
            ));
        }
    }
    out
}

//! `stop`, `kill`, `restart`, `rm`, `wait`, `pause`, `unpause`, `port`.

use std::path::Path;

use anyhow::{bail, Result};
use hoist_container::lifecycle;
use hoist_container::{Container, ContainerError, Containers};

use crate::container_args::{ContainersArgs, KillArgs, PortArgs, RestartArgs, RmArgs, StopArgs};
use crate::exit::ExitWith;

use super::{lookup_all, open};

/// Runs `op` on each container, printing `label(c)` on success and
/// carrying on after failures like podman; the exit code is 125 if any
/// failed (or `missing_code` when the only failures were unknown names).
fn each(
    cs: &Containers,
    names: &[String],
    all: bool,
    ignore_missing: bool,
    mut op: impl FnMut(&Container) -> Result<()>,
) -> Result<i32> {
    let list: Vec<(String, Result<Container, ContainerError>)> = if all {
        cs.list()?
            .into_iter()
            .map(|c| (c.id().to_string(), Ok(c)))
            .collect()
    } else {
        if names.is_empty() {
            bail!("no container given: name one or more containers, or use --all");
        }
        names.iter().map(|n| (n.clone(), cs.get(n))).collect()
    };
    let mut code = 0;
    for (label, item) in list {
        match item {
            Ok(c) => match op(&c) {
                Ok(()) => println!("{label}"),
                Err(e) => {
                    eprintln!("Error: {e:#}");
                    code = 125;
                }
            },
            Err(ContainerError::NotFound(_)) if ignore_missing => {}
            Err(e) => {
                eprintln!("Error: {e}");
                if code == 0 {
                    code = if matches!(e, ContainerError::NotFound(_)) {
                        1
                    } else {
                        125
                    };
                }
            }
        }
    }
    Ok(code)
}

pub fn stop(root: &Path, a: StopArgs) -> Result<i32> {
    let cs = open(root)?;
    each(&cs, &a.containers, a.all, a.ignore, |c| {
        Ok(lifecycle::stop(&cs, c, a.time)?)
    })
}

pub fn kill(root: &Path, a: KillArgs) -> Result<i32> {
    let cs = open(root)?;
    let sig = lifecycle::parse_signal(&a.signal)?;
    let all: Vec<String> = if a.all {
        cs.list()?
            .into_iter()
            .filter(|c| c.status() == hoist_container::Status::Running)
            .map(|c| c.id().to_string())
            .collect()
    } else {
        a.containers.clone()
    };
    each(&cs, &all, false, false, |c| {
        Ok(lifecycle::kill(&cs, c, sig)?)
    })
}

pub fn rm(root: &Path, a: RmArgs) -> Result<i32> {
    let cs = open(root)?;
    // podman: `rm -f` of a container that is not there (any more) is fine.
    each(&cs, &a.containers, a.all, a.ignore || a.force, |c| {
        if a.force && a.time.is_some_and(|t| t > 0) {
            lifecycle::stop(&cs, c, a.time)?;
        }
        lifecycle::remove(&cs, &cs.load(c.id()).unwrap_or_else(|_| c.clone()), a.force)?;
        if a.volumes {
            hoist_container::volumes::remove_anonymous_volumes(&cs, &c.config)?;
        }
        Ok(())
    })
}

pub fn restart(root: &Path, a: RestartArgs) -> Result<i32> {
    let cs = open(root)?;
    for c in lookup_all(&cs, &a.containers)? {
        lifecycle::stop(&cs, &c, a.time)?;
        super::start(
            root,
            crate::container_args::StartArgs {
                attach: false,
                interactive: false,
                containers: vec![c.id().to_string()],
            },
        )?;
    }
    Ok(0)
}

pub fn wait(root: &Path, a: ContainersArgs) -> Result<i32> {
    let cs = open(root)?;
    let list = lookup_all(&cs, &a.containers)?;
    let mut last = 0;
    for c in list {
        lifecycle::wait_stopped(&cs, c.id(), None)?;
        // The record is gone with --rm; podman then reports what it saw.
        let code = cs
            .load(c.id())
            .ok()
            .and_then(|c| c.exit_code())
            .unwrap_or(0);
        println!("{code}");
        last = code;
    }
    let _ = last;
    Ok(0)
}

pub fn pause(root: &Path, a: ContainersArgs) -> Result<i32> {
    let cs = open(root)?;
    each(&cs, &a.containers, false, false, |c| {
        Ok(lifecycle::pause(&cs, c)?)
    })
}

pub fn unpause(root: &Path, a: ContainersArgs) -> Result<i32> {
    let cs = open(root)?;
    each(&cs, &a.containers, false, false, |c| {
        Ok(lifecycle::unpause(&cs, c)?)
    })
}

pub fn port(root: &Path, a: PortArgs) -> Result<i32> {
    let cs = open(root)?;
    let c = cs.get(&a.container)?;
    let ports = if c.state.ports.is_empty() {
        &c.config.options.ports
    } else {
        &c.state.ports
    };
    for p in ports {
        for i in 0..p.range.max(1) {
            let cport = format!("{}/{}", p.container_port + i, p.protocol.as_str());
            if let Some(want) = &a.port {
                let want = if want.contains('/') {
                    want.clone()
                } else {
                    format!("{want}/tcp")
                };
                if want != cport {
                    continue;
                }
                println!(
                    "{}:{}",
                    p.host_ip
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "0.0.0.0".into()),
                    p.host_port + i
                );
            } else {
                println!(
                    "{cport} -> {}:{}",
                    p.host_ip
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "0.0.0.0".into()),
                    p.host_port + i
                );
            }
        }
    }
    let _ = ExitWith {
        code: 0,
        message: String::new(),
    };
    Ok(0)
}

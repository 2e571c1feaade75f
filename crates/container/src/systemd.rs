//! `generate systemd`: a systemd service unit that runs a container with
//! hoist, in the structure of podman's units (so guides written for
//! podman apply): either starting the existing container (`Type=forking`,
//! `PIDFile=` the monitor's pid file) or, with `new`, creating a fresh one
//! from the container's create command line each time.

use std::path::{Path, PathBuf};

use crate::error::{ContainerError, Result};
use crate::options::RestartPolicy;
use crate::record::Container;

/// The restart policies systemd's `Restart=` takes.
pub const RESTART_POLICIES: &[&str] = &[
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
];

/// The monitor's pid file of every container, beside its other run files.
pub fn monitor_pid_file(c: &Container) -> PathBuf {
    c.dir.join("userdata").join("conmon.pid")
}

/// How to write the unit.
#[derive(Debug, Clone)]
pub struct UnitOptions {
    /// The hoist binary the unit runs.
    pub executable: PathBuf,
    /// Global options to pass before the command (`--root DIR`).
    pub global_args: Vec<String>,
    /// Name the unit and the commands after the container's name, not its ID.
    pub use_name: bool,
    /// Create a new container on each start (`--new`).
    pub new: bool,
    /// A template unit (`NAME@.service`, instances named with `%i`).
    pub template: bool,
    pub container_prefix: String,
    pub separator: String,
    /// `--restart-policy`; `None`: the container's own policy, else on-failure.
    pub restart_policy: Option<String>,
    pub restart_sec: Option<u64>,
    /// `--stop-timeout`; `None`: the container's own, else 10.
    pub stop_timeout: Option<u64>,
    pub start_timeout: Option<u64>,
    /// Include the header comment (name, generator, date).
    pub header: bool,
    pub wants: Vec<String>,
    pub after: Vec<String>,
    pub requires: Vec<String>,
    /// `Environment=` lines, KEY=VALUE.
    pub env: Vec<String>,
}

impl Default for UnitOptions {
    fn default() -> Self {
        UnitOptions {
            executable: PathBuf::from("/usr/bin/hoist"),
            global_args: vec![],
            use_name: false,
            new: false,
            template: false,
            container_prefix: "container".into(),
            separator: "-".into(),
            restart_policy: None,
            restart_sec: None,
            stop_timeout: None,
            start_timeout: None,
            header: true,
            wants: vec![],
            after: vec![],
            requires: vec![],
            env: vec![],
        }
    }
}

/// A generated unit: its name without `.service`, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub name: String,
    pub text: String,
    /// What the user should know about the unit (to print as warnings).
    pub warnings: Vec<String>,
}

impl Unit {
    pub fn file_name(&self) -> String {
        format!("{}.service", self.name)
    }
}

/// The unit for container `c`.
pub fn generate(c: &Container, opts: &UnitOptions) -> Result<Unit> {
    if let Some(p) = &opts.restart_policy {
        if !RESTART_POLICIES.contains(&p.as_str()) {
            return Err(ContainerError::Invalid(format!(
                "{p} is not a valid restart policy: use one of {}",
                RESTART_POLICIES.join(", ")
            )));
        }
    }
    let ident = if opts.use_name { c.name() } else { c.id() };
    let mut name = format!("{}{}{ident}", opts.container_prefix, opts.separator);
    if opts.template {
        name.push('@');
    }
    let (restart, burst) = restart_lines(c, opts);
    let mut warnings = Vec::new();
    let own_policy = c.config.options.restart;
    if !opts.new && own_policy != RestartPolicy::No {
        // The monitor would restart what systemd stops at shutdown.
        warnings.push(format!(
            "Container {} has restart policy {:?} set, which can lead to issues on shutdown: systemd restarts the unit itself; use --new, or create the container with --restart=no",
            c.id(),
            own_policy.name()
        ));
    }
    let stop_timeout = opts
        .stop_timeout
        .or(c.config.options.stop_timeout)
        .unwrap_or(10);
    let exe = |args: &[String]| -> String {
        let mut words = vec![quote(&opts.executable.to_string_lossy())];
        words.extend(opts.global_args.iter().map(|a| quote(a)));
        words.extend(args.iter().map(|a| quote(a)));
        words.join(" ")
    };
    let t = stop_timeout.to_string();
    let mut service = vec!["Environment=PODMAN_SYSTEMD_UNIT=%n".to_string()];
    service.extend(opts.env.iter().map(|e| format!("Environment={}", quote(e))));
    service.push(format!("Restart={restart}"));
    if let Some(n) = burst {
        service.push(format!("StartLimitBurst={n}"));
    }
    if let Some(s) = opts.restart_sec {
        service.push(format!("RestartSec={s}"));
    }
    if let Some(s) = opts.start_timeout {
        service.push(format!("TimeoutStartSec={s}"));
    }
    // Room for the stop timeout and the SIGKILL after it.
    service.push(format!("TimeoutStopSec={}", 60 + stop_timeout));
    let requires_mounts = if opts.new {
        let run = new_run_args(c, opts)?;
        service.push("ExecStartPre=/bin/rm -f %t/%n.ctr-id %t/%n.pid".into());
        service.push(format!("ExecStart={}", exe(&run)));
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        service.push(format!(
            "ExecStop={}",
            exe(&words(&[
                "stop",
                "--ignore",
                "-t",
                &t,
                "--cidfile=%t/%n.ctr-id"
            ]))
        ));
        service.push(format!(
            "ExecStopPost={}",
            exe(&words(&[
                "rm",
                "-f",
                "--ignore",
                "-t",
                &t,
                "--cidfile=%t/%n.ctr-id"
            ]))
        ));
        service.push("PIDFile=%t/%n.pid".into());
        "%t/containers".to_string()
    } else {
        let stop = vec!["stop".to_string(), "-t".into(), t, ident.to_string()];
        service.push(format!(
            "ExecStart={}",
            exe(&["start".to_string(), ident.to_string()])
        ));
        service.push(format!("ExecStop={}", exe(&stop)));
        service.push(format!("ExecStopPost={}", exe(&stop)));
        service.push(format!(
            "PIDFile={}",
            escape(&monitor_pid_file(c).to_string_lossy())
        ));
        escape(&root_of(c).to_string_lossy())
    };
    service.push("Type=forking".into());

    let mut text = String::new();
    if opts.header {
        text.push_str(&format!(
            "# {name}.service\n# autogenerated by hoist {}\n# {}\n\n",
            env!("CARGO_PKG_VERSION"),
            chrono::Utc::now().format("%a %b %e %H:%M:%S %Z %Y")
        ));
    } else {
        text.push_str(&format!("# {name}.service\n\n"));
    }
    let mut unit = vec![
        format!("Description=hoist {name}.service"),
        "Documentation=man:hoist-generate-systemd(1)".to_string(),
    ];
    let mut wants = vec!["network-online.target".to_string()];
    wants.extend(opts.wants.iter().cloned());
    let mut after = vec!["network-online.target".to_string()];
    after.extend(opts.after.iter().cloned());
    unit.push(format!("Wants={}", wants.join(" ")));
    unit.push(format!("After={}", after.join(" ")));
    if !opts.requires.is_empty() {
        unit.push(format!("Requires={}", opts.requires.join(" ")));
    }
    unit.push(format!("RequiresMountsFor={requires_mounts}"));
    text.push_str(&format!("[Unit]\n{}\n\n", unit.join("\n")));
    text.push_str(&format!("[Service]\n{}\n\n", service.join("\n")));
    text.push_str("[Install]\nWantedBy=default.target\n");
    Ok(Unit {
        name,
        text,
        warnings,
    })
}

/// `Restart=` and `StartLimitBurst=`: the flag, else the container's
/// policy (unless-stopped is always for systemd), else on-failure.
fn restart_lines(c: &Container, opts: &UnitOptions) -> (String, Option<u32>) {
    if let Some(p) = &opts.restart_policy {
        return (p.clone(), None);
    }
    match c.config.options.restart {
        RestartPolicy::No => ("on-failure".into(), None),
        RestartPolicy::OnFailure { max } => ("on-failure".into(), (max > 0).then_some(max)),
        RestartPolicy::Always | RestartPolicy::UnlessStopped => ("always".into(), None),
    }
}

/// The hoist root the container lives under (its directory is
/// ROOT/containers/ID).
fn root_of(c: &Container) -> &Path {
    c.dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"))
}

/// `run` arguments that create the container afresh: its create command
/// line with the options the unit sets itself taken out.
fn new_run_args(c: &Container, opts: &UnitOptions) -> Result<Vec<String>> {
    let cmdline = &c.config.options.create_command;
    let sub = cmdline
        .iter()
        .position(|a| a == "run" || a == "create")
        .ok_or_else(|| {
            ContainerError::Invalid(format!(
                "container {} has no create command on record (made by an older hoist): --new needs it; create the container again",
                c.name()
            ))
        })?;
    let name = if opts.template {
        format!("{}-%i", c.name())
    } else {
        c.name().to_string()
    };
    let mut args: Vec<String> = [
        "run",
        "--cidfile=%t/%n.ctr-id",
        "--conmon-pidfile=%t/%n.pid",
        "--rm",
        "-d",
        "--replace",
        "--name",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(name);
    // The image and the command after it are kept word for word.
    let given = &cmdline[sub + 1..];
    let tail = (c.config.options.command.as_ref().map_or(0, Vec::len) + 1).min(given.len());
    let (flags, image_and_command) = given.split_at(given.len() - tail);
    args.extend(strip_run_flags(flags));
    args.extend(image_and_command.iter().cloned());
    Ok(args)
}

/// The create arguments without `-d`, `--rm`, `--replace`, `--name`,
/// `--cidfile`, `--conmon-pidfile` and `--restart`, which the unit sets.
fn strip_run_flags(args: &[String]) -> Vec<String> {
    // systemd restarts the unit: hoist's own --restart would fight it
    // (and goes with --rm no more than in podman).
    const WITH_VALUE: &[&str] = &["--name", "--cidfile", "--conmon-pidfile", "--restart"];
    const ALONE: &[&str] = &["-d", "--detach", "--rm", "--replace", "--detach=true"];
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            out.extend(args[i..].iter().cloned());
            break;
        }
        if WITH_VALUE.contains(&a.as_str()) {
            i += 2;
            continue;
        }
        if ALONE.contains(&a.as_str()) || WITH_VALUE.iter().any(|f| a.starts_with(&format!("{f}=")))
        {
            i += 1;
            continue;
        }
        // A cluster of one-letter switches such as -dit loses its d.
        if a.len() > 2
            && a.starts_with('-')
            && !a.starts_with("--")
            && a[1..].chars().all(|ch| "dit".contains(ch))
        {
            let rest: String = a[1..].chars().filter(|&ch| ch != 'd').collect();
            out.push(format!("-{rest}"));
            i += 1;
            continue;
        }
        out.push(a.clone());
        i += 1;
    }
    out
}

/// One word of an Exec line: quoted when needed, `%` and `$` escaped so
/// systemd passes them through (the unit's own specifiers are added
/// unquoted by the callers that mean them).
fn quote(word: &str) -> String {
    if word.contains("%t/%n") || word.contains("%i") {
        return word.to_string();
    }
    let escaped = escape(word).replace('$', "$$");
    if escaped.is_empty()
        || escaped
            .chars()
            .any(|ch| ch.is_whitespace() || "\"'\\;".contains(ch))
    {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

/// `%` is systemd's specifier character.
fn escape(s: &str) -> String {
    s.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn strips_the_flags_the_unit_sets() {
        assert_eq!(
            strip_run_flags(&v(&[
                "--name",
                "a",
                "-dt",
                "--rm",
                "--cidfile=x",
                "-e",
                "A=1"
            ])),
            v(&["-t", "-e", "A=1"])
        );
    }

    #[test]
    fn quotes_words_for_systemd() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("100%"), "100%%");
        assert_eq!(quote("$HOME"), "$$HOME");
        assert_eq!(quote("--cidfile=%t/%n.ctr-id"), "--cidfile=%t/%n.ctr-id");
    }
}

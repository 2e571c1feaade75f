//! `--ssh`: SSH agents that `RUN --mount=type=ssh` steps reach through a
//! socket bound into their container, so a step can fetch over SSH
//! without a key ever entering a layer, the history or the cache key.
//!
//! `--ssh default` forwards the agent of `$SSH_AUTH_SOCK`;
//! `--ssh ID=SOCKET` an agent's socket; `--ssh ID=KEY[,KEY...]` starts
//! the system's `ssh-agent` (OpenSSH) for the build, with those keys
//! added, and stops it afterwards.

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::error::{BuildError, Result};

/// The agents of one build, by `--ssh` id; those it started end with it.
#[derive(Debug, Default)]
pub struct SshAgents {
    sockets: BTreeMap<String, PathBuf>,
    started: Vec<Child>,
}

impl SshAgents {
    /// The agents `specs` (the `--ssh` values) name; agents for key files
    /// get their sockets in `scratch`.
    pub fn forward(specs: &[String], scratch: &Path) -> Result<SshAgents> {
        let mut agents = SshAgents::default();
        for (index, spec) in specs.iter().enumerate() {
            let (id, sources) = parse(spec)?;
            let socket = match sources.as_slice() {
                [] => default_socket(spec)?,
                [one] if is_socket(one) => one.clone(),
                keys => agents.start(spec, keys, &scratch.join(format!("ssh-agent-{index}")))?,
            };
            agents.sockets.insert(id, socket);
        }
        Ok(agents)
    }

    /// The socket of agent `id`, if the build was given one.
    pub fn socket(&self, id: &str) -> Option<&Path> {
        self.sockets.get(id).map(PathBuf::as_path)
    }

    fn start(&mut self, spec: &str, keys: &[PathBuf], socket: &Path) -> Result<PathBuf> {
        if let Some(k) = keys.iter().find(|k| !k.is_file()) {
            return Err(invalid(
                spec,
                &format!(
                    "{} is neither an agent's socket nor a key file",
                    k.display()
                ),
            ));
        }
        let agent = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| invalid(spec, &format!("starting ssh-agent (OpenSSH's ssh-agent; apt-get install openssh-client): {e}")))?;
        self.started.push(agent);
        wait_for_socket(socket).map_err(|why| invalid(spec, &why))?;
        let out = Command::new("ssh-add")
            .args(keys)
            .env("SSH_AUTH_SOCK", socket)
            .env("SSH_ASKPASS_REQUIRE", "never")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| invalid(spec, &format!("running ssh-add: {e}")))?;
        if !out.status.success() {
            return Err(invalid(
                spec,
                &format!(
                    "ssh-add could not add the keys (a key with a passphrase needs an agent: give its socket): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        Ok(socket.to_path_buf())
    }
}

impl Drop for SshAgents {
    fn drop(&mut self) {
        for agent in &mut self.started {
            let _ = agent.kill();
            let _ = agent.wait();
        }
    }
}

/// `ID[=PATH[,PATH...]]` (ID `default` when the spec is only that).
fn parse(spec: &str) -> Result<(String, Vec<PathBuf>)> {
    let (id, rest) = match spec.split_once('=') {
        Some((id, rest)) => (id, Some(rest)),
        None => (spec, None),
    };
    if id.is_empty() || id.contains(',') {
        return Err(invalid(
            spec,
            "expected default, ID=SOCKET or ID=KEY[,KEY...]",
        ));
    }
    let paths = rest
        .map(|r| {
            r.split(',')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    if rest.is_some() && Vec::is_empty(&paths) {
        return Err(invalid(spec, "give a socket or key files after ="));
    }
    Ok((id.to_string(), paths))
}

fn default_socket(spec: &str) -> Result<PathBuf> {
    match std::env::var_os("SSH_AUTH_SOCK") {
        Some(s) if is_socket(Path::new(&s)) => Ok(PathBuf::from(s)),
        Some(s) => Err(invalid(
            spec,
            &format!(
                "SSH_AUTH_SOCK names {}, which is no socket",
                Path::new(&s).display()
            ),
        )),
        None => Err(invalid(
            spec,
            "SSH_AUTH_SOCK is not set: start an agent (ssh-agent) or give ID=SOCKET or ID=KEY",
        )),
    }
}

fn is_socket(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

/// ssh-agent makes its socket soon after it starts; it is no condition
/// this process can be told of, so it looks until the socket is there.
fn wait_for_socket(socket: &Path) -> std::result::Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_socket(socket) {
        if Instant::now() >= deadline {
            return Err(format!(
                "ssh-agent made no socket at {} in 10 s",
                socket.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn invalid(spec: &str, why: &str) -> BuildError {
    BuildError::Invalid(format!("--ssh {spec:?}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_paths() {
        assert_eq!(parse("default").unwrap(), ("default".into(), vec![]));
        assert_eq!(
            parse("gh=/k1,/k2").unwrap(),
            (
                "gh".into(),
                vec![PathBuf::from("/k1"), PathBuf::from("/k2")]
            )
        );
        for bad in ["", "=x", "a,b", "id="] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = SshAgents::forward(&["k=/nonexistent/key".into()], dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/key"), "{err}");
    }
}

//! The socket a `RUN --mount=type=ssh` step sees: one of the step's own,
//! owned and moded as the mount asks (BuildKit's defaults: root, 0600),
//! that passes every connection on to the build's agent. Binding the
//! agent's socket itself would show the step the host's owner and mode,
//! and changing those would change them for the host.

use std::io::{self, Write};
use std::net::Shutdown;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::error::{io_err, Result};

/// A listening socket forwarding to an agent; it stops and goes when
/// dropped.
#[derive(Debug)]
pub(crate) struct AgentProxy {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

/// Who may use the step's socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

impl AgentProxy {
    /// Listens at `at` with `access` and forwards to the agent at `agent`.
    pub(crate) fn start(agent: &Path, at: &Path, access: Access) -> Result<AgentProxy> {
        let listener = UnixListener::bind(at).map_err(io_err("listening on", at))?;
        std::os::unix::fs::chown(at, Some(access.uid), Some(access.gid))
            .map_err(io_err("setting the owner of", at))?;
        std::fs::set_permissions(at, std::fs::Permissions::from_mode(access.mode))
            .map_err(io_err("setting the mode of", at))?;
        let stop = Arc::new(AtomicBool::new(false));
        let server = {
            let (agent, stop) = (agent.to_path_buf(), Arc::clone(&stop));
            std::thread::spawn(move || serve(&listener, &agent, &stop))
        };
        Ok(AgentProxy {
            path: at.to_path_buf(),
            stop,
            server: Some(server),
        })
    }
}

impl Drop for AgentProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the server from accept() so it sees it must stop.
        let _ = UnixStream::connect(&self.path);
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Accepts until told to stop; each connection is joined to a new one to
/// the agent, in both directions, on threads of its own.
fn serve(listener: &UnixListener, agent: &Path, stop: &AtomicBool) {
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        // A client that went, or an agent that cannot be reached: that
        // client's connection closes and it says why; others go on.
        let (Ok(client), Ok(upstream)) = (client, UnixStream::connect(agent)) else {
            continue;
        };
        std::thread::spawn(move || {
            let _ = join_both_ways(client, upstream);
        });
    }
}

fn join_both_ways(client: UnixStream, agent: UnixStream) -> io::Result<()> {
    let (mut client_in, mut agent_out) = (client.try_clone()?, agent.try_clone()?);
    let upward = std::thread::spawn(move || {
        let _ = io::copy(&mut client_in, &mut agent_out);
        let _ = agent_out.flush();
        let _ = agent_out.shutdown(Shutdown::Write);
    });
    let (mut agent_in, mut client_out) = (agent, client);
    let _ = io::copy(&mut agent_in, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Write);
    let _ = upward.join();
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn forwards_both_ways_with_the_asked_owner_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let agent_path = dir.path().join("agent");
        let agent = UnixListener::bind(&agent_path).unwrap();
        // An agent that answers each request with it upper-cased.
        let echo = std::thread::spawn(move || {
            let (mut c, _) = agent.accept().unwrap();
            let mut got = String::new();
            c.read_to_string(&mut got).unwrap();
            c.write_all(got.to_uppercase().as_bytes()).unwrap();
        });
        let at = dir.path().join("step.sock");
        let access = Access {
            uid: 1000,
            gid: 1001,
            mode: 0o640,
        };
        let proxy = AgentProxy::start(&agent_path, &at, access).unwrap();
        let meta = std::fs::metadata(&at).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o777),
            (1000, 1001, 0o640)
        );
        let mut c = UnixStream::connect(&at).unwrap();
        c.write_all(b"sign this").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "SIGN THIS");
        echo.join().unwrap();
        drop(proxy);
        assert!(!at.exists());
    }
}

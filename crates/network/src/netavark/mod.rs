//! Driving netavark (`setup` / `teardown` of a container's network
//! namespace), with hoist's IP allocation in front of it.

mod binaries;
mod request;
mod status;

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub(crate) use crate::bridge::NamespaceFate;
pub use binaries::{find_aardvark, find_netavark};
pub use request::{NetworkAttachment, SetupRequest};
pub use status::{ContainerAddress, NetAddress, NetInterface, NetworkStatus, StatusBlock};

use crate::error::{Error, IoContext, Result};
use crate::ipam::Ipam;
use hoist_fsutil::FileLock;

/// netavark plus the state it needs: its config directory (aardvark-dns
/// configuration and pid file) and the IP allocations, both under one run
/// directory that belongs on a tmpfs, e.g. `/run/hoist/network`.
#[derive(Clone, Debug)]
pub struct Netavark {
    netavark: PathBuf,
    aardvark: PathBuf,
    run_dir: PathBuf,
    ipam: Ipam,
    /// Whether networks the built-in bridge driver covers use it.
    native_bridge: bool,
}

impl Netavark {
    /// Uses the installed netavark and aardvark-dns (see [`find_netavark`]).
    pub fn new(run_dir: impl Into<PathBuf>) -> Result<Netavark> {
        Self::with_binaries(run_dir, find_netavark()?, find_aardvark()?)
    }

    /// Uses the given executables.
    pub fn with_binaries(
        run_dir: impl Into<PathBuf>,
        netavark: impl Into<PathBuf>,
        aardvark: impl Into<PathBuf>,
    ) -> Result<Netavark> {
        let run_dir = run_dir.into();
        let config = run_dir.join("netavark");
        // netavark 1.4 fails (after half-configuring the host) if its
        // config directory is missing.
        std::fs::create_dir_all(&config).ctx("creating netavark config directory", &config)?;
        let ipam = Ipam::open(run_dir.join("ipam"))?;
        Ok(Netavark {
            netavark: netavark.into(),
            aardvark: aardvark.into(),
            run_dir,
            ipam,
            native_bridge: std::env::var(crate::bridge::DRIVER_ENV)
                .map_or(true, |d| d != "netavark"),
        })
    }

    /// The same, with every network set up and torn down by netavark, as
    /// `HOIST_NETWORK_DRIVER=netavark` does.
    pub fn netavark_only(mut self) -> Netavark {
        self.native_bridge = false;
        self
    }

    fn native(&self, request: &SetupRequest) -> bool {
        self.native_bridge && crate::bridge::handles(request)
    }

    /// The directory given to `netavark --config`.
    pub fn config_dir(&self) -> PathBuf {
        self.run_dir.join("netavark")
    }

    /// The IP allocator setup uses.
    pub fn ipam(&self) -> &Ipam {
        &self.ipam
    }

    /// The aardvark-dns process netavark started for this config directory,
    /// if one is recorded.
    pub fn aardvark_pid(&self) -> Option<u32> {
        let pid_file = self.config_dir().join("aardvark-dns").join("aardvark.pid");
        std::fs::read_to_string(pid_file).ok()?.trim().parse().ok()
    }

    /// Connects the namespace at `netns` to the requested networks: allocates
    /// addresses, runs `netavark setup` (or the built-in bridge driver, for
    /// the networks it covers: see the `bridge` module), returns its status. On failure
    /// everything done so far is undone.
    ///
    /// A container that holds addresses on one of the networks (set up
    /// before, or a setup interrupted by a crash) is refused: call
    /// [`Netavark::teardown`] first. Otherwise the undo after netavark's
    /// inevitable "already exists" failure would dismantle the live setup.
    pub fn setup(&self, netns: &Path, request: &SetupRequest) -> Result<StatusBlock> {
        request.validate()?;
        let _lock = self.lock()?;
        for attachment in &request.networks {
            if !self
                .ipam
                .allocated(&attachment.network, &request.container_id)?
                .is_empty()
            {
                return Err(Error::InvalidRequest {
                    reason: format!(
                        "container {} is already set up on network {:?}: tear it down first",
                        request.container_id, attachment.network.name
                    ),
                });
            }
        }
        let mut ips: Vec<Vec<IpAddr>> = Vec::new();
        for attachment in &request.networks {
            match self.ipam.allocate(
                &attachment.network,
                &request.container_id,
                &attachment.static_ips,
            ) {
                Ok(got) => ips.push(got),
                Err(err) => {
                    self.release_all(request);
                    return Err(err);
                }
            }
        }
        if self.native(request) {
            let outcome = crate::bridge::setup(netns, request, &ips);
            if outcome.is_err() {
                self.release_all(request);
            }
            return outcome;
        }
        let input = request.to_netavark_json(&ips);
        let outcome = self.run("setup", netns, &input).and_then(|stdout| {
            serde_json::from_slice::<StatusBlock>(&stdout).map_err(|source| Error::NetavarkOutput {
                command: "setup",
                output: String::from_utf8_lossy(&stdout).into_owned(),
                source,
            })
        });
        match outcome {
            Ok(status) => {
                tracing::debug!(container = %request.container_id, ?status, "network set up");
                Ok(status)
            }
            Err(err) => {
                // netavark 1.4 leaves whatever it already did (bridge,
                // firewall rules) behind when setup fails.
                if let Err(undo) = self.run("teardown", netns, &input) {
                    tracing::debug!("teardown after failed setup: {undo}");
                }
                self.release_all(request);
                Err(err)
            }
        }
    }

    /// Undoes [`Netavark::setup`] for the same request: removes the
    /// container's interfaces, firewall rules and DNS records (netavark
    /// deletes the bridge and stops aardvark-dns once nobody uses them) and
    /// frees the addresses. Call it before removing the namespace: netavark
    /// must enter it. Addresses are freed even if netavark fails.
    pub fn teardown(&self, netns: &Path, request: &SetupRequest) -> Result<()> {
        self.teardown_in(netns, request, NamespaceFate::Stays)
    }

    /// [`Netavark::teardown`] for a namespace that is removed next: the
    /// container's interfaces go with it (the kernel deletes them, off the
    /// caller's time; deleting a veth waits for an RCU grace period).
    pub fn teardown_before_removal(&self, netns: &Path, request: &SetupRequest) -> Result<()> {
        self.teardown_in(netns, request, NamespaceFate::Removed)
    }

    fn teardown_in(&self, netns: &Path, request: &SetupRequest, fate: NamespaceFate) -> Result<()> {
        if request.networks.is_empty() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let mut ips = Vec::new();
        for attachment in &request.networks {
            let mut held = self
                .ipam
                .allocated(&attachment.network, &request.container_id)?;
            if held.is_empty() {
                held = attachment.static_ips.clone();
            }
            ips.push(held);
        }
        let outcome = if self.native(request) {
            let mut in_use = Vec::new();
            for attachment in &request.networks {
                in_use.push(
                    self.ipam
                        .held_by_others(&attachment.network, &request.container_id)?,
                );
            }
            crate::bridge::teardown(netns, request, &ips, &in_use, fate)
        } else {
            let input = request.to_netavark_json(&ips);
            self.run("teardown", netns, &input).map(|_| ())
        };
        self.release_all(request);
        outcome
    }

    fn release_all(&self, request: &SetupRequest) {
        for attachment in &request.networks {
            if let Err(err) = self
                .ipam
                .release(&attachment.network, &request.container_id)
            {
                tracing::warn!("releasing IPs of {}: {err}", request.container_id);
            }
        }
    }

    /// netavark has no locking of its own in 1.4; two setups creating the
    /// same bridge at once race. One flock per run directory serialises them.
    fn lock(&self) -> Result<FileLock> {
        Ok(FileLock::exclusive(&self.run_dir.join("netavark.lock"))?)
    }

    fn run(&self, command: &'static str, netns: &Path, input: &[u8]) -> Result<Vec<u8>> {
        let spawn_err = |source| Error::NetavarkSpawn {
            binary: self.netavark.clone(),
            source,
        };
        let mut child = Command::new(&self.netavark)
            .arg("--config")
            .arg(self.config_dir())
            .arg("--rootless")
            .arg("false")
            .arg("--aardvark-binary")
            .arg(&self.aardvark)
            .arg(command)
            .arg(netns)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        let write = child.stdin.take().expect("stdin is piped").write_all(input);
        let output = child.wait_with_output().map_err(spawn_err)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        tracing::debug!(command, netns = %netns.display(), stderr = %stderr.trim(), "netavark ran");
        if output.status.success() {
            write.map_err(spawn_err)?;
            return Ok(output.stdout);
        }
        Err(Error::NetavarkFailed {
            command,
            netns: netns.to_path_buf(),
            message: failure_message(&output.stdout, &stderr, output.status),
        })
    }
}

/// netavark reports errors as `{"error": "..."}` on stdout; older or
/// crashing runs only leave text on stderr.
fn failure_message(stdout: &[u8], stderr: &str, status: std::process::ExitStatus) -> String {
    #[derive(serde::Deserialize)]
    struct Reported {
        error: String,
    }
    if let Ok(r) = serde_json::from_slice::<Reported>(stdout) {
        return r.error;
    }
    // netavark 1.4 also complains about syslog on every run; skip that noise.
    let useful: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("failed to connect to syslog"))
        .collect();
    if useful.is_empty() {
        format!("netavark exited with {status}")
    } else {
        useful.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn failure_messages() {
        let status = std::process::ExitStatus::from_raw(1 << 8);
        assert_eq!(
            failure_message(br#"{"error":"IO error: boom"}"#, "", status),
            "IO error: boom"
        );
        assert_eq!(
            failure_message(
                b"",
                "failed to connect to syslog: x\nreal problem\n",
                status
            ),
            "real problem"
        );
        assert!(failure_message(b"", "", status).contains("exit status: 1"));
    }

    #[test]
    fn missing_netavark_binary_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let nv =
            Netavark::with_binaries(dir.path(), "/nonexistent/netavark", "/nonexistent/aardvark")
                .unwrap();
        assert!(
            nv.config_dir().is_dir(),
            "config dir exists before netavark runs"
        );
        let err = nv
            .run("setup", Path::new("/nonexistent/ns"), b"{}")
            .unwrap_err();
        assert!(matches!(err, Error::NetavarkSpawn { .. }), "{err}");
    }
}

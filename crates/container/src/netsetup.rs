//! A container's network: its namespace and netavark setup at start, the
//! teardown at exit (or at `rm` after a crash).

use std::path::{Path, PathBuf};

use hoist_network::{
    assign_host_ports, Netavark, Netns, NetworkAttachment, NetworkMode, NetworkStore, SetupRequest,
    StatusBlock,
};
use hoist_runtime::spec::NamespaceMode;

use crate::error::Result;
use crate::record::ContainerConfig;

/// Where netavark keeps its state: shared by every hoist root on the host,
/// since they share the bridges and addresses (as podman's /run is).
pub const NETWORK_RUN_DIR: &str = "/run/hoist/network";

/// The network definitions of hoist root `root`.
pub fn network_store(root: &Path) -> Result<NetworkStore> {
    Ok(NetworkStore::open(root.join("networks"))?)
}

/// What a started container's network is.
#[derive(Debug, Default)]
pub(crate) struct NetSetup {
    pub netns: Option<PathBuf>,
    pub request: Option<SetupRequest>,
    pub status: Option<StatusBlock>,
    pub host: bool,
    /// `--network container:NAME`: the other container's namespace, joined
    /// (not made here, so not removed at teardown).
    pub joined: Option<PathBuf>,
}

impl NetSetup {
    pub(crate) fn namespace_mode(&self) -> NamespaceMode {
        if let Some(p) = &self.joined {
            return NamespaceMode::Path(p.clone());
        }
        match (&self.netns, self.host) {
            (_, true) => NamespaceMode::Host,
            (Some(p), _) => NamespaceMode::Path(p.clone()),
            (None, false) => NamespaceMode::Private,
        }
    }
}

fn netns_name(id: &str) -> String {
    format!("hoist-{}", &id[..id.len().min(32)])
}

/// Sets up the network `config` asks for. On failure nothing is left.
/// With `userns`, the network namespace is made in that user namespace
/// (a container's own: see crate::userns).
pub(crate) fn setup(
    root: &Path,
    config: &ContainerConfig,
    userns: Option<std::os::fd::BorrowedFd<'_>>,
) -> Result<NetSetup> {
    if let [only] = config.options.networks.as_slice() {
        if let Some(name) = only.strip_prefix("container:") {
            return join(root, name);
        }
    }
    let mode = NetworkMode::parse(&config.options.networks)?;
    match mode {
        NetworkMode::Host => {
            return Ok(NetSetup {
                host: true,
                ..Default::default()
            })
        }
        // A private namespace of the runtime's own: only loopback.
        NetworkMode::None => return Ok(NetSetup::default()),
        _ => {}
    }
    let store = network_store(root)?;
    let networks = match &mode {
        NetworkMode::Networks(names) => names
            .iter()
            .map(|n| store.get(n))
            .collect::<std::result::Result<Vec<_>, _>>()?,
        _ => vec![store.default_network()?],
    };
    let mut request = SetupRequest::new(config.id.clone(), config.name.clone());
    for n in networks {
        let is_default = n.name == hoist_network::DEFAULT_NETWORK_NAME;
        let mut a = NetworkAttachment::new(n);
        if !is_default {
            a = a.with_aliases([crate::short_id(&config.id).to_string()]);
        }
        crate::run_flags::apply_to_attachment(&config.options.run_flags, &mut a);
        if let Some(given) = config.options.network_options.get(&a.network.name) {
            given.apply(&mut a);
        }
        request.networks.push(a);
    }
    let mut ports = config.options.ports.clone();
    assign_host_ports(&mut ports)?;
    request.port_mappings = ports;
    let ns = match Netns::create_owned(&netns_name(&config.id), userns) {
        Ok(ns) => ns,
        Err(hoist_network::Error::NetnsExists { .. }) => {
            // Left by a crashed start: replace it.
            let old = Netns::open(&netns_name(&config.id))?;
            old.remove()?;
            Netns::create_owned(&netns_name(&config.id), userns)?
        }
        Err(e) => return Err(e.into()),
    };
    let netavark = Netavark::new(NETWORK_RUN_DIR)?;
    match netavark.setup(ns.path(), &request) {
        Ok(status) => Ok(NetSetup {
            netns: Some(ns.path().to_path_buf()),
            request: Some(request),
            status: Some(status),
            host: false,
            joined: None,
        }),
        Err(e) => {
            let _ = ns.remove();
            Err(e.into())
        }
    }
}

/// Undoes [`setup`]: netavark teardown, then the namespace.
pub(crate) fn teardown(netns: Option<&Path>, request: Option<&SetupRequest>) {
    let Some(ns_path) = netns else { return };
    if let Some(req) = request {
        match Netavark::new(NETWORK_RUN_DIR) {
            Ok(n) => {
                if let Err(e) = n.teardown_before_removal(ns_path, req) {
                    tracing::warn!(error = %e, "network teardown failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "network teardown failed"),
        }
    }
    if let Some(name) = ns_path.file_name().and_then(|n| n.to_str()) {
        let dir = ns_path
            .parent()
            .unwrap_or(Path::new(hoist_network::DEFAULT_NETNS_DIR));
        if let Ok(ns) = Netns::open_in(dir, name) {
            if let Err(e) = ns.remove() {
                tracing::warn!(error = %e, "removing network namespace failed");
            }
        }
    }
}

/// `--network container:NAME` (how the containers of a pod share its infra
/// container's network): that container's namespace, which must be live,
/// and its network status for /etc/hosts and /etc/resolv.conf.
fn join(root: &Path, name: &str) -> Result<NetSetup> {
    let cs = crate::store::Containers::open(root)?;
    let other = cs.get(name)?;
    let not_running = || {
        crate::error::ContainerError::Invalid(format!(
            "--network container:{name}: that container is not running; start it first"
        ))
    };
    if !other.status().is_active() {
        return Err(not_running());
    }
    if NetworkMode::parse(&other.config.options.networks).ok() == Some(NetworkMode::Host) {
        return Ok(NetSetup {
            host: true,
            ..Default::default()
        });
    }
    let path = match (&other.state.netns, other.state.pid) {
        (Some(p), _) => p.clone(),
        (None, Some(pid)) => PathBuf::from(format!("/proc/{pid}/ns/net")),
        (None, None) => return Err(not_running()),
    };
    Ok(NetSetup {
        status: other.state.network_status.clone(),
        joined: Some(path),
        ..Default::default()
    })
}

//! The less common `run`/`create` flags (flattened into their arguments);
//! hoist-container's `run_flags` checks and applies them.

use anyhow::Result;
use clap::Args;
use hoist_container::run_flags as rf;
use hoist_container::userns_auto as auto;

use super::run::fail;

#[derive(Debug, Args, Clone)]
pub struct RunFlagArgs {
    /// The cgroup to make the container's cgroup in.
    #[arg(long)]
    pub cgroup_parent: Option<String>,
    /// Write a cgroup v2 file: KEY=VALUE (e.g. memory.high=1073741824).
    #[arg(long)]
    pub cgroup_conf: Vec<String>,
    /// Cgroup mode: enabled, disabled, no-conmon or split.
    #[arg(long)]
    pub cgroups: Option<String>,
    /// A directory the container may chroot into.
    #[arg(long)]
    pub chrootdirs: Vec<String>,
    /// A fixed IPv4 address on the container's network.
    #[arg(long)]
    pub ip: Option<String>,
    /// A fixed IPv6 address on the container's network.
    #[arg(long)]
    pub ip6: Option<String>,
    /// A fixed MAC address (e.g. 92:d0:c6:0a:29:33).
    #[arg(long)]
    pub mac_address: Option<String>,
    /// An extra DNS name of the container on its networks.
    #[arg(long)]
    pub network_alias: Vec<String>,
    /// Do not write /etc/hosts: keep the image's.
    #[arg(long)]
    pub no_hosts: bool,
    /// Add an /etc/passwd line for a --user the image lacks (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub passwd: Option<bool>,
    /// The template of that line ($USERNAME, $UID, $GID, $NAME, $HOME).
    #[arg(long)]
    pub passwd_entry: Option<String>,
    /// Copy a host user (name or uid) into the container's /etc/passwd.
    #[arg(long)]
    pub hostuser: Vec<String>,
    /// The execution domain: LINUX or LINUX32.
    #[arg(long)]
    pub personality: Option<String>,
    /// Containers to start before this one (comma-separated).
    #[arg(long)]
    pub requires: Vec<String>,
    /// How sd-notify works: container, conmon or ignore.
    #[arg(long)]
    pub sdnotify: Option<String>,
    /// User namespace: host, private (keep-id and nomap are rootless-only).
    #[arg(long)]
    pub userns: Option<String>,
    /// UID map for a user namespace: CONTAINER:HOST:SIZE.
    #[arg(long)]
    pub uidmap: Vec<String>,
    /// GID map for a user namespace: CONTAINER:HOST:SIZE.
    #[arg(long)]
    pub gidmap: Vec<String>,
    /// The /etc/subuid name to take a UID map from.
    #[arg(long)]
    pub subuidname: Option<String>,
    /// The /etc/subgid name to take a GID map from.
    #[arg(long)]
    pub subgidname: Option<String>,
}

/// `--ip`/`--ip6` (given as `[ipv4, ipv6]`), `--mac-address`,
/// `--network-alias` and `--no-hosts`: the network identity of a
/// container, or of a pod's infra container (`pod create`).
pub(crate) fn apply_addressing(
    ips: [Option<&str>; 2],
    mac: Option<&str>,
    aliases: &[String],
    no_hosts: bool,
    o: &mut hoist_container::CreateOptions,
) -> Result<()> {
    let f = &mut o.run_flags;
    for (v, ip6) in ips.into_iter().zip([false, true]) {
        if let Some(v) = v {
            f.static_ips
                .push(rf::parse_static_ip(v, ip6).map_err(fail)?);
        }
    }
    f.static_mac = mac.map(rf::parse_mac).transpose().map_err(fail)?;
    f.network_aliases = aliases.to_vec();
    f.no_hosts = no_hosts;
    if no_hosts && !o.add_hosts.is_empty() {
        return Err(super::run::invalid(
            "--no-hosts and --add-host cannot be set together".into(),
        ));
    }
    Ok(())
}

/// `--cgroup-parent`: a cgroup path that stays below the cgroup roots.
pub(crate) fn cgroup_parent(p: &str) -> Result<String> {
    if p.split('/').any(|c| c == "..") {
        return Err(super::run::invalid(format!(
            "invalid --cgroup-parent {p:?}: name a cgroup path without \"..\""
        )));
    }
    Ok(p.to_string())
}

impl RunFlagArgs {
    /// Checks the flags and puts them into a new container's options.
    pub fn apply(&self, o: &mut hoist_container::CreateOptions) -> Result<()> {
        self.check().map_err(fail)?;
        let f = &mut o.run_flags;
        f.cgroup_parent = self
            .cgroup_parent
            .as_deref()
            .map(cgroup_parent)
            .transpose()?;
        for kv in &self.cgroup_conf {
            let (k, v) = rf::parse_cgroup_conf(kv).map_err(fail)?;
            f.cgroup_conf.insert(k, v);
        }
        f.cgroups = self.cgroups.clone();
        f.chrootdirs = self.chrootdirs.clone();
        apply_addressing(
            [self.ip.as_deref(), self.ip6.as_deref()],
            self.mac_address.as_deref(),
            &self.network_alias,
            self.no_hosts,
            o,
        )?;
        let f = &mut o.run_flags;
        f.no_passwd = self.passwd == Some(false);
        f.passwd_entry = self.passwd_entry.clone();
        f.hostusers = self.hostuser.clone();
        f.personality = self
            .personality
            .as_deref()
            .map(|p| rf::personality_domain(p).map(str::to_string))
            .transpose()
            .map_err(fail)?;
        f.requires = self
            .requires
            .iter()
            .flat_map(|r| r.split(','))
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        f.sdnotify = self.sdnotify.clone();
        f.userns = self.userns.clone();
        f.uid_map = rf::id_maps("--uidmap", &self.uidmap).map_err(fail)?;
        f.gid_map = rf::id_maps("--gidmap", &self.gidmap).map_err(fail)?;
        // --subuidname NAME (and --subgidname, NAME's GIDs when not given).
        if let Some(name) = &self.subuidname {
            f.uid_map = auto::named_maps("--subuidname", "/etc/subuid", name).map_err(fail)?;
        }
        if let Some(name) = self.subgidname.as_ref().or(self.subuidname.as_ref()) {
            f.gid_map = auto::named_maps("--subgidname", "/etc/subgid", name).map_err(fail)?;
        }
        f.check_root_mapped().map_err(fail)?;
        Ok(())
    }

    /// The checks of values stored as given.
    fn check(&self) -> hoist_container::Result<()> {
        if let Some(v) = &self.cgroups {
            rf::check_cgroups_mode(v)?;
        }
        if let Some(v) = &self.sdnotify {
            rf::check_sdnotify(v)?;
        }
        if let Some(v) = &self.userns {
            rf::check_userns(v)?;
        }
        Ok(())
    }
}

//! The less common `run`/`create` flags: cgroup placement and settings,
//! static network addresses and aliases, /etc/hosts and /etc/passwd
//! handling, the execution domain, start dependencies, sd-notify and user
//! namespace requests. Parsed and checked here at create time, stored in
//! the container's options, applied at each start.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use oci_spec::runtime::{LinuxPersonalityBuilder, LinuxPersonalityDomain, MountBuilder, Spec};

use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;
use hoist_idmap::host_id;
pub use hoist_idmap::IdMap;

/// The flags as stored in the container's options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunFlags {
    /// `--cgroup-parent`: the cgroup the container's cgroup is made in.
    pub cgroup_parent: Option<String>,
    /// `--cgroup-conf KEY=VALUE`: cgroup v2 files to write.
    pub cgroup_conf: BTreeMap<String, String>,
    /// `--cgroups`: enabled (default), disabled, no-conmon or split.
    pub cgroups: Option<String>,
    /// `--chrootdirs`: directories the container may chroot into (kept for
    /// inspect; hoist has no SELinux relabelling to adjust for them).
    pub chrootdirs: Vec<String>,
    /// `--ip`, `--ip6`: fixed addresses on the container's network.
    pub static_ips: Vec<IpAddr>,
    /// `--mac-address`.
    pub static_mac: Option<String>,
    /// `--network-alias`: extra DNS names on its networks.
    pub network_aliases: Vec<String>,
    /// `--no-hosts`: leave the image's /etc/hosts alone.
    pub no_hosts: bool,
    /// `--passwd-entry`: the template of the line added for a user missing
    /// from the image's /etc/passwd ($USERNAME, $UID, $GID, $NAME, $HOME).
    pub passwd_entry: Option<String>,
    /// `--passwd=false`: never add such a line.
    pub no_passwd: bool,
    /// `--hostuser`: host users (name or uid) copied into /etc/passwd.
    pub hostusers: Vec<String>,
    /// `--personality`: the execution domain, LINUX or LINUX32.
    pub personality: Option<String>,
    /// `--requires`: containers started before this one.
    pub requires: Vec<String>,
    /// `--sdnotify`: container, conmon or ignore.
    pub sdnotify: Option<String>,
    /// `--userns`: host or private (hoist runs rootful: keep-id and nomap
    /// are refused as podman refuses them).
    pub userns: Option<String>,
    /// `--uidmap`: the container's user namespace maps user IDs so; empty
    /// for no user namespace.
    pub uid_map: Vec<IdMap>,
    /// `--gidmap`; the UID map when only that was given, as podman does.
    pub gid_map: Vec<IdMap>,
}

/// What is wrong with maps that leave the container's root unmapped.
pub(crate) const UNMAPPED_ROOT: &str =
    "--uidmap/--gidmap must map the container's root (ID 0) to a host ID, e.g. 0:100000:65536";

impl RunFlags {
    /// Checks that the maps, if any, give the container's root a host ID
    /// (its writable layer and mount points belong to that ID).
    pub fn check_root_mapped(&self) -> Result<()> {
        match self.user_namespace() {
            Some((uids, gids)) if host_id(uids, 0).is_none() || host_id(gids, 0).is_none() => {
                Err(invalid(UNMAPPED_ROOT.into()))
            }
            _ => Ok(()),
        }
    }

    /// The UID and GID maps of the container's own user namespace, if it
    /// has one.
    pub fn user_namespace(&self) -> Option<(&[IdMap], &[IdMap])> {
        match (self.uid_map.as_slice(), self.gid_map.as_slice()) {
            ([], []) => None,
            (u, []) => Some((u, u)),
            ([], g) => Some((g, g)),
            (u, g) => Some((u, g)),
        }
    }
}

fn invalid(m: String) -> ContainerError {
    ContainerError::Invalid(m)
}

/// `--cgroups` values.
pub fn check_cgroups_mode(v: &str) -> Result<()> {
    match v {
        "enabled" | "disabled" | "no-conmon" | "split" => Ok(()),
        _ => Err(invalid(format!(
            "invalid cgroup mode {v:?}: invalid argument (use enabled, disabled, no-conmon or split)"
        ))),
    }
}

/// `--group-add keep-groups` (keep the caller's groups, which needs
/// crun) stands alone, as in podman.
pub fn check_group_add(groups: &[String]) -> Result<()> {
    if groups.len() > 1 && groups.iter().any(|g| g == "keep-groups") {
        return Err(invalid(
            "the '--group-add keep-groups' option is not allowed with any other --group-add options"
                .into(),
        ));
    }
    Ok(())
}

/// `--sdnotify` values.
pub fn check_sdnotify(v: &str) -> Result<()> {
    match v {
        "container" | "conmon" | "ignore" => Ok(()),
        _ => Err(invalid(format!(
            "invalid sdnotify value {v:?}: must be container, conmon or ignore"
        ))),
    }
}

/// `--personality`: the spec's domain name for a value.
pub fn personality_domain(v: &str) -> Result<&'static str> {
    match v.to_ascii_uppercase().as_str() {
        "LINUX" => Ok("LINUX"),
        "LINUX32" => Ok("LINUX32"),
        _ => Err(invalid(format!(
            "invalid --personality {v:?}: use LINUX or LINUX32"
        ))),
    }
}

/// `--cgroup-conf KEY=VALUE`.
pub fn parse_cgroup_conf(kv: &str) -> Result<(String, String)> {
    let (k, v) = kv.split_once('=').ok_or_else(|| {
        invalid(format!(
            "invalid --cgroup-conf {kv:?}: use KEY=VALUE, e.g. memory.high=1073741824"
        ))
    })?;
    if k.is_empty() || k.contains('/') {
        return Err(invalid(format!(
            "invalid --cgroup-conf key {k:?}: name a file of the cgroup, e.g. memory.high"
        )));
    }
    Ok((k.to_string(), v.to_string()))
}

/// `--ip`/`--ip6`: `ip6` says which family the flag wants.
pub fn parse_static_ip(v: &str, ip6: bool) -> Result<IpAddr> {
    let flag = if ip6 { "--ip6" } else { "--ip" };
    let ip: IpAddr = v
        .parse()
        .map_err(|_| invalid(format!("{v} is not an IP address")))?;
    // podman's --ip takes either family; --ip6 only IPv6.
    if ip6 && !ip.is_ipv6() {
        return Err(invalid(format!(
            "{v} is not an IPv6 address, as {flag} needs"
        )));
    }
    Ok(ip)
}

/// `--mac-address`: six hex octets separated by colons.
pub fn parse_mac(v: &str) -> Result<String> {
    let parts: Vec<&str> = v.split([':', '-']).collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(invalid(format!("address {v}: invalid MAC address")));
    }
    Ok(parts.join(":").to_ascii_lowercase())
}

/// `--userns` of a pod (`pod create`, `kube play`): what
/// [`check_userns`] takes, but `auto`, as hoist's pods share no user
/// namespace yet.
pub fn check_pod_userns(v: &str) -> Result<()> {
    check_userns(v)?;
    if v.split(':').next() == Some("auto") {
        return Err(invalid(format!(
            "--userns={v} for a pod is not supported by hoist yet: run its containers without it, or use --userns=host"
        )));
    }
    Ok(())
}

/// `--userns`: what a rootful engine can do.
pub fn check_userns(v: &str) -> Result<()> {
    let (mode, _) = v.split_once(':').unwrap_or((v, ""));
    match mode {
        "" | "host" | "private" => Ok(()),
        "keep-id" | "nomap" => Err(invalid(format!(
            "{mode} is only supported in rootless mode"
        ))),
        "auto" => crate::userns_auto::requested_size(v).map(|_| ()),
        "ns" | "container" => Err(invalid(format!(
            "--userns={v} is not supported by hoist yet: give the container's maps with --uidmap and --gidmap, or use --userns=host"
        ))),
        _ => Err(invalid(format!("invalid user namespace option {v:?}: use host, private, auto, keep-id, nomap, ns:PATH or container:NAME"))),
    }
}

/// The `--uidmap` (or `--gidmap`) values as maps, each checked.
pub fn id_maps(flag: &str, maps: &[String]) -> Result<Vec<IdMap>> {
    maps.iter()
        .map(|v| {
            hoist_idmap::parse_id_map(v).map_err(|_| {
                invalid(format!(
                    "initializing ID mappings: {} setting is malformed expected [\"uint32:uint32:uint32\"]: [{v:?}] (invalid {flag}: use CONTAINER_ID:HOST_ID:SIZE, e.g. 0:100000:65536)",
                    if flag == "--gidmap" { "GID" } else { "UID" }
                ))
            })
        })
        .collect()
}

/// The `--hostuser` lines: each user's entry from the host's /etc/passwd.
pub fn host_user_lines(users: &[String]) -> Result<Vec<String>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string("/etc/passwd").map_err(io_err("reading", "/etc/passwd"))?;
    users
        .iter()
        .map(|u| {
            text.lines()
                .find(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    f.len() >= 7 && (f[0] == u || f[2] == u)
                })
                .map(str::to_string)
                // At start, as podman finds it: its exit code 126.
                .ok_or_else(|| ContainerError::StartFailed {
                    code: crate::EXIT_CANNOT_INVOKE,
                    message: format!("--hostuser {u}: no such user on the host"),
                })
        })
        .collect()
}

/// The /etc/passwd line for a `--user` missing from the image's file, from
/// `template` (podman's `--passwd-entry`) or podman's default shape.
pub fn passwd_line(template: Option<&str>, uid: u32, gid: u32, home: &str) -> String {
    let name = uid.to_string();
    match template {
        Some(t) => t
            .replace("$USERNAME", &name)
            .replace("$UID", &uid.to_string())
            .replace("$GID", &gid.to_string())
            .replace("$NAME", "container user")
            .replace("$HOME", home),
        None => format!("{name}:*:{uid}:{gid}:container user:{home}:/bin/sh"),
    }
}

/// `--ip`, `--ip6`, `--mac-address`, `--network-alias` on a network the
/// container joins at start (the addresses of the family it has).
pub(crate) fn apply_to_attachment(f: &RunFlags, a: &mut hoist_network::NetworkAttachment) {
    a.aliases.extend(f.network_aliases.iter().cloned());
    a.static_ips.extend(f.static_ips.iter().copied());
    if f.static_mac.is_some() {
        a.static_mac = f.static_mac.clone();
    }
}

/// What `network connect` gave for one network (`--alias`, `--ip`,
/// `--ip6`, `--mac-address`). Kept in the container's record, so every
/// later start (and a restart) sets the network up the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NetworkOptions {
    pub aliases: Vec<String>,
    pub static_ips: Vec<IpAddr>,
    pub static_mac: Option<String>,
}

impl NetworkOptions {
    /// Puts these options on the attachment of their network.
    pub(crate) fn apply(&self, a: &mut hoist_network::NetworkAttachment) {
        a.aliases.extend(self.aliases.iter().cloned());
        a.static_ips.extend(self.static_ips.iter().copied());
        if self.static_mac.is_some() {
            a.static_mac = self.static_mac.clone();
        }
    }
}

/// `--cgroup-conf` needs cgroup v2 (the v1 manager would skip it without
/// a word).
fn check_cgroup_conf(f: &RunFlags) -> Result<()> {
    if !f.cgroup_conf.is_empty()
        && !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
    {
        return Err(invalid(
            "cannot use --cgroup-conf without cgroup v2 (this host runs cgroup v1)".into(),
        ));
    }
    Ok(())
}

/// A `--requires` container, with podman's message when there is none.
pub(crate) fn required(cs: &crate::store::Containers, name: &str) -> Result<Container> {
    cs.get(name).map_err(|e| {
        invalid(format!(
            "{name:?} is not a valid container, cannot be used as a dependency: {e}"
        ))
    })
}

/// Every `--requires` container must exist when the container is made;
/// a fixed address or MAC can only be on one network.
pub(crate) fn check_create(cs: &crate::store::Containers, o: &crate::CreateOptions) -> Result<()> {
    let f = &o.run_flags;
    for name in &f.requires {
        required(cs, name)?;
    }
    check_cgroup_conf(f)?;
    if f.cgroups.as_deref() == Some("disabled") {
        check_no_cgroups(o.runtime.as_deref())?;
    }
    let networks = o.networks.iter().flat_map(|n| n.split(',')).count();
    if networks > 1 && (!f.static_ips.is_empty() || f.static_mac.is_some()) {
        return Err(invalid(
            "--ip can only be set for a single network: invalid argument (use `network connect --ip` for the others)".into(),
        ));
    }
    Ok(())
}

/// `--cgroups=disabled` needs a runtime that can run a container in the
/// caller's cgroup: crun can (`--cgroup-manager=disabled`); hoist's own
/// (libcontainer always makes a cgroup) and runc cannot, and podman
/// refuses runc with these words.
fn check_no_cgroups(runtime: Option<&std::path::Path>) -> Result<()> {
    let name = match runtime {
        None => "hoist".to_string(),
        Some(p) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if name == "crun" {
        return Ok(());
    }
    Err(invalid(format!(
        "requested OCI runtime {name} is not compatible with NoCgroups: invalid argument (use --runtime crun, or run without --cgroups=disabled)"
    )))
}

/// The global runtime flags `--cgroups` adds (crun's for no cgroup).
pub(crate) fn runtime_cgroup_args(c: &Container) -> Vec<String> {
    match c.config.options.run_flags.cgroups.as_deref() {
        Some("disabled") => vec!["--cgroup-manager=disabled".to_string()],
        _ => Vec::new(),
    }
}

/// `linux.cgroupsPath` for the spec: none with `--cgroups=disabled` (the
/// container stays in its monitor's cgroup); with `--cgroups=split`, below
/// the monitor's own cgroup v2 cgroup, which a cgroup v1 host does not
/// have (podman's message, at start).
pub(crate) fn spec_cgroups_path(c: &Container) -> Result<Option<String>> {
    match c.config.options.run_flags.cgroups.as_deref() {
        Some("disabled") => Ok(None),
        Some("split") => {
            let own = std::fs::read_to_string("/proc/self/cgroup")
                .map_err(io_err("reading", "/proc/self/cgroup"))?;
            let parent = unified_cgroup(&own).ok_or_else(|| ContainerError::StartFailed {
                code: crate::EXIT_CANNOT_INVOKE,
                message: "could not find cgroup mount in \"/proc/self/cgroup\"".into(),
            })?;
            Ok(Some(
                format!("{}/hoist-{}", parent.trim_end_matches('/'), c.id()).replace("//", "/"),
            ))
        }
        _ => Ok(Some(cgroups_path(c))),
    }
}

/// The cgroup v2 path in a `/proc/PID/cgroup` text (its `0::PATH` line),
/// only on a cgroup v2 host (`/sys/fs/cgroup` a cgroup2 mount).
fn unified_cgroup(text: &str) -> Option<String> {
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let v2 =
        rustix::fs::statfs("/sys/fs/cgroup").is_ok_and(|s| s.f_type == libc::CGROUP2_SUPER_MAGIC);
    v2.then(|| path.to_string())
}

/// The container's cgroup (`linux.cgroupsPath`): `/hoist/ID`, or
/// `PARENT/hoist-ID` with `--cgroup-parent`.
pub fn cgroups_path(c: &Container) -> String {
    match c.config.options.run_flags.cgroup_parent.as_deref() {
        Some(parent) => {
            format!("/{}/hoist-{}", parent.trim_matches('/'), c.id()).replace("//", "/")
        }
        None => hoist_runtime::spec::default_cgroups_path(c.id()),
    }
}

/// Applies the flags that change the built spec: `--no-hosts`,
/// `--personality`, `--cgroup-conf`, and the /etc/passwd lines of
/// `--passwd-entry`/`--hostuser`.
pub(crate) fn apply_to_spec(c: &Container, spec: &mut Spec) -> Result<()> {
    let f = &c.config.options.run_flags;
    if f.no_hosts {
        // The image's own /etc/hosts stays, untouched.
        if let Some(mounts) = spec.mounts().clone() {
            let kept = mounts
                .into_iter()
                .filter(|m| m.destination().to_str() != Some("/etc/hosts"))
                .collect();
            spec.set_mounts(Some(kept));
        }
    }
    let mut linux = spec.linux().clone().unwrap_or_default();
    if let Some(p) = &f.personality {
        let domain = if p == "LINUX32" {
            LinuxPersonalityDomain::PerLinux32
        } else {
            LinuxPersonalityDomain::PerLinux
        };
        let personality = LinuxPersonalityBuilder::default()
            .domain(domain)
            .build()
            .map_err(|e| invalid(format!("--personality {p}: {e}")))?;
        linux.set_personality(Some(personality));
    }
    if !f.cgroup_conf.is_empty() {
        check_cgroup_conf(f)?;
        let mut resources = linux.resources().clone().unwrap_or_default();
        let mut unified = resources.unified().clone().unwrap_or_default();
        unified.extend(f.cgroup_conf.iter().map(|(k, v)| (k.clone(), v.clone())));
        resources.set_unified(Some(unified));
        linux.set_resources(Some(resources));
    }
    spec.set_linux(Some(linux));
    passwd(c, spec)
}

/// Bind-mounts a copy of the image's /etc/passwd with the lines `run` adds:
/// the `--user` uid it lacks (unless `--passwd=false`) and `--hostuser`s.
fn passwd(c: &Container, spec: &mut Spec) -> Result<()> {
    let f = &c.config.options.run_flags;
    let image_file = c.rootfs().join("etc/passwd");
    let text = std::fs::read_to_string(&image_file).unwrap_or_default();
    let has_uid = |uid: u32| {
        text.lines()
            .any(|l| l.split(':').nth(2) == Some(uid.to_string().as_str()))
    };
    let mut lines = host_user_lines(&f.hostusers)?;
    lines.retain(|l| !text.lines().any(|t| t == l));
    if let Some(p) = spec.process() {
        let (uid, gid) = (p.user().uid(), p.user().gid());
        let asked = c.config.options.user.is_some() || f.passwd_entry.is_some();
        if asked && !f.no_passwd && !has_uid(uid) && text.contains(':') {
            let home = p.cwd().to_str().unwrap_or("/").to_string();
            lines.push(passwd_line(f.passwd_entry.as_deref(), uid, gid, &home));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let copy = c.dir.join("userdata").join("passwd");
    let mut out = text.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    std::fs::write(&copy, out).map_err(io_err("writing", &copy))?;
    let mount = MountBuilder::default()
        .destination("/etc/passwd")
        .typ("bind")
        .source(&copy)
        .options(vec!["rbind".to_string(), "rprivate".to_string()])
        .build()
        .map_err(|e| invalid(format!("/etc/passwd mount: {e}")))?;
    let mut all = spec.mounts().clone().unwrap_or_default();
    all.push(mount);
    spec.set_mounts(Some(all));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        assert!(check_cgroups_mode("split").is_ok());
        assert!(check_cgroups_mode("bogus").is_err());
        assert!(check_sdnotify("ignore").is_ok());
        assert!(check_sdnotify("x").is_err());
        assert_eq!(personality_domain("linux32").unwrap(), "LINUX32");
        assert!(parse_static_ip("10.0.0.2", false).is_ok());
        assert!(parse_static_ip("fd00::2", false).is_ok());
        assert!(parse_static_ip("10.0.0.2", true).is_err());
        assert_eq!(parse_mac("0A:00:00:00:00:01").unwrap(), "0a:00:00:00:00:01");
        assert!(parse_mac("0a:00").is_err());
        assert_eq!(
            check_userns("keep-id").unwrap_err().to_string(),
            "keep-id is only supported in rootless mode"
        );
        assert!(check_userns("host").is_ok());
        assert_eq!(
            parse_cgroup_conf("memory.high=100").unwrap(),
            ("memory.high".into(), "100".into())
        );
    }

    #[test]
    fn passwd_lines() {
        assert_eq!(
            passwd_line(None, 1234, 5, "/"),
            "1234:*:1234:5:container user:/:/bin/sh"
        );
        assert_eq!(
            passwd_line(Some("$USERNAME:x:$UID:$GID::$HOME:/bin/false"), 7, 8, "/h"),
            "7:x:7:8::/h:/bin/false"
        );
        assert_eq!(
            passwd_line(
                Some("$USERNAME:x:$UID:$GID:$NAME:$HOME:/bin/false"),
                7,
                8,
                "/h"
            ),
            "7:x:7:8:container user:/h:/bin/false"
        );
    }
}

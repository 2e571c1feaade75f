//! /etc/hosts, /etc/hostname and /etc/resolv.conf for a container.
//!
//! They are written in the container's own directory, outside the rootfs,
//! and bind-mounted over the image's files by the runtime (see
//! [`crate::spec::SpecOptions::etc_files`]). Writing them *into* the rootfs
//! would follow whatever symlink the image planted at those paths (say
//! `/etc/hosts -> /host/etc/shadow` after a bind mount); this way the only
//! thing read from the image is its /etc/hosts, through the safe resolver.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::error::{IoContext, RootfsError};
use crate::safe_read::read_in_root;

/// Where a container's /etc files are on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcFiles {
    pub hosts: PathBuf,
    pub hostname: PathBuf,
    /// `None`: the container keeps its image's /etc/resolv.conf.
    pub resolv_conf: Option<PathBuf>,
}

impl EtcFiles {
    /// The file names used in a container directory.
    pub fn in_dir(dir: &Path) -> EtcFiles {
        EtcFiles {
            hosts: dir.join("hosts"),
            hostname: dir.join("hostname"),
            resolv_conf: Some(dir.join("resolv.conf")),
        }
    }

    /// (host file, container path) pairs to bind-mount.
    pub(crate) fn mounts(&self) -> Vec<(PathBuf, &'static str)> {
        let mut m = vec![
            (self.hosts.clone(), "/etc/hosts"),
            (self.hostname.clone(), "/etc/hostname"),
        ];
        m.extend(self.resolv_conf.clone().map(|r| (r, "/etc/resolv.conf")));
        m
    }
}

/// Where /etc/hosts starts from (containers.conf's `base_hosts_file`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BaseHosts {
    /// The image's /etc/hosts.
    #[default]
    Image,
    /// A host file (podman's default: the host's /etc/hosts).
    File(PathBuf),
    /// No base entries.
    Empty,
}

/// What goes into the files.
#[derive(Debug, Clone)]
pub struct EtcOptions {
    pub hostname: String,
    /// The container's name, listed beside its host name when it differs.
    pub container_name: Option<String>,
    /// The entries /etc/hosts starts with.
    pub base_hosts: BaseHosts,
    /// The address `host.containers.internal` names (the host, as the
    /// container reaches it); `None`: no such entry.
    pub host_containers_internal: Option<IpAddr>,
    /// The address the host name maps to in /etc/hosts (default 127.0.1.1,
    /// for a container with no network of its own beyond loopback).
    pub hostname_ip: Option<IpAddr>,
    /// `--add-host NAME:IP` entries.
    pub extra_hosts: Vec<(String, IpAddr)>,
    /// `--dns`; empty means the host's name servers.
    pub dns_servers: Vec<IpAddr>,
    /// `--dns-search`; empty means the host's.
    pub dns_search: Vec<String>,
    /// `--dns-option`; empty means the host's.
    pub dns_options: Vec<String>,
    /// The container shares the host's network: loopback name servers of
    /// the host work there and are kept.
    pub host_network: bool,
    /// The host's resolver configuration (normally /etc/resolv.conf).
    pub host_resolv_conf: PathBuf,
    /// Whether the container gets a resolv.conf at all: not without a
    /// network (`--network none`), as podman, where it keeps its image's.
    pub resolv_conf: bool,
}

impl EtcOptions {
    pub fn new(hostname: impl Into<String>) -> EtcOptions {
        EtcOptions {
            hostname: hostname.into(),
            container_name: None,
            base_hosts: BaseHosts::default(),
            host_containers_internal: None,
            hostname_ip: None,
            extra_hosts: Vec::new(),
            dns_servers: Vec::new(),
            dns_search: Vec::new(),
            dns_options: Vec::new(),
            host_network: false,
            host_resolv_conf: PathBuf::from("/etc/resolv.conf"),
            resolv_conf: true,
        }
    }
}

/// Name servers podman falls back to when the host has only loopback ones,
/// which a container in its own network namespace cannot reach.
const FALLBACK_DNS: &[&str] = &["8.8.8.8", "8.8.4.4"];

const DEFAULT_HOSTS: &str =
    "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n\
::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n";

/// Whether a hosts text maps `name` (comments aside).
fn names(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let l = l.split('#').next().unwrap_or("");
        l.split_whitespace().skip(1).any(|w| w == name)
    })
}

/// podman's layout: the base entries, localhost if they lack it, the
/// `--add-host` entries, `host.containers.internal`, then the container's
/// address with its host name and name (unless the base has the host name).
fn hosts_text(rootfs: &Path, opts: &EtcOptions) -> Result<String, RootfsError> {
    let base = match &opts.base_hosts {
        BaseHosts::Image => read_in_root(rootfs, "/etc/hosts")
            .ctx("reading /etc/hosts of the image in", rootfs)?
            .unwrap_or_default(),
        BaseHosts::File(path) => match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).ctx("reading the base hosts file", path),
        },
        BaseHosts::Empty => String::new(),
    };
    let mut text = base.trim().to_string();
    if !text.is_empty() {
        text.push('\n');
    }
    if !names(&text, "localhost") {
        text.push_str(DEFAULT_HOSTS);
    }
    for (name, ip) in &opts.extra_hosts {
        text.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some(ip) = opts.host_containers_internal {
        if !names(&text, "host.containers.internal") {
            text.push_str(&format!("{ip}\thost.containers.internal\n"));
        }
    }
    if !names(&text, &opts.hostname) {
        let ip = opts.hostname_ip.unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let mut line = format!("{ip}\t{}", opts.hostname);
        if let Some(name) = opts
            .container_name
            .as_ref()
            .filter(|n| **n != opts.hostname)
        {
            line.push_str(&format!(" {name}"));
        }
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

struct Resolv {
    servers: Vec<String>,
    search: Vec<String>,
    options: Vec<String>,
}

fn parse_resolv(text: &str) -> Resolv {
    let mut r = Resolv {
        servers: Vec::new(),
        search: Vec::new(),
        options: Vec::new(),
    };
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => r.servers.extend(words.next().map(str::to_string)),
            Some("search") | Some("domain") => r.search = words.map(str::to_string).collect(),
            Some("options") => r.options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    r
}

fn is_loopback(server: &str) -> bool {
    // Scoped addresses (fe80::1%eth0) are not loopback; parse what parses.
    server.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn resolv_text(opts: &EtcOptions) -> Result<String, RootfsError> {
    let host = match std::fs::read_to_string(&opts.host_resolv_conf) {
        Ok(t) => parse_resolv(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => parse_resolv(""),
        Err(e) => return Err(e).ctx("reading", &opts.host_resolv_conf),
    };
    let servers: Vec<String> = if !opts.dns_servers.is_empty() {
        opts.dns_servers.iter().map(IpAddr::to_string).collect()
    } else {
        let usable: Vec<String> = host
            .servers
            .into_iter()
            .filter(|s| opts.host_network || !is_loopback(s))
            .collect();
        if usable.is_empty() {
            FALLBACK_DNS.iter().map(|s| s.to_string()).collect()
        } else {
            usable
        }
    };
    let search = if opts.dns_search.is_empty() {
        host.search
    } else {
        opts.dns_search.clone()
    };
    let options = if opts.dns_options.is_empty() {
        host.options
    } else {
        opts.dns_options.clone()
    };
    let mut text = String::new();
    if !search.is_empty() {
        text.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        text.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        text.push_str(&format!("options {}\n", options.join(" ")));
    }
    Ok(text)
}

/// Replaces `path` atomically. An unnamed temporary file has no name a
/// symlink could be planted at. No fsync: these files are rewritten on every
/// start, and after a crash the container they belong to is not running.
fn write_file(path: &Path, content: &str) -> Result<(), RootfsError> {
    Ok(hoist_fsutil::write_file_unsynced(
        path,
        content.as_bytes(),
        0o644,
    )?)
}

/// Writes hosts, hostname and resolv.conf into `container_dir` (created if
/// needed) and returns their paths. `rootfs` is the mounted root
/// filesystem, whose /etc/hosts (if any) is the base of the new one.
pub fn write_etc_files(
    container_dir: &Path,
    rootfs: &Path,
    opts: &EtcOptions,
) -> Result<EtcFiles, RootfsError> {
    std::fs::create_dir_all(container_dir).ctx("creating container directory", container_dir)?;
    let mut files = EtcFiles::in_dir(container_dir);
    write_file(&files.hosts, &hosts_text(rootfs, opts)?)?;
    write_file(&files.hostname, &format!("{}\n", opts.hostname))?;
    match files.resolv_conf.take() {
        Some(resolv) if opts.resolv_conf => {
            write_file(&resolv, &resolv_text(opts)?)?;
            files.resolv_conf = Some(resolv);
        }
        // One left from a start with a network goes.
        Some(resolv) => {
            let _ = std::fs::remove_file(resolv);
        }
        None => {}
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(dir: &Path, resolv: &str) -> EtcOptions {
        let host_resolv = dir.join("host-resolv.conf");
        std::fs::write(&host_resolv, resolv).unwrap();
        EtcOptions {
            host_resolv_conf: host_resolv,
            ..EtcOptions::new("box")
        }
    }

    #[test]
    fn without_a_network_there_is_no_resolv_conf() {
        let d = tempfile::tempdir().unwrap();
        let rootfs = d.path().join("rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        let dir = d.path().join("c");
        let f = write_etc_files(&dir, &rootfs, &opts(d.path(), "nameserver 10.0.0.1\n")).unwrap();
        assert!(f.resolv_conf.as_ref().unwrap().exists());
        let o = EtcOptions {
            resolv_conf: false,
            ..opts(d.path(), "nameserver 10.0.0.1\n")
        };
        let f = write_etc_files(&dir, &rootfs, &o).unwrap();
        assert_eq!(f.resolv_conf, None);
        assert!(!dir.join("resolv.conf").exists());
        let dests: Vec<&str> = f.mounts().into_iter().map(|(_, d)| d).collect();
        assert_eq!(dests, ["/etc/hosts", "/etc/hostname"]);
    }

    #[test]
    fn writes_all_three_outside_rootfs() {
        let d = tempfile::tempdir().unwrap();
        let rootfs = d.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        std::fs::write(rootfs.join("etc/hosts"), "10.0.0.9 imagehost").unwrap();
        let mut o = opts(
            d.path(),
            "search corp.example\nnameserver 127.0.0.53\nnameserver 192.0.2.1\noptions edns0\n",
        );
        o.extra_hosts
            .push(("db".into(), "192.0.2.7".parse().unwrap()));
        let cdir = d.path().join("ctr");
        let f = write_etc_files(&cdir, &rootfs, &o).unwrap();
        assert_eq!(f, EtcFiles::in_dir(&cdir));
        let hosts = std::fs::read_to_string(&f.hosts).unwrap();
        assert_eq!(
            hosts,
            format!("10.0.0.9 imagehost\n{DEFAULT_HOSTS}192.0.2.7\tdb\n127.0.0.1\tbox\n")
        );
        assert_eq!(std::fs::read_to_string(&f.hostname).unwrap(), "box\n");
        let resolv = std::fs::read_to_string(f.resolv_conf.as_ref().unwrap()).unwrap();
        assert_eq!(
            resolv,
            "search corp.example\nnameserver 192.0.2.1\noptions edns0\n"
        );
        // The image's file was read, not changed.
        assert_eq!(
            std::fs::read_to_string(rootfs.join("etc/hosts")).unwrap(),
            "10.0.0.9 imagehost"
        );
    }

    #[test]
    fn planted_symlinks_are_neither_followed_nor_written() {
        let d = tempfile::tempdir().unwrap();
        let secret = d.path().join("secret");
        std::fs::write(&secret, "10.9.9.9 hostsecret\n").unwrap();
        let rootfs = d.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        std::os::unix::fs::symlink(&secret, rootfs.join("etc/hosts")).unwrap();
        let cdir = d.path().join("ctr");
        std::fs::create_dir_all(&cdir).unwrap();
        // A symlink at the temporary name is removed, not written through.
        std::os::unix::fs::symlink(&secret, cdir.join("hosts.hoist-tmp")).unwrap();
        let f = write_etc_files(&cdir, &rootfs, &opts(d.path(), "nameserver 192.0.2.1\n")).unwrap();
        let hosts = std::fs::read_to_string(&f.hosts).unwrap();
        assert!(hosts.starts_with("127.0.0.1\tlocalhost"), "{hosts}");
        assert!(!hosts.contains("hostsecret"));
        assert_eq!(
            std::fs::read_to_string(&secret).unwrap(),
            "10.9.9.9 hostsecret\n"
        );
    }

    #[test]
    fn hosts_follow_podmans_layout() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("base");
        std::fs::write(&base, "10.1.1.1 one\n10.2.2.2 two #comment\n").unwrap();
        let mut o = opts(d.path(), "");
        o.base_hosts = BaseHosts::File(base);
        o.container_name = Some("web".into());
        o.hostname_ip = Some("10.90.0.5".parse().unwrap());
        o.host_containers_internal = Some("10.90.0.1".parse().unwrap());
        o.extra_hosts
            .push(("db".into(), "192.0.2.7".parse().unwrap()));
        let text = hosts_text(d.path(), &o).unwrap();
        assert_eq!(
            text,
            format!(
                "10.1.1.1 one\n10.2.2.2 two #comment\n{DEFAULT_HOSTS}192.0.2.7\tdb\n\
                 10.90.0.1\thost.containers.internal\n10.90.0.5\tbox web\n"
            )
        );
        // A host name the base maps already gets no second entry.
        o.hostname = "one".into();
        o.container_name = Some("one".into());
        o.extra_hosts.clear();
        let text = hosts_text(d.path(), &o).unwrap();
        assert_eq!(text.lines().count(), 5, "{text}");
        o.base_hosts = BaseHosts::Empty;
        assert!(hosts_text(d.path(), &o)
            .unwrap()
            .starts_with("127.0.0.1\tlocalhost"));
    }

    #[test]
    fn loopback_only_dns_falls_back_unless_host_network() {
        let d = tempfile::tempdir().unwrap();
        let mut o = opts(d.path(), "nameserver 127.0.0.53\nnameserver ::1\n");
        assert_eq!(
            resolv_text(&o).unwrap(),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        o.host_network = true;
        assert_eq!(
            resolv_text(&o).unwrap(),
            "nameserver 127.0.0.53\nnameserver ::1\n"
        );
        o.dns_servers = vec!["192.0.2.53".parse().unwrap()];
        o.dns_search = vec!["a.example".into()];
        assert_eq!(
            resolv_text(&o).unwrap(),
            "search a.example\nnameserver 192.0.2.53\n"
        );
    }
}

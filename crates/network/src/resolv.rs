//! The container's /etc/resolv.conf, derived from the host's and from what
//! netavark reported.

use std::net::IpAddr;

use crate::netavark::StatusBlock;

/// Public resolvers used when the host only has loopback ones, which a
/// container in its own network namespace cannot reach (docker and podman
/// fall back the same way).
const FALLBACK_NAMESERVERS: &[&str] = &["8.8.8.8", "8.8.4.4"];

/// Builds resolv.conf for a container.
///
/// * `None` (host network): the host's file unchanged.
/// * a status with DNS servers (a network with aardvark-dns): those
///   servers, with the networks' search domain before the host's search
///   list; aardvark-dns forwards other names to the host's resolvers.
/// * otherwise: the host's servers minus loopback ones (falling back to
///   public resolvers if none is left), search and options kept.
pub fn resolv_conf(status: Option<&StatusBlock>, host_resolv_conf: &str) -> String {
    let Some(status) = status else {
        return host_resolv_conf.to_string();
    };
    let mut host_servers = Vec::new();
    let mut search = Vec::new();
    let mut other = Vec::new();
    for line in host_resolv_conf.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) {
                    host_servers.push(ip);
                }
            }
            Some("search") | Some("domain") => search.extend(words.map(str::to_string)),
            Some(w) if w.starts_with('#') || w.starts_with(';') => {}
            Some(_) => other.push(line.trim().to_string()),
            None => {}
        }
    }

    let aardvark = status.dns_servers();
    let servers: Vec<IpAddr> = if !aardvark.is_empty() {
        for d in status.dns_search_domains().into_iter().rev() {
            if !search.contains(&d) {
                search.insert(0, d);
            }
        }
        aardvark
    } else {
        let reachable: Vec<IpAddr> = host_servers
            .into_iter()
            .filter(|ip| !ip.is_loopback())
            .collect();
        if reachable.is_empty() {
            FALLBACK_NAMESERVERS
                .iter()
                .map(|s| s.parse().expect("constant"))
                .collect()
        } else {
            reachable
        }
    };

    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for ip in servers {
        out.push_str(&format!("nameserver {ip}\n"));
    }
    for line in other {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "# generated\nsearch corp.example\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\n";

    fn status(json: &str) -> StatusBlock {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn host_network_copies_the_host_file() {
        assert_eq!(resolv_conf(None, HOST), HOST);
    }

    #[test]
    fn aardvark_networks_use_the_gateway() {
        let s = status(
            r#"{"n":{"dns_search_domains":["dns.podman"],"dns_server_ips":["10.90.3.1"],"interfaces":{}}}"#,
        );
        assert_eq!(
            resolv_conf(Some(&s), HOST),
            "search dns.podman corp.example\nnameserver 10.90.3.1\noptions edns0\n"
        );
    }

    #[test]
    fn plain_networks_drop_loopback_servers() {
        let s = status(r#"{"n":{"interfaces":{}}}"#);
        assert_eq!(
            resolv_conf(Some(&s), HOST),
            "search corp.example\nnameserver 192.0.2.53\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf(Some(&s), "nameserver 127.0.0.1\n"),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
    }
}

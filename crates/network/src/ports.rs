//! Port mappings (`-p`): parsing podman's syntax, conflict checks, picking
//! free host ports, and the JSON netavark takes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Transport protocol of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "sctp" => Ok(Protocol::Sctp),
            other => Err(format!("unknown protocol {other:?}: use tcp, udp or sctp")),
        }
    }
}

/// `range` consecutive ports from `host_port` on the host forwarded to
/// `range` ports from `container_port` in the container. Serializes to the
/// object netavark reads in `port_mappings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// `None` (netavark's `""`) means every host address.
    #[serde(with = "host_ip_json")]
    pub host_ip: Option<IpAddr>,
    pub container_port: u16,
    /// 0 until [`assign_host_ports`] picks a free one.
    pub host_port: u16,
    /// Number of ports, at least 1.
    pub range: u16,
    pub protocol: Protocol,
}

impl PortMapping {
    /// Parses one `-p` value: `[[ip:][hostPort]:]containerPort[/protocol]`
    /// where both ports may be ranges (`8000-8010:80-90`) of equal length
    /// and an IPv6 address is written in brackets (`[::1]:8080:80`).
    /// A missing host port is left 0 (to be picked).
    pub fn parse(spec: &str) -> Result<PortMapping> {
        let invalid = |reason: &str| Error::InvalidPortSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (main, protocol) = match spec.rsplit_once('/') {
            Some((main, proto)) => (main, proto.parse::<Protocol>().map_err(|e| invalid(&e))?),
            None => (spec, Protocol::Tcp),
        };
        let (ip_text, host_text, container_text) = split_spec(main).map_err(|r| invalid(&r))?;

        let host_ip = match ip_text {
            None | Some("") => None,
            Some(text) => {
                let ip: IpAddr = text
                    .parse()
                    .map_err(|_| invalid(&format!("{text:?} is not an IP address")))?;
                // "0.0.0.0" is podman's spelling of "every address".
                (ip != IpAddr::V4(Ipv4Addr::UNSPECIFIED)).then_some(ip)
            }
        };
        let (container_port, range) = parse_range(container_text, false)
            .map_err(|r| invalid(&format!("container port: {r}")))?;
        let host_port = match host_text {
            None | Some("") => 0,
            Some(text) => {
                let (start, len) =
                    parse_range(text, true).map_err(|r| invalid(&format!("host port: {r}")))?;
                if start != 0 && len != range {
                    return Err(invalid(
                        "host and container port ranges must have the same length",
                    ));
                }
                if start == 0 && len > 1 {
                    return Err(invalid("a host port range cannot start at 0"));
                }
                start
            }
        };
        if host_port != 0 && u32::from(host_port) + u32::from(range) - 1 > 65535 {
            return Err(invalid("host port range goes past 65535"));
        }
        Ok(PortMapping {
            host_ip,
            container_port,
            host_port,
            range,
            protocol,
        })
    }

    /// Lines as `port` prints them, one per port: `80/tcp -> 0.0.0.0:8080`.
    pub fn describe(&self) -> Vec<String> {
        let host = match self.host_ip {
            None => "0.0.0.0".to_string(),
            Some(IpAddr::V6(v6)) => format!("[{v6}]"),
            Some(ip) => ip.to_string(),
        };
        (0..self.range.max(1))
            .map(|i| {
                format!(
                    "{}/{} -> {host}:{}",
                    u32::from(self.container_port) + u32::from(i),
                    self.protocol,
                    u32::from(self.host_port) + u32::from(i)
                )
            })
            .collect()
    }

    /// The spec this mapping would be written as, for messages.
    pub fn to_spec(&self) -> String {
        let port = |start: u16| {
            if self.range > 1 {
                format!("{start}-{}", u32::from(start) + u32::from(self.range) - 1)
            } else {
                start.to_string()
            }
        };
        let ip = match self.host_ip {
            None => String::new(),
            Some(IpAddr::V6(v6)) => format!("[{v6}]:"),
            Some(ip) => format!("{ip}:"),
        };
        let host = if self.host_port == 0 {
            String::new()
        } else {
            port(self.host_port)
        };
        format!("{ip}{host}:{}/{}", port(self.container_port), self.protocol)
    }

    fn host_span(&self) -> (u32, u32) {
        let start = u32::from(self.host_port);
        (start, start + u32::from(self.range.max(1)) - 1)
    }

    /// Whether two mappings would claim the same host port.
    fn collides_with(&self, other: &PortMapping) -> bool {
        if self.host_port == 0 || other.host_port == 0 || self.protocol != other.protocol {
            return false;
        }
        let ips_meet = match (self.host_ip, other.host_ip) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let (a0, a1) = self.host_span();
        let (b0, b1) = other.host_span();
        ips_meet && a0 <= b1 && b0 <= a1
    }
}

/// Parses every `-p` value and refuses two that claim one host port.
pub fn parse_port_specs<S: AsRef<str>>(specs: &[S]) -> Result<Vec<PortMapping>> {
    let mappings = specs
        .iter()
        .map(|s| PortMapping::parse(s.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    check_conflicts(&mappings)?;
    Ok(mappings)
}

/// Errors if two mappings forward the same host address, port and protocol.
pub fn check_conflicts(mappings: &[PortMapping]) -> Result<()> {
    for (i, a) in mappings.iter().enumerate() {
        for b in &mappings[i + 1..] {
            if a.collides_with(b) {
                let (start, _) = a.host_span().max(b.host_span());
                return Err(Error::PortConflict {
                    first: a.to_spec(),
                    second: b.to_spec(),
                    port: start as u16,
                    protocol: a.protocol.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Gives every mapping with host port 0 a free host port block of its range,
/// checked by binding each port, avoiding the ports of the other mappings.
pub fn assign_host_ports(mappings: &mut [PortMapping]) -> Result<()> {
    for i in 0..mappings.len() {
        if mappings[i].host_port != 0 {
            continue;
        }
        let m = mappings[i].clone();
        let bind_ip = m.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let no_port = |reason: String| Error::NoFreePort {
            spec: m.to_spec(),
            reason,
        };
        let range = m.range.max(1);
        let fits = |start: u16| {
            let candidate = PortMapping {
                host_port: start,
                ..m.clone()
            };
            (0..range).all(|k| port_is_free(bind_ip, start + k, m.protocol))
                && !mappings.iter().any(|o| o.collides_with(&candidate))
        };
        let chosen = if range == 1 {
            // The kernel's ephemeral pick is free by construction.
            (0..16)
                .filter_map(|_| ephemeral_port(bind_ip, m.protocol))
                .find(|p| fits(*p))
        } else {
            // Random bases in the usual ephemeral range.
            let top = 60999u32.saturating_sub(u32::from(range)).max(32768);
            let mut rng = rand::thread_rng();
            (0..256)
                .map(|_| rand::Rng::gen_range(&mut rng, 32768..=top) as u16)
                .find(|p| fits(*p))
        };
        let port = chosen.ok_or_else(|| no_port("no free port found after many tries".into()))?;
        mappings[i].host_port = port;
    }
    check_conflicts(mappings)
}

fn ephemeral_port(ip: IpAddr, protocol: Protocol) -> Option<u16> {
    let addr = SocketAddr::new(ip, 0);
    match protocol {
        Protocol::Udp => UdpSocket::bind(addr)
            .ok()?
            .local_addr()
            .ok()
            .map(|a| a.port()),
        // std has no SCTP sockets; TCP's view of the port is the best hint.
        Protocol::Tcp | Protocol::Sctp => TcpListener::bind(addr)
            .ok()?
            .local_addr()
            .ok()
            .map(|a| a.port()),
    }
}

fn port_is_free(ip: IpAddr, port: u16, protocol: Protocol) -> bool {
    let addr = SocketAddr::new(ip, port);
    match protocol {
        Protocol::Udp => UdpSocket::bind(addr).is_ok(),
        Protocol::Tcp | Protocol::Sctp => TcpListener::bind(addr).is_ok(),
    }
}

/// Splits `ip:host:container`, `host:container` or `container`, with the
/// IPv6 form `[ip]:host:container`.
fn split_spec(main: &str) -> std::result::Result<(Option<&str>, Option<&str>, &str), String> {
    if let Some(rest) = main.strip_prefix('[') {
        let (ip, rest) = rest
            .split_once(']')
            .ok_or("unclosed '[' around the host IP")?;
        let rest = rest
            .strip_prefix(':')
            .ok_or("expected ':' after the bracketed host IP")?;
        let (host, container) = rest
            .split_once(':')
            .ok_or("expected [ip]:hostPort:containerPort")?;
        return Ok((Some(ip), Some(host), container));
    }
    let parts: Vec<&str> = main.split(':').collect();
    match parts.as_slice() {
        [container] => Ok((None, None, container)),
        [host, container] => Ok((None, Some(host), container)),
        [ip, host, container] => Ok((Some(ip), Some(host), container)),
        _ => Err("too many ':' (write IPv6 host addresses in brackets: [::1]:8080:80)".into()),
    }
}

/// `80` or `80-90` -> (start, length). Port 0 is only allowed, alone, on
/// the host side, where it means "pick one".
fn parse_range(text: &str, allow_zero: bool) -> std::result::Result<(u16, u16), String> {
    let port = |t: &str| -> std::result::Result<u16, String> {
        t.parse::<u16>()
            .map_err(|_| format!("{t:?} is not a port number (1-65535)"))
    };
    if text.is_empty() {
        return Err("missing".into());
    }
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => {
            let p = port(text)?;
            (p, p)
        }
    };
    if start == 0 && !(allow_zero && end == 0) {
        return Err("port 0 is not allowed".into());
    }
    if end < start {
        return Err(format!("range {text:?} ends before it starts"));
    }
    Ok((start, end - start + 1))
}

/// netavark spells "every address" as an empty string.
mod host_ip_json {
    use std::net::IpAddr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ip: &Option<IpAddr>, s: S) -> Result<S::Ok, S::Error> {
        match ip {
            Some(ip) => s.collect_str(ip),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(spec: &str) -> PortMapping {
        PortMapping::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    fn m(ip: Option<&str>, host: u16, container: u16, range: u16, proto: Protocol) -> PortMapping {
        PortMapping {
            host_ip: ip.map(|i| i.parse().unwrap()),
            container_port: container,
            host_port: host,
            range,
            protocol: proto,
        }
    }

    #[test]
    fn parses_every_form() {
        use Protocol::*;
        assert_eq!(p("80"), m(None, 0, 80, 1, Tcp));
        assert_eq!(p("8080:80"), m(None, 8080, 80, 1, Tcp));
        assert_eq!(p("8080:80/udp"), m(None, 8080, 80, 1, Udp));
        assert_eq!(p("53/UDP"), m(None, 0, 53, 1, Udp));
        assert_eq!(
            p("127.0.0.1:8080:80"),
            m(Some("127.0.0.1"), 8080, 80, 1, Tcp)
        );
        assert_eq!(p("127.0.0.1::80"), m(Some("127.0.0.1"), 0, 80, 1, Tcp));
        assert_eq!(p("0.0.0.0:8080:80"), m(None, 8080, 80, 1, Tcp));
        assert_eq!(p(":8080:80"), m(None, 8080, 80, 1, Tcp));
        assert_eq!(p("[::1]:8080:80/sctp"), m(Some("::1"), 8080, 80, 1, Sctp));
        assert_eq!(p("[fe80::1]::80"), m(Some("fe80::1"), 0, 80, 1, Tcp));
        assert_eq!(p("8000-8010:80-90"), m(None, 8000, 80, 11, Tcp));
        assert_eq!(p("80-90"), m(None, 0, 80, 11, Tcp));
        assert_eq!(p("0:80"), m(None, 0, 80, 1, Tcp));
        assert_eq!(
            p("10.0.0.1:5000-5001:6000-6001/udp"),
            m(Some("10.0.0.1"), 5000, 6000, 2, Udp)
        );
    }

    #[test]
    fn rejects_malformed_specs() {
        for bad in [
            "",
            "abc",
            "80/icmp",
            "80/",
            "0",
            "65536",
            "8080:",
            "8000-8010:80",
            "8080:80-81",
            "90-80",
            "1.2.3:80:80",
            "::1:8080:80",
            "[::1:8080:80",
            "[::1]8080:80",
            "[::1]:80",
            "65535-65535:1-1",
            "65530:1-10",
            "0-5:1-6",
            "a:b:c:d",
        ] {
            let spec_ok = PortMapping::parse(bad);
            if bad == "65535-65535:1-1" {
                // A one-port "range" at the very top is fine.
                assert!(spec_ok.is_ok());
                continue;
            }
            assert!(spec_ok.is_err(), "{bad:?} accepted: {spec_ok:?}");
        }
    }

    #[test]
    fn json_matches_netavark() {
        let json = serde_json::to_value(p("8080:80")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"host_ip": "", "container_port": 80, "host_port": 8080, "range": 1, "protocol": "tcp"})
        );
        let json = serde_json::to_value(p("127.0.0.1:8000-8001:80-81/udp")).unwrap();
        assert_eq!(json["host_ip"], "127.0.0.1");
        assert_eq!(json["range"], 2);
        let back: PortMapping = serde_json::from_value(json).unwrap();
        assert_eq!(back, p("127.0.0.1:8000-8001:80-81/udp"));
    }

    #[test]
    fn describe_and_spec() {
        assert_eq!(p("8080:80").describe(), ["80/tcp -> 0.0.0.0:8080"]);
        assert_eq!(
            p("[::1]:8000-8001:80-81/udp").describe(),
            ["80/udp -> [::1]:8000", "81/udp -> [::1]:8001"]
        );
        assert_eq!(
            p("127.0.0.1:8000-8001:80-81/udp").to_spec(),
            "127.0.0.1:8000-8001:80-81/udp"
        );
        assert_eq!(p("80").to_spec(), ":80/tcp");
    }

    #[test]
    fn conflicts() {
        assert!(parse_port_specs(&["8080:80", "8081:80"]).is_ok());
        assert!(parse_port_specs(&["8080:80", "8080:81/udp"]).is_ok());
        assert!(parse_port_specs(&["127.0.0.1:8080:80", "127.0.0.2:8080:81"]).is_ok());
        assert!(
            parse_port_specs(&["80", "81"]).is_ok(),
            "unassigned ports do not clash"
        );
        for pair in [
            ["8080:80", "8080:81"],
            ["127.0.0.1:8080:80", "8080:81"],
            ["8000-8010:80-90", "8010:1"],
        ] {
            assert!(
                matches!(parse_port_specs(&pair), Err(Error::PortConflict { .. })),
                "{pair:?}"
            );
        }
    }

    #[test]
    fn assigns_free_host_ports() {
        let mut maps =
            parse_port_specs(&["127.0.0.1::80", "127.0.0.1::90-93/udp", "8080:81"]).unwrap();
        assign_host_ports(&mut maps).unwrap();
        assert_ne!(maps[0].host_port, 0);
        assert_ne!(maps[1].host_port, 0);
        assert_eq!(maps[1].range, 4);
        assert_eq!(maps[2].host_port, 8080, "explicit ports are kept");
        // The picked TCP port really is bindable (nobody holds it).
        TcpListener::bind(("127.0.0.1", maps[0].host_port)).unwrap();
        for k in 0..4 {
            UdpSocket::bind(("127.0.0.1", maps[1].host_port + k)).unwrap();
        }
    }

    #[test]
    fn assign_avoids_ports_in_use() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = held.local_addr().unwrap().port();
        assert!(!port_is_free(lo, busy, Protocol::Tcp));
        drop(held);
        assert!(port_is_free(lo, busy, Protocol::Tcp));
    }
}

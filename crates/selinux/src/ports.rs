//! Port types: the `portcon` statements of the policy's modules and the
//! local ones (`semanage port -a`), looked up as udica does through
//! libsemanage: the local list first, then the policy's, which the policy
//! compiler orders narrowest range first; the first range holding the
//! port wins.

use crate::sexpr::{statements, Node};

/// One `portcon`: a protocol, a port range and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortRange {
    pub protocol: String,
    pub low: u32,
    pub high: u32,
    pub type_name: String,
}

/// Port types known to a policy.
#[derive(Debug, Default, Clone)]
pub(crate) struct PortTypes {
    local: Vec<PortRange>,
    policy: Vec<PortRange>,
}

impl PortTypes {
    /// From the local ports file's text and the modules' CIL texts.
    pub(crate) fn new(local: Option<&str>, modules: &[String]) -> PortTypes {
        let mut named = Vec::new();
        let mut policy = Vec::new();
        for m in modules {
            for s in statements(m, &["portcon", "context"]) {
                let items = s.list().unwrap_or_default();
                match items.first().and_then(Node::atom) {
                    Some("context") => named.push(s.clone()),
                    _ => policy.extend(portcon(items)),
                }
            }
        }
        // A portcon may name its context instead of spelling it out.
        for p in &mut policy {
            if let Some(t) = named_context_type(&named, &p.type_name) {
                p.type_name = t;
            }
        }
        policy.sort_by_key(|p| (p.high - p.low, p.low, p.protocol.clone()));
        PortTypes {
            local: local.map(local_ports).unwrap_or_default(),
            policy,
        }
    }

    /// The type of `port`/`protocol`, if any range holds it.
    pub(crate) fn lookup(&self, port: u32, protocol: &str) -> Option<&str> {
        self.local
            .iter()
            .chain(&self.policy)
            .find(|r| r.protocol == protocol && r.low <= port && port <= r.high)
            .map(|r| r.type_name.as_str())
    }
}

/// `(portcon PROTO PORT|(LOW HIGH) CONTEXT)`; a named context's name
/// stands in for the type until it is resolved.
fn portcon(items: &[Node]) -> Option<PortRange> {
    let protocol = items.get(1)?.atom()?.to_string();
    let (low, high) = match items.get(2)? {
        Node::Atom(p) => (p.parse().ok()?, p.parse().ok()?),
        Node::List(r) => (
            r.first()?.atom()?.parse().ok()?,
            r.get(1)?.atom()?.parse().ok()?,
        ),
    };
    let type_name = match items.get(3)? {
        Node::Atom(name) => name.clone(),
        Node::List(ctx) => ctx.get(2)?.atom()?.to_string(),
    };
    (low <= high).then_some(PortRange {
        protocol,
        low,
        high,
        type_name,
    })
}

/// The type of `(context NAME (USER ROLE TYPE RANGE))`.
fn named_context_type(named: &[Node], name: &str) -> Option<String> {
    named.iter().find_map(|n| {
        let items = n.list()?;
        (items.get(1)?.atom()? == name)
            .then(|| Some(items.get(2)?.list()?.get(2)?.atom()?.to_string()))?
    })
}

/// libsemanage's local ports file: `portcon PROTO LOW[-HIGH] CONTEXT`.
fn local_ports(text: &str) -> Vec<PortRange> {
    text.lines()
        .filter_map(|line| {
            let mut w = line.split_whitespace();
            if w.next()? != "portcon" {
                return None;
            }
            let protocol = w.next()?.to_string();
            let range = w.next()?;
            let (low, high) = range.split_once('-').unwrap_or((range, range));
            let type_name = w.next()?.split(':').nth(2)?.to_string();
            Some(PortRange {
                protocol,
                low: low.parse().ok()?,
                high: high.parse().ok()?,
                type_name,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "(portcon tcp (1024 32767) (system_u object_r unreserved_port_t ((s0) (s0))))\n\
        (portcon tcp 8080 (system_u object_r http_cache_port_t ((s0) (s0))))\n\
        (portcon tcp (8080 8090) (system_u object_r wide_port_t ((s0) (s0))))\n\
        (context dns_ctx (system_u object_r dns_port_t ((s0) (s0))))\n\
        (portcon udp 53 dns_ctx)";

    #[test]
    fn the_narrowest_range_wins_and_local_ports_come_first() {
        let p = PortTypes::new(None, &[BASE.to_string()]);
        assert_eq!(p.lookup(8080, "tcp"), Some("http_cache_port_t"));
        assert_eq!(p.lookup(8085, "tcp"), Some("wide_port_t"));
        assert_eq!(p.lookup(18080, "tcp"), Some("unreserved_port_t"));
        assert_eq!(p.lookup(53, "udp"), Some("dns_port_t"));
        assert_eq!(p.lookup(18080, "udp"), None);
        let local = "portcon tcp 18000-18100 system_u:object_r:mine_port_t:s0\n";
        let p = PortTypes::new(Some(local), &[BASE.to_string()]);
        assert_eq!(p.lookup(18080, "tcp"), Some("mine_port_t"));
    }
}

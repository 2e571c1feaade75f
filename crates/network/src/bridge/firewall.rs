//! The firewall part of the built-in bridge driver: exactly the chains and
//! rules netavark 1.4 makes for an IPv4 bridge network, so that either tool
//! can undo what the other made, read with one `iptables-save` and changed
//! with one `iptables-restore --noflush`.
//!
//! netavark's layout, H being [`network_hash`] of the network name, S each
//! IPv4 subnet of the network:
//!
//! * nat `NETAVARK-H`: `-d S -j ACCEPT`, `! -d 224.0.0.0/4 -j MASQUERADE`
//!   (once per chain: netavark appends a rule only if it is missing), and
//!   `POSTROUTING -s S -j NETAVARK-H`.
//! * filter `NETAVARK_FORWARD`: `-d S -m conntrack --ctstate
//!   RELATED,ESTABLISHED -j ACCEPT`, `-s S -j ACCEPT`, reached by a
//!   commented jump inserted at the top of `FORWARD`.
//! * Port-forwarding globals, made for every container (with ports or not):
//!   `NETAVARK-HOSTPORT-SETMARK`, `NETAVARK-HOSTPORT-MASQ` (jumped to from
//!   the top of `POSTROUTING`) and `NETAVARK-HOSTPORT-DNAT` (jumped to from
//!   `PREROUTING` and `OUTPUT` for local destinations).
//! * Per port mapping, in `NETAVARK-DN-H`: two SETMARK rules (from the
//!   container's subnet and from 127.0.0.1) and the DNAT, plus a commented
//!   jump in `NETAVARK-HOSTPORT-DNAT`.
//!
//! Internal networks get no rules at all, port mappings included, as with
//! netavark. Global chains and jumps are never removed.
//!
//! iptables-restore commits each table on its own: a failure in `*filter`
//! leaves an already committed `*nat` in place. A failed restore is
//! therefore followed by a compensating one, planned against the state read
//! afresh, so that no half of a change stays.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;
use sha2::{Digest, Sha512};

use crate::error::{Error, Result};
use crate::ports::PortMapping;

/// netavark's `MAX_HASH_SIZE`: hex digits of the name hash in chain names.
const HASH_LEN: usize = 13;
const NETAVARK_FORWARD: &str = "NETAVARK_FORWARD";
const HOSTPORT_DNAT: &str = "NETAVARK-HOSTPORT-DNAT";
const HOSTPORT_SETMARK: &str = "NETAVARK-HOSTPORT-SETMARK";
const HOSTPORT_MASQ: &str = "NETAVARK-HOSTPORT-MASQ";
/// Serialises hoist's own save-plan-restore cycles, across processes: two
/// cycles interleaved would both append a missing rule (a duplicate).
const LOCK_FILE: &str = "/run/hoist/firewall.lock";
/// One more try after a restore that failed, e.g. because podman's
/// netavark changed a chain between our save and our restore.
const ATTEMPTS: usize = 2;

/// What one container on one network needs from the firewall.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ContainerRules<'a> {
    /// Hashed into the chain names, quoted in the DNAT comments.
    pub(crate) network_name: &'a str,
    /// The network's IPv4 subnets.
    pub(crate) subnets: &'a [Ipv4Net],
    /// netavark makes no firewall rules at all for an internal network.
    pub(crate) internal: bool,
    pub(crate) container_id: &'a str,
    /// The container's (first) IPv4 address on the network: DNAT target,
    /// and its subnet is the source of the SETMARK rule.
    pub(crate) address: Ipv4Addr,
    /// Mappings with an IPv6 host IP are skipped (IPv6 is netavark's).
    pub(crate) ports: &'a [PortMapping],
}

/// Adds the network's rules, the port-forwarding globals and the
/// container's port rules, whatever of them is missing. Idempotent.
pub(crate) fn add(rules: &ContainerRules) -> Result<()> {
    if rules.internal {
        return Ok(());
    }
    let wanted = rules.wanted()?;
    let action = format!(
        "adding the rules of container {} on network {}",
        rules.container_id, rules.network_name
    );
    apply(&action, |state| plan_add(state, &wanted))
}

/// Removes the container's port rules and, when `network_unused` (its
/// bridge is going away), the network's rules. A chain of the network is
/// deleted only once empty: rules that are not ours stay, with their chain.
pub(crate) fn remove(rules: &ContainerRules, network_unused: bool) -> Result<()> {
    if rules.internal {
        return Ok(());
    }
    let unwanted = rules.unwanted(network_unused)?;
    let action = format!(
        "removing the rules of container {} on network {}",
        rules.container_id, rules.network_name
    );
    apply(&action, |state| plan_remove(state, &unwanted))
}

/// netavark's network hash: the first 13 uppercase hex digits of the
/// SHA-512 of the network name.
pub(crate) fn network_hash(name: &str) -> String {
    let mut hash = hex::encode_upper(Sha512::digest(name.as_bytes()));
    hash.truncate(HASH_LEN);
    hash
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    // Declared first, so restore scripts write `*nat` first.
    Nat,
    Filter,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Nat => "nat",
            Table::Filter => "filter",
        }
    }

    fn builtin(self, chain: &str) -> bool {
        match self {
            Table::Nat => matches!(chain, "PREROUTING" | "INPUT" | "OUTPUT" | "POSTROUTING"),
            Table::Filter => matches!(chain, "INPUT" | "FORWARD" | "OUTPUT"),
        }
    }
}

/// One rule as hoist writes it: iptables options after `-A CHAIN`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    table: Table,
    chain: String,
    spec: String,
    /// netavark inserts the jumps from FORWARD and POSTROUTING at the top.
    top: bool,
}

impl Rule {
    fn append(table: Table, chain: &str, spec: String) -> Rule {
        Rule {
            table,
            chain: chain.to_string(),
            spec,
            top: false,
        }
    }

    fn insert(table: Table, chain: &str, spec: String) -> Rule {
        Rule {
            top: true,
            ..Rule::append(table, chain, spec)
        }
    }
}

/// The chains and rules `add` makes sure of, in netavark's order.
#[derive(Debug, Default)]
struct Wanted {
    chains: Vec<(Table, String)>,
    rules: Vec<Rule>,
}

/// What `remove` takes away: rules, then the chains that became empty.
#[derive(Debug, Default)]
struct Unwanted {
    rules: Vec<Rule>,
    chains: Vec<(Table, String)>,
}

impl ContainerRules<'_> {
    fn wanted(&self) -> Result<Wanted> {
        let hash = network_hash(self.network_name);
        let mut chains = vec![
            (Table::Nat, format!("NETAVARK-{hash}")),
            (Table::Filter, NETAVARK_FORWARD.to_string()),
            (Table::Nat, HOSTPORT_SETMARK.to_string()),
            (Table::Nat, HOSTPORT_MASQ.to_string()),
            (Table::Nat, HOSTPORT_DNAT.to_string()),
        ];
        if !self.ports.is_empty() {
            chains.push((Table::Nat, format!("NETAVARK-DN-{hash}")));
        }
        let mut rules = network_rules(&hash, self.subnets);
        rules.extend(global_rules());
        rules.extend(self.port_rules(&hash)?);
        rules.extend(local_dnat_jumps());
        Ok(Wanted { chains, rules })
    }

    fn unwanted(&self, network_unused: bool) -> Result<Unwanted> {
        let hash = network_hash(self.network_name);
        let mut rules = self.port_rules(&hash)?;
        let mut chains = vec![(Table::Nat, format!("NETAVARK-DN-{hash}"))];
        if network_unused {
            // The FORWARD jump is shared by all networks: it stays.
            let forward_jump = forward_jump();
            let network = network_rules(&hash, self.subnets);
            rules.extend(network.into_iter().filter(|r| *r != forward_jump));
            chains.push((Table::Nat, format!("NETAVARK-{hash}")));
        }
        Ok(Unwanted { rules, chains })
    }

    /// The DN chain's rules, then the jumps to it (netavark's order).
    fn port_rules(&self, hash: &str) -> Result<Vec<Rule>> {
        let ports: Vec<&PortMapping> = self
            .ports
            .iter()
            .filter(|p| !matches!(p.host_ip, Some(IpAddr::V6(_))))
            .collect();
        if ports.is_empty() {
            return Ok(Vec::new());
        }
        let subnet = self.container_subnet()?;
        let dn_chain = format!("NETAVARK-DN-{hash}");
        let mut dn = Vec::new();
        let mut jumps = Vec::new();
        for port in ports {
            let host_ports = host_port_text(port);
            let proto = port.protocol.as_str();
            // A host IP restricts the DN chain's rules to that destination.
            let dest = port
                .host_ip
                .map(|ip| format!("-d {ip} "))
                .unwrap_or_default();
            let matches = format!("-p {proto} --dport {host_ports}");
            for source in [subnet.to_string(), Ipv4Addr::LOCALHOST.to_string()] {
                let spec = format!("-s {source} {dest}{matches} -j {HOSTPORT_SETMARK}");
                dn.push(Rule::append(Table::Nat, &dn_chain, spec));
            }
            let target = format!("{}:{}", self.address, container_port_text(port));
            let spec = format!("{dest}{matches} -j DNAT --to-destination {target}");
            dn.push(Rule::append(Table::Nat, &dn_chain, spec));
            // netavark gives the jump no `-d`: the DN chain's rules have it.
            let spec = format!(
                "{matches} -m comment --comment \"dnat name: {} id: {}\" -j {dn_chain}",
                self.network_name, self.container_id
            );
            jumps.push(Rule::append(Table::Nat, HOSTPORT_DNAT, spec));
        }
        dn.extend(jumps);
        Ok(dn)
    }

    /// The subnet holding the container's address (netavark takes the
    /// network of the container's first IPv4 address).
    fn container_subnet(&self) -> Result<Ipv4Net> {
        self.subnets
            .iter()
            .find(|s| s.contains(&self.address))
            .map(Ipv4Net::trunc)
            .ok_or_else(|| Error::IpNotInNetwork {
                ip: IpAddr::V4(self.address),
                network: self.network_name.to_string(),
            })
    }
}

/// `P`, or `P:Plast` for a range (iptables' --dport range syntax).
fn host_port_text(port: &PortMapping) -> String {
    let last = u32::from(port.host_port) + u32::from(port.range.max(1)) - 1;
    if port.range > 1 {
        format!("{}:{last}", port.host_port)
    } else {
        port.host_port.to_string()
    }
}

/// `C`, or `C-Clast/P` for a range: netavark maps the range with the host
/// range's first port as base, so each host port reaches its own.
fn container_port_text(port: &PortMapping) -> String {
    let last = u32::from(port.container_port) + u32::from(port.range.max(1)) - 1;
    if port.range > 1 {
        format!("{}-{last}/{}", port.container_port, port.host_port)
    } else {
        port.container_port.to_string()
    }
}

fn forward_jump() -> Rule {
    let spec = "-m comment --comment \"netavark firewall plugin rules\" -j NETAVARK_FORWARD";
    Rule::insert(Table::Filter, "FORWARD", spec.to_string())
}

/// The network-level rules, subnet by subnet as netavark adds them.
fn network_rules(hash: &str, subnets: &[Ipv4Net]) -> Vec<Rule> {
    let chain = format!("NETAVARK-{hash}");
    let mut rules = Vec::new();
    for subnet in subnets.iter().map(Ipv4Net::trunc) {
        rules.extend([
            Rule::append(Table::Nat, &chain, format!("-d {subnet} -j ACCEPT")),
            Rule::append(
                Table::Nat,
                &chain,
                "! -d 224.0.0.0/4 -j MASQUERADE".to_string(),
            ),
            Rule::append(Table::Nat, "POSTROUTING", format!("-s {subnet} -j {chain}")),
            forward_jump(),
            Rule::append(
                Table::Filter,
                NETAVARK_FORWARD,
                format!("-d {subnet} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
            ),
            Rule::append(
                Table::Filter,
                NETAVARK_FORWARD,
                format!("-s {subnet} -j ACCEPT"),
            ),
        ]);
    }
    rules
}

/// The marking and masquerading of forwarded ports, shared by all networks.
fn global_rules() -> Vec<Rule> {
    vec![
        Rule::append(
            Table::Nat,
            HOSTPORT_SETMARK,
            "-j MARK --set-xmark 0x2000/0x2000".to_string(),
        ),
        Rule::append(
            Table::Nat,
            HOSTPORT_MASQ,
            "-m comment --comment \"netavark portfw masq mark\" -m mark --mark 0x2000/0x2000 -j MASQUERADE"
                .to_string(),
        ),
        Rule::insert(Table::Nat, "POSTROUTING", format!("-j {HOSTPORT_MASQ}")),
    ]
}

/// Jumps to the host-port DNAT chain, added after the per-port rules.
fn local_dnat_jumps() -> Vec<Rule> {
    ["PREROUTING", "OUTPUT"]
        .into_iter()
        .map(|chain| {
            let spec = format!("-m addrtype --dst-type LOCAL -j {HOSTPORT_DNAT}");
            Rule::append(Table::Nat, chain, spec)
        })
        .collect()
}

/// Splits a rule into words like a shell would: double or single quotes
/// group, a backslash escapes the next character (iptables-save writes
/// `\"` in comments).
fn tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                word.extend(chars.next());
                in_word = true;
            }
            (c, Some(q)) if c == q => quote = None,
            (c, Some(_)) => word.push(c),
            ('"' | '\'', None) => {
                quote = Some(c);
                in_word = true;
            }
            (c, None) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (c, None) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// A rule's options in a form that does not depend on how it was written:
/// each option with its arguments (and a leading `!`) as one string,
/// long aliases shortened, addresses as masked CIDRs, the `-m tcp` that
/// iptables-save adds after `-p tcp` dropped, sorted.
fn normalize(words: &[String]) -> Vec<String> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut negate = false;
    for word in words {
        if word == "!" {
            negate = true;
        } else if is_option(word) {
            let mut group = Vec::new();
            if std::mem::take(&mut negate) {
                group.push("!".to_string());
            }
            group.push(canonical_option(word).to_string());
            groups.push(group);
        } else if let Some(group) = groups.last_mut() {
            group.push(word.clone());
        } else {
            groups.push(vec![word.clone()]);
        }
    }
    for group in &mut groups {
        mask_address(group);
    }
    let protocols: Vec<String> = groups
        .iter()
        .filter_map(|g| match g.as_slice() {
            [opt, proto] if opt == "-p" => Some(proto.clone()),
            _ => None,
        })
        .collect();
    let mut keys: Vec<String> = groups
        .into_iter()
        .filter(|g| !matches!(g.as_slice(), [m, p] if m == "-m" && protocols.contains(p)))
        .map(|g| g.join(" "))
        .collect();
    keys.sort();
    keys
}

fn is_option(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next() == Some('-') && chars.next().is_some_and(|c| !c.is_ascii_digit())
}

fn canonical_option(option: &str) -> &str {
    match option {
        "--source" | "--src" => "-s",
        "--destination" | "--dst" => "-d",
        "--protocol" => "-p",
        "--jump" => "-j",
        "--goto" => "-g",
        "--match" => "-m",
        "--in-interface" => "-i",
        "--out-interface" => "-o",
        "--destination-port" => "--dport",
        "--source-port" => "--sport",
        other => other,
    }
}

/// `-s 10.0.0.1` is saved as `-s 10.0.0.1/32`, `-d 10.0.0.1/24` as
/// `-d 10.0.0.0/24`.
fn mask_address(group: &mut [String]) {
    let Some(pos) = group.iter().position(|w| w == "-s" || w == "-d") else {
        return;
    };
    let Some(arg) = group.get_mut(pos + 1) else {
        return;
    };
    let cidr = if arg.contains('/') {
        arg.parse::<Ipv4Net>().ok()
    } else {
        arg.parse::<Ipv4Addr>().ok().map(Ipv4Net::from)
    };
    if let Some(net) = cidr {
        *arg = net.trunc().to_string();
    }
}

/// A rule as iptables-save printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SavedRule {
    /// The whole `-A CHAIN ...` line, to be turned into a `-D` as is.
    line: String,
    key: Vec<String>,
}

/// The nat and filter tables: every chain with its rules in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Ruleset {
    tables: BTreeMap<Table, BTreeMap<String, Vec<SavedRule>>>,
}

impl Ruleset {
    /// Reads iptables-save output; other tables are skipped.
    fn parse(text: &str) -> Ruleset {
        let mut set = Ruleset::default();
        let mut table = None;
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('*') {
                table = [Table::Nat, Table::Filter]
                    .into_iter()
                    .find(|t| t.name() == name);
                continue;
            }
            let Some(table) = table else { continue };
            let chains = set.tables.entry(table).or_default();
            if let Some(decl) = line.strip_prefix(':') {
                let name = decl.split_whitespace().next().unwrap_or_default();
                chains.entry(name.to_string()).or_default();
            } else if line.starts_with("-A ") {
                let words = tokenize(line);
                let (Some(chain), Some(options)) = (words.get(1), words.get(2..)) else {
                    continue;
                };
                let rule = SavedRule {
                    line: line.to_string(),
                    key: normalize(options),
                };
                chains.entry(chain.clone()).or_default().push(rule);
            }
        }
        set
    }

    fn chain(&self, table: Table, chain: &str) -> Option<&Vec<SavedRule>> {
        self.tables.get(&table)?.get(chain)
    }

    fn has_chain(&self, table: Table, chain: &str) -> bool {
        table.builtin(chain) || self.chain(table, chain).is_some()
    }

    fn has_rule(&self, table: Table, chain: &str, key: &[String]) -> bool {
        self.chain(table, chain)
            .is_some_and(|rules| rules.iter().any(|r| r.key == key))
    }

    /// Whether a rule anywhere in the table jumps or goes to `chain`.
    fn referenced(&self, table: Table, chain: &str) -> bool {
        let targets = [format!("-j {chain}"), format!("-g {chain}")];
        self.tables.get(&table).is_some_and(|chains| {
            chains
                .values()
                .flatten()
                .any(|r| r.key.iter().any(|k| targets.contains(k)))
        })
    }

    fn rules_mut(&mut self, table: Table, chain: &str) -> &mut Vec<SavedRule> {
        self.tables
            .entry(table)
            .or_default()
            .entry(chain.to_string())
            .or_default()
    }
}

/// One line of a restore script.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    NewChain {
        table: Table,
        chain: String,
    },
    /// `-A`, or `-I` at `position` (1-based).
    Add {
        table: Table,
        chain: String,
        spec: String,
        position: Option<usize>,
    },
    /// `line` is the saved `-A` line; `index` its 0-based place when
    /// deleted, to put it back there in a rollback.
    Delete {
        table: Table,
        chain: String,
        line: String,
        index: usize,
    },
    DeleteChain {
        table: Table,
        chain: String,
    },
}

impl Op {
    fn table(&self) -> Table {
        match self {
            Op::NewChain { table, .. }
            | Op::Add { table, .. }
            | Op::Delete { table, .. }
            | Op::DeleteChain { table, .. } => *table,
        }
    }

    /// Chains are made before and deleted after the rules that use them.
    fn stage(&self) -> u8 {
        match self {
            Op::NewChain { .. } => 0,
            Op::Add { .. } | Op::Delete { .. } => 1,
            Op::DeleteChain { .. } => 2,
        }
    }

    fn line(&self) -> String {
        match self {
            // `-N`, not `:CHAIN - [0:0]`: with --noflush a declaration
            // flushes a chain that someone made meanwhile, `-N` fails.
            Op::NewChain { chain, .. } => format!("-N {chain}"),
            Op::Add {
                chain,
                spec,
                position: None,
                ..
            } => format!("-A {chain} {spec}"),
            Op::Add {
                chain,
                spec,
                position: Some(n),
                ..
            } => format!("-I {chain} {n} {spec}"),
            Op::Delete { line, .. } => match line.strip_prefix("-A ") {
                Some(rest) => format!("-D {rest}"),
                None => line.clone(),
            },
            Op::DeleteChain { chain, .. } => format!("-X {chain}"),
        }
    }
}

/// Plans changes against a copy of the state, which it keeps up to date, so
/// that a rule wanted twice is added once and emptiness is judged after
/// the deletions.
struct Planner {
    state: Ruleset,
    ops: Vec<Op>,
}

impl Planner {
    fn new(state: &Ruleset) -> Planner {
        Planner {
            state: state.clone(),
            ops: Vec::new(),
        }
    }

    fn ensure_chain(&mut self, table: Table, chain: &str) {
        if self.state.has_chain(table, chain) {
            return;
        }
        self.state.rules_mut(table, chain);
        self.ops.push(Op::NewChain {
            table,
            chain: chain.to_string(),
        });
    }

    fn ensure_rule(&mut self, rule: &Rule) {
        let key = normalize(&tokenize(&rule.spec));
        if self.state.has_rule(rule.table, &rule.chain, &key) {
            return;
        }
        self.add_at(rule, key, rule.top.then_some(1));
    }

    fn add_at(&mut self, rule: &Rule, key: Vec<String>, position: Option<usize>) {
        let rules = self.state.rules_mut(rule.table, &rule.chain);
        let position = position.map(|n| n.clamp(1, rules.len() + 1));
        let saved = SavedRule {
            line: format!("-A {} {}", rule.chain, rule.spec),
            key,
        };
        match position {
            Some(n) => rules.insert(n - 1, saved),
            None => rules.push(saved),
        }
        self.ops.push(Op::Add {
            table: rule.table,
            chain: rule.chain.clone(),
            spec: rule.spec.clone(),
            position,
        });
    }

    /// Deletes every copy of the rule (a duplicate would keep its chain).
    fn delete_rule(&mut self, table: Table, chain: &str, key: &[String]) {
        let chains = self.state.tables.get_mut(&table);
        let Some(rules) = chains.and_then(|c| c.get_mut(chain)) else {
            return;
        };
        while let Some(index) = rules.iter().position(|r| r.key == key) {
            let gone = rules.remove(index);
            self.ops.push(Op::Delete {
                table,
                chain: chain.to_string(),
                line: gone.line,
                index,
            });
        }
    }

    /// Deletes a chain of ours that holds no rule and that no rule uses.
    fn delete_chain_if_unused(&mut self, table: Table, chain: &str) {
        let empty = self.state.chain(table, chain).is_some_and(Vec::is_empty);
        if table.builtin(chain) || !empty || self.state.referenced(table, chain) {
            return;
        }
        if let Some(chains) = self.state.tables.get_mut(&table) {
            chains.remove(chain);
        }
        self.ops.push(Op::DeleteChain {
            table,
            chain: chain.to_string(),
        });
    }
}

fn plan_add(state: &Ruleset, wanted: &Wanted) -> Vec<Op> {
    let mut planner = Planner::new(state);
    for (table, chain) in &wanted.chains {
        planner.ensure_chain(*table, chain);
    }
    for rule in &wanted.rules {
        planner.ensure_rule(rule);
    }
    planner.ops
}

fn plan_remove(state: &Ruleset, unwanted: &Unwanted) -> Vec<Op> {
    let mut planner = Planner::new(state);
    for rule in &unwanted.rules {
        let key = normalize(&tokenize(&rule.spec));
        planner.delete_rule(rule.table, &rule.chain, &key);
    }
    for (table, chain) in &unwanted.chains {
        planner.delete_chain_if_unused(*table, chain);
    }
    planner.ops
}

/// Undoes whatever of `ops` shows in `state` (read after a failed
/// restore): the tables that were committed. Works backwards, so deleted
/// rules go back to their places.
fn plan_rollback(state: &Ruleset, ops: &[Op]) -> Vec<Op> {
    let mut planner = Planner::new(state);
    for op in ops.iter().rev() {
        match op {
            Op::NewChain { table, chain } => planner.delete_chain_if_unused(*table, chain),
            Op::Add {
                table, chain, spec, ..
            } => planner.delete_rule(*table, chain, &normalize(&tokenize(spec))),
            Op::Delete {
                table,
                chain,
                line,
                index,
            } => {
                let words = tokenize(line);
                let key = normalize(words.get(2..).unwrap_or_default());
                if !planner.state.has_rule(*table, chain, &key) {
                    let spec = line.splitn(3, ' ').nth(2).unwrap_or_default();
                    let rule = Rule::append(*table, chain, spec.to_string());
                    planner.add_at(&rule, key, Some(index + 1));
                }
            }
            Op::DeleteChain { table, chain } => planner.ensure_chain(*table, chain),
        }
    }
    planner.ops
}

/// The restore script for `ops`, `None` when there is nothing to do.
fn script(ops: &[Op]) -> Option<String> {
    if ops.is_empty() {
        return None;
    }
    let mut text = String::new();
    for table in [Table::Nat, Table::Filter] {
        let mut lines: Vec<&Op> = ops.iter().filter(|op| op.table() == table).collect();
        if lines.is_empty() {
            continue;
        }
        lines.sort_by_key(|op| op.stage());
        text.push_str(&format!("*{}\n", table.name()));
        for op in lines {
            text.push_str(&op.line());
            text.push('\n');
        }
        text.push_str("COMMIT\n");
    }
    Some(text)
}

/// Reads the state, plans, restores; on failure rolls back and tries again
/// with the state read afresh.
fn apply(action: &str, plan: impl Fn(&Ruleset) -> Vec<Op>) -> Result<()> {
    let _lock = lock()?;
    let mut failure = String::new();
    for _ in 0..ATTEMPTS {
        let ops = plan(&save(action)?);
        let Some(text) = script(&ops) else {
            return Ok(());
        };
        tracing::debug!(script = %text, "iptables-restore");
        match restore(&text) {
            Ok(()) => return Ok(()),
            Err(message) => failure = message,
        }
        rollback(action, &ops, &failure)?;
    }
    Err(firewall_error(action, failure))
}

fn rollback(action: &str, ops: &[Op], failure: &str) -> Result<()> {
    let undo = plan_rollback(&save(action)?, ops);
    match script(&undo).map(|text| restore(&text)) {
        None | Some(Ok(())) => Ok(()),
        Some(Err(message)) => Err(firewall_error(
            action,
            format!("{failure}; undoing the part that was applied failed too: {message}"),
        )),
    }
}

fn firewall_error(action: &str, message: String) -> Error {
    Error::Firewall {
        action: action.to_string(),
        message,
    }
}

fn lock() -> Result<hoist_fsutil::FileLock> {
    let path = Path::new(LOCK_FILE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            action: "creating the firewall lock directory",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(hoist_fsutil::FileLock::exclusive(path)?)
}

/// `iptables-save` of all tables, parsed.
fn save(action: &str) -> Result<Ruleset> {
    let binary = tool("iptables-save");
    let output = Command::new(&binary)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| firewall_error(action, spawn_failure(&binary, &e)))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(firewall_error(
            action,
            format!(
                "iptables-save failed ({}): {}",
                output.status,
                stderr.trim()
            ),
        ));
    }
    Ok(Ruleset::parse(&String::from_utf8_lossy(&output.stdout)))
}

/// Runs `iptables-restore --noflush` on `text`; the error names the
/// script line iptables-restore complained about.
fn restore(text: &str) -> std::result::Result<(), String> {
    let binary = tool("iptables-restore");
    let spawned = Command::new(&binary)
        .args(["--noflush", "--wait"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = spawned.map_err(|e| spawn_failure(&binary, &e))?;
    // A script is a few kB, well under a pipe's buffer: no deadlock.
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(text.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("waiting for iptables-restore: {e}"))?;
    if output.status.success() {
        if let Some(Err(e)) = written {
            return Err(format!("writing to iptables-restore: {e}"));
        }
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    Err(describe_failure(&stderr, text))
}

fn spawn_failure(binary: &Path, e: &std::io::Error) -> String {
    let hint = if e.kind() == std::io::ErrorKind::NotFound {
        " (install it: apt-get install iptables)"
    } else {
        ""
    };
    format!("running {}: {e}{hint}", binary.display())
}

/// iptables-restore's complaint, with the script line it names
/// (`line 3 failed` or `Error occurred at line: 3`).
fn describe_failure(stderr: &str, script: &str) -> String {
    let number = stderr.split("line").skip(1).find_map(|rest| {
        let digits: String = rest
            .trim_start_matches([':', ' '])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<usize>().ok()
    });
    let line = number.and_then(|n| Some((n, script.lines().nth(n.checked_sub(1)?)?)));
    match line {
        Some((n, text)) => format!("{stderr} (script line {n}: {text})"),
        None => stderr.to_string(),
    }
}

/// `name` from PATH, else from /usr/sbin or /sbin (a service's PATH may
/// lack them), else the bare name for the error to mention.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Protocol;

    pub(super) fn mapping(
        host_ip: Option<&str>,
        host: u16,
        container: u16,
        range: u16,
        p: Protocol,
    ) -> PortMapping {
        PortMapping {
            host_ip: host_ip.map(|ip| ip.parse().unwrap()),
            container_port: container,
            host_port: host,
            range,
            protocol: p,
        }
    }

    fn net(text: &str) -> Ipv4Net {
        text.parse().unwrap()
    }

    fn words(text: &str) -> Vec<String> {
        tokenize(text)
    }

    /// A generated rule as a comparable `(table, chain, key)`.
    fn generated(rule: &Rule) -> (Table, String, Vec<String>) {
        (
            rule.table,
            rule.chain.clone(),
            normalize(&tokenize(&rule.spec)),
        )
    }

    /// What `ops` do to `state`, applied the way iptables-restore would.
    fn simulate(state: &Ruleset, ops: &[Op]) -> Ruleset {
        let mut state = state.clone();
        let mut sorted: Vec<&Op> = ops.iter().collect();
        sorted.sort_by_key(|op| op.stage());
        for op in sorted {
            match op {
                Op::NewChain { table, chain } => {
                    assert!(!state.has_chain(*table, chain), "-N {chain} exists");
                    state.rules_mut(*table, chain);
                }
                Op::Add {
                    table,
                    chain,
                    spec,
                    position,
                } => {
                    assert!(state.has_chain(*table, chain), "{chain} missing");
                    let rule = SavedRule {
                        line: format!("-A {chain} {spec}"),
                        key: normalize(&tokenize(spec)),
                    };
                    let rules = state.rules_mut(*table, chain);
                    match position {
                        Some(n) => rules.insert(n - 1, rule),
                        None => rules.push(rule),
                    }
                }
                Op::Delete {
                    table,
                    chain,
                    line,
                    index,
                } => {
                    let rules = state.rules_mut(*table, chain);
                    assert_eq!(rules[*index].line, *line, "-D of the rule at its place");
                    rules.remove(*index);
                }
                Op::DeleteChain { table, chain } => {
                    let chains = state.tables.get_mut(table).unwrap();
                    assert!(
                        chains.remove(chain).unwrap().is_empty(),
                        "-X of a full chain"
                    );
                }
            }
        }
        state
    }

    /// A state as keys only, for comparing saved and generated forms.
    fn keys(state: &Ruleset) -> BTreeMap<(Table, String), Vec<Vec<String>>> {
        let mut out = BTreeMap::new();
        for (table, chains) in &state.tables {
            for (chain, rules) in chains {
                // A table's built-in chains exist, listed or not.
                if table.builtin(chain) && rules.is_empty() {
                    continue;
                }
                let list = rules.iter().map(|r| r.key.clone()).collect();
                out.insert((*table, chain.clone()), list);
            }
        }
        out
    }

    /// The network of the netavark run below: two subnets, a plain TCP
    /// mapping and a UDP range on 127.0.0.1.
    fn sample_ports() -> Vec<PortMapping> {
        vec![
            mapping(None, 38080, 80, 1, Protocol::Tcp),
            mapping(Some("127.0.0.1"), 38090, 90, 3, Protocol::Udp),
        ]
    }

    fn sample<'a>(subnets: &'a [Ipv4Net], ports: &'a [PortMapping]) -> ContainerRules<'a> {
        ContainerRules {
            network_name: "fwexpnet",
            subnets,
            internal: false,
            container_id: "abc123",
            address: "10.251.200.2".parse().unwrap(),
            ports,
        }
    }

    /// What iptables-save printed after netavark 1.4 set up `sample` on
    /// this machine (our rules of it, plus the globals).
    const NETAVARK_SAVED: &str = r#"*filter
:FORWARD ACCEPT [0:0]
:NETAVARK_FORWARD - [0:0]
-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD
-A NETAVARK_FORWARD -d 10.251.200.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A NETAVARK_FORWARD -s 10.251.200.0/24 -j ACCEPT
-A NETAVARK_FORWARD -d 10.251.201.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A NETAVARK_FORWARD -s 10.251.201.0/24 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:NETAVARK-1DEE70E565FCD - [0:0]
:NETAVARK-DN-1DEE70E565FCD - [0:0]
:NETAVARK-HOSTPORT-DNAT - [0:0]
:NETAVARK-HOSTPORT-MASQ - [0:0]
:NETAVARK-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A POSTROUTING -j NETAVARK-HOSTPORT-MASQ
-A POSTROUTING -s 10.251.200.0/24 -j NETAVARK-1DEE70E565FCD
-A POSTROUTING -s 10.251.201.0/24 -j NETAVARK-1DEE70E565FCD
-A NETAVARK-1DEE70E565FCD -d 10.251.200.0/24 -j ACCEPT
-A NETAVARK-1DEE70E565FCD ! -d 224.0.0.0/4 -j MASQUERADE
-A NETAVARK-1DEE70E565FCD -d 10.251.201.0/24 -j ACCEPT
-A NETAVARK-DN-1DEE70E565FCD -s 10.251.200.0/24 -p tcp -m tcp --dport 38080 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1DEE70E565FCD -s 127.0.0.1/32 -p tcp -m tcp --dport 38080 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1DEE70E565FCD -p tcp -m tcp --dport 38080 -j DNAT --to-destination 10.251.200.2:80
-A NETAVARK-DN-1DEE70E565FCD -s 10.251.200.0/24 -d 127.0.0.1/32 -p udp -m udp --dport 38090:38092 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1DEE70E565FCD -s 127.0.0.1/32 -d 127.0.0.1/32 -p udp -m udp --dport 38090:38092 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1DEE70E565FCD -d 127.0.0.1/32 -p udp -m udp --dport 38090:38092 -j DNAT --to-destination 10.251.200.2:90-92/38090
-A NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 38080 -m comment --comment "dnat name: fwexpnet id: abc123" -j NETAVARK-DN-1DEE70E565FCD
-A NETAVARK-HOSTPORT-DNAT -p udp -m udp --dport 38090:38092 -m comment --comment "dnat name: fwexpnet id: abc123" -j NETAVARK-DN-1DEE70E565FCD
-A NETAVARK-HOSTPORT-MASQ -m comment --comment "netavark portfw masq mark" -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000
COMMIT
"#;

    #[test]
    fn hash_is_netavarks() {
        // `printf podman | sha512sum`, and the chain netavark made for fwexpnet.
        assert_eq!(network_hash("podman"), "1D8721804F16F");
        assert_eq!(network_hash("fwexpnet"), "1DEE70E565FCD");
    }

    #[test]
    fn tokenize_respects_quotes_and_escapes() {
        assert_eq!(
            words(r#"-A X -m comment --comment "dnat name: a id: b" -j Y"#),
            [
                "-A",
                "X",
                "-m",
                "comment",
                "--comment",
                "dnat name: a id: b",
                "-j",
                "Y"
            ]
        );
        assert_eq!(
            words(r#"--comment 'a b'  "say \"hi\"""#),
            ["--comment", "a b", r#"say "hi""#]
        );
        assert_eq!(words(r#"--comment """#), ["--comment", ""]);
    }

    #[test]
    fn normalization_makes_written_and_saved_forms_equal() {
        let same = [
            (
                "-s 10.0.0.0/24 -p tcp --dport 80 -j M -d 127.0.0.1",
                "-s 10.0.0.0/24 -d 127.0.0.1/32 -p tcp -m tcp --dport 80 -j M",
            ),
            (
                "-j DNAT -p sctp --to-destination 10.0.0.2:80 --destination-port 8080",
                "-p sctp -m sctp --dport 8080 -j DNAT --to-destination 10.0.0.2:80",
            ),
            (
                "-j X -m comment --comment 'dnat name: n id: c'",
                r#"-m comment --comment "dnat name: n id: c" -j X"#,
            ),
            ("-d 10.0.0.1/24 -j ACCEPT", "-d 10.0.0.0/24 -j ACCEPT"),
            (
                "-j MARK  --set-xmark 0x2000/0x2000",
                "-j MARK --set-xmark 0x2000/0x2000",
            ),
        ];
        for (written, saved) in same {
            assert_eq!(
                normalize(&words(written)),
                normalize(&words(saved)),
                "{written}"
            );
        }
        let different = [
            (
                "! -d 224.0.0.0/4 -j MASQUERADE",
                "-d 224.0.0.0/4 -j MASQUERADE",
            ),
            ("-p udp -m tcp --dport 1 -j X", "-p udp --dport 1 -j X"),
            ("-p tcp --dport 1 -j X", "-p tcp --dport 1 -j X -d 1.2.3.4"),
            (r#"--comment "a b" -j X"#, r#"--comment "a  b" -j X"#),
        ];
        for (a, b) in different {
            assert_ne!(normalize(&words(a)), normalize(&words(b)), "{a}");
        }
    }

    #[test]
    fn generated_rules_are_what_netavark_made() {
        let subnets = [net("10.251.200.0/24"), net("10.251.201.0/24")];
        let ports = sample_ports();
        let wanted = sample(&subnets, &ports).wanted().unwrap();
        let saved = Ruleset::parse(NETAVARK_SAVED);
        let planned = simulate(&Ruleset::default(), &plan_add(&Ruleset::default(), &wanted));
        assert_eq!(keys(&planned), keys(&saved));
        // Every generated rule matches one saved line, none is left over.
        for rule in &wanted.rules {
            let (table, chain, key) = generated(rule);
            assert!(
                saved.has_rule(table, &chain, &key),
                "{} {}",
                rule.chain,
                rule.spec
            );
        }
    }

    #[test]
    fn port_ranges_and_host_ips() {
        let subnets = [net("10.9.0.0/24")];
        let ports = [
            mapping(Some("192.0.2.7"), 5000, 6000, 2, Protocol::Sctp),
            mapping(Some("::1"), 7000, 70, 1, Protocol::Tcp),
        ];
        let rules = ContainerRules {
            network_name: "n",
            subnets: &subnets,
            internal: false,
            container_id: "c1",
            address: "10.9.0.5".parse().unwrap(),
            ports: &ports,
        };
        let specs: Vec<String> = rules
            .port_rules("H")
            .unwrap()
            .iter()
            .map(|r| format!("-A {} {}", r.chain, r.spec))
            .collect();
        assert_eq!(
            specs,
            [
                "-A NETAVARK-DN-H -s 10.9.0.0/24 -d 192.0.2.7 -p sctp --dport 5000:5001 -j NETAVARK-HOSTPORT-SETMARK",
                "-A NETAVARK-DN-H -s 127.0.0.1 -d 192.0.2.7 -p sctp --dport 5000:5001 -j NETAVARK-HOSTPORT-SETMARK",
                "-A NETAVARK-DN-H -d 192.0.2.7 -p sctp --dport 5000:5001 -j DNAT --to-destination 10.9.0.5:6000-6001/5000",
                "-A NETAVARK-HOSTPORT-DNAT -p sctp --dport 5000:5001 -m comment --comment \"dnat name: n id: c1\" -j NETAVARK-DN-H",
            ],
            "the IPv6 mapping is skipped"
        );
        let outside = ContainerRules {
            address: "10.8.0.5".parse().unwrap(),
            ..rules
        };
        assert!(matches!(
            outside.port_rules("H"),
            Err(Error::IpNotInNetwork { .. })
        ));
        assert!(ContainerRules {
            ports: &[],
            ..outside
        }
        .port_rules("H")
        .unwrap()
        .is_empty());
    }

    #[test]
    fn plan_declares_only_missing_chains_and_adds_only_missing_rules() {
        let subnets = [net("10.251.200.0/24"), net("10.251.201.0/24")];
        let ports = sample_ports();
        let wanted = sample(&subnets, &ports).wanted().unwrap();
        let mut state = Ruleset::parse(NETAVARK_SAVED);
        state
            .tables
            .get_mut(&Table::Nat)
            .unwrap()
            .remove("NETAVARK-DN-1DEE70E565FCD");
        let hostport_dnat = state.rules_mut(Table::Nat, HOSTPORT_DNAT);
        hostport_dnat.clear();
        state.rules_mut(Table::Filter, "FORWARD").clear();
        let ops = plan_add(&state, &wanted);
        let text = script(&ops).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "*nat");
        assert_eq!(lines[1], "-N NETAVARK-DN-1DEE70E565FCD");
        assert_eq!(text.matches("-N ").count(), 1, "{text}");
        assert_eq!(text.matches("-A NETAVARK-DN-1DEE70E565FCD ").count(), 6);
        assert_eq!(text.matches("-A NETAVARK-HOSTPORT-DNAT ").count(), 2);
        assert!(text.ends_with(
            "COMMIT\n*filter\n-I FORWARD 1 -m comment --comment \"netavark firewall plugin rules\" -j NETAVARK_FORWARD\nCOMMIT\n"
        ));
        assert_eq!(lines.len(), 1 + 1 + 8 + 1 + 3, "{text}");
        assert_eq!(
            keys(&simulate(&state, &ops)),
            keys(&Ruleset::parse(NETAVARK_SAVED))
        );
    }

    #[test]
    fn nothing_to_do_gives_no_script() {
        assert_eq!(script(&[]), None);
        let subnets = [net("10.251.200.0/24"), net("10.251.201.0/24")];
        let ports = sample_ports();
        let wanted = sample(&subnets, &ports).wanted().unwrap();
        assert_eq!(plan_add(&Ruleset::parse(NETAVARK_SAVED), &wanted), []);
        let unwanted = sample(&subnets, &ports).unwanted(true).unwrap();
        let bare = Ruleset::parse("*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n");
        assert_eq!(plan_remove(&bare, &unwanted), []);
    }

    #[test]
    fn remove_plan_deletes_saved_lines_and_emptied_chains() {
        let subnets = [net("10.251.200.0/24"), net("10.251.201.0/24")];
        let ports = sample_ports();
        let state = Ruleset::parse(NETAVARK_SAVED);
        let container = sample(&subnets, &ports).unwanted(false).unwrap();
        let ops = plan_remove(&state, &container);
        let text = script(&ops).unwrap();
        assert!(text.contains(
            "\n-D NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 38080 -m comment --comment \"dnat name: fwexpnet id: abc123\" -j NETAVARK-DN-1DEE70E565FCD\n"
        ), "the saved text is deleted: {text}");
        assert!(
            text.ends_with("-X NETAVARK-DN-1DEE70E565FCD\nCOMMIT\n"),
            "{text}"
        );
        assert!(!text.contains("*filter"));
        let after = simulate(&state, &ops);
        assert!(after.has_chain(Table::Nat, "NETAVARK-1DEE70E565FCD"));

        // The network: everything but the global chains and jumps.
        let network = sample(&subnets, &[]).unwanted(true).unwrap();
        let gone = simulate(&after, &plan_remove(&after, &network));
        let left = Ruleset::parse(
            r#"*filter
:FORWARD ACCEPT [0:0]
:NETAVARK_FORWARD - [0:0]
-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:NETAVARK-HOSTPORT-DNAT - [0:0]
:NETAVARK-HOSTPORT-MASQ - [0:0]
:NETAVARK-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A POSTROUTING -j NETAVARK-HOSTPORT-MASQ
-A NETAVARK-HOSTPORT-MASQ -m comment --comment "netavark portfw masq mark" -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000
"#,
        );
        assert_eq!(keys(&gone), keys(&left));
    }

    #[test]
    fn chains_with_foreign_rules_or_users_stay() {
        let subnets = [net("10.251.200.0/24")];
        let mut state = Ruleset::parse(NETAVARK_SAVED);
        let foreign = "-A NETAVARK-1DEE70E565FCD -d 10.77.0.0/24 -j ACCEPT";
        state
            .rules_mut(Table::Nat, "NETAVARK-1DEE70E565FCD")
            .push(SavedRule {
                line: foreign.into(),
                key: normalize(&words("-d 10.77.0.0/24 -j ACCEPT")),
            });
        let ops = plan_remove(&state, &sample(&subnets, &[]).unwanted(true).unwrap());
        let text = script(&ops).unwrap();
        assert!(!text.contains("-X NETAVARK-1DEE70E565FCD"), "{text}");
        assert!(
            !text.contains("-X NETAVARK-DN"),
            "DN still has rules: {text}"
        );
        assert!(!text.contains("-F"), "never a flush: {text}");
        assert!(
            !text.contains("FORWARD -m comment"),
            "the global jump stays"
        );

        // An empty chain that a rule still jumps to is kept too.
        let mut state = Ruleset::parse(NETAVARK_SAVED);
        state
            .rules_mut(Table::Nat, "NETAVARK-DN-1DEE70E565FCD")
            .clear();
        let ports = [mapping(None, 1, 1, 1, Protocol::Tcp)];
        let ops = plan_remove(&state, &sample(&subnets, &ports).unwanted(false).unwrap());
        assert_eq!(ops, [], "the HOSTPORT-DNAT jumps of abc123 do not match");
    }

    #[test]
    fn rollback_puts_back_what_was_applied() {
        let subnets = [net("10.251.200.0/24"), net("10.251.201.0/24")];
        let ports = sample_ports();
        let full = Ruleset::parse(NETAVARK_SAVED);
        let unwanted = sample(&subnets, &ports).unwanted(true).unwrap();
        let ops = plan_remove(&full, &unwanted);
        let removed = simulate(&full, &ops);
        let undone = simulate(&removed, &plan_rollback(&removed, &ops));
        assert_eq!(keys(&undone), keys(&full), "same rules in the same order");
        // Nothing applied: nothing to undo.
        assert_eq!(plan_rollback(&full, &ops), []);

        let empty = Ruleset::default();
        let wanted = sample(&subnets, &ports).wanted().unwrap();
        let ops = plan_add(&empty, &wanted);
        let added = simulate(&empty, &ops);
        let undone = simulate(&added, &plan_rollback(&added, &ops));
        assert_eq!(keys(&undone), keys(&empty));
    }

    #[test]
    fn failure_message_names_the_script_line() {
        let script = "*nat\n-N A\n-A A -j B\nCOMMIT\n";
        assert_eq!(
            describe_failure("iptables-restore: line 3 failed: No chain/target/match by that name.", script),
            "iptables-restore: line 3 failed: No chain/target/match by that name. (script line 3: -A A -j B)"
        );
        assert!(describe_failure(
            "Chain 'B' does not exist\nError occurred at line: 4\n",
            script
        )
        .ends_with("(script line 4: COMMIT)"));
        assert!(describe_failure(
            "iptables-restore v1.8.9 (nf_tables): \nline 2: CHAIN_ADD failed",
            script
        )
        .ends_with("(script line 2: -N A)"));
        assert_eq!(describe_failure("odd", script), "odd");
        assert_eq!(describe_failure("line 99 failed", script), "line 99 failed");
    }

    #[test]
    fn internal_networks_get_no_rules() {
        let subnets = [net("10.251.200.0/24")];
        let ports = sample_ports();
        let rules = ContainerRules {
            internal: true,
            // Outside the subnet: would fail if anything were generated.
            address: "192.0.2.1".parse().unwrap(),
            ..sample(&subnets, &ports)
        };
        add(&rules).unwrap();
        remove(&rules, true).unwrap();
    }
}

/// Against the kernel's firewall, as root: each test its own network name,
/// subnets and ports; a guard removes whatever it left, even on failure.
#[cfg(test)]
mod kernel_tests {
    use std::io::Write as _;
    use std::sync::Mutex;

    use super::tests::mapping;
    use super::*;
    use crate::ports::Protocol;

    /// Our save-restore cycles and snapshots must not interleave.
    static SERIAL: Mutex<()> = Mutex::new(());

    struct Fixture {
        name: String,
        hash: String,
        id: String,
        subnets: Vec<Ipv4Net>,
        ports: Vec<PortMapping>,
        /// For the netavark test.
        netns: String,
        bridge: String,
        config: Option<tempfile::TempDir>,
    }

    impl Fixture {
        fn new(subnet_count: u8) -> Fixture {
            assert!(
                rustix::process::geteuid().is_root(),
                "these tests change the kernel's firewall and must run as root"
            );
            let tag = format!("{:08x}", rand::random::<u32>());
            let third = rand::random::<u8>() % 200 + 20;
            let subnets = (0..subnet_count)
                .map(|i| format!("10.251.{}.0/24", third + i).parse().unwrap())
                .collect();
            let port = 40000 + rand::random::<u16>() % 20000;
            let ports = vec![
                mapping(None, port, 80, 1, Protocol::Tcp),
                mapping(Some("127.0.0.1"), port + 1, 90, 3, Protocol::Udp),
                mapping(None, port + 4, 7, 1, Protocol::Sctp),
            ];
            let name = format!("hoistfw{tag}");
            Fixture {
                hash: network_hash(&name),
                name,
                id: format!("c0ffee{tag}"),
                subnets,
                ports,
                netns: format!("hoistfw{tag}"),
                bridge: format!("hfw{tag}"),
                config: None,
            }
        }

        fn rules(&self) -> ContainerRules<'_> {
            ContainerRules {
                network_name: &self.name,
                subnets: &self.subnets,
                internal: false,
                container_id: &self.id,
                address: self.address(0),
                ports: &self.ports,
            }
        }

        fn address(&self, subnet: usize) -> Ipv4Addr {
            let base = u32::from(self.subnets[subnet].network());
            Ipv4Addr::from(base + 2)
        }

        /// Every rule and chain of this test, table by table, chains
        /// sorted, rules in order, as keys.
        fn snapshot(&self) -> Vec<String> {
            let state = save("test").unwrap();
            let mut out = Vec::new();
            for (table, chains) in &state.tables {
                for (chain, rules) in chains {
                    if chain.contains(&self.hash) {
                        out.push(format!("{} chain {chain}", table.name()));
                    }
                    for rule in rules.iter().filter(|r| self.mine(chain, &r.line)) {
                        out.push(format!("{} {chain} {}", table.name(), rule.key.join(" ")));
                    }
                }
            }
            out
        }

        fn mine(&self, chain: &str, line: &str) -> bool {
            chain.contains(&self.hash)
                || line.contains(&self.hash)
                || line.contains(&self.id)
                || self.subnets.iter().any(|s| line.contains(&s.to_string()))
        }

        fn count(&self, table: Table, chain: &str, spec: &str) -> usize {
            let key = normalize(&tokenize(spec));
            let state = save("test").unwrap();
            state
                .chain(table, chain)
                .map_or(0, |rules| rules.iter().filter(|r| r.key == key).count())
        }

        fn netavark(&self, command: &str, ports: bool) {
            let config = self.config.as_ref().expect("netavark config dir");
            let binary = crate::netavark::find_netavark().expect("netavark installed");
            let mut child = Command::new(binary)
                .args(["--config"])
                .arg(config.path())
                .args(["--rootless", "false", command])
                .arg(format!("/run/netns/{}", self.netns))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let input = self.netavark_json(ports);
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "netavark {command}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        fn netavark_json(&self, ports: bool) -> String {
            let subnets: Vec<_> = self
                .subnets
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let gateway = Ipv4Addr::from(u32::from(self.address(i)) - 1);
                    serde_json::json!({"subnet": s.to_string(), "gateway": gateway.to_string()})
                })
                .collect();
            let ips: Vec<String> = (0..self.subnets.len())
                .map(|i| self.address(i).to_string())
                .collect();
            let mut request = serde_json::json!({
                "container_id": self.id,
                "container_name": "fwtest",
                "networks": {&self.name: {"aliases": [], "interface_name": "eth0", "static_ips": ips}},
                "network_info": {&self.name: {
                    "name": self.name,
                    "id": "0123456789abcdef".repeat(4),
                    "driver": "bridge",
                    "network_interface": self.bridge,
                    "created": "2024-01-01T00:00:00Z",
                    "subnets": subnets,
                    "ipv6_enabled": false,
                    "internal": false,
                    "dns_enabled": false,
                    "ipam_options": {"driver": "host-local"},
                }},
            });
            if ports {
                request["port_mappings"] = serde_json::to_value(&self.ports).unwrap();
            }
            request.to_string()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            // Whatever a failed test left: our rules in shared chains, then
            // our own chains (flushing is fine here: they are the test's).
            let Ok(state) = save("cleanup") else { return };
            let mut text = String::new();
            for (table, chains) in &state.tables {
                text.push_str(&format!("*{}\n", table.name()));
                for (chain, rules) in chains.iter().filter(|(c, _)| !c.contains(&self.hash)) {
                    for rule in rules.iter().filter(|r| self.mine(chain, &r.line)) {
                        text.push_str(&format!("-D {}\n", &rule.line[3..]));
                    }
                }
                let ours: Vec<&String> = chains.keys().filter(|c| c.contains(&self.hash)).collect();
                for chain in &ours {
                    text.push_str(&format!("-F {chain}\n"));
                }
                for chain in &ours {
                    text.push_str(&format!("-X {chain}\n"));
                }
                text.push_str("COMMIT\n");
            }
            let _ = restore(&text);
            if self.config.is_some() {
                let _ = Command::new("ip")
                    .args(["netns", "del", &self.netns])
                    .output();
                let _ = Command::new("ip")
                    .args(["link", "del", &self.bridge])
                    .output();
            }
        }
    }

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[test]
    fn add_is_idempotent_and_remove_cleans_up() {
        let _serial = serial();
        let f = Fixture::new(1);
        let hash = &f.hash;
        let subnet = f.subnets[0];
        add(&f.rules()).unwrap();
        let first = f.snapshot();
        let expected_chains = [
            format!("nat chain NETAVARK-{hash}"),
            format!("nat chain NETAVARK-DN-{hash}"),
        ];
        for chain in &expected_chains {
            assert!(first.contains(chain), "{chain} missing: {first:#?}");
        }
        // 2 in NETAVARK-H, 1 in POSTROUTING, 2 in NETAVARK_FORWARD, 3 x 4 port rules.
        assert_eq!(first.len(), 2 + 2 + 1 + 2 + 12, "{first:#?}");
        for rule in f.rules().wanted().unwrap().rules {
            assert_eq!(f.count(rule.table, &rule.chain, &rule.spec), 1, "{rule:?}");
        }

        add(&f.rules()).unwrap();
        assert_eq!(f.snapshot(), first, "a second add adds nothing");
        let wanted = f.rules().wanted().unwrap();
        assert_eq!(plan_add(&save("test").unwrap(), &wanted), []);

        // A second container with its own port on the same network.
        let other_ports = [mapping(
            None,
            f.ports[0].host_port + 10,
            80,
            1,
            Protocol::Tcp,
        )];
        let other_id = format!("{}b", f.id);
        let other = ContainerRules {
            container_id: &other_id,
            address: Ipv4Addr::from(u32::from(f.address(0)) + 1),
            ports: &other_ports,
            ..f.rules()
        };
        add(&other).unwrap();
        remove(&f.rules(), false).unwrap();
        let left = f.snapshot();
        assert_eq!(left.len(), 2 + 2 + 1 + 2 + 4, "{left:#?}");
        assert!(!left.iter().any(
            |l| l.contains(&format!("id: {} ", f.id)) || l.ends_with(&format!("id: {}", f.id))
        ));

        remove(&other, false).unwrap();
        let network_only = f.snapshot();
        assert_eq!(
            network_only,
            [
                format!("nat chain NETAVARK-{hash}"),
                format!("nat NETAVARK-{hash} -d {subnet} -j ACCEPT"),
                format!("nat NETAVARK-{hash} ! -d 224.0.0.0/4 -j MASQUERADE"),
                format!("nat POSTROUTING -j NETAVARK-{hash} -s {subnet}"),
                format!("filter NETAVARK_FORWARD --ctstate RELATED,ESTABLISHED -d {subnet} -j ACCEPT -m conntrack"),
                format!("filter NETAVARK_FORWARD -j ACCEPT -s {subnet}"),
            ],
            "the empty DN chain is gone, the network's rules stay"
        );

        remove(&f.rules(), true).unwrap();
        assert_eq!(f.snapshot(), Vec::<String>::new());
        remove(&f.rules(), true).unwrap();
        // The globals stay for every network.
        for (table, chain, spec) in [
            (
                Table::Filter,
                "FORWARD",
                "-m comment --comment \"netavark firewall plugin rules\" -j NETAVARK_FORWARD",
            ),
            (Table::Nat, "POSTROUTING", "-j NETAVARK-HOSTPORT-MASQ"),
            (
                Table::Nat,
                "PREROUTING",
                "-m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT",
            ),
            (
                Table::Nat,
                HOSTPORT_SETMARK,
                "-j MARK --set-xmark 0x2000/0x2000",
            ),
        ] {
            assert!(f.count(table, chain, spec) >= 1, "{chain} {spec}");
        }
    }

    #[test]
    fn network_chain_with_foreign_rules_stays() {
        let _serial = serial();
        let f = Fixture::new(1);
        add(&f.rules()).unwrap();
        // podman's netavark with a same-named network of another subnet.
        let chain = format!("NETAVARK-{}", f.hash);
        let foreign = format!(
            "-A {chain} -d 10.251.250.0/24 -j RETURN -m comment --comment {}",
            f.id
        );
        restore(&format!("*nat\n{foreign}\nCOMMIT\n")).unwrap();
        remove(&f.rules(), true).unwrap();
        assert_eq!(
            f.snapshot(),
            [
                format!("nat chain {chain}"),
                format!(
                    "nat {chain} --comment {} -d 10.251.250.0/24 -j RETURN -m comment",
                    f.id
                ),
            ]
        );
    }

    #[test]
    fn a_failed_restore_leaves_nothing_applied() {
        let _serial = serial();
        let f = Fixture::new(1);
        let chain = format!("NETAVARK-{}", f.hash);
        // *nat commits, then *filter fails on a chain that does not exist.
        let ops = vec![
            Op::NewChain {
                table: Table::Nat,
                chain: chain.clone(),
            },
            Op::Add {
                table: Table::Nat,
                chain: chain.clone(),
                spec: "-j ACCEPT".into(),
                position: None,
            },
            Op::Add {
                table: Table::Filter,
                chain: format!("NETAVARK-MISSING-{}", f.hash),
                spec: "-j ACCEPT".into(),
                position: None,
            },
        ];
        let err = apply("testing", |_| ops.clone()).unwrap_err();
        let Error::Firewall { action, message } = &err else {
            panic!("{err}")
        };
        assert_eq!(action, "testing");
        assert!(message.contains("NETAVARK-MISSING"), "{message}");
        assert_eq!(
            f.snapshot(),
            Vec::<String>::new(),
            "the committed *nat was undone"
        );
    }

    /// netavark and hoist make the same rules, and each removes the other's.
    #[test]
    fn same_layout_as_netavark_and_interchangeable() {
        let _serial = serial();
        let mut f = Fixture::new(2);
        f.config = Some(tempfile::tempdir().unwrap());
        let out = Command::new("ip")
            .args(["netns", "add", &f.netns])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        f.netavark("setup", true);
        let theirs = f.snapshot();
        assert!(theirs.len() > 10, "{theirs:#?}");
        let wanted = f.rules().wanted().unwrap();
        assert_eq!(
            plan_add(&save("test").unwrap(), &wanted),
            [],
            "hoist finds nothing missing"
        );

        // hoist replaces all of them; netavark tears hoist's down.
        remove(&f.rules(), false).unwrap();
        assert!(f.snapshot().len() < theirs.len());
        remove(&f.rules(), true).unwrap();
        assert_eq!(f.snapshot(), Vec::<String>::new());
        add(&f.rules()).unwrap();
        assert_eq!(f.snapshot(), theirs);
        f.netavark("teardown", true);
        assert_eq!(f.snapshot(), Vec::<String>::new());

        // hoist alone: exactly netavark's rules, in netavark's order.
        add(&f.rules()).unwrap();
        assert_eq!(f.snapshot(), theirs);
        remove(&f.rules(), true).unwrap();
        assert_eq!(f.snapshot(), Vec::<String>::new());

        // Without ports, netavark still ensures the port-forwarding globals.
        f.netavark("setup", false);
        let no_ports = ContainerRules {
            ports: &[],
            ..f.rules()
        };
        assert_eq!(
            plan_add(&save("test").unwrap(), &no_ports.wanted().unwrap()),
            []
        );
        f.netavark("teardown", false);

        // hoist removes what netavark set up.
        f.netavark("setup", true);
        remove(&f.rules(), true).unwrap();
        assert_eq!(f.snapshot(), Vec::<String>::new());
    }
}

//! The policy itself: a CIL block named after the policy that inherits
//! udica's `container` template (and the others the container needs), in
//! udica's layout line for line, so that its output and hoist's compare
//! equal; plus the templates to load with it and the messages udica prints.

use std::fmt::Write as _;

use crate::avc::AvcRule;
use crate::error::{Result, SelinuxError};
use crate::facts::{ContainerFacts, MountFact};
use crate::perms;
use crate::store::Labels;

/// Where udica installs its templates (the `semodule -i` line names them
/// there).
pub const TEMPLATES_DIR: &str = "/usr/share/udica/templates";

/// udica's choices beyond the container's own facts.
#[derive(Debug, Clone, Default)]
pub struct PolicyOptions {
    /// The policy's name: the CIL block, `NAME.process` its domain.
    pub name: String,
    /// Any network access (`--full-network-access`).
    pub full_network: bool,
    /// The controlling terminal (`--tty-access`).
    pub tty: bool,
    /// The X server (`--X-access`).
    pub x: bool,
    /// libvirt (`--virt-access`).
    pub virt: bool,
    /// Stream connections to this policy's domain (`--stream-connect`).
    pub stream_connect: Option<String>,
    /// Capabilities named instead of the container's (`--caps`; `None`
    /// for none at all).
    pub caps: Option<String>,
    /// Rules from an audit log (`--append-rules`).
    pub append_rules: Vec<AvcRule>,
}

/// A policy made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub name: String,
    /// The CIL, as udica writes it to `NAME.cil` (no final newline).
    pub cil: String,
    /// The templates the policy inherits from, in order, repeats kept
    /// (udica lists them so).
    pub templates: Vec<&'static str>,
    /// Audit rules left out: their process type is another policy's.
    pub skipped_rules: Vec<String>,
}

/// Writes the policy for `facts`, asking `labels` for host types.
pub fn generate(
    facts: &ContainerFacts,
    opts: &PolicyOptions,
    labels: &dyn Labels,
) -> Result<Generated> {
    let mut w = Writer {
        cil: format!("(block {}\n", opts.name),
        templates: vec!["base_container"],
    };
    w.line("(blockinherit container)");
    if opts.full_network {
        w.inherit("net_container", "net_container");
    }
    if opts.virt {
        w.inherit("virt_container", "virt_container");
    }
    if opts.x {
        w.inherit("x_container", "x_container");
    }
    if opts.tty {
        w.inherit("tty_container", "tty_container");
    }
    if !facts.ports.is_empty() {
        w.inherit("restricted_net_container", "net_container");
    }
    if let Some(domain) = &opts.stream_connect {
        w.rule(&format!(
            "(allow process {domain}.process ( unix_stream_socket ( connectto )))"
        ));
        w.rule(&format!(
            "(allow process {domain}.socket ( sock_file ( getattr write open append )))"
        ));
    }
    capabilities(&mut w, &caps(facts, opts))?;
    for p in &facts.ports {
        let class =
            perms::socket_class(&p.protocol).ok_or_else(|| SelinuxError::UnknownProtocol {
                port: p.host_port.to_string(),
                protocol: p.protocol.clone(),
            })?;
        let t = labels.port_type(p.host_port, &p.protocol)?;
        w.rule(&format!("(allow process {t} ( {class} (  name_bind )))"));
    }
    for m in &facts.mounts {
        mount(&mut w, m, labels)?;
    }
    let mut skipped_rules = Vec::new();
    for r in &opts.append_rules {
        if r.source().contains(opts.name.as_str()) {
            w.rule(&format!(
                "(allow process {} ( {} ( {} )))",
                r.target(),
                r.class(),
                r.perms()
            ));
        } else {
            skipped_rules.push(r.source().to_string());
        }
    }
    w.cil.push(')');
    Ok(Generated {
        name: opts.name.clone(),
        cil: w.cil,
        templates: w.templates,
        skipped_rules,
    })
}

/// The capabilities the policy names: `--caps` (`None` for none) or the
/// container's.
fn caps(facts: &ContainerFacts, opts: &PolicyOptions) -> Vec<String> {
    match opts.caps.as_deref() {
        Some("None") => Vec::new(),
        Some(list) => list.split(',').map(str::to_string).collect(),
        None => facts.caps.clone(),
    }
}

fn capabilities(w: &mut Writer, caps: &[String]) -> Result<()> {
    if caps.is_empty() {
        return Ok(());
    }
    let mut list = String::new();
    for c in caps {
        // `CAP_` anywhere in the name means it carries the prefix.
        let bare = if c.contains("CAP_") {
            c.get(4..).unwrap_or("")
        } else {
            c
        };
        let perm =
            perms::capability(bare).ok_or_else(|| SelinuxError::UnknownCapability(c.clone()))?;
        list.push_str(&perm);
        list.push(' ');
    }
    w.rule(&format!("(allow process process ( capability ( {list})))"));
    w.cil.push('\n');
    Ok(())
}

/// The directories udica gives templates of their own, by read-only and
/// read-write block.
const TEMPLATE_DIRS: &[(&str, &str, &str, &str)] = &[
    (
        "/var/log",
        "log_container",
        "log_rw_container",
        "log_container",
    ),
    (
        "/home",
        "home_container",
        "home_rw_container",
        "home_container",
    ),
    ("/tmp", "tmp_container", "tmp_rw_container", "tmp_container"),
    (
        "/etc",
        "config_container",
        "config_rw_container",
        "config_container",
    ),
];

fn mount(w: &mut Writer, m: &MountFact, labels: &dyn Labels) -> Result<()> {
    // Only host paths: tmpfs, images and the like have nothing to label.
    if !m.source.starts_with('/') {
        return Ok(());
    }
    if let Some(rw) = m.rw {
        if let Some((_, ro_block, rw_block, file)) =
            TEMPLATE_DIRS.iter().find(|(dir, ..)| *dir == m.source)
        {
            w.inherit(if rw { rw_block } else { ro_block }, file);
            return Ok(());
        }
    }
    for t in labels.path_types(&m.source)? {
        let sets = match m.rw {
            Some(true) => [perms::DIR_RW, perms::FILE_RW, perms::SOCK_RW],
            Some(false) => [perms::DIR_RO, perms::FILE_RO, perms::SOCK_RO],
            None => continue,
        };
        for (class, set) in ["dir", "file", "sock_file"].iter().zip(sets) {
            w.rule(&format!("(allow process {t} ( {class} ( {set} )))"));
        }
    }
    Ok(())
}

struct Writer {
    cil: String,
    templates: Vec<&'static str>,
}

impl Writer {
    fn line(&mut self, s: &str) {
        let _ = writeln!(self.cil, "    {s}");
    }
    /// A rule line: udica ends them with a space.
    fn rule(&mut self, s: &str) {
        let _ = writeln!(self.cil, "    {s} ");
    }
    fn inherit(&mut self, block: &str, template: &'static str) {
        self.line(&format!("(blockinherit {block})"));
        self.templates.push(template);
    }
}

impl Generated {
    /// The `semodule` command that loads the policy and its templates.
    pub fn semodule_command(&self) -> String {
        let files: Vec<String> = self.templates.iter().map(|t| format!("{t}.cil")).collect();
        let templates = if files.len() > 1 {
            format!("{TEMPLATES_DIR}/{{{}}}", files.join(","))
        } else {
            format!("{TEMPLATES_DIR}/{}", files.join(","))
        };
        format!("semodule -i {}.cil {templates}", self.name)
    }

    /// The `--security-opt` a container runs under the policy with.
    pub fn security_opt(&self) -> String {
        format!("label=type:{}.process", self.name)
    }

    /// What udica prints on making the policy, word for word.
    pub fn messages(&self) -> String {
        let mut out = String::new();
        for source in &self.skipped_rules {
            let _ = writeln!(
                out,
                "WARNING: process type: {source} seems to be unrelated to this container policy. Skipping allow rule."
            );
        }
        let _ = writeln!(out, "\nPolicy {} created!", self.name);
        let _ = writeln!(
            out,
            "\nPlease load these modules using: \n# {}",
            self.semodule_command()
        );
        let _ = writeln!(
            out,
            "\nRestart the container with: \"--security-opt {}\" parameter",
            self.security_opt()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Engine, PortFact};

    struct Fixed;
    impl Labels for Fixed {
        fn port_type(&self, port: u32, _: &str) -> Result<String> {
            Ok(if port == 53 {
                "dns_port_t"
            } else {
                "unreserved_port_t"
            }
            .into())
        }
        fn path_types(&self, dir: &str) -> Result<Vec<String>> {
            Ok(vec![if dir.starts_with("/usr") {
                "usr_t"
            } else {
                "var_t"
            }
            .into()])
        }
    }

    fn facts() -> ContainerFacts {
        ContainerFacts {
            engine: Engine::Podman,
            mounts: vec![
                MountFact {
                    source: "/srv/data".into(),
                    rw: Some(true),
                },
                MountFact {
                    source: "/usr/share".into(),
                    rw: Some(false),
                },
                MountFact {
                    source: "/var/log".into(),
                    rw: Some(true),
                },
                MountFact {
                    source: "tmpfs".into(),
                    rw: Some(true),
                },
            ],
            ports: vec![PortFact {
                host_port: 53,
                protocol: "udp".into(),
            }],
            caps: vec!["CAP_CHOWN".into(), "CAP_NET_ADMIN".into()],
        }
    }

    #[test]
    fn writes_udicas_layout() {
        let opts = PolicyOptions {
            name: "web".into(),
            ..Default::default()
        };
        let g = generate(&facts(), &opts, &Fixed).unwrap();
        let want = "(block web
    (blockinherit container)
    (blockinherit restricted_net_container)
    (allow process process ( capability ( chown net_admin ))) 

    (allow process dns_port_t ( udp_socket (  name_bind ))) 
    (allow process var_t ( dir ( add_name create getattr ioctl lock open read remove_name rmdir search setattr write ))) 
    (allow process var_t ( file ( append create getattr ioctl lock map open read rename setattr unlink write ))) 
    (allow process var_t ( sock_file ( append getattr open read write ))) 
    (allow process usr_t ( dir ( getattr ioctl lock open read search ))) 
    (allow process usr_t ( file ( getattr ioctl lock open read ))) 
    (allow process usr_t ( sock_file ( getattr open read ))) 
    (blockinherit log_rw_container)
)";
        assert_eq!(g.cil, want);
        assert_eq!(
            g.templates,
            ["base_container", "net_container", "log_container"]
        );
        assert_eq!(
            g.semodule_command(),
            "semodule -i web.cil /usr/share/udica/templates/{base_container.cil,net_container.cil,log_container.cil}"
        );
        assert!(g.messages().ends_with(
            "\nRestart the container with: \"--security-opt label=type:web.process\" parameter\n"
        ));
    }

    #[test]
    fn caps_can_be_named_or_left_out() {
        let mut opts = PolicyOptions {
            name: "w".into(),
            caps: Some("None".into()),
            ..Default::default()
        };
        let g = generate(
            &ContainerFacts {
                ports: vec![],
                mounts: vec![],
                ..facts()
            },
            &opts,
            &Fixed,
        )
        .unwrap();
        assert_eq!(g.cil, "(block w\n    (blockinherit container)\n)");
        assert_eq!(
            g.semodule_command(),
            "semodule -i w.cil /usr/share/udica/templates/base_container.cil"
        );
        opts.caps = Some("PERFMON".into());
        let err = generate(&facts(), &opts, &Fixed).unwrap_err();
        assert!(matches!(err, SelinuxError::UnknownCapability(_)), "{err}");
    }

    #[test]
    fn audit_rules_of_other_domains_are_skipped() {
        let rules = crate::avc::parse_avc(
            "type=AVC msg=a: avc: denied { read } for scontext=u:r:web.process:s0 tcontext=u:r:etc_t:s0 tclass=file\n\
             type=AVC msg=a: avc: denied { read } for scontext=u:r:other_t:s0 tcontext=u:r:etc_t:s0 tclass=file",
        )
        .unwrap();
        let opts = PolicyOptions {
            name: "web".into(),
            caps: Some("None".into()),
            append_rules: rules,
            ..Default::default()
        };
        let g = generate(
            &ContainerFacts {
                ports: vec![],
                mounts: vec![],
                ..facts()
            },
            &opts,
            &Fixed,
        )
        .unwrap();
        assert!(
            g.cil
                .contains("    (allow process etc_t ( file ( read ))) \n)"),
            "{}",
            g.cil
        );
        assert_eq!(g.skipped_rules, ["other_t"]);
        assert!(g
            .messages()
            .starts_with("WARNING: process type: other_t seems"));
    }
}

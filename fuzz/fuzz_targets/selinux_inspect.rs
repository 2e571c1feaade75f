//! `generate selinux` reads inspect JSON (hoist's, or podman's handed over
//! by a user) and audit logs (`--append-rules`): both readers must fail
//! cleanly on any bytes, and whatever they accept must make a policy
//! (with fixed host labels) that is one CIL block.
#![no_main]

use hoist_selinux::{ContainerFacts, Labels, PolicyOptions};

struct Fixed;

impl Labels for Fixed {
    fn port_type(&self, _: u32, _: &str) -> hoist_selinux::Result<String> {
        Ok("port_t".into())
    }
    fn path_types(&self, _: &str) -> hoist_selinux::Result<Vec<String>> {
        Ok(vec!["file_t".into()])
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let append_rules = hoist_selinux::parse_avc(text).unwrap_or_default();
    let Ok(facts) = ContainerFacts::from_inspect_json(text) else {
        return;
    };
    let opts = PolicyOptions {
        name: "fuzz".into(),
        append_rules,
        ..Default::default()
    };
    if let Ok(policy) = hoist_selinux::generate(&facts, &opts, &Fixed) {
        assert!(policy.cil.starts_with("(block fuzz\n"), "{}", policy.cil);
        assert!(policy.cil.ends_with(')'), "{}", policy.cil);
        assert!(policy.messages().contains("semodule -i fuzz.cil"));
    }
});

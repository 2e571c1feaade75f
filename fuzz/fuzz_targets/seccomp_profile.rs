//! Recording requests (the io.containers.trace-syscall annotation) and
//! seccomp profiles a user hands to `--seccomp-record`'s `if:` and to
//! `seccomp diff`: parsing, merging and comparing never panic.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(r) = hoist_trace::RecordRequest::parse(text) {
            let again = hoist_trace::RecordRequest::parse(&r.to_annotation());
            assert_eq!(again.ok(), Some(r));
        }
    }
    let Ok(profile) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let names: BTreeSet<String> = ["read", "write"].iter().map(|s| s.to_string()).collect();
    let allowed = hoist_trace::profile::allowed(&profile);
    if let Ok(merged) = hoist_trace::profile::merge(profile.clone(), &names) {
        let after = hoist_trace::profile::allowed(&merged);
        assert!(after.is_superset(&names) && after.is_superset(&allowed));
    }
    let _ = hoist_trace::profile::diff(&profile, &profile);
});

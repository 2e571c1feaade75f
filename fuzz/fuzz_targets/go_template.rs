//! `--format` templates come straight from users: parsing and executing any
//! string must fail cleanly, never panic, hang or exhaust memory.
#![no_main]

use std::collections::HashMap;

use hoist_template::{Limits, Template};
use serde_json::json;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let row = json!({
        "ID": "0123456789abcdef",
        "Names": ["web", "db"],
        "Labels": {"a": "1", "b": "2"},
        "Mounts": [{"Source": "/s", "Destination": "/d"}],
        "State": {"Running": true, "Pid": 42, "Ratio": 0.5},
        "Empty": [],
        "Nil": null
    });
    let limits = Limits {
        max_output: 1 << 20,
        max_steps: 100_000,
        max_depth: 100,
    };
    for t in [Template::parse(src), Template::parse_go(src)]
        .into_iter()
        .flatten()
    {
        let t = t.with_limits(limits);
        if let Ok(out) = t.execute(&row) {
            assert!(out.len() <= limits.max_output);
        }
        let _ = t.header(&HashMap::from([("ID", "container id")]));
    }
});

//! `WWW-Authenticate` challenges and token answers come from registries and
//! their token servers: parsing them and building the token URL must fail
//! cleanly, never panic.
#![no_main]
use std::time::Instant;

use hoist_registry::auth::challenge::parse_challenges;
use hoist_registry::auth::token::{parse_token_response, token_url};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(header) = std::str::from_utf8(data) {
        for c in parse_challenges(header) {
            for name in c.params.keys() {
                assert_eq!(
                    name,
                    &name.to_ascii_lowercase(),
                    "parameter names are lower-cased"
                );
            }
            let _ = token_url(&c, &["repository:a/b:pull".to_string()]);
        }
    }
    if let Ok(t) = parse_token_response(data, Instant::now()) {
        assert!(!t.value.is_empty());
    }
});

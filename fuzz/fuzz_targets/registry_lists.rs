//! A registry's tag lists and catalogs: the page body (JSON) and the
//! `Link` header that points at the next page. Neither may panic, and a
//! next link, when found, comes from inside the header.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for key in ["tags", "repositories"] {
        let _ = hoist_registry::parse_page(data, key);
    }
    if let Ok(header) = std::str::from_utf8(data) {
        if let Some(next) = hoist_registry::next_link(header) {
            assert!(header.contains(next.as_str()));
        }
    }
});

//! Image references come from users and registries.conf aliases.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(r) = hoist_image::Reference::parse(s) {
            // A normalized reference must parse back to itself.
            let again = hoist_image::Reference::parse(&r.to_string()).expect("round trip");
            assert_eq!(again, r);
        }
    }
});

//! Manifests and indexes come from registries and archives: parsing and
//! platform selection must never panic, whatever the bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hoist_image::manifest::fuzz_parse(data);
});

//! docker-archive manifest.json files come from untrusted archives.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hoist_archive::fuzz_docker_manifest(data);
});

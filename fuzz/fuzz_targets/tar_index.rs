//! oci-archive: and docker-archive: files are indexed member by member
//! (names, links, offsets) before anything is read from them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hoist_archive::fuzz_tar_index(data);
});

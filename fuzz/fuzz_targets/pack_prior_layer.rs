//! `hoist pack --prior` reads every layer of the prior image (which may
//! have been pulled from anywhere) to compare it with the tree.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = hoist_pack::carry::read_layer(data);
});

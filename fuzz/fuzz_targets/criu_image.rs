//! CRIU's image files come from checkpoint archives (`restore --import`):
//! the stats and core images hoist reads must take any bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = hoist_checkpoint::CriuStats::parse(data);
    let _ = hoist_checkpoint::parse_core_machine(data);
});

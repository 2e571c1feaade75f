//! A lazily read file that looks like ELF is parsed for the libraries it
//! loads: any bytes must give an answer or nothing, never a panic or a
//! runaway allocation.
#![no_main]
use hoist_lazy::needed::elf_needs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = elf_needs(data);
    // The same bytes behind a well-formed ELF64 identification, so that the
    // fuzzer spends its time on the headers and tables past the magic.
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    elf.extend_from_slice(data);
    if let Some(needs) = elf_needs(&elf) {
        let _ = needs.candidates("/usr/bin");
    }
});

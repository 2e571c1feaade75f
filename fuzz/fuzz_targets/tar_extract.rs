//! Layer tars are hostile input: extraction must never panic and never
//! write outside the destination directory.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("layer");
    std::fs::create_dir(&dest).expect("mkdir");
    let _ = hoist_store::extract_tar(data, &dest);
    // Nothing may appear beside the destination.
    let siblings: Vec<_> = std::fs::read_dir(dir.path()).expect("readdir").collect();
    assert_eq!(siblings.len(), 1, "extraction wrote outside its directory");
});

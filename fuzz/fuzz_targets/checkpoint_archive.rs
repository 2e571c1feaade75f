//! `restore --import` archives are hostile input: importing one (the store's
//! extraction up to the page images, then hoist's own writing of those)
//! must never panic and never write outside the destination directory.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive.tar");
    std::fs::write(&archive, data).expect("write");
    let dest = dir.path().join("import");
    std::fs::create_dir(&dest).expect("mkdir");
    let _ = hoist_checkpoint::import(&archive, &dest);
    let mut beside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("readdir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    beside.sort();
    assert_eq!(
        beside,
        ["archive.tar", "import"],
        "the import wrote outside its directory"
    );
});

//! An eStargz TOC is JSON from the registry: validating it (names, kinds,
//! chunk offsets against the blob) must fail cleanly, and a TOC that
//! validated must validate again from what it kept.
#![no_main]
use hoist_lazy::estargz::EstargzBlob;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Two bytes choose the blob geometry; the rest is the TOC JSON.
    if data.len() < 2 {
        return;
    }
    let toc_offset = u64::from(data[0]) * 64;
    let blob_size = toc_offset + u64::from(data[1]) + 1;
    let Ok(opened) = EstargzBlob::from_parts(&data[2..], toc_offset, blob_size) else {
        return;
    };
    for chunks in opened.chunks().values() {
        for c in chunks {
            assert!(c.blob_range.start < c.blob_range.end);
            assert!(c.blob_range.end <= toc_offset);
        }
    }
    let again = EstargzBlob::from_parts(opened.toc_json(), opened.toc_offset(), opened.blob_size())
        .expect("a validated TOC validates again");
    assert_eq!(again.chunks(), opened.chunks());
});

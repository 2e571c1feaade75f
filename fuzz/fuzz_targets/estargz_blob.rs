//! eStargz blobs come from registries: footer, TOC and chunks are untrusted.
//! Opening must fail cleanly or give chunks that read back (or fail) without
//! panics, and a TOC that opened must reopen from its parts.
#![no_main]
use hoist_lazy::estargz::{read_chunk, EstargzBlob};
use hoist_lazy::source::RangeSource;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let blob = data.to_vec();
    let Ok(opened) = EstargzBlob::open(&blob, None) else {
        return;
    };
    for chunks in opened.chunks().values() {
        for c in chunks {
            assert!(c.blob_range.start < c.blob_range.end);
            assert!(c.blob_range.end <= opened.toc_offset());
            let member = blob
                .read_range(c.blob_range.clone())
                .expect("validated ranges lie inside the blob");
            if let Ok(bytes) = read_chunk(&member, c) {
                assert_eq!(bytes.len() as u64, c.len);
            }
        }
    }
    let again = EstargzBlob::from_parts(opened.toc_json(), opened.toc_offset(), opened.blob_size())
        .expect("a TOC that opened reopens");
    assert_eq!(again.chunks(), opened.chunks());
});

//! Layers handed to `image convert` can be anything. Converting must fail
//! cleanly or produce a blob that opens with the TOC digest it reported and
//! whose every chunk reads back verified.
#![no_main]
use hoist_image::Digest;
use hoist_lazy::estargz::{convert, read_chunk, ConvertOptions, EstargzBlob};
use hoist_lazy::source::RangeSource;
use std::io::Read;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let opts = ConvertOptions {
        chunk_size: 64,
        prioritized: vec!["a".into(), "b/c".into()],
        compression_level: 1,
        spool_dir: None,
    };
    let mut blob = Vec::new();
    let Ok(c) = convert(data, &mut blob, &opts) else {
        return;
    };
    assert_eq!(c.blob_size, blob.len() as u64);
    let opened = EstargzBlob::open(&blob, Some(&c.toc_digest)).expect("a converted blob opens");
    for chunks in opened.chunks().values() {
        for ch in chunks {
            let member = blob.read_range(ch.blob_range.clone()).unwrap();
            read_chunk(&member, ch).expect("a converted chunk reads back");
        }
    }
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(&blob[..])
        .read_to_end(&mut tar)
        .expect("a converted blob is a tar.gz");
    assert_eq!(Digest::sha256_of(&tar), c.diff_id);
    assert_eq!(tar.len() as u64, c.uncompressed_size);
});

//! Writes the seed inputs of the eStargz and tar fuzz targets into
//! `fuzz/seeds/TARGET/` (run from the repository root):
//!
//! ```sh
//! cargo run -p hoist-lazy --example fuzz_seeds -- fuzz/seeds
//! ```
//!
//! A fuzzer starting from nothing rarely builds a valid gzip member, let
//! alone a tar inside one with a JSON TOC and a footer pointing at it, so
//! its short runs in CI would test little past the footer check. These seeds
//! are blobs made by hoist's own writer: small ones, one with prioritized
//! files, and one whose TOC is longer than the reader's first request.

use std::path::Path;

use hoist_lazy::estargz::{convert, ConvertOptions};

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/seeds".into());
    let out = Path::new(&out);
    let small = small_layer();
    let many = many_files_layer(1200);
    write(out, "tar_extract", "small.tar", &small);
    write(out, "estargz_convert", "small.tar", &small);
    write(out, "pack_prior_layer", "small.tar", &small);
    let plain = to_estargz(&small, &[]);
    let prioritized = to_estargz(&small, &["etc/hostname", "bin/tool"]);
    let long_toc = to_estargz(&many, &[]);
    write(out, "estargz_blob", "small", &plain);
    write(out, "estargz_blob", "prioritized", &prioritized);
    write(out, "estargz_blob", "long-toc", &long_toc);
    for (name, blob) in [("small", &plain), ("prioritized", &prioritized)] {
        write(out, "estargz_toc", name, &toc_seed(blob));
    }
}

fn write(out: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = out.join(target);
    std::fs::create_dir_all(&dir).expect("creating the seed directory");
    std::fs::write(dir.join(name), bytes).expect("writing a seed");
}

/// A layer with one of each kind of entry the format describes.
fn small_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    dir(&mut b, "etc/");
    file(&mut b, "etc/hostname", b"seed\n");
    dir(&mut b, "bin/");
    file(&mut b, "bin/tool", &pattern(5000));
    file(&mut b, "bin/empty", b"");
    link(&mut b, tar::EntryType::Symlink, "bin/sh", "tool");
    link(&mut b, tar::EntryType::Link, "bin/hard", "bin/tool");
    file(&mut b, "etc/.wh..wh..opq", b"");
    b.into_inner().expect("finishing the tar")
}

/// A layer of `n` files with names that compress badly: a long TOC.
fn many_files_layer(n: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    dir(&mut b, "d/");
    for i in 0..n {
        let name = format!("d/{:016x}{:016x}", hash(i as u64), hash(!(i as u64)));
        file(&mut b, &name, &[i as u8; 3]);
    }
    b.into_inner().expect("finishing the tar")
}

fn to_estargz(layer: &[u8], prioritized: &[&str]) -> Vec<u8> {
    let opts = ConvertOptions {
        chunk_size: 1000,
        prioritized: prioritized.iter().map(|s| s.to_string()).collect(),
        compression_level: 6,
        spool_dir: None,
    };
    let mut blob = Vec::new();
    convert(layer, &mut blob, &opts).expect("converting a seed layer");
    blob
}

/// The input of the `estargz_toc` target: two bytes of blob geometry (the
/// TOC offset in 64-byte units, then the bytes after it) and the TOC JSON.
fn toc_seed(blob: &[u8]) -> Vec<u8> {
    let opened = hoist_lazy::estargz::EstargzBlob::open(&blob.to_vec(), None)
        .expect("a converted seed opens");
    let units = opened.toc_offset().div_ceil(64);
    let units = u8::try_from(units).expect("a small seed's TOC starts early");
    let mut seed = vec![units, 255];
    seed.extend_from_slice(opened.toc_json());
    seed
}

fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_size(size);
    h.set_mtime(1_700_000_000);
    h
}

fn dir(b: &mut tar::Builder<Vec<u8>>, name: &str) {
    let mut h = header(tar::EntryType::Directory, 0);
    b.append_data(&mut h, name, &[][..]).expect("a tar entry");
}

fn file(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = header(tar::EntryType::Regular, data.len() as u64);
    b.append_data(&mut h, name, data).expect("a tar entry");
}

fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, target: &str) {
    let mut h = header(kind, 0);
    b.append_link(&mut h, name, target).expect("a tar entry");
}

/// Bytes that compress a little, as real files do.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (hash(i as u64 / 7) % 16) as u8).collect()
}

/// A fixed mixing function (splitmix64's finalizer): same seeds every run.
fn hash(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

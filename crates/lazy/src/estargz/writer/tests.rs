use std::io::Read;
use std::os::unix::fs::MetadataExt;

use super::*;
use crate::estargz::testutil::*;
use crate::estargz::{read_chunk, ChunkError, EstargzBlob};
use crate::toc::EntryType;

fn opts(chunk_size: u64, prioritized: &[&str]) -> ConvertOptions {
    ConvertOptions {
        chunk_size,
        prioritized: prioritized.iter().map(|s| s.to_string()).collect(),
        compression_level: 6,
        spool_dir: None,
    }
}

fn convert_bytes(input: &[u8], o: &ConvertOptions) -> (Vec<u8>, Converted) {
    let mut out = Vec::new();
    let c = convert(input, &mut out, o).unwrap();
    (out, c)
}

fn landmark(content: &[u8]) -> Vec<u8> {
    assert_eq!(content, [LANDMARK_CONTENT]);
    content.to_vec()
}

#[test]
fn every_file_reads_back_identical() {
    let (input, mut files) = sample_layer();
    let (blob, c) = convert_bytes(&input, &opts(1000, &[]));
    let b = EstargzBlob::open(&blob, Some(&c.toc_digest)).unwrap();
    assert_eq!(b.toc_digest(), &c.toc_digest);
    let mut got = read_all_files(&blob, &b);
    landmark(&got.remove(NO_PREFETCH_LANDMARK).unwrap());
    // Hard links have no chunks of their own: the fs resolves them.
    files.remove("bin/hard");
    assert_eq!(got, files);
    // 10 500 bytes in 1000-byte chunks, and 2000 bytes in exactly two.
    assert_eq!(b.chunks()["./bin/big"].len(), 11);
    assert_eq!(b.chunks()["./bin/big"][10].len, 500);
    assert_eq!(b.chunks()["./bin/exact"].len(), 2);
    assert!(b.chunks()["./empty"].is_empty());
    assert_eq!(b.prefetch_range(), None);
    // The no-prefetch landmark comes first.
    assert_eq!(b.toc().entries[0].name, NO_PREFETCH_LANDMARK);
}

#[test]
fn toc_records_metadata() {
    let (input, _) = sample_layer();
    let (blob, c) = convert_bytes(&input, &opts(1000, &[]));
    let b = EstargzBlob::open(&blob, Some(&c.toc_digest)).unwrap();
    let by_name = |n: &str| {
        b.toc()
            .entries
            .iter()
            .find(|e| e.name == n && e.kind != EntryType::Chunk)
            .unwrap_or_else(|| panic!("{n} not in TOC"))
            .clone()
    };
    let passwd = by_name("./etc/passwd");
    assert_eq!((passwd.mode, passwd.uid, passwd.gid), (0o600, 1000, 1000));
    assert_eq!(
        (passwd.user_name.as_str(), passwd.group_name.as_str()),
        ("alice", "staff")
    );
    assert_eq!(passwd.mod_time, "2023-11-14T22:13:20Z");
    assert_eq!(
        passwd.digest,
        Digest::sha256_of(b"root:x:0:0:root:/root:/bin/sh\n").to_string()
    );
    let x = by_name("./xattr");
    assert_eq!(x.xattrs["user.note"], b"hello");
    assert_eq!(x.xattrs["security.capability"], [1, 0, 0, 2]);
    assert_eq!(by_name("./bin/sh").link_name, "big");
    let hard = by_name("./bin/hard");
    assert_eq!(
        (hard.kind, hard.link_name.as_str()),
        (EntryType::Hardlink, "./bin/big")
    );
    let null = by_name("./null");
    assert_eq!(
        (null.kind, null.dev_major, null.dev_minor),
        (EntryType::Char, 1, 3)
    );
    assert_eq!(by_name("./fifo").kind, EntryType::Fifo);
    assert_eq!(by_name("./etc/").kind, EntryType::Dir);
    assert!(b
        .toc()
        .entries
        .iter()
        .any(|e| e.name.ends_with(&format!("{}/file", "d".repeat(120)))));
    // A chunk's size is only written when a full chunk follows.
    let big: Vec<_> = b
        .toc()
        .entries
        .iter()
        .filter(|e| e.name == "./bin/big")
        .collect();
    assert_eq!(big[0].chunk_size, 1000);
    assert_eq!(big[10].chunk_size, 0);
    assert_eq!(big[10].chunk_offset, 10_000);
}

#[test]
fn reported_sizes_and_digests_are_right() {
    let (input, _) = sample_layer();
    let (blob, c) = convert_bytes(&input, &opts(1000, &[]));
    assert_eq!(c.blob_size, blob.len() as u64);
    assert_eq!(c.blob_digest, Digest::sha256_of(&blob));
    let tar = gunzip_all(&blob);
    assert_eq!(c.diff_id, Digest::sha256_of(&tar));
    assert_eq!(c.uncompressed_size, tar.len() as u64);
    let b = EstargzBlob::open(&blob, None).unwrap();
    assert_eq!(c.toc_digest, Digest::sha256_of(b.toc_json()));
    let ann = c.annotations();
    assert_eq!(ann[TOC_DIGEST_ANNOTATION], c.toc_digest.to_string());
    assert_eq!(ann[UNCOMPRESSED_SIZE_ANNOTATION], tar.len().to_string());
    assert!(c.missing_prioritized.is_empty());
}

#[test]
fn blob_is_an_ordinary_layer() {
    let (input, files) = sample_layer();
    let (blob, _) = convert_bytes(&input, &opts(1000, &["bin/hard"]));
    // Same entries, in a new order, plus the landmark and the TOC last.
    let names_of = |tar: &[u8]| -> Vec<String> {
        tar::Archive::new(tar)
            .entries()
            .unwrap()
            .map(|e| String::from_utf8(e.unwrap().path_bytes().into_owned()).unwrap())
            .collect()
    };
    let mut want = names_of(&input);
    let mut got = names_of(&gunzip_all(&blob));
    assert_eq!(got.pop().as_deref(), Some(TOC_TAR_NAME));
    got.retain(|n| n != PREFETCH_LANDMARK);
    want.sort();
    got.sort();
    assert_eq!(got, want);

    let dir = tempfile::tempdir().unwrap();
    let mut a = tar::Archive::new(flate2::read::MultiGzDecoder::new(&blob[..]));
    a.unpack(dir.path()).unwrap();
    for (name, content) in &files {
        assert_eq!(
            &std::fs::read(dir.path().join(name)).unwrap(),
            content,
            "{name}"
        );
    }
    let big = std::fs::metadata(dir.path().join("bin/big")).unwrap();
    let hard = std::fs::metadata(dir.path().join("bin/hard")).unwrap();
    assert_eq!(
        big.ino(),
        hard.ino(),
        "the hard link survived the reordering"
    );
    assert_eq!(
        std::fs::read_link(dir.path().join("bin/sh")).unwrap(),
        std::path::Path::new("big")
    );
    assert_eq!(
        std::fs::read(dir.path().join(TOC_TAR_NAME))
            .unwrap()
            .first(),
        Some(&b'{')
    );
}

#[test]
fn prioritized_files_come_first() {
    let (input, files) = sample_layer();
    let (blob, c) = convert_bytes(
        &input,
        &opts(1000, &["/bin/hard", "missing/file", "etc/passwd"]),
    );
    assert_eq!(c.missing_prioritized, ["missing/file"]);
    let b = EstargzBlob::open(&blob, Some(&c.toc_digest)).unwrap();
    let order: Vec<&str> = b
        .toc()
        .entries
        .iter()
        .filter(|e| e.kind != EntryType::Chunk)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(
        order[..7],
        [
            "./",
            "./bin/",
            "./bin/big",
            "./bin/hard",
            "./etc/",
            "./etc/passwd",
            PREFETCH_LANDMARK
        ]
    );
    let prefetch = b.prefetch_range().unwrap();
    let landmark_entry = b
        .toc()
        .entries
        .iter()
        .find(|e| e.name == PREFETCH_LANDMARK)
        .unwrap();
    assert_eq!(prefetch, 0..landmark_entry.offset as u64);
    for name in ["./bin/big", "./etc/passwd"] {
        assert!(b.chunks()[name]
            .iter()
            .all(|c| c.blob_range.end <= prefetch.end));
    }
    assert!(b.chunks()["./bin/exact"][0].blob_range.start >= prefetch.end);
    let mut got = read_all_files(&blob, &b);
    landmark(&got.remove(PREFETCH_LANDMARK).unwrap());
    let mut files = files;
    files.remove("bin/hard");
    assert_eq!(got, files);
}

#[test]
fn compressed_input_gives_the_same_blob() {
    let (input, _) = sample_layer();
    let (blob, c) = convert_bytes(&input, &opts(1000, &[]));
    let (gz_blob, gz) = convert_bytes(&gzip(&input), &opts(1000, &[]));
    assert_eq!((gz_blob, gz), (blob.clone(), c.clone()));
    let zst = zstd::encode_all(&input[..], 3).unwrap();
    let (_, z) = convert_bytes(&zst, &opts(1000, &[]));
    assert_eq!(z, c);
    // Converting an eStargz blob again drops its TOC and landmark.
    let (_, again) = convert_bytes(&blob, &opts(1000, &[]));
    assert_eq!(again.toc_digest, c.toc_digest);
}

#[test]
fn empty_layer_and_options() {
    let empty = tar::Builder::new(Vec::new()).into_inner().unwrap();
    let (blob, c) = convert_bytes(&empty, &ConvertOptions::default());
    let b = EstargzBlob::open(&blob, Some(&c.toc_digest)).unwrap();
    assert_eq!(b.toc().entries.len(), 1);
    assert_eq!(b.chunks().len(), 1);
    let (_, c2) = convert_bytes(&empty, &opts(1000, &["not/there"]));
    assert_eq!(c2.missing_prioritized, ["not/there"]);
    let bad = ConvertOptions {
        compression_level: 10,
        ..ConvertOptions::default()
    };
    assert!(matches!(
        convert(&empty[..], Vec::new(), &bad),
        Err(FormatError::Options(_))
    ));
}

#[test]
fn unsupported_input_is_refused() {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_size(0);
    let mut b = tar::Builder::new(Vec::new());
    b.append_data(&mut h, "sparse", &b""[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let err = convert(&tar[..], Vec::new(), &ConvertOptions::default()).unwrap_err();
    assert!(
        matches!(err, FormatError::InputEntry { .. } | FormatError::Input(_)),
        "{err}"
    );
    let err = convert(
        &b"\x1f\x8b\x08garbage"[..],
        Vec::new(),
        &ConvertOptions::default(),
    );
    assert!(matches!(err, Err(FormatError::Input(_))));
    // A tar cut inside a file's data.
    let (input, _) = sample_layer();
    let err = convert(&input[..512 * 12], Vec::new(), &ConvertOptions::default()).unwrap_err();
    assert!(err.to_string().contains("ends inside"), "{err}");
}

#[test]
fn escaping_names_are_refused() {
    for (name, kind, link) in [
        ("a/../../etc/x", tar::EntryType::Regular, ""),
        ("./", tar::EntryType::Regular, ""),
        ("l", tar::EntryType::Link, "../x"),
        ("l", tar::EntryType::Link, ""),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_size(0);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_link_name_literal(link).unwrap();
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b""[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let err = convert(&tar[..], Vec::new(), &ConvertOptions::default()).unwrap_err();
        assert!(
            matches!(err, FormatError::InputEntry { .. }),
            "{name} {link}: {err}"
        );
    }
}

#[test]
fn toc_digest_mismatch_is_an_error() {
    let (input, _) = sample_layer();
    let (blob, _) = convert_bytes(&input, &opts(1000, &[]));
    let wrong = Digest::sha256_of(b"something else");
    match EstargzBlob::open(&blob, Some(&wrong)) {
        Err(FormatError::TocDigestMismatch { expected, .. }) => assert_eq!(expected, wrong),
        other => panic!("{other:?}"),
    }
}

#[test]
fn flipped_bytes_are_caught() {
    let (input, _) = sample_layer();
    let (blob, c) = convert_bytes(&input, &opts(1000, &[]));
    let b = EstargzBlob::open(&blob, Some(&c.toc_digest)).unwrap();
    for chunk in &b.chunks()["./bin/big"] {
        let r = chunk.blob_range.clone();
        // The data is incompressible, so its deflate bytes come first in
        // the member and are about as long as the chunk; what follows in
        // the member (padding, later headers, the trailer) is never read.
        for pos in [
            r.start + 12,
            r.start + 12 + chunk.len / 2,
            r.start + chunk.len,
        ] {
            let mut member = blob[r.start as usize..r.end as usize].to_vec();
            member[(pos - r.start) as usize] ^= 0x40;
            match read_chunk(&member, chunk) {
                Err(ChunkError::DigestMismatch { .. }) | Err(ChunkError::Corrupt { .. }) => {}
                other => panic!("flip at {pos}: {other:?}"),
            }
        }
    }
    // A flipped byte in the TOC member: either the gzip or the digest fails.
    let mut bad = blob.clone();
    let mid = (b.toc_offset() as usize + blob.len() - 51) / 2;
    bad[mid] ^= 0x01;
    assert!(EstargzBlob::open(&bad, Some(&c.toc_digest)).is_err());
}

#[test]
fn duplicate_entries_keep_the_last_one() {
    let mut b = tar::Builder::new(Vec::new());
    for content in [&b"first"[..], b"second"] {
        let mut h = tar::Header::new_ustar();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, "f", content).unwrap();
    }
    let input = b.into_inner().unwrap();
    for prio in [&[][..], &["f"][..]] {
        let (blob, c) = convert_bytes(&input, &opts(0, prio));
        let b = EstargzBlob::open(&blob, Some(&c.toc_digest)).unwrap();
        assert_eq!(read_file(&blob, &b, "f"), b"second");
        let dir = tempfile::tempdir().unwrap();
        tar::Archive::new(flate2::read::MultiGzDecoder::new(&blob[..]))
            .unpack(dir.path())
            .unwrap();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"second");
    }
}

/// Newer writers put several small files into one member; the reader
/// finds each by its inner offset.
#[test]
fn files_sharing_a_member_are_read() {
    let mut prefix = gzip(&tar_header("d/", 0));
    let shared_at = prefix.len() as u64;
    let mut tar = tar_header("d/a", 4);
    tar.extend(b"aaaa");
    tar.resize(1024, 0);
    tar.extend(tar_header("d/b", 6));
    tar.extend(b"bbbbbb");
    tar.resize(2048, 0);
    prefix.extend(gzip(&tar));
    let mut a = TocEntry::new("d/a", EntryType::Reg);
    a.size = 4;
    a.offset = shared_at as i64;
    a.inner_offset = 512;
    a.chunk_digest = Digest::sha256_of(b"aaaa").to_string();
    let mut bb = TocEntry::new("d/b", EntryType::Reg);
    bb.size = 6;
    bb.offset = shared_at as i64;
    bb.inner_offset = 1536;
    bb.digest = Digest::sha256_of(b"bbbbbb").to_string();
    let toc = Toc {
        version: 1,
        entries: vec![TocEntry::new("d/", EntryType::Dir), a, bb],
    };
    let json = serde_json::to_vec(&toc).unwrap();
    let blob = blob_with_toc(&prefix, &json);
    let b = EstargzBlob::open(&blob, Some(&Digest::sha256_of(&json))).unwrap();
    assert_eq!(b.toc_offset(), prefix.len() as u64);
    assert_eq!(read_file(&blob, &b, "d/a"), b"aaaa");
    assert_eq!(read_file(&blob, &b, "d/b"), b"bbbbbb");
    assert_eq!(
        b.chunks()["d/b"][0].blob_range,
        shared_at..prefix.len() as u64
    );
    // And the whole thing is still a tar.gz.
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&blob[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(&out[1024..1028], b"aaaa");
}

#[test]
fn spool_dir_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = sample_layer();
    let o = ConvertOptions {
        spool_dir: Some(dir.path().join("missing")),
        ..opts(1000, &[])
    };
    assert!(matches!(
        convert(&input[..], Vec::new(), &o),
        Err(FormatError::Spool(_))
    ));
    let o = ConvertOptions {
        spool_dir: Some(dir.path().to_path_buf()),
        ..opts(1000, &[])
    };
    let mut out = Vec::new();
    convert(&input[..], &mut out, &o).unwrap();
    // The spool file is anonymous and gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(!out.is_empty());
}

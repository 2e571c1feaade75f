//! Interoperability with the stargz-snapshotter reference implementation.
//!
//! `tests/goref/main.go` is a small Go program over the reference package
//! (Debian's golang-github-containerd-stargz-snapshotter-dev). It is built
//! once per run of this test binary. The tests check both directions: blobs
//! hoist writes pass the reference's TOC and chunk verification, and blobs
//! the reference writes open in hoist with every file's bytes intact. They
//! fail (never skip) when Go is missing: run scripts/install-deps.sh.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use hoist_image::Digest;
use hoist_lazy::estargz::footer::footer_bytes;
use hoist_lazy::estargz::{convert, read_chunk, ConvertOptions, EstargzBlob};
use hoist_lazy::source::{FileSource, RangeSource};
use hoist_lazy::toc::{EntryType, Toc, NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK};

const REFERENCE_PKG: &str =
    "/usr/share/gocode/src/github.com/containerd/stargz-snapshotter/estargz";
const INSTALL_HINT: &str = "run scripts/install-deps.sh (it installs golang-go and \
                            golang-github-containerd-stargz-snapshotter-dev)";

/// The built Go driver.
fn goref() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        match Command::new("go").arg("version").output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "`go version` failed ({}): {}; {INSTALL_HINT}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => {
                panic!("cannot run `go` ({e}): the eStargz interop tests need Go; {INSTALL_HINT}")
            }
        }
        assert!(
            Path::new(REFERENCE_PKG).join("estargz.go").exists(),
            "the reference estargz package is not in {REFERENCE_PKG}; {INSTALL_HINT}"
        );
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("goref");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("goref");
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goref"))
            .env("GO111MODULE", "off")
            .env("GOPATH", "/usr/share/gocode")
            .env("GOCACHE", dir.join("cache"))
            .env("GOFLAGS", "")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "building tests/goref failed: {}; {INSTALL_HINT}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

/// Runs the driver; returns stdout, or panics with stderr.
fn run_goref(args: &[&str]) -> String {
    let out = Command::new(goref())
        .args(args)
        // One part: the reference then writes entries in one sequence, like
        // hoist, so TOCs can be compared entry by entry.
        .env("GOMAXPROCS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "goref {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The test layer's regular files (cleaned path to content), hard links
/// included under their own path.
type Files = BTreeMap<String, Vec<u8>>;

struct Layer {
    tar: Vec<u8>,
    files: Files,
}

fn append(
    b: &mut tar::Builder<Vec<u8>>,
    kind: tar::EntryType,
    name: &str,
    link: &str,
    data: &[u8],
) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_650_000_000);
    h.set_size(data.len() as u64);
    if !link.is_empty() {
        h.set_link_name_literal(link).unwrap();
    }
    if name.len() > 100 {
        b.append_data(&mut h, name, data).unwrap();
    } else {
        // Keep the name as spelled (`./x`); the tar crate would drop `./`.
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
}

/// A layer with directories, files of zero, one and many chunks (for a
/// 1000-byte chunk size; with `huge`, one over 4 MiB for the default size),
/// links, whiteouts, xattrs, owners, a long name and a fifo. (`huge` is
/// optional because gzip in a debug build takes seconds per 4 MiB.)
fn layer(huge: bool) -> Layer {
    use tar::EntryType as T;
    let mut b = tar::Builder::new(Vec::new());
    let mut files = Files::new();
    let file = |b: &mut tar::Builder<Vec<u8>>, files: &mut Files, name: &str, data: Vec<u8>| {
        append(b, T::Regular, name, "", &data);
        files.insert(name.trim_start_matches("./").to_string(), data);
    };
    append(&mut b, T::Directory, "./", "", b"");
    append(&mut b, T::Directory, "./etc/", "", b"");
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(T::Regular);
    h.set_mode(0o600);
    h.set_uid(1000);
    h.set_gid(100);
    h.set_username("alice").unwrap();
    h.set_groupname("users").unwrap();
    h.set_mtime(1_650_000_001);
    let passwd = b"root:x:0:0::/root:/bin/sh\n".to_vec();
    h.set_size(passwd.len() as u64);
    h.set_path("etc/passwd").unwrap();
    h.set_cksum();
    b.append(&h, &passwd[..]).unwrap();
    files.insert("etc/passwd".into(), passwd);
    file(&mut b, &mut files, "./etc/.wh..wh..opq", Vec::new());
    append(&mut b, T::Directory, "./bin/", "", b"");
    let big = hoist_testenv::random_bytes(12_345, 1);
    file(&mut b, &mut files, "./bin/big", big.clone());
    file(
        &mut b,
        &mut files,
        "./bin/exact",
        hoist_testenv::random_bytes(3000, 2),
    );
    append(&mut b, T::Symlink, "./bin/sh", "big", b"");
    append(&mut b, T::Link, "./bin/hard", "./bin/big", b"");
    files.insert("bin/hard".into(), big);
    file(&mut b, &mut files, "./empty", Vec::new());
    file(&mut b, &mut files, "./.wh.removed", Vec::new());
    b.append_pax_extensions([("SCHILY.xattr.user.comment", &b"kept"[..])])
        .unwrap();
    file(
        &mut b,
        &mut files,
        "./xattr",
        b"file with an xattr".to_vec(),
    );
    if huge {
        file(
            &mut b,
            &mut files,
            "huge",
            hoist_testenv::random_bytes((4 << 20) + 777, 3),
        );
    }
    file(
        &mut b,
        &mut files,
        &format!("./long/{}/name", "x".repeat(110)),
        b"long".to_vec(),
    );
    append(&mut b, T::Fifo, "./fifo", "", b"");
    Layer {
        tar: b.into_inner().unwrap(),
        files,
    }
}

fn sha(data: &[u8]) -> String {
    Digest::sha256_of(data).to_string()
}

/// What `goref verify` must print for the layer: every regular file and
/// hard link with its digest, plus the landmark.
fn expected_listing(files: &Files, landmark: &str) -> BTreeMap<String, String> {
    let mut want: BTreeMap<String, String> = files
        .iter()
        .map(|(name, data)| (name.clone(), sha(data)))
        .collect();
    want.insert(landmark.to_string(), sha(&[0x0f]));
    want
}

fn parse_listing(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .map(|l| {
            let (d, p) = l.split_once(' ').unwrap();
            (p.to_string(), d.to_string())
        })
        .collect()
}

/// Every regular file of an opened blob, read chunk by chunk.
fn read_files(src: &dyn RangeSource, blob: &EstargzBlob) -> Files {
    let mut out = Files::new();
    for (name, chunks) in blob.chunks() {
        let mut data = Vec::new();
        for c in chunks {
            let member = src.read_range(c.blob_range.clone()).unwrap();
            data.extend(read_chunk(&member, c).unwrap_or_else(|e| panic!("{name}: {e}")));
        }
        out.insert(name.trim_start_matches("./").to_string(), data);
    }
    out
}

fn gunzip_file(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn hoist_blobs_pass_the_reference_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(u64, &[&str]); 3] = [
        (0, &[]),
        (1000, &[]),
        (1000, &["bin/hard", "/etc/passwd", "not/there"]),
    ];
    for (i, (chunk_size, prioritized)) in cases.into_iter().enumerate() {
        let layer = layer(chunk_size == 0);
        let path = dir.path().join(format!("hoist-{i}.blob"));
        let opts = ConvertOptions {
            chunk_size,
            prioritized: prioritized.iter().map(|s| s.to_string()).collect(),
            ..ConvertOptions::default()
        };
        let c = convert(&layer.tar[..], std::fs::File::create(&path).unwrap(), &opts).unwrap();
        let landmark = if prioritized.is_empty() {
            NO_PREFETCH_LANDMARK
        } else {
            PREFETCH_LANDMARK
        };
        let got = parse_listing(&run_goref(&[
            "verify",
            path.to_str().unwrap(),
            &c.toc_digest.to_string(),
        ]));
        assert_eq!(
            got,
            expected_listing(&layer.files, landmark),
            "case {i}: chunk size {chunk_size}, prioritized {prioritized:?}"
        );
        assert_eq!(c.diff_id, Digest::sha256_of(&gunzip_file(&path)));
    }
    // The verifier really checks the digest it is given, and the chunks.
    let path = dir.path().join("hoist-1.blob");
    let verify = |digest: &str| {
        Command::new(goref())
            .args(["verify", path.to_str().unwrap(), digest])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(!verify(&sha(b"other")));
    let mut bytes = std::fs::read(&path).unwrap();
    let blob = EstargzBlob::open(&bytes, None).unwrap();
    let digest = blob.toc_digest().to_string();
    assert!(verify(&digest));
    let r = blob.chunks()["./bin/big"][3].blob_range.clone();
    bytes[(r.start + 100) as usize] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    assert!(
        !verify(&digest),
        "the reference must reject a damaged chunk"
    );
}

/// Builds with the reference; returns (TOC digest, diff ID).
fn reference_build(
    input: &Path,
    out: &Path,
    chunk_size: u64,
    prioritized: &[&str],
) -> (Digest, Digest) {
    let chunk = chunk_size.to_string();
    let mut args = vec![
        "build",
        "-chunk-size",
        &chunk,
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(prioritized);
    let stdout = run_goref(&args);
    let field = |key: &str| -> Digest {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .trim()
            .parse()
            .unwrap()
    };
    (field("tocdigest "), field("diffid "))
}

#[test]
fn reference_blobs_open_in_hoist() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(u64, &[&str]); 3] = [(0, &[]), (1000, &[]), (1000, &["bin/hard", "etc/passwd"])];
    for (i, (chunk_size, prioritized)) in cases.into_iter().enumerate() {
        let layer = layer(chunk_size == 0);
        let input = dir.path().join(format!("layer-{i}.tar"));
        std::fs::write(&input, &layer.tar).unwrap();
        let path = dir.path().join(format!("ref-{i}.blob"));
        let (toc_digest, diff_id) = reference_build(&input, &path, chunk_size, prioritized);
        let src = FileSource::open(&path).unwrap();
        let blob =
            EstargzBlob::open(&src, Some(&toc_digest)).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(blob.toc_digest(), &toc_digest);

        let mut got = read_files(&src, &blob);
        let landmark = if prioritized.is_empty() {
            NO_PREFETCH_LANDMARK
        } else {
            PREFETCH_LANDMARK
        };
        assert_eq!(got.remove(landmark), Some(vec![0x0f]), "case {i}");
        let mut want = layer.files.clone();
        want.remove("bin/hard"); // a hard link has no chunks of its own
        assert_eq!(got, want, "case {i}");

        // Offsets and footer are understood exactly.
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes[bytes.len() - 51..], footer_bytes(blob.toc_offset()));
        assert_eq!(diff_id, Digest::sha256_of(&gunzip_file(&path)));
        match blob.prefetch_range() {
            None => assert!(prioritized.is_empty(), "case {i}: no prefetch range"),
            Some(r) => {
                assert!(!prioritized.is_empty());
                for name in ["./bin/big", "etc/passwd"] {
                    assert!(blob.chunks()[name]
                        .iter()
                        .all(|c| c.blob_range.end <= r.end));
                }
            }
        }
        if chunk_size == 1000 {
            assert_eq!(blob.chunks()["./bin/big"].len(), 13);
        } else {
            assert_eq!(blob.chunks()["huge"].len(), 2);
            continue;
        }

        // hoist converts the reference's blob again, and the reference
        // accepts the result.
        let again = dir.path().join(format!("again-{i}.blob"));
        let c = convert(
            std::fs::File::open(&path).unwrap(),
            std::fs::File::create(&again).unwrap(),
            &ConvertOptions {
                chunk_size: 1000,
                ..ConvertOptions::default()
            },
        )
        .unwrap();
        let listing = parse_listing(&run_goref(&[
            "verify",
            again.to_str().unwrap(),
            &c.toc_digest.to_string(),
        ]));
        assert_eq!(
            listing,
            expected_listing(&layer.files, NO_PREFETCH_LANDMARK)
        );
    }
}

/// The TOC entry fields that do not depend on compression.
fn comparable(toc: &Toc) -> Vec<serde_json::Value> {
    toc.entries
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.offset = 0;
            e.inner_offset = 0;
            serde_json::to_value(&e).unwrap()
        })
        .collect()
}

#[test]
fn toc_matches_the_reference_entry_for_entry() {
    let layer = layer(false);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("layer.tar");
    std::fs::write(&input, &layer.tar).unwrap();
    let cases: [(u64, &[&str]); 2] = [
        (1000, &[]),
        (1000, &["bin/hard", "etc/passwd", "not/there"]),
    ];
    for (chunk_size, prioritized) in cases {
        let reference = dir.path().join("ref.blob");
        let (toc_digest, _) = reference_build(&input, &reference, chunk_size, prioritized);
        let src = FileSource::open(&reference).unwrap();
        let theirs = EstargzBlob::open(&src, Some(&toc_digest)).unwrap();

        let mut ours_blob = Vec::new();
        let c = convert(
            &layer.tar[..],
            &mut ours_blob,
            &ConvertOptions {
                chunk_size,
                prioritized: prioritized.iter().map(|s| s.to_string()).collect(),
                ..ConvertOptions::default()
            },
        )
        .unwrap();
        let ours = EstargzBlob::open(&ours_blob, Some(&c.toc_digest)).unwrap();
        assert_eq!(
            comparable(ours.toc()),
            comparable(theirs.toc()),
            "prioritized {prioritized:?}"
        );
        assert!(ours
            .toc()
            .entries
            .iter()
            .any(|e| e.kind == EntryType::Chunk));
    }
}

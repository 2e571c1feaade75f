//! Fetching ahead, against a real registry: a read that needs the network
//! brings the rest of a small directory in one more request, a larger one
//! only at its second such read, and a large one never; a program read from
//! the network brings the libraries it loads.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hoist_lazy::cache::ChunkCache;
use hoist_lazy::estargz::{convert, ConvertOptions, EstargzBlob};
use hoist_lazy::fs::ChunkReader;
use hoist_lazy::layer::LazyLayer;
use hoist_lazy::remote::{RegistrySource, RemoteOptions};
use hoist_lazy::toc::ChunkRef;
use hoist_lazy::FirstProgram;
use hoist_testenv::{random_bytes, wait_until, Registry};

const KIB: usize = 1 << 10;

/// (name, size) of the layer's files, in tar order: a small directory
/// (256 KiB), a middling one (2 MiB) and a large one (6 MiB).
fn files() -> Vec<(String, usize)> {
    let pkg = (0..16).map(|i| (format!("pkg/m{i:02}"), 16 * KIB));
    let std = (0..4).map(|i| (format!("std/s{i}"), 512 * KIB));
    let lib = ["a", "b", "c"].map(|n| (format!("zlib/{n}"), 2048 * KIB));
    pkg.chain(std).chain(lib).collect()
}

fn content(name: &str, size: usize) -> Vec<u8> {
    let seed = name.bytes().map(u64::from).sum::<u64>() * 31 + name.len() as u64;
    random_bytes(size, seed)
}

/// A tar entry named exactly `raw`, such as `./pkg/m00`, the way tar
/// names the files of a directory archived as `.` (the tar crate's path
/// setters would drop the `./`).
fn append_raw(b: &mut tar::Builder<Vec<u8>>, raw: &str, kind: tar::EntryType, data: &[u8]) {
    append_raw_link(b, raw, kind, data, None);
}

fn append_raw_link(
    b: &mut tar::Builder<Vec<u8>>,
    raw: &str,
    kind: tar::EntryType,
    data: &[u8],
    link: Option<&str>,
) {
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..raw.len()].copy_from_slice(raw.as_bytes());
    if let Some(link) = link {
        h.set_link_name(link).unwrap();
    }
    h.set_entry_type(kind);
    h.set_mode(0o755);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn layer_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for dir in ["./pkg/", "./std/", "./zlib/"] {
        append_raw(&mut b, dir, tar::EntryType::Directory, &[]);
    }
    for (name, size) in files() {
        let data = content(&name, size);
        append_raw(&mut b, &format!("./{name}"), tar::EntryType::Regular, &data);
    }
    b.into_inner().unwrap()
}

struct Served {
    layer: Arc<LazyLayer>,
    requests: Arc<hoist_lazy::remote::FetchStats>,
    _registry: Registry,
    _cache_dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl Served {
    /// The chunks of `name`: reads name files cleaned (`pkg/m00`), the
    /// TOC as tar did (`./pkg/m00`).
    fn chunks(&self, name: &str) -> Vec<ChunkRef> {
        let chunks = self.layer.blob().chunks();
        let name = format!("./{name}");
        chunks
            .get(&name)
            .unwrap_or_else(|| panic!("{name} not in {:?}", chunks.keys()))
            .clone()
    }

    fn read(&self, name: &str) -> Vec<u8> {
        self.chunks(name)
            .iter()
            .flat_map(|c| self.layer.read_chunk(name, c).unwrap().to_vec())
            .collect()
    }

    fn cached(&self, name: &str) -> bool {
        let ranges: Vec<Range<u64>> = self
            .chunks(name)
            .into_iter()
            .map(|c| c.blob_range)
            .collect();
        ranges.iter().all(|r| self.layer.cache().contains(r))
    }

    fn requests(&self) -> u64 {
        self.requests.requests.load(Ordering::SeqCst)
    }
}

/// `tar` converted to eStargz (64 KiB chunks), pushed to a fresh
/// registry, and served lazily from it with two fetch-ahead threads.
fn serve(tar: &[u8]) -> Served {
    let registry = Registry::start();
    let mut blob = Vec::new();
    let opts = ConvertOptions {
        chunk_size: 64 * KIB as u64,
        prioritized: Vec::new(),
        compression_level: 1,
        spool_dir: None,
    };
    let converted = convert(tar, &mut blob, &opts).unwrap();
    let estargz = EstargzBlob::open(&blob, Some(&converted.toc_digest)).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let remote = RemoteOptions {
        tls_verify: Some(false),
        insecure: true,
        authfile: None,
        cert_dir: None,
        endpoint: None,
    };
    let client = remote.client(registry.addr());
    let pushed = runtime
        .block_on(client.push_blob_bytes(registry.addr(), "lazy/ahead", blob.into()))
        .unwrap();
    assert_eq!(pushed, converted.blob_digest);
    let source = RegistrySource::new(
        client,
        registry.addr(),
        "lazy/ahead",
        converted.blob_digest.clone(),
        converted.blob_size,
        runtime.handle().clone(),
    );
    let requests = source.stats();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = ChunkCache::open(cache_dir.path(), converted.blob_size).unwrap();
    let layer = Arc::new(LazyLayer::new(
        "ahead".into(),
        estargz,
        cache,
        Arc::new(source),
    ));
    layer.fetch_ahead_in_background(2).unwrap();
    Served {
        layer,
        requests,
        _registry: registry,
        _cache_dir: cache_dir,
        _runtime: runtime,
    }
}

/// Waits until `names` are cached and the requests that brought them are
/// counted (a streamed range is counted once it ended, after its bytes
/// reached the cache).
fn wait_cached(s: &Served, names: &[&str], requests: u64, what: &str) {
    wait_until(Duration::from_secs(30), what, || {
        names.iter().all(|n| s.cached(n)) && s.requests() >= requests
    });
}

#[test]
fn a_read_from_the_network_brings_its_directory_when_that_is_cheap() {
    let s = serve(&layer_tar());
    let pkg: Vec<String> = (0..16).map(|i| format!("pkg/m{i:02}")).collect();
    let pkg: Vec<&str> = pkg.iter().map(String::as_str).collect();

    // Small directory: the first read brings the other fifteen files along.
    assert_eq!(s.read("pkg/m03"), content("pkg/m03", 16 * KIB));
    wait_cached(&s, &pkg, 3, "the rest of pkg fetched ahead");
    assert_eq!(
        s.requests(),
        3,
        "the read's own request and the directory's two ranges around it"
    );
    for name in &pkg {
        assert_eq!(s.read(name), content(name, 16 * KIB), "{name}");
    }
    assert_eq!(s.requests(), 3, "every file of pkg came from the cache");

    // Middling directory: the first read from the network brings only its file.
    assert_eq!(s.read("std/s0"), content("std/s0", 512 * KIB));
    assert_eq!(s.requests(), 4);
    assert!(!s.cached("std/s1") && !s.cached("std/s3"));
    // The second one shows the directory is being read: the rest comes.
    assert_eq!(s.read("std/s2"), content("std/s2", 512 * KIB));
    wait_cached(
        &s,
        &["std/s1", "std/s3"],
        7,
        "the rest of std fetched ahead",
    );
    assert_eq!(s.requests(), 7, "s2, then s1 and s3 around it");

    // Large directory: each read brings its own file only.
    assert_eq!(s.read("zlib/a"), content("zlib/a", 2048 * KIB));
    assert_eq!(s.read("zlib/b"), content("zlib/b", 2048 * KIB));
    assert_eq!(s.requests(), 9);
    assert!(!s.cached("zlib/c"), "6 MiB is too much to fetch on a guess");
}

const LIB: &str = "usr/lib/x86_64-linux-gnu";

/// This host's `ls` and the libraries it loads, in Debian's merged-/usr
/// layout (the `lib` and `lib64` links, an absolute link to the loader, a
/// relative one to libpcre2), beside 6 MiB of other files, so that the
/// library directory is too large to be fetched whole.
fn program_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let link = |b: &mut tar::Builder<Vec<u8>>, name: &str, target: &str| {
        append_raw_link(b, name, tar::EntryType::Symlink, &[], Some(target));
    };
    let host = |b: &mut tar::Builder<Vec<u8>>, name: &str, from: &str| {
        let data = std::fs::read(from).unwrap_or_else(|e| panic!("{from}: {e}"));
        append_raw(b, name, tar::EntryType::Regular, &data);
    };
    link(&mut b, "./lib", "usr/lib");
    link(&mut b, "./lib64", "usr/lib64");
    host(&mut b, "./usr/bin/ls", "/bin/ls");
    for (name, size) in [("a-filler", 3072 * KIB), ("b-filler", 3072 * KIB)] {
        let data = content(name, size);
        append_raw(
            &mut b,
            &format!("./{LIB}/{name}"),
            tar::EntryType::Regular,
            &data,
        );
    }
    for lib in ["ld-linux-x86-64.so.2", "libc.so.6", "libselinux.so.1"] {
        host(&mut b, &format!("./{LIB}/{lib}"), &format!("/{LIB}/{lib}"));
    }
    let pcre = std::fs::canonicalize(format!("/{LIB}/libpcre2-8.so.0")).unwrap();
    let pcre_name = pcre.file_name().unwrap().to_str().unwrap().to_owned();
    link(&mut b, &format!("./{LIB}/libpcre2-8.so.0"), &pcre_name);
    host(
        &mut b,
        &format!("./{LIB}/{pcre_name}"),
        pcre.to_str().unwrap(),
    );
    link(
        &mut b,
        "./usr/lib64/ld-linux-x86-64.so.2",
        &format!("/{LIB}/ld-linux-x86-64.so.2"),
    );
    b.into_inner().unwrap()
}

#[test]
fn a_program_read_from_the_network_brings_the_libraries_it_loads() {
    let s = serve(&program_layer());
    let pcre = std::fs::canonicalize(format!("/{LIB}/libpcre2-8.so.0")).unwrap();
    let pcre = format!("{LIB}/{}", pcre.file_name().unwrap().to_str().unwrap());
    let loader = format!("{LIB}/ld-linux-x86-64.so.2");
    let libc = format!("{LIB}/libc.so.6");
    let selinux = format!("{LIB}/libselinux.so.1");

    // The kernel's first read of the program, as at exec.
    let first = s.chunks("usr/bin/ls")[0].clone();
    s.layer.read_chunk("usr/bin/ls", &first).unwrap();
    // ls names the loader (through lib64 -> usr/lib64 and an absolute
    // link), libselinux and libc; libselinux names libpcre2 (a relative
    // link): one request per level.
    wait_cached(
        &s,
        &[&loader, &libc, &selinux, &pcre],
        3,
        "the libraries of ls fetched ahead",
    );
    assert_eq!(s.requests(), 3, "ls, its libraries, then libselinux's");
    for lib in [&loader, &libc, &selinux, &pcre] {
        let host = std::fs::read(format!("/{lib}")).unwrap();
        assert!(s.read(lib) == host, "{lib} differs from the host's");
    }
    assert_eq!(s.requests(), 3, "the libraries came from the cache");
    assert!(!s.cached(&format!("{LIB}/a-filler")) && !s.cached(&format!("{LIB}/b-filler")));
}

#[test]
fn the_containers_program_and_its_libraries_come_before_it_reads_them() {
    let s = serve(&program_layer());
    let libc = format!("{LIB}/libc.so.6");
    let selinux = format!("{LIB}/libselinux.so.1");
    // `ls` as a command line names it: found through PATH, the first
    // directory of which this layer lacks.
    let program = FirstProgram {
        name: "ls".into(),
        path: "/usr/local/bin:/usr/bin".into(),
    };
    assert_eq!(
        s.layer.fetch_program(&program).as_deref(),
        Some("usr/bin/ls")
    );
    assert!(s.cached("usr/bin/ls") && s.cached(&libc) && s.cached(&selinux));
    assert_eq!(s.requests(), 3, "ls, its libraries, then libselinux's");
    // The process's own reads need the network no more.
    assert!(s.read("usr/bin/ls") == std::fs::read("/bin/ls").unwrap());
    assert!(s.read(&libc) == std::fs::read(format!("/{libc}")).unwrap());
    assert_eq!(s.requests(), 3);
    assert!(!s.cached(&format!("{LIB}/a-filler")));

    let elsewhere = FirstProgram {
        name: "/opt/tool".into(),
        path: "/usr/bin".into(),
    };
    assert_eq!(s.layer.fetch_program(&elsewhere), None, "not in this layer");
    assert_eq!(s.requests(), 3);
}

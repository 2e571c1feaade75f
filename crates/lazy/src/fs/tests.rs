//! Mounting real layers through FUSE (and overlayfs on top). These need root
//! and /dev/fuse; without them they say so and pass vacuously.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use tempfile::TempDir;

use super::*;
use crate::toc::{EntryType, TocEntry};

const MTIME: &str = "2021-03-04T05:06:07Z";
const MTIME_SECS: i64 = 1_614_834_367;
const BUSYBOX_LEN: usize = 10_000;

/// Mounting FUSE needs root and /dev/fuse; panics naming what is missing.
fn can_mount() {
    hoist_testenv::require_root();
    hoist_testenv::require_file(
        "/dev/fuse",
        "the fuse kernel module (Debian package `fuse3`)",
    );
}

/// Deterministic bytes that differ at every offset of a chunk boundary.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// A hand-built layer: its TOC, the chunks of each file, and the contents.
#[derive(Default)]
struct Fixture {
    toc: Toc,
    chunks: BTreeMap<String, Vec<ChunkRef>>,
    files: HashMap<String, Vec<u8>>,
}

impl Fixture {
    fn entry(&mut self, name: &str, kind: EntryType, mode: i64) -> &mut TocEntry {
        let mut e = TocEntry::new(name, kind);
        e.mode = mode;
        e.mod_time = MTIME.into();
        self.toc.entries.push(e);
        self.toc.entries.last_mut().unwrap()
    }

    /// A regular file split in chunks of `chunk` bytes, listed the way the
    /// reference writer lists them (a `reg` entry, then `chunk` entries).
    fn file(&mut self, name: &str, content: Vec<u8>, chunk: usize, mode: i64) -> &mut TocEntry {
        let mut refs = Vec::new();
        for (i, start) in (0..content.len()).step_by(chunk).enumerate() {
            let len = chunk.min(content.len() - start);
            refs.push(ChunkRef {
                file_offset: start as u64,
                len: len as u64,
                blob_range: 0..1,
                inner_offset: 0,
                digest: None,
            });
            if i > 0 {
                let mut c = TocEntry::new(name, EntryType::Chunk);
                c.chunk_offset = start as i64;
                c.chunk_size = len as i64;
                self.toc.entries.push(c);
            }
        }
        let size = content.len();
        self.chunks
            .insert(name.trim_start_matches("./").into(), refs);
        self.files
            .insert(name.trim_start_matches("./").into(), content);
        // The reg entry goes before its chunk entries.
        let chunk_entries = size.div_ceil(chunk).saturating_sub(1);
        let at = self.toc.entries.len() - chunk_entries;
        let mut e = TocEntry::new(name, EntryType::Reg);
        e.size = size as i64;
        e.mode = mode;
        e.mod_time = MTIME.into();
        self.toc.entries.insert(at, e);
        &mut self.toc.entries[at]
    }

    fn standard() -> Fixture {
        let mut fx = Fixture::default();
        fx.entry("./", EntryType::Dir, 0o755);
        fx.entry("bin/", EntryType::Dir, 0o755);
        fx.file("bin/busybox", pattern(BUSYBOX_LEN, 1), 4096, 0o4755);
        fx.entry("bin/ls", EntryType::Hardlink, 0).link_name = "bin/busybox".into();
        fx.entry("bin/sh", EntryType::Symlink, 0o777).link_name = "busybox".into();
        // `etc` is implied by its files.
        let passwd = fx.file(
            "./etc/passwd",
            b"root:x:0:0::/root:/bin/sh\n".to_vec(),
            7,
            0o640,
        );
        passwd.uid = 1000;
        passwd.gid = 1001;
        passwd
            .xattrs
            .insert("user.comment".into(), b"hello".to_vec());
        passwd.xattrs.insert("user.big".into(), vec![b'x'; 300]);
        passwd
            .xattrs
            .insert("trusted.overlay.redirect".into(), b"/etc".to_vec());
        fx.file("etc/empty", Vec::new(), 4096, 0o644);
        fx.entry("etc/.wh.shadow", EntryType::Reg, 0o644);
        fx.file("etc/hosts", pattern(3000, 2), 333, 0o644);
        let null = fx.entry("dev/null", EntryType::Char, 0o666);
        (null.dev_major, null.dev_minor) = (1, 3);
        let sda = fx.entry("dev/sda", EntryType::Block, 0o660);
        (sda.dev_major, sda.dev_minor, sda.gid) = (8, 0, 6);
        fx.entry("run/fifo", EntryType::Fifo, 0o620);
        fx.entry("opaque", EntryType::Dir, 0o1777);
        fx.entry("opaque/.wh..wh..opq", EntryType::Reg, 0o644);
        fx.file("opaque/new", b"new".to_vec(), 4096, 0o644);
        fx.entry(".wh.gone", EntryType::Reg, 0o644);
        fx.entry(".prefetch.landmark", EntryType::Reg, 0o644);
        fx.entry("stargz.index.json", EntryType::Reg, 0o644);
        fx
    }
}

/// Serves file contents from memory; can fail or stall chosen files.
#[derive(Default)]
struct MemReader {
    files: HashMap<String, Vec<u8>>,
    failing: HashSet<String>,
    slow: HashMap<String, Duration>,
    slow_started: AtomicBool,
}

impl ChunkReader for MemReader {
    fn read_chunk(&self, file: &str, chunk: &ChunkRef) -> io::Result<Arc<Vec<u8>>> {
        if self.failing.contains(file) {
            return Err(io::Error::other("registry answered 500"));
        }
        // Stall once per read of the file: on its first chunk.
        if let (Some(delay), 0) = (self.slow.get(file), chunk.file_offset) {
            self.slow_started.store(true, Ordering::SeqCst);
            thread::sleep(*delay);
        }
        let content = self
            .files
            .get(file)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, file.to_owned()))?;
        let start = chunk.file_offset as usize;
        Ok(Arc::new(
            content[start..start + chunk.len as usize].to_vec(),
        ))
    }
}

struct Mounted {
    layer: Option<MountedLayer>,
    dir: TempDir,
}

impl Mounted {
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn root(&self) -> &Path {
        self.dir.path()
    }
    fn unmount(&mut self) {
        self.layer.take().unwrap().unmount().unwrap();
    }
}

fn mount_fixture(fx: &Fixture, reader: Arc<MemReader>, opts: FsOptions) -> Mounted {
    let fs = LayerFs::new(&fx.toc, fx.chunks.clone(), reader, opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layer = mount(fs, dir.path()).unwrap();
    Mounted {
        layer: Some(layer),
        dir,
    }
}

fn reader_for(fx: &Fixture) -> MemReader {
    MemReader {
        files: fx.files.clone(),
        ..MemReader::default()
    }
}

fn is_mounted(path: &Path) -> bool {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let wanted = path.to_str().unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(wanted))
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

fn read_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let file = fs::File::open(path).unwrap();
    let mut buf = vec![0; len];
    let mut got = 0;
    while got < len {
        let n = file.read_at(&mut buf[got..], offset + got as u64).unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    buf.truncate(got);
    buf
}

fn xattr_names(path: &Path) -> BTreeSet<String> {
    let mut buf = vec![0u8; 4096];
    let n = rustix::fs::listxattr(path, &mut buf[..]).unwrap();
    buf[..n]
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8(s.to_vec()).unwrap())
        .collect()
}

fn xattr(path: &Path, name: &str) -> Result<Vec<u8>, Errno> {
    let size = rustix::fs::getxattr_query(path, name)?;
    let mut buf = vec![0u8; size];
    let n = rustix::fs::getxattr(path, name, &mut buf[..])?;
    buf.truncate(n);
    Ok(buf)
}

#[test]
fn serves_contents_metadata_and_xattrs() {
    can_mount();
    let fx = Fixture::standard();
    let mut m = mount_fixture(&fx, Arc::new(reader_for(&fx)), FsOptions::default());

    // Contents, whole and at ranges crossing chunk boundaries.
    let busybox = &fx.files["bin/busybox"];
    assert_eq!(&fs::read(m.path("bin/busybox")).unwrap(), busybox);
    assert_eq!(&fs::read(m.path("bin/ls")).unwrap(), busybox);
    for (offset, len) in [
        (0, 1),
        (4095, 2),
        (4096, 4096),
        (4000, 5000),
        (1, 8191),
        (8191, 100_000),
        (9_999, 10),
        (10_000, 5),
        (20_000, 5),
    ] {
        let from = offset.min(BUSYBOX_LEN);
        let to = (offset + len).min(BUSYBOX_LEN);
        assert_eq!(
            read_at(&m.path("bin/busybox"), offset as u64, len),
            &busybox[from..to],
            "offset {offset} len {len}"
        );
    }
    let hosts = &fx.files["etc/hosts"];
    for offset in [0usize, 332, 333, 334, 1000, 2997] {
        assert_eq!(
            read_at(&m.path("etc/hosts"), offset as u64, 700),
            &hosts[offset..(offset + 700).min(hosts.len())]
        );
    }
    assert_eq!(
        fs::read(m.path("etc/passwd")).unwrap(),
        fx.files["etc/passwd"]
    );
    assert!(fs::read(m.path("etc/empty")).unwrap().is_empty());

    // Attributes.
    let md = fs::metadata(m.path("bin/busybox")).unwrap();
    assert_eq!(md.mode(), libc::S_IFREG | 0o4755);
    assert_eq!(
        (md.size(), md.nlink(), md.uid(), md.gid()),
        (BUSYBOX_LEN as u64, 2, 0, 0)
    );
    assert_eq!(md.ino(), fs::metadata(m.path("bin/ls")).unwrap().ino());
    assert_eq!((md.mtime(), md.mtime_nsec()), (MTIME_SECS, 0));
    let md = fs::metadata(m.path("etc/passwd")).unwrap();
    assert_eq!(md.mode(), libc::S_IFREG | 0o640);
    assert_eq!((md.uid(), md.gid(), md.nlink()), (1000, 1001, 1));
    let md = fs::metadata(m.path("etc")).unwrap();
    assert_eq!(
        (md.mode(), md.uid(), md.mtime()),
        (libc::S_IFDIR | 0o755, 0, 0)
    );
    let md = fs::metadata(m.path("opaque")).unwrap();
    assert_eq!(md.mode(), libc::S_IFDIR | 0o1777);
    // The root holds bin, etc, dev, run and opaque.
    assert_eq!(fs::metadata(m.root()).unwrap().nlink(), 2 + 5);
    let md = fs::metadata(m.path("dev/null")).unwrap();
    assert!(md.file_type().is_char_device());
    assert_eq!(
        (md.rdev(), md.mode() & 0o7777),
        (libc::makedev(1, 3), 0o666)
    );
    let md = fs::metadata(m.path("dev/sda")).unwrap();
    assert!(md.file_type().is_block_device());
    assert_eq!((md.rdev(), md.gid()), (libc::makedev(8, 0), 6));
    let md = fs::metadata(m.path("run/fifo")).unwrap();
    assert!(md.file_type().is_fifo());
    assert_eq!(md.mode() & 0o7777, 0o620);
    let md = fs::symlink_metadata(m.path("bin/sh")).unwrap();
    assert!(md.file_type().is_symlink());
    assert_eq!(md.size(), "busybox".len() as u64);
    assert_eq!(
        fs::read_link(m.path("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    assert_eq!(&fs::read(m.path("bin/sh")).unwrap(), busybox);

    // Listings: whiteouts appear as 0:0 character devices under the hidden
    // name; markers, landmarks and the TOC itself do not appear.
    assert_eq!(
        names(m.root()),
        ["bin", "dev", "etc", "gone", "opaque", "run"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        names(&m.path("etc")),
        ["empty", "hosts", "passwd", "shadow"]
            .map(String::from)
            .into()
    );
    assert_eq!(names(&m.path("opaque")), ["new".to_string()].into());
    for whiteout in ["gone", "etc/shadow"] {
        let md = fs::symlink_metadata(m.path(whiteout)).unwrap();
        assert!(md.file_type().is_char_device(), "{whiteout}");
        assert_eq!(md.rdev(), 0, "{whiteout}");
    }

    // Xattrs: the layer's own, minus overlayfs's; opaque dirs get the marker.
    let passwd = m.path("etc/passwd");
    assert_eq!(
        xattr_names(&passwd),
        ["user.big", "user.comment"].map(String::from).into()
    );
    assert_eq!(xattr(&passwd, "user.comment").unwrap(), b"hello");
    assert_eq!(xattr(&passwd, "user.big").unwrap(), vec![b'x'; 300]);
    assert_eq!(rustix::fs::getxattr_query(&passwd, "user.big"), Ok(300));
    let mut small = [0u8; 2];
    assert_eq!(
        rustix::fs::getxattr(&passwd, "user.comment", &mut small[..]),
        Err(Errno::RANGE)
    );
    assert_eq!(
        rustix::fs::listxattr(&passwd, &mut small[..]),
        Err(Errno::RANGE)
    );
    assert_eq!(
        xattr(&passwd, "trusted.overlay.redirect"),
        Err(Errno::NODATA)
    );
    assert_eq!(xattr(&passwd, "user.nope"), Err(Errno::NODATA));
    assert_eq!(
        xattr(&m.path("opaque"), "trusted.overlay.opaque").unwrap(),
        b"y"
    );
    assert_eq!(
        xattr_names(&m.path("opaque")),
        ["trusted.overlay.opaque".to_string()].into()
    );
    assert_eq!(
        xattr(&m.path("etc"), "trusted.overlay.opaque"),
        Err(Errno::NODATA)
    );

    // Absent names.
    for missing in [
        "nope",
        "etc/nope",
        "stargz.index.json",
        ".prefetch.landmark",
        ".wh.gone",
        "opaque/.wh..wh..opq",
    ] {
        let err = fs::symlink_metadata(m.path(missing)).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{missing}");
    }
    let err = fs::metadata(m.path("etc/passwd/x")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));

    // Read-only.
    let err = fs::write(m.path("etc/passwd"), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));

    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = info
        .lines()
        .find(|l| l.split(' ').nth(4) == m.root().to_str())
        .expect("the mount is listed");
    assert!(line.contains(" - fuse.hoist-lazy hoist-lazy "), "{line}");
    assert!(
        line.split(' ')
            .nth(5)
            .unwrap()
            .split(',')
            .any(|o| o == "ro"),
        "{line}"
    );

    m.unmount();
    assert!(!is_mounted(m.root()));
    assert!(names(m.root()).is_empty());
}

#[test]
fn overlay_honours_whiteouts_and_opaque_dirs() {
    can_mount();
    let fx = Fixture::standard();
    let mut m = mount_fixture(&fx, Arc::new(reader_for(&fx)), FsOptions::default());
    let work = tempfile::tempdir().unwrap();
    let lower = work.path().join("lower");
    let merged = work.path().join("merged");
    for dir in ["etc", "opaque/sub", "bin"] {
        fs::create_dir_all(lower.join(dir)).unwrap();
    }
    for file in [
        "gone",
        "etc/shadow",
        "etc/group",
        "opaque/old",
        "opaque/sub/deep",
        "bin/busybox",
    ] {
        fs::write(lower.join(file), b"lower").unwrap();
    }
    fs::create_dir(&merged).unwrap();
    let options = format!("lowerdir={}:{}", m.root().display(), lower.display());
    rustix::mount::mount(
        "overlay",
        &merged,
        "overlay",
        rustix::mount::MountFlags::RDONLY,
        std::ffi::CString::new(options).unwrap().as_c_str(),
    )
    .unwrap();

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(!merged.join("gone").exists());
        assert!(!merged.join("etc/shadow").exists());
        assert_eq!(fs::read(merged.join("etc/group")).unwrap(), b"lower");
        assert_eq!(
            fs::read(merged.join("etc/passwd")).unwrap(),
            fx.files["etc/passwd"]
        );
        assert_eq!(
            names(&merged.join("etc")),
            ["empty", "group", "hosts", "passwd"]
                .map(String::from)
                .into()
        );
        assert_eq!(names(&merged.join("opaque")), ["new".to_string()].into());
        assert!(!merged.join("opaque/sub/deep").exists());
        assert_eq!(
            &fs::read(merged.join("bin/busybox")).unwrap(),
            &fx.files["bin/busybox"]
        );
        let md = fs::metadata(merged.join("bin/busybox")).unwrap();
        assert_eq!(md.mode(), libc::S_IFREG | 0o4755);
        // overlayfs keeps its private xattrs to itself.
        let opaque = merged.join("opaque");
        assert!(xattr_names(&opaque).is_empty());
    }));
    rustix::mount::unmount(&merged, rustix::mount::UnmountFlags::empty()).unwrap();
    m.unmount();
    assert!(!is_mounted(m.root()));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn failed_chunk_reads_give_eio() {
    can_mount();
    let fx = Fixture::standard();
    let mut reader = reader_for(&fx);
    reader.failing.insert("bin/busybox".into());
    let mut m = mount_fixture(&fx, Arc::new(reader), FsOptions::default());
    let path = m.path("bin/ls");
    let (done, result) = mpsc::channel();
    thread::spawn(move || done.send(fs::read(path)).unwrap());
    let err = result
        .recv_timeout(Duration::from_secs(20))
        .expect("a failing read must not hang")
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
    // The rest of the layer still works.
    assert_eq!(
        fs::read(m.path("etc/passwd")).unwrap(),
        fx.files["etc/passwd"]
    );
    m.unmount();
}

#[test]
fn slow_reads_do_not_block_metadata_or_other_reads() {
    can_mount();
    let fx = Fixture::standard();
    let mut reader = reader_for(&fx);
    reader
        .slow
        .insert("bin/busybox".into(), Duration::from_secs(2));
    let reader = Arc::new(reader);
    let mut m = mount_fixture(&fx, Arc::clone(&reader), FsOptions::default());
    let path = m.path("bin/busybox");
    let slow = thread::spawn(move || fs::read(path).unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reader.slow_started.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the slow read never started");
        thread::sleep(Duration::from_millis(5));
    }

    let start = Instant::now();
    assert_eq!(fs::metadata(m.path("etc/passwd")).unwrap().uid(), 1000);
    assert_eq!(
        fs::metadata(m.path("bin/busybox")).unwrap().size(),
        BUSYBOX_LEN as u64
    );
    assert!(names(m.root()).contains("bin"));
    assert!(names(&m.path("bin")).contains("busybox"));
    assert_eq!(
        fs::read_link(m.path("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    assert_eq!(
        fs::read(m.path("etc/hosts")).unwrap(),
        fx.files["etc/hosts"]
    );
    let elapsed = start.elapsed();
    assert!(!slow.is_finished(), "the slow read should still be running");
    assert!(
        elapsed < Duration::from_millis(1500),
        "metadata took {elapsed:?}"
    );

    assert_eq!(&slow.join().unwrap(), &fx.files["bin/busybox"]);
    m.unmount();
}

#[test]
fn access_log_records_first_accesses_in_order() {
    can_mount();
    let fx = Fixture::standard();
    let log = Arc::new(AccessLog::new());
    let opts = FsOptions {
        access_log: Some(Arc::clone(&log)),
    };
    let m = mount_fixture(&fx, Arc::new(reader_for(&fx)), opts);
    fs::read(m.path("etc/passwd")).unwrap();
    fs::metadata(m.path("etc/hosts")).unwrap();
    fs::read_dir(m.path("etc")).unwrap().for_each(drop);
    fs::read_link(m.path("bin/sh")).unwrap();
    // Through the hard link: recorded under the name holding the content.
    fs::read(m.path("bin/ls")).unwrap();
    fs::read(m.path("etc/passwd")).unwrap();
    fs::File::open(m.path("etc/empty")).unwrap();
    assert_eq!(
        log.paths(),
        ["etc/passwd", "bin/sh", "bin/busybox", "etc/empty"]
    );
    // Dropping the handle unmounts too.
    let root = m.root().to_owned();
    drop(m.layer);
    assert!(!is_mounted(&root));
}

#[test]
fn unmount_of_a_busy_mount_detaches_and_stops_the_server() {
    can_mount();
    let fx = Fixture::standard();
    let mut m = mount_fixture(&fx, Arc::new(reader_for(&fx)), FsOptions::default());
    let held = fs::File::open(m.path("etc/hosts")).unwrap();
    let start = Instant::now();
    m.unmount();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert!(!is_mounted(m.root()));
    // The server is gone: the open file cannot fetch anything any more.
    let mut buf = [0u8; 16];
    let err = held.read_at(&mut buf, 0).unwrap_err();
    assert!(
        matches!(
            err.raw_os_error(),
            Some(libc::ENOTCONN | libc::ECONNABORTED | libc::EIO)
        ),
        "{err}"
    );
}

#[test]
fn unmount_stale_detaches_only_dead_mounts() {
    can_mount();
    let dead = tempfile::tempdir().unwrap();
    // A mount whose server never answers and whose /dev/fuse is closed: what
    // a killed server leaves behind.
    drop(mount::mount_fuse(dead.path(), 0o755).unwrap());
    assert!(is_mounted(dead.path()));
    assert!(unmount_stale(dead.path()).unwrap());
    assert!(!is_mounted(dead.path()));
    assert!(!unmount_stale(dead.path()).unwrap());

    let fx = Fixture::standard();
    let mut live = mount_fixture(&fx, Arc::new(reader_for(&fx)), FsOptions::default());
    assert!(!unmount_stale(live.root()).unwrap());
    assert!(is_mounted(live.root()));
    live.unmount();
    assert!(!unmount_stale(Path::new("/nonexistent/hoist")).unwrap());
}

#[test]
fn unmount_after_someone_else_detached_the_mount() {
    can_mount();
    let fx = Fixture::standard();
    let mut m = mount_fixture(&fx, Arc::new(reader_for(&fx)), FsOptions::default());
    rustix::mount::unmount(m.root(), rustix::mount::UnmountFlags::DETACH).unwrap();
    let start = Instant::now();
    m.unmount();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    assert!(!is_mounted(m.root()));
}

//! Extraction tests: tars are built here with raw headers so that hostile
//! names the `tar` builder would refuse can be written.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use super::*;

pub(crate) struct TarBuilder {
    b: tar::Builder<Vec<u8>>,
}

pub(crate) const MTIME: u64 = 1_600_000_000;

impl TarBuilder {
    pub(crate) fn new() -> TarBuilder {
        TarBuilder {
            b: tar::Builder::new(Vec::new()),
        }
    }

    fn header(kind: EntryType, name: &[u8], mode: u32, size: u64) -> Header {
        let mut h = Header::new_gnu();
        let slot = &mut h.as_old_mut().name;
        assert!(name.len() < slot.len(), "use `long_file` for long names");
        slot[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(MTIME);
        h.set_size(size);
        h
    }

    fn push(&mut self, mut h: Header, data: &[u8]) -> &mut Self {
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }

    pub(crate) fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.file_full(name, data, 0o644, 0, 0, MTIME)
    }

    pub(crate) fn file_full(
        &mut self,
        name: &str,
        data: &[u8],
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
    ) -> &mut Self {
        let mut h = Self::header(EntryType::Regular, name.as_bytes(), mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(mtime);
        self.push(h, data)
    }

    /// A file whose name is longer than the 100-byte header field (GNU long name).
    pub(crate) fn long_file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(MTIME);
        h.set_size(data.len() as u64);
        self.b.append_data(&mut h, name, data).unwrap();
        self
    }

    pub(crate) fn dir(&mut self, name: &str, mode: u32, mtime: u64) -> &mut Self {
        let mut h = Self::header(EntryType::Directory, name.as_bytes(), mode, 0);
        h.set_mtime(mtime);
        self.push(h, b"")
    }

    fn link(&mut self, kind: EntryType, name: &[u8], target: &[u8]) -> &mut Self {
        let mut h = Self::header(kind, name, 0o777, 0);
        h.set_link_name_literal(target).unwrap();
        self.push(h, b"")
    }

    pub(crate) fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(EntryType::Symlink, name.as_bytes(), target.as_bytes())
    }

    pub(crate) fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(EntryType::Link, name.as_bytes(), target.as_bytes())
    }

    pub(crate) fn device(
        &mut self,
        name: &str,
        kind: EntryType,
        major: u32,
        minor: u32,
    ) -> &mut Self {
        let mut h = Self::header(kind, name.as_bytes(), 0o600, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.push(h, b"")
    }

    pub(crate) fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        self.b
            .append_pax_extensions(records.iter().copied())
            .unwrap();
        self
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.b, tar::Builder::new(Vec::new()));
        b.into_inner().unwrap()
    }
}

/// An extraction sandbox: `dest` inside `outer`, plus a canary beside it.
struct Sandbox {
    outer: tempfile::TempDir,
    dest: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let outer = tempfile::tempdir().unwrap();
        let dest = outer.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(outer.path().join("canary"), b"untouched").unwrap();
        Sandbox { outer, dest }
    }

    fn extract(&self, tar: &[u8]) -> Result<ExtractStats, ExtractError> {
        extract_tar_with(tar, &self.dest, &root_opts())
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dest.join(rel)
    }

    /// Nothing but `dest` and the canary exists beside `dest`.
    fn assert_outside_untouched(&self) {
        let mut names: Vec<_> = std::fs::read_dir(self.outer.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["canary", "dest"]);
        assert_eq!(
            std::fs::read(self.outer.path().join("canary")).unwrap(),
            b"untouched"
        );
    }
}

fn root_opts() -> ExtractOptions {
    ExtractOptions {
        allow_devices: true,
        preserve_owner: true,
    }
}

pub(crate) fn xattr(p: &Path, name: &str) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = rustix::fs::lgetxattr(p, name, &mut buf[..]).unwrap();
    buf[..n].to_vec()
}

fn lmeta(p: &Path) -> std::fs::Metadata {
    std::fs::symlink_metadata(p).unwrap()
}

#[test]
fn normal_layer_keeps_content_mode_owner_mtime_links_xattrs() {
    let sb = Sandbox::new();
    let long = format!("deep/{}/file", "n".repeat(120));
    let tar = TarBuilder::new()
        .dir("./", 0o755, MTIME)
        .dir("usr/", 0o755, MTIME)
        .dir("usr/bin/", 0o750, 1_500_000_000)
        .file_full(
            "usr/bin/tool",
            b"#!/bin/sh\necho hi\n",
            0o4755,
            1000,
            1001,
            1_400_000_000,
        )
        .hardlink("usr/bin/tool-alias", "usr/bin/tool")
        .symlink("usr/bin/abs", "/usr/share/zoneinfo/UTC")
        .symlink("usr/bin/rel", "../lib/x")
        .dir("empty/", 0o700, MTIME)
        .pax(&[
            ("SCHILY.xattr.user.note", b"hello"),
            ("mtime", b"1234567890.25"),
        ])
        .file("withx", b"x")
        .file("implicit/parent/f", b"p")
        .long_file(&long, b"long")
        .finish();
    let stats = sb.extract(&tar).unwrap();

    let tool = sb.p("usr/bin/tool");
    assert_eq!(std::fs::read(&tool).unwrap(), b"#!/bin/sh\necho hi\n");
    let m = lmeta(&tool);
    assert_eq!(m.mode() & 0o7777, 0o4755, "setuid survives chown");
    assert_eq!((m.uid(), m.gid()), (1000, 1001));
    assert_eq!(m.mtime(), 1_400_000_000);
    let alias = lmeta(&sb.p("usr/bin/tool-alias"));
    assert_eq!(alias.ino(), m.ino(), "hardlink shares the inode");
    assert_eq!(m.nlink(), 2);
    assert_eq!(
        std::fs::read_link(sb.p("usr/bin/abs")).unwrap(),
        Path::new("/usr/share/zoneinfo/UTC")
    );
    assert_eq!(
        std::fs::read_link(sb.p("usr/bin/rel")).unwrap(),
        Path::new("../lib/x")
    );
    assert_eq!(lmeta(&sb.p("usr/bin/abs")).mtime(), MTIME as i64);

    let bin = lmeta(&sb.p("usr/bin"));
    assert_eq!(bin.mode() & 0o7777, 0o750);
    assert_eq!(
        bin.mtime(),
        1_500_000_000,
        "dir mtime set after its children"
    );
    let empty = lmeta(&sb.p("empty"));
    assert!(empty.is_dir() && empty.mode() & 0o777 == 0o700);
    assert_eq!(std::fs::read_dir(sb.p("empty")).unwrap().count(), 0);

    let xm = lmeta(&sb.p("withx"));
    assert_eq!((xm.mtime(), xm.mtime_nsec()), (1_234_567_890, 250_000_000));
    assert_eq!(xattr(&sb.p("withx"), "user.note"), b"hello");

    assert_eq!(std::fs::read(sb.p("implicit/parent/f")).unwrap(), b"p");
    assert_eq!(std::fs::read(sb.p(&long)).unwrap(), b"long");
    assert_eq!(stats.entries, 11);
    assert_eq!(
        (stats.files, stats.dirs, stats.symlinks, stats.hardlinks),
        (4, 4, 2, 1)
    );
    assert_eq!(stats.tar_bytes, tar.len() as u64);
    sb.assert_outside_untouched();
}

#[test]
fn files_get_their_owner_and_mode_whether_or_not_made_with_them() {
    let sb = Sandbox::new();
    // Files made directly in a setgid directory take its group: the
    // extraction must still give each the group its header names.
    std::os::unix::fs::chown(&sb.dest, Some(0), Some(7)).unwrap();
    std::fs::set_permissions(&sb.dest, std::fs::Permissions::from_mode(0o2755)).unwrap();
    // "open" is made with less than it asks under the usual umask (022).
    let cases: [(&str, u32, u64, u64); 7] = [
        ("plain", 0o644, 0, 0),
        ("exe", 0o755, 0, 0),
        ("setuid", 0o4755, 0, 0),
        ("open", 0o666, 0, 0),
        ("none", 0o000, 0, 0),
        ("setgid-other-group", 0o2755, 0, 5),
        ("sticky-user", 0o1640, 1000, 1000),
    ];
    let mut tar = TarBuilder::new();
    for (name, mode, uid, gid) in cases {
        tar.file_full(name, name.as_bytes(), mode, uid, gid, MTIME);
    }
    sb.extract(&tar.finish()).unwrap();
    for (name, mode, uid, gid) in cases {
        let m = lmeta(&sb.p(name));
        assert_eq!(m.mode() & 0o7777, mode, "{name}");
        assert_eq!(
            (u64::from(m.uid()), u64::from(m.gid())),
            (uid, gid),
            "{name}"
        );
        assert_eq!(std::fs::read(sb.p(name)).unwrap(), name.as_bytes());
    }
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let sb = Sandbox::new();
    let tar = TarBuilder::new()
        .dir("etc/", 0o755, MTIME)
        .file("etc/.wh.motd", b"")
        .file("opt/.wh..wh..opq", b"")
        .file("etc/.wh..wh.plnk", b"")
        .finish();
    let stats = sb.extract(&tar).unwrap();
    let wh = lmeta(&sb.p("etc/motd"));
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
    assert!(!sb.p("etc/.wh.motd").exists());
    assert_eq!(xattr(&sb.p("opt"), OPAQUE_XATTR), b"y");
    assert!(!sb.p("opt/.wh..wh..opq").exists());
    assert!(
        !sb.p("etc/.wh..wh.plnk").exists(),
        "aufs metadata is skipped"
    );
    assert_eq!((stats.whiteouts, stats.opaque_dirs), (1, 1));
}

#[test]
fn later_entries_replace_earlier_ones() {
    let sb = Sandbox::new();
    let tar = TarBuilder::new()
        .file("a", b"first")
        .file("a", b"second")
        .dir("d/", 0o755, MTIME)
        .file("d/inner", b"x")
        .file("d", b"now a file")
        .file("e", b"file")
        .dir("e/", 0o711, MTIME)
        .dir("k/", 0o755, MTIME)
        .file("k/kept", b"x")
        .dir("k/", 0o700, 1_000)
        .file("s", b"file")
        .symlink("s", "a")
        // A file over a symlink replaces the link; it never writes through it.
        .symlink("t", "a")
        .file("t", b"over the link")
        .symlink("u", "/nowhere")
        .file("u", b"over a dangling link")
        .finish();
    sb.extract(&tar).unwrap();
    for (name, content) in [("t", "over the link"), ("u", "over a dangling link")] {
        assert!(lmeta(&sb.p(name)).is_file(), "{name}");
        assert_eq!(std::fs::read(sb.p(name)).unwrap(), content.as_bytes());
    }
    sb.assert_outside_untouched();
    assert_eq!(std::fs::read(sb.p("a")).unwrap(), b"second");
    assert_eq!(std::fs::read(sb.p("d")).unwrap(), b"now a file");
    assert!(lmeta(&sb.p("e")).is_dir());
    let k = lmeta(&sb.p("k"));
    assert_eq!(
        (k.mode() & 0o777, k.mtime()),
        (0o700, 1_000),
        "dir over dir updates metadata"
    );
    assert!(sb.p("k/kept").exists(), "dir over dir keeps the contents");
    assert!(lmeta(&sb.p("s")).file_type().is_symlink());
}

#[test]
fn devices_need_permission() {
    let sb = Sandbox::new();
    let tar = TarBuilder::new()
        .device("dev/null", EntryType::Char, 1, 3)
        .finish();
    let no = ExtractOptions {
        allow_devices: false,
        preserve_owner: false,
    };
    let err = extract_tar_with(&tar[..], &sb.dest, &no).unwrap_err();
    assert!(
        matches!(&err, ExtractError::NotPermitted { entry, .. } if entry == "dev/null"),
        "{err}"
    );
    assert!(!sb.p("dev/null").exists());

    if rustix::process::geteuid().is_root() {
        let tar = TarBuilder::new()
            .device("dev/null", EntryType::Char, 1, 3)
            .device("fifo", EntryType::Fifo, 0, 0)
            .finish();
        let stats = sb.extract(&tar).unwrap();
        let m = lmeta(&sb.p("dev/null"));
        assert!(m.file_type().is_char_device());
        assert_eq!(m.rdev(), rustix::fs::makedev(1, 3));
        assert!(lmeta(&sb.p("fifo")).file_type().is_fifo());
        assert_eq!(stats.devices, 2);
    }
}

fn expect_hostile(tar: &[u8], check: impl Fn(&ExtractError) -> bool) -> Sandbox {
    let sb = Sandbox::new();
    let err = sb.extract(tar).unwrap_err();
    assert!(check(&err), "unexpected error: {err}");
    sb.assert_outside_untouched();
    sb
}

#[test]
fn dotdot_and_absolute_names_are_hostile() {
    for name in ["../x", "a/../../x", "/../etc/x", "ok/../../../etc/x"] {
        let tar = TarBuilder::new().file(name, b"pwned").finish();
        let sb = expect_hostile(
            &tar,
            |e| matches!(e, ExtractError::Hostile { entry, .. } if entry == name),
        );
        assert!(!sb.outer.path().join("x").exists());
        let msg = sb.extract(&tar).unwrap_err().to_string();
        assert!(msg.contains(name) && msg.contains("hostile"), "{msg}");
    }
}

#[test]
fn escaping_relative_symlink_is_rejected() {
    let tar = TarBuilder::new()
        .symlink("a", "../../..")
        .file("a/x", b"pwned")
        .finish();
    let sb = expect_hostile(
        &tar,
        |e| matches!(e, ExtractError::SymlinkEscape { entry, .. } if entry == "a"),
    );
    assert!(std::fs::symlink_metadata(sb.p("a")).is_err());
}

#[test]
fn absolute_symlink_dir_keeps_writes_inside() {
    let before = std::fs::read("/etc/passwd").unwrap();
    let tar = TarBuilder::new()
        .symlink("d", "/")
        .file("d/etc/passwd", b"root::0:0::/:/bin/sh\n")
        .symlink("e", "/../..")
        .file("e/escaped", b"x")
        .finish();
    let sb = Sandbox::new();
    sb.extract(&tar).unwrap();
    assert_eq!(
        std::fs::read("/etc/passwd").unwrap(),
        before,
        "host file overwritten"
    );
    assert_eq!(
        std::fs::read(sb.p("etc/passwd")).unwrap(),
        b"root::0:0::/:/bin/sh\n"
    );
    assert!(sb.p("escaped").exists() && !Path::new("/escaped").exists());
    sb.assert_outside_untouched();
}

#[test]
fn hardlinks_outside_or_to_missing_targets_fail() {
    let cases: [(&str, &str); 4] = [
        ("../../etc/passwd", "`..`"),
        ("/../etc/passwd", "`..`"),
        ("d/etc/passwd", "does not exist"),
        ("dir", "directory"),
    ];
    for (target, why) in cases {
        let tar = TarBuilder::new()
            .symlink("d", "/")
            .dir("dir/", 0o755, MTIME)
            .hardlink("l", target)
            .finish();
        let sb = expect_hostile(
            &tar,
            |e| matches!(e, ExtractError::BadHardlink { entry, reason, .. } if entry == "l" && reason.contains(why)),
        );
        assert!(std::fs::symlink_metadata(sb.p("l")).is_err());
    }
}

#[test]
fn truncated_or_garbage_streams_fail_cleanly() {
    let tar = TarBuilder::new().file("big", &vec![1u8; 10_000]).finish();
    let sb = Sandbox::new();
    let err = sb.extract(&tar[..5_000]).unwrap_err();
    assert!(matches!(err, ExtractError::Archive(_)), "{err}");
    let err = Sandbox::new().extract(&[0xAB; 1024]).unwrap_err();
    assert!(
        matches!(err, ExtractError::Archive(_) | ExtractError::Header { .. }),
        "{err}"
    );
}

#[test]
fn old_style_directory_names_are_directories() {
    let sb = Sandbox::new();
    let mut h = Header::new_old();
    h.as_old_mut().name[..4].copy_from_slice(b"old/");
    h.set_entry_type(EntryType::Regular);
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(0);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, &b""[..]).unwrap();
    sb.extract(&b.into_inner().unwrap()).unwrap();
    assert!(lmeta(&sb.p("old")).is_dir());
}

/// Extraction options for tests that make fifos and devices: devices always
/// allowed (the policy flag), ownership only where chown works.
fn device_opts() -> ExtractOptions {
    ExtractOptions {
        allow_devices: true,
        preserve_owner: rustix::process::geteuid().is_root(),
    }
}

fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {out:?}");
}

#[test]
fn fifos_and_devices_from_gnu_and_bsd_tar_unpack() {
    let root = rustix::process::geteuid().is_root();
    let src = tempfile::tempdir().unwrap();
    let s = src.path();
    std::fs::create_dir(s.join("d")).unwrap();
    std::fs::write(s.join("d/f"), b"data").unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        s.join("d/p"),
        FileType::Fifo,
        Mode::from_raw_mode(0o640),
        0,
    )
    .unwrap();
    if root {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            s.join("d/null"),
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, 3),
        )
        .unwrap();
    }
    let mut made = Vec::new();
    let out = tempfile::tempdir().unwrap();
    // GNU tar's default (gnu) format leaves a FIFO's devmajor/devminor all NUL.
    for format in ["gnu", "oldgnu", "ustar", "posix"] {
        let tar = out.path().join(format!("gnu-{format}.tar"));
        run(std::process::Command::new("tar")
            .arg(format!("--format={format}"))
            .arg("-cf")
            .arg(&tar)
            .arg("-C")
            .arg(s)
            .arg("d"));
        made.push(tar);
    }
    // BSD tar (libarchive-tools) writes devices its own way: it must be here.
    hoist_testenv::require(&["bsdtar"]);
    for format in ["ustar", "pax", "gnutar"] {
        let tar = out.path().join(format!("bsd-{format}.tar"));
        run(std::process::Command::new("bsdtar")
            .arg("--format")
            .arg(format)
            .arg("-cf")
            .arg(&tar)
            .arg("-C")
            .arg(s)
            .arg("d"));
        made.push(tar);
    }
    for tar in made {
        let sb = Sandbox::new();
        let bytes = std::fs::read(&tar).unwrap();
        extract_tar_with(&bytes[..], &sb.dest, &device_opts())
            .unwrap_or_else(|e| panic!("{}: {e}", tar.display()));
        let p = lmeta(&sb.p("d/p"));
        assert!(p.file_type().is_fifo(), "{}", tar.display());
        assert_eq!(p.mode() & 0o777, 0o640, "{}", tar.display());
        assert_eq!(std::fs::read(sb.p("d/f")).unwrap(), b"data");
        if root {
            let n = lmeta(&sb.p("d/null"));
            assert!(n.file_type().is_char_device(), "{}", tar.display());
            assert_eq!(n.rdev(), rustix::fs::makedev(1, 3), "{}", tar.display());
        }
    }
}

/// A ustar header for `name` with its numeric fields set to raw bytes.
fn raw_header(kind: EntryType, name: &str, fields: &[(&str, &[u8])]) -> Header {
    let mut h = Header::new_ustar();
    h.set_path(name).unwrap();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(0);
    for (field, raw) in fields {
        let slot: &mut [u8] = match *field {
            "mode" => &mut h.as_old_mut().mode,
            "uid" => &mut h.as_old_mut().uid,
            "gid" => &mut h.as_old_mut().gid,
            "mtime" => &mut h.as_old_mut().mtime,
            "devmajor" => &mut h.as_ustar_mut().unwrap().dev_major,
            "devminor" => &mut h.as_ustar_mut().unwrap().dev_minor,
            f => panic!("no field {f}"),
        };
        slot.fill(0);
        slot[..raw.len()].copy_from_slice(raw);
    }
    h.set_cksum();
    h
}

#[test]
fn hand_made_numeric_fields_of_every_style() {
    let uid256 = [0x80, 0, 0, 0, 0, 0x01, 0x86, 0xa0]; // 100000 in base-256
    let mtime256 = [0x80, 0, 0, 0, 0, 0, 0, 0, 0x5f, 0x5e, 0x10, 0x00]; // 1600000000
    let mut b = tar::Builder::new(Vec::new());
    let headers = [
        raw_header(
            EntryType::Fifo,
            "nul-dev",
            &[("devmajor", b""), ("devminor", b"")],
        ),
        raw_header(
            EntryType::Fifo,
            "space-dev",
            &[("devmajor", b"        "), ("devminor", b"       \0")],
        ),
        raw_header(
            EntryType::Regular,
            "bsd-style",
            &[("mode", b"000600 \0"), ("uid", b"   144 \0"), ("gid", b"")],
        ),
        raw_header(
            EntryType::Regular,
            "base256",
            &[("uid", &uid256), ("mtime", &mtime256)],
        ),
    ];
    for h in &headers {
        b.append(h, &b""[..]).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let sb = Sandbox::new();
    extract_tar_with(&tar[..], &sb.dest, &device_opts()).unwrap();
    assert!(lmeta(&sb.p("nul-dev")).file_type().is_fifo());
    assert!(lmeta(&sb.p("space-dev")).file_type().is_fifo());
    let m = lmeta(&sb.p("bsd-style"));
    assert_eq!(m.mode() & 0o7777, 0o600);
    assert_eq!(m.mtime(), MTIME as i64);
    if rustix::process::geteuid().is_root() {
        assert_eq!((m.uid(), m.gid()), (0o144, 0));
        assert_eq!(lmeta(&sb.p("base256")).uid(), 100_000);
    }
    assert_eq!(lmeta(&sb.p("base256")).mtime(), 1_600_000_000);

    // Garbage is still an error that names the entry and the field.
    let bad = raw_header(EntryType::Regular, "bad", &[("uid", b"12x4\0")]);
    let mut b = tar::Builder::new(Vec::new());
    b.append(&bad, &b""[..]).unwrap();
    let err = Sandbox::new()
        .extract(&b.into_inner().unwrap())
        .unwrap_err();
    assert!(
        matches!(&err, ExtractError::Header { entry, .. } if entry == "bad"),
        "{err}"
    );
    assert!(err.to_string().contains("uid"), "{err}");
}

#[test]
fn leading_slash_names_the_layer_root() {
    let tar = TarBuilder::new()
        .dir("/", 0o755, MTIME)
        .dir("/etc/", 0o750, MTIME)
        .file("/etc/x", b"inside")
        .file("./etc/y", b"dot")
        .hardlink("/etc/z", "/etc/x")
        .finish();
    let sb = Sandbox::new();
    let stats = sb.extract(&tar).unwrap();
    assert_eq!(std::fs::read(sb.p("etc/x")).unwrap(), b"inside");
    assert_eq!(std::fs::read(sb.p("etc/y")).unwrap(), b"dot");
    assert_eq!(lmeta(&sb.p("etc/z")).ino(), lmeta(&sb.p("etc/x")).ino());
    assert_eq!(lmeta(&sb.p("etc")).mode() & 0o777, 0o750);
    assert_eq!(stats.entries, 5);
    sb.assert_outside_untouched();
}

#[test]
fn absolute_symlink_parent_resolves_inside_or_fails_clearly() {
    // Without usr/lib in the layer, `lib -> /usr/lib` leads nowhere: a clear
    // error naming the entry, the symlink and its target.
    let tar = TarBuilder::new()
        .symlink("lib", "/usr/lib")
        .file("lib/x", b"x")
        .finish();
    let sb = expect_hostile(&tar, |e| {
        matches!(e, ExtractError::BadParent { entry, parent, reason }
            if entry == "lib/x" && parent == "lib" && reason.contains("/usr/lib"))
    });
    let msg = sb.extract(&tar).unwrap_err().to_string();
    assert!(
        msg.contains("\"lib/x\"") && msg.contains("symlink") && !msg.contains("os error"),
        "{msg}"
    );
    // With it, the entry lands in the layer's own usr/lib, as podman puts it.
    let tar = TarBuilder::new()
        .dir("usr/lib/", 0o755, MTIME)
        .symlink("lib", "/usr/lib")
        .file("lib/x", b"x")
        .finish();
    let sb = Sandbox::new();
    sb.extract(&tar).unwrap();
    assert_eq!(std::fs::read(sb.p("usr/lib/x")).unwrap(), b"x");
    assert!(lmeta(&sb.p("lib")).file_type().is_symlink());
    sb.assert_outside_untouched();
    // A file in the way of a directory is named as such.
    let tar = TarBuilder::new().file("f", b"").file("f/x", b"x").finish();
    expect_hostile(&tar, |e| {
        matches!(e, ExtractError::BadParent { entry, parent, reason }
            if entry == "f/x" && parent == "f" && reason.contains("not a directory"))
    });
}

#[test]
fn stream_ending_in_the_padding_after_complete_data_is_complete() {
    let tar = TarBuilder::new()
        .file("a", b"x")
        .file("b", b"hello")
        .finish();
    // Header of b at 1024, its data at 1536..1541, padding to 2048.
    for cut in [1541, 1543, 2047, 2048] {
        let sb = Sandbox::new();
        let stats = sb
            .extract(&tar[..cut])
            .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(std::fs::read(sb.p("b")).unwrap(), b"hello");
        assert_eq!(stats.tar_bytes, cut as u64, "only real bytes count");
    }
    // Cut inside the data or inside a header: still corrupt.
    for cut in [1538, 1024 + 100] {
        let err = Sandbox::new().extract(&tar[..cut]).unwrap_err();
        assert!(
            matches!(err, ExtractError::Archive(_)),
            "cut at {cut}: {err}"
        );
    }
}

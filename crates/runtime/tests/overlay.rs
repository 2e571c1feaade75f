//! The overlay root filesystem on the real kernel (as root): layer order,
//! whiteouts, opaque directories, option strings longer than a page, and
//! the read-only variant.

use std::path::{Path, PathBuf};

use hoist_runtime::rootfs::{mount_overlay, mount_overlay_readonly, unmount};
use rustix::fs::{FileType, Mode};

/// Unmounts on drop so a failing test does not leave a mount behind.
struct Mounted(PathBuf);
impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = unmount(&self.0);
    }
}

fn mkdirs(base: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| {
            let p = base.join(n);
            std::fs::create_dir_all(&p).unwrap();
            p
        })
        .collect()
}

fn whiteout(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        FileType::CharacterDevice,
        Mode::empty(),
        0,
    )
    .unwrap();
}

#[test]
fn two_layers_whiteouts_and_opaque_dirs() {
    hoist_testenv::require_root();
    let d = tempfile::tempdir().unwrap();
    let [bottom, top, upper, work, merged] =
        mkdirs(d.path(), &["bottom", "top", "upper", "work", "merged"])
            .try_into()
            .unwrap();
    std::fs::create_dir_all(bottom.join("a")).unwrap();
    std::fs::write(bottom.join("a/gone"), "bottom").unwrap();
    std::fs::write(bottom.join("a/kept"), "bottom").unwrap();
    std::fs::write(bottom.join("a/shadowed"), "bottom").unwrap();
    std::fs::create_dir_all(bottom.join("dir")).unwrap();
    std::fs::write(bottom.join("dir/x"), "bottom").unwrap();

    std::fs::create_dir_all(top.join("a")).unwrap();
    whiteout(&top.join("a/gone"));
    std::fs::write(top.join("a/shadowed"), "top").unwrap();
    std::fs::write(top.join("a/new"), "top").unwrap();
    std::fs::create_dir_all(top.join("dir")).unwrap();
    rustix::fs::setxattr(
        top.join("dir"),
        "trusted.overlay.opaque",
        b"y",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    std::fs::write(top.join("dir/y"), "top").unwrap();

    mount_overlay(&[top.clone(), bottom.clone()], &upper, &work, &merged).unwrap();
    let _m = Mounted(merged.clone());
    let read = |p: &str| std::fs::read_to_string(merged.join(p)).ok();
    assert_eq!(
        read("a/gone"),
        None,
        "the whiteout in the top layer hides the bottom file"
    );
    assert_eq!(read("a/kept").as_deref(), Some("bottom"));
    assert_eq!(read("a/shadowed").as_deref(), Some("top"));
    assert_eq!(read("a/new").as_deref(), Some("top"));
    assert_eq!(
        read("dir/x"),
        None,
        "the opaque directory hides the bottom one's content"
    );
    assert_eq!(read("dir/y").as_deref(), Some("top"));

    // Writes land in the upper directory only.
    std::fs::write(merged.join("a/kept"), "changed").unwrap();
    std::fs::remove_file(merged.join("a/new")).unwrap();
    assert_eq!(
        std::fs::read_to_string(upper.join("a/kept")).unwrap(),
        "changed"
    );
    assert_eq!(
        std::fs::read_to_string(bottom.join("a/kept")).unwrap(),
        "bottom"
    );
    assert!(top.join("a/new").exists());
    let st = rustix::fs::lstat(upper.join("a/new")).unwrap();
    assert_eq!(
        FileType::from_raw_mode(st.st_mode),
        FileType::CharacterDevice,
        "deletion is a whiteout in upper"
    );

    unmount(&merged).unwrap();
    assert_eq!(std::fs::read_dir(&merged).unwrap().count(), 0);
    unmount(&merged).unwrap();
}

#[test]
fn options_longer_than_a_page_still_mount() {
    hoist_testenv::require_root();
    let d = tempfile::tempdir().unwrap();
    // 120 layers named like the store's: `<64 hex>/diff`, about 9 KiB of options.
    let layers: Vec<PathBuf> = (0..120)
        .map(|i| {
            let p = d.path().join(format!("layers/{i:064x}/diff"));
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join(format!("f{i}")), i.to_string()).unwrap();
            p
        })
        .collect();
    let total: usize = layers.iter().map(|p| p.as_os_str().len() + 1).sum();
    assert!(total > 4096, "the test must exceed a page ({total})");
    let [upper, work, merged] = mkdirs(d.path(), &["upper", "work", "merged"])
        .try_into()
        .unwrap();
    // Layer 119 first: it is the top.
    let top_first: Vec<PathBuf> = layers.iter().rev().cloned().collect();
    mount_overlay(&top_first, &upper, &work, &merged).unwrap();
    let _m = Mounted(merged.clone());
    assert_eq!(std::fs::read_to_string(merged.join("f0")).unwrap(), "0");
    assert_eq!(std::fs::read_to_string(merged.join("f119")).unwrap(), "119");
    assert_eq!(std::fs::read_dir(&merged).unwrap().count(), 120);
}

#[test]
fn read_only_variant() {
    hoist_testenv::require_root();
    let d = tempfile::tempdir().unwrap();
    let [l1, l2, merged, single] = mkdirs(d.path(), &["l1", "l2", "merged", "single"])
        .try_into()
        .unwrap();
    std::fs::write(l1.join("one"), "1").unwrap();
    std::fs::write(l2.join("two"), "2").unwrap();

    mount_overlay_readonly(&[l2.clone(), l1.clone()], &merged).unwrap();
    let _m = Mounted(merged.clone());
    assert_eq!(std::fs::read_to_string(merged.join("one")).unwrap(), "1");
    assert_eq!(std::fs::read_to_string(merged.join("two")).unwrap(), "2");
    let err = std::fs::write(merged.join("new"), "x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));

    // One layer: a read-only bind mount.
    mount_overlay_readonly(std::slice::from_ref(&l1), &single).unwrap();
    let _s = Mounted(single.clone());
    assert_eq!(std::fs::read_to_string(single.join("one")).unwrap(), "1");
    let err = std::fs::write(single.join("new"), "x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));
    // The layer itself stays writable.
    std::fs::write(l1.join("new"), "x").unwrap();
}

#[test]
fn mount_errors_name_the_target() {
    hoist_testenv::require_root();
    let d = tempfile::tempdir().unwrap();
    let [l, u, w] = mkdirs(d.path(), &["l", "u", "w"]).try_into().unwrap();
    let missing = d.path().join("missing");
    let err = mount_overlay(&[l], &u, &w, &missing).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("missing") && msg.contains("mounting overlay"),
        "{msg}"
    );
}

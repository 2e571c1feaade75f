//! Idmapped layers under an overlay as a container with
//! `--uidmap 0:100000:65536` needs them: the image's files show owned by
//! the mapped root, stay owned by root on disk, and what is written
//! lands in the upper layer with mapped owners. Needs root.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use hoist_idmap::{idmapped_bind, parse_id_map, UserNamespace};

fn owner(p: &Path) -> (u32, u32) {
    let m = std::fs::symlink_metadata(p).unwrap();
    (m.uid(), m.gid())
}

struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

#[test]
fn idmapped_lower_layers_under_an_overlay() {
    hoist_testenv::require_root();
    let t = tempfile::tempdir().unwrap();
    let d = |n: &str| t.path().join(n);
    for n in ["layer", "mapped", "diff", "work", "merged"] {
        std::fs::create_dir(d(n)).unwrap();
    }
    std::fs::write(d("layer/f"), "image\n").unwrap();
    std::os::unix::fs::chown(d("diff"), Some(100000), Some(100000)).unwrap();

    let map = parse_id_map("0:100000:65536").unwrap();
    let ns = UserNamespace::with_maps(&[map], &[map]).unwrap();
    idmapped_bind(&d("layer"), &d("mapped"), &ns).unwrap();
    let _m = Unmount(&d("mapped"));
    assert_eq!(owner(&d("mapped/f")), (100000, 100000));
    assert_eq!(
        owner(&d("layer/f")),
        (0, 0),
        "the layer itself is unchanged"
    );

    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        d("mapped").display(),
        d("diff").display(),
        d("work").display()
    );
    let data = std::ffi::CString::new(data).unwrap();
    rustix::mount::mount(
        "overlay",
        d("merged"),
        "overlay",
        rustix::mount::MountFlags::empty(),
        Some(data.as_c_str()),
    )
    .unwrap();
    let _o = Unmount(&d("merged"));
    assert_eq!(owner(&d("merged")), (100000, 100000));
    assert_eq!(owner(&d("merged/f")), (100000, 100000));
    // A copy-up keeps the mapped owner; the image's file stays as it was.
    std::fs::write(d("merged/f"), "changed\n").unwrap();
    assert_eq!(owner(&d("diff/f")), (100000, 100000));
    assert_eq!(std::fs::read_to_string(d("layer/f")).unwrap(), "image\n");
}

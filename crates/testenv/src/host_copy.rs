//! Layers copied from host directories, for images big and varied enough to benchmark
//! with (what Debian installed under /usr is real-world content).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path};

use crate::layer::Layer;

/// See [`Layer::copy_of_host_dir`].
pub(crate) fn copy_of_host_dir(dir: &Path) -> Layer {
    let dir = dir.canonicalize().unwrap_or_else(|e| {
        panic!(
            "cannot copy host directory {} into a layer: {e}",
            dir.display()
        )
    });
    let meta = std::fs::symlink_metadata(&dir)
        .unwrap_or_else(|e| panic!("cannot stat {}: {e}", dir.display()));
    assert!(
        meta.is_dir(),
        "{} is not a directory; --from-dir/copy_of_host_dir needs one",
        dir.display()
    );

    let mut layer = Layer::new();
    // Parents first so the layer is self-contained wherever it is unpacked.
    let mut archive_path = String::new();
    let mut host_path = std::path::PathBuf::from("/");
    for c in dir.components() {
        let Component::Normal(name) = c else { continue };
        let Some(name) = name.to_str() else {
            panic!(
                "{} has a non-UTF-8 component; pick another directory",
                dir.display()
            )
        };
        host_path.push(name);
        if !archive_path.is_empty() {
            archive_path.push('/');
        }
        archive_path.push_str(name);
        let m = std::fs::symlink_metadata(&host_path)
            .unwrap_or_else(|e| panic!("cannot stat {}: {e}", host_path.display()));
        layer = layer.dir_owned(
            &archive_path,
            m.mode() & 0o7777,
            m.uid().into(),
            m.gid().into(),
        );
    }
    assert!(
        !archive_path.is_empty(),
        "copying the host root directory into a layer is not supported"
    );

    let mut skipped = Skipped::default();
    layer = walk(layer, &dir, &archive_path, &mut skipped);
    if skipped.special + skipped.non_utf8 > 0 {
        eprintln!(
            "hoist-testenv: copy of {} skipped {} sockets/devices/fifos and {} non-UTF-8 names",
            dir.display(),
            skipped.special,
            skipped.non_utf8
        );
    }
    layer
}

#[derive(Default)]
struct Skipped {
    special: usize,
    non_utf8: usize,
}

fn walk(mut layer: Layer, dir: &Path, archive_dir: &str, skipped: &mut Skipped) -> Layer {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|r| {
            r.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .file_name()
        })
        .collect();
    // read_dir order depends on the file system; sorting makes the layer reproducible.
    names.sort();
    for name in names {
        let host = dir.join(&name);
        let Some(name) = name.to_str() else {
            skipped.non_utf8 += 1;
            continue;
        };
        let path = format!("{archive_dir}/{name}");
        let m = std::fs::symlink_metadata(&host)
            .unwrap_or_else(|e| panic!("cannot stat {}: {e}", host.display()));
        let (mode, uid, gid) = (m.mode() & 0o7777, u64::from(m.uid()), u64::from(m.gid()));
        let ft = m.file_type();
        if ft.is_dir() {
            layer = layer.dir_owned(&path, mode, uid, gid);
            layer = walk(layer, &host, &path, skipped);
        } else if ft.is_file() {
            layer = layer.host_file(&path, host, m.len(), mode, uid, gid);
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&host)
                .unwrap_or_else(|e| panic!("cannot read symlink {}: {e}", host.display()));
            match target.to_str() {
                Some(t) => layer = layer.symlink(&path, t),
                None => skipped.non_utf8 += 1,
            }
        } else if ft.is_socket() || ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
            skipped.special += 1;
        }
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn copies_parents_files_dirs_symlinks_and_skips_sockets() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("tree");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::write(root.join("b.txt"), "bee").unwrap();
        std::fs::write(root.join("sub/a.bin"), [0u8, 1, 2]).unwrap();
        std::fs::set_permissions(
            root.join("sub/a.bin"),
            std::fs::Permissions::from_mode(0o750),
        )
        .unwrap();
        std::os::unix::fs::symlink("../b.txt", root.join("sub/link")).unwrap();
        let _sock = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();

        let layer = copy_of_host_dir(&root);
        let tar = layer.tar();
        let mut a = tar::Archive::new(tar.as_slice());
        let mut got = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            let ty = e.header().entry_type();
            let mode = e.header().mode().unwrap();
            let link = e
                .link_name_bytes()
                .map(|l| String::from_utf8(l.into_owned()).unwrap());
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            got.push((name, ty, mode, link, data));
        }

        let base = root
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_start_matches('/')
            .to_string();
        let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        // Every parent directory comes first, as a directory.
        let parents: Vec<String> = Path::new(&base)
            .ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| p.to_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert_eq!(&names[..parents.len()], parents.as_slice());
        for g in &got[..parents.len()] {
            assert_eq!(g.1, tar::EntryType::Directory);
        }
        let rest: Vec<String> = names[parents.len()..]
            .iter()
            .map(|n| n.strip_prefix(&format!("{base}/")).unwrap().to_string())
            .collect();
        assert_eq!(
            rest,
            ["b.txt", "sub", "sub/a.bin", "sub/deeper", "sub/link"]
        );

        let find = |n: &str| got.iter().find(|g| g.0 == format!("{base}/{n}")).unwrap();
        assert_eq!(find("b.txt").4, b"bee");
        assert_eq!(find("sub/a.bin").4, [0, 1, 2]);
        assert_eq!(find("sub/a.bin").2, 0o750);
        assert_eq!(find("sub/link").1, tar::EntryType::Symlink);
        assert_eq!(find("sub/link").3.as_deref(), Some("../b.txt"));
        assert_eq!(find("sub/deeper").1, tar::EntryType::Directory);

        // Deterministic: the same tree gives the same bytes.
        assert_eq!(copy_of_host_dir(&root).tar(), tar);
    }

    #[test]
    #[should_panic(expected = "is not a directory")]
    fn refuses_a_regular_file() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        copy_of_host_dir(tmp.path());
    }

    #[test]
    #[should_panic(expected = "cannot copy host directory")]
    fn refuses_a_missing_directory() {
        copy_of_host_dir(Path::new("/nonexistent/hoist-testenv"));
    }
}

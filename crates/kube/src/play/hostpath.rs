//! hostPath volumes on the host: checked against their `type`, made when
//! the type says `OrCreate` (and then reported, so a failed play can take
//! them away again).

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::volumes::HostPathKind;
use crate::error::{io_err, KubeError, Result};

/// What `prepare` made on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Made {
    Dir(PathBuf),
    File(PathBuf),
}

fn wrong(path: &Path, expected: &str) -> KubeError {
    KubeError::Play(format!(
        "hostPath {}: not a {expected} (the volume's type asks for one)",
        path.display()
    ))
}

fn missing(path: &Path, kind: &str) -> KubeError {
    KubeError::Play(format!(
        "hostPath {}: no such {kind}: create it, or use the type {kind}OrCreate",
        path.display()
    ))
}

/// Checks (or makes) `path` as `kind` asks; returns what it made.
pub fn prepare(path: &Path, kind: HostPathKind) -> Result<Option<Made>> {
    let meta = std::fs::metadata(path);
    let exists = meta.is_ok();
    let ft = meta.as_ref().ok().map(|m| m.file_type());
    match kind {
        HostPathKind::Any => Ok(None),
        HostPathKind::Directory => match ft {
            Some(t) if t.is_dir() => Ok(None),
            Some(_) => Err(wrong(path, "directory")),
            None => Err(missing(path, "Directory")),
        },
        HostPathKind::DirectoryOrCreate if exists => match ft {
            Some(t) if t.is_dir() => Ok(None),
            _ => Err(wrong(path, "directory")),
        },
        HostPathKind::DirectoryOrCreate => {
            // Only the last component is ours to take away again.
            std::fs::create_dir_all(path)
                .map_err(io_err("creating the hostPath directory", path))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                .map_err(io_err("setting the mode of", path))?;
            Ok(Some(Made::Dir(path.to_path_buf())))
        }
        HostPathKind::File => match ft {
            Some(t) if t.is_file() => Ok(None),
            Some(_) => Err(wrong(path, "file")),
            None => Err(missing(path, "File")),
        },
        HostPathKind::FileOrCreate if exists => match ft {
            Some(t) if t.is_file() => Ok(None),
            _ => Err(wrong(path, "file")),
        },
        HostPathKind::FileOrCreate => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(io_err("creating the parent of hostPath", path))?;
            }
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(io_err("creating the hostPath file", path))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
                .map_err(io_err("setting the mode of", path))?;
            Ok(Some(Made::File(path.to_path_buf())))
        }
        HostPathKind::Socket => check(path, ft, "socket", |t| t.is_socket()),
        HostPathKind::CharDevice => check(path, ft, "character device", |t| t.is_char_device()),
        HostPathKind::BlockDevice => check(path, ft, "block device", |t| t.is_block_device()),
    }
}

fn check(
    path: &Path,
    ft: Option<std::fs::FileType>,
    what: &str,
    is: impl Fn(&std::fs::FileType) -> bool,
) -> Result<Option<Made>> {
    match ft {
        Some(t) if is(&t) => Ok(None),
        Some(_) => Err(wrong(path, what)),
        None => Err(KubeError::Play(format!(
            "hostPath {}: no such {what}",
            path.display()
        ))),
    }
}

/// Takes away what `prepare` made (a directory only while empty).
pub fn undo(m: &Made) {
    let _ = match m {
        Made::Dir(p) => std::fs::remove_dir(p),
        Made::File(p) => std::fs::remove_file(p),
    };
}

/// The SELinux label podman gives what a `:z` mount shares between
/// containers.
pub const SHARED_LABEL: &str = "system_u:object_r:container_file_t:s0";

/// `:z`/`:Z`: labels `path` and everything below it (symbolic links are
/// not followed) as podman does, with the xattr SELinux reads.
pub fn relabel(path: &Path, label: &str) -> Result<()> {
    // The host's own trees are never relabeled (podman refuses them too).
    const SYSTEM: &[&str] = &[
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/proc", "/root", "/run",
        "/sbin", "/sys", "/tmp", "/usr", "/var",
    ];
    let clean = std::path::absolute(path).map_err(io_err("resolving", path))?;
    if SYSTEM.iter().any(|s| clean == Path::new(s)) {
        return Err(KubeError::Play(format!(
            "relabeling content in {} is not allowed: mount a directory below it, or leave out :z/:Z",
            clean.display()
        )));
    }
    let mut value = label.as_bytes().to_vec();
    value.push(0);
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        rustix::fs::lsetxattr(
            &p,
            "security.selinux",
            &value,
            rustix::fs::XattrFlags::empty(),
        )
        .map_err(|e| {
            KubeError::Play(format!(
                "relabeling {} for the :z/:Z mount option: {e}",
                p.display()
            ))
        })?;
        let meta = std::fs::symlink_metadata(&p).map_err(io_err("reading", &p))?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&p).map_err(io_err("listing", &p))? {
                stack.push(entry.map_err(io_err("listing", &p))?.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_checked_and_made() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(prepare(d, HostPathKind::Directory).unwrap(), None);
        assert!(prepare(&d.join("no"), HostPathKind::Directory).is_err());
        assert!(prepare(d, HostPathKind::File).is_err());
        let made = prepare(&d.join("new"), HostPathKind::DirectoryOrCreate).unwrap();
        assert_eq!(made, Some(Made::Dir(d.join("new"))));
        let f = d.join("sub/f");
        assert_eq!(
            prepare(&f, HostPathKind::FileOrCreate).unwrap(),
            Some(Made::File(f.clone()))
        );
        assert_eq!(prepare(&f, HostPathKind::File).unwrap(), None);
        assert!(prepare(&f, HostPathKind::Socket).is_err());
        assert!(prepare(&f, HostPathKind::DirectoryOrCreate).is_err());
        undo(&Made::File(f.clone()));
        assert!(!f.exists());
        assert!(relabel(Path::new("/usr"), SHARED_LABEL).is_err());
    }
}

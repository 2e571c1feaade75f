//! Reading a file of an image's root filesystem without ever leaving it: an
//! image can plant `/etc/passwd -> /etc/shadow of the host`-style symlinks,
//! so every lookup is resolved by the kernel as if `root` were `/`
//! (`openat2` with `RESOLVE_IN_ROOT`).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};

/// Files larger than this are refused: `/etc/passwd` and friends are small,
/// and a huge one in an image is not worth reading into memory.
pub(crate) const MAX_SIZE: u64 = 16 << 20;

/// Reads `path` (absolute or relative, interpreted inside `root`) as text.
/// Returns `Ok(None)` when it does not exist. Symlinks are followed but
/// cannot escape `root`; a FIFO or device is refused instead of read.
pub(crate) fn read_in_root(root: &Path, path: &str) -> io::Result<Option<String>> {
    let dir = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let rel = path.trim_start_matches('/');
    let fd = match rustix::fs::openat2(
        &dir,
        rel,
        // NONBLOCK so that a FIFO planted by the image cannot hang us.
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let st = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    if st.st_size as u64 > MAX_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {MAX_SIZE} bytes"),
        ));
    }
    let mut text = String::new();
    File::from(fd).take(MAX_SIZE).read_to_string(&mut text)?;
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn reads_plain_file_and_reports_missing() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\n",
        )
        .unwrap();
        let got = read_in_root(root.path(), "/etc/passwd").unwrap().unwrap();
        assert!(got.starts_with("root:x:0:0"));
        assert!(read_in_root(root.path(), "/etc/group").unwrap().is_none());
        assert!(read_in_root(root.path(), "/nodir/group").unwrap().is_none());
    }

    #[test]
    fn absolute_symlink_stays_inside_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "host secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        // An absolute symlink to a host path: resolved inside the root it
        // points at a file that does not exist there.
        symlink(
            outside.path().join("secret"),
            root.path().join("etc/passwd"),
        )
        .unwrap();
        assert!(read_in_root(root.path(), "/etc/passwd").unwrap().is_none());
        // A relative one climbing out is clamped at the root as well.
        symlink(
            "../../../../../../../../etc/hostname",
            root.path().join("etc/group"),
        )
        .unwrap();
        std::fs::write(root.path().join("etc/hostname"), "inside").unwrap();
        assert_eq!(
            read_in_root(root.path(), "/etc/group").unwrap().as_deref(),
            Some("inside")
        );
    }

    #[test]
    fn fifo_is_refused_not_read() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.path().join("etc/passwd"),
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = read_in_root(root.path(), "etc/passwd").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}

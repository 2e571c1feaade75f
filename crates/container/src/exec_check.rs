//! Finding the command in the container's root filesystem before starting
//! it, so a missing one exits 127 and a non-executable one 126 (podman's
//! codes) with a clear message. Lookups resolve symlinks as if the rootfs
//! were `/` (`openat2` with `RESOLVE_IN_ROOT`), so a hostile image cannot
//! make hoist look at host files.

use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};

use crate::error::{ContainerError, Result};

enum Found {
    Executable,
    NotExecutable,
    Missing,
}

fn probe(root: &Path, path: &str) -> Found {
    let Ok(dir) = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Found::Executable; // cannot tell: let the runtime decide
    };
    let fd = match rustix::fs::openat2(
        &dir,
        path.trim_start_matches('/'),
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => return Found::Missing,
        Err(_) => return Found::Executable,
    };
    match rustix::fs::fstat(&fd) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {
            if st.st_mode & 0o111 != 0 {
                Found::Executable
            } else {
                Found::NotExecutable
            }
        }
        Ok(_) => Found::NotExecutable,
        Err(_) => Found::Executable,
    }
}

/// Checks that `cmd` (with `path`, the container's `PATH`, and `cwd`) names
/// an executable file in `root`.
pub(crate) fn check_command(root: &Path, cmd: &str, path: &str, cwd: &str) -> Result<()> {
    if cmd.contains('/') {
        let full = if cmd.starts_with('/') {
            cmd.to_string()
        } else {
            format!("{}/{cmd}", cwd.trim_end_matches('/'))
        };
        return match probe(root, &full) {
            Found::Executable => Ok(()),
            Found::NotExecutable => Err(ContainerError::CommandNotExecutable {
                cmd: cmd.to_string(),
            }),
            Found::Missing => Err(ContainerError::CommandNotFound {
                cmd: cmd.to_string(),
            }),
        };
    }
    let mut not_exec = false;
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        match probe(root, &format!("{}/{cmd}", dir.trim_end_matches('/'))) {
            Found::Executable => return Ok(()),
            Found::NotExecutable => not_exec = true,
            Found::Missing => {}
        }
    }
    if not_exec {
        Err(ContainerError::CommandNotExecutable {
            cmd: cmd.to_string(),
        })
    } else {
        Err(ContainerError::CommandNotFound {
            cmd: cmd.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn finds_missing_and_non_executable_commands() {
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("tool"), "x").unwrap();
        std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(bin.join("data"), "x").unwrap();
        // An absolute symlink resolves inside the root, not on the host.
        std::os::unix::fs::symlink("/bin/tool", bin.join("link")).unwrap();
        std::os::unix::fs::symlink("/usr/bin/env", bin.join("hostenv")).unwrap();
        let r = d.path();
        check_command(r, "tool", "/usr/bin:/bin", "/").unwrap();
        check_command(r, "/bin/link", "", "/").unwrap();
        check_command(r, "bin/tool", "", "/").unwrap();
        assert!(matches!(
            check_command(r, "nope", "/bin", "/"),
            Err(ContainerError::CommandNotFound { .. })
        ));
        assert!(matches!(
            check_command(r, "data", "/bin", "/"),
            Err(ContainerError::CommandNotExecutable { .. })
        ));
        assert!(matches!(
            check_command(r, "/bin", "", "/"),
            Err(ContainerError::CommandNotExecutable { .. })
        ));
        assert!(matches!(
            check_command(r, "/bin/hostenv", "", "/"),
            Err(ContainerError::CommandNotFound { .. })
        ));
    }
}

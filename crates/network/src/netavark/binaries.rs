//! Finding the netavark and aardvark-dns executables.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where distributions install podman's helpers (Debian: /usr/lib/podman).
const HELPER_DIRS: &[&str] = &[
    "/usr/lib/podman",
    "/usr/libexec/podman",
    "/usr/local/lib/podman",
    "/usr/local/libexec/podman",
];

/// The netavark executable: podman's helper directories, then `$PATH`.
pub fn find_netavark() -> Result<PathBuf> {
    find("netavark")
}

/// The aardvark-dns executable: podman's helper directories, then `$PATH`.
pub fn find_aardvark() -> Result<PathBuf> {
    find("aardvark-dns")
}

fn find(name: &'static str) -> Result<PathBuf> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let searched: Vec<PathBuf> = HELPER_DIRS
        .iter()
        .map(PathBuf::from)
        .chain(path_dirs)
        .collect();
    searched
        .iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
        .ok_or(Error::BinaryMissing {
            what: name,
            searched,
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_error_says_how_to_install() {
        let err = find("hoist-no-such-helper").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("apt-get install netavark aardvark-dns"),
            "{text}"
        );
        assert!(text.contains("/usr/lib/podman"), "{text}");
    }

    #[test]
    fn finds_executables_only() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        assert!(!is_executable(&plain));
        assert!(!is_executable(dir.path()));
        assert!(is_executable(Path::new("/bin/sh")));
    }
}

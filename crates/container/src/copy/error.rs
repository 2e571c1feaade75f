//! What can go wrong in a `cp`, in podman's words where podman has them
//! (scripts match on them).

use rustix::io::Errno;

/// A failed copy; each is a usage problem podman reports with exit 125.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source, or the destination's parent, does not exist (or a path
    /// component is not a directory, or links loop).
    #[error("{path:?} could not be found {place}: {cause}")]
    NotFound {
        /// The path as the user gave it.
        path: String,
        /// `on container NAME` or `on the host`.
        place: String,
        /// The system's reason, lower case as podman prints it.
        cause: String,
    },

    #[error("destination must be a directory when copying a directory")]
    DirectoryOntoFile,

    #[error("destination must be a directory when copying from stdin")]
    StdinNeedsDirectory,

    #[error("source must be a (compressed) tar archive when copying from stdin")]
    NotATar,

    #[error("the tar archive on stdin is {0}-compressed, which hoist cannot read; give it plain, gzip or zstd")]
    UnsupportedCompression(&'static str),

    /// A host destination that is neither a directory nor a regular file
    /// (`/dev/stdout` on a pipe: use `-` for a tar stream on stdout).
    #[error("invalid destination: {0:?} must be a directory or a regular file")]
    InvalidDestination(String),

    /// A directory where a file goes or the other way round.
    #[error("copying to {place}: error creating {shown:?}: {op} {full}: file exists; use --overwrite to replace it")]
    Exists {
        place: String,
        /// The path below the destination's root (the container's `/`, or
        /// the host directory named in `place`).
        shown: String,
        op: &'static str,
        full: String,
    },
}

/// An errno as Go prints it ("no such file or directory"), as podman's
/// messages carry it.
pub(super) fn errno_text(e: Errno) -> String {
    let text = std::io::Error::from_raw_os_error(e.raw_os_error()).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_podmans() {
        assert_eq!(errno_text(Errno::NOENT), "no such file or directory");
        let e = CopyError::NotFound {
            path: "/tmp/*".into(),
            place: "on container c".into(),
            cause: errno_text(Errno::NOENT),
        };
        assert_eq!(
            e.to_string(),
            r#""/tmp/*" could not be found on container c: no such file or directory"#
        );
    }
}

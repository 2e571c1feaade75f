//! The one error type of the crate: every variant names the file (or the
//! variable) that was being read, so a user can go and fix it.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A position in a configuration file, 1-based like an editor shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a containers.conf could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `CONTAINERS_CONF` names a file that does not exist or cannot be
    /// inspected. podman 4.3 fails the same way instead of falling back.
    #[error(
        "CONTAINERS_CONF names {}, which cannot be used: {source}; point it at an existing containers.conf or unset it",
        path.display()
    )]
    EnvFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A configuration file exists but cannot be read.
    #[error("cannot read containers.conf file {}: {source}; check its permissions", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A `containers.conf.d` directory exists but cannot be listed.
    #[error("cannot list drop-in directory {}: {source}; check its permissions", dir.display())]
    ReadDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A file is not valid TOML, or a known key holds a value of the wrong
    /// type or form.
    #[error(
        "invalid containers.conf file {}{}: {message}; fix or remove that setting",
        path.display(),
        location.map(|l| format!(" at {l}")).unwrap_or_default()
    )]
    Parse {
        path: PathBuf,
        location: Option<Location>,
        message: String,
    },
}

//! containers.conf(5) for hoist, read the way podman 4.3 reads it
//! (containers/common 0.50).
//!
//! Files are found by [`LoadEnv::config_files`] (see [`search`] for the
//! order), each is parsed into a [`ConfFile`] whose keys are all optional,
//! and later files replace earlier keys one at a time. Accessors on
//! [`ContainersConf`] fall back to podman's built-in values; [`ContainersConf::file`]
//! and [`ContainersConf::origin`] tell whether a file set a key.
//!
//! Differences from podman kept on purpose:
//! - values are checked per file, so an error names the file and line
//!   (podman validates only the merged result);
//! - without a `default_ulimits` setting podman as root raises its own
//!   `RLIMIT_NPROC` to the host's pid_max and passes that on; a library must
//!   not change process limits, so [`Containers::default_ulimits`] is empty.

mod conf;
mod defaults;
mod error;
mod layer;
pub mod parse;
mod read;
pub mod search;

pub use conf::{Containers, ContainersConf, Engine, Network, Secrets};
pub use error::{ConfigError, Location};
pub use layer::{ConfFile, ContainersTable, EngineTable, NetworkTable, SecretsTable};
pub use search::LoadEnv;

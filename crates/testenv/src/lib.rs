//! Internal test harness for hoist's integration tests. Only real parts, no mocks:
//!
//! - [`Registry`]: Debian's `docker-registry` on 127.0.0.1, plain or TLS + Basic auth
//!   (certificates from the openssl CLI, see [`TestCerts`]).
//! - [`ImageBuilder`]: deterministic OCI image layouts built from busybox-static, pushed
//!   with the real `skopeo`; [`Layer`] builds extra layers, hostile ones included
//!   (`..` and absolute names, escaping links, device nodes) and copies of host dirs.
//! - [`Hoist`]: runs the built `hoist` binary with a private `--root`, auth file and
//!   registries.conf, and unmounts/deletes everything on drop.
//! - [`util`]: free ports, TCP waits, commands with timeouts, prerequisite checks.
//!
//! The `hoist-testenv` binary exposes the registry and image pushing to shell scripts and
//! benchmarks (`hoist-testenv --help`).
//!
//! Helpers panic with a descriptive message instead of returning errors: a failed setup
//! step should fail the test that asked for it. Install prerequisites with
//! `scripts/install-deps.sh`; guard tests with [`require_root_and_tools`].
//!
//! ```no_run
//! use hoist_testenv::{require_root_and_tools, Hoist, ImageBuilder, Registry};
//! if !require_root_and_tools(&["skopeo", "docker-registry"]) {
//!     return;
//! }
//! let reg = Registry::start();
//! let digest = ImageBuilder::single_layer().push(&reg, "busybox:1");
//! let hoist = Hoist::new("/path/to/hoist"); // env!("CARGO_BIN_EXE_hoist") in crates/cli
//! hoist.registries_conf_for(&[&reg]);
//! hoist.run(&["pull", &reg.reference("busybox:1")]).ok();
//! let out = hoist.run(&["images", "--digests"]).ok();
//! assert!(out.stdout.contains(&digest));
//! ```

pub mod certs;
pub mod hoist;
mod host_copy;
pub mod image;
pub mod layer;
pub mod registry;
pub mod util;

pub use certs::TestCerts;
pub use hoist::{Hoist, Output};
pub use image::{BuiltImage, Compression, ImageBuilder, Layer, ManifestFormat, Platform};
pub use registry::{DetachedRegistry, Registry};
pub use util::{free_port, require_root_and_tools, run_with_timeout, wait_for_tcp};

/// Every external tool the harness itself runs, for [`require_root_and_tools`].
pub const HARNESS_TOOLS: &[&str] = &[
    "docker-registry",
    "skopeo",
    "openssl",
    "htpasswd",
    "curl",
    "busybox",
    "umount",
];

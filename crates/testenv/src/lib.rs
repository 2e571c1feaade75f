//! Internal test harness for hoist's integration tests. Only real parts, no mocks:
//!
//! - [`Registry`]: Debian's `docker-registry` on 127.0.0.1, plain or TLS + Basic auth
//!   (certificates from the openssl CLI, see [`TestCerts`]).
//! - [`ImageBuilder`]: deterministic OCI image layouts built from busybox-static, pushed
//!   with the real `skopeo`; [`Layer`] builds extra layers, hostile ones included
//!   (`..` and absolute names, escaping links, device nodes) and copies of host dirs.
//! - [`Hoist`]: runs the built `hoist` binary with a private `--root`, auth file and
//!   registries.conf, and unmounts/deletes everything on drop.
//! - [`util`]: free ports, TCP waits, commands with timeouts.
//! - [`require`](mod@require): prerequisites. A test that needs root, a tool or a device
//!   calls [`require_root`], [`require`] or [`require_file`] first; they panic naming what
//!   is missing and its Debian package. Tests never skip themselves, so a test that could
//!   not run fails instead of passing (`scripts/test.sh` installs everything first).
//! - [`wait`]: [`wait_until`] / [`wait_for`] poll a condition up to a deadline, for
//!   tests that would otherwise sleep for a guessed time.
//!
//! The `hoist-testenv` binary exposes the registry and image pushing to shell scripts and
//! benchmarks (`hoist-testenv --help`).
//!
//! Helpers panic with a descriptive message instead of returning errors: a failed setup
//! step should fail the test that asked for it. Install prerequisites with
//! `scripts/install-deps.sh`.
//!
//! ```no_run
//! use hoist_testenv::{require_root_and, Hoist, ImageBuilder, Registry};
//! require_root_and(&["skopeo", "docker-registry"]);
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
pub mod http;
pub mod image;
pub mod layer;
pub mod leftovers;
pub mod registry;
pub mod require;
pub mod util;
pub mod wait;

pub use certs::TestCerts;
pub use hoist::{Hoist, Output};
pub use http::HttpServer;
pub use image::{BuiltImage, Compression, ImageBuilder, Layer, ManifestFormat, Platform};
pub use registry::{DetachedRegistry, Registry};
pub use require::{require, require_file, require_root, require_root_and, require_root_and_tools};
pub use util::{free_port, random_bytes, run_with_timeout, wait_for_tcp};
pub use wait::{wait_for, wait_until};

/// Every external tool the harness itself runs, for [`require`].
pub const HARNESS_TOOLS: &[&str] = &[
    "docker-registry",
    "skopeo",
    "openssl",
    "htpasswd",
    "curl",
    "busybox",
    "umount",
    "kill",
];

//! SELinux policies for containers, as udica (0.2.x, the version on PyPI)
//! writes them: a CIL block that inherits udica's templates and allows
//! exactly the container's capabilities, host ports and bind mounts.
//!
//! - [`ContainerFacts`]: what a policy is made from, read from `inspect`
//!   JSON (podman's shape, which `hoist inspect` prints) the way udica
//!   reads it.
//! - [`parse_avc`]: extra allow rules from audit log lines (`--append-rules`).
//! - [`PolicyStore`]: the host's SELinux policy (file contexts and port
//!   types), read from the policy store on disk; works with SELinux
//!   disabled as long as a policy is installed. [`Labels`] is what the
//!   generator asks of it.
//! - [`generate`]: inspect facts in, [`Generated`] out (the CIL text, the
//!   templates to load with it, and the messages udica prints).
//!
//! Where hoist and udica 0.2.2 part ways (checked against it on a Debian
//! host with selinux-policy-default installed and SELinux disabled):
//! - Without a policy store (no policy installed) udica still writes the
//!   capability rules, then stops at the first port or host-path mount
//!   ("Couldn't create policy: [Errno 2]", a half-written file); hoist
//!   fails before writing anything, saying which store is missing. The
//!   same for a port no `portcon` covers and a path labelled `<<none>>`
//!   (Debian's policy so labels everything under /tmp and /var/tmp).
//! - udica stops at an exposed port that is not published (its binding
//!   list is null); hoist leaves it out: nothing binds it on the host.
//! - A capability udica has no name for (PERFMON, BPF,
//!   CHECKPOINT_RESTORE: a privileged container has them) stops both.
//! - udica reads devices in no version on PyPI; neither does hoist's
//!   policy (the inspect document carries them).
//! - udica takes `./templates` instead of /usr/share/udica/templates when
//!   the current directory has one; hoist always names the latter. CRI-O's
//!   inspect format is not read.
//! - Port types come from the modules' CIL (`portcon`), where udica asks
//!   libsemanage for the compiled policy's: the same list unless a
//!   `portcon` sits in an `optional` block the compiler dropped. File
//!   contexts are matched with Rust's regex crate, not PCRE2: the same on
//!   the expressions policies use.

mod avc;
mod error;
mod facts;
mod fcontext;
mod perms;
mod policy;
mod ports;
mod sexpr;
mod store;

pub use avc::{parse_avc, AvcRule};
pub use error::{Result, SelinuxError};
pub use facts::{ContainerFacts, Engine, MountFact, PortFact};
pub use policy::{generate, Generated, PolicyOptions, TEMPLATES_DIR};
pub use store::{Labels, PolicyStore};

//! `hoist build`: a Containerfile (or Dockerfile) and its context into an
//! OCI image in hoist's store.
//!
//! [`containerfile`] reads the file (untrusted input) into typed
//! instructions; [`ignore`] decides which context files a build sees;
//! [`exec`] runs the stages: each `RUN` in a real hoist container, `COPY`
//! and `ADD` straight into layers, with a cache keyed by what each step
//! depends on.

pub mod containerfile;
#[cfg(feature = "exec")]
pub mod exec;
pub mod ignore;

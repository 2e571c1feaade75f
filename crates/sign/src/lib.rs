//! Image signatures in the format podman (containers/image) uses: a small
//! JSON "simple signing" payload naming an image and its manifest digest,
//! signed as an OpenPGP message with a key from the user's GnuPG keyring,
//! and stored in a lookaside directory next to, not inside, the registry.
//!
//! Signing goes through the `gpg` program, as podman's gpgme does, so the
//! user's keyring, agent and `GNUPGHOME` work unchanged. Parsing what comes
//! back from a signature is done here, on untrusted bytes: see [`payload`].
//! Whether a pulled image must be signed, and by whom, is the trust
//! policy's call: see [`policy`].

pub mod error;
pub mod gpg;
pub mod lookaside;
pub mod payload;
pub mod policy;

pub use error::{Result, SignError};
pub use gpg::Gpg;
pub use lookaside::{Lookaside, SignatureStore};
pub use payload::Payload;
pub use policy::{Policy, Rejection, Requirement, SignedIdentity};

//! The OCI distribution client of hoist: talks to registries (Docker Hub,
//! quay.io, a local `docker-registry`...) to pull and push manifests and
//! blobs, with podman's TLS, certificate-directory and credential
//! conventions, bearer-token and Basic authentication, retries with backoff
//! and verification of everything downloaded.

pub mod auth;
mod blob;
mod client;
pub mod error;
pub mod fetch;
mod host;
mod idle;
mod login;
mod manifest;
mod multipart;
pub mod options;
pub mod ranges;
pub mod retry;
mod sink;
mod tags;
pub mod tls;
mod upload;

pub use auth::authfile::AuthFile;
pub use auth::{CredentialSource, Scope};
pub use blob::content_range_start;
pub use client::RegistryClient;
pub use error::{RegistryError, Result};
pub use idle::STALL_MIN_BYTES;
pub use manifest::ManifestHead;
pub use options::{ClientOptions, HostTls};
pub use retry::RetryPolicy;
pub use sink::{BlobRef, FnSink, Progress, Resume};
pub use tags::{next_link, parse_page};
pub use upload::{resolve_location, with_digest};

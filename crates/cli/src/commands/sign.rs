//! `image sign`: podman's flags over `Engine::sign_images`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use hoist_engine::{Engine, SignOptions};

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The images to sign, as docker://REGISTRY/NAME[:TAG].
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
    /// Write the signatures under DIR instead of the registries.d lookaside.
    #[arg(short, long, value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// The GnuPG key to sign with (key ID, fingerprint or user ID).
    #[arg(long, value_name = "KEY", default_value = "")]
    pub sign_by: String,
    /// A directory of TLS certificates (*.crt, *.cert, *.key) for the registry.
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Sign each image of a manifest list instead of the list.
    #[arg(short, long)]
    pub all: bool,
    /// The credentials file (also $REGISTRY_AUTH_FILE).
    #[arg(long, env = "REGISTRY_AUTH_FILE", value_name = "PATH")]
    pub authfile: Option<PathBuf>,
}

pub fn sign(engine: &Engine, a: SignArgs) -> Result<i32> {
    let registry = super::registry_options(&crate::cli::RegistryArgs {
        authfile: a.authfile,
        cert_dir: a.cert_dir,
        ..Default::default()
    })?;
    let opts = SignOptions {
        sign_by: a.sign_by,
        directory: a.directory,
        all: a.all,
        registries_d: None,
        registry,
    };
    for signed in engine.sign_images(&a.images, &opts)? {
        tracing::info!(
            identity = %signed.identity,
            digest = %signed.manifest_digest,
            file = %signed.file.display(),
            "signed"
        );
    }
    Ok(0)
}

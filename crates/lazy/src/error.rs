//! Errors of lazy layers at run time (the format and the filesystem have
//! their own).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LazyError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("lazy layer {blob}: {detail}")]
    Layer { blob: String, detail: String },

    #[error("the lazy layer server failed to start: {0}")]
    Start(String),

    #[error(transparent)]
    Store(#[from] hoist_store::StoreError),
}

pub(crate) fn io_err(
    what: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> LazyError {
    let path = path.into();
    move |source| LazyError::Io { what, path, source }
}

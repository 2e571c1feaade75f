//! Small types shared by blob transfers: progress reporting, which blob to
//! fetch, resuming a partial download, and a callback sink.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hoist_image::manifest::Descriptor;
use hoist_image::{Digest, Hasher};

/// Called with the number of bytes transferred so far (including any
/// resumed prefix). Cheap to clone; `Progress::none()` reports nowhere.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn Fn(u64) + Send + Sync>>);

impl Progress {
    pub fn new(f: impl Fn(u64) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(f)))
    }

    pub fn none() -> Progress {
        Progress(None)
    }

    pub fn report(&self, bytes_so_far: u64) {
        if let Some(f) = &self.0 {
            f(bytes_so_far);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(..)"
        } else {
            "Progress(none)"
        })
    }
}

/// The blob to fetch: its digest, and its size when a descriptor gives one.
#[derive(Debug, Clone, Copy)]
pub struct BlobRef<'a> {
    pub digest: &'a Digest,
    pub size: Option<u64>,
}

impl<'a> From<&'a Descriptor> for BlobRef<'a> {
    fn from(d: &'a Descriptor) -> Self {
        BlobRef {
            digest: &d.digest,
            size: Some(d.size),
        }
    }
}

impl<'a> From<&'a Digest> for BlobRef<'a> {
    fn from(d: &'a Digest) -> Self {
        BlobRef {
            digest: d,
            size: None,
        }
    }
}

/// A partial download to continue: the sink already holds `offset` bytes,
/// and `hasher` has already been fed exactly those bytes.
#[derive(Clone)]
pub struct Resume {
    pub offset: u64,
    pub hasher: Hasher,
}

/// An `AsyncWrite` that hands every chunk to a callback, for callers that
/// consume a blob in memory or feed it to a decompressor themselves.
pub struct FnSink<F>(pub F);

impl<F: FnMut(&[u8]) -> io::Result<()> + Unpin> tokio::io::AsyncWrite for FnSink<F> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready((self.0)(buf).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

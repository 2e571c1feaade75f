//! Where the YAML comes from: a file, standard input (`-`) or an http(s)
//! URL. The YAML is untrusted, so its size is bounded.

use std::io::Read;
use std::path::Path;

use crate::error::{io_err, KubeError, Result};

/// The largest YAML `kube play` reads (podman has no limit; a stream this
/// large is no pod description).
pub const MAX_YAML: u64 = 16 << 20;

/// Reads `source`: `-` is standard input, `http://` and `https://` a URL,
/// anything else a file.
pub fn read(source: &str) -> Result<String> {
    if source == "-" {
        return read_bounded(std::io::stdin().lock(), Path::new("standard input"));
    }
    if source.starts_with("http://") || source.starts_with("https://") {
        return fetch(source);
    }
    let path = Path::new(source);
    let file = std::fs::File::open(path).map_err(io_err("opening the YAML file", path))?;
    read_bounded(file, path)
}

fn too_large(what: &str) -> KubeError {
    KubeError::Play(format!(
        "{what} is larger than {} MiB: that is no pod description",
        MAX_YAML >> 20
    ))
}

fn read_bounded(r: impl Read, path: &Path) -> Result<String> {
    let mut buf = Vec::new();
    r.take(MAX_YAML + 1)
        .read_to_end(&mut buf)
        .map_err(io_err("reading", path))?;
    if buf.len() as u64 > MAX_YAML {
        return Err(too_large(&path.display().to_string()));
    }
    String::from_utf8(buf)
        .map_err(|_| KubeError::Play(format!("{} is not UTF-8 text", path.display())))
}

/// GETs `url` and returns the body.
fn fetch(url: &str) -> Result<String> {
    let fail = |message: String| KubeError::Fetch {
        url: url.to_string(),
        message,
    };
    let mut body = Vec::new();
    match hoist_registry::fetch::get(
        url,
        &mut body,
        Some(MAX_YAML),
        std::time::Duration::from_secs(60),
    ) {
        Ok(_) => {}
        Err(hoist_registry::fetch::FetchError::TooLarge(_)) => return Err(too_large(url)),
        Err(e) => return Err(fail(e.to_string())),
    }
    String::from_utf8(body).map_err(|_| fail("the body is not UTF-8 text".into()))
}

//! `ADD URL`: the file at an http(s) URL, downloaded into the step's
//! scratch directory before its layer is written (proxies from the usual
//! environment variables). As Docker does, it gets mode 0600 and the time
//! the server gives in Last-Modified; without one, the epoch, so that an
//! unchanged download does not make the step miss the cache.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A file fetched for `ADD`.
pub(crate) struct Downloaded {
    pub path: PathBuf,
    /// Its name in the image when the destination is a directory: the
    /// last segment of the URL's path.
    pub name: String,
}

/// How long the server may stay silent before the download fails.
const SILENCE: Duration = Duration::from_secs(60);

/// Downloads `url` into `dir` as the step's `index`th download; the
/// error says why, for the step's message.
pub(crate) fn download(url: &str, dir: &Path, index: usize) -> Result<Downloaded, String> {
    let name = file_name(url);
    let path = dir.join(format!("download-{index}"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| e.to_string())?);
    let fetched =
        hoist_registry::fetch::get(url, &mut out, None, SILENCE).map_err(|e| e.to_string())?;
    let file = out.into_inner().map_err(|e| e.to_string())?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| e.to_string())?;
    file.set_modified(fetched.last_modified.unwrap_or(SystemTime::UNIX_EPOCH))
        .map_err(|e| e.to_string())?;
    Ok(Downloaded { path, name })
}

/// The digest of the file at `path` in `expected`'s algorithm, to check
/// `ADD --checksum=` against.
pub(crate) fn digest_of(
    path: &Path,
    expected: &hoist_image::digest::Digest,
) -> std::io::Result<hoist_image::digest::Digest> {
    let mut hasher = hoist_image::digest::Hasher::new(expected.algorithm());
    std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok(hasher.finish())
}

/// The last non-empty segment of the URL's path (`download` when it has
/// none), without query or fragment.
fn file_name(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .split_once('/')
        .map_or("", |(_, p)| p);
    path.rsplit('/')
        .find(|s| !s.is_empty() && *s != "." && *s != "..")
        .unwrap_or("download")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn the_name_is_the_last_segment_of_the_path() {
        assert_eq!(file_name("http://h:8/a/b/tool.tar.gz?x=1#f"), "tool.tar.gz");
        assert_eq!(file_name("https://h/dir/"), "dir");
        assert_eq!(file_name("https://h"), "download");
        assert_eq!(file_name("https://h/../.."), "download");
    }
}

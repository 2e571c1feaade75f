//! Transport-qualified image names, as podman accepts them:
//! `docker://REF` (the default), `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
//! `docker-archive:FILE[:REF]`.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageName {
    /// A registry reference, possibly a short name still to be resolved.
    Registry(String),
    Oci {
        dir: PathBuf,
        tag: Option<String>,
    },
    OciArchive {
        file: PathBuf,
        tag: Option<String>,
    },
    DockerArchive {
        file: PathBuf,
        reference: Option<String>,
    },
    /// containers/image's `dir:` layout: `manifest.json`, `version` and
    /// the blobs named by their hex digests.
    Dir {
        dir: PathBuf,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid image name {input:?}: {reason}")]
pub struct TransportError {
    input: String,
    reason: &'static str,
}

impl ImageName {
    pub fn parse(input: &str) -> Result<ImageName, TransportError> {
        let err = |reason| TransportError {
            input: input.to_string(),
            reason,
        };
        // The path is everything up to the first ':' after the transport, as
        // containers/image splits it; a tag or reference may follow.
        let split = |rest: &str| -> Result<(PathBuf, Option<String>), TransportError> {
            let (path, extra) = match rest.split_once(':') {
                Some((p, e)) => (p, Some(e.to_string()).filter(|e| !e.is_empty())),
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(err("missing path after the transport"));
            }
            Ok((PathBuf::from(path), extra))
        };
        if let Some(rest) = input.strip_prefix("docker://") {
            if rest.is_empty() {
                return Err(err("missing reference after docker://"));
            }
            return Ok(ImageName::Registry(rest.to_string()));
        }
        if let Some(rest) = input.strip_prefix("oci:") {
            let (dir, tag) = split(rest)?;
            return Ok(ImageName::Oci { dir, tag });
        }
        if let Some(rest) = input.strip_prefix("oci-archive:") {
            let (file, tag) = split(rest)?;
            return Ok(ImageName::OciArchive { file, tag });
        }
        if let Some(rest) = input.strip_prefix("docker-archive:") {
            let (file, reference) = split(rest)?;
            return Ok(ImageName::DockerArchive { file, reference });
        }
        if let Some(rest) = input.strip_prefix("dir:") {
            if rest.is_empty() {
                return Err(err("missing path after the transport"));
            }
            return Ok(ImageName::Dir {
                dir: PathBuf::from(rest),
            });
        }
        for unsupported in ["containers-storage:", "docker-daemon:"] {
            if input.starts_with(unsupported) {
                return Err(err(
                    "transport not supported by hoist (use docker://, oci:, oci-archive:, docker-archive: or dir:)",
                ));
            }
        }
        Ok(ImageName::Registry(input.to_string()))
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with = |f: &mut fmt::Formatter<'_>, t: &str, p: &PathBuf, x: &Option<String>| {
            write!(f, "{t}:{}", p.display())?;
            match x {
                Some(x) => write!(f, ":{x}"),
                None => Ok(()),
            }
        };
        match self {
            ImageName::Registry(r) => write!(f, "docker://{r}"),
            ImageName::Oci { dir, tag } => with(f, "oci", dir, tag),
            ImageName::OciArchive { file, tag } => with(f, "oci-archive", file, tag),
            ImageName::DockerArchive { file, reference } => {
                with(f, "docker-archive", file, reference)
            }
            ImageName::Dir { dir } => write!(f, "dir:{}", dir.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names_take_the_whole_path() {
        let n = ImageName::parse("dir:/tmp/a:b").unwrap();
        assert_eq!(
            n,
            ImageName::Dir {
                dir: "/tmp/a:b".into()
            }
        );
        assert_eq!(n.to_string(), "dir:/tmp/a:b");
        assert!(ImageName::parse("dir:").is_err());
    }

    #[test]
    fn parses_every_transport() {
        assert_eq!(
            ImageName::parse("busybox").unwrap(),
            ImageName::Registry("busybox".into())
        );
        assert_eq!(
            ImageName::parse("docker://localhost:5000/a:b").unwrap(),
            ImageName::Registry("localhost:5000/a:b".into())
        );
        assert_eq!(
            ImageName::parse("oci:/tmp/lay:v1").unwrap(),
            ImageName::Oci {
                dir: "/tmp/lay".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            ImageName::parse("oci-archive:x.tar").unwrap(),
            ImageName::OciArchive {
                file: "x.tar".into(),
                tag: None
            }
        );
        assert_eq!(
            ImageName::parse("docker-archive:/t/x.tar:busybox:1").unwrap(),
            ImageName::DockerArchive {
                file: "/t/x.tar".into(),
                reference: Some("busybox:1".into())
            }
        );
        assert!(ImageName::parse("oci:").is_err());
        assert!(ImageName::parse("containers-storage:x").is_err());
        assert_eq!(
            ImageName::parse("oci:/d:t").unwrap().to_string(),
            "oci:/d:t"
        );
    }
}

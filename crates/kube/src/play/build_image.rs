//! `kube play --build`: a container whose image has a build directory —
//! a directory named after the image's last path component (without tag)
//! holding a Containerfile or Dockerfile, under `--context-dir` or the
//! current directory — gets that image built and tagged first: always
//! with `--build`, when it is missing locally without the flag, never
//! with `--build=false` (podman 4.3's rules).

use std::path::{Path, PathBuf};

use hoist_build::exec::{self, BuildOptions, Builder, Output};

use super::{Engines, PlayOptions};
use crate::error::{KubeError, Result};

/// Builds `image` when the rules above say so.
pub(super) fn maybe_build(e: &Engines<'_>, image: &str, opts: &PlayOptions) -> Result<()> {
    if opts.build == Some(false) {
        return Ok(());
    }
    let base = match &opts.context_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|source| KubeError::Io {
            context: "reading".into(),
            path: PathBuf::from("."),
            source,
        })?,
    };
    let dir = base.join(build_dir_name(image));
    let Some(file) = containerfile_in(&dir) else {
        return Ok(());
    };
    let exists = e.engine.image_exists(image).unwrap_or(false);
    if exists && opts.build != Some(true) {
        return Ok(());
    }
    let failed = |source| KubeError::Build {
        image: image.to_string(),
        source: Box::new(source),
    };
    let text = std::fs::read_to_string(&file).map_err(|source| KubeError::Io {
        context: "reading".into(),
        path: file.clone(),
        source,
    })?;
    let options = BuildOptions {
        context: dir,
        file_text: text,
        file_name: file.display().to_string(),
        tags: vec![image.to_string()],
        pull: opts.pull.clone(),
        ..BuildOptions::default()
    };
    let builder = Builder {
        engine: e.engine,
        containers: e.cs,
        launcher: e.launcher.clone(),
        conf: opts.conf.clone(),
    };
    exec::build(&builder, &options, &mut Output::new(false)).map_err(failed)?;
    Ok(())
}

/// `quay.io/libpod/userimage:1` -> `userimage`.
fn build_dir_name(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last).to_string()
}

fn containerfile_in(dir: &Path) -> Option<PathBuf> {
    ["Containerfile", "Dockerfile"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::build_dir_name;

    #[test]
    fn build_directories_are_named_after_the_image() {
        assert_eq!(build_dir_name("quay.io/libpod/userimage"), "userimage");
        assert_eq!(build_dir_name("userimage:latest"), "userimage");
        assert_eq!(build_dir_name("localhost:5000/a/b:2"), "b");
        assert_eq!(build_dir_name("x@sha256:abc"), "x");
    }
}

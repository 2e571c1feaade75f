//! `--output`: the built image's files, written out of the store once the
//! build is done, into a directory or as a tar archive (buildah's `local`
//! and `tar` outputs).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use hoist_engine::{PullOptions, PullPolicy};
use hoist_image::Digest;

use super::error::{io_err, BuildError, Result};
use super::Builder;

/// Where `--output` writes the final image's root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// `type=local,dest=DIR`, or a bare `DIR`: the files, into DIR (made
    /// if missing).
    Dir(PathBuf),
    /// `type=tar,dest=FILE`: a tar archive of them.
    Tar(PathBuf),
    /// `type=tar,dest=-`, or a bare `-`: the archive on standard output.
    Stdout,
}

impl FromStr for OutputTarget {
    type Err = BuildError;

    fn from_str(spec: &str) -> Result<Self> {
        let bad = |why: &str| {
            BuildError::Invalid(format!(
                "invalid --output {spec:?}: {why}; use type=local,dest=DIR, type=tar,dest=FILE (- for standard output) or a bare DIR"
            ))
        };
        if spec.is_empty() {
            return Err(bad("it is empty"));
        }
        // buildah's shorthand: a value with neither `=` nor `,` is a path.
        if !spec.contains(['=', ',']) {
            return Ok(match spec {
                "-" => OutputTarget::Stdout,
                dir => OutputTarget::Dir(dir.into()),
            });
        }
        let (mut kind, mut dest) = (None, None);
        for field in spec.split(',') {
            match field.split_once('=') {
                Some(("type", v)) => kind = Some(v),
                Some(("dest", v)) if !v.is_empty() => dest = Some(v),
                _ => return Err(bad(&format!("{field:?} is not type=... or dest=..."))),
            }
        }
        let Some(dest) = dest else {
            return Err(bad("dest= is missing"));
        };
        match (kind, dest) {
            (Some("tar"), "-") => Ok(OutputTarget::Stdout),
            (Some("tar"), file) => Ok(OutputTarget::Tar(file.into())),
            (Some("local"), "-") => Err(bad("a local output needs a directory, not -")),
            (Some("local"), dir) => Ok(OutputTarget::Dir(dir.into())),
            (None, _) => Err(bad("type= is missing")),
            (Some(other), _) => Err(bad(&format!("the type {other:?} is not local or tar"))),
        }
    }
}

/// Writes the files of `image` (the build's result) to `target`;
/// [`OutputTarget::Stdout`] goes to `stdout`, which the caller set aside
/// for it (the process's own standard output carries the build's).
pub fn write_output(
    b: &Builder<'_>,
    image: &Digest,
    target: &OutputTarget,
    stdout: Option<impl Write>,
) -> Result<()> {
    let engine = b.engine;
    let progress: std::sync::Arc<dyn hoist_engine::progress::Progress> =
        std::sync::Arc::new(hoist_engine::progress::Silent);
    let picked = engine.image_for_container(
        image.hex(),
        PullPolicy::Never,
        &PullOptions::default(),
        &progress,
    )?;
    let root = engine.root();
    match target {
        OutputTarget::Stdout => match stdout {
            Some(out) => export(root, &picked, out),
            None => Err(BuildError::Invalid(
                "--output -: no standard output was set aside for the archive".into(),
            )),
        },
        OutputTarget::Tar(file) => {
            let mut out = hoist_fsutil::AtomicFile::create(file, 0o644).map_err(fs_err)?;
            export(root, &picked, std::io::BufWriter::new(out.file()))?;
            // Published only when complete: a failure leaves no truncated
            // archive under the name asked for.
            out.commit().map_err(fs_err)
        }
        OutputTarget::Dir(dir) => {
            let scratch = engine
                .store()
                .temp_dir()
                .map_err(hoist_engine::EngineError::from)?;
            let tar = scratch.path().join("rootfs.tar");
            let file = std::fs::File::create(&tar).map_err(io_err("creating", tar.as_path()))?;
            export(root, &picked, std::io::BufWriter::new(file))?;
            unpack(&tar, dir)
        }
    }
}

fn fs_err(e: hoist_fsutil::Error) -> BuildError {
    BuildError::Io {
        what: e.op,
        path: e.path,
        source: e.source,
    }
}

fn export(root: &Path, image: &hoist_engine::ContainerImage, out: impl Write) -> Result<()> {
    Ok(hoist_container::snapshot::export_image(root, image, out)?)
}

/// Unpacks the tar `archive` into `dir` as the files were in the image:
/// modes, owners, times and extended attributes kept.
fn unpack(archive: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
    let file = std::fs::File::open(archive).map_err(io_err("reading", archive))?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    tar.set_preserve_permissions(true);
    tar.set_preserve_ownerships(true);
    tar.set_preserve_mtime(true);
    tar.set_unpack_xattrs(true);
    tar.set_overwrite(true);
    tar.unpack(dir)
        .map_err(io_err("writing the image's files into", dir))
}

#[cfg(test)]
mod tests {
    use super::OutputTarget;

    #[test]
    fn output_specs_as_buildah_reads_them() {
        let parse = |s: &str| s.parse::<OutputTarget>();
        assert_eq!(parse("out").unwrap(), OutputTarget::Dir("out".into()));
        assert_eq!(parse("-").unwrap(), OutputTarget::Stdout);
        assert_eq!(
            parse("type=local,dest=/x").unwrap(),
            OutputTarget::Dir("/x".into())
        );
        assert_eq!(
            parse("dest=a.tar,type=tar").unwrap(),
            OutputTarget::Tar("a.tar".into())
        );
        assert_eq!(parse("type=tar,dest=-").unwrap(), OutputTarget::Stdout);
        for bad in [
            "",
            "type=tar",
            "dest=x",
            "type=oci,dest=x",
            "type=local,dest=-",
            "type=tar,dest=x,compression=gzip",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

//! `cp CONTAINER:PATH -` and `cp - CONTAINER:DIR`: a tar stream instead of
//! a host path, as podman does. The files are staged in a temporary
//! directory in the container's own directory (on the store's file
//! system, not a size-limited /tmp) and copied with the same safe walk as
//! any other `cp`; unpacking refuses entries that climb out with `..` or
//! through links. A stream in may be gzip- or zstd-compressed.

use std::io::{Chain, Cursor, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;

use super::error::CopyError;
use super::resolve::{self, Dest};
use super::tree::{self, Owner, Put};
use super::view::View;
use super::{container_user, CopyOptions, InContainer, Located};
use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;
use crate::store::Containers;

fn staging(c: &Container) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("cp-stream-")
        .tempdir_in(&c.dir)
        .map_err(io_err("creating a staging directory in", &c.dir))
}

fn entries(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    let mut out = std::fs::read_dir(dir)
        .map_err(io_err("listing", dir))?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io_err("listing", dir))?;
    out.sort_by_key(|e| e.file_name());
    Ok(out)
}

fn stage_put(owner: Owner) -> Put {
    Put {
        owner,
        overwrite: true,
        skip_devices: true,
        place: "the staging directory".into(),
        full_prefix: String::new(),
        links: Default::default(),
    }
}

/// Writes `from` to `out` as a tar archive, its entries named as a copy
/// to a directory would name them (`cp web:/etc/hosts -` gives `hosts`;
/// a directory's contents with `dir/.`). Owners are kept.
pub fn copy_to_tar(cs: &Containers, from: &InContainer<'_>, out: impl Write) -> Result<()> {
    let stage = staging(from.container)?;
    {
        let view = View::open(cs, from.container)?;
        let src = Located::in_container(&view, from)?;
        let source = resolve::source(&src.end())?;
        let shown = stage.path().display().to_string();
        let dir = rustix::fs::open(
            stage.path(),
            rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(tree::errno("opening", stage.path()))?;
        let dest = Dest::Dir { fd: dir, shown };
        tree::transfer(source, dest, &stage_put(Owner::Keep), None)?;
    }
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    for e in entries(stage.path())? {
        let name = e.file_name();
        let path = e.path();
        let is_dir = e.file_type().map_err(io_err("reading", &path))?.is_dir();
        let written = if is_dir {
            tar.append_dir_all(&name, &path)
        } else {
            tar.append_path_with_name(&path, &name)
        };
        written.map_err(io_err("writing the archive entry for", &path))?;
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(io_err("finishing the archive on", "stdout"))?;
    Ok(())
}

/// How a stream is compressed, from its first bytes.
fn compression(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else if head.starts_with(b"BZh") {
        Some("bzip2")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else {
        None
    }
}

/// `input` decompressed, whatever of gzip, zstd or nothing it uses.
fn decompressed<'a>(mut input: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
    let mut head = Vec::with_capacity(6);
    input
        .by_ref()
        .take(6)
        .read_to_end(&mut head)
        .map_err(io_err("reading", "stdin"))?;
    let kind = compression(&head);
    let whole: Chain<Cursor<Vec<u8>>, _> = Cursor::new(head).chain(input);
    Ok(match kind {
        None => Box::new(whole),
        Some("gzip") => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        Some("zstd") => {
            Box::new(zstd::stream::read::Decoder::new(whole).map_err(io_err("reading", "stdin"))?)
        }
        Some(other) => return Err(CopyError::UnsupportedCompression(other).into()),
    })
}

/// Unpacks tar stream `input` into directory `dir`; the first entry must
/// read as tar.
fn unpack(input: impl Read, dir: &Path) -> Result<()> {
    let mut archive = tar::Archive::new(decompressed(input)?);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(false);
    let bad = |e: std::io::Error| {
        // tar's error names the entry; its cause says what was wrong.
        let cause = std::error::Error::source(&e)
            .map(|c| format!(": {c}"))
            .unwrap_or_default();
        ContainerError::Invalid(format!("reading the tar archive from stdin: {e}{cause}"))
    };
    let mut seen = false;
    for entry in archive.entries().map_err(|_| CopyError::NotATar)? {
        let mut entry = match entry {
            Ok(e) => e,
            Err(_) if !seen => return Err(CopyError::NotATar.into()),
            Err(e) => return Err(bad(e)),
        };
        seen = true;
        entry.unpack_in(dir).map_err(bad)?;
    }
    if !seen {
        return Err(CopyError::NotATar.into());
    }
    Ok(())
}

/// Unpacks tar stream `input` (plain, gzip or zstd) into directory `to`.
pub fn copy_from_tar(
    cs: &Containers,
    input: impl Read,
    to: &InContainer<'_>,
    opts: &CopyOptions,
) -> Result<()> {
    let view = View::open(cs, to.container)?;
    let dst = Located::in_container(&view, to)?;
    let Dest::Dir { fd, shown } = resolve::destination(&dst.end(), false)? else {
        return Err(CopyError::StdinNeedsDirectory.into());
    };
    let owner = if opts.chown {
        container_user(&view, to.container)?
    } else {
        Owner::Keep
    };
    let put = Put {
        owner,
        overwrite: opts.overwrite,
        skip_devices: false,
        place: format!("container {}", to.given_as),
        full_prefix: String::new(),
        links: Default::default(),
    };
    let stage = staging(to.container)?;
    unpack(input, stage.path())?;
    let staged = rustix::fs::open(
        stage.path(),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(tree::errno("opening", stage.path()))?;
    tree::copy_children(staged.as_fd(), fd.as_fd(), &shown, &put)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(name: &str, data: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(1042);
        h.set_gid(1043);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn reads_plain_gzip_and_zstd_tars_and_refuses_the_rest() {
        let plain = tarball("a.txt", b"hi");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&plain[..], 1).unwrap();
        for input in [&plain, &gz, &zst] {
            let d = tempfile::tempdir().unwrap();
            unpack(&input[..], d.path()).unwrap();
            assert_eq!(std::fs::read(d.path().join("a.txt")).unwrap(), b"hi");
        }
        let d = tempfile::tempdir().unwrap();
        for junk in [&b"just some text, not a tar\n"[..], b""] {
            let e = unpack(junk, d.path()).err().unwrap();
            assert_eq!(
                e.to_string(),
                "source must be a (compressed) tar archive when copying from stdin"
            );
        }
        assert!(unpack(&b"BZh91AY&SY"[..], d.path()).is_err());
    }
}

//! podman's checkpoint archive (`checkpoint --export`, `restore --import`):
//! a tar (plain, gzip or zstd) of
//!
//! ```text
//! checkpoint/          CRIU's images and its dump.log
//! config.dump          the engine's container configuration (JSON)
//! spec.dump            the OCI runtime spec the container ran with
//! network.status       the network setup's result (JSON)
//! stats-dump           CRIU's dump statistics
//! rootfs-diff.tar      files the container changed in its root filesystem
//! deleted.files        JSON list of files it deleted there
//! volumes/             one tar per named volume
//! devshm-checkpoint.tar  the contents of its /dev/shm
//! ```
//!
//! An archive is untrusted input: it is extracted with the store's safe
//! extraction (no `..`, no escaping symlinks, nothing outside the
//! destination), and must hold at least the CRIU images and both dumps.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::early_pages::CompressedPages;
use crate::error::{io_err, CheckpointError, Result};
use crate::late_pages::{is_page_image, Import, PAGES_FOLLOW};

pub const CHECKPOINT_DIR: &str = "checkpoint";
pub const CONFIG_DUMP: &str = "config.dump";
pub const SPEC_DUMP: &str = "spec.dump";
pub const NETWORK_STATUS: &str = "network.status";
pub const STATS_DUMP: &str = "stats-dump";
pub const ROOTFS_DIFF: &str = "rootfs-diff.tar";
pub const DELETED_FILES: &str = "deleted.files";
pub const VOLUMES_DIR: &str = "volumes";
pub const DEVSHM: &str = "devshm-checkpoint.tar";

/// Every top-level name an archive may hold, in the order they are written.
pub const ARCHIVE_FILES: &[&str] = &[
    CHECKPOINT_DIR,
    CONFIG_DUMP,
    SPEC_DUMP,
    NETWORK_STATUS,
    STATS_DUMP,
    ROOTFS_DIFF,
    DELETED_FILES,
    VOLUMES_DIR,
    DEVSHM,
];

/// `--compress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    None,
    Gzip,
    /// podman's default.
    #[default]
    Zstd,
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Compression, String> {
        match s {
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            other => Err(format!(
                "selected compression algorithm ({other:?}) not supported. Please select one from: gzip, none, zstd"
            )),
        }
    }
}

/// The zstd level of `--compress zstd`.
pub(crate) const ZSTD_LEVEL: i32 = 1;

/// Writes the archive `file` from the entries of `dir` named in
/// [`ARCHIVE_FILES`] (those that exist).
pub fn export(dir: &Path, file: &Path, compression: Compression) -> Result<()> {
    export_with_pages(dir, file, compression, Vec::new())
}

/// [`export`], splicing in the page images a [`crate::PageFollower`]
/// compressed during the dump (with `--compress zstd`; they are ignored
/// otherwise).
pub fn export_with_pages(
    dir: &Path,
    file: &Path,
    compression: Compression,
    pages: Vec<CompressedPages>,
) -> Result<()> {
    let tmp = file.with_extension("hoist-partial");
    let out = File::create(&tmp).map_err(io_err("creating", &tmp))?;
    let out = BufWriter::new(out);
    let written = match compression {
        Compression::None => write_tar(dir, out, &[]).and_then(finish_plain),
        Compression::Gzip => {
            let enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            write_tar(dir, enc, &[])
                .and_then(|e| e.finish().map(|_| ()).map_err(io_err("writing", &tmp)))
        }
        Compression::Zstd => ZstdFrames::new(out)
            .map_err(io_err("compressing", &tmp))
            .and_then(|frames| write_tar(dir, frames, &pages))
            .and_then(|frames| frames.finish().map_err(io_err("writing", &tmp))),
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, file).map_err(io_err("renaming to", file))
}

fn finish_plain(mut w: BufWriter<File>) -> Result<()> {
    w.flush().map_err(io_err("writing", "the archive"))
}

/// What the tar is written through: plain or compressed streams, and zstd
/// frames that can take a frame compressed elsewhere between two writes.
trait ArchiveSink: Write {
    /// Whether [`ArchiveSink::splice_frame`] works.
    fn can_splice(&self) -> bool {
        false
    }

    /// Appends `frame`, a complete zstd frame, to the compressed stream.
    fn splice_frame(&mut self, _frame: &[u8]) -> std::io::Result<()> {
        Err(std::io::Error::other(
            "this archive cannot take a zstd frame",
        ))
    }
}

impl ArchiveSink for BufWriter<File> {}
impl<W: Write> ArchiveSink for flate2::write::GzEncoder<W> {}

/// A zstd stream of one or more frames: a frame ends where a spliced one
/// goes in, and the next starts after it. After a failed splice (a full
/// disk) every write fails: the archive is abandoned.
struct ZstdFrames {
    encoder: Option<zstd::Encoder<'static, BufWriter<File>>>,
}

impl ZstdFrames {
    fn new(out: BufWriter<File>) -> std::io::Result<ZstdFrames> {
        Ok(ZstdFrames {
            encoder: Some(zstd_encoder(out)?),
        })
    }

    fn encoder(&mut self) -> std::io::Result<&mut zstd::Encoder<'static, BufWriter<File>>> {
        self.encoder.as_mut().ok_or_else(broken)
    }

    fn finish(mut self) -> std::io::Result<()> {
        let enc = self.encoder.take().ok_or_else(broken)?;
        enc.finish()?.flush()
    }
}

/// Level 1: an export is on the path of a migration, and its bulk is
/// memory pages. Against level 3 it compressed 256 MB of binaries here 25%
/// faster for 6% more bytes, and skips zstd 1.5.7's block pre-splitter (a
/// tenth of the export's CPU at 3). One worker a core: the pages not
/// compressed during the dump are most of the rest.
fn zstd_encoder(out: BufWriter<File>) -> std::io::Result<zstd::Encoder<'static, BufWriter<File>>> {
    let mut enc = zstd::Encoder::new(out, ZSTD_LEVEL)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    if cores > 1 {
        enc.multithread(cores)?;
    }
    Ok(enc)
}

fn broken() -> std::io::Error {
    std::io::Error::other("the archive was abandoned after a failed write")
}

impl Write for ZstdFrames {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.encoder()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.encoder()?.flush()
    }
}

impl ArchiveSink for ZstdFrames {
    fn can_splice(&self) -> bool {
        true
    }

    fn splice_frame(&mut self, frame: &[u8]) -> std::io::Result<()> {
        let mut out = self.encoder.take().ok_or_else(broken)?.finish()?;
        out.write_all(frame)?;
        self.encoder = Some(zstd_encoder(out)?);
        Ok(())
    }
}

fn write_tar<W: ArchiveSink>(dir: &Path, out: W, pages: &[CompressedPages]) -> Result<W> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let images = dir.join(CHECKPOINT_DIR);
    let images_dir = std::fs::symlink_metadata(&images).is_ok_and(|m| m.is_dir());
    for name in ARCHIVE_FILES {
        let path = dir.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let added = if *name == CHECKPOINT_DIR && images_dir {
            tar.append_dir(name, &path)
                .and_then(|()| append_images(&mut tar, &path, pages, |n| !is_page_image(n)))
        } else if meta.is_dir() {
            tar.append_dir_all(name, &path)
        } else {
            tar.append_path_with_name(&path, name)
        };
        added.map_err(io_err("adding to the archive", &path))?;
    }
    // The memory pages last, so that an import can start restoring
    // before they are all read (see crate::late_pages).
    if images_dir {
        let mut marker = tar::Header::new_gnu();
        marker.set_size(0);
        marker.set_mode(0o644);
        marker.set_mtime(0);
        marker.set_cksum();
        tar.append_data(&mut marker, PAGES_FOLLOW, std::io::empty())
            .and_then(|()| append_images(&mut tar, &images, pages, is_page_image))
            .map_err(io_err("adding to the archive", &images))?;
    }
    tar.into_inner().map_err(io_err("writing", "the archive"))
}

/// The files of the images directory `path` that `wanted` picks by name,
/// as `checkpoint/NAME`, with the page images that `pages` covers spliced
/// in as they were compressed.
fn append_images<W: ArchiveSink>(
    tar: &mut tar::Builder<W>,
    path: &Path,
    pages: &[CompressedPages],
    wanted: impl Fn(&str) -> bool,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let file_name = e.file_name();
        if !wanted(&file_name.to_string_lossy()) {
            continue;
        }
        let in_archive = Path::new(CHECKPOINT_DIR).join(&file_name);
        let meta = std::fs::symlink_metadata(e.path())?;
        let compressed = pages
            .iter()
            .filter(|_| tar.get_ref().can_splice())
            .find(|p| file_name.to_str() == Some(p.name.as_str()) && p.covers(&meta));
        if let Some(p) = compressed {
            splice_file(tar, &in_archive, &meta, p)?;
        } else if meta.is_dir() {
            tar.append_dir_all(&in_archive, e.path())?;
        } else {
            tar.append_path_with_name(e.path(), &in_archive)?;
        }
    }
    Ok(())
}

/// One file's entry whose content is `pages`' frame: its header, the frame,
/// then the padding to the next 512-byte block.
fn splice_file<W: ArchiveSink>(
    tar: &mut tar::Builder<W>,
    in_archive: &Path,
    meta: &std::fs::Metadata,
    pages: &CompressedPages,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
    header.set_path(in_archive)?;
    header.set_size(pages.len);
    header.set_cksum();
    // The header goes in first, then the content, which the frame holds.
    let sink = tar.get_mut();
    sink.write_all(header.as_bytes())?;
    sink.splice_frame(&pages.frame)?;
    let padding = (512 - pages.len % 512) % 512;
    sink.write_all(&[0u8; 512][..padding as usize])
}

/// Extracts archive `file` into the empty directory `dest` and checks that
/// it is a checkpoint: CRIU's images and both dumps are there.
pub fn import(file: &Path, dest: &Path) -> Result<()> {
    import_streaming(file, dest)?.finish()
}

/// [`import`], returning as soon as everything but the memory pages is in
/// `dest` when the archive puts them last (hoist's do): the pages are then
/// written by the returned [`Import`], and a restore from `dest`'s images
/// waits for them where CRIU needs them (see [`crate::late_pages`]).
pub fn import_streaming(file: &Path, dest: &Path) -> Result<Import> {
    let bad = |reason: String| CheckpointError::BadArchive {
        path: file.to_path_buf(),
        reason,
    };
    let f = File::open(file).map_err(io_err("opening", file))?;
    let mut input = BufReader::new(f);
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut input, &mut magic).map_err(io_err("reading", file))?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let stream = head.chain(input);
    let reader: Box<dyn Read + Send> = match magic {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::GzDecoder::new(stream)),
        [0x28, 0xb5, 0x2f, 0xfd] => {
            Box::new(zstd::Decoder::new(stream).map_err(|e| bad(format!("zstd: {e}")))?)
        }
        _ => Box::new(stream),
    };
    let opts = hoist_store::ExtractOptions {
        allow_devices: false,
        preserve_owner: true,
    };
    let (_, rest) =
        hoist_store::extract_tar_until(reader, dest, &opts, &|p| p == PAGES_FOLLOW.as_bytes())
            .map_err(|e| bad(e.to_string()))?;
    for required in [CONFIG_DUMP, SPEC_DUMP] {
        if !dest.join(required).is_file() {
            return Err(bad(format!(
                "{required} is missing: the file is truncated or not a checkpoint archive"
            )));
        }
    }
    let images = dest.join(CHECKPOINT_DIR);
    if !images.join("inventory.img").is_file() {
        return Err(bad(
            "checkpoint/inventory.img is missing: the file is truncated or not a checkpoint archive"
                .into(),
        ));
    }
    match rest {
        Some(rest) => Import::start(rest, &images, file),
        None => Ok(Import::done()),
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint_dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(CHECKPOINT_DIR)).unwrap();
        std::fs::write(d.path().join("checkpoint/inventory.img"), b"inv").unwrap();
        std::fs::write(d.path().join(CONFIG_DUMP), b"{}").unwrap();
        std::fs::write(d.path().join(SPEC_DUMP), b"{}").unwrap();
        d
    }

    #[test]
    fn round_trip_in_every_compression() {
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let src = checkpoint_dir();
            let out = tempfile::tempdir().unwrap();
            let file = out.path().join("a.tar");
            export(src.path(), &file, c).unwrap();
            let dest = tempfile::tempdir().unwrap();
            import(&file, dest.path()).unwrap();
            assert_eq!(
                std::fs::read(dest.path().join("checkpoint/inventory.img")).unwrap(),
                b"inv"
            );
        }
    }

    /// Page images compressed during the dump go in as frames of their
    /// own; the archive reads back whole with hoist's import and with GNU
    /// tar and zstd, the tools a podman host has.
    #[test]
    fn page_images_compressed_early_are_spliced_in() {
        let src = checkpoint_dir();
        let images = src.path().join(CHECKPOINT_DIR);
        let compressor = crate::PageFollower::compressing(&images);
        let big: Vec<u8> = (0..3_000_001u32).map(|i| (i % 241) as u8).collect();
        std::fs::write(images.join("pages-1.img"), &big).unwrap();
        std::fs::write(images.join("pages-2.img"), b"small").unwrap();
        let pages = compressor.finish();
        assert_eq!(pages.len(), 2);
        // A page image changed after it was followed goes in the usual way.
        std::fs::write(images.join("pages-2.img"), b"changed").unwrap();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("a.tar.zst");
        export_with_pages(src.path(), &file, Compression::Zstd, pages).unwrap();

        let dest = tempfile::tempdir().unwrap();
        import(&file, dest.path()).unwrap();
        let read = |n: &str| std::fs::read(dest.path().join("checkpoint").join(n)).unwrap();
        assert_eq!(read("pages-1.img"), big);
        assert_eq!(read("pages-2.img"), b"changed");
        assert_eq!(read("inventory.img"), b"inv");

        let gnu = tempfile::tempdir().unwrap();
        let tar = std::process::Command::new("tar")
            .args(["--zstd", "-xf"])
            .arg(&file)
            .arg("-C")
            .arg(gnu.path())
            .output()
            .expect("GNU tar runs");
        assert!(tar.status.success(), "{tar:?}");
        assert_eq!(
            std::fs::read(gnu.path().join("checkpoint/pages-1.img")).unwrap(),
            big
        );
        assert_eq!(std::fs::read(gnu.path().join(CONFIG_DUMP)).unwrap(), b"{}");
    }

    /// hoist's archives end with the page images, after the marker: an
    /// import hands them to a thread, and one cut short there keeps the
    /// restore's gate shut.
    #[test]
    fn page_images_come_last_and_a_cut_in_them_shuts_the_gate() {
        let src = checkpoint_dir();
        let images = src.path().join(CHECKPOINT_DIR);
        let big: Vec<u8> = (0..2_000_003u32).map(|i| (i % 239) as u8).collect();
        std::fs::write(images.join("pages-1.img"), &big).unwrap();
        std::fs::write(images.join("pagemap-1.img"), b"map").unwrap();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("a.tar");
        export(src.path(), &file, Compression::None).unwrap();
        let listing = std::process::Command::new("tar")
            .arg("-tf")
            .arg(&file)
            .output()
            .expect("GNU tar runs");
        let names = String::from_utf8(listing.stdout).unwrap();
        let names: Vec<&str> = names.lines().collect();
        assert_eq!(
            names[names.len() - 2..],
            [PAGES_FOLLOW, "checkpoint/pages-1.img"]
        );

        let dest = tempfile::tempdir().unwrap();
        let pages = import_streaming(&file, dest.path()).unwrap();
        assert_eq!(std::fs::read(dest.path().join(CONFIG_DUMP)).unwrap(), b"{}");
        pages.finish().unwrap();
        let got = dest.path().join("checkpoint");
        assert_eq!(std::fs::read(got.join("pages-1.img")).unwrap(), big);
        assert!(crate::late_pages::wait_for_pages(&got));

        let data = std::fs::read(&file).unwrap();
        std::fs::write(&file, &data[..data.len() - 1_000_000]).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let pages = import_streaming(&file, dest.path()).unwrap();
        assert!(matches!(
            pages.finish(),
            Err(CheckpointError::BadArchive { .. })
        ));
        assert!(!crate::late_pages::wait_for_pages(
            &dest.path().join("checkpoint")
        ));
    }

    #[test]
    fn truncated_and_foreign_archives_are_refused() {
        let src = checkpoint_dir();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("a.tar.zst");
        export(src.path(), &file, Compression::Zstd).unwrap();
        let data = std::fs::read(&file).unwrap();
        std::fs::write(&file, &data[..data.len() / 2]).unwrap();
        let dest = tempfile::tempdir().unwrap();
        assert!(matches!(
            import(&file, dest.path()),
            Err(CheckpointError::BadArchive { .. })
        ));
        std::fs::write(&file, b"not an archive at all, just text").unwrap();
        let dest = tempfile::tempdir().unwrap();
        assert!(import(&file, dest.path()).is_err());
    }

    #[test]
    fn parent_paths_are_refused() {
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("evil.tar");
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        let data = b"x";
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // set_path refuses "..": write the name bytes directly.
        h.as_gnu_mut().unwrap().name[..11].copy_from_slice(b"../escaped\0");
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
        std::fs::write(&file, b.into_inner().unwrap()).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let inner = dest.path().join("in");
        std::fs::create_dir(&inner).unwrap();
        assert!(import(&file, &inner).is_err());
        assert!(!dest.path().join("escaped").exists());
    }
}

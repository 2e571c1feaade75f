//! Random access to the bytes of one (compressed) layer blob.

use std::io;
use std::ops::Range;

/// Reads byte ranges of one blob. Implementations fetch from a registry with
/// HTTP range requests or read a local file; all must be safe to call from
/// several threads at once.
pub trait RangeSource: Send + Sync {
    /// The blob's total size in bytes.
    fn size(&self) -> u64;

    /// Reads each range of the blob, in order. Ranges are sorted, do not
    /// overlap and lie inside the blob; one call may merge them into fewer
    /// requests. Returns exactly one buffer per range, of the range's length.
    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>>;

    /// [`RangeSource::read_ranges`], handing each range (its index among
    /// `ranges` and its bytes) to `deliver` as soon as it is in, so the
    /// first can be used while later ones are still coming (by default:
    /// all at the end). Each range is delivered at most once.
    fn read_ranges_each(
        &self,
        ranges: &[Range<u64>],
        deliver: &mut dyn FnMut(usize, &[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        for (i, bytes) in self.read_ranges(ranges)?.iter().enumerate() {
            deliver(i, bytes)?;
        }
        Ok(())
    }

    /// [`RangeSource::read_ranges`], giving up (with `TimedOut`) at
    /// `deadline` if the source can wait (a network source); local
    /// sources answer at once and ignore it.
    fn read_ranges_within(
        &self,
        ranges: &[Range<u64>],
        _deadline: std::time::Instant,
    ) -> io::Result<Vec<Vec<u8>>> {
        self.read_ranges(ranges)
    }

    /// Reads one range, handing the bytes to `sink` in order as they
    /// arrive (by default: all at once at the end).
    fn stream_range(
        &self,
        range: Range<u64>,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        sink(&self.read_range(range)?)
    }

    /// Reads one range.
    fn read_range(&self, range: Range<u64>) -> io::Result<Vec<u8>> {
        let mut out = self.read_ranges(std::slice::from_ref(&range))?;
        out.pop()
            .ok_or_else(|| io::Error::other("range source returned no data"))
    }
}

/// A blob in a local file (a converted image before push, a test fixture,
/// the recording run of `image convert --optimize`).
#[derive(Debug)]
pub struct FileSource {
    file: std::fs::File,
    size: u64,
}

impl FileSource {
    pub fn open(path: &std::path::Path) -> io::Result<FileSource> {
        let file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        Ok(FileSource { file, size })
    }
}

impl RangeSource for FileSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        use std::os::unix::fs::FileExt;
        ranges
            .iter()
            .map(|r| {
                if r.end > self.size || r.start > r.end {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("range {r:?} outside a blob of {} bytes", self.size),
                    ));
                }
                let mut buf = vec![0; (r.end - r.start) as usize];
                self.file.read_exact_at(&mut buf, r.start)?;
                Ok(buf)
            })
            .collect()
    }
}

/// A blob held in memory (tests, small blobs).
impl RangeSource for Vec<u8> {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        ranges
            .iter()
            .map(|r| {
                self.get(r.start as usize..r.end as usize)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("range {r:?} outside blob"),
                        )
                    })
            })
            .collect()
    }
}

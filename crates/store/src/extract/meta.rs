//! Ownership, mode, times and xattrs of an entry: read from the tar header
//! and its PAX records, applied to what `fsops` created.

use std::io::{self, Read};
use std::os::fd::AsFd;

use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fsetxattr, futimens, utimensat, AtFlags, Gid, Mode, Timespec,
    Timestamps, Uid, XattrFlags,
};
use rustix::io::Errno;

use super::numeric::HeaderNumbers;
use super::{ExtractError, ExtractOptions};

/// Xattr prefixes a layer may not set: overlayfs reads these as its own
/// metadata (redirects, metacopy, opaque), so a layer setting them could
/// forge overlay state. Opaque directories come from `.wh..wh..opq` instead.
const FORBIDDEN_XATTRS: [&[u8]; 2] = [b"trusted.overlay.", b"user.overlay."];

#[derive(Debug, Clone)]
pub(crate) struct Meta {
    /// Permission bits including setuid, setgid and sticky.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: Timespec,
    pub(crate) xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Meta {
    pub(crate) fn read<R: Read>(
        entry: &mut tar::Entry<'_, R>,
        name: &str,
    ) -> Result<Meta, ExtractError> {
        let header_err = |source: io::Error| ExtractError::Header {
            entry: name.to_string(),
            source,
        };
        // Our own parser, not the `tar` crate's: it accepts the NUL- and
        // space-filled fields real tars write (see numeric.rs).
        let nums = HeaderNumbers::read(entry.header()).map_err(header_err)?;
        let mode = nums.mode;
        let mut uid = u64::from(nums.uid);
        let mut gid = u64::from(nums.gid);
        let mut mtime = Timespec {
            tv_sec: nums.mtime,
            tv_nsec: 0,
        };
        let mut xattrs = Vec::new();
        if let Some(pax) = entry.pax_extensions().map_err(ExtractError::Archive)? {
            for ext in pax {
                let ext = ext.map_err(header_err)?;
                let (key, value) = (ext.key_bytes(), ext.value_bytes());
                if let Some(xname) = key.strip_prefix(b"SCHILY.xattr.") {
                    xattrs.push((xname.to_vec(), value.to_vec()));
                    continue;
                }
                let text = std::str::from_utf8(value).ok();
                match key {
                    b"uid" => uid = parse_id(text, name, "uid")?,
                    b"gid" => gid = parse_id(text, name, "gid")?,
                    b"mtime" => {
                        if let Some(t) = text.and_then(parse_pax_time) {
                            mtime = t;
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(Meta {
            mode,
            uid: check_id(uid, name, "uid")?,
            gid: check_id(gid, name, "gid")?,
            mtime,
            xattrs,
        })
    }

    fn times(&self) -> Timestamps {
        Timestamps {
            last_access: self.mtime,
            last_modification: self.mtime,
        }
    }

    /// chown, then chmod (chown clears setuid/setgid), then xattrs on an open
    /// regular file or directory. Times are separate: see `set_times_fd`.
    pub(crate) fn apply_owner_mode_xattrs(
        &self,
        fd: impl AsFd,
        opts: &ExtractOptions,
        entry: &str,
        with_mode: bool,
    ) -> Result<(), ExtractError> {
        let io = |op| move |e: Errno| ExtractError::io(entry, op, e.into());
        if opts.preserve_owner {
            fchown(fd.as_fd(), Some(uid(self.uid)), Some(gid(self.gid))).map_err(io("chown"))?;
        }
        if with_mode {
            fchmod(fd.as_fd(), Mode::from_raw_mode(self.mode)).map_err(io("chmod"))?;
        }
        for (name, value) in &self.xattrs {
            if FORBIDDEN_XATTRS.iter().any(|p| name.starts_with(p)) {
                tracing::warn!(entry, xattr = %String::from_utf8_lossy(name), "ignoring overlayfs xattr set by the layer");
                continue;
            }
            match fsetxattr(fd.as_fd(), name.as_slice(), value, XattrFlags::empty()) {
                Ok(()) => {}
                // The filesystem or our privileges do not allow this
                // namespace: the content is still right, so go on.
                Err(e @ (Errno::NOTSUP | Errno::PERM)) => {
                    tracing::warn!(entry, xattr = %String::from_utf8_lossy(name), error = %e, "could not set xattr");
                }
                Err(e) => return Err(io("setting xattr on")(e)),
            }
        }
        Ok(())
    }

    pub(crate) fn set_mode_fd(&self, fd: impl AsFd, entry: &str) -> Result<(), ExtractError> {
        fchmod(fd, Mode::from_raw_mode(self.mode))
            .map_err(|e| ExtractError::io(entry, "chmod", e.into()))
    }

    pub(crate) fn set_times_fd(&self, fd: impl AsFd, entry: &str) -> Result<(), ExtractError> {
        futimens(fd, &self.times())
            .map_err(|e| ExtractError::io(entry, "setting times of", e.into()))
    }

    /// For entries that cannot be opened safely (symlinks, devices, fifos):
    /// owner and times by name without following, mode unless a symlink.
    pub(crate) fn apply_at(
        &self,
        dir: impl AsFd,
        name: &[u8],
        opts: &ExtractOptions,
        entry: &str,
        is_symlink: bool,
    ) -> Result<(), ExtractError> {
        let io = |op| move |e: Errno| ExtractError::io(entry, op, e.into());
        if opts.preserve_owner {
            chownat(
                dir.as_fd(),
                name,
                Some(uid(self.uid)),
                Some(gid(self.gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(io("chown"))?;
        }
        if !is_symlink {
            // The node was just created by us in a private directory, so the
            // name cannot have become a symlink in between.
            chmodat(
                dir.as_fd(),
                name,
                Mode::from_raw_mode(self.mode),
                AtFlags::empty(),
            )
            .map_err(io("chmod"))?;
        }
        utimensat(dir.as_fd(), name, &self.times(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(io("setting times of"))?;
        Ok(())
    }
}

fn uid(raw: u32) -> Uid {
    Uid::from_raw(raw)
}

fn gid(raw: u32) -> Gid {
    Gid::from_raw(raw)
}

fn parse_id(text: Option<&str>, entry: &str, what: &str) -> Result<u64, ExtractError> {
    text.and_then(|t| t.trim().parse::<u64>().ok())
        .ok_or_else(|| ExtractError::Header {
            entry: entry.to_string(),
            source: io::Error::new(io::ErrorKind::InvalidData, format!("bad PAX {what}")),
        })
}

/// Ids must fit Linux's 32 bits, and -1 means "unchanged" to chown: refuse it.
fn check_id(id: u64, entry: &str, what: &str) -> Result<u32, ExtractError> {
    u32::try_from(id)
        .ok()
        .filter(|v| *v != u32::MAX)
        .ok_or_else(|| ExtractError::Header {
            entry: entry.to_string(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{what} {id} is out of range"),
            ),
        })
}

/// A PAX time: decimal seconds, optionally negative, optionally with a fraction.
pub(crate) fn parse_pax_time(s: &str) -> Option<Timespec> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    Some(if neg {
        if nanos == 0 {
            Timespec {
                tv_sec: -secs,
                tv_nsec: 0,
            }
        } else {
            Timespec {
                tv_sec: -secs - 1,
                tv_nsec: (1_000_000_000 - nanos) as _,
            }
        }
    } else {
        Timespec {
            tv_sec: secs,
            tv_nsec: nanos as _,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times_parse() {
        let t = parse_pax_time("1700000000.5").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (1_700_000_000, 500_000_000));
        let t = parse_pax_time("-1.25").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (-2, 750_000_000));
        assert_eq!(parse_pax_time("12").unwrap().tv_sec, 12);
        for bad in ["", "x", "1.x", "-", "1e5"] {
            assert!(parse_pax_time(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ids_are_range_checked() {
        assert_eq!(check_id(1000, "e", "uid").unwrap(), 1000);
        assert!(check_id(u32::MAX as u64, "e", "uid").is_err());
        assert!(check_id(1 << 40, "e", "gid").is_err());
    }
}

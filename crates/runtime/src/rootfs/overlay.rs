//! Mounting and unmounting the overlay root filesystem.
//!
//! Long option strings: mount(2) copies at most one page of option data, so
//! `lowerdir=` with many long store paths (an image with 60 layers under
//! `/var/lib/hoist/layers/<64 hex>/...` already needs more) does not fit.
//! Then every directory is opened (`O_PATH`) and named by its short
//! `/proc/self/fd/N` alias, which overlayfs resolves at mount time like any
//! path; the descriptors are closed right after. This needs neither a
//! `chdir` (process-wide, so unsafe with other threads) nor a directory of
//! short symlinks to maintain. The mount table then shows those
//! `/proc/self/fd/N` names as the options; nothing reads them back.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountFlags, UnmountFlags};

use super::error::{IoContext, RootfsError};

/// The most lower layers overlayfs stacks (the kernel's OVL_MAX_STACK).
pub const MAX_LAYERS: usize = 500;

fn check_path(p: &Path) -> Result<&str, RootfsError> {
    let s = p.to_str().ok_or_else(|| RootfsError::BadPath {
        path: p.to_path_buf(),
        ch: '\u{fffd}',
    })?;
    if let Some(ch) = s.chars().find(|c| matches!(c, ',' | ':' | '\\')) {
        return Err(RootfsError::BadPath {
            path: p.to_path_buf(),
            ch,
        });
    }
    Ok(s)
}

fn options(lower: &[String], upper_work: Option<(&str, &str)>, volatile: bool) -> String {
    let mut data = format!("lowerdir={}", lower.join(":"));
    if let Some((upper, work)) = upper_work {
        data.push_str(&format!(",upperdir={upper},workdir={work}"));
        if volatile {
            data.push_str(",volatile");
        }
    }
    data
}

/// Opens `p` as an `O_PATH` directory and returns it with its fd path.
fn fd_alias(p: &Path) -> Result<(OwnedFd, String), RootfsError> {
    let fd = rustix::fs::open(
        p,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx("opening layer directory", p)?;
    let alias = format!("/proc/self/fd/{}", fd.as_raw_fd());
    Ok((fd, alias))
}

fn mount_with(
    lowerdirs: &[PathBuf],
    upper_work: Option<(&Path, &Path)>,
    volatile: bool,
    target: &Path,
    flags: MountFlags,
) -> Result<(), RootfsError> {
    if lowerdirs.is_empty() {
        return Err(RootfsError::NoLayers {
            target: target.to_path_buf(),
        });
    }
    if lowerdirs.len() > MAX_LAYERS {
        return Err(RootfsError::TooManyLayers {
            target: target.to_path_buf(),
            count: lowerdirs.len(),
            max: MAX_LAYERS,
        });
    }
    let lower = lowerdirs
        .iter()
        .map(|p| check_path(p).map(str::to_string))
        .collect::<Result<Vec<_>, _>>()?;
    let uw = match upper_work {
        Some((u, w)) => Some((check_path(u)?, check_path(w)?)),
        None => None,
    };
    let max = rustix::param::page_size() - 1;
    let mut data = options(&lower, uw, volatile);
    // Keeps the O_PATH descriptors open until the mount is done.
    let mut _fds = Vec::new();
    if data.len() > max {
        let mut short = Vec::with_capacity(lower.len());
        for p in lowerdirs {
            let (fd, alias) = fd_alias(p)?;
            _fds.push(fd);
            short.push(alias);
        }
        let short_uw = match upper_work {
            Some((u, w)) => {
                let (ufd, ua) = fd_alias(u)?;
                let (wfd, wa) = fd_alias(w)?;
                _fds.extend([ufd, wfd]);
                Some((ua, wa))
            }
            None => None,
        };
        data = options(
            &short,
            short_uw.as_ref().map(|(u, w)| (u.as_str(), w.as_str())),
            volatile,
        );
        tracing::debug!(
            target = %target.display(),
            len = data.len(),
            "overlay options exceed a page, using /proc/self/fd aliases"
        );
        if data.len() > max {
            return Err(RootfsError::OptionsTooLong {
                target: target.to_path_buf(),
                len: data.len(),
                max,
            });
        }
    }
    let data = CString::new(data).expect("paths were checked for NUL by to_str");
    rustix::mount::mount("overlay", target, "overlay", flags, data.as_c_str()).map_err(|e| {
        RootfsError::Mount {
            target: target.to_path_buf(),
            source: e.into(),
        }
    })
}

/// Mounts an overlay on `target`: `lowerdirs` are the image's layer
/// directories, **top layer first** (as overlayfs lists them), `upper` the
/// container's writable directory and `work` its scratch directory (same
/// filesystem as `upper`, both existing and `work` empty). Whiteouts (0:0
/// character devices) and opaque directories in the layers hide what is
/// below them, as the layer format says.
pub fn mount_overlay(
    lowerdirs: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<(), RootfsError> {
    mount_with(
        lowerdirs,
        Some((upper, work)),
        false,
        target,
        MountFlags::empty(),
    )
}

/// [`mount_overlay`] for a writable layer that is thrown away when the
/// container ends (`run --rm`): overlayfs's `volatile` option, so neither
/// `fsync` in the container nor the unmount waits for the upper directory
/// to reach the disk (the unmount's sync was about 2 ms of every `--rm`
/// run). overlayfs marks `work` so that it refuses to mount it again after
/// a crash; `work` must be emptied before every mount anyway.
pub fn mount_overlay_volatile(
    lowerdirs: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<(), RootfsError> {
    mount_with(
        lowerdirs,
        Some((upper, work)),
        true,
        target,
        MountFlags::empty(),
    )
}

/// Mounts the layers read-only on `target`, with no upper directory (e.g.
/// for inspecting an image). A single layer is bind-mounted read-only since
/// overlayfs needs two lower directories without an upper one.
///
/// A `--read-only` *container* does not use this: it gets the normal
/// [`mount_overlay`] and `root.readonly` in its spec, because the runtime
/// must still create mount points (/proc, /dev, /etc/hosts...) that the
/// image may lack; the runtime then remounts the root read-only inside the
/// container only.
pub fn mount_overlay_readonly(lowerdirs: &[PathBuf], target: &Path) -> Result<(), RootfsError> {
    if lowerdirs.len() == 1 {
        let src = &lowerdirs[0];
        let err = |e: rustix::io::Errno| RootfsError::Mount {
            target: target.to_path_buf(),
            source: e.into(),
        };
        rustix::mount::mount_bind(src, target).map_err(err)?;
        let ro = MountFlags::BIND | MountFlags::RDONLY;
        if let Err(e) = rustix::mount::mount_remount(target, ro, "") {
            let _ = rustix::mount::unmount(target, UnmountFlags::DETACH);
            return Err(err(e));
        }
        return Ok(());
    }
    mount_with(lowerdirs, None, false, target, MountFlags::RDONLY)
}

/// Unmounts `target`. Nothing mounted there is not an error, so cleanup can
/// call it again after a crash.
pub fn unmount(target: &Path) -> Result<(), RootfsError> {
    match rustix::mount::unmount(target, UnmountFlags::NOFOLLOW) {
        Ok(()) => Ok(()),
        // EINVAL: not a mount point; ENOENT: gone already.
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(RootfsError::Unmount {
            target: target.to_path_buf(),
            hint: if e == rustix::io::Errno::BUSY {
                "; a process still uses it: stop the container first"
            } else {
                ""
            },
            source: e.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_string_shape() {
        let o = options(&["/a".into(), "/b".into()], Some(("/u", "/w")), false);
        assert_eq!(o, "lowerdir=/a:/b,upperdir=/u,workdir=/w");
        assert_eq!(options(&["/a".into()], None, true), "lowerdir=/a");
        assert_eq!(
            options(&["/a".into()], Some(("/u", "/w")), true),
            "lowerdir=/a,upperdir=/u,workdir=/w,volatile"
        );
    }

    #[test]
    fn separators_in_paths_are_refused() {
        for bad in ["/x,y", "/x:y", "/x\\y"] {
            let err = mount_overlay(
                &[PathBuf::from(bad)],
                Path::new("/u"),
                Path::new("/w"),
                Path::new("/t"),
            )
            .unwrap_err();
            assert!(matches!(err, RootfsError::BadPath { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn layer_count_limits() {
        let t = Path::new("/t");
        assert!(matches!(
            mount_overlay(&[], t, t, t),
            Err(RootfsError::NoLayers { .. })
        ));
        let many = vec![PathBuf::from("/l"); MAX_LAYERS + 1];
        assert!(matches!(
            mount_overlay(&many, t, t, t),
            Err(RootfsError::TooManyLayers { .. })
        ));
    }

    #[test]
    fn unmount_of_plain_directory_is_ok() {
        let d = tempfile::tempdir().unwrap();
        unmount(d.path()).unwrap();
        unmount(&d.path().join("missing")).unwrap();
    }
}

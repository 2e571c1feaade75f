//! The spec's mount list: defaults, /etc files, read-only tmpfs, user mounts.

use oci_spec::runtime::{Mount, MountBuilder};

use super::defaults::{default_mounts, read_only_tmpfs_mounts};
use super::{MountSpec, SpecError, SpecOptions};

fn bind(source: &std::path::Path, dest: &str, options: Vec<String>) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ("bind")
        .source(source)
        .options(options)
        .build()?)
}

fn user_mount(m: &MountSpec) -> Result<Mount, SpecError> {
    let check_dest = |d: &str| {
        if d.starts_with('/') {
            Ok(())
        } else {
            Err(SpecError::BadValue {
                what: "mount destination",
                value: d.to_string(),
                reason: "it must be an absolute path inside the container".into(),
            })
        }
    };
    match m {
        MountSpec::Bind {
            source,
            destination,
            read_only,
            options,
        } => {
            check_dest(destination)?;
            if !source.is_absolute() {
                return Err(SpecError::BadValue {
                    what: "bind mount source",
                    value: source.display().to_string(),
                    reason: "it must be an absolute host path".into(),
                });
            }
            let mut opts = vec!["rbind".to_string()];
            opts.push(if *read_only { "ro" } else { "rw" }.into());
            if !options
                .iter()
                .any(|o| o.ends_with("private") || o.ends_with("shared") || o.ends_with("slave"))
            {
                opts.push("rprivate".into());
            }
            opts.extend(options.iter().cloned());
            bind(source, destination, opts)
        }
        MountSpec::Tmpfs {
            destination,
            size,
            mode,
            options,
        } => {
            check_dest(destination)?;
            let mut opts: Vec<String> = vec!["rw".into(), "nosuid".into(), "nodev".into()];
            opts.push(format!("mode={:o}", mode.unwrap_or(0o1777)));
            if let Some(s) = size {
                opts.push(format!("size={}k", s.div_ceil(1024)));
            }
            opts.extend(options.iter().cloned());
            Ok(MountBuilder::default()
                .destination(destination.as_str())
                .typ("tmpfs")
                .source("tmpfs")
                .options(opts)
                .build()?)
        }
    }
}

/// All mounts, in order; a later mount on the same destination replaces an
/// earlier one (so a user mount on /dev/shm replaces the default).
pub(crate) fn mounts(opts: &SpecOptions) -> Result<Vec<Mount>, SpecError> {
    let mut all = default_mounts(opts.privileged, opts.shm_size)?;
    if !opts.shm {
        all.retain(|m| m.destination() != std::path::Path::new("/dev/shm"));
    }
    if let Some(files) = &opts.etc_files {
        for (src, dest) in files.mounts() {
            all.push(bind(&src, dest, vec!["rbind".into(), "rprivate".into()])?);
        }
    }
    if opts.read_only && opts.read_only_tmpfs {
        all.extend(read_only_tmpfs_mounts()?);
    }
    for m in &opts.mounts {
        all.push(user_mount(m)?);
    }
    let mut out: Vec<Mount> = Vec::with_capacity(all.len());
    for m in all {
        out.retain(|o| o.destination() != m.destination());
        out.push(m);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs::EtcFiles;
    use std::path::PathBuf;

    fn dests(m: &[Mount]) -> Vec<String> {
        m.iter()
            .map(|m| m.destination().display().to_string())
            .collect()
    }

    #[test]
    fn user_mounts_and_replacement() {
        let o = SpecOptions {
            read_only: true,
            mounts: vec![
                MountSpec::Bind {
                    source: "/srv/data".into(),
                    destination: "/data".into(),
                    read_only: true,
                    options: vec![],
                },
                MountSpec::Tmpfs {
                    destination: "/dev/shm".into(),
                    size: Some(1 << 20),
                    mode: None,
                    options: vec![],
                },
            ],
            etc_files: Some(EtcFiles::in_dir(&PathBuf::from("/c"))),
            ..Default::default()
        };
        let m = mounts(&o).unwrap();
        let d = dests(&m);
        assert_eq!(d.iter().filter(|x| *x == "/dev/shm").count(), 1);
        assert_eq!(d.last().unwrap(), "/dev/shm");
        for want in [
            "/data",
            "/tmp",
            "/var/tmp",
            "/run",
            "/etc/hosts",
            "/etc/hostname",
            "/etc/resolv.conf",
        ] {
            assert!(d.contains(&want.to_string()), "{want} missing from {d:?}");
        }
        let data = m
            .iter()
            .find(|m| m.destination().to_str() == Some("/data"))
            .unwrap();
        assert_eq!(data.typ().as_deref(), Some("bind"));
        assert_eq!(
            data.options().as_ref().unwrap(),
            &["rbind", "ro", "rprivate"].map(String::from).to_vec()
        );
        let shm = m.last().unwrap();
        assert!(shm
            .options()
            .as_ref()
            .unwrap()
            .contains(&"size=1024k".to_string()));
        let hosts = m
            .iter()
            .find(|m| m.destination().to_str() == Some("/etc/hosts"))
            .unwrap();
        assert_eq!(
            hosts.source().as_deref(),
            Some(std::path::Path::new("/c/hosts"))
        );
    }

    #[test]
    fn no_tmpfs_without_read_only_and_bad_paths_fail() {
        let d = dests(&mounts(&SpecOptions::default()).unwrap());
        assert!(!d.contains(&"/tmp".to_string()));
        let bad = SpecOptions {
            mounts: vec![MountSpec::Bind {
                source: "rel".into(),
                destination: "/x".into(),
                read_only: false,
                options: vec![],
            }],
            ..Default::default()
        };
        assert!(mounts(&bad).is_err());
        let bad = SpecOptions {
            mounts: vec![MountSpec::Tmpfs {
                destination: "x".into(),
                size: None,
                mode: None,
                options: vec![],
            }],
            ..Default::default()
        };
        assert!(mounts(&bad).is_err());
    }
}

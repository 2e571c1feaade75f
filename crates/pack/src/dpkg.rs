//! Reading dpkg's database in the tree: which packages are installed
//! (`/var/lib/dpkg/status`), which files each one owns
//! (`/var/lib/dpkg/info/<pkg>[:arch].list`) and which files are diverted
//! (`/var/lib/dpkg/diversions`).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{io, Result};

pub const STATUS: &str = "var/lib/dpkg/status";
pub const INFO_DIR: &str = "var/lib/dpkg/info";
const DIVERSIONS: &str = "var/lib/dpkg/diversions";

/// One installed package, by the name its info files carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    /// The name of its info files: `bash`, or `libc6:amd64` for a
    /// `Multi-Arch: same` package.
    pub name: String,
    /// The package name without architecture.
    pub package: String,
    pub architecture: String,
    pub version: String,
    /// The source package it was built from (the package itself if the
    /// status does not say).
    pub source: String,
    pub priority: String,
    pub essential: bool,
    /// `Pre-Depends` and `Depends`: each inner list holds alternatives.
    pub depends: Vec<Vec<String>>,
    pub provides: Vec<String>,
    /// The paths its `.list` names, as listed (absolute, unresolved).
    pub list: Vec<PathBuf>,
    /// Its own files in the info directory (`.list`, `.md5sums`,
    /// maintainer scripts...), relative to the tree's root.
    pub info_files: Vec<PathBuf>,
}

/// A file dpkg diverted: packages other than `by` that list `from` have it at `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diversion {
    pub from: PathBuf,
    pub to: PathBuf,
    /// The diverting package; `None` for a local diversion (by the admin).
    pub by: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DpkgDb {
    /// Sorted by `name`.
    pub packages: Vec<Package>,
    pub diversions: Vec<Diversion>,
}

impl DpkgDb {
    /// Reads the database under `root`; `None` when there is no status file
    /// or no package has a file list.
    pub fn read(root: &Path) -> Result<Option<DpkgDb>> {
        let status_path = root.join(STATUS);
        let status = match std::fs::read(&status_path) {
            Ok(s) => String::from_utf8_lossy(&s).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("reading", &status_path)(e)),
        };
        let paragraphs = parse_status(&status);
        let info_dir = root.join(INFO_DIR);
        let mut info: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        match std::fs::read_dir(&info_dir) {
            Ok(entries) => {
                for e in entries {
                    let e = e.map_err(io("listing", &info_dir))?;
                    let file_name = e.file_name();
                    let Some(name) = file_name.to_str() else {
                        continue;
                    };
                    if let Some((stem, ext)) = name.rsplit_once('.') {
                        if !stem.is_empty() && !ext.is_empty() {
                            info.entry(stem.to_string())
                                .or_default()
                                .push(Path::new(INFO_DIR).join(name));
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("listing", &info_dir)(e)),
        }
        let mut packages = Vec::new();
        for (name, mut files) in info {
            let list_rel = Path::new(INFO_DIR).join(format!("{name}.list"));
            if !files.contains(&list_rel) {
                continue;
            }
            files.sort();
            let list_path = root.join(&list_rel);
            let list = std::fs::read(&list_path).map_err(io("reading", &list_path))?;
            let list = list
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| PathBuf::from(OsStr::from_bytes(l)))
                .collect();
            let (package, arch) = match name.split_once(':') {
                Some((p, a)) => (p.to_string(), Some(a)),
                None => (name.clone(), None),
            };
            let para = paragraphs
                .iter()
                .filter(|p| p.get("Package") == Some(&package))
                .find(|p| {
                    arch.is_none_or(|a| p.get("Architecture").map(String::as_str) == Some(a))
                });
            let mut pkg = Package {
                name: name.clone(),
                package: package.clone(),
                source: package.clone(),
                list,
                info_files: files,
                ..Package::default()
            };
            if let Some(p) = para {
                fill_from_status(&mut pkg, p);
            }
            packages.push(pkg);
        }
        if packages.is_empty() {
            return Ok(None);
        }
        let diversions = read_diversions(root)?;
        Ok(Some(DpkgDb {
            packages,
            diversions,
        }))
    }

    /// The architecture dpkg itself was installed for: the tree's native one.
    pub fn native_architecture(&self) -> Option<&str> {
        self.packages
            .iter()
            .find(|p| p.package == "dpkg")
            .map(|p| p.architecture.as_str())
            .filter(|a| !a.is_empty() && *a != "all")
    }
}

type Paragraph = BTreeMap<String, String>;

/// The paragraphs of a status file: `Field: value` lines, continuation
/// lines (starting with a space) appended to the field before.
fn parse_status(text: &str) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut cur = Paragraph::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            last = None;
        } else if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(v) = last.as_ref().and_then(|k| cur.get_mut(k)) {
                v.push('\n');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            cur.insert(k.trim().to_string(), v.trim().to_string());
            last = Some(k.trim().to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn fill_from_status(pkg: &mut Package, p: &Paragraph) {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    pkg.architecture = get("Architecture");
    pkg.version = get("Version");
    pkg.priority = get("Priority");
    pkg.essential = get("Essential") == "yes";
    if let Some(src) = p.get("Source") {
        // "glibc (2.36-9)": the version is only there for binNMUs.
        if let Some(name) = src.split_whitespace().next() {
            pkg.source = name.to_string();
        }
    }
    for field in ["Pre-Depends", "Depends"] {
        if let Some(v) = p.get(field) {
            pkg.depends.extend(parse_relations(v));
        }
    }
    if let Some(v) = p.get("Provides") {
        pkg.provides = parse_relations(v).into_iter().flatten().collect();
    }
}

/// `a (>= 1) | b:any, c` → `[[a, b], [c]]`: names only.
fn parse_relations(v: &str) -> Vec<Vec<String>> {
    v.split(',')
        .map(|group| {
            group
                .split('|')
                .filter_map(|alt| {
                    let name: String = alt
                        .trim()
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '(' && *c != ':' && *c != '[')
                        .collect();
                    (!name.is_empty()).then_some(name)
                })
                .collect::<Vec<_>>()
        })
        .filter(|g| !g.is_empty())
        .collect()
}

/// The diversions file: groups of three lines (from, to, diverting package
/// or `:` for a local diversion).
fn read_diversions(root: &Path) -> Result<Vec<Diversion>> {
    let path = root.join(DIVERSIONS);
    let text = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("reading", &path)(e)),
    };
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    Ok(lines
        .chunks(3)
        .filter(|c| c.len() == 3 && !c[0].is_empty())
        .map(|c| {
            let p = |b: &[u8]| PathBuf::from(OsStr::from_bytes(b));
            Diversion {
                from: p(c[0]),
                to: p(c[1]),
                by: (c[2] != b":").then(|| String::from_utf8_lossy(c[2]).into_owned()),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::FakeRoot;

    #[test]
    fn reads_packages_lists_info_files_and_status() {
        let r = FakeRoot::new();
        r.package(
            "libc6:amd64",
            "Source: glibc (2.36-9)\nPriority: optional\nMulti-Arch: same\nDepends: libgcc-s1, libfoo (>= 1) | libbar:any\n",
            &[("/lib/x86_64-linux-gnu/libc.so.6", 10)],
        );
        r.package(
            "bash",
            "Priority: required\nEssential: yes\nPre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)\nProvides: sh\n",
            &[("/bin/bash", 5)],
        );
        r.write("var/lib/dpkg/info/bash.postinst", b"#!/bin/sh\n");
        r.write("var/lib/dpkg/info/format", b"1\n");
        r.write(
            "var/lib/dpkg/diversions",
            b"/bin/sh\n/bin/sh.distrib\ndash\n/etc/x\n/etc/x.orig\n:\n",
        );
        let db = DpkgDb::read(r.path()).unwrap().unwrap();
        let names: Vec<_> = db.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["bash", "libc6:amd64"]);
        let bash = &db.packages[0];
        assert!(bash.essential);
        assert_eq!(bash.priority, "required");
        assert_eq!(bash.source, "bash");
        assert_eq!(
            bash.depends,
            vec![vec!["libc6".to_string()], vec!["libtinfo6".to_string()]]
        );
        assert_eq!(bash.provides, vec!["sh".to_string()]);
        assert_eq!(bash.list, ["/.", "/bin", "/bin/bash"].map(PathBuf::from));
        assert_eq!(
            bash.info_files,
            [
                "var/lib/dpkg/info/bash.list",
                "var/lib/dpkg/info/bash.md5sums",
                "var/lib/dpkg/info/bash.postinst"
            ]
            .map(PathBuf::from)
        );
        let libc = &db.packages[1];
        assert_eq!(libc.package, "libc6");
        assert_eq!(libc.architecture, "amd64");
        assert_eq!(libc.source, "glibc");
        assert_eq!(
            libc.depends,
            vec![
                vec!["libgcc-s1".to_string()],
                vec!["libfoo".to_string(), "libbar".to_string()]
            ]
        );
        assert_eq!(
            db.diversions,
            vec![
                Diversion {
                    from: "/bin/sh".into(),
                    to: "/bin/sh.distrib".into(),
                    by: Some("dash".into())
                },
                Diversion {
                    from: "/etc/x".into(),
                    to: "/etc/x.orig".into(),
                    by: None
                },
            ]
        );
    }

    #[test]
    fn no_status_or_no_lists_is_none() {
        let r = FakeRoot::new();
        assert!(DpkgDb::read(r.path()).unwrap().is_none());
        r.write("var/lib/dpkg/status", b"Package: x\n");
        r.mkdir("var/lib/dpkg/info");
        assert!(DpkgDb::read(r.path()).unwrap().is_none());
    }

    #[test]
    fn status_continuation_lines_join() {
        let p = parse_status("Package: a\nDescription: one\n two\n\nPackage: b\n");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0]["Description"], "one\ntwo");
        assert_eq!(p[1]["Package"], "b");
    }
}

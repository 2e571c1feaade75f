//! Consistency check of the whole store, with optional repair.
//!
//! Looks at every blob (re-hashed), every layer directory (its metadata,
//! and its files against the contents record written when it was
//! unpacked), every image record (is all it needs there), the objects
//! nothing references any more, and leftovers of dead processes.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use hoist_image::{Digest, Hasher};

use crate::contents::{self, CONTENTS_JSON};
use crate::error::{IoContext, Result, StoreError};
use crate::image::describe;
use crate::layer::read_layer_json;
use crate::layout::{blob_digest, diff_id_from_dir_name};
use crate::{tmp, LayerInfo, LayerRef, Store};

/// How many differences a damaged layer's finding lists by name.
const SHOWN_CHANGES: usize = 5;

/// One thing wrong with the store, naming the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A blob whose content does not hash to its name.
    CorruptBlob { digest: Digest, actual: Digest },
    /// A file or directory where only blobs or layers belong.
    StrayFile { path: PathBuf },
    /// A layer directory that is not a complete layer.
    IncompleteLayer { path: PathBuf, reason: String },
    /// An unpacked layer whose files differ from what was unpacked (edited,
    /// added or deleted under `diff/`), or whose contents record is damaged.
    DamagedLayer {
        diff_id: Digest,
        /// The first differences, as sentences naming the path.
        changes: Vec<String>,
        /// How many more differences there are.
        more: usize,
        /// The verified blob repair re-extracts the layer from; `None` if
        /// no blob of it is left, so repair removes the layer.
        blob: Option<Digest>,
    },
    /// A blob no image (and no container) references.
    UnreferencedBlob { digest: Digest, size: u64 },
    /// A layer no image (and no container) references; `size` is its
    /// uncompressed tar size.
    UnreferencedLayer { diff_id: Digest, size: u64 },
    /// An image needs a blob that is missing or corrupt.
    MissingBlob {
        image: String,
        role: &'static str,
        digest: Digest,
    },
    /// An image needs a layer that is missing or incomplete.
    MissingLayer { image: String, diff_id: Digest },
    /// Leftovers of a hoist process that died.
    StaleTmp { path: PathBuf },
    /// A metadata file that cannot be read.
    BadMetadata { path: PathBuf, reason: String },
}

impl Problem {
    /// Whether `check` with `repair` fixes it (by removing the object or,
    /// for a damaged layer, unpacking it again). Missing content of an
    /// image is fixed by pulling the image again.
    pub fn repairable(&self) -> bool {
        matches!(
            self,
            Problem::CorruptBlob { .. }
                | Problem::StrayFile { .. }
                | Problem::IncompleteLayer { .. }
                | Problem::DamagedLayer { .. }
                | Problem::UnreferencedBlob { .. }
                | Problem::UnreferencedLayer { .. }
                | Problem::StaleTmp { .. }
        )
    }

    /// Whether it is only unused space (an unreferenced blob or layer), not
    /// damage: worth reporting and reclaiming, but the store works as it is.
    pub fn is_unused(&self) -> bool {
        matches!(
            self,
            Problem::UnreferencedBlob { .. } | Problem::UnreferencedLayer { .. }
        )
    }

    /// What `--repair` does about it, `None` if it cannot.
    pub fn remedy(&self) -> Option<String> {
        Some(match self {
            Problem::DamagedLayer {
                blob: Some(blob), ..
            } => format!("unpack the layer again from blob {blob}"),
            Problem::DamagedLayer { blob: None, .. } => {
                "remove the layer (no blob of it is left; the next pull fetches it)".into()
            }
            Problem::UnreferencedBlob { size, .. } | Problem::UnreferencedLayer { size, .. } => {
                format!("remove it, freeing {}", human_size(*size))
            }
            p if p.repairable() => "remove it".into(),
            _ => return None,
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::CorruptBlob { digest, actual } => {
                write!(
                    f,
                    "blob {digest} is corrupt: its content hashes to {actual}"
                )
            }
            Problem::StrayFile { path } => write!(f, "unexpected file {}", path.display()),
            Problem::IncompleteLayer { path, reason } => {
                write!(f, "layer {} is incomplete: {reason}", path.display())
            }
            Problem::DamagedLayer {
                diff_id,
                changes,
                more,
                ..
            } => {
                write!(f, "layer {diff_id} was modified after it was unpacked: ")?;
                write!(f, "{}", changes.join("; "))?;
                if *more > 0 {
                    write!(f, "; and {more} more")?;
                }
                Ok(())
            }
            Problem::UnreferencedBlob { digest, size } => write!(
                f,
                "blob {digest} ({}) is not used by any image",
                human_size(*size)
            ),
            Problem::UnreferencedLayer { diff_id, size } => write!(
                f,
                "layer {diff_id} ({}) is not used by any image",
                human_size(*size)
            ),
            Problem::MissingBlob {
                image,
                role,
                digest,
            } => write!(
                f,
                "image {image}: {role} {digest} is missing or corrupt; pull the image again"
            ),
            Problem::MissingLayer { image, diff_id } => write!(
                f,
                "image {image}: layer {diff_id} is missing or incomplete; pull the image again"
            ),
            Problem::StaleTmp { path } => {
                write!(
                    f,
                    "stale temporary data of a dead process: {}",
                    path.display()
                )
            }
            Problem::BadMetadata { path, reason } => {
                write!(f, "cannot read {}: {reason}", path.display())
            }
        }
    }
}

/// Sizes as podman prints them (decimal units, 3 significant digits).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes} B");
    }
    let decimals = if v < 10.0 {
        2
    } else if v < 100.0 {
        1
    } else {
        0
    };
    let mut text = format!("{v:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{text} {}", UNITS[unit])
}

/// A problem and whether this check repaired it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub problem: Problem,
    pub repaired: bool,
}

/// What [`Store::check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
    pub blobs_checked: usize,
    pub layers_checked: usize,
    pub images_checked: usize,
    /// Layers whose files cannot be verified: unpacked before hoist
    /// recorded layer contents, or holding files this user cannot read
    /// (logged). Not a problem; removing and pulling the image again makes
    /// the former verifiable.
    pub unverifiable_layers: Vec<Digest>,
    /// Unreferenced objects left alone because a running hoist process is
    /// using them (a pull in progress).
    pub in_use: usize,
}

impl CheckReport {
    /// True if nothing is wrong and nothing is unused.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings that are damage (not merely unused objects) and were
    /// not repaired: what makes the store need attention.
    pub fn unrepaired_damage(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| !f.repaired && !f.problem.is_unused())
    }

    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.findings.iter().map(|f| &f.problem)
    }

    /// Bytes held by the unreferenced blobs and layers found (layers
    /// estimated by their uncompressed tar size).
    pub fn unreferenced_bytes(&self) -> u64 {
        self.problems()
            .map(|p| match p {
                Problem::UnreferencedBlob { size, .. }
                | Problem::UnreferencedLayer { size, .. } => *size,
                _ => 0,
            })
            .fold(0u64, u64::saturating_add)
    }
}

impl Store {
    /// [`Store::check_keeping`] with nothing kept beyond what image records
    /// reference.
    pub fn check(&self, repair: bool) -> Result<CheckReport> {
        self.check_keeping(repair, &[])
    }

    /// Re-hashes every blob; checks every layer directory, and every
    /// layer's files against the record made when it was unpacked; checks
    /// that every image's manifest, config and layers are there; finds
    /// blobs and layers that no image references (nor `keep`, e.g. what
    /// containers use), and stale temporary data.
    ///
    /// With `repair` (under the exclusive store lock; otherwise only the
    /// shared one is held): removes corrupt blobs, incomplete layers, stray
    /// files, stale temporary data and unreferenced objects; unpacks a
    /// modified layer again from its verified blob, or removes it if no
    /// blob of it is left. Objects a running hoist process has pinned or
    /// locked are never removed.
    pub fn check_keeping(&self, repair: bool, keep: &[Digest]) -> Result<CheckReport> {
        let _guard = if repair {
            self.exclusive_lock()?
        } else {
            self.shared_lock()?
        };
        let mut report = CheckReport::default();
        let mut add =
            |problem: Problem, repaired: bool| report.findings.push(Finding { problem, repaired });

        for path in tmp::stale_entries(&self.layout().tmp())? {
            let repaired = repair && remove_any(&path).is_ok();
            add(Problem::StaleTmp { path }, repaired);
        }

        // Image records first: what they reference decides which objects
        // are worth verifying. Unreadable records mean nothing is known to
        // be unreferenced, so nothing is reported or removed as such.
        let images = match self.load_images() {
            Err(StoreError::Metadata { path, source }) => {
                add(
                    Problem::BadMetadata {
                        path,
                        reason: source.to_string(),
                    },
                    false,
                );
                None
            }
            Err(e) => return Err(e),
            Ok(file) => Some(file.images),
        };
        let unused = match &images {
            Some(images) => Some(self.unreferenced(images, keep)?),
            None => None,
        };
        let unused_layers: HashSet<&Digest> = unused
            .iter()
            .flat_map(|u| u.layers.iter().map(|(d, _, _)| d))
            .collect();

        let mut bad_blobs = HashSet::new();
        let mut blobs_checked = 0;
        let blobs = self.layout().blobs();
        for algo in std::fs::read_dir(&blobs).ctx("listing", &blobs)? {
            let algo = algo.ctx("listing", &blobs)?;
            let algo_name = algo.file_name().to_string_lossy().into_owned();
            if !algo.file_type().is_ok_and(|t| t.is_dir()) {
                let path = algo.path();
                add(
                    Problem::StrayFile { path: path.clone() },
                    repair && remove_any(&path).is_ok(),
                );
                continue;
            }
            for f in std::fs::read_dir(algo.path()).ctx("listing", algo.path())? {
                let f = f.ctx("listing", algo.path())?;
                let path = f.path();
                let digest = blob_digest(&algo_name, &f.file_name().to_string_lossy());
                let Some(digest) = digest.filter(|_| f.file_type().is_ok_and(|t| t.is_file()))
                else {
                    add(
                        Problem::StrayFile { path: path.clone() },
                        repair && remove_any(&path).is_ok(),
                    );
                    continue;
                };
                blobs_checked += 1;
                let actual = hash_file(&path, &digest)?;
                if actual != digest {
                    let repaired = repair && remove_any(&path).is_ok();
                    bad_blobs.insert(digest.clone());
                    add(Problem::CorruptBlob { digest, actual }, repaired);
                }
            }
        }

        let mut bad_layers = HashSet::new();
        let mut unverifiable = Vec::new();
        let mut layers_checked = 0;
        let layers = self.layout().layers();
        for e in std::fs::read_dir(&layers).ctx("listing", &layers)? {
            let e = e.ctx("listing", &layers)?;
            let path = e.path();
            let Some(diff_id) = diff_id_from_dir_name(&e.file_name().to_string_lossy()) else {
                add(
                    Problem::StrayFile { path: path.clone() },
                    repair && remove_any(&path).is_ok(),
                );
                continue;
            };
            layers_checked += 1;
            let info = match read_layer_json(&path) {
                Ok(None) => Err("it has no layer.json".to_string()),
                Err(e) => Err(e.to_string()),
                Ok(Some(info)) if info.diff_id != diff_id => {
                    Err(format!("its layer.json names {}", info.diff_id))
                }
                Ok(Some(_)) if !path.join("diff").is_dir() => {
                    Err("it has no diff directory".into())
                }
                Ok(Some(info)) => Ok(info),
            };
            let info = match info {
                Ok(info) => info,
                Err(reason) => {
                    let repaired = repair && self.remove_layer_dir(&path).is_ok();
                    bad_layers.insert(diff_id);
                    add(Problem::IncompleteLayer { path, reason }, repaired);
                    continue;
                }
            };
            // An unreferenced layer is reported (and removed) as such below;
            // reading all its files first would be wasted.
            if unused_layers.contains(&diff_id) {
                continue;
            }
            let Some(record_digest) = &info.contents_digest else {
                unverifiable.push(diff_id);
                continue;
            };
            let changes = match verify_layer(&path, record_digest) {
                Ok(c) => c,
                // E.g. a rootless store holding a file of mode 000, which
                // its owner cannot read: not damage, but not verified either.
                Err(e) => {
                    tracing::warn!(%diff_id, error = %e, "could not read the files of layer");
                    unverifiable.push(diff_id);
                    continue;
                }
            };
            if changes.is_empty() {
                continue;
            }
            let blob = info
                .blobs
                .iter()
                .find(|b| self.has_blob(b) && !bad_blobs.contains(*b))
                .cloned();
            let repaired = repair && self.repair_layer(&info, &path, blob.as_ref());
            if !repaired || blob.is_none() {
                bad_layers.insert(diff_id.clone());
            }
            let more = changes.len().saturating_sub(SHOWN_CHANGES);
            add(
                Problem::DamagedLayer {
                    diff_id,
                    changes: changes.into_iter().take(SHOWN_CHANGES).collect(),
                    more,
                    blob,
                },
                repaired,
            );
        }

        let mut images_checked = 0;
        for image in images.iter().flatten() {
            images_checked += 1;
            let name = describe(image);
            let usable = |d: &Digest| self.has_blob(d) && !bad_blobs.contains(d);
            let mut needs = vec![
                ("config blob", &image.config_digest),
                ("manifest blob", &image.manifest_digest),
            ];
            // A lazily pulled layer has only its TOC until its
            // blob arrives; that is a complete state, not damage.
            let complete = |l: &LayerRef| !self.has_lazy_toc(l);
            needs.extend(
                image
                    .layers
                    .iter()
                    .filter(|l| complete(l))
                    .map(|l| ("layer blob", &l.blob)),
            );
            for (role, digest) in needs {
                if !usable(digest) {
                    let problem = Problem::MissingBlob {
                        image: name.clone(),
                        role,
                        digest: digest.clone(),
                    };
                    add(problem, false);
                }
            }
            for l in image.layers.iter().filter(|l| complete(l)) {
                if !self.has_layer(&l.diff_id) || bad_layers.contains(&l.diff_id) {
                    let problem = Problem::MissingLayer {
                        image: name.clone(),
                        diff_id: l.diff_id.clone(),
                    };
                    add(problem, false);
                }
            }
        }

        let mut in_use = 0;
        if let Some(unused) = unused {
            let mut removed_blob = false;
            for (digest, size) in unused.blobs {
                if bad_blobs.contains(&digest) {
                    continue; // reported (and removed) as corrupt already
                }
                let repaired = repair && self.remove_blob_file(&digest).is_ok();
                removed_blob |= repaired;
                add(Problem::UnreferencedBlob { digest, size }, repaired);
            }
            for (diff_id, dir, size) in unused.layers {
                if bad_layers.contains(&diff_id) {
                    continue; // reported (and removed) as incomplete already
                }
                let repaired = repair && self.remove_layer_dir(&dir).is_ok();
                add(Problem::UnreferencedLayer { diff_id, size }, repaired);
            }
            if removed_blob {
                fsync_dirs(self)?;
            }
            in_use = unused.in_use;
        }
        report.in_use = in_use;
        unverifiable.sort();
        report.unverifiable_layers = unverifiable;
        report.blobs_checked = blobs_checked;
        report.layers_checked = layers_checked;
        report.images_checked = images_checked;
        for f in &report.findings {
            tracing::warn!(repaired = f.repaired, "{}", f.problem);
        }
        Ok(report)
    }

    /// Re-extracts a damaged layer from `blob`, or removes it when there is
    /// no blob; true if done.
    fn repair_layer(&self, info: &LayerInfo, dir: &Path, blob: Option<&Digest>) -> bool {
        let result = match blob {
            Some(blob) => self.reextract_layer(info, blob),
            None => self.remove_layer_dir(dir).map(|()| true),
        };
        match result {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(diff_id = %info.diff_id, error = %e, "could not repair layer");
                false
            }
        }
    }
}

/// The differences between a layer's files and its contents record
/// (empty if none), or why the record itself cannot be trusted.
fn verify_layer(layer_dir: &Path, record_digest: &Digest) -> Result<Vec<String>> {
    let recorded = match contents::read(&layer_dir.join(CONTENTS_JSON), record_digest) {
        Ok(c) => c,
        Err(why) => return Ok(vec![why]),
    };
    let diff = layer_dir.join("diff");
    let algorithm = recorded.content_algorithm();
    let now = contents::scan(&diff, &mut contents::hashing_digests(algorithm))
        .ctx("reading the files of layer", &diff)?;
    Ok(contents::compare(&recorded, &now))
}

fn fsync_dirs(s: &Store) -> Result<()> {
    let blobs = s.layout().blobs();
    for algo in std::fs::read_dir(&blobs).ctx("listing", &blobs)? {
        let algo = algo.ctx("listing", &blobs)?;
        if algo.file_type().is_ok_and(|t| t.is_dir()) {
            hoist_fsutil::fsync_dir(&algo.path())?;
        }
    }
    Ok(())
}

fn hash_file(path: &std::path::Path, digest: &Digest) -> Result<Digest> {
    let mut f = File::open(path).ctx("opening blob", path)?;
    let mut h = Hasher::new(digest.algorithm());
    std::io::copy(&mut f, &mut h).ctx("reading blob", path)?;
    Ok(h.finish())
}

fn remove_any(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{make_image, own_tmp_is_empty, store};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn clean_store_is_clean() {
        let (_d, s) = store();
        s.put_image(make_image(&s, "ok", &["localhost/ok:1"]))
            .unwrap();
        let r = s.check(false).unwrap();
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(
            (r.blobs_checked, r.layers_checked, r.images_checked),
            (3, 1, 1)
        );
    }

    #[test]
    fn finds_and_repairs_damage() {
        let (_d, s) = store();
        let img = s
            .put_image(make_image(&s, "dmg", &["localhost/dmg:1"]))
            .unwrap();
        // Flip one byte of the config blob.
        let p = s.blob_path(&img.config_digest);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        // Break the layer and leave debris around.
        let layer_dir = s.layout().layer(&img.layers[0].diff_id);
        std::fs::remove_file(layer_dir.join("layer.json")).unwrap();
        std::fs::write(
            s.layout()
                .blob_dir(hoist_image::digest::Algorithm::Sha256)
                .join("junk"),
            b"x",
        )
        .unwrap();
        let dead = s.layout().tmp().join("77-dead-0");
        std::fs::create_dir(&dead).unwrap();

        let r = s.check(false).unwrap();
        let text: Vec<String> = r.problems().map(|p| p.to_string()).collect();
        let has = |pred: &dyn Fn(&Problem) -> bool| r.problems().any(pred);
        assert!(
            has(
                &|p| matches!(p, Problem::CorruptBlob { digest, .. } if *digest == img.config_digest)
            ),
            "{text:?}"
        );
        assert!(
            has(&|p| matches!(p, Problem::IncompleteLayer { path, .. } if *path == layer_dir)),
            "{text:?}"
        );
        assert!(
            has(&|p| matches!(p, Problem::StrayFile { path } if path.ends_with("junk"))),
            "{text:?}"
        );
        assert!(
            has(&|p| matches!(p, Problem::StaleTmp { path } if *path == dead)),
            "{text:?}"
        );
        assert!(
            has(&|p| matches!(
                p,
                Problem::MissingBlob {
                    role: "config blob",
                    ..
                }
            )),
            "{text:?}"
        );
        assert!(
            has(&|p| matches!(p, Problem::MissingLayer { .. })),
            "{text:?}"
        );
        assert!(text
            .iter()
            .any(|t| t.contains(&img.config_digest.to_string()) && t.contains("corrupt")));
        assert!(r.findings.iter().all(|f| !f.repaired));
        assert!(
            p.exists() && dead.exists(),
            "check without repair changed something"
        );

        let r = s.check(true).unwrap();
        for f in &r.findings {
            assert_eq!(f.repaired, f.problem.repairable(), "{}", f.problem);
        }
        assert!(!p.exists() && !layer_dir.exists() && !dead.exists());
        // What remains is what only a new pull fixes.
        let r = s.check(false).unwrap();
        assert!(
            r.problems().all(|p| matches!(
                p,
                Problem::MissingBlob { .. } | Problem::MissingLayer { .. }
            )),
            "{r:?}"
        );
        assert!(!r.is_clean());
    }

    /// Rewrites a layer file that the store made read-only or not.
    fn overwrite(p: &std::path::Path, bytes: &[u8]) {
        std::fs::write(p, bytes).unwrap();
    }

    fn damaged(r: &CheckReport) -> Vec<(&Digest, &Vec<String>, &Option<Digest>, bool)> {
        r.findings
            .iter()
            .filter_map(|f| match &f.problem {
                Problem::DamagedLayer {
                    diff_id,
                    changes,
                    blob,
                    ..
                } => Some((diff_id, changes, blob, f.repaired)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn modified_layer_files_are_found_and_unpacked_again() {
        let (_d, s) = store();
        let img = s
            .put_image(make_image(&s, "orig", &["localhost/m:1"]))
            .unwrap();
        let l = &img.layers[0];
        let diff = s.layer_diff_dir(&l.diff_id);
        assert!(s.check(false).unwrap().is_clean());
        overwrite(&diff.join("etc/seed"), b"evil");
        std::fs::write(diff.join("etc/added"), b"x").unwrap();
        std::fs::remove_file(diff.join("etc/link")).unwrap();
        std::fs::set_permissions(diff.join("etc"), std::fs::Permissions::from_mode(0o777)).unwrap();

        let r = s.check(false).unwrap();
        let found = damaged(&r);
        assert_eq!(found.len(), 1, "{r:?}");
        let (id, changes, blob, repaired) = found[0];
        assert_eq!(id, &l.diff_id);
        assert_eq!(blob.as_ref(), Some(&l.blob));
        assert!(!repaired);
        for want in [
            "/etc/seed changed (content)",
            "/etc/added was added",
            "/etc/link was deleted",
            "/etc changed (mode)",
        ] {
            assert!(changes.iter().any(|c| c == want), "{want}: {changes:?}");
        }
        let text = r.findings[0].problem.to_string();
        assert!(
            text.contains("modified") && text.contains("/etc/seed"),
            "{text}"
        );
        assert!(r.findings[0]
            .problem
            .remedy()
            .unwrap()
            .contains("unpack the layer again"));
        // The image's layer is not usable as it is.
        assert!(r
            .problems()
            .any(|p| matches!(p, Problem::MissingLayer { .. })));
        assert_eq!(std::fs::read(diff.join("etc/seed")).unwrap(), b"evil");

        let r = s.check(true).unwrap();
        assert!(damaged(&r).iter().all(|d| d.3), "{r:?}");
        assert!(
            !r.problems()
                .any(|p| matches!(p, Problem::MissingLayer { .. })),
            "a re-extracted layer is usable again: {r:?}"
        );
        assert_eq!(std::fs::read(diff.join("etc/seed")).unwrap(), b"orig");
        assert!(!diff.join("etc/added").exists());
        assert!(diff.join("etc/link").symlink_metadata().is_ok());
        let r = s.check(false).unwrap();
        assert!(r.is_clean(), "{r:?}");
        assert!(own_tmp_is_empty(&s));
    }

    #[test]
    fn damaged_layer_without_its_blob_is_removed_and_tampered_record_is_damage() {
        let (_d, s) = store();
        let img = s
            .put_image(make_image(&s, "gone", &["localhost/g:1"]))
            .unwrap();
        let l = &img.layers[0];
        let layer_dir = s.layout().layer(&l.diff_id);
        // The record itself edited to match an edit of the files.
        let record = layer_dir.join(CONTENTS_JSON);
        let mut text = std::fs::read_to_string(&record).unwrap();
        text = text.replace("\"etc/seed\"", "\"etc/seed2\"");
        std::fs::write(&record, text).unwrap();
        std::fs::rename(
            layer_dir.join("diff/etc/seed"),
            layer_dir.join("diff/etc/seed2"),
        )
        .unwrap();
        std::fs::remove_file(s.blob_path(&l.blob)).unwrap();

        let r = s.check(false).unwrap();
        let found = damaged(&r);
        assert_eq!(found.len(), 1, "{r:?}");
        assert!(
            found[0].1[0].contains("contents record was changed"),
            "{r:?}"
        );
        assert_eq!(found[0].2, &None);
        assert!(r.findings.iter().any(|f| f
            .problem
            .remedy()
            .is_some_and(|m| m.contains("remove the layer"))));

        let r = s.check(true).unwrap();
        assert!(damaged(&r)[0].3);
        assert!(!layer_dir.exists(), "layer without blob not removed");
        // What is left is for a pull to fix.
        let r = s.check(false).unwrap();
        assert!(
            r.problems().all(|p| matches!(
                p,
                Problem::MissingBlob { .. } | Problem::MissingLayer { .. }
            )),
            "{r:?}"
        );
    }

    #[test]
    fn records_of_sha256_file_digests_from_before_blake3_are_still_checked() {
        use crate::content_digest::ContentAlgorithm;
        let (_d, s) = store();
        let img = s
            .put_image(make_image(&s, "v1", &["localhost/v1:1"]))
            .unwrap();
        let diff_id = &img.layers[0].diff_id;
        let dir = s.layout().layer(diff_id);
        let record = dir.join(CONTENTS_JSON);
        let fresh: contents::Contents =
            serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
        assert_eq!(fresh.version, 2);
        let seed = fresh.entries.iter().find(|e| e.path == "etc/seed").unwrap();
        let digest = seed.digest.as_ref().unwrap().to_string();
        assert!(digest.starts_with("blake3:"), "{digest}");

        // The record an older hoist wrote: version 1, sha256 digests, and
        // layer.json naming it.
        let mut old = contents::scan(
            &dir.join("diff"),
            &mut contents::hashing_digests(ContentAlgorithm::Sha256),
        )
        .unwrap();
        old.version = 1;
        let seed = old.entries.iter().find(|e| e.path == "etc/seed").unwrap();
        let digest = seed.digest.as_ref().unwrap().to_string();
        assert!(digest.starts_with("sha256:"), "{digest}");
        let bytes = old.to_json();
        std::fs::write(&record, &bytes).unwrap();
        let mut info = s.layer_info(diff_id).unwrap();
        info.contents_digest = Some(Digest::sha256_of(&bytes));
        std::fs::write(dir.join("layer.json"), serde_json::to_vec(&info).unwrap()).unwrap();

        let r = s.check(false).unwrap();
        assert!(r.is_clean(), "{r:?}");
        assert!(r.unverifiable_layers.is_empty(), "{r:?}");
        overwrite(&dir.join("diff/etc/seed"), b"evil");
        let r = s.check(false).unwrap();
        let found = damaged(&r);
        assert_eq!(found.len(), 1, "{r:?}");
        assert_eq!(found[0].1, &vec!["/etc/seed changed (content)".to_string()]);
    }

    #[test]
    fn layers_unpacked_without_a_record_are_unverifiable_not_damaged() {
        let (_d, s) = store();
        let img = s
            .put_image(make_image(&s, "old", &["localhost/o:1"]))
            .unwrap();
        let diff_id = &img.layers[0].diff_id;
        let dir = s.layout().layer(diff_id);
        // What an older hoist left: no record, no digest in layer.json.
        let mut info = s.layer_info(diff_id).unwrap();
        assert!(info.contents_digest.is_some());
        info.contents_digest = None;
        std::fs::write(dir.join("layer.json"), serde_json::to_vec(&info).unwrap()).unwrap();
        std::fs::remove_file(dir.join(CONTENTS_JSON)).unwrap();
        overwrite(&dir.join("diff/etc/seed"), b"unnoticeable");

        let r = s.check(false).unwrap();
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(r.unverifiable_layers, vec![diff_id.clone()]);
        let r = s.check(true).unwrap();
        assert!(r.is_clean() && dir.exists(), "{r:?}");
    }

    #[test]
    fn unreferenced_objects_are_reported_with_sizes_and_removed_on_repair() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let (kept, gone) = {
            let s = Store::open(&root).unwrap();
            let kept = s
                .put_image(make_image(&s, "kept", &["localhost/kept:1"]))
                .unwrap();
            let gone = s
                .put_image(make_image(&s, "gone", &["localhost/gone:1"]))
                .unwrap();
            // What a killed `rmi` leaves: the record gone, nothing collected.
            s.remove_image(&gone.id).unwrap();
            (kept, gone)
        };
        let s = Store::open(&root).unwrap();
        let r = s.check(false).unwrap();
        let mut blobs: Vec<_> = r
            .problems()
            .filter_map(|p| match p {
                Problem::UnreferencedBlob { digest, size } => Some((digest.clone(), *size)),
                _ => None,
            })
            .collect();
        blobs.sort();
        let mut want: Vec<_> = [
            &gone.config_digest,
            &gone.manifest_digest,
            &gone.layers[0].blob,
        ]
        .into_iter()
        .map(|d| (d.clone(), s.blob_size(d).unwrap()))
        .collect();
        want.sort();
        assert_eq!(blobs, want);
        let layers: Vec<_> = r
            .problems()
            .filter_map(|p| match p {
                Problem::UnreferencedLayer { diff_id, size } => Some((diff_id.clone(), *size)),
                _ => None,
            })
            .collect();
        let size = s
            .layer_info(&gone.layers[0].diff_id)
            .unwrap()
            .uncompressed_size;
        assert_eq!(layers, vec![(gone.layers[0].diff_id.clone(), size)]);
        assert!(r.unreferenced_bytes() >= size + want.iter().map(|w| w.1).sum::<u64>());
        assert!(
            r.problems().all(|p| p.repairable() && p.is_unused()),
            "{r:?}"
        );
        assert_eq!(
            r.unrepaired_damage().count(),
            0,
            "unused space is not damage"
        );
        let text = r
            .findings
            .iter()
            .map(|f| f.problem.to_string())
            .collect::<Vec<_>>();
        assert!(
            text.iter()
                .any(|t| t.contains("is not used by any image") && t.contains(" B)")),
            "{text:?}"
        );
        assert!(
            s.has_blob(&gone.config_digest),
            "check without repair removed a blob"
        );

        // A container still using the layer and its blob keeps them.
        let keep = [gone.layers[0].diff_id.clone(), gone.layers[0].blob.clone()];
        let r = s.check_keeping(false, &keep).unwrap();
        assert_eq!(r.findings.len(), 2, "{r:?}");

        let r = s.check(true).unwrap();
        assert!(r.findings.iter().all(|f| f.repaired), "{r:?}");
        assert!(!s.has_blob(&gone.config_digest) && !s.has_layer(&gone.layers[0].diff_id));
        for d in kept.referenced_blobs() {
            assert!(s.has_blob(d));
        }
        assert!(s.has_layer(&kept.layers[0].diff_id));
        assert!(s.check(false).unwrap().is_clean());
    }

    #[test]
    fn objects_of_a_pull_in_progress_are_neither_reported_nor_removed() {
        let (_d, puller) = store();
        // Pinned by a live store: written by a pull whose image is not recorded yet.
        let pinned = puller.add_blob(b"being pulled").unwrap();
        let checker = Store::open(puller.root()).unwrap();
        // Locked: a blob being unpacked by someone whose store pinned nothing.
        let locked = checker.add_blob(b"being unpacked").unwrap();
        checker.release_pins().unwrap();
        let lock =
            hoist_fsutil::FileLock::exclusive(&checker.layout().object_lock("unpack", &locked))
                .unwrap();
        let r = checker.check(true).unwrap();
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(r.in_use, 2);
        assert!(checker.has_blob(&pinned) && checker.has_blob(&locked));
        drop(lock);
        puller.release_pins().unwrap();
        let r = checker.check(true).unwrap();
        assert_eq!(r.findings.len(), 2, "{r:?}");
        assert!(!checker.has_blob(&pinned) && !checker.has_blob(&locked));
    }

    #[test]
    fn sizes_read_like_podman() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_000), "1 kB");
        assert_eq!(human_size(279_300_000), "279 MB");
        assert_eq!(human_size(10_000_000), "10 MB");
        assert_eq!(human_size(1_530_000), "1.53 MB");
    }

    #[test]
    fn reports_unreadable_images_json() {
        let (_d, s) = store();
        std::fs::write(s.layout().images_json(), b"{ not json").unwrap();
        let r = s.check(false).unwrap();
        assert!(
            matches!(r.findings[0].problem, Problem::BadMetadata { .. }),
            "{r:?}"
        );
        assert!(matches!(s.images(), Err(StoreError::Metadata { .. })));
    }
}

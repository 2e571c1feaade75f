//! Consistency check of the whole store, with optional repair.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::path::PathBuf;

use hoist_image::{Digest, Hasher};

use crate::error::{IoContext, Result, StoreError};
use crate::image::describe;
use crate::layer::read_layer_json;
use crate::layout::{blob_digest, diff_id_from_dir_name};
use crate::{tmp, LayerRef, Store};

/// One thing wrong with the store, naming the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A blob whose content does not hash to its name.
    CorruptBlob { digest: Digest, actual: Digest },
    /// A file or directory where only blobs or layers belong.
    StrayFile { path: PathBuf },
    /// A layer directory that is not a complete layer.
    IncompleteLayer { path: PathBuf, reason: String },
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
    /// Whether `check` with `repair` fixes it (by removing the object).
    /// Missing content of an image is fixed by pulling the image again.
    pub fn repairable(&self) -> bool {
        matches!(
            self,
            Problem::CorruptBlob { .. }
                | Problem::StrayFile { .. }
                | Problem::IncompleteLayer { .. }
                | Problem::StaleTmp { .. }
        )
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
}

impl CheckReport {
    /// True if nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.findings.iter().map(|f| &f.problem)
    }
}

impl Store {
    /// Re-hashes every blob, checks every layer directory and that every
    /// image's manifest, config and layers are there, and looks for stale
    /// temporary data. With `repair`, removes corrupt blobs, incomplete
    /// layers, stray files and stale temporary data (under the exclusive
    /// lock; without it, only the shared lock is held).
    pub fn check(&self, repair: bool) -> Result<CheckReport> {
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
            let reason = match read_layer_json(&path) {
                Ok(None) => Some("it has no layer.json".to_string()),
                Err(e) => Some(e.to_string()),
                Ok(Some(info)) if info.diff_id != diff_id => {
                    Some(format!("its layer.json names {}", info.diff_id))
                }
                Ok(Some(_)) if !path.join("diff").is_dir() => {
                    Some("it has no diff directory".into())
                }
                Ok(Some(_)) => None,
            };
            if let Some(reason) = reason {
                let repaired = repair && self.remove_layer_dir(&path).is_ok();
                bad_layers.insert(diff_id);
                add(Problem::IncompleteLayer { path, reason }, repaired);
            }
        }

        let mut images_checked = 0;
        match self.load_images() {
            Err(StoreError::Metadata { path, source }) => add(
                Problem::BadMetadata {
                    path,
                    reason: source.to_string(),
                },
                false,
            ),
            Err(e) => return Err(e),
            Ok(file) => {
                for image in &file.images {
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
            }
        }
        report.blobs_checked = blobs_checked;
        report.layers_checked = layers_checked;
        report.images_checked = images_checked;
        for f in &report.findings {
            tracing::warn!(repaired = f.repaired, "{}", f.problem);
        }
        Ok(report)
    }
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
    use crate::testutil::{make_image, store};
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

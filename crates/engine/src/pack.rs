//! `hoist pack`: an image made from a directory tree, its layers planned by
//! `hoist-pack` so that updates download little (see that crate), and
//! `hoist image update-cost`: what a client holding one image downloads to
//! get another.
//!
//! Layers are written to the store's scratch space while their digests are
//! computed, stored as blobs, unpacked like pulled layers, and the config,
//! manifest and image record come last, as for a pull: an interrupted pack
//! leaves no half image.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hoist_archive::verify::VerifyingReader;
use hoist_image::manifest::{Descriptor, ImageManifest, Manifest};
use hoist_image::media::{DOCKER_LAYER_GZIP, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST};
use hoist_image::platform::Platform;
use hoist_image::Digest;
use hoist_pack::carry::{LayerFiles, Settled, SettledLayer};
use hoist_pack::{Analysis, PlannedLayer, PriorLayout, WriteOptions, ANNOTATION_COMPONENTS};
use hoist_store::{BlobSlot, ImageRecord, LayerRef};

use crate::error::{io_err, EngineError, Result};
use crate::images::local_name;
use crate::progress::{BlobOutcome, Progress};
use crate::Engine;

/// What `hoist pack` is asked to do.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// `-t`: the name of the new image.
    pub reference: String,
    /// `--max-layers`.
    pub max_layers: usize,
    /// `--prior`: an image packed before, whose layout is kept.
    pub prior: Option<String>,
    /// `SOURCE_DATE_EPOCH`: clamps file times and sets the creation time.
    pub source_date_epoch: Option<i64>,
}

/// One layer of a packed image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedLayer {
    pub digest: Digest,
    pub diff_id: Digest,
    /// Compressed size.
    pub size: u64,
    pub components: Vec<String>,
    /// The store had this layer already (e.g. from the prior image).
    pub reused: bool,
    /// Changed or removed entries of kept lower layers this layer carries.
    pub carried: usize,
}

/// What `hoist pack` made.
#[derive(Debug, Clone)]
pub struct PackReport {
    pub id: Digest,
    pub manifest_digest: Digest,
    pub name: String,
    pub layers: Vec<PackedLayer>,
    /// Why the packing is not per package, what was left out, ...
    pub notes: Vec<String>,
}

/// What a client holding one image downloads to get another: the layers
/// of the new image whose blobs the old one does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct UpdateCost {
    pub bytes: u64,
    pub layers: u64,
}

impl Engine {
    /// Packs the directory tree at `root` into a new image in the store.
    pub fn pack(
        &self,
        root: &Path,
        opts: &PackOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<PackReport> {
        if opts.max_layers == 0 {
            return Err(EngineError::Invalid(
                "--max-layers must be at least 1".to_string(),
            ));
        }
        let name = local_name(&opts.reference)?;
        progress.message(&format!("Reading {}", root.display()));
        let analysis = hoist_pack::analyze(root, opts.max_layers).map_err(pack_err(root))?;
        let mut notes = analysis.notes.clone();
        let prior = match &opts.prior {
            Some(p) => self.prior_layout(p, &mut notes)?,
            None => None,
        };
        let plan = analysis.plan(opts.max_layers, prior.as_ref().map(|p| &p.0));
        let files = match &prior {
            Some((_, record)) => {
                progress.message("Comparing the tree with the prior image");
                self.prior_files(record, &mut notes)
            }
            None => Vec::new(),
        };
        let settled = analysis.settle(&plan, &files).map_err(pack_err(root))?;
        notes.extend(carry_note(&settled));
        progress.message(&format!(
            "Packing {} components into {} layers",
            analysis.components.len(),
            plan.len()
        ));
        let write_opts = WriteOptions {
            source_date_epoch: opts.source_date_epoch,
            ..WriteOptions::default()
        };
        let prior_layers = prior.as_ref().map(|p| &p.1.layers[..]).unwrap_or(&[]);
        let layers = self.write_layers(&analysis, &settled, prior_layers, &write_opts, progress)?;
        let created_at = opts
            .source_date_epoch
            .unwrap_or_else(|| analysis.newest_mtime());
        let created = chrono::DateTime::from_timestamp(created_at, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let platform = platform_of(&analysis);
        let config = config_json(&analysis, &layers, &created, &platform);
        let config_digest = self.store.add_blob(&config)?;
        let manifest = manifest_json(&config_digest, config.len() as u64, &layers)?;
        let manifest_digest = self.store.add_blob(&manifest)?;
        let size = self.store.image_size(
            &layers
                .iter()
                .map(|l| LayerRef {
                    blob: l.digest.clone(),
                    diff_id: l.diff_id.clone(),
                    media_type: OCI_LAYER_GZIP.to_string(),
                    size: l.size,
                    lazy: None,
                })
                .collect::<Vec<_>>(),
        )?;
        let record = ImageRecord {
            id: config_digest.clone(),
            manifest_digest: manifest_digest.clone(),
            manifest_media_type: OCI_MANIFEST.to_string(),
            names: vec![name.clone()],
            layers: layers
                .iter()
                .map(|l| LayerRef {
                    blob: l.digest.clone(),
                    diff_id: l.diff_id.clone(),
                    media_type: OCI_LAYER_GZIP.to_string(),
                    size: l.size,
                    lazy: None,
                })
                .collect(),
            config_digest: config_digest.clone(),
            created,
            stored_at: String::new(),
            names_history: vec![],
            parent: None,
            size,
            platform: platform.to_string(),
            digests: vec![manifest_digest.clone()],
            repositories: vec![],
        };
        self.store.put_image(record)?;
        Ok(PackReport {
            id: config_digest,
            manifest_digest,
            name,
            layers,
            notes,
        })
    }

    /// `image update-cost OLD NEW`.
    pub fn update_cost(&self, old: &str, new: &str) -> Result<UpdateCost> {
        let old = self.lookup(old)?;
        let new = self.lookup(new)?;
        let have: HashSet<&Digest> = old.layers.iter().map(|l| &l.blob).collect();
        let mut seen = HashSet::new();
        let mut cost = UpdateCost::default();
        for l in &new.layers {
            if !have.contains(&l.blob) && seen.insert(&l.blob) {
                cost.bytes += l.size;
                cost.layers += 1;
            }
        }
        Ok(cost)
    }

    /// The component layout of a prior image, from its layer annotations,
    /// with the image's record.
    fn prior_layout(
        &self,
        name: &str,
        notes: &mut Vec<String>,
    ) -> Result<Option<(PriorLayout, ImageRecord)>> {
        let record = self.lookup(name)?;
        let bytes = self
            .store
            .read_blob(&record.manifest_digest, crate::MAX_CONFIG_BYTES)?;
        let Manifest::Image(manifest) = Manifest::parse(&bytes, &record.manifest_media_type)?
        else {
            return Err(EngineError::Invalid(format!(
                "--prior {name}: its manifest is an index, not an image manifest"
            )));
        };
        let layers: Vec<Vec<String>> = manifest
            .layers
            .iter()
            .map(|l| {
                l.annotation(ANNOTATION_COMPONENTS)
                    .and_then(hoist_pack::parse_annotation)
                    .unwrap_or_default()
            })
            .collect();
        if layers.iter().all(|l| l.is_empty()) {
            notes.push(format!(
                "--prior {name}: its layers carry no {ANNOTATION_COMPONENTS} annotation \
                 (it was not made by hoist pack), so it gives no layout to keep"
            ));
            return Ok(None);
        }
        if layers.len() != record.layers.len() {
            return Err(EngineError::Invalid(format!(
                "--prior {name}: its manifest lists {} layers and its record {}; \
                 the store may be damaged: run `hoist system check`",
                layers.len(),
                record.layers.len()
            )));
        }
        Ok(Some((PriorLayout { layers }, record)))
    }

    /// What each layer of the prior image holds, read from its blob; `None`
    /// for a layer that cannot be kept (not a local gzip blob, unreadable),
    /// with a note saying why.
    fn prior_files(
        &self,
        record: &ImageRecord,
        notes: &mut Vec<String>,
    ) -> Vec<Option<LayerFiles>> {
        record
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match self.prior_layer_files(l) {
                Ok(f) => Some(f),
                Err(why) => {
                    notes.push(format!(
                        "--prior: layer {} ({}) is written again, not kept: {why}",
                        i + 1,
                        l.blob
                    ));
                    None
                }
            })
            .collect()
    }

    fn prior_layer_files(&self, layer: &LayerRef) -> std::result::Result<LayerFiles, String> {
        if layer.lazy.is_some() {
            return Err("it was pulled lazily and its blob is not local".to_string());
        }
        if !matches!(
            layer.media_type.as_str(),
            OCI_LAYER_GZIP | DOCKER_LAYER_GZIP
        ) {
            return Err(format!(
                "its media type {} is not the gzip tar hoist pack writes",
                layer.media_type
            ));
        }
        let file = self
            .store
            .open_blob(&layer.blob)
            .map_err(|e| e.to_string())?;
        // The blob is kept by its digest: what is compared must be what
        // the digest names, so it is checked to the last byte.
        let verified =
            VerifyingReader::new(file, layer.blob.clone(), format!("blob {}", layer.blob))
                .with_size(layer.size);
        let mut gz =
            flate2::read::GzDecoder::new(std::io::BufReader::with_capacity(1 << 20, verified));
        let files = hoist_pack::carry::read_layer(&mut gz).map_err(|e| e.to_string())?;
        std::io::copy(&mut gz, &mut std::io::sink()).map_err(|e| e.to_string())?;
        let mut rest = gz.into_inner();
        std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| e.to_string())?;
        if !rest.into_inner().is_verified() {
            return Err(format!("blob {} did not verify", layer.blob));
        }
        Ok(files)
    }

    /// Writes, stores and unpacks every layer to write, a few at a time;
    /// kept layers are the prior image's (`prior`).
    fn write_layers(
        &self,
        analysis: &Analysis,
        plan: &[SettledLayer],
        prior: &[LayerRef],
        opts: &WriteOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<Vec<PackedLayer>> {
        let next = AtomicUsize::new(0);
        let results: Mutex<BTreeMap<usize, Result<PackedLayer>>> = Mutex::new(BTreeMap::new());
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
            .min(plan.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= plan.len() {
                        break;
                    }
                    let r = match &plan[i].how {
                        Settled::Keep { prior: li } => {
                            kept_layer(analysis, &plan[i].planned, prior.get(*li))
                        }
                        Settled::Write { nodes, whiteouts } => self
                            .write_layer(
                                analysis,
                                &plan[i].planned,
                                nodes,
                                whiteouts,
                                opts,
                                progress,
                            )
                            .map(|l| PackedLayer {
                                carried: plan[i].carried,
                                ..l
                            }),
                    };
                    let failed = r.is_err();
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(i, r);
                    if failed {
                        // Let the others stop at their next layer.
                        next.store(plan.len(), Ordering::Relaxed);
                        break;
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(Err(_)) = results.values().find(|r| r.is_err()) {
            let e = results.into_values().find_map(|r| r.err());
            return Err(e.unwrap_or_else(|| EngineError::Invalid("packing failed".into())));
        }
        results.into_values().collect()
    }

    fn write_layer(
        &self,
        analysis: &Analysis,
        layer: &PlannedLayer,
        nodes: &[usize],
        whiteouts: &[std::path::PathBuf],
        opts: &WriteOptions,
        progress: &Arc<dyn Progress>,
    ) -> Result<PackedLayer> {
        let tmp = self.store.temp_dir()?;
        let path = tmp.path().join("layer.tar.gz");
        let file =
            std::fs::File::create(&path).map_err(io_err(format!("creating {}", path.display())))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let written = hoist_pack::write_layer_with_whiteouts(
            &analysis.tree,
            nodes,
            whiteouts,
            opts,
            &mut out,
        )
        .map_err(pack_err(analysis.tree.root()))?;
        out.flush()
            .map_err(io_err(format!("writing {}", path.display())))?;
        drop(out);
        let reused = match self.store.begin_blob(&written.digest, Some(written.size))? {
            BlobSlot::AlreadyPresent => true,
            BlobSlot::Writer(mut w) => {
                progress.blob_started(&written.digest, written.size);
                let mut f = std::fs::File::open(&path)
                    .map_err(io_err(format!("reading {}", path.display())))?;
                std::io::copy(&mut f, &mut w)
                    .map_err(io_err(format!("storing layer {}", written.digest)))?;
                w.commit()?;
                false
            }
        };
        self.store
            .unpack_layer_expecting(&written.digest, OCI_LAYER_GZIP, &written.diff_id)?;
        progress.blob_finished(
            &written.digest,
            if reused {
                BlobOutcome::Skipped
            } else {
                BlobOutcome::Copied
            },
        );
        Ok(PackedLayer {
            digest: written.digest,
            diff_id: written.diff_id,
            size: written.size,
            components: analysis.layer_ids(layer),
            reused,
            carried: 0,
        })
    }
}

/// A layer of the prior image kept as it is.
fn kept_layer(
    analysis: &Analysis,
    layer: &PlannedLayer,
    prior: Option<&LayerRef>,
) -> Result<PackedLayer> {
    let prior = prior.ok_or_else(|| {
        EngineError::Invalid("--prior: a kept layer is missing from the prior image".into())
    })?;
    Ok(PackedLayer {
        digest: prior.blob.clone(),
        diff_id: prior.diff_id.clone(),
        size: prior.size,
        components: analysis.layer_ids(layer),
        reused: true,
        carried: 0,
    })
}

/// What `--prior` kept and carried, for the user.
fn carry_note(settled: &[SettledLayer]) -> Option<String> {
    let kept = settled
        .iter()
        .filter(|l| matches!(l.how, Settled::Keep { .. }))
        .count();
    let carried: usize = settled.iter().map(|l| l.carried).sum();
    (kept > 0).then(|| {
        format!(
            "--prior: kept {kept} of {} layers as they were; {carried} changed or removed \
             entries of kept layers are carried in the top layer",
            settled.len()
        )
    })
}

fn pack_err(root: &Path) -> impl FnOnce(hoist_pack::PackError) -> EngineError + '_ {
    move |e| EngineError::Invalid(format!("packing {}: {e}", root.display()))
}

/// The tree's platform: from its dpkg architecture, else the host's.
fn platform_of(analysis: &Analysis) -> Platform {
    let mut p = Platform::host();
    if let Some((arch, variant)) = analysis
        .architecture
        .as_deref()
        .and_then(hoist_pack::oci_platform)
    {
        p.os = "linux".to_string();
        p.architecture = arch.to_string();
        p.variant = variant.map(str::to_string);
    }
    p
}

/// The image config: a plain OS image (PATH set, a shell as command when
/// there is one), one history entry per layer naming its components.
fn config_json(
    analysis: &Analysis,
    layers: &[PackedLayer],
    created: &str,
    platform: &Platform,
) -> Vec<u8> {
    let shell = ["bin/bash", "bin/sh"]
        .into_iter()
        .find(|s| {
            hoist_pack::resolve::resolve(&analysis.tree, Path::new(s), true)
                .and_then(|r| analysis.tree.find(&r))
                .is_some()
        })
        .map(|s| format!("/{s}"));
    let mut config = serde_json::json!({
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    });
    if let Some(sh) = shell {
        config["Cmd"] = serde_json::json!([sh]);
    }
    let history: Vec<serde_json::Value> = layers
        .iter()
        .map(|l| {
            let mut comment = l.components.join(" ");
            if comment.len() > 200 {
                let cut = (0..=200)
                    .rev()
                    .find(|&i| comment.is_char_boundary(i))
                    .unwrap_or(0);
                comment.truncate(cut);
                comment.push_str(" ...");
            }
            if l.carried > 0 {
                comment.push_str(&format!(
                    "; carries {} changed or removed entries of the layers below",
                    l.carried
                ));
            }
            serde_json::json!({
                "created": created,
                "created_by": "hoist pack",
                "comment": format!("{} components: {comment}", l.components.len()),
            })
        })
        .collect();
    let mut doc = serde_json::json!({
        "created": created,
        "architecture": platform.architecture,
        "os": platform.os,
        "config": config,
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
        },
        "history": history,
    });
    if let Some(v) = &platform.variant {
        doc["variant"] = serde_json::json!(v);
    }
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// The OCI manifest; each layer annotated with its components.
fn manifest_json(config: &Digest, config_size: u64, layers: &[PackedLayer]) -> Result<Vec<u8>> {
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_string()),
        artifact_type: None,
        config: Descriptor::new(OCI_CONFIG, config.clone(), config_size),
        layers: layers
            .iter()
            .map(|l| {
                let mut d = Descriptor::new(OCI_LAYER_GZIP, l.digest.clone(), l.size);
                d.annotations = Some(BTreeMap::from([(
                    ANNOTATION_COMPONENTS.to_string(),
                    hoist_pack::annotation_value(&l.components),
                )]));
                d
            })
            .collect(),
        subject: None,
        annotations: None,
    };
    serde_json::to_vec(&manifest)
        .map_err(|e| EngineError::Invalid(format!("serializing the manifest: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    fn fake_os(dir: &Path, version: &str) {
        let w = |rel: &str, data: &[u8]| {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        };
        w(
            "var/lib/dpkg/status",
            b"Package: a\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\nVersion: 1\n\n\
              Package: b\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\nVersion: 1\n\n\
              Package: dpkg\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\nVersion: 1\n",
        );
        w(
            "var/lib/dpkg/info/a.list",
            b"/.\n/usr\n/usr/bin\n/usr/bin/a\n",
        );
        w(
            "var/lib/dpkg/info/b.list",
            b"/.\n/usr\n/usr/bin\n/usr/bin/b\n",
        );
        w(
            "var/lib/dpkg/info/dpkg.list",
            b"/.\n/usr\n/usr/bin\n/usr/bin/dpkg\n",
        );
        w("usr/bin/a", format!("a {version}").as_bytes());
        w("usr/bin/b", b"b");
        w("usr/bin/dpkg", b"dpkg");
        w("etc/hostname", b"box\n");
    }

    fn opts(reference: &str) -> PackOptions {
        PackOptions {
            reference: reference.to_string(),
            max_layers: 64,
            prior: None,
            source_date_epoch: Some(1_700_000_000),
        }
    }

    /// A store with `fake_os` version 1 packed as `os:1`.
    struct Packed {
        _store: tempfile::TempDir,
        engine: Engine,
        tree: tempfile::TempDir,
        progress: Arc<dyn Progress>,
        one: PackReport,
    }

    fn packed_os_1() -> Packed {
        let store = tempfile::tempdir().unwrap();
        let engine = Engine::open(store.path()).unwrap();
        let tree = tempfile::tempdir().unwrap();
        fake_os(tree.path(), "1");
        let progress: Arc<dyn Progress> = Arc::new(Silent);
        let one = engine.pack(tree.path(), &opts("os:1"), &progress).unwrap();
        Packed {
            _store: store,
            engine,
            tree,
            progress,
            one,
        }
    }

    #[test]
    fn packs_reproducibly_and_counts_update_cost() {
        let p = packed_os_1();
        let (engine, tree, progress, one) = (&p.engine, &p.tree, &p.progress, &p.one);
        let again = engine
            .pack(tree.path(), &opts("os:again"), progress)
            .unwrap();
        assert_eq!(one.id, again.id, "same tree, same image");
        assert_eq!(one.manifest_digest, again.manifest_digest);
        assert!(again.layers.iter().all(|l| l.reused));
        assert_eq!(one.name, "localhost/os:1");
        let ids: Vec<Vec<String>> = one.layers.iter().map(|l| l.components.clone()).collect();
        assert!(ids.contains(&vec!["pkg:a".to_string()]), "{ids:?}");
        assert!(ids.contains(&vec!["package-state".to_string()]), "{ids:?}");

        fake_os(tree.path(), "2");
        let mut o = opts("os:2");
        o.prior = Some("os:1".to_string());
        let two = engine.pack(tree.path(), &o, progress).unwrap();
        let changed: Vec<_> = two.layers.iter().filter(|l| !l.reused).collect();
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(changed[0].components, vec!["pkg:a".to_string()]);
        let cost = engine.update_cost("os:1", "os:2").unwrap();
        assert_eq!(
            cost,
            UpdateCost {
                bytes: changed[0].size,
                layers: 1
            }
        );
        assert_eq!(
            engine.update_cost("os:2", "os:2").unwrap(),
            UpdateCost::default()
        );

        // The manifest carries the components; the config the diff IDs.
        let record = engine.lookup("os:2").unwrap();
        let m = engine
            .store
            .read_blob(&record.manifest_digest, 1 << 20)
            .unwrap();
        let Manifest::Image(m) = Manifest::parse(&m, OCI_MANIFEST).unwrap() else {
            panic!("not an image manifest")
        };
        assert_eq!(m.layers.len(), two.layers.len());
        for (d, l) in m.layers.iter().zip(&two.layers) {
            assert_eq!(
                d.annotation(ANNOTATION_COMPONENTS),
                Some(hoist_pack::annotation_value(&l.components).as_str())
            );
            assert!(engine.store.has_layer(&l.diff_id));
        }
        let c: serde_json::Value = serde_json::from_slice(
            &engine
                .store
                .read_blob(&record.config_digest, 1 << 20)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(c["architecture"], "amd64");
        assert_eq!(c["created"], "2023-11-14T22:13:20Z");
        assert_eq!(
            c["rootfs"]["diff_ids"].as_array().unwrap().len(),
            two.layers.len()
        );
    }

    #[test]
    fn a_damaged_prior_layer_is_not_kept() {
        let p = packed_os_1();
        let (engine, tree, progress, one) = (&p.engine, &p.tree, &p.progress, &p.one);
        let b = one
            .layers
            .iter()
            .find(|l| l.components == ["pkg:b"])
            .unwrap();
        // Same size, other bytes: only its digest tells.
        let path = engine.store.blob_path(&b.digest);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();

        fake_os(tree.path(), "2");
        let mut o = opts("os:2");
        o.prior = Some("os:1".to_string());
        let two = engine.pack(tree.path(), &o, progress).unwrap();
        let why = two
            .notes
            .iter()
            .find(|n| n.contains(&b.digest.to_string()))
            .unwrap_or_else(|| panic!("no note on the damaged layer: {:?}", two.notes));
        assert!(why.contains("written again, not kept"), "{why}");
        assert!(
            two.notes.iter().any(|n| n.starts_with("--prior: kept")),
            "the other layers are kept: {:?}",
            two.notes
        );
    }

    #[test]
    fn prior_without_annotations_is_noted() {
        let store = tempfile::tempdir().unwrap();
        let engine = Engine::open(store.path()).unwrap();
        let tree = tempfile::tempdir().unwrap();
        std::fs::write(tree.path().join("file"), b"x").unwrap();
        let progress: Arc<dyn Progress> = Arc::new(Silent);
        let one = engine
            .pack(tree.path(), &opts("plain:1"), &progress)
            .unwrap();
        assert!(one.notes.iter().any(|n| n.contains("no dpkg database")));
        assert!(engine
            .pack(
                tree.path(),
                &PackOptions {
                    max_layers: 0,
                    ..opts("x")
                },
                &progress
            )
            .is_err());
        assert!(matches!(
            engine.pack(
                tree.path(),
                &PackOptions {
                    prior: Some("missing".into()),
                    ..opts("x")
                },
                &progress
            ),
            Err(EngineError::ImageNotFound(_))
        ));
    }
}

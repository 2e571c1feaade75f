//! Making a new image from a layer tarball: `commit` (a container's changes
//! on top of its image) and `import` (a root filesystem tarball on its own).
//! The layer is stored uncompressed, so its blob digest is its diff ID; the
//! config is the base image's (or an empty one) with the new layer, a
//! history entry, the container's settings and `--change` instructions.

use std::io::Read;
use std::path::Path;

use hoist_image::digest::Hasher;
use hoist_image::manifest::Descriptor;
use hoist_image::{media, Digest};
use hoist_store::{BlobSlot, ImageRecord, LayerRef};
use serde_json::{json, Map, Value};

use crate::error::{io_err, EngineError, Result};
use crate::images::local_name;
use crate::Engine;

/// What the new image is made of.
#[derive(Debug, Default, Clone)]
pub struct NewImage {
    /// The image it goes on top of (name or ID); `None` for `import`.
    pub base: Option<String>,
    /// `config` fields to set first, as an image config spells them
    /// (`Env`, `Cmd`, `Entrypoint`, `WorkingDir`, `User`, `Labels`,
    /// `ExposedPorts`...): what a committed container ran with. `Env` and
    /// `Labels` are merged into the base image's, the others replace.
    pub run_config: Map<String, Value>,
    /// Variables taken out of `Env` once `run_config`'s are merged in
    /// (`build --unsetenv`: the base image's are dropped too).
    pub unset_env: Vec<String>,
    /// Dockerfile instructions (`--change`): CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
    pub changes: Vec<String>,
    /// `--message`: the config's and the history entry's comment.
    pub comment: Option<String>,
    /// `--author`.
    pub author: Option<String>,
    /// The history entry's `created_by`.
    pub created_by: String,
    /// The name to give it (`localhost/` added to a short name).
    pub name: Option<String>,
    /// `import --os/--arch/--variant`: the platform to record.
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    /// History entries for steps that changed only the config (`build`'s
    /// ENV, LABEL, ...): their `created_by`, recorded with `empty_layer`
    /// before the new layer's entry.
    pub empty_history: Vec<String>,
    /// The creation time to record (RFC 3339) instead of now: `build
    /// --timestamp`, for reproducible images.
    pub created: Option<String>,
    /// Annotations of the manifest (`checkpoint --create-image` says what
    /// the image holds this way, as podman does).
    pub annotations: std::collections::BTreeMap<String, String>,
    /// `build --omit-history`: the config gets an empty `history`, the
    /// base image's entries dropped too (buildah's), so no step of the
    /// build shows.
    pub omit_history: bool,
    /// The manifest's format (`build --format`); Docker's has no
    /// annotations, so they are left out of it.
    pub format: ManifestFormat,
}

/// The manifest an image is stored (and so pushed) with.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// An OCI image manifest with an OCI config.
    #[default]
    Oci,
    /// Docker's schema 2 (`--format docker`), for registries and tools
    /// that take no OCI images.
    Docker,
}

impl ManifestFormat {
    /// The format of a stored manifest of `media_type`.
    pub fn of(media_type: &str) -> ManifestFormat {
        match media_type {
            media::DOCKER_MANIFEST => ManifestFormat::Docker,
            _ => ManifestFormat::Oci,
        }
    }

    pub(crate) fn manifest_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => media::OCI_MANIFEST,
            ManifestFormat::Docker => media::DOCKER_MANIFEST,
        }
    }

    pub(crate) fn config_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => media::OCI_CONFIG,
            ManifestFormat::Docker => media::DOCKER_CONFIG,
        }
    }

    /// The media type a layer stored as `stored` has in this format's
    /// manifest; Docker's has no zstd.
    pub(crate) fn layer_type(self, stored: &str) -> Result<String> {
        if self == ManifestFormat::Oci {
            return Ok(oci_media_type(stored));
        }
        Ok(match stored {
            media::OCI_LAYER | "application/vnd.oci.image.layer.nondistributable.v1.tar" => {
                DOCKER_LAYER.to_string()
            }
            media::OCI_LAYER_GZIP => media::DOCKER_LAYER_GZIP.to_string(),
            media::OCI_LAYER_NONDIST_GZIP => media::DOCKER_LAYER_FOREIGN_GZIP.to_string(),
            docker if media::is_docker(docker) => docker.to_string(),
            other => {
                return Err(EngineError::Invalid(format!(
                    "a layer of type {other} has no Docker schema 2 media type: use the OCI format"
                )))
            }
        })
    }
}

/// An uncompressed layer in a Docker schema 2 manifest.
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

impl Engine {
    /// `import`: stores a root filesystem tarball (plain or gzip) as a new
    /// one-layer image and records an `import` event; returns its ID.
    pub fn import_tarball(&self, tarball: &Path, new: &NewImage) -> Result<Digest> {
        let id = self
            .create_image(tarball, new)
            .inspect_err(|e| self.free_space_after_disk_full(e))?;
        let name = new.name.clone().unwrap_or_default();
        hoist_events::emit(hoist_events::Event::image(
            hoist_events::Status::Import,
            id.hex(),
            &name,
        ));
        Ok(id)
    }

    /// Stores a new image whose top layer is the tar `layer` (plain or
    /// gzip-compressed); returns its ID.
    pub fn create_image(&self, layer: &Path, new: &NewImage) -> Result<Digest> {
        self.create_image_with(Some(layer), new)
    }

    /// [`Engine::create_image`], or without a new layer (`layer` `None`):
    /// an image that differs from its base only in its config, whose
    /// history entry says so (`empty_layer`).
    pub fn create_image_with(&self, layer: Option<&Path>, new: &NewImage) -> Result<Digest> {
        let scratch = self.store.temp_dir()?;
        let layer = layer.map(|l| decompressed(l, scratch.path())).transpose()?;
        // Parse every instruction before storing anything.
        let changes = new
            .changes
            .iter()
            .map(|c| Change::parse(c))
            .collect::<Result<Vec<_>>>()?;
        let name = new.name.as_deref().map(local_name).transpose()?;
        let base = new.base.as_deref().map(|b| self.lookup(b)).transpose()?;
        let stored = match &layer {
            Some(l) => {
                let blob = self.store_layer_tar(l)?;
                let info = self.store.unpack_layer(&blob, media::OCI_LAYER)?;
                Some((blob, info))
            }
            None => None,
        };
        let mut config = match &base {
            Some(r) => {
                let bytes = self
                    .store
                    .read_blob(&r.config_digest, crate::MAX_CONFIG_BYTES)?;
                serde_json::from_slice::<Value>(&bytes).map_err(|e| EngineError::Config {
                    digest: r.config_digest.to_string(),
                    detail: e.to_string(),
                })?
            }
            None => json!({
                "architecture": hoist_image::platform::Platform::host().architecture,
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": []},
            }),
        };
        let now = new.created.clone().unwrap_or_else(|| {
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
        });
        let diff_id = stored.as_ref().map(|(_, info)| &info.diff_id);
        edit_config(&mut config, new, &changes, diff_id, &now)?;
        let mut layers: Vec<LayerRef> = base.as_ref().map(|r| r.layers.clone()).unwrap_or_default();
        if let Some((blob, info)) = &stored {
            layers.push(LayerRef {
                blob: blob.clone(),
                diff_id: info.diff_id.clone(),
                media_type: media::OCI_LAYER.to_string(),
                size: info.uncompressed_size,
                lazy: None,
            });
        }
        self.store_image_annotated(
            &config,
            layers,
            name.into_iter().collect(),
            now,
            &ManifestMeta {
                annotations: &new.annotations,
                format: new.format,
                parent: base.map(|b| b.id),
            },
        )
    }

    /// Stores `config` and a manifest of `layers` (already in the store),
    /// as `meta` says, as an image named `names`, created at `created`;
    /// returns its ID.
    pub(crate) fn store_image_annotated(
        &self,
        config: &Value,
        layers: Vec<LayerRef>,
        names: Vec<String>,
        created: String,
        meta: &ManifestMeta<'_>,
    ) -> Result<Digest> {
        let ManifestMeta {
            annotations,
            format,
            parent,
        } = meta;
        let format = *format;
        let config_bytes =
            serde_json::to_vec(config).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let layer_descriptors = layers
            .iter()
            .map(|l| {
                Ok(Descriptor::new(
                    &format.layer_type(&l.media_type)?,
                    l.blob.clone(),
                    l.size,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let config_digest = self.store.add_blob(&config_bytes)?;
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": format.manifest_type(),
            "config": Descriptor::new(format.config_type(), config_digest.clone(), config_bytes.len() as u64),
            "layers": layer_descriptors,
        });
        if !annotations.is_empty() && format == ManifestFormat::Oci {
            manifest["annotations"] = json!(annotations);
        }
        let manifest_bytes =
            serde_json::to_vec(&manifest).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let manifest_digest = self.store.add_blob(&manifest_bytes)?;
        let size = self.store.image_size(&layers)?;
        let mut platform = format!(
            "{}/{}",
            config["os"].as_str().unwrap_or("linux"),
            config["architecture"].as_str().unwrap_or_default()
        );
        if let Some(v) = config["variant"].as_str() {
            platform = format!("{platform}/{v}");
        }
        let record = ImageRecord {
            id: config_digest.clone(),
            manifest_digest: manifest_digest.clone(),
            manifest_media_type: format.manifest_type().to_string(),
            names,
            layers,
            config_digest: config_digest.clone(),
            created,
            stored_at: String::new(),
            names_history: vec![],
            parent: parent.clone(),
            size,
            platform,
            digests: vec![manifest_digest],
            repositories: vec![],
        };
        self.store.put_image(record)?;
        let _ = self.store.release_pins();
        Ok(config_digest)
    }

    /// Copies an uncompressed layer tar into the store; its digest.
    pub(crate) fn store_layer_tar(&self, layer: &Path) -> Result<Digest> {
        let open =
            || std::fs::File::open(layer).map_err(io_err(format!("opening {}", layer.display())));
        let mut hasher = Hasher::sha256();
        let size = std::io::copy(&mut open()?, &mut hasher)
            .map_err(io_err(format!("reading {}", layer.display())))?;
        let digest = hasher.finish();
        if let BlobSlot::Writer(mut writer) = self.store.begin_blob(&digest, Some(size))? {
            std::io::copy(&mut open()?.take(size), &mut writer)
                .map_err(io_err(format!("storing {}", layer.display())))?;
            writer.commit()?;
        }
        Ok(digest)
    }
}

/// How a new image's manifest is written, and what it was made from.
pub(crate) struct ManifestMeta<'a> {
    /// The manifest's annotations (OCI only).
    pub annotations: &'a std::collections::BTreeMap<String, String>,
    pub format: ManifestFormat,
    /// The image it was made on top of.
    pub parent: Option<Digest>,
}

/// The tarball itself, or a gzip-compressed one decompressed into `scratch`.
fn decompressed(path: &Path, scratch: &Path) -> Result<std::path::PathBuf> {
    let open = || std::fs::File::open(path).map_err(io_err(format!("opening {}", path.display())));
    let mut magic = [0u8; 2];
    let n = open()?
        .read(&mut magic)
        .map_err(io_err(format!("reading {}", path.display())))?;
    if n < 2 || magic != [0x1f, 0x8b] {
        return Ok(path.to_path_buf());
    }
    let out = scratch.join("layer.tar");
    let mut gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(open()?));
    let mut dst =
        std::fs::File::create(&out).map_err(io_err(format!("creating {}", out.display())))?;
    std::io::copy(&mut gz, &mut dst)
        .map_err(io_err(format!("decompressing {}", path.display())))?;
    Ok(out)
}

/// The OCI spelling of a Docker layer media type (the manifest is OCI).
fn oci_media_type(media_type: &str) -> String {
    match media_type {
        media::DOCKER_LAYER_GZIP => media::OCI_LAYER_GZIP.to_string(),
        "application/vnd.docker.image.rootfs.diff.tar" => media::OCI_LAYER.to_string(),
        other => other.to_string(),
    }
}

/// Applies the container's settings, the changes, the new layer and a
/// history entry to an image config.
fn edit_config(
    config: &mut Value,
    new: &NewImage,
    changes: &[Change],
    diff_id: Option<&Digest>,
    now: &str,
) -> Result<()> {
    let Some(top) = config.as_object_mut() else {
        return Err(EngineError::Invalid(
            "the base image config is not an object".into(),
        ));
    };
    let run = top
        .entry("config")
        .or_insert_with(|| Value::Object(Map::new()));
    if !run.is_object() {
        *run = Value::Object(Map::new());
    }
    let run = run.as_object_mut().expect("made an object above");
    for (key, value) in &new.run_config {
        match key.as_str() {
            "Env" => merge_env(run, value.as_array().into_iter().flatten()),
            "Labels" => merge_map(run, "Labels", value),
            _ => {
                run.insert(key.clone(), value.clone());
            }
        }
    }
    if let Some(env) = run.get_mut("Env").and_then(Value::as_array_mut) {
        env.retain(|e| {
            let key = e.as_str().map(|s| s.split('=').next().unwrap_or(s));
            !key.is_some_and(|k| new.unset_env.iter().any(|u| u == k))
        });
    }
    for change in changes {
        change.apply(run);
    }
    top.insert("created".into(), now.into());
    for (key, value) in [
        ("os", &new.os),
        ("architecture", &new.architecture),
        ("variant", &new.variant),
    ] {
        if let Some(v) = value {
            top.insert(key.into(), v.clone().into());
        }
    }
    if let Some(author) = &new.author {
        top.insert("author".into(), author.clone().into());
    }
    if let Some(comment) = &new.comment {
        top.insert("comment".into(), comment.clone().into());
    }
    let rootfs = top
        .entry("rootfs")
        .or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
    if rootfs.get("diff_ids").and_then(Value::as_array).is_none() {
        rootfs["diff_ids"] = json!([]);
    }
    if let (Some(id), Some(ids)) = (diff_id, rootfs["diff_ids"].as_array_mut()) {
        ids.push(id.to_string().into());
    }
    if new.omit_history {
        top.insert("history".into(), json!([]));
        return Ok(());
    }
    let mut entries: Vec<Value> = new
        .empty_history
        .iter()
        .map(|by| json!({"created": now, "created_by": by, "empty_layer": true}))
        .collect();
    let mut entry = json!({"created": now, "created_by": new.created_by});
    if diff_id.is_none() {
        entry["empty_layer"] = true.into();
    }
    if let Some(author) = &new.author {
        entry["author"] = author.clone().into();
    }
    if let Some(comment) = &new.comment {
        entry["comment"] = comment.clone().into();
    }
    entries.push(entry);
    match top.get_mut("history").and_then(Value::as_array_mut) {
        Some(h) => h.extend(entries),
        None => {
            top.insert("history".into(), Value::Array(entries));
        }
    }
    Ok(())
}

/// Sets `KEY=VALUE` entries in `Env`, replacing those of the same key.
fn merge_env<'a>(run: &mut Map<String, Value>, entries: impl Iterator<Item = &'a Value>) {
    let mut env: Vec<String> = run
        .get("Env")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for e in entries.filter_map(Value::as_str) {
        let key = e.split('=').next().unwrap_or(e);
        match env.iter_mut().find(|x| x.split('=').next() == Some(key)) {
            Some(x) => *x = e.to_string(),
            None => env.push(e.to_string()),
        }
    }
    run.insert("Env".into(), json!(env));
}

/// Adds the entries of the object `value` to the object `run[key]`.
fn merge_map(run: &mut Map<String, Value>, key: &str, value: &Value) {
    let slot = run.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let (Some(dst), Some(src)) = (slot.as_object_mut(), value.as_object()) {
        for (k, v) in src {
            dst.insert(k.clone(), v.clone());
        }
    }
}

/// One `--change` instruction.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    Env(Vec<String>),
    Expose(Vec<String>),
    Label(Vec<(String, String)>),
    OnBuild(String),
    StopSignal(String),
    User(String),
    Volume(Vec<String>),
    Workdir(String),
}

impl Change {
    /// `INSTRUCTION ARGS` or `INSTRUCTION=ARGS`, as podman takes them.
    fn parse(text: &str) -> Result<Change> {
        let text = text.trim();
        let split = text
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(text.len());
        let (word, rest) = text.split_at(split);
        let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
        let bad = |why: &str| EngineError::Invalid(format!("invalid change {text:?}: {why}"));
        if rest.is_empty() {
            return Err(bad("the instruction needs an argument"));
        }
        Ok(match word.to_ascii_uppercase().as_str() {
            "CMD" => Change::Cmd(command_form(rest)),
            "ENTRYPOINT" => Change::Entrypoint(command_form(rest)),
            "ENV" => Change::Env(key_values(rest, true).into_iter().map(|(k, v)| format!("{k}={v}")).collect()),
            "LABEL" => Change::Label(key_values(rest, false)),
            "EXPOSE" => Change::Expose(
                rest.split_whitespace()
                    .map(|p| if p.contains('/') { p.to_string() } else { format!("{p}/tcp") })
                    .collect(),
            ),
            "ONBUILD" => Change::OnBuild(rest.to_string()),
            "STOPSIGNAL" => Change::StopSignal(rest.to_string()),
            "USER" => Change::User(rest.to_string()),
            "VOLUME" => Change::Volume(match serde_json::from_str::<Vec<String>>(rest) {
                Ok(list) => list,
                Err(_) => rest.split_whitespace().map(str::to_string).collect(),
            }),
            "WORKDIR" => Change::Workdir(rest.to_string()),
            _ => {
                return Err(bad(
                    "use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR",
                ))
            }
        })
    }

    fn apply(&self, run: &mut Map<String, Value>) {
        let set = |run: &mut Map<String, Value>, k: &str, v: Value| {
            run.insert(k.to_string(), v);
        };
        match self {
            Change::Cmd(c) => set(run, "Cmd", json!(c)),
            Change::Entrypoint(c) => set(run, "Entrypoint", json!(c)),
            Change::Env(e) => {
                let values: Vec<Value> = e.iter().map(|s| json!(s)).collect();
                merge_env(run, values.iter());
            }
            Change::Label(l) => {
                let map: Map<String, Value> =
                    l.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                merge_map(run, "Labels", &Value::Object(map));
            }
            Change::Expose(ports) => {
                let map: Map<String, Value> =
                    ports.iter().map(|p| (p.clone(), json!({}))).collect();
                merge_map(run, "ExposedPorts", &Value::Object(map));
            }
            Change::Volume(v) => {
                let map: Map<String, Value> = v.iter().map(|p| (p.clone(), json!({}))).collect();
                merge_map(run, "Volumes", &Value::Object(map));
            }
            Change::OnBuild(o) => {
                let mut list: Vec<Value> = run
                    .get("OnBuild")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                list.push(json!(o));
                set(run, "OnBuild", Value::Array(list));
            }
            Change::StopSignal(s) => set(run, "StopSignal", json!(s)),
            Change::User(u) => set(run, "User", json!(u)),
            Change::Workdir(w) => set(run, "WorkingDir", json!(w)),
        }
    }
}

/// The exec form (`["a","b"]`) as it is, the shell form under `/bin/sh -c`.
fn command_form(rest: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<String>>(rest) {
        Ok(list) => list,
        Err(_) => vec!["/bin/sh".into(), "-c".into(), rest.to_string()],
    }
}

/// `K=V K2="V 2"` pairs; with `legacy`, also `K V...` (one pair, the rest
/// of the line as the value), as ENV allows.
fn key_values(rest: &str, legacy: bool) -> Vec<(String, String)> {
    let words = shell_words(rest);
    if legacy && words.first().is_some_and(|w| !w.contains('=')) {
        let (key, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        return vec![(key.to_string(), value.trim().to_string())];
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (w, String::new()),
        })
        .collect()
}

/// Splits at unquoted whitespace, removing the quotes (`"` and `'`) and
/// backslash escapes.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                continue;
            }
            (None, c) => word.push(c),
        }
        in_word = true;
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_parse_both_spellings_and_both_command_forms() {
        assert_eq!(
            Change::parse("CMD [\"/bin/true\"]").unwrap(),
            Change::Cmd(vec!["/bin/true".into()])
        );
        assert_eq!(
            Change::parse("CMD=sleep 5").unwrap(),
            Change::Cmd(vec!["/bin/sh".into(), "-c".into(), "sleep 5".into()])
        );
        assert_eq!(
            Change::parse("ENV A=1 B=\"two words\"").unwrap(),
            Change::Env(vec!["A=1".into(), "B=two words".into()])
        );
        assert_eq!(
            Change::parse("env PATH /x:/y").unwrap(),
            Change::Env(vec!["PATH=/x:/y".into()])
        );
        assert_eq!(
            Change::parse("EXPOSE 80 53/udp").unwrap(),
            Change::Expose(vec!["80/tcp".into(), "53/udp".into()])
        );
        assert!(Change::parse("RUN true").is_err());
        assert!(Change::parse("CMD").is_err());
    }

    #[test]
    fn config_edits_merge_env_and_labels_and_record_history() {
        let mut config = json!({
            "config": {"Env": ["PATH=/bin", "A=old"], "Labels": {"x": "1"}, "Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]},
            "history": [{"created_by": "base"}],
        });
        let mut run_config = Map::new();
        run_config.insert("Env".into(), json!(["A=new", "B=2"]));
        run_config.insert("Cmd".into(), json!(["true"]));
        let new = NewImage {
            run_config,
            comment: Some("msg".into()),
            author: Some("me".into()),
            created_by: "hoist commit".into(),
            ..NewImage::default()
        };
        let changes = vec![
            Change::parse("LABEL y=2").unwrap(),
            Change::parse("WORKDIR /w").unwrap(),
        ];
        let diff = Digest::sha256_of(b"layer");
        edit_config(
            &mut config,
            &new,
            &changes,
            Some(&diff),
            "2024-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            config["config"]["Env"],
            json!(["PATH=/bin", "A=new", "B=2"])
        );
        assert_eq!(config["config"]["Labels"], json!({"x": "1", "y": "2"}));
        assert_eq!(config["config"]["Cmd"], json!(["true"]));
        assert_eq!(config["config"]["WorkingDir"], "/w");
        assert_eq!(config["rootfs"]["diff_ids"][1], diff.to_string());
        assert_eq!(config["history"][1]["comment"], "msg");
        assert_eq!(config["author"], "me");
        assert_eq!(config["comment"], "msg");
    }

    #[test]
    fn docker_format_names_layers_as_schema2_does_and_refuses_zstd() {
        let docker = ManifestFormat::Docker;
        assert_eq!(docker.layer_type(media::OCI_LAYER).unwrap(), DOCKER_LAYER);
        assert_eq!(
            docker.layer_type(media::OCI_LAYER_GZIP).unwrap(),
            media::DOCKER_LAYER_GZIP
        );
        assert_eq!(
            docker.layer_type(media::DOCKER_LAYER_GZIP).unwrap(),
            media::DOCKER_LAYER_GZIP
        );
        assert!(docker.layer_type(media::OCI_LAYER_ZSTD).is_err());
        assert_eq!(
            ManifestFormat::Oci.layer_type(DOCKER_LAYER).unwrap(),
            media::OCI_LAYER
        );
        assert_eq!(
            ManifestFormat::of(media::DOCKER_MANIFEST),
            ManifestFormat::Docker
        );
        assert_eq!(ManifestFormat::of(media::OCI_MANIFEST), ManifestFormat::Oci);
    }

    #[test]
    fn omit_history_empties_the_history_and_keeps_the_layer() {
        let mut config = json!({
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]},
            "history": [{"created_by": "base"}],
        });
        let new = NewImage {
            created_by: "RUN make".into(),
            empty_history: vec!["ENV A=1".into()],
            omit_history: true,
            ..NewImage::default()
        };
        let diff = Digest::sha256_of(b"layer");
        edit_config(&mut config, &new, &[], Some(&diff), "2024-01-01T00:00:00Z").unwrap();
        assert_eq!(config["history"], json!([]));
        assert_eq!(config["rootfs"]["diff_ids"][1], diff.to_string());
    }
}

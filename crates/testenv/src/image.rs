//! Test images built locally from Debian's busybox-static, written as OCI image layouts
//! and pushed with the real skopeo. No network beyond 127.0.0.1 is involved.
//!
//! Everything is deterministic (fixed mtimes, owners, entry order and compressor
//! settings), so the same builder always yields the same digests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

pub use crate::layer::Layer;
use crate::registry::Registry;
use crate::util::{describe, run_with_timeout};

/// Where the busybox-static package installs its binary; copied into every image.
pub const BUSYBOX_PATH: &str = "/bin/busybox";

/// Applets linked to `/bin/busybox` in every test image (as `/bin/<name>`).
pub const BUSYBOX_APPLETS: &[&str] = &[
    "[",
    "ash",
    "awk",
    "base64",
    "basename",
    "cat",
    "chmod",
    "chown",
    "chroot",
    "cp",
    "cut",
    "date",
    "dd",
    "df",
    "diff",
    "dirname",
    "du",
    "echo",
    "env",
    "expr",
    "false",
    "find",
    "free",
    "grep",
    "groups",
    "gzip",
    "head",
    "hexdump",
    "hostname",
    "httpd",
    "id",
    "ifconfig",
    "ip",
    "kill",
    "ln",
    "ls",
    "md5sum",
    "mkdir",
    "mktemp",
    "mount",
    "mv",
    "nc",
    "nproc",
    "nslookup",
    "od",
    "ping",
    "printf",
    "ps",
    "pwd",
    "readlink",
    "realpath",
    "rm",
    "rmdir",
    "sed",
    "seq",
    "sh",
    "sha256sum",
    "sleep",
    "sort",
    "stat",
    "su",
    "sync",
    "tail",
    "tar",
    "tee",
    "test",
    "timeout",
    "top",
    "touch",
    "tr",
    "true",
    "tty",
    "umount",
    "uname",
    "uniq",
    "uptime",
    "usleep",
    "vi",
    "wc",
    "wget",
    "which",
    "whoami",
    "xargs",
    "yes",
];

/// `PATH` set in every test image's config.
pub const IMAGE_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `/etc/passwd` of every test image. Besides root it has `hoist` (1000:1000) for `--user` tests.
pub const ETC_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
hoist:x:1000:1000:hoist test user:/home/hoist:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";

/// `/etc/group` of every test image.
pub const ETC_GROUP: &str = "root:x:0:\n\
daemon:x:1:\n\
wheel:x:10:root,hoist\n\
hoist:x:1000:\n\
nogroup:x:65534:\n";

/// File in every image's base layer naming the image's architecture (`amd64\n`, `arm64\n`).
pub const ARCH_MARKER: &str = "/arch";

/// Files the layers of [`ImageBuilder::multi_layer`] add, delete and hide; tests of
/// pull/unpack assert on these.
pub mod multi_layer_files {
    /// Added by layer 2, never removed: content `hello\n`.
    pub const HELLO: &str = "/data/hello.txt";
    /// Added by layer 2 in a sub-directory, never removed: content `keep\n`.
    pub const KEEP: &str = "/data/sub/keep.txt";
    /// Added by layer 2, deleted by layer 3 through a `.wh.remove-me.txt` whiteout.
    pub const REMOVED: &str = "/data/remove-me.txt";
    /// Added by layer 2, hidden by layer 4 marking `/opaque` opaque.
    pub const HIDDEN_BY_OPAQUE: &str = "/opaque/old.txt";
    /// Added by layer 4 next to its opaque marker: content `new\n`.
    pub const OPAQUE_NEW: &str = "/opaque/new.txt";
    /// Layers 5..=n each add `/data/layer-<k>.txt` with content `layer <k>\n`.
    pub fn extra(k: usize) -> String {
        format!("/data/layer-{k}.txt")
    }
}

/// The `created` time of every config (the layers' mtime, 2024-01-01T00:00:00Z).
const FIXED_CREATED: &str = "2024-01-01T00:00:00Z";
const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
const SKOPEO_TIMEOUT: Duration = Duration::from_secs(180);

/// Media types written into the layouts.
pub mod media {
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}

/// How layer blobs are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar (`application/vnd.oci.image.layer.v1.tar`).
    None,
    /// gzip, the default (`...tar+gzip`).
    Gzip,
    /// zstd (`...tar+zstd`).
    Zstd,
}

impl Compression {
    /// The OCI layer media type for this compression.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => media::OCI_LAYER,
            Compression::Gzip => media::OCI_LAYER_GZIP,
            Compression::Zstd => media::OCI_LAYER_ZSTD,
        }
    }

    /// The name [`FromStr`](std::str::FromStr) accepts: `none`, `gzip` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    fn compress(self, tar: &[u8]) -> Vec<u8> {
        match self {
            Compression::None => tar.to_vec(),
            // GzEncoder writes mtime 0 and no file name, so output depends on input only.
            Compression::Gzip => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(tar).expect("gzip into memory cannot fail");
                enc.finish().expect("gzip into memory cannot fail")
            }
            Compression::Zstd => zstd::encode_all(tar, 3).expect("zstd into memory cannot fail"),
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    /// Parses `none`, `gzip` or `zstd` (as on the `hoist-testenv` command line).
    fn from_str(s: &str) -> Result<Compression, String> {
        [Compression::None, Compression::Gzip, Compression::Zstd]
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown layer compression {s:?}: use none, gzip or zstd"))
    }
}

/// Manifest format skopeo writes to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// Keep the OCI manifest/index as built.
    Oci,
    /// Convert to Docker schema 2 (`skopeo copy --format v2s2`); needs gzip layers.
    DockerV2S2,
}

/// An OS/architecture pair (plus variant) an image is built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// `linux/amd64`: the runnable platform (busybox-static is x86-64).
    pub fn linux_amd64() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }

    /// `linux/arm64/v8`: built with the same x86-64 busybox, so not runnable; its
    /// `/arch` file says `arm64` so tests can tell which instance they pulled.
    pub fn linux_arm64() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: Some("v8".into()),
        }
    }

    fn to_json(&self) -> Value {
        let mut p = json!({ "os": self.os, "architecture": self.architecture });
        if let Some(v) = &self.variant {
            p["variant"] = json!(v);
        }
        p
    }
}

/// The base layer every image starts with: busybox, applet links, passwd/group and the
/// usual top-level directories, plus the `/arch` marker for `arch`.
pub fn base_layer(arch: &str) -> Layer {
    let busybox = std::fs::read(BUSYBOX_PATH).unwrap_or_else(|e| {
        panic!("cannot read {BUSYBOX_PATH}: {e}; install busybox-static (scripts/install-deps.sh)")
    });
    let mut l = Layer::new()
        .dir("bin", 0o755)
        .file("bin/busybox", busybox, 0o755);
    for applet in BUSYBOX_APPLETS {
        l = l.symlink(&format!("bin/{applet}"), "busybox");
    }
    l.dir("dev", 0o755)
        .dir("etc", 0o755)
        .file("etc/passwd", ETC_PASSWD, 0o644)
        .file("etc/group", ETC_GROUP, 0o644)
        .dir("home", 0o755)
        .dir_owned("home/hoist", 0o755, 1000, 1000)
        .dir("proc", 0o555)
        .dir("root", 0o700)
        .dir("run", 0o755)
        .dir("sys", 0o555)
        .dir("tmp", 0o1777)
        .dir("usr", 0o755)
        .dir("usr/bin", 0o755)
        .symlink("usr/bin/env", "/bin/busybox")
        .dir("var", 0o755)
        .dir("var/tmp", 0o1777)
        .file(ARCH_MARKER, format!("{arch}\n"), 0o644)
}

/// The layers after the base one in [`ImageBuilder::multi_layer`]; `k` is the 1-based
/// position of the layer in the image (so 2 is the first extra layer).
fn multi_layer_extra(k: usize) -> (Layer, String) {
    match k {
        2 => (
            Layer::new()
                .dir("data", 0o755)
                .file("data/hello.txt", "hello\n", 0o644)
                .file("data/remove-me.txt", "remove me\n", 0o644)
                .dir("data/sub", 0o755)
                .file("data/sub/keep.txt", "keep\n", 0o644)
                .dir("opaque", 0o755)
                .file("opaque/old.txt", "old\n", 0o644),
            "add /data and /opaque files".into(),
        ),
        3 => (
            Layer::new()
                .dir("data", 0o755)
                .whiteout("data/remove-me.txt"),
            "rm /data/remove-me.txt (whiteout)".into(),
        ),
        4 => (
            Layer::new().dir("opaque", 0o755).opaque("opaque").file(
                "opaque/new.txt",
                "new\n",
                0o644,
            ),
            "replace /opaque (opaque dir)".into(),
        ),
        k => (
            Layer::new().dir("data", 0o755).file(
                &format!("data/layer-{k}.txt"),
                format!("layer {k}\n"),
                0o644,
            ),
            format!("add /data/layer-{k}.txt"),
        ),
    }
}

fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// What [`ImageBuilder::build_oci_layout`] wrote.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// The OCI layout directory.
    pub dir: PathBuf,
    /// The tag (`org.opencontainers.image.ref.name`) in the layout's index.json.
    pub tag: String,
    /// Digest of the top-level manifest (or image index for multi-platform images).
    pub digest: String,
    /// Media type of that top-level object.
    pub media_type: String,
    /// Per-platform manifest digests, in platform order.
    pub manifests: Vec<(Platform, String)>,
    /// Per-platform config digests (the image IDs podman would show), in platform order.
    pub configs: Vec<(Platform, String)>,
}

impl BuiltImage {
    /// The skopeo/containers transport reference `oci:<dir>:<tag>`.
    pub fn oci_reference(&self) -> String {
        format!("oci:{}:{}", self.dir.display(), self.tag)
    }
}

/// Builds busybox test images. Start from a variant constructor, adjust, then
/// [`build_oci_layout`](Self::build_oci_layout) or [`push`](Self::push).
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    platforms: Vec<Platform>,
    layers: Vec<(Layer, String)>,
    compression: Compression,
    format: ManifestFormat,
    env: Vec<String>,
    cmd: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    user: Option<String>,
    workdir: Option<String>,
    labels: Vec<(String, String)>,
    volumes: Vec<String>,
    healthcheck: Option<Value>,
}

impl ImageBuilder {
    /// One gzip layer with busybox for linux/amd64, `Cmd ["sh"]`.
    pub fn single_layer() -> ImageBuilder {
        ImageBuilder {
            platforms: vec![Platform::linux_amd64()],
            layers: Vec::new(),
            compression: Compression::Gzip,
            format: ManifestFormat::Oci,
            env: vec![IMAGE_PATH_ENV.into()],
            cmd: Some(vec!["sh".into()]),
            entrypoint: None,
            user: None,
            workdir: None,
            labels: Vec::new(),
            volumes: Vec::new(),
            healthcheck: None,
        }
    }

    /// `n` layers (n >= 1): the base, then (as far as `n` reaches) a layer adding files
    /// under /data and /opaque, one deleting `/data/remove-me.txt` with a whiteout, one
    /// making `/opaque` opaque, then layers adding `/data/layer-<k>.txt`.
    /// See [`multi_layer_files`].
    pub fn multi_layer(n: usize) -> ImageBuilder {
        assert!(n >= 1, "an image needs at least one layer");
        let mut b = ImageBuilder::single_layer();
        b.layers = (2..=n).map(multi_layer_extra).collect();
        b
    }

    /// An image index with a runnable linux/amd64 image and a linux/arm64/v8 one.
    pub fn multi_arch() -> ImageBuilder {
        ImageBuilder::single_layer()
            .with_platforms(vec![Platform::linux_amd64(), Platform::linux_arm64()])
    }

    /// Builds one image per platform; more than one platform yields an image index.
    pub fn with_platforms(mut self, platforms: Vec<Platform>) -> ImageBuilder {
        assert!(
            !platforms.is_empty(),
            "an image needs at least one platform"
        );
        self.platforms = platforms;
        self
    }

    /// Compression of every layer blob (default gzip).
    pub fn with_layer_compression(mut self, c: Compression) -> ImageBuilder {
        self.compression = c;
        self
    }

    /// The manifest format pushed to registries (default OCI).
    pub fn with_manifest_format(mut self, f: ManifestFormat) -> ImageBuilder {
        self.format = f;
        self
    }

    /// Appends a custom layer on top; `created_by` goes into the image history.
    pub fn layer(mut self, layer: Layer, created_by: &str) -> ImageBuilder {
        self.layers.push((layer, created_by.into()));
        self
    }

    /// Adds an `Env` entry (`KEY=value`).
    pub fn env(mut self, kv: &str) -> ImageBuilder {
        self.env.push(kv.into());
        self
    }

    /// Replaces `Cmd` (`None` removes it).
    pub fn cmd(mut self, cmd: Option<&[&str]>) -> ImageBuilder {
        self.cmd = cmd.map(|c| c.iter().map(|s| s.to_string()).collect());
        self
    }

    /// Sets `Entrypoint`.
    pub fn entrypoint(mut self, ep: &[&str]) -> ImageBuilder {
        self.entrypoint = Some(ep.iter().map(|s| s.to_string()).collect());
        self
    }

    /// Sets `User`.
    pub fn user(mut self, user: &str) -> ImageBuilder {
        self.user = Some(user.into());
        self
    }

    /// Sets `WorkingDir`.
    pub fn workdir(mut self, dir: &str) -> ImageBuilder {
        self.workdir = Some(dir.into());
        self
    }

    /// Adds a config label.
    pub fn label(mut self, key: &str, value: &str) -> ImageBuilder {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// Declares a VOLUME (`config.Volumes`).
    pub fn volume(mut self, path: &str) -> ImageBuilder {
        self.volumes.push(path.into());
        self
    }

    /// Sets docker's HEALTHCHECK (`config.Healthcheck`: `Test`,
    /// `Interval`, ... in nanoseconds).
    pub fn healthcheck(mut self, hc: Value) -> ImageBuilder {
        self.healthcheck = Some(hc);
        self
    }

    /// Number of layers each platform's image has.
    pub fn layer_count(&self) -> usize {
        1 + self.layers.len()
    }

    /// The configured compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Writes an OCI image layout to `dir` (created if needed) whose index.json names the
    /// top-level manifest or index `tag`. Building into an existing layout adds to it.
    pub fn build_oci_layout(&self, dir: &Path, tag: &str) -> BuiltImage {
        let blobs = dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs)
            .unwrap_or_else(|e| panic!("cannot create OCI layout dir {}: {e}", blobs.display()));
        let write_blob = |data: &[u8]| -> (String, usize) {
            let digest = sha256_digest(data);
            let path = blobs.join(&digest["sha256:".len()..]);
            std::fs::write(&path, data)
                .unwrap_or_else(|e| panic!("cannot write blob {}: {e}", path.display()));
            (digest, data.len())
        };

        let mut manifests = Vec::new();
        let mut configs = Vec::new();
        let mut descriptors = Vec::new();
        for platform in &self.platforms {
            let mut layers: Vec<(Layer, String)> = vec![(
                base_layer(&platform.architecture),
                format!("busybox-static rootfs for {}", platform.architecture),
            )];
            layers.extend(self.layers.iter().cloned());

            let mut diff_ids = Vec::new();
            let mut layer_descs = Vec::new();
            let mut history = Vec::new();
            for (layer, created_by) in &layers {
                let tar = layer.tar();
                diff_ids.push(sha256_digest(&tar));
                let (digest, size) = write_blob(&self.compression.compress(&tar));
                layer_descs.push(json!({
                    "mediaType": self.compression.media_type(),
                    "digest": digest,
                    "size": size,
                }));
                history.push(json!({
                    "created": FIXED_CREATED,
                    "created_by": created_by,
                    "comment": "hoist-testenv",
                }));
            }

            let config = self.config_json(platform, diff_ids, history);
            let (config_digest, config_size) =
                write_blob(&serde_json::to_vec(&config).expect("config serializes"));
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": media::OCI_MANIFEST,
                "config": {
                    "mediaType": media::OCI_CONFIG,
                    "digest": config_digest,
                    "size": config_size,
                },
                "layers": layer_descs,
            });
            let (m_digest, m_size) =
                write_blob(&serde_json::to_vec(&manifest).expect("manifest serializes"));
            descriptors.push(json!({
                "mediaType": media::OCI_MANIFEST,
                "digest": m_digest,
                "size": m_size,
                "platform": platform.to_json(),
            }));
            manifests.push((platform.clone(), m_digest));
            configs.push((platform.clone(), config_digest));
        }

        let (top_digest, top_size, top_type) = if descriptors.len() == 1 {
            let d = &descriptors[0];
            (
                d["digest"]
                    .as_str()
                    .expect("digest is a string")
                    .to_string(),
                d["size"].as_u64().expect("size is a number") as usize,
                media::OCI_MANIFEST,
            )
        } else {
            let index = json!({
                "schemaVersion": 2,
                "mediaType": media::OCI_INDEX,
                "manifests": descriptors,
            });
            let (d, s) = write_blob(&serde_json::to_vec(&index).expect("index serializes"));
            (d, s, media::OCI_INDEX)
        };

        write_layout_index(dir, tag, top_type, &top_digest, top_size);
        BuiltImage {
            dir: dir.to_path_buf(),
            tag: tag.to_string(),
            digest: top_digest,
            media_type: top_type.to_string(),
            manifests,
            configs,
        }
    }

    fn config_json(
        &self,
        platform: &Platform,
        diff_ids: Vec<String>,
        history: Vec<Value>,
    ) -> Value {
        let mut cfg = json!({ "Env": self.env });
        if let Some(cmd) = &self.cmd {
            cfg["Cmd"] = json!(cmd);
        }
        if let Some(ep) = &self.entrypoint {
            cfg["Entrypoint"] = json!(ep);
        }
        if let Some(u) = &self.user {
            cfg["User"] = json!(u);
        }
        if let Some(w) = &self.workdir {
            cfg["WorkingDir"] = json!(w);
        }
        if !self.labels.is_empty() {
            let labels: serde_json::Map<String, Value> = self
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            cfg["Labels"] = Value::Object(labels);
        }
        if !self.volumes.is_empty() {
            let volumes: serde_json::Map<String, Value> = self
                .volumes
                .iter()
                .map(|v| (v.clone(), json!({})))
                .collect();
            cfg["Volumes"] = Value::Object(volumes);
        }
        if let Some(hc) = &self.healthcheck {
            cfg["Healthcheck"] = hc.clone();
        }
        let mut config = json!({
            "created": FIXED_CREATED,
            "architecture": platform.architecture,
            "os": platform.os,
            "config": cfg,
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
            "history": history,
        });
        if let Some(v) = &platform.variant {
            config["variant"] = json!(v);
        }
        config
    }

    /// Builds the image and copies it with skopeo to any containers-transport `dest`
    /// (`docker-archive:/x.tar:busybox:1`, `oci-archive:/x.tar:1`, `docker://...`).
    /// `extra` is passed to `skopeo copy` before the references. Returns the digest
    /// skopeo reports for the written manifest; panics with skopeo's output on failure.
    pub fn copy_to(&self, dest: &str, extra: &[&str]) -> String {
        self.try_copy_to(dest, extra)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`copy_to`](Self::copy_to) but returns skopeo's failure (command, status,
    /// output) as `Err`, for tests that expect the copy to be refused.
    pub fn try_copy_to(&self, dest: &str, extra: &[&str]) -> Result<String, String> {
        let work = tempfile::tempdir().expect("cannot create a temp dir for an image build");
        let built = self.build_oci_layout(&work.path().join("layout"), "build");
        skopeo_copy(
            work.path(),
            &built.oci_reference(),
            dest,
            self.copy_args(&built, extra),
            skopeo_timeout(&built.dir),
        )
    }

    /// Builds the image and pushes it with skopeo to `registry` as `reference`
    /// (`repo:tag`, e.g. `busybox:1`), with the registry's credentials and CA when it
    /// has them. Returns the pushed manifest (or index) digest.
    ///
    /// OCI images are pushed with `--preserve-digests`: without it skopeo gzips
    /// uncompressed layers for registries; with it the registry holds exactly the blobs
    /// and manifests [`build_oci_layout`](Self::build_oci_layout) makes.
    pub fn push(&self, registry: &Registry, reference: &str) -> String {
        self.push_with(&registry.reference(reference), registry.skopeo_dest_args())
    }

    /// Like [`push`](Self::push), to a plain-HTTP registry without authentication
    /// known only by its address `HOST:PORT` (e.g. one started by
    /// [`Registry::spawn_detached`]).
    pub fn push_insecure(&self, addr: &str, reference: &str) -> String {
        self.push_with(
            &format!("{addr}/{}", reference.trim_start_matches('/')),
            vec!["--dest-tls-verify=false".to_string()],
        )
    }

    fn push_with(&self, full_reference: &str, mut dest_args: Vec<String>) -> String {
        if self.format == ManifestFormat::Oci {
            dest_args.push("--preserve-digests".to_string());
        }
        let dest_args: Vec<&str> = dest_args.iter().map(String::as_str).collect();
        self.copy_to(&format!("docker://{full_reference}"), &dest_args)
    }

    fn copy_args(&self, built: &BuiltImage, extra: &[&str]) -> Vec<String> {
        let mut args = Vec::new();
        if built.media_type == media::OCI_INDEX {
            args.push("--all".to_string());
        }
        if self.format == ManifestFormat::DockerV2S2 {
            args.extend(["--format".to_string(), "v2s2".to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }
}

/// Adds (or replaces) the entry for `tag` in `<dir>/index.json` and writes `oci-layout`.
fn write_layout_index(dir: &Path, tag: &str, media_type: &str, digest: &str, size: usize) {
    let index_path = dir.join("index.json");
    let mut entries: Vec<Value> = std::fs::read(&index_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["manifests"].as_array().cloned())
        .unwrap_or_default();
    entries.retain(|e| e["annotations"][REF_NAME_ANNOTATION] != json!(tag));
    entries.push(json!({
        "mediaType": media_type,
        "digest": digest,
        "size": size,
        "annotations": { REF_NAME_ANNOTATION: tag },
    }));
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": entries,
    });
    std::fs::write(
        &index_path,
        serde_json::to_vec(&index).expect("index serializes"),
    )
    .unwrap_or_else(|e| panic!("cannot write {}: {e}", index_path.display()));
    let layout = dir.join("oci-layout");
    std::fs::write(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", layout.display()));
}

/// [`SKOPEO_TIMEOUT`] plus one second per 2 MB of blobs in the layout at `dir`: big
/// benchmark images (hundreds of MB copied from the host) legitimately take longer than
/// test images, while a hung copy of a small image still fails quickly.
fn skopeo_timeout(dir: &Path) -> Duration {
    let bytes: u64 = std::fs::read_dir(dir.join("blobs").join("sha256"))
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    SKOPEO_TIMEOUT + Duration::from_secs(bytes / 2_000_000)
}

/// Runs `skopeo copy` with a permissive policy and an isolated auth file/registries.conf
/// living in `work`, returning the digest from `--digestfile`.
fn skopeo_copy(
    work: &Path,
    src: &str,
    dest: &str,
    args: Vec<String>,
    timeout: Duration,
) -> Result<String, String> {
    let policy = work.join("policy.json");
    std::fs::write(
        &policy,
        br#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap_or_else(|e| panic!("cannot write {}: {e}", policy.display()));
    let registries = work.join("registries.conf");
    std::fs::write(&registries, "unqualified-search-registries = []\n")
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", registries.display()));
    let digestfile = work.join("digest");

    let mut cmd = skopeo_command(work);
    cmd.arg("--policy")
        .arg(&policy)
        .arg("copy")
        .arg("--digestfile")
        .arg(&digestfile)
        .args(&args)
        .arg(src)
        .arg(dest);
    let shown = describe(&cmd);
    let out = run_with_timeout(&mut cmd, timeout);
    if !out.status.success() {
        return Err(format!(
            "`{shown}` failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let digest = std::fs::read_to_string(&digestfile)
        .unwrap_or_else(|e| panic!("skopeo wrote no digest file {}: {e}", digestfile.display()));
    Ok(digest.trim().to_string())
}

/// A `skopeo` command isolated from the user's auth and registries configuration.
pub(crate) fn skopeo_command(work: &Path) -> Command {
    let registries = work.join("registries.conf");
    if !registries.exists() {
        std::fs::write(&registries, "unqualified-search-registries = []\n")
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", registries.display()));
    }
    let mut cmd = Command::new("skopeo");
    cmd.env("REGISTRY_AUTH_FILE", work.join("auth.json"))
        .env("CONTAINERS_REGISTRIES_CONF", &registries)
        .env("HOME", work);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::FIXED_MTIME;
    use std::io::Read;

    fn entries(tar: &[u8]) -> Vec<(String, tar::EntryType, Vec<u8>)> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                let ty = e.header().entry_type();
                assert_eq!(e.header().mtime().unwrap(), FIXED_MTIME);
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (path, ty, data)
            })
            .collect()
    }

    #[test]
    fn compression_names_parse_back() {
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            assert_eq!(c.name().parse::<Compression>(), Ok(c));
        }
        let err = "xz".parse::<Compression>().unwrap_err();
        assert!(err.contains("\"xz\"") && err.contains("zstd"), "{err}");
    }

    #[test]
    fn compression_roundtrips_and_is_deterministic() {
        let tar = Layer::new().file("a", vec![7u8; 10_000], 0o644).tar();
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let blob = c.compress(&tar);
            assert_eq!(blob, c.compress(&tar), "{c:?} not deterministic");
            let back = match c {
                Compression::None => blob.clone(),
                Compression::Gzip => {
                    let mut out = Vec::new();
                    flate2::read::GzDecoder::new(blob.as_slice())
                        .read_to_end(&mut out)
                        .unwrap();
                    out
                }
                Compression::Zstd => zstd::decode_all(blob.as_slice()).unwrap(),
            };
            assert_eq!(back, tar);
        }
    }

    #[test]
    fn layout_is_deterministic_and_consistent() {
        crate::require_file(BUSYBOX_PATH, "the Debian package `busybox-static`");
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let builder = ImageBuilder::multi_layer(5).with_layer_compression(Compression::Zstd);
        let x = builder.build_oci_layout(a.path(), "t");
        let y = builder.build_oci_layout(b.path(), "t");
        assert_eq!(x.digest, y.digest);
        assert_eq!(x.media_type, media::OCI_MANIFEST);

        let blob = |d: &str| std::fs::read(a.path().join("blobs/sha256").join(&d[7..])).unwrap();
        let manifest: Value = serde_json::from_slice(&blob(&x.digest)).unwrap();
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 5);
        for l in layers {
            assert_eq!(l["mediaType"], media::OCI_LAYER_ZSTD);
            let data = blob(l["digest"].as_str().unwrap());
            assert_eq!(data.len() as u64, l["size"].as_u64().unwrap());
        }
        let config: Value =
            serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
        assert_eq!(config["config"]["Cmd"], json!(["sh"]));
        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 5);
        assert_eq!(config["history"].as_array().unwrap().len(), 5);
        // diff_id of layer 3 is the sha256 of the uncompressed whiteout tar.
        let l3 = zstd::decode_all(blob(layers[2]["digest"].as_str().unwrap()).as_slice()).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][2], json!(sha256_digest(&l3)));
        let names: Vec<_> = entries(&l3).into_iter().map(|e| e.0).collect();
        assert!(
            names.contains(&"data/.wh.remove-me.txt".to_string()),
            "{names:?}"
        );

        let index: Value =
            serde_json::from_slice(&std::fs::read(a.path().join("index.json")).unwrap()).unwrap();
        assert_eq!(index["manifests"][0]["digest"], json!(x.digest));
        assert_eq!(
            index["manifests"][0]["annotations"][REF_NAME_ANNOTATION],
            "t"
        );
    }

    #[test]
    fn base_layer_has_busybox_links_and_arch() {
        crate::require_file(BUSYBOX_PATH, "the Debian package `busybox-static`");
        let e = entries(&base_layer("arm64").tar());
        let find = |p: &str| {
            e.iter()
                .find(|x| x.0 == p)
                .unwrap_or_else(|| panic!("{p} missing"))
        };
        assert_eq!(find("arch").2, b"arm64\n");
        assert_eq!(find("bin/sh").1, tar::EntryType::Symlink);
        assert_eq!(find("etc/passwd").2, ETC_PASSWD.as_bytes());
        let bb = std::fs::read(BUSYBOX_PATH).unwrap();
        assert_eq!(find("bin/busybox").2, bb);
    }

    #[test]
    fn applets_exist_in_installed_busybox() {
        crate::require_file(BUSYBOX_PATH, "the Debian package `busybox-static`");
        let out = Command::new(BUSYBOX_PATH).arg("--list").output().unwrap();
        let list = String::from_utf8_lossy(&out.stdout);
        let have: Vec<&str> = list.lines().collect();
        for a in BUSYBOX_APPLETS {
            assert!(have.contains(a), "busybox lacks applet {a}");
        }
    }

    #[test]
    fn multi_arch_writes_index_with_platforms() {
        crate::require_file(BUSYBOX_PATH, "the Debian package `busybox-static`");
        let d = tempfile::tempdir().unwrap();
        let built = ImageBuilder::multi_arch().build_oci_layout(d.path(), "multi");
        assert_eq!(built.media_type, media::OCI_INDEX);
        let index: Value = serde_json::from_slice(
            &std::fs::read(d.path().join("blobs/sha256").join(&built.digest[7..])).unwrap(),
        )
        .unwrap();
        let m = index["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0]["platform"],
            json!({"os": "linux", "architecture": "amd64"})
        );
        assert_eq!(
            m[1]["platform"],
            json!({"os": "linux", "architecture": "arm64", "variant": "v8"})
        );
        assert_ne!(built.configs[0].1, built.configs[1].1);
    }
}

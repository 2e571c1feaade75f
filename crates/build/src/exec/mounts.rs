//! `RUN --mount`: cache directories kept between builds, read-only binds
//! of the context or of another stage, tmpfs, and `--secret` files and
//! `--ssh` agents' sockets that never reach a layer, the history or the
//! cache key.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hoist_container::snapshot::ImageMounts;
use hoist_container::MountOption;
use hoist_image::digest::Hasher;

use super::error::{io_err, Result};
use super::inroot;
use super::mounted::Mounted;
use super::ssh_proxy::{Access, AgentProxy};
use super::stage::{from_image, step_err, BuildContext, StageState};
use crate::containerfile::{CacheSharing, Instruction, Mount, MountKind, SecretMount};

/// What a RUN's mounts need while it runs; dropped after it.
#[derive(Default)]
pub(crate) struct RunMounts<'a> {
    pub mounts: Vec<MountOption>,
    /// Environment from `type=secret,env=NAME`, and `SSH_AUTH_SOCK` for
    /// the first `type=ssh`.
    pub env: Vec<String>,
    /// What the cache key must cover: the digest of every bound source.
    pub key: Vec<String>,
    images: Vec<Mounted<'a>>,
    locks: Vec<hoist_fsutil::FileLock>,
    /// The step's own sockets to the build's SSH agents.
    proxies: Vec<AgentProxy>,
    /// Where the step's copies of its secrets are, made on first need.
    scratch: Option<tempfile::TempDir>,
}

/// Resolves the `--mount`s of a RUN.
pub(crate) fn prepare<'a>(
    ctx: &BuildContext<'_>,
    st: &StageState,
    ins: &Instruction,
    list: &[Mount],
    results: &BTreeMap<usize, String>,
    image_mounts: &'a ImageMounts,
) -> Result<RunMounts<'a>> {
    let mut out = RunMounts::default();
    let mut agents = 0;
    for m in list {
        // A secret goes to /run/secrets/ID unless it says where; an agent's
        // socket where BuildKit puts it.
        let default = match &m.kind {
            MountKind::Secret(s) => s.id.as_ref().map(|id| format!("/run/secrets/{id}")),
            MountKind::Ssh(_) => Some(format!("/run/buildkit/ssh_agent.{agents}")),
            _ => None,
        };
        let target =
            m.target.clone().or(default).ok_or_else(|| {
                step_err(ctx, ins, format!("--mount={}: needs target=PATH", m.raw))
            })?;
        let target = st.absolute(&target);
        match &m.kind {
            MountKind::Tmpfs { size } => out.mounts.push(MountOption::Tmpfs {
                destination: target,
                size: *size,
                mode: None,
                options: Vec::new(),
            }),
            MountKind::Cache(c) => {
                let id = c.id.clone().unwrap_or_else(|| target.clone());
                let base = cache_path(ctx, &id);
                // Made first: its lock file goes next to it.
                make_cache_dir(&base, c.mode, c.uid, c.gid)?;
                let locking =
                    |e: hoist_fsutil::Error| step_err(ctx, ins, format!("locking cache {id}: {e}"));
                let dir = match c.sharing {
                    CacheSharing::Shared => base,
                    CacheSharing::Locked => {
                        let lock = hoist_fsutil::FileLock::exclusive(&lock_path(&base))
                            .map_err(locking)?;
                        out.locks.push(lock);
                        base
                    }
                    CacheSharing::Private => {
                        let (dir, lock) = private_instance(&base).map_err(locking)?;
                        out.locks.push(lock);
                        dir
                    }
                };
                make_cache_dir(&dir, c.mode, c.uid, c.gid)?;
                out.mounts.push(MountOption::Bind {
                    source: dir,
                    destination: target,
                    read_only: m.readonly.unwrap_or(false),
                    options: Vec::new(),
                });
            }
            MountKind::Bind => {
                if m.readonly == Some(false) {
                    return Err(step_err(ctx, ins, format!(
                        "--mount={}: a writable bind is not supported: hoist never lets a build write into its context or another stage; use type=cache or COPY",
                        m.raw
                    )));
                }
                let (root, origin) = match &m.from {
                    None => (ctx.options.context.clone(), "the build context".to_string()),
                    Some(from) => {
                        let image = from_image(
                            ctx,
                            st,
                            ins,
                            from,
                            results,
                            "from=scratch has no files to bind",
                        )?;
                        out.key.push(image.record.id.to_string());
                        let mounted = Mounted::new(image_mounts, image)?;
                        let root = mounted.path.clone();
                        out.images.push(mounted);
                        (root, format!("stage or image {from}"))
                    }
                };
                let source = m.source.clone().unwrap_or_else(|| "/".into());
                let view = inroot::resolve(&root, &source).ok_or_else(|| {
                    step_err(
                        ctx,
                        ins,
                        format!("{source}: too many levels of symbolic links"),
                    )
                })?;
                let host = inroot::on_host(&root, &view);
                if !host.exists() {
                    return Err(step_err(
                        ctx,
                        ins,
                        format!("source={source} does not exist in {origin}"),
                    ));
                }
                if m.from.is_none() {
                    out.key.push(tree_digest(&host)?);
                }
                out.mounts.push(MountOption::Bind {
                    source: host,
                    destination: target,
                    read_only: true,
                    options: Vec::new(),
                });
            }
            MountKind::Secret(s) => {
                let id =
                    s.id.clone()
                        .unwrap_or_else(|| target.rsplit('/').next().unwrap_or("").to_string());
                let Some(src) = ctx.options.secrets.get(&id) else {
                    if s.required {
                        return Err(step_err(
                            ctx,
                            ins,
                            format!(
                            "the secret {id:?} is required: pass it with --secret id={id},src=FILE"
                        ),
                        ));
                    }
                    continue;
                };
                if let Some(var) = &s.env {
                    let value =
                        std::fs::read_to_string(src).map_err(io_err("reading", src.as_path()))?;
                    out.env
                        .push(format!("{var}={}", value.trim_end_matches('\n')));
                }
                // With env= only, the secret is not also a file.
                if s.env.is_none() || m.target.is_some() {
                    let copy = secret_copy(ctx, &mut out, src, s)?;
                    out.mounts.push(MountOption::Bind {
                        source: copy,
                        destination: target,
                        read_only: true,
                        options: Vec::new(),
                    });
                }
            }
            MountKind::Ssh(s) => {
                let id = s.id.as_deref().unwrap_or("default");
                let Some(socket) = ctx.options.ssh.socket(id) else {
                    if s.required {
                        return Err(step_err(
                            ctx,
                            ins,
                            format!("the SSH agent {id:?} is required: pass it with --ssh {id}[=SOCKET|KEY]"),
                        ));
                    }
                    continue;
                };
                if agents == 0 {
                    out.env.push(format!("SSH_AUTH_SOCK={target}"));
                }
                agents += 1;
                let access = Access {
                    uid: s.uid.unwrap_or(0),
                    gid: s.gid.unwrap_or(0),
                    mode: s.mode.unwrap_or(0o600),
                };
                let at = out.scratch_dir(ctx)?.join(format!("ssh-{agents}.sock"));
                out.proxies.push(AgentProxy::start(socket, &at, access)?);
                out.mounts.push(MountOption::Bind {
                    source: at,
                    destination: target,
                    read_only: false,
                    options: Vec::new(),
                });
            }
        }
    }
    Ok(out)
}

impl RunMounts<'_> {
    /// Binds the body of a `RUN <<EOF` heredoc that starts with `#!` as
    /// an executable file at `/dev/pipes/NAME` (where BuildKit puts it; /dev
    /// is the container's own tmpfs, so nothing reaches the layer) and
    /// returns that path, the step's command.
    pub(crate) fn script(
        &mut self,
        ctx: &BuildContext<'_>,
        name: &str,
        body: &str,
    ) -> Result<String> {
        let dir = self.scratch_dir(ctx)?;
        let file = dir.join(format!("script-{}", self.mounts.len()));
        std::fs::write(&file, body)
            .map_err(io_err("writing the heredoc script", file.as_path()))?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
            .map_err(io_err("setting the mode of", file.as_path()))?;
        let destination = format!("/dev/pipes/{name}");
        self.mounts.push(MountOption::Bind {
            source: file,
            destination: destination.clone(),
            read_only: true,
            options: Vec::new(),
        });
        Ok(destination)
    }

    /// The step's own scratch directory, made on first need; it goes when
    /// the step's mounts do.
    fn scratch_dir(&mut self, ctx: &BuildContext<'_>) -> Result<PathBuf> {
        if self.scratch.is_none() {
            self.scratch = Some(super::copy::tempfile_dir(ctx)?);
        }
        Ok(self
            .scratch
            .as_ref()
            .expect("made above")
            .path()
            .to_path_buf())
    }
}

/// A copy of the secret file `src` with the owner and mode the mount asks
/// for, BuildKit's defaults being root's and 0400: a bind of `src` itself
/// would show the step the host file's own, and a chmod of it would change
/// the host's file. The copy goes when the step's mounts do.
fn secret_copy(
    ctx: &BuildContext<'_>,
    out: &mut RunMounts<'_>,
    src: &Path,
    s: &SecretMount,
) -> Result<PathBuf> {
    let dir = out.scratch_dir(ctx)?;
    let copy = dir.join(format!("secret-{}", out.mounts.len()));
    std::fs::copy(src, &copy).map_err(io_err("copying the secret", src))?;
    std::os::unix::fs::chown(&copy, Some(s.uid.unwrap_or(0)), Some(s.gid.unwrap_or(0)))
        .map_err(io_err("setting the owner of", copy.as_path()))?;
    std::fs::set_permissions(
        &copy,
        std::fs::Permissions::from_mode(s.mode.unwrap_or(0o400)),
    )
    .map_err(io_err("setting the mode of", copy.as_path()))?;
    Ok(copy)
}

/// The host directory of cache mount `id` (shared by every build of the
/// store).
fn cache_path(ctx: &BuildContext<'_>, id: &str) -> PathBuf {
    let mut h = Hasher::sha256();
    h.update(id.as_bytes());
    ctx.builder
        .engine
        .root()
        .join("build-cache")
        .join("mounts")
        .join(h.finish().hex())
}

/// The lock file that `sharing=locked` and `sharing=private` users of a
/// cache directory hold while they run.
fn lock_path(dir: &Path) -> PathBuf {
    dir.with_extension("lock")
}

/// `sharing=private`: the cache directory itself when no other locked or
/// private user holds it, else the first free one of its private copies
/// (`<dir>-private-N`, kept for later builds as BuildKit keeps them), with
/// its lock held.
fn private_instance(base: &Path) -> hoist_fsutil::Result<(PathBuf, hoist_fsutil::FileLock)> {
    let name = base.file_name().unwrap_or_default().to_string_lossy();
    let mut n = 0;
    loop {
        let dir = match n {
            0 => base.to_path_buf(),
            n => base.with_file_name(format!("{name}-private-{n}")),
        };
        if let Some(lock) = hoist_fsutil::FileLock::try_exclusive(&lock_path(&dir))? {
            return Ok((dir, lock));
        }
        // Every copy in use belongs to a running step: there are at most
        // as many as steps run at once.
        n += 1;
    }
}

/// Makes a cache directory the first time it is used, with the mount's
/// mode and owner.
fn make_cache_dir(dir: &Path, mode: Option<u32>, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode.unwrap_or(0o755)))
            .map_err(io_err("setting the mode of", dir))?;
        std::os::unix::fs::chown(dir, Some(uid.unwrap_or(0)), Some(gid.unwrap_or(0)))
            .map_err(io_err("setting the owner of", dir))?;
    }
    Ok(())
}

/// A digest of a file tree's names, kinds, modes and contents: a bind
/// mount of changed files must not hit the cache.
fn tree_digest(path: &Path) -> Result<String> {
    let mut h = Hasher::sha256();
    feed(&mut h, path, "")?;
    Ok(h.finish().to_string())
}

fn feed(h: &mut Hasher, path: &Path, rel: &str) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(io_err("reading", path))?;
    h.update(format!("{rel}\0{:o}\0{}\n", meta.mode(), meta.len()).as_bytes());
    if meta.is_symlink() {
        let target = std::fs::read_link(path).map_err(io_err("reading", path))?;
        h.update(target.as_os_str().as_encoded_bytes());
    } else if meta.is_file() {
        let mut f = std::fs::File::open(path).map_err(io_err("reading", path))?;
        std::io::copy(&mut f, h).map_err(io_err("reading", path))?;
    } else if meta.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .map_err(io_err("listing", path))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        for n in names {
            let child = format!("{rel}/{}", n.to_string_lossy());
            feed(h, &path.join(&n), &child)?;
        }
    }
    Ok(())
}

//! `COPY` and `ADD`: sources from the build context (minus what
//! `.containerignore` excludes), another stage or an image, and inline
//! heredocs, written as one layer ([`super::layer`]). Every source path is
//! resolved inside its root, so `../x` or a symlink pointing out of the
//! context can never copy a host file into the image.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hoist_container::snapshot::ImageMounts;
use hoist_engine::PullPolicy;
use hoist_image::digest::Digest;

use super::error::{BuildError, ChecksumMismatch, Result};
use super::inroot;
use super::layer::{parent, LayerTar, Stamp, TreeSource};
use super::mounted::Mounted;
use super::output::Output;
use super::stage::{expand_err, from_image, image_named, step_err, BuildContext, StageState};
use crate::containerfile::{Copy, CopySource, Instruction};
use crate::ignore::IgnoreRules;

/// One thing to copy.
enum Item {
    /// A file, directory or symlink on the host (inside a source root),
    /// with its path relative to that root.
    Host { path: PathBuf, rel: String },
    /// `COPY <<NAME`: a file made of the heredoc's body.
    Inline { name: String, content: String },
    /// `ADD` of a git repository: the checked-out tree (or a directory
    /// of it), copied like a context directory but without its rules.
    Git(super::git::Checkout),
    /// `ADD URL`: a downloaded file (never unpacked, as in Docker).
    Download(super::download::Downloaded),
}

/// Runs one `COPY`/`ADD` step (or takes its image from the cache).
pub(crate) fn copy_step(
    ctx: &BuildContext<'_>,
    st: &mut StageState,
    ins: &Instruction,
    c: &Copy,
    is_add: bool,
    results: &BTreeMap<usize, String>,
    out: &mut Output,
) -> Result<()> {
    let ex = |w: &crate::containerfile::Word| {
        w.expand(&st.scope)
            .map_err(|source| expand_err(ctx, ins, source))
    };
    let dest_raw = ex(&c.dest)?;
    let wants_dir = dest_raw.ends_with('/') || dest_raw.ends_with("/.") || dest_raw == ".";
    let dest = st.absolute(&dest_raw);
    let mounts = ImageMounts::new(ctx.builder.engine.root());
    // The source root: the context, or a mounted stage or image.
    let from = match &c.from {
        None => None,
        Some(w) => {
            let value = ex(w)?;
            let image = from_image(
                ctx,
                st,
                ins,
                &value,
                results,
                "--from=scratch has no files to copy",
            )?;
            Some(Mounted::new(&mounts, image)?)
        }
    };
    let below = mount_below(ctx, st, &mounts)?;
    let (root, ignore): (&Path, Option<&IgnoreRules>) = match &from {
        Some(m) => (&m.path, None),
        None => (&ctx.options.context, Some(ctx.ignore)),
    };
    let empty = tempfile_dir(ctx)?;
    let checksum = wanted_checksum(ctx, st, ins, c)?;
    let exclude = exclude_rules(ctx, st, ins, c)?;
    let sources = Sources {
        root,
        ignore,
        exclude: exclude.as_ref(),
    };
    let items = collect_items(ctx, st, ins, c, is_add, &sources, empty.path())?;
    if let Some(wanted) = &checksum {
        verify_checksum(ctx, ins, &items, wanted)?;
    }
    if items.len() > 1 && !wants_dir {
        return Err(step_err(
            ctx,
            ins,
            format!("with more than one source the destination must be a directory ending in /: write {dest_raw}/"),
        ));
    }
    let below_root: &Path = below.as_ref().map_or(empty.path(), |m| m.path.as_path());
    let stamp = Stamp {
        owner: match &c.chown {
            Some(w) => Some(owner(ctx, ins, below_root, &ex(w)?)?),
            None => None,
        },
        keep_owner: from.is_some(),
        mode: match &c.chmod {
            Some(w) => Some(mode(ctx, ins, &ex(w)?)?),
            None => None,
        },
        mtime: ctx.options.timestamp.map(|t| t.max(0) as u64),
    };
    let layer_path = empty.path().join("layer.tar");
    let mut layer = LayerTar::create(&layer_path, below.as_ref().map(|m| m.path.as_path()), stamp)?;
    let dest_is_dir = wants_dir
        || items.len() > 1
        || c.parents
        || inroot::resolve(below_root, &dest)
            .is_some_and(|d| inroot::on_host(below_root, &d).is_dir());
    for item in &items {
        match item {
            Item::Inline { name, content } => {
                let to = if dest_is_dir {
                    format!("{}/{name}", dest.trim_end_matches('/'))
                } else {
                    dest.clone()
                };
                layer.add_bytes(&resolved(below_root, &to), content.as_bytes())?;
            }
            Item::Download(d) => {
                let to = if dest_is_dir {
                    format!("{}/{}", dest.trim_end_matches('/'), d.name)
                } else {
                    dest.clone()
                };
                let plain = TreeSource::default();
                layer.add_tree(&plain, &d.path, &d.name, &resolved(below_root, &to))?;
            }
            Item::Git(checkout) => {
                let plain = TreeSource::default();
                let tree = TreeSource {
                    exclude: sources.exclude,
                    ..TreeSource::default()
                };
                let to = resolved_dir(below_root, &dest);
                layer.add_dir_contents(&tree, &checkout.tree, "", &to)?;
                if let Some(git_dir) = &checkout.git_dir {
                    let git_to = format!("{}/.git", to.trim_end_matches('/'));
                    let stand_in = format!(".git at commit {}", checkout.commit);
                    layer.add_unhashed(&stand_in, |l| l.add_tree(&plain, git_dir, "", &git_to))?;
                }
            }
            Item::Host { path, rel } => {
                let tree = TreeSource {
                    ignore,
                    exclude: sources.exclude,
                    base: rel,
                };
                let is_dir = path.is_dir() && !path.is_symlink();
                let dest = if c.parents {
                    parents_dest(&dest, rel, is_dir)
                } else {
                    dest.clone()
                };
                if is_dir {
                    layer.add_dir_contents(&tree, path, rel, &resolved_dir(below_root, &dest))?;
                } else if is_add && from.is_none() && super::archive::is_tar(path) {
                    layer.add_archive(path, &resolved_dir(below_root, &dest))?;
                } else {
                    let base = rel.rsplit('/').next().unwrap_or(rel);
                    let to = if dest_is_dir {
                        format!("{}/{base}", dest.trim_end_matches('/'))
                    } else {
                        dest.clone()
                    };
                    layer.add_tree(&tree, path, rel, &resolved(below_root, &to))?;
                }
            }
        }
    }
    let digest = layer.identity();
    layer.finish()?;
    drop(from);
    drop(below);
    let created_by = super::stage::nop(ins);
    let key = st.key(&created_by).with(digest);
    st.commit(ctx, Some(&layer_path), created_by, key, out)
}

/// WORKDIR makes its directory when the image lacks it (as Docker and
/// buildah do): a layer of that one directory, so RUN and the final
/// image find it.
pub(crate) fn ensure_workdir(
    ctx: &BuildContext<'_>,
    st: &mut StageState,
    ins: &Instruction,
    out: &mut Output,
) -> Result<()> {
    let dir = super::config::str_of(&st.config, "WorkingDir")
        .unwrap_or("/")
        .to_string();
    let mounts = ImageMounts::new(ctx.builder.engine.root());
    let below = mount_below(ctx, st, &mounts)?;
    let scratch = tempfile_dir(ctx)?;
    let below_root: &Path = below.as_ref().map_or(scratch.path(), |m| m.path.as_path());
    let resolved = resolved_dir(below_root, &dir);
    if inroot::on_host(below_root, &resolved).is_dir() {
        return Ok(());
    }
    let layer_path = scratch.path().join("layer.tar");
    let stamp = Stamp {
        mtime: ctx.options.timestamp.map(|t| t.max(0) as u64),
        ..Stamp::default()
    };
    let mut layer = LayerTar::create(&layer_path, below.as_ref().map(|m| m.path.as_path()), stamp)?;
    layer.ensure_dir(&resolved)?;
    let identity = layer.identity();
    layer.finish()?;
    drop(below);
    let created_by = super::stage::nop(ins);
    // The history entry of the WORKDIR step is this layer's.
    st.pending.pop();
    let key = st.key(&created_by).with(identity);
    st.commit(ctx, Some(&layer_path), created_by, key, out)
}

/// The stage's image so far, mounted read-only (none while a scratch
/// stage has no layer yet).
fn mount_below<'a>(
    ctx: &BuildContext<'_>,
    st: &StageState,
    mounts: &'a ImageMounts,
) -> Result<Option<Mounted<'a>>> {
    match &st.image {
        Some(id) => Ok(Some(Mounted::new(
            mounts,
            image_named(ctx, id, PullPolicy::Never)?,
        )?)),
        None => Ok(None),
    }
}

/// Where a step's sources are found and which of them it leaves out.
#[derive(Clone, Copy)]
struct Sources<'a> {
    /// The build context or a mounted `--from` image.
    root: &'a Path,
    /// `.containerignore` (the context only).
    ignore: Option<&'a IgnoreRules>,
    /// `--exclude=` patterns.
    exclude: Option<&'a IgnoreRules>,
}

/// `--exclude=` patterns as rules (Go `filepath.Match` globs, `**`, as in
/// `.containerignore`); none when the step has none.
fn exclude_rules(
    ctx: &BuildContext<'_>,
    st: &StageState,
    ins: &Instruction,
    c: &Copy,
) -> Result<Option<IgnoreRules>> {
    if c.excludes.is_empty() {
        return Ok(None);
    }
    let mut lines = Vec::new();
    for w in &c.excludes {
        let pattern = w.expand(&st.scope).map_err(|e| expand_err(ctx, ins, e))?;
        // A leading `#` would make the line a comment of an ignore file.
        lines.push(match pattern.strip_prefix('#') {
            Some(rest) => format!("\\#{rest}"),
            None => pattern,
        });
    }
    IgnoreRules::parse(&lines.join("\n"))
        .map(Some)
        .map_err(|e| step_err(ctx, ins, format!("--exclude: {e}")))
}

/// With `--parents`, a source keeps its path below the root under the
/// destination: a directory's contents go to `dest/rel`, a file into
/// `dest/<rel's parent>`.
fn parents_dest(dest: &str, rel: &str, is_dir: bool) -> String {
    let keep = if is_dir {
        rel
    } else {
        rel.rsplit_once('/').map_or("", |(dir, _)| dir)
    };
    if keep.is_empty() {
        dest.to_string()
    } else {
        format!("{}/{keep}", dest.trim_end_matches('/'))
    }
}

/// `ADD --checksum=`: the URL it applies to and the digest it must have.
struct Checksum {
    url: String,
    digest: Digest,
}

/// The checksum the step asks for, checked before anything is fetched:
/// a valid digest and a single http(s) URL source, which is all BuildKit
/// and buildah verify (a local file's or a repository's would be ignored,
/// so it is refused as they refuse it).
fn wanted_checksum(
    ctx: &BuildContext<'_>,
    st: &StageState,
    ins: &Instruction,
    c: &Copy,
) -> Result<Option<Checksum>> {
    let Some(word) = &c.checksum else {
        return Ok(None);
    };
    let ex = |w: &crate::containerfile::Word| {
        w.expand(&st.scope)
            .map_err(|source| expand_err(ctx, ins, source))
    };
    let text = ex(word)?;
    let digest: Digest = text.parse().map_err(|e| {
        step_err(
            ctx,
            ins,
            format!("--checksum={text}: {e}: write sha256:<64 hex digits>"),
        )
    })?;
    let url = match c.sources.as_slice() {
        [CopySource::Path(w)] => ex(w)?,
        _ => {
            return Err(step_err(
                ctx,
                ins,
                "--checksum can be given for a single source only",
            ))
        }
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(step_err(
            ctx,
            ins,
            format!("--checksum verifies http(s) URLs only, and {url} is not one"),
        ));
    }
    Ok(Some(Checksum { url, digest }))
}

/// Fails the step unless the download has the digest `--checksum` wants.
fn verify_checksum(
    ctx: &BuildContext<'_>,
    ins: &Instruction,
    items: &[Item],
    wanted: &Checksum,
) -> Result<()> {
    for item in items {
        let Item::Download(d) = item else { continue };
        let actual = super::download::digest_of(&d.path, &wanted.digest)
            .map_err(super::error::io_err("reading", d.path.clone()))?;
        if actual != wanted.digest {
            return Err(BuildError::ChecksumMismatch(Box::new(ChecksumMismatch {
                file: ctx.options.file_name.clone(),
                line: ins.line,
                step: ins.original.clone(),
                url: wanted.url.clone(),
                expected: wanted.digest.to_string(),
                actual: actual.to_string(),
            })));
        }
    }
    Ok(())
}

/// The sources of the step, globs expanded, each resolved inside `root`;
/// ADD's URLs downloaded into `downloads`.
fn collect_items(
    ctx: &BuildContext<'_>,
    st: &StageState,
    ins: &Instruction,
    c: &Copy,
    is_add: bool,
    sources: &Sources<'_>,
    downloads: &Path,
) -> Result<Vec<Item>> {
    let Sources {
        root,
        ignore,
        exclude,
    } = *sources;
    let mut items = Vec::new();
    for source in &c.sources {
        match source {
            CopySource::Heredoc(h) => {
                let content = st
                    .scope
                    .heredoc_content(h, ctx.file.directives.escape)
                    .map_err(|e| expand_err(ctx, ins, e))?;
                items.push(Item::Inline {
                    name: h.name.clone(),
                    content,
                });
            }
            CopySource::Path(w) => {
                let pattern = w.expand(&st.scope).map_err(|e| expand_err(ctx, ins, e))?;
                if let Some(git) = is_add.then(|| super::git::parse(&pattern)).flatten() {
                    let checkout = super::git::fetch(&git, downloads, items.len(), c.keep_git_dir)
                        .map_err(|why| step_err(ctx, ins, format!("adding {pattern}: {why}")))?;
                    items.push(Item::Git(checkout));
                    continue;
                }
                if is_add && (pattern.starts_with("http://") || pattern.starts_with("https://")) {
                    let got = super::download::download(&pattern, downloads, items.len()).map_err(
                        |why| step_err(ctx, ins, format!("downloading {pattern}: {why}")),
                    )?;
                    items.push(Item::Download(got));
                    continue;
                }
                if c.parents && pattern.trim_start_matches("./").contains("/./") {
                    return Err(step_err(
                        ctx,
                        ins,
                        format!(
                            "--parents with a /./ pivot ({pattern}) is not supported by hoist yet"
                        ),
                    ));
                }
                let kept = |rules: Option<&IgnoreRules>, rel: &str| {
                    rel.is_empty() || rules.is_none_or(|r| !r.is_excluded(rel))
                };
                let found: Vec<String> = glob(root, &pattern)
                    .into_iter()
                    .filter(|rel| kept(ignore, rel) && kept(exclude, rel))
                    .collect();
                if found.is_empty() {
                    let place = if ignore.is_some() {
                        "the build context"
                    } else {
                        "the --from image"
                    };
                    return Err(step_err(ctx, ins, format!(
                        "no source file matches {pattern:?} in {place} (or .containerignore or --exclude excludes it)"
                    )));
                }
                for rel in found {
                    let Some(view) = inroot::resolve(root, &rel) else {
                        return Err(step_err(
                            ctx,
                            ins,
                            format!("{rel}: too many levels of symbolic links"),
                        ));
                    };
                    let path = inroot::on_host(root, &view);
                    if std::fs::symlink_metadata(&path).is_err() {
                        return Err(step_err(
                            ctx,
                            ins,
                            format!(
                                "{rel} resolves to {view}, which does not exist in {}",
                                if ignore.is_some() {
                                    "the build context"
                                } else {
                                    "the --from image"
                                }
                            ),
                        ));
                    }
                    items.push(Item::Host {
                        path,
                        rel: view.trim_start_matches('/').to_string(),
                    });
                }
            }
        }
    }
    Ok(items)
}

/// The paths (relative to `root`, cleaned, never above it) a source
/// pattern names: itself when it has no glob characters, else every
/// existing path it matches, sorted.
fn glob(root: &Path, pattern: &str) -> Vec<String> {
    let clean = crate::ignore::clean(&format!("/{pattern}"));
    let clean = clean.trim_start_matches('/').to_string();
    if !clean.contains(['*', '?', '[']) {
        return vec![clean];
    }
    let mut found = vec![String::new()];
    for part in clean.split('/') {
        let Ok(re) = regex::Regex::new(&crate::ignore::glob_regex(part)) else {
            return Vec::new();
        };
        let mut next = Vec::new();
        for dir in &found {
            let host = inroot::on_host(root, dir);
            if !part.contains(['*', '?', '[']) {
                let p = join(dir, part);
                if std::fs::symlink_metadata(inroot::on_host(root, &p)).is_ok() {
                    next.push(p);
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&host) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if re.is_match(&name) {
                    next.push(join(dir, &name));
                }
            }
        }
        found = next;
    }
    found.sort();
    found
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// `path` with its parent directory resolved in the image below (so
/// `/bin/x` lands in `/usr/bin/x` where `/bin` is a link).
fn resolved(below: &Path, path: &str) -> String {
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let dir = resolved_dir(below, parent(path));
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// A directory path resolved in the image below.
fn resolved_dir(below: &Path, dir: &str) -> String {
    inroot::resolve(below, dir).unwrap_or_else(|| dir.to_string())
}

/// `--chown` as numbers, names looked up in the image's own user database.
fn owner(
    ctx: &BuildContext<'_>,
    ins: &Instruction,
    rootfs: &Path,
    spec: &str,
) -> Result<(u32, u32)> {
    let u = hoist_runtime::spec::resolve_user(rootfs, spec)
        .map_err(|e| step_err(ctx, ins, format!("--chown={spec}: {e}")))?;
    Ok((u.uid, u.gid))
}

/// `--chmod` in octal.
fn mode(ctx: &BuildContext<'_>, ins: &Instruction, text: &str) -> Result<u32> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            step_err(
                ctx,
                ins,
                format!("--chmod={text}: not an octal mode such as 755 or 0644"),
            )
        })
}

/// A scratch directory in the store's own temporary space (same file
/// system as the blobs, removed when dropped).
pub(crate) fn tempfile_dir(ctx: &BuildContext<'_>) -> Result<tempfile::TempDir> {
    Ok(ctx
        .builder
        .engine
        .store()
        .temp_dir()
        .map_err(hoist_engine::EngineError::from)?)
}

#[cfg(test)]
mod tests {
    use super::parents_dest;

    #[test]
    fn parents_keep_the_source_path_under_the_destination() {
        assert_eq!(parents_dest("/p/", "a/b/one.txt", false), "/p/a/b");
        assert_eq!(parents_dest("/p", "a/c", true), "/p/a/c");
        assert_eq!(parents_dest("/p/", "top.txt", false), "/p/");
        assert_eq!(parents_dest("/p/", "", true), "/p/");
    }
}

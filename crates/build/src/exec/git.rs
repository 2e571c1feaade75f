//! `ADD` of a git repository, in the forms BuildKit takes: `git@HOST:PATH`,
//! `ssh://...`, `git://...`, and http(s) URLs whose path ends in `.git`,
//! each with an optional `#REF[:SUBDIR]`. The system's git clones it into
//! the step's scratch directory and checks out REF (a branch, a tag or a
//! commit; the remote's default branch without one); the step then copies
//! the tree (or SUBDIR of it) like a directory of the context, without
//! `.git` unless `--keep-git-dir`. Every file gets the commit's time, so
//! that the same commit gives the same layer and the cache holds. A kept
//! `.git` holds what only that clone has (its index, its logs), so the
//! step's cache key takes the commit for it instead of its bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use rustix::fs::{AtFlags, Timespec, Timestamps, CWD};

/// A git source of `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitSource {
    /// What git clones (the fragment removed).
    pub url: String,
    pub reference: Option<String>,
    pub subdir: Option<String>,
}

/// The git source `s` names, if it is one.
pub(crate) fn parse(s: &str) -> Option<GitSource> {
    let (url, fragment) = match s.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (s, None),
    };
    if !is_git_url(url) {
        return None;
    }
    let (reference, subdir) = match fragment {
        Some(f) => match f.split_once(':') {
            Some((r, d)) => (r, Some(d)),
            None => (f, None),
        },
        None => ("", None),
    };
    let non_empty = |v: &str| (!v.is_empty()).then(|| v.to_string());
    Some(GitSource {
        url: url.to_string(),
        reference: non_empty(reference),
        subdir: subdir.and_then(non_empty),
    })
}

fn is_git_url(url: &str) -> bool {
    if url.starts_with("git://") || url.starts_with("ssh://") {
        return true;
    }
    if let Some(rest) = url.strip_prefix("git@") {
        // scp-like: git@HOST:PATH
        return rest.contains(':');
    }
    (url.starts_with("http://") || url.starts_with("https://"))
        && url.trim_end_matches('/').ends_with(".git")
}

/// What a clone gives the step to copy.
#[derive(Debug)]
pub(crate) struct Checkout {
    /// The directory whose contents the step copies (without `.git`).
    pub tree: PathBuf,
    /// With `--keep-git-dir` (and no SUBDIR): the clone's `.git`, moved
    /// out of `tree`, which the step copies to `.git` below its destination.
    pub git_dir: Option<PathBuf>,
    /// The checked-out commit (full hash).
    pub commit: String,
}

/// Clones `src` into `dir` (as the step's `index`th clone) and checks
/// out what it names; the error says why.
pub(crate) fn fetch(
    src: &GitSource,
    dir: &Path,
    index: usize,
    keep_git_dir: bool,
) -> Result<Checkout, String> {
    let tree = dir.join(format!("git-{index}"));
    let mut clone = git(None);
    clone.args(["clone", "--quiet"]);
    if src.reference.is_some() {
        clone.arg("--no-checkout");
    }
    clone.arg("--").arg(&src.url).arg(&tree);
    run(clone, "git clone")?;
    if let Some(r) = &src.reference {
        let commit = resolve(&tree, r)
            .ok_or_else(|| format!("{} has no branch, tag or commit {r}", src.url))?;
        let mut checkout = git(Some(&tree));
        checkout.args(["checkout", "--quiet", "--detach", &commit, "--"]);
        run(checkout, &format!("git checkout {r}"))?;
    }
    let (commit, time) = head(&tree)?;
    stamp(&tree, time)?;
    // Out of the tree, so the tree's bytes depend on the commit alone.
    let git_dir = if keep_git_dir && src.subdir.is_none() {
        let moved = dir.join(format!("git-{index}.git"));
        std::fs::rename(tree.join(".git"), &moved).map_err(|e| e.to_string())?;
        Some(moved)
    } else {
        std::fs::remove_dir_all(tree.join(".git")).map_err(|e| e.to_string())?;
        None
    };
    let tree = match &src.subdir {
        None => tree,
        Some(sub) => {
            let view = super::inroot::resolve(&tree, sub)
                .ok_or_else(|| format!("{sub}: too many levels of symbolic links"))?;
            let path = super::inroot::on_host(&tree, &view);
            if !path.is_dir() {
                return Err(format!("{sub} is not a directory of {}", src.url));
            }
            path
        }
    };
    Ok(Checkout {
        tree,
        git_dir,
        commit,
    })
}

/// git with prompts off (a build never waits for a password) and only
/// network transports: a Containerfile is not to run programs on the
/// host through git's `ext::` or read its files through `file://`.
fn git(dir: Option<&Path>) -> Command {
    let mut c = Command::new("git");
    if let Some(d) = dir {
        c.arg("-C").arg(d);
    }
    c.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", "http:https:git:ssh")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    c
}

fn run(mut c: Command, what: &str) -> Result<(), String> {
    let out = c.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "git is not installed: install it (apt-get install git) to ADD git repositories"
                .to_string()
        } else {
            format!("running {what}: {e}")
        }
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(format!("{what} failed: {}", stderr.trim()))
}

/// The commit `reference` names in the clone at `tree`: a tag, a commit
/// or a local branch, else a branch of the remote.
fn resolve(tree: &Path, reference: &str) -> Option<String> {
    [reference.to_string(), format!("origin/{reference}")]
        .into_iter()
        .find_map(|r| {
            let out = git(Some(tree))
                .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
                .arg(format!("{r}^{{commit}}"))
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
}

/// The checked-out commit and its committer time (seconds since the
/// epoch).
fn head(tree: &Path) -> Result<(String, i64), String> {
    let out = git(Some(tree))
        .args(["log", "-1", "--format=%H %ct"])
        .output()
        .map_err(|e| format!("running git log: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .split_once(' ')
        .and_then(|(commit, time)| Some((commit.to_string(), time.parse().ok()?)))
        .ok_or_else(|| "git log gave no commit and time".to_string())
}

/// Gives every path under `root` (and `root`) the modification time `secs`,
/// symbolic links themselves rather than what they point to.
fn stamp(root: &Path, secs: i64) -> Result<(), String> {
    let at = Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: at,
        last_modification: at,
    };
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).map_err(|e| e.to_string())?;
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).map_err(|e| e.to_string())? {
                stack.push(e.map_err(|e| e.to_string())?.path());
            }
        }
        rustix::fs::utimensat(CWD, &p, &times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| format!("setting the time of {}: {e}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(url: &str, reference: Option<&str>, subdir: Option<&str>) -> GitSource {
        GitSource {
            url: url.into(),
            reference: reference.map(Into::into),
            subdir: subdir.map(Into::into),
        }
    }

    #[test]
    fn git_forms_with_their_fragments() {
        assert_eq!(
            parse("https://h/r.git#v1.2:docs"),
            Some(src("https://h/r.git", Some("v1.2"), Some("docs")))
        );
        assert_eq!(
            parse("git@github.com:o/r.git"),
            Some(src("git@github.com:o/r.git", None, None))
        );
        assert_eq!(
            parse("git://h/r#:sub"),
            Some(src("git://h/r", None, Some("sub")))
        );
        assert_eq!(
            parse("ssh://git@h/r.git#main"),
            Some(src("ssh://git@h/r.git", Some("main"), None))
        );
    }

    #[test]
    fn files_and_plain_urls_are_not_git() {
        for s in [
            "https://h/tool.tar.gz",
            "http://h/r.git.tar",
            "src/",
            "git@nohost",
            "ext::sh -c touch% /tmp/x",
            "file:///srv/r.git",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}

//! Merging the image's Entrypoint/Cmd/Env/WorkingDir with the run flags the
//! way podman does.

use oci_spec::image::Config;

use super::defaults::DEFAULT_PATH;
use super::{SpecError, SpecOptions};

/// The command line: entrypoint + command. A flag entrypoint replaces the
/// image's and drops the image's Cmd; flag args replace the image's Cmd.
pub(crate) fn args(config: Option<&Config>, opts: &SpecOptions) -> Result<Vec<String>, SpecError> {
    let image_entrypoint = config
        .and_then(|c| c.entrypoint().clone())
        .unwrap_or_default();
    let image_cmd = config.and_then(|c| c.cmd().clone()).unwrap_or_default();
    let entrypoint = opts.entrypoint.clone().unwrap_or(image_entrypoint);
    let cmd = match (&opts.args, &opts.entrypoint) {
        (Some(a), _) => a.clone(),
        (None, Some(_)) => Vec::new(),
        (None, None) => image_cmd,
    };
    let all: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if all.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(all)
}

/// The program the container's process runs (the command line's first
/// word, as given) and the `PATH` it is looked up in: what a lazy layer's
/// server fetches before the process asks. `None` without a command.
pub fn program_and_path(config: Option<&Config>, opts: &SpecOptions) -> Option<(String, String)> {
    let program = args(config, opts).ok()?.into_iter().next()?;
    let path = env(config, opts, None)
        .into_iter()
        .find_map(|e| e.strip_prefix("PATH=").map(str::to_owned))
        .unwrap_or_default();
    Some((program, path))
}

fn key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// Sets `k=v` in `env`, replacing an entry with the same key in place.
fn set(env: &mut Vec<String>, entry: String) {
    match env.iter_mut().find(|e| key(e) == key(&entry)) {
        Some(old) => *old = entry,
        None => env.push(entry),
    }
}

/// The environment, lowest precedence first: `PATH`, the engine's
/// defaults (`default_env`), the image's Env, `container=podman` (what
/// programs check to know they run in a podman-style container),
/// `TERM=xterm` with a terminal, the flags' Env; then `--unsetenv` names go
/// (with `unset_env_all` only the flags' Env is kept), and `HOME` (from
/// /etc/passwd, else `/`) and `HOSTNAME` are added unless set.
pub(crate) fn env(config: Option<&Config>, opts: &SpecOptions, home: Option<&str>) -> Vec<String> {
    let mut env = Vec::new();
    if !opts.unset_env_all {
        env.push(format!("PATH={DEFAULT_PATH}"));
        for e in &opts.default_env {
            set(&mut env, e.clone());
        }
        for e in config.and_then(|c| c.env().clone()).unwrap_or_default() {
            set(&mut env, e);
        }
        set(&mut env, "container=podman".into());
        if opts.tty {
            set(&mut env, "TERM=xterm".into());
        }
        env.retain(|e| !opts.unset_env.iter().any(|u| u == key(e)));
    }
    for e in &opts.env {
        // `KEY` alone means an empty value, as `--env KEY=` would.
        let e = if e.contains('=') {
            e.clone()
        } else {
            format!("{e}=")
        };
        set(&mut env, e);
    }
    for e in &opts.env_merge {
        let merged = expand(e, &env);
        set(&mut env, merged);
    }
    if !env.iter().any(|e| key(e) == "HOME") {
        env.push(format!("HOME={}", home.unwrap_or("/")));
    }
    if let Some(h) = &opts.hostname {
        if !env.iter().any(|e| key(e) == "HOSTNAME") {
            env.push(format!("HOSTNAME={h}"));
        }
    }
    env
}

/// `entry` with `$NAME` and `${NAME}` replaced by their values in `env`
/// (empty when unset), as `--env-merge` wants.
fn expand(entry: &str, env: &[String]) -> String {
    let value_of = |name: &str| {
        env.iter()
            .find(|e| key(e) == name)
            .and_then(|e| e.split_once('=').map(|(_, v)| v.to_string()))
            .unwrap_or_default()
    };
    let mut out = String::new();
    let mut rest = entry;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], &braced[end + 1..]),
                None => ("", after),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
        } else {
            out.push_str(&value_of(name));
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// The working directory: flag, then image, then `/`. Must be absolute.
pub(crate) fn workdir(config: Option<&Config>, opts: &SpecOptions) -> Result<String, SpecError> {
    let dir = opts
        .workdir
        .clone()
        .or_else(|| config.and_then(|c| c.working_dir().clone()))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/".into());
    if !dir.starts_with('/') {
        return Err(SpecError::BadValue {
            what: "working directory",
            value: dir,
            reason: "it must be an absolute path".into(),
        });
    }
    Ok(dir)
}

/// The user spec: flag, then image, then root.
pub(crate) fn user(config: Option<&Config>, opts: &SpecOptions) -> String {
    opts.user
        .clone()
        .or_else(|| config.and_then(|c| c.user().clone()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::ConfigBuilder;

    fn cfg() -> Config {
        ConfigBuilder::default()
            .entrypoint(vec!["/entry".to_string()])
            .cmd(vec!["arg1".to_string()])
            .env(vec![
                "PATH=/custom".to_string(),
                "A=1".to_string(),
                "HOME=/h".to_string(),
            ])
            .working_dir("/work".to_string())
            .user("www".to_string())
            .build()
            .unwrap()
    }
    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_program_is_the_first_word_with_the_path_it_is_looked_up_in() {
        let c = cfg();
        let mut o = SpecOptions::default();
        assert_eq!(
            program_and_path(Some(&c), &o),
            Some(("/entry".into(), "/custom".into()))
        );
        o.entrypoint = Some(vec![]);
        o.args = Some(v(&["python3", "-m", "http.server"]));
        o.env = v(&["PATH=/opt/bin:/usr/bin"]);
        assert_eq!(
            program_and_path(Some(&c), &o),
            Some(("python3".into(), "/opt/bin:/usr/bin".into()))
        );
        let bare = SpecOptions {
            args: Some(v(&["sh"])),
            ..SpecOptions::default()
        };
        assert_eq!(
            program_and_path(None, &bare),
            Some(("sh".into(), DEFAULT_PATH.into()))
        );
        assert_eq!(program_and_path(None, &SpecOptions::default()), None);
    }

    #[test]
    fn args_merge_like_podman() {
        let c = cfg();
        let mut o = SpecOptions::default();
        assert_eq!(args(Some(&c), &o).unwrap(), v(&["/entry", "arg1"]));
        o.args = Some(v(&["x", "y"]));
        assert_eq!(args(Some(&c), &o).unwrap(), v(&["/entry", "x", "y"]));
        o.args = None;
        o.entrypoint = Some(v(&["/other"]));
        assert_eq!(args(Some(&c), &o).unwrap(), v(&["/other"]));
        o.entrypoint = Some(vec![]);
        o.args = Some(v(&["sh"]));
        assert_eq!(args(Some(&c), &o).unwrap(), v(&["sh"]));
        assert!(matches!(
            args(None, &SpecOptions::default()),
            Err(SpecError::NoCommand)
        ));
    }

    #[test]
    fn env_merge() {
        let c = cfg();
        let o = SpecOptions {
            env: v(&["A=2", "B", "PATH=/flag"]),
            hostname: Some("box".into()),
            tty: true,
            ..Default::default()
        };
        let e = env(Some(&c), &o, Some("/home/www"));
        assert_eq!(
            e,
            v(&[
                "PATH=/flag",
                "A=2",
                "HOME=/h",
                "container=podman",
                "TERM=xterm",
                "B=",
                "HOSTNAME=box",
            ])
        );
        let e = env(None, &SpecOptions::default(), None);
        assert_eq!(
            e,
            v(&[
                &format!("PATH={DEFAULT_PATH}"),
                "container=podman",
                "HOME=/"
            ])
        );
        let e = env(None, &SpecOptions::default(), Some("/root"));
        assert!(e.contains(&"HOME=/root".to_string()));
    }

    #[test]
    fn env_merge_expands_what_is_set_so_far() {
        let o = SpecOptions {
            env_merge: v(&["PATH=/extra:${PATH}", "X=$A-$NOPE-$", "A=again$A"]),
            ..Default::default()
        };
        let e = env(Some(&cfg()), &o, None);
        assert!(e.contains(&"PATH=/extra:/custom".to_string()), "{e:?}");
        assert!(e.contains(&"X=1--$".to_string()), "{e:?}");
        assert!(e.contains(&"A=again1".to_string()), "{e:?}");
    }

    #[test]
    fn default_env_and_unsetenv() {
        let c = cfg();
        let o = SpecOptions {
            default_env: v(&["TERM=xterm", "PATH=/conf", "Z=conf"]),
            unset_env: v(&["Z", "A"]),
            env: v(&["C=3"]),
            ..Default::default()
        };
        // The image's PATH wins over the default's; unset names go.
        assert_eq!(
            env(Some(&c), &o, None),
            v(&[
                "PATH=/custom",
                "TERM=xterm",
                "HOME=/h",
                "container=podman",
                "C=3"
            ])
        );
        let o = SpecOptions {
            unset_env_all: true,
            default_env: v(&["TERM=xterm"]),
            env: v(&["TERM=abc"]),
            hostname: Some("h".into()),
            ..Default::default()
        };
        assert_eq!(
            env(Some(&c), &o, Some("/root")),
            v(&["TERM=abc", "HOME=/root", "HOSTNAME=h"])
        );
    }

    #[test]
    fn workdir_and_user() {
        let c = cfg();
        let mut o = SpecOptions::default();
        assert_eq!(workdir(Some(&c), &o).unwrap(), "/work");
        assert_eq!(workdir(None, &o).unwrap(), "/");
        o.workdir = Some("rel".into());
        assert!(workdir(Some(&c), &o).is_err());
        assert_eq!(user(Some(&c), &o), "www");
        o.user = Some("1:2".into());
        assert_eq!(user(Some(&c), &o), "1:2");
        assert_eq!(user(None, &SpecOptions::default()), "");
    }
}

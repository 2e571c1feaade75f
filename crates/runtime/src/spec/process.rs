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

/// The environment: PATH default, then the image's Env, then
/// `container=hoist`, `HOSTNAME`, `TERM=xterm` (tty), the flags' Env, and
/// `HOME` (from /etc/passwd, else `/`) unless some layer set it.
pub(crate) fn env(config: Option<&Config>, opts: &SpecOptions, home: Option<&str>) -> Vec<String> {
    let mut env = vec![format!("PATH={DEFAULT_PATH}")];
    for e in config.and_then(|c| c.env().clone()).unwrap_or_default() {
        set(&mut env, e);
    }
    set(&mut env, "container=hoist".into());
    if let Some(h) = &opts.hostname {
        set(&mut env, format!("HOSTNAME={h}"));
    }
    if opts.tty {
        set(&mut env, "TERM=xterm".into());
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
    if !env.iter().any(|e| key(e) == "HOME") {
        env.push(format!("HOME={}", home.unwrap_or("/")));
    }
    env
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
                "container=hoist",
                "HOSTNAME=box",
                "TERM=xterm",
                "B="
            ])
        );
        let e = env(None, &SpecOptions::default(), None);
        assert_eq!(
            e,
            v(&[&format!("PATH={DEFAULT_PATH}"), "container=hoist", "HOME=/"])
        );
        let e = env(None, &SpecOptions::default(), Some("/root"));
        assert!(e.contains(&"HOME=/root".to_string()));
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

//! containers.conf's `[containers]` and `[engine]` defaults applied to a
//! new container's options, as podman applies them at create time: a flag
//! given on the command line wins, containers.conf fills what was left
//! unset, and the result is kept in the container's record so later
//! starts do not depend on the files any more.

use hoist_config::ContainersConf;

use crate::error::{ContainerError, Result};

/// The binary of runtime `name` (`runc`, `crun`, or a path): the
/// `[engine.runtimes]` entries of containers.conf first, then `$PATH`.
pub fn runtime_path(conf: &ContainersConf, name: &str) -> Result<std::path::PathBuf> {
    let p = std::path::Path::new(name);
    if p.components().count() > 1 {
        return std::path::absolute(p).map_err(crate::error::io_err("resolving --runtime", p));
    }
    if let Some(found) = conf.find_runtime(name) {
        return Ok(found);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            ContainerError::Invalid(format!(
                "--runtime {name}: not in containers.conf's [engine.runtimes] nor in $PATH; give its full path"
            ))
        })
}
use crate::options::CreateOptions;

/// Fills `options` from `conf`: the default environment (`env`, with the
/// host's values for `KEY` and `PREFIX*` entries), `default_ulimits` for
/// limits not given, `devices`, `default_sysctls` (those of a namespace
/// shared with the host are skipped at start), `pids_limit`, `tz`,
/// `umask`, `init`, `init_path`, and, when a file sets them,
/// `default_capabilities`, `seccomp_profile` and the `pidns`, `ipcns` and
/// `utsns` namespaces.
///
/// `engine.runtime` is not followed: the files are podman's too, and its
/// choice of runtime binary is made for podman, while hoist's default is
/// its own in-process runtime. `--runtime NAME` looks NAME up in the
/// `runtimes` table ([`runtime_path`]).
pub fn apply_conf(options: &mut CreateOptions, conf: &ContainersConf) -> Result<()> {
    let c = conf.containers();
    // log_driver, log_size_max, and whether the driver can work here.
    options.log.apply_conf(conf)?;
    let host: Vec<(String, String)> = std::env::vars().collect();
    options.default_env = hoist_config::parse::EnvEntry::resolve(c.env(), &host)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for u in c.default_ulimits() {
        let name = u.resource.name();
        let given = options.ulimits.iter().any(|o| {
            o.split_once('=')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
        });
        if !given {
            options.ulimits.push(u.to_string());
        }
    }
    // containers.conf `devices` come first; a `--device` for the same
    // path in the container replaces one.
    let given: Vec<String> = options
        .devices
        .iter()
        .map(|d| device_destination(d).to_string())
        .collect();
    let mut devices: Vec<String> = c
        .devices()
        .iter()
        .filter(|d| !given.iter().any(|g| std::path::Path::new(g) == d.container))
        .map(|d| d.to_string())
        .collect();
    devices.append(&mut options.devices);
    options.devices = devices;
    for kv in c.default_sysctls() {
        options
            .sysctls
            .entry(kv.key.clone())
            .or_insert_with(|| kv.value.clone());
    }
    // `init = true`: every container gets an init (a flag cannot turn it
    // off, as with podman).
    options.init |= c.init();
    for (key, value, slot) in [
        ("containers.pidns", c.pidns(), &mut options.pid),
        ("containers.ipcns", c.ipcns(), &mut options.ipc),
        ("containers.utsns", c.utsns(), &mut options.uts),
        ("containers.cgroupns", c.cgroupns(), &mut options.cgroupns),
    ] {
        // The defaults (`private`; `shareable` for IPC) need no setting;
        // a `private` IPC namespace is one no other container may join.
        let default = value == "shareable" || (value == "private" && key != "containers.ipcns");
        if slot.is_none() && conf.origin(key).is_some() && !default {
            *slot = Some(value.to_string());
        }
    }
    if options.pids_limit.is_none() {
        // 0 or less in the file: no limit.
        options.pids_limit = Some(c.pids_limit()).filter(|l| *l > 0);
    }
    if options.tz.is_none() && !c.tz().is_empty() {
        options.tz = Some(c.tz().to_string());
    }
    if options.umask.is_none() && conf.origin("containers.umask").is_some() {
        options.umask = Some(c.umask().bits());
    }
    if options.init_path.is_none() {
        options.init_path = c.init_path().map(|p| p.to_path_buf());
    }
    if options.default_capabilities.is_none()
        && conf.origin("containers.default_capabilities").is_some()
    {
        options.default_capabilities = Some(c.default_capabilities());
    }
    if options.seccomp.is_none() && conf.origin("containers.seccomp_profile").is_some() {
        options.seccomp = Some(c.seccomp_profile().display().to_string());
    }
    Ok(())
}

/// Where a `--device HOST[:CONTAINER][:PERMISSIONS]` appears.
fn device_destination(spec: &str) -> &str {
    let mut parts = spec.split(':');
    let host = parts.next().unwrap_or(spec);
    match parts.next() {
        Some(p) if p.starts_with('/') => p,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> (tempfile::TempDir, ContainersConf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("containers.conf");
        std::fs::write(&p, text).unwrap();
        let c = ContainersConf::load_from(&[p]).unwrap();
        (d, c)
    }

    #[test]
    fn built_in_defaults() {
        let mut o = CreateOptions::default();
        apply_conf(&mut o, &ContainersConf::defaults()).unwrap();
        assert!(
            o.default_env.contains(&"TERM=xterm".to_string()),
            "{:?}",
            o.default_env
        );
        assert_eq!(o.pids_limit, Some(2048));
        assert_eq!((o.tz.as_deref(), o.umask), (None, None));
        assert_eq!(o.default_capabilities, None);
        assert_eq!(o.runtime, None);
    }

    #[test]
    fn files_fill_what_flags_left_unset() {
        let (_d, c) = conf(
            r#"[containers]
env = ["FOO=bar"]
default_ulimits = ["nofile=500:600", "core=0:0"]
pids_limit = 0
tz = "Europe/Berlin"
umask = "0077"
default_capabilities = ["chown"]
devices = ["/dev/null:/dev/a:r", "/dev/zero:/dev/b:rw"]
default_sysctls = ["net.ipv4.ping_group_range=0 0", "kernel.msgmax=8192"]
pidns = "host"
ipcns = "shareable"
init = true
"#,
        );
        let mut o = CreateOptions {
            ulimits: vec!["NOFILE=10:20".into()],
            tz: Some("UTC".into()),
            devices: vec!["/dev/full:/dev/b".into()],
            sysctls: [("kernel.msgmax".to_string(), "1".to_string())].into(),
            ..Default::default()
        };
        apply_conf(&mut o, &c).unwrap();
        assert_eq!(o.default_env, ["FOO=bar"]);
        assert_eq!(o.ulimits, ["NOFILE=10:20", "core=0:0"]);
        assert_eq!(o.pids_limit, None);
        assert_eq!(o.tz.as_deref(), Some("UTC"));
        assert_eq!(o.umask, Some(0o077));
        assert_eq!(o.default_capabilities, Some(vec!["CAP_CHOWN".to_string()]));
        assert_eq!(o.devices, ["/dev/null:/dev/a:r", "/dev/full:/dev/b"]);
        assert_eq!(o.sysctls["kernel.msgmax"], "1");
        assert_eq!(o.sysctls["net.ipv4.ping_group_range"], "0 0");
        assert_eq!(
            (o.pid.as_deref(), o.ipc.as_deref(), o.init),
            (Some("host"), None, true)
        );
    }

    #[test]
    fn runtimes_are_found_in_the_table_then_in_path() {
        let (_d, c) = conf("[engine.runtimes]\nmine = [\"/nonexistent/sh\", \"/bin/sh\"]\n");
        assert_eq!(
            runtime_path(&c, "mine").unwrap(),
            std::path::Path::new("/bin/sh")
        );
        assert!(runtime_path(&c, "sh").unwrap().ends_with("sh"));
        assert!(runtime_path(&c, "./x").unwrap().is_absolute());
        let err = runtime_path(&c, "surely-no-such-runtime").unwrap_err();
        assert!(err.to_string().contains("surely-no-such-runtime"), "{err}");
        // The file's default runtime does not replace hoist's own.
        let (_d, c) = conf("[engine]\nruntime = \"runc\"\n");
        let mut o = CreateOptions::default();
        apply_conf(&mut o, &c).unwrap();
        assert_eq!(o.runtime, None);
    }
}

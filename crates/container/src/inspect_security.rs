//! The parts of the `inspect` document that security tools read (udica
//! builds an SELinux policy from them): the capability sets, the devices
//! and the bind mounts' options, in podman's shape.

use serde::Serialize;

use crate::options::CreateOptions;
use crate::record::Container;

/// One `--device`, as podman shows it under `HostConfig.Devices`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectDevice {
    pub path_on_host: String,
    pub path_in_container: String,
    /// Always empty in podman 4.3 (the permissions are not read back).
    pub cgroup_permissions: String,
}

/// The effective and bounding capabilities (`CAP_` names, sorted): those
/// of the spec of the last start, else those the flags give on this host.
pub(crate) fn capabilities(c: &Container) -> (Vec<String>, Vec<String>) {
    let started = hoist_runtime::executor::read_bundle_config(&c.bundle())
        .ok()
        .and_then(|s| s.process().clone())
        .and_then(|p| p.capabilities().clone());
    if let Some(caps) = started {
        let names = |set: &Option<oci_spec::runtime::Capabilities>| {
            let mut v: Vec<String> = set.iter().flatten().map(|c| format!("CAP_{c}")).collect();
            v.sort();
            v
        };
        return (names(caps.effective()), names(caps.bounding()));
    }
    let o = &c.config.options;
    // Flags that did not resolve failed the create already; an empty set
    // is the honest answer for a record that no longer resolves.
    let bounding = hoist_runtime::spec::capability_set(o.privileged, &o.cap_add, &o.cap_drop)
        .unwrap_or_default();
    let effective = if runs_as_root(o) {
        bounding.clone()
    } else {
        // Another user gets only the capabilities added by name.
        bounding
            .iter()
            .filter(|c| {
                o.cap_add
                    .iter()
                    .flat_map(|a| a.split(','))
                    .any(|a| same_cap(a, c))
            })
            .cloned()
            .collect()
    };
    (effective, bounding)
}

fn runs_as_root(o: &CreateOptions) -> bool {
    match o.user.as_deref() {
        None | Some("") => true,
        Some(u) => matches!(u.split(':').next(), Some("root" | "0" | "")),
    }
}

/// Whether a `--cap-add` value names `full` (`CAP_X`).
fn same_cap(given: &str, full: &str) -> bool {
    let up = given.trim().to_ascii_uppercase();
    let bare = up.strip_prefix("CAP_").unwrap_or(&up);
    full.strip_prefix("CAP_") == Some(bare)
}

/// `HostConfig.Devices`: `--device HOST[:CONTAINER][:PERMISSIONS]`; none
/// when privileged (every device is there).
pub(crate) fn devices(o: &CreateOptions) -> Vec<InspectDevice> {
    if o.privileged {
        return Vec::new();
    }
    o.devices
        .iter()
        .map(|d| {
            let mut parts = d.split(':');
            let host = parts.next().unwrap_or_default().to_string();
            let inside = parts
                .next()
                .filter(|p| p.starts_with('/'))
                .map(str::to_string)
                .unwrap_or_else(|| host.clone());
            InspectDevice {
                path_on_host: host,
                path_in_container: inside,
                cgroup_permissions: String::new(),
            }
        })
        .collect()
}

/// A bind mount's `Options` as podman lists them: `rbind` (or `bind`).
pub(crate) fn bind_options(options: &[String]) -> Vec<String> {
    let kind = if options.iter().any(|o| o == "bind") {
        "bind"
    } else {
        "rbind"
    };
    vec![kind.to_string()]
}

/// A named volume's `Options` as podman lists them: `nosuid`, `nodev`
/// (the defaults, unless asked otherwise), the others given, `rbind`.
pub(crate) fn volume_options(options: &[String]) -> Vec<String> {
    let given = |o: &str| options.iter().any(|x| x == o);
    let mut out = Vec::new();
    if !given("suid") {
        out.push("nosuid".to_string());
    }
    if !given("dev") {
        out.push("nodev".to_string());
    }
    for o in options {
        let kept = !matches!(
            o.as_str(),
            "suid" | "dev" | "nosuid" | "nodev" | "ro" | "rw" | "z" | "Z" | "U" | "rbind" | "bind"
        );
        if kept && !out.contains(o) {
            out.push(o.clone());
        }
    }
    out.push("rbind".to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_take_the_host_path_when_no_container_path_is_given() {
        let o = CreateOptions {
            devices: vec!["/dev/null:/dev/mynull:rw".into(), "/dev/zero:r".into()],
            ..Default::default()
        };
        let d = devices(&o);
        assert_eq!(d[0].path_on_host, "/dev/null");
        assert_eq!(d[0].path_in_container, "/dev/mynull");
        assert_eq!(d[1].path_in_container, "/dev/zero");
        assert!(devices(&CreateOptions {
            privileged: true,
            ..o
        })
        .is_empty());
    }

    #[test]
    fn volume_options_start_from_podmans_defaults() {
        assert_eq!(volume_options(&[]), ["nosuid", "nodev", "rbind"]);
        let given = ["noexec".to_string(), "ro".to_string(), "dev".to_string()];
        assert_eq!(volume_options(&given), ["nosuid", "noexec", "rbind"]);
    }

    #[test]
    fn cap_add_names_match_in_any_spelling() {
        assert!(same_cap("net_admin", "CAP_NET_ADMIN"));
        assert!(same_cap("CAP_NET_ADMIN", "CAP_NET_ADMIN"));
        assert!(!same_cap("NET_RAW", "CAP_NET_ADMIN"));
    }
}

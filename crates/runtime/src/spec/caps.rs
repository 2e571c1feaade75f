//! Capability names, podman's default set, and `--cap-add/--cap-drop`.

use std::collections::BTreeSet;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, LinuxCapabilitiesBuilder};

use super::SpecError;

/// Every capability the kernel knows, by name without `CAP_`, at its bit.
pub(crate) const ALL: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// podman's default capabilities (containers.conf `default_capabilities`).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The canonical name (no `CAP_`, upper case) of a user-given name.
fn canonical(name: &str) -> Result<&'static str, SpecError> {
    let up = name.trim().to_ascii_uppercase();
    let bare = up.strip_prefix("CAP_").unwrap_or(&up);
    ALL.iter()
        .find(|c| **c == bare)
        .copied()
        .ok_or_else(|| SpecError::UnknownCapability(name.to_string()))
}

fn bit(name: &str) -> u32 {
    ALL.iter()
        .position(|c| *c == name)
        .expect("known capability") as u32
}

fn in_set(mask: u64, name: &str) -> bool {
    mask & (1u64 << bit(name)) != 0
}

fn is_all(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("all")
}

/// The capability set (canonical names) a container gets.
///
/// podman's rules: `--cap-drop ALL` starts from nothing, `--cap-add ALL`
/// from every capability; otherwise the default set (or every capability
/// when privileged), plus the added ones, minus the dropped ones. "Every
/// capability" means those in `bounding` (this process's bounding set),
/// since no others can be given; naming one outside it is an error.
pub(crate) fn resolve(
    privileged: bool,
    defaults: Option<&[String]>,
    add: &[String],
    drop: &[String],
    bounding: u64,
) -> Result<BTreeSet<&'static str>, SpecError> {
    // `--cap-add A,B` names two, as podman takes it.
    let (add, drop) = (&split_lists(add), &split_lists(drop));
    let available = || ALL.iter().copied().filter(|c| in_set(bounding, c));
    let add_all = add.iter().any(|c| is_all(c));
    let drop_all = drop.iter().any(|c| is_all(c));
    let adds = add
        .iter()
        .filter(|c| !is_all(c))
        .map(|c| canonical(c))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let drops = drop
        .iter()
        .filter(|c| !is_all(c))
        .map(|c| canonical(c))
        .collect::<Result<BTreeSet<_>, _>>()?;
    if let Some(both) = adds.intersection(&drops).next() {
        return Err(SpecError::CapabilityAddedAndDropped(format!("CAP_{both}")));
    }
    if let Some(missing) = adds.iter().find(|c| !in_set(bounding, c)) {
        return Err(SpecError::CapabilityNotAvailable(format!("CAP_{missing}")));
    }
    let mut set: BTreeSet<&'static str> = if add_all || (privileged && !drop_all) {
        available().collect()
    } else if drop_all {
        BTreeSet::new()
    } else if let Some(defaults) = defaults {
        // A configured set (containers.conf): names as --cap-add takes
        // them; those this process lacks are left out, as with the
        // built-in set.
        defaults
            .iter()
            .map(|c| canonical(c))
            .collect::<Result<BTreeSet<_>, _>>()?
            .into_iter()
            .filter(|c| in_set(bounding, c))
            .collect()
    } else {
        DEFAULT_CAPABILITIES
            .iter()
            .copied()
            .filter(|c| in_set(bounding, c))
            .collect()
    };
    set.extend(adds.iter().copied());
    for d in &drops {
        set.remove(d);
    }
    Ok(set)
}

fn split_lists(names: &[String]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| n.split(','))
        .filter(|n| !n.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// The capabilities (`CAP_` names, sorted) a container made with these
/// flags gets on this host: its bounding set, which is also root's
/// effective set. What `inspect` shows before the container's first start.
pub fn capability_set(
    privileged: bool,
    add: &[String],
    drop: &[String],
) -> Result<Vec<String>, SpecError> {
    let set = resolve(privileged, None, add, drop, current_bounding_set())?;
    Ok(set.into_iter().map(full_name).collect())
}

/// The capabilities of a process given every one (`exec --privileged`):
/// this host's whole bounding set as its bounding, effective and
/// permitted sets, whatever its container was given.
pub fn every_capability() -> Result<LinuxCapabilities, SpecError> {
    let bounding = current_bounding_set();
    let all: Capabilities = ALL
        .iter()
        .copied()
        .filter(|c| in_set(bounding, c))
        .map(to_oci)
        .collect();
    Ok(LinuxCapabilitiesBuilder::default()
        .bounding(all.clone())
        .effective(all.clone())
        .permitted(all)
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()?)
}

/// The OCI enum value of a canonical capability name.
pub(crate) fn to_oci(name: &str) -> Capability {
    name.parse()
        .expect("every name in ALL is an oci-spec Capability")
}

/// `CAP_NAME` as seccomp profiles spell it.
pub(crate) fn full_name(name: &str) -> String {
    format!("CAP_{name}")
}

/// The bounding set of this process, from /proc/self/status (`CapBnd`).
/// Unreadable status means a very unusual system: assume every capability.
pub(crate) fn current_bounding_set() -> u64 {
    read_status_mask("CapBnd:").unwrap_or(u64::MAX)
}

/// Whether this process has `cap` (canonical name) in its effective set.
pub(crate) fn has_effective(cap: &str) -> bool {
    read_status_mask("CapEff:").is_some_and(|m| in_set(m, cap))
}

fn read_status_mask(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    u64::from_str_radix(line[field.len()..].trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERYTHING: u64 = u64::MAX;
    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn comma_lists_name_several() {
        let got = resolve(
            false,
            None,
            &s(&["net_admin,SYS_TIME"]),
            &s(&["CHOWN,KILL"]),
            EVERYTHING,
        )
        .unwrap();
        assert!(got.contains("NET_ADMIN") && got.contains("SYS_TIME"));
        assert!(!got.contains("CHOWN") && !got.contains("KILL"));
    }

    #[test]
    fn default_set_is_podmans() {
        let got = resolve(false, None, &[], &[], EVERYTHING).unwrap();
        let want: BTreeSet<_> = DEFAULT_CAPABILITIES.iter().copied().collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 11);
        assert!(!got.contains("NET_RAW") && !got.contains("SYS_ADMIN"));
    }

    #[test]
    fn add_and_drop() {
        let got = resolve(
            false,
            None,
            &s(&["cap_net_admin"]),
            &s(&["CHOWN", "Kill"]),
            EVERYTHING,
        )
        .unwrap();
        assert!(got.contains("NET_ADMIN"));
        assert!(!got.contains("CHOWN") && !got.contains("KILL"));
        assert_eq!(got.len(), 10);
        // A configured default set replaces the built-in one.
        let got = resolve(
            false,
            Some(&s(&["chown", "CAP_KILL"])),
            &[],
            &[],
            EVERYTHING,
        )
        .unwrap();
        assert_eq!(got.into_iter().collect::<Vec<_>>(), ["CHOWN", "KILL"]);
    }

    #[test]
    fn drop_all_keeps_only_added() {
        let got = resolve(false, None, &s(&["NET_RAW"]), &s(&["ALL"]), EVERYTHING).unwrap();
        assert_eq!(got.into_iter().collect::<Vec<_>>(), vec!["NET_RAW"]);
    }

    #[test]
    fn all_respects_bounding_set() {
        // Bounding set without SYS_RESOURCE (bit 24), like this host's.
        let bounding = ((1u64 << 41) - 1) & !(1 << 24);
        let got = resolve(false, None, &s(&["all"]), &s(&["MKNOD"]), bounding).unwrap();
        assert_eq!(got.len(), ALL.len() - 2);
        assert!(!got.contains("SYS_RESOURCE") && !got.contains("MKNOD"));
        let privileged = resolve(true, None, &[], &[], bounding).unwrap();
        assert_eq!(privileged.len(), ALL.len() - 1);
        let err = resolve(false, None, &s(&["SYS_RESOURCE"]), &[], bounding).unwrap_err();
        assert!(matches!(err, SpecError::CapabilityNotAvailable(c) if c == "CAP_SYS_RESOURCE"));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            resolve(false, None, &s(&["FLY"]), &[], EVERYTHING),
            Err(SpecError::UnknownCapability(_))
        ));
        assert!(matches!(
            resolve(
                false,
                None,
                &s(&["NET_RAW"]),
                &s(&["cap_net_raw"]),
                EVERYTHING
            ),
            Err(SpecError::CapabilityAddedAndDropped(_))
        ));
    }

    #[test]
    fn every_name_maps_to_oci() {
        for c in ALL {
            let oci = to_oci(c);
            let json = serde_json::to_string(&oci).unwrap();
            assert_eq!(json, format!("\"CAP_{c}\""));
        }
    }

    #[test]
    fn reads_this_process_bounding_set() {
        // Bit 0 (CHOWN) is in any root process's bounding set.
        assert!(current_bounding_set() & 1 == 1);
    }
}

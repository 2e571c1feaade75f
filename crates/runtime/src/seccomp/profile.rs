//! The profile file format and its resolution to an OCI `LinuxSeccomp`.

use std::collections::BTreeSet;
use std::path::Path;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use serde::{Deserialize, Serialize};

use super::SeccompError;

/// A seccomp profile in the podman/docker format (OCI fields plus
/// `archMap`, `includes`, `excludes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: LinuxSeccompAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// Plain list of architectures (the OCI field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    /// Per native architecture, the architectures to add with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<ArchMap>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default)]
    pub syscalls: Vec<ProfileRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: String,
    #[serde(default)]
    pub sub_architectures: Vec<String>,
}

/// One rule: an action for some syscalls, maybe only for some arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRule {
    /// docker's old single-name form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub names: Vec<String>,
    pub action: LinuxSeccompAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ProfileArg>,
    #[serde(default, skip_serializing_if = "RuleFilter::is_empty")]
    pub includes: RuleFilter,
    #[serde(default, skip_serializing_if = "RuleFilter::is_empty")]
    pub excludes: RuleFilter,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileArg {
    pub index: usize,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: LinuxSeccompOperator,
}

/// When a rule applies: all of `caps` held, arch among `arches`, kernel at
/// least `min_kernel` (for `includes`); any of them (for `excludes`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

impl RuleFilter {
    fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// The container a profile is resolved for.
#[derive(Debug, Clone)]
pub struct Target {
    /// Capabilities as `CAP_NAME`.
    pub caps: BTreeSet<String>,
    /// Go-style architecture name (`amd64`, `arm64`, ...).
    pub arch: &'static str,
    /// The seccomp name of the native architecture (`SCMP_ARCH_X86_64`).
    pub scmp_arch: &'static str,
    /// Running kernel version (major, minor).
    pub kernel: (u32, u32),
    /// Sub-architectures (seccomp names) the running kernel serves no
    /// syscalls for: left out of the filter, see [`super::kernel_abi`].
    pub unserved_arches: Vec<&'static str>,
}

impl Target {
    /// This build's architecture and the running kernel, with `caps`.
    pub fn native(caps: BTreeSet<String>) -> Target {
        let (arch, scmp_arch) = native_arch();
        Target {
            caps,
            arch,
            scmp_arch,
            kernel: running_kernel(),
            unserved_arches: super::kernel_abi::unserved_sub_arches().to_vec(),
        }
    }
}

fn native_arch() -> (&'static str, &'static str) {
    if cfg!(target_arch = "x86_64") {
        ("amd64", "SCMP_ARCH_X86_64")
    } else if cfg!(target_arch = "aarch64") {
        ("arm64", "SCMP_ARCH_AARCH64")
    } else if cfg!(target_arch = "s390x") {
        ("s390x", "SCMP_ARCH_S390X")
    } else if cfg!(target_arch = "powerpc64") {
        ("ppc64le", "SCMP_ARCH_PPC64LE")
    } else if cfg!(target_arch = "riscv64") {
        ("riscv64", "SCMP_ARCH_RISCV64")
    } else if cfg!(target_arch = "x86") {
        ("x86", "SCMP_ARCH_X86")
    } else {
        ("arm", "SCMP_ARCH_ARM")
    }
}

fn parse_kernel(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn running_kernel() -> (u32, u32) {
    let uname = rustix::system::uname();
    parse_kernel(&uname.release().to_string_lossy()).unwrap_or((0, 0))
}

fn parse_arch(name: &str) -> Option<Arch> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

impl Profile {
    /// Parses a profile from JSON text.
    pub fn from_json(text: &[u8], origin: &Path) -> Result<Profile, SeccompError> {
        serde_json::from_slice(text).map_err(|source| SeccompError::Parse {
            path: origin.to_path_buf(),
            source,
        })
    }

    /// Loads a profile file.
    pub fn load(path: &Path) -> Result<Profile, SeccompError> {
        let text = std::fs::read(path).map_err(|source| SeccompError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Profile::from_json(&text, path)
    }

    fn applies(rule: &ProfileRule, t: &Target) -> bool {
        let inc = &rule.includes;
        let exc = &rule.excludes;
        if !inc.caps.iter().all(|c| t.caps.contains(c)) {
            return false;
        }
        if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == t.arch) {
            return false;
        }
        if let Some(min) = inc.min_kernel.as_deref().and_then(parse_kernel) {
            if t.kernel < min {
                return false;
            }
        }
        if exc.caps.iter().any(|c| t.caps.contains(c)) || exc.arches.iter().any(|a| a == t.arch) {
            return false;
        }
        if let Some(min) = exc.min_kernel.as_deref().and_then(parse_kernel) {
            if t.kernel >= min {
                return false;
            }
        }
        true
    }

    fn architectures(&self, t: &Target) -> Vec<Arch> {
        let names: Vec<&str> = if self.arch_map.is_empty() {
            self.architectures.iter().map(String::as_str).collect()
        } else {
            self.arch_map
                .iter()
                .filter(|m| m.architecture == t.scmp_arch)
                .flat_map(|m| {
                    std::iter::once(m.architecture.as_str()).chain(
                        m.sub_architectures
                            .iter()
                            .map(String::as_str)
                            .filter(|a| !t.unserved_arches.contains(a)),
                    )
                })
                .collect()
        };
        names
            .into_iter()
            .filter_map(|n| {
                let a = parse_arch(n);
                if a.is_none() {
                    tracing::warn!(
                        arch = n,
                        "seccomp profile names an unknown architecture, skipped"
                    );
                }
                a
            })
            .collect()
    }

    /// The OCI filter for one container: rules that do not apply to it are
    /// left out, the rest keep their order.
    pub fn to_oci(&self, t: &Target) -> Result<LinuxSeccomp, SeccompError> {
        let flags = self
            .flags
            .iter()
            .map(|f| {
                serde_json::from_value::<LinuxSeccompFilterFlag>(serde_json::Value::String(
                    f.clone(),
                ))
                .map_err(|_| SeccompError::Unsupported {
                    what: "flag",
                    value: f.clone(),
                    hint: "remove it from the profile",
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut syscalls = Vec::new();
        for rule in self.syscalls.iter().filter(|r| Profile::applies(r, t)) {
            let mut names = rule.names.clone();
            names.extend(rule.name.clone());
            if names.is_empty() {
                continue;
            }
            let args: Vec<LinuxSeccompArg> = rule
                .args
                .iter()
                .map(|a| {
                    let b = LinuxSeccompArgBuilder::default()
                        .index(a.index)
                        .value(a.value)
                        .op(a.op);
                    let b = if a.value_two != 0 {
                        b.value_two(a.value_two)
                    } else {
                        b
                    };
                    b.build().expect("every field of a seccomp arg is set")
                })
                .collect();
            let mut sc = LinuxSyscall::default();
            sc.set_names(names)
                .set_action(rule.action)
                .set_errno_ret(rule.errno_ret)
                .set_args((!args.is_empty()).then_some(args));
            syscalls.push(sc);
        }
        let mut out = LinuxSeccomp::default();
        out.set_default_action(self.default_action)
            .set_default_errno_ret(self.default_errno_ret)
            .set_architectures(Some(self.architectures(t)))
            .set_flags((!flags.is_empty()).then_some(flags))
            .set_syscalls(Some(syscalls));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(caps: &[&str]) -> Target {
        Target {
            caps: caps.iter().map(|c| c.to_string()).collect(),
            arch: "amd64",
            scmp_arch: "SCMP_ARCH_X86_64",
            kernel: (6, 1),
            unserved_arches: Vec::new(),
        }
    }

    const PODMAN_STYLE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
        ],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"name": "getpid", "action": "SCMP_ACT_ALLOW"},
            {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
            {"names": ["cacheflush"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
            {"names": ["newer"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "6.5"}},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
        ]
    }"#;

    fn names(s: &LinuxSeccomp) -> Vec<String> {
        s.syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .flat_map(|r| r.names().clone())
            .collect()
    }

    #[test]
    fn podman_format_resolves_per_container() {
        let p = Profile::from_json(PODMAN_STYLE.as_bytes(), Path::new("p.json")).unwrap();
        let plain = p.to_oci(&target(&["CAP_CHOWN"])).unwrap();
        assert_eq!(plain.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(plain.default_errno_ret(), Some(38));
        assert_eq!(
            plain.architectures().as_ref().unwrap(),
            &[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
        );
        assert_eq!(
            names(&plain),
            [
                "read",
                "write",
                "getpid",
                "bpf",
                "arch_prctl",
                "personality"
            ]
        );
        let bpf = &plain.syscalls().as_ref().unwrap()[2];
        assert_eq!(bpf.action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(bpf.errno_ret(), Some(1));
        let pers = plain.syscalls().as_ref().unwrap().last().unwrap();
        let arg = &pers.args().as_ref().unwrap()[0];
        assert_eq!((arg.index(), arg.value(), arg.value_two()), (0, 8, None));

        let admin = p.to_oci(&target(&["CAP_SYS_ADMIN"])).unwrap();
        let bpf = &admin.syscalls().as_ref().unwrap()[2];
        assert_eq!(bpf.action(), LinuxSeccompAction::ScmpActAllow);

        let mut new_kernel = target(&[]);
        new_kernel.kernel = (6, 18);
        assert!(names(&p.to_oci(&new_kernel).unwrap()).contains(&"newer".to_string()));
    }

    #[test]
    fn sub_architectures_the_kernel_does_not_serve_are_left_out() {
        let p = Profile::from_json(PODMAN_STYLE.as_bytes(), Path::new("p.json")).unwrap();
        let mut t = target(&[]);
        t.unserved_arches = vec!["SCMP_ARCH_X32"];
        let s = p.to_oci(&t).unwrap();
        assert_eq!(
            s.architectures().as_ref().unwrap(),
            &[Arch::ScmpArchX86_64, Arch::ScmpArchX86]
        );
        // Never the native architecture, and the rules stay as they were.
        t.unserved_arches = vec!["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"];
        let s2 = p.to_oci(&t).unwrap();
        assert_eq!(
            s2.architectures().as_ref().unwrap(),
            &[Arch::ScmpArchX86_64, Arch::ScmpArchX86]
        );
        assert_eq!(s.syscalls(), p.to_oci(&target(&[])).unwrap().syscalls());
    }

    #[test]
    fn plain_oci_object_is_a_profile() {
        let oci = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
            "flags":["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":11}]}"#;
        let p = Profile::from_json(oci.as_bytes(), Path::new("x")).unwrap();
        let s = p.to_oci(&target(&[])).unwrap();
        assert_eq!(s.architectures().as_ref().unwrap(), &[Arch::ScmpArchX86_64]);
        assert_eq!(
            s.flags().as_ref().unwrap(),
            &[LinuxSeccompFilterFlag::SeccompFilterFlagLog]
        );
        assert_eq!(names(&s), ["getcwd"]);
    }

    #[test]
    fn bad_profiles_are_reported() {
        assert!(matches!(
            Profile::from_json(b"{\"syscalls\": 3}", Path::new("bad.json")),
            Err(SeccompError::Parse { .. })
        ));
        let p = Profile::from_json(
            br#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_MAGIC"]}"#,
            Path::new("f"),
        )
        .unwrap();
        assert!(matches!(
            p.to_oci(&target(&[])),
            Err(SeccompError::Unsupported { .. })
        ));
        assert!(matches!(
            Profile::load(Path::new("/nonexistent/profile.json")),
            Err(SeccompError::Read { .. })
        ));
    }

    #[test]
    fn kernel_versions_parse() {
        assert_eq!(parse_kernel("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(parse_kernel("5.4"), Some((5, 4)));
        assert_eq!(parse_kernel("x"), None);
        assert!(running_kernel() >= (3, 0));
    }
}

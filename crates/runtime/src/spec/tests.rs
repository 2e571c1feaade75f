//! Tests of the whole spec: what a container started from it would get.

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::image::{ConfigBuilder, ImageConfiguration, ImageConfigurationBuilder};
use oci_spec::runtime::{
    Capability, LinuxNamespaceType, LinuxSeccompAction, PosixRlimitType, Spec,
};

use super::*;

fn host() -> HostFacts {
    HostFacts {
        // Every capability but SYS_RESOURCE, like the test machine.
        cap_bounding: ((1u64 << 41) - 1) & !(1 << 24),
        can_raise_rlimits: false,
        hard_limits: BTreeMap::from([("nofile".into(), 20000), ("nproc".into(), 96365)]),
        cgroup_v2: false,
    }
}

fn image() -> ImageConfiguration {
    let cfg = ConfigBuilder::default()
        .cmd(vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            "echo hi".to_string(),
        ])
        .env(vec!["FOO=bar".to_string()])
        .working_dir("/srv".to_string())
        .build()
        .unwrap();
    ImageConfigurationBuilder::default()
        .config(cfg)
        .build()
        .unwrap()
}

fn rootfs() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("etc")).unwrap();
    std::fs::write(
        d.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nweb:x:80:81::/var/www:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("etc/group"),
        "root:x:0:\nweb:x:81:\nextra:x:90:web\n",
    )
    .unwrap();
    d
}

fn build(opts: &SpecOptions) -> Spec {
    build_spec_for_host(&image(), opts, &host()).unwrap()
}

fn opts(root: &Path) -> SpecOptions {
    SpecOptions {
        rootfs: root.to_path_buf(),
        hostname: Some("c1".into()),
        cgroups_path: Some(default_cgroups_path("c1")),
        ..Default::default()
    }
}

#[test]
fn plain_run_has_podman_defaults() {
    let r = rootfs();
    let s = build(&opts(r.path()));
    assert_eq!(s.version(), OCI_VERSION);
    assert_eq!(s.hostname().as_deref(), Some("c1"));
    let root = s.root().as_ref().unwrap();
    assert_eq!(root.path(), r.path());
    assert_eq!(root.readonly(), Some(false));

    let p = s.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &["/bin/sh", "-c", "echo hi"]);
    assert_eq!(p.cwd(), Path::new("/srv"));
    let env = p.env().as_ref().unwrap();
    for want in [
        "FOO=bar",
        "container=podman",
        "HOSTNAME=c1",
        "HOME=/root",
        &format!("PATH={DEFAULT_PATH}"),
    ] {
        assert!(env.iter().any(|e| e == want), "{want} missing from {env:?}");
    }
    assert!(!env.iter().any(|e| e.starts_with("TERM=")));
    assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
    assert_eq!(p.terminal(), Some(false));
    assert_eq!(
        p.no_new_privileges(),
        None,
        "must be absent, not false (libcontainer)"
    );

    let caps = p.capabilities().as_ref().unwrap();
    let bounding = caps.bounding().as_ref().unwrap();
    assert_eq!(bounding.len(), 11);
    assert!(bounding.contains(&Capability::Chown) && bounding.contains(&Capability::SysChroot));
    assert!(!bounding.contains(&Capability::SysAdmin) && !bounding.contains(&Capability::NetRaw));
    assert_eq!(caps.effective(), caps.bounding());
    assert!(caps.inheritable().as_ref().unwrap().is_empty());

    let rl = p.rlimits().as_ref().unwrap();
    let nofile = rl
        .iter()
        .find(|l| l.typ() == PosixRlimitType::RlimitNofile)
        .unwrap();
    assert_eq!((nofile.soft(), nofile.hard()), (20000, 20000));
    let nproc = rl
        .iter()
        .find(|l| l.typ() == PosixRlimitType::RlimitNproc)
        .unwrap();
    assert_eq!(nproc.hard(), 96365);

    let linux = s.linux().as_ref().unwrap();
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new("/hoist/c1"))
    );
    let ns: Vec<_> = linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    assert_eq!(
        ns,
        [
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Mount
        ]
    );
    assert_eq!(
        linux.masked_paths().as_ref().unwrap().len(),
        MASKED_PATHS.len()
    );
    assert!(linux
        .masked_paths()
        .as_ref()
        .unwrap()
        .contains(&"/proc/kcore".to_string()));
    assert!(linux
        .readonly_paths()
        .as_ref()
        .unwrap()
        .contains(&"/proc/sys".to_string()));
    let sc = linux.seccomp().as_ref().unwrap();
    assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(sc.default_errno_ret(), Some(crate::seccomp::DEFAULT_ERRNO));

    let dests: Vec<_> = s
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().display().to_string())
        .collect();
    assert_eq!(
        dests,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys",
            "/sys/fs/cgroup"
        ]
    );

    // It serializes to a config.json runtimes read.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json["process"]["capabilities"]["bounding"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
    assert_eq!(json["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
}

#[test]
fn flags_override_image() {
    let r = rootfs();
    let o = SpecOptions {
        args: Some(vec!["id".into()]),
        env: vec!["FOO=baz".into()],
        user: Some("web".into()),
        workdir: Some("/tmp".into()),
        tty: true,
        read_only: true,
        no_new_privileges: true,
        cap_add: vec!["NET_RAW".into()],
        cap_drop: vec!["CHOWN".into()],
        memory: Some(32 << 20),
        pids_limit: Some(64),
        network: NamespaceMode::Host,
        ipc: NamespaceMode::Path("/proc/1/ns/ipc".into()),
        annotations: BTreeMap::from([("a".to_string(), "b".to_string())]),
        ..opts(r.path())
    };
    let s = build(&o);
    let p = s.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &["id"]);
    assert_eq!(p.cwd(), Path::new("/tmp"));
    let env = p.env().as_ref().unwrap();
    assert!(env.contains(&"FOO=baz".to_string()) && env.contains(&"TERM=xterm".to_string()));
    assert!(env.contains(&"HOME=/var/www".to_string()));
    assert_eq!((p.user().uid(), p.user().gid()), (80, 81));
    assert_eq!(p.user().additional_gids().as_ref().unwrap(), &[90]);
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(p.no_new_privileges(), Some(true));
    let caps = p.capabilities().as_ref().unwrap();
    let bounding = caps.bounding().as_ref().unwrap();
    assert!(bounding.contains(&Capability::NetRaw) && !bounding.contains(&Capability::Chown));
    // A non-root user gets only the explicitly added capability.
    assert_eq!(
        caps.effective()
            .as_ref()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [&Capability::NetRaw]
    );
    assert_eq!(caps.ambient(), caps.effective());

    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
    let dests: Vec<_> = s
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().display().to_string())
        .collect();
    assert!(dests.contains(&"/tmp".to_string()) && dests.contains(&"/run".to_string()));

    let linux = s.linux().as_ref().unwrap();
    let ns = linux.namespaces().as_ref().unwrap();
    assert!(!ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network));
    let ipc = ns
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::Ipc)
        .unwrap();
    assert_eq!(ipc.path().as_deref(), Some(Path::new("/proc/1/ns/ipc")));
    let res = linux.resources().as_ref().unwrap();
    assert_eq!(res.memory().as_ref().unwrap().limit(), Some(32 << 20));
    assert_eq!(res.pids().as_ref().unwrap().limit(), 64);
    assert_eq!(s.annotations().as_ref().unwrap()["a"], "b");
    // NET_RAW does not change the seccomp verdicts; SYS_ADMIN would.
    let sc = linux.seccomp().as_ref().unwrap();
    let setns_allowed = sc.syscalls().as_ref().unwrap().iter().any(|r| {
        r.action() == LinuxSeccompAction::ScmpActAllow && r.names().contains(&"setns".to_string())
    });
    assert!(!setns_allowed);
}

#[test]
fn privileged_and_seccomp_choices() {
    let r = rootfs();
    let s = build(&SpecOptions {
        privileged: true,
        ..opts(r.path())
    });
    let linux = s.linux().as_ref().unwrap();
    assert!(linux.masked_paths().is_none() && linux.readonly_paths().is_none());
    assert!(linux.seccomp().is_none());
    let bounding = s
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap()
        .bounding()
        .clone()
        .unwrap();
    assert_eq!(bounding.len(), 40);
    assert!(!bounding.contains(&Capability::SysResource));

    let s = build(&SpecOptions {
        seccomp: SeccompChoice::Unconfined,
        ..opts(r.path())
    });
    assert!(s.linux().as_ref().unwrap().seccomp().is_none());

    let admin = build(&SpecOptions {
        cap_add: vec!["SYS_ADMIN".into()],
        ..opts(r.path())
    });
    let sc = admin.linux().as_ref().unwrap().seccomp().clone().unwrap();
    assert!(sc.syscalls().as_ref().unwrap().iter().any(|r| {
        r.action() == LinuxSeccompAction::ScmpActAllow && r.names().contains(&"setns".to_string())
    }));

    let profile = r.path().join("profile.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let s = build(&SpecOptions {
        seccomp: SeccompChoice::Profile(profile),
        ..opts(r.path())
    });
    let sc = s.linux().as_ref().unwrap().seccomp().clone().unwrap();
    assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(sc.syscalls().as_ref().unwrap()[0].names(), &["mkdir"]);
}

#[test]
fn errors_surface() {
    let r = rootfs();
    let no_cmd = ImageConfiguration::default();
    assert!(matches!(
        build_spec_for_host(&no_cmd, &opts(r.path()), &host()),
        Err(SpecError::NoCommand)
    ));
    let bad_user = SpecOptions {
        user: Some("ghost".into()),
        ..opts(r.path())
    };
    assert!(matches!(
        build_spec_for_host(&image(), &bad_user, &host()),
        Err(SpecError::UnknownUser { .. })
    ));
    let bad_cap = SpecOptions {
        cap_add: vec!["SYS_RESOURCE".into()],
        ..opts(r.path())
    };
    assert!(matches!(
        build_spec_for_host(&image(), &bad_cap, &host()),
        Err(SpecError::CapabilityNotAvailable(_))
    ));
    let missing_profile = SpecOptions {
        seccomp: SeccompChoice::Profile("/nonexistent.json".into()),
        ..opts(r.path())
    };
    assert!(matches!(
        build_spec_for_host(&image(), &missing_profile, &host()),
        Err(SpecError::Seccomp(_))
    ));
}

#[test]
fn host_uts_has_no_hostname_and_v2_gets_cgroupns() {
    let r = rootfs();
    let mut h = host();
    h.cgroup_v2 = true;
    let s = build_spec_for_host(
        &image(),
        &SpecOptions {
            uts: NamespaceMode::Host,
            ..opts(r.path())
        },
        &h,
    )
    .unwrap();
    assert!(s.hostname().is_none());
    let ns = s.linux().as_ref().unwrap().namespaces().clone().unwrap();
    assert!(ns.iter().any(|n| n.typ() == LinuxNamespaceType::Cgroup));
    assert!(!ns.iter().any(|n| n.typ() == LinuxNamespaceType::Uts));
}

//! `kube generate` (also `generate kube`) as podman 4.3 has it: a Pod v1
//! (or a Deployment) for containers, with what they changed from their
//! image, and a NodePort Service with `--service`; the YAML passes the
//! Kubernetes schemas (PyPI's kubernetes-validate, offline). Needs root and
//! the test registry.

mod common;

use std::path::Path;
use std::process::Command;

use hoist_kube::KubeDocument;

const KUBE_VALIDATE: &str = "/opt/hoist-tools/bin/kubernetes-validate";

/// Checks `file` against Kubernetes 1.32's schemas, unknown fields refused.
fn validate(file: &Path) {
    assert!(
        Path::new(KUBE_VALIDATE).exists(),
        "{KUBE_VALIDATE} is missing: run scripts/install-deps.sh \
         (or /opt/hoist-tools/bin/pip install kubernetes-validate==1.37.0)"
    );
    let out = Command::new(KUBE_VALIDATE)
        .args(["--strict", "-k", "1.32.0"])
        .arg(file)
        .output()
        .expect("running kubernetes-validate");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kubernetes-validate refused {}:\n{text}\n{}",
        file.display(),
        std::fs::read_to_string(file).unwrap_or_default()
    );
    assert!(!text.contains("WARN"), "{text}");
}

fn write(h: &hoist_testenv::Hoist, name: &str, yaml: &str) -> std::path::PathBuf {
    let p = h.base_dir().join(name);
    std::fs::write(&p, yaml).unwrap();
    p
}

#[test]
fn kube_generate_describes_a_container_as_a_pod_and_service() {
    let (_reg, h, image) = common::setup_with_busybox();
    let data = h.base_dir().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let bind = format!("{}:/data:ro", data.display());
    h.run(&[
        "create",
        "--name",
        "web",
        "-p",
        "8080:80",
        "-p",
        "5353:53/udp",
        "-e",
        "FOO=bar",
        "-w",
        "/srv",
        "-u",
        "1000:100",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "CHOWN",
        "--memory",
        "64m",
        "--cpus",
        "1.5",
        "-v",
        &bind,
        "-v",
        "named:/named",
        "--read-only",
        "--restart",
        "on-failure",
        "--entrypoint",
        "/bin/sh",
        &image,
        "-c",
        "sleep 1",
    ])
    .ok();
    let yaml = h.run(&["kube", "generate", "-s", "web"]).ok().stdout;
    assert!(yaml.starts_with("# "), "a header comment first:\n{yaml}");
    validate(&write(&h, "web.yaml", &yaml));

    let docs = hoist_kube::parse(&yaml).unwrap();
    assert_eq!(docs.len(), 2, "{yaml}");
    let KubeDocument::Service(svc) = &docs[0] else {
        panic!("Service first:\n{yaml}")
    };
    assert_eq!(svc.metadata.name.as_deref(), Some("web-pod"));
    let spec = svc.spec.as_ref().unwrap();
    assert_eq!(spec.type_.as_deref(), Some("NodePort"));
    assert_eq!(spec.selector.as_ref().unwrap()["app"], "web-pod");
    let ports = spec.ports.as_ref().unwrap();
    assert_eq!(ports.len(), 2, "{yaml}");
    for p in ports {
        let node = p.node_port.unwrap();
        assert!((30000..=32767).contains(&node), "{node}");
    }
    assert!(ports
        .iter()
        .any(|p| p.port == 53 && p.protocol.as_deref() == Some("UDP")));

    let KubeDocument::Pod(pod) = &docs[1] else {
        panic!("then the Pod:\n{yaml}")
    };
    let meta = &pod.metadata;
    assert_eq!(meta.name.as_deref(), Some("web-pod"));
    assert_eq!(meta.labels.as_ref().unwrap()["app"], "web-pod");
    assert!(meta.creation_timestamp.is_some());
    let ann = meta.annotations.as_ref().unwrap();
    assert_eq!(ann["io.kubernetes.cri-o.TTY/web"], "false");
    assert_eq!(ann["io.podman.annotations.autoremove/web"], "FALSE");
    assert_eq!(ann["io.podman.annotations.privileged/web"], "FALSE");
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("OnFailure"));
    assert_eq!(spec.automount_service_account_token, Some(false));
    let c = &spec.containers[0];
    assert_eq!(c.name, "web");
    assert_eq!(c.image.as_deref(), Some(image.as_str()));
    assert_eq!(c.command.as_deref(), Some(&["/bin/sh".to_string()][..]));
    assert_eq!(
        c.args.as_deref(),
        Some(&["-c".to_string(), "sleep 1".to_string()][..])
    );
    let env = c.env.as_ref().unwrap();
    assert!(
        env.iter()
            .any(|e| e.name == "FOO" && e.value.as_deref() == Some("bar")),
        "{yaml}"
    );
    assert!(
        !env.iter().any(|e| e.name == "PATH"),
        "the image's PATH stays out:\n{yaml}"
    );
    assert_eq!(c.working_dir.as_deref(), Some("/srv"));
    let cports = c.ports.as_ref().unwrap();
    assert!(cports
        .iter()
        .any(|p| p.container_port == 80 && p.host_port == Some(8080) && p.protocol.is_none()));
    assert!(cports.iter().any(|p| p.container_port == 53
        && p.host_port == Some(5353)
        && p.protocol.as_deref() == Some("UDP")));
    let limits = c.resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert_eq!(limits["memory"].0, "64Mi");
    assert_eq!(limits["cpu"].0, "1500m");
    let sc = c.security_context.as_ref().unwrap();
    let caps = sc.capabilities.as_ref().unwrap();
    assert_eq!(
        caps.add.as_deref(),
        Some(&["CAP_NET_ADMIN".to_string()][..])
    );
    assert_eq!(caps.drop.as_deref(), Some(&["CAP_CHOWN".to_string()][..]));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!((sc.run_as_user, sc.run_as_group), (Some(1000), Some(100)));
    assert_eq!(sc.privileged, None);
    let mounts = c.volume_mounts.as_ref().unwrap();
    let vols = spec.volumes.as_ref().unwrap();
    let data_mount = mounts.iter().find(|m| m.mount_path == "/data").unwrap();
    assert_eq!(data_mount.read_only, Some(true));
    let data_vol = vols.iter().find(|v| v.name == data_mount.name).unwrap();
    let hp = data_vol.host_path.as_ref().unwrap();
    assert_eq!(
        (hp.path.as_str(), hp.type_.as_deref()),
        (data.to_str().unwrap(), Some("Directory"))
    );
    let named = mounts.iter().find(|m| m.mount_path == "/named").unwrap();
    let named_vol = vols.iter().find(|v| v.name == named.name).unwrap();
    assert_eq!(
        named_vol
            .persistent_volume_claim
            .as_ref()
            .unwrap()
            .claim_name,
        "named"
    );
}

#[test]
fn kube_generate_deployment_file_and_errors() {
    let (_reg, h, image) = common::setup_with_busybox();
    h.run(&["create", "--name", "plain", &image, "top"]).ok();
    h.run(&["create", "--name", "side", "--privileged", &image])
        .ok();

    // `generate kube` is the same command; the image's own settings stay out.
    let yaml = h.run(&["generate", "kube", "plain"]).ok().stdout;
    validate(&write(&h, "plain.yaml", &yaml));
    let docs = hoist_kube::parse(&yaml).unwrap();
    let KubeDocument::Pod(pod) = &docs[0] else {
        panic!("{yaml}")
    };
    let c = &pod.spec.as_ref().unwrap().containers[0];
    assert_eq!(
        c.command.as_deref(),
        Some(&["top".to_string()][..]),
        "{yaml}"
    );
    assert_eq!(
        (c.args.as_ref(), c.env.as_ref(), c.working_dir.as_ref()),
        (None, None, None),
        "{yaml}"
    );
    assert_eq!(
        c.security_context
            .as_ref()
            .unwrap()
            .capabilities
            .as_ref()
            .unwrap(),
        &Default::default()
    );
    assert!(!yaml.contains("status:"), "{yaml}");

    // Two containers named together: one pod after the first; a Deployment.
    let file = h.base_dir().join("deploy.yaml");
    let f = file.to_str().unwrap();
    h.run(&[
        "kube",
        "generate",
        "--type",
        "deployment",
        "--replicas",
        "3",
        "-f",
        f,
        "plain",
        "side",
    ])
    .ok();
    validate(&file);
    let docs = hoist_kube::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let KubeDocument::Deployment(d) = &docs[0] else {
        panic!("a Deployment")
    };
    assert_eq!(d.metadata.name.as_deref(), Some("plain-pod-deployment"));
    let spec = d.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(
        spec.selector.match_labels.as_ref().unwrap()["app"],
        "plain-pod"
    );
    let pod = spec.template.spec.as_ref().unwrap();
    let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["plain", "side"]);
    assert_eq!(
        pod.containers[1]
            .security_context
            .as_ref()
            .unwrap()
            .privileged,
        Some(true)
    );

    // Never overwrite a file; podman's messages for the other mistakes.
    let err = h
        .run(&["kube", "generate", "-f", f, "plain"])
        .fails_with(125);
    assert!(
        err.stderr
            .contains(&format!("Error: cannot write to {f:?}; file exists")),
        "{}",
        err.stderr
    );
    let err = h.run(&["kube", "generate", "nosuch"]).fails_with(125);
    assert!(
        err.stderr
            .contains("Error: name or ID \"nosuch\" not found"),
        "{}",
        err.stderr
    );
    let err = h
        .run(&["kube", "generate", "--type", "job", "plain"])
        .fails_with(125);
    assert!(err.stderr.contains("pod or deployment"), "{}", err.stderr);

    // A named volume is a PersistentVolumeClaim, written before the pod.
    h.run(&["volume", "create", "kv"]).ok();
    let yaml = h.run(&["kube", "generate", "kv", "plain"]).ok().stdout;
    validate(&write(&h, "kv.yaml", &yaml));
    let docs = hoist_kube::parse(&yaml).unwrap();
    let KubeDocument::PersistentVolumeClaim(pvc) = &docs[0] else {
        panic!("{yaml}")
    };
    assert_eq!(pvc.metadata.name.as_deref(), Some("kv"));
    let ann = pvc.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["volume.podman.io/driver"], "local");
    assert!(matches!(docs[1], KubeDocument::Pod(_)), "{yaml}");

    let help = h.run(&["kube", "generate", "--help"]).ok().stdout;
    assert!(
        help.contains("kube generate [options] {CONTAINER...|POD...|VOLUME...}"),
        "{help}"
    );
}

#[test]
fn kube_generate_describes_a_pod() {
    let (_reg, h, image) = common::setup_with_busybox();
    let id = h
        .run(&["pod", "create", "--name", "kp", "--publish", "9999:8888"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let err = h.run(&["kube", "generate", "kp"]).fails_with(125);
    assert!(
        err.stderr
            .contains(&format!("Error: pod {id} only has an infra container")),
        "{}",
        err.stderr
    );
    h.run(&["create", "--name", "one", "--pod", "kp", &image, "top"])
        .ok();
    h.run(&["create", "--name", "two", "--pod", "kp", &image, "bottom"])
        .ok();
    let out = h.run(&["kube", "generate", "-s", "kp"]).ok();
    // The pod's 64-character ID is cut to what an annotation may hold.
    assert!(
        out.stderr.contains("Kubernetes only allows 63 characters"),
        "{}",
        out.stderr
    );
    validate(&write(&h, "kp.yaml", &out.stdout));
    let docs = hoist_kube::parse(&out.stdout).unwrap();
    let KubeDocument::Service(svc) = &docs[0] else {
        panic!("{}", out.stdout)
    };
    assert_eq!(
        svc.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port,
        8888
    );
    let KubeDocument::Pod(pod) = &docs[1] else {
        panic!("{}", out.stdout)
    };
    assert_eq!(pod.metadata.name.as_deref(), Some("kp"));
    let ann = pod.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["io.kubernetes.cri-o.ContainerType/one"], "container");
    assert_eq!(ann["io.kubernetes.cri-o.SandboxID/two"], id[..63]);
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("kp"));
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["one", "two"], "the infra container stays out");
    // The pod's published port is the first container's.
    let p = &spec.containers[0].ports.as_ref().unwrap()[0];
    assert_eq!((p.container_port, p.host_port), (8888, Some(9999)));
    assert_eq!(spec.containers[1].ports, None);
    assert_eq!(
        spec.containers[1].command.as_deref(),
        Some(&["bottom".to_string()][..])
    );
    h.run(&["pod", "rm", "-f", "kp"]).ok();
}

/// A podman with its own store, for comparing its YAML with hoist's.
struct Podman(tempfile::TempDir);

impl Podman {
    fn new() -> Podman {
        let dir = tempfile::tempdir().unwrap();
        // runc and rlimits within the hard limits, as podman needs here.
        std::fs::write(
            dir.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\"]\n[engine]\nruntime = \"runc\"\n",
        )
        .unwrap();
        Podman(dir)
    }

    fn run(&self, args: &[&str]) -> String {
        let p = self.0.path();
        let out = Command::new("podman")
            .env("CONTAINERS_CONF", p.join("containers.conf"))
            .args(["--root", p.join("root").to_str().unwrap()])
            .args(["--runroot", p.join("run").to_str().unwrap()])
            .args(args)
            .output()
            .expect("running podman (Debian package podman)");
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run_quiet(&["rm", "-a", "-f"]);
        // The overlay driver's bind mount of `root/overlay` on itself.
        hoist_testenv::hoist::unmount_below(self.0.path());
    }
}

impl Podman {
    fn run_quiet(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        let p = self.0.path();
        Command::new("podman")
            .env("CONTAINERS_CONF", p.join("containers.conf"))
            .args(["--root", p.join("root").to_str().unwrap()])
            .args(["--runroot", p.join("run").to_str().unwrap()])
            .args(args)
            .output()
    }
}

/// The pod's one container, without what differs between engines by
/// nature (the image's address is the same registry for both).
fn only_container(yaml: &str) -> hoist_kube::k8s_openapi::api::core::v1::Container {
    let docs = hoist_kube::parse(yaml).unwrap();
    let pod = docs
        .iter()
        .find_map(|d| match d {
            KubeDocument::Pod(p) => Some(p),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Pod in\n{yaml}"));
    let mut c = pod.spec.as_ref().unwrap().containers[0].clone();
    // podman 4.3 writes `resources` only with limits; hoist always.
    if c.resources.as_ref().is_some_and(|r| r.limits.is_none()) {
        c.resources = None;
    }
    // The order of ports means nothing (hoist keeps them sorted), and
    // hoist lower-cases volume names as Kubernetes requires; podman keeps
    // the path's case, which an API server refuses.
    if let Some(ports) = c.ports.as_mut() {
        ports.sort_by_key(|p| (p.container_port, p.protocol.clone()));
    }
    for m in c.volume_mounts.iter_mut().flatten() {
        m.name = m.name.to_lowercase();
    }
    c
}

#[test]
fn kube_generate_matches_podmans_container() {
    let (reg, h, image) = common::setup_with_busybox();
    hoist_testenv::require_root_and(&["podman"]);
    let podman = Podman::new();
    podman.run(&["pull", "--tls-verify=false", &image]);
    let data = h.base_dir().join("shared-data");
    std::fs::create_dir_all(&data).unwrap();
    let bind = format!("{}:/data:ro", data.display());
    let flags = [
        "-p",
        "8080:80",
        "-p",
        "5353:53/udp",
        "-e",
        "FOO=bar",
        "-w",
        "/srv",
        "-u",
        "1000:100",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "CHOWN",
        "--memory",
        "64m",
        "--cpus",
        "1.5",
        "-v",
        &bind,
        "-v",
        "named:/named",
        "--entrypoint",
        "/bin/sh",
    ];
    let mut args = vec!["create", "--name", "same"];
    args.extend(flags);
    args.extend([image.as_str(), "-c", "sleep 1"]);
    h.run(&args).ok();
    podman.run(&args);
    let ours = only_container(&h.run(&["kube", "generate", "same"]).ok().stdout);
    let theirs = only_container(&podman.run(&["kube", "generate", "same"]));
    assert_eq!(ours, theirs);
    drop(reg);
}

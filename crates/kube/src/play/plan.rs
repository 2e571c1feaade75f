//! The documents of a YAML stream as what `kube play` will make: named
//! volumes (claims), secrets, and pods with their containers, checked
//! before anything is made.

use std::collections::BTreeMap;

use hoist_container::RestartPolicy;
use hoist_network::{PortMapping, Protocol};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, PodSpec, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::container::{self, ContainerPlan, PodContext};
use super::sources::{SecretLookup, Sources};
use super::volumes::{self, VolumePlan};
use crate::error::{KubeError, Result};
use crate::parse::KubeDocument;

/// The longest annotation value podman 4.3 accepts.
pub const ANNOTATION_MAX: usize = 63;
/// podman's annotation that keeps init containers after they ran.
const INIT_TYPE: &str = "io.podman.annotations.init.container.type";

/// A named volume from a PersistentVolumeClaim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPlan {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `volume create -o` options from podman's `volume.podman.io/*`
    /// annotations.
    pub options: BTreeMap<String, String>,
}

/// A Secret of the YAML, stored in hoist's secret store as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPlan {
    pub name: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct PodPlan {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub hostname: Option<String>,
    pub host_network: bool,
    /// Published on the pod (its infra container).
    pub ports: Vec<PortMapping>,
    pub volumes: BTreeMap<String, VolumePlan>,
    /// Run one after the other, each to a successful end, before the
    /// containers start.
    pub init_containers: Vec<ContainerPlan>,
    /// podman's init container type `always`: kept after they ran.
    pub keep_init: bool,
    pub containers: Vec<ContainerPlan>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub claims: Vec<ClaimPlan>,
    pub secrets: Vec<SecretPlan>,
    pub pods: Vec<PodPlan>,
}

/// What the command line adds to every pod.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `--annotation KEY=VALUE`.
    pub annotations: BTreeMap<String, String>,
    /// `--configmap FILE`s' ConfigMaps.
    pub configmaps: Vec<ConfigMap>,
    /// `--publish`.
    pub publish: Vec<PortMapping>,
    /// `--log-driver` / `--log-opt`.
    pub log: Option<hoist_container::logs::LogConfig>,
    /// `--seccomp-profile-root` (`None`: podman's default, the kubelet's
    /// directory).
    pub seccomp_profile_root: Option<std::path::PathBuf>,
}

/// `--annotation KEY=VALUE`, with podman's limit on the value.
pub fn parse_annotation(flag: &str) -> Result<(String, String)> {
    let (k, v) = flag
        .split_once('=')
        .ok_or_else(|| KubeError::Play(format!("annotation {flag:?} must be KEY=VALUE")))?;
    if v.len() > ANNOTATION_MAX {
        return Err(KubeError::Play(format!(
            "annotation exceeds maximum size, {ANNOTATION_MAX}, of kubernetes annotation: {v}"
        )));
    }
    Ok((k.to_string(), v.to_string()))
}

pub fn build(docs: &[KubeDocument], opts: &PlanOptions, store: &SecretLookup<'_>) -> Result<Plan> {
    if docs.is_empty() {
        return Err(KubeError::NoKinds);
    }
    let mut configmaps = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    let mut plan = Plan::default();
    for cm in opts
        .configmaps
        .iter()
        .chain(docs.iter().filter_map(|d| match d {
            KubeDocument::ConfigMap(c) => Some(c.as_ref()),
            _ => None,
        }))
    {
        configmaps.insert(object_name("ConfigMap", &cm.metadata)?, cm.clone());
    }
    for d in docs {
        match d {
            KubeDocument::Secret(s) => {
                let name = object_name("Secret", &s.metadata)?;
                plan.secrets.push(secret(&name, s)?);
                secrets.insert(name, s.as_ref().clone());
            }
            KubeDocument::PersistentVolumeClaim(c) => plan.claims.push(claim(c)?),
            _ => {}
        }
    }
    let sources = Sources {
        configmaps,
        secrets,
        store,
    };
    for d in docs {
        match d {
            KubeDocument::Pod(p) => {
                let name = object_name("Pod", &p.metadata)?;
                let spec = p.spec.as_ref().ok_or_else(|| {
                    KubeError::Play(format!("pod {name:?} has no spec: nothing to run"))
                })?;
                plan.pods
                    .push(pod(&name, &p.metadata, spec, opts, &sources)?);
            }
            KubeDocument::Deployment(dep) => {
                let name = object_name("Deployment", &dep.metadata)?;
                let spec = dep
                    .spec
                    .as_ref()
                    .ok_or_else(|| KubeError::Play(format!("deployment {name:?} has no spec")))?;
                let template = &spec.template;
                let pod_spec = template.spec.as_ref().ok_or_else(|| {
                    KubeError::Play(format!(
                        "deployment {name:?} has no spec.template.spec: nothing to run"
                    ))
                })?;
                let meta = template.metadata.clone().unwrap_or_default();
                // podman 4.3 makes every replica, as pods NAME-pod-0 ...
                let replicas = spec.replicas.unwrap_or(1).max(0);
                for i in 0..replicas {
                    let pod_name = format!("{name}-pod-{i}");
                    let mut meta = meta.clone();
                    meta.name = Some(pod_name.clone());
                    plan.pods
                        .push(pod(&pod_name, &meta, pod_spec, opts, &sources)?);
                }
            }
            _ => {}
        }
    }
    check_unique_pods(&plan)?;
    Ok(plan)
}

fn check_unique_pods(plan: &Plan) -> Result<()> {
    for (i, p) in plan.pods.iter().enumerate() {
        if plan.pods[..i].iter().any(|q| q.name == p.name) {
            return Err(KubeError::Play(format!(
                "the YAML describes pod {:?} twice: give each pod its own name",
                p.name
            )));
        }
    }
    Ok(())
}

fn object_name(kind: &str, meta: &ObjectMeta) -> Result<String> {
    match meta.name.as_deref() {
        Some(n) if !n.is_empty() => Ok(n.to_string()),
        _ => Err(KubeError::Play(format!(
            "a {kind} has no metadata.name: every object of the YAML needs a name"
        ))),
    }
}

fn secret(name: &str, s: &Secret) -> Result<SecretPlan> {
    let data = serde_json::to_vec(s).map_err(|e| KubeError::Invalid {
        what: format!("secret {name:?}"),
        message: e.to_string(),
    })?;
    Ok(SecretPlan {
        name: name.to_string(),
        data,
    })
}

/// podman's `volume.podman.io/*` annotations as volume options.
fn claim(c: &PersistentVolumeClaim) -> Result<ClaimPlan> {
    let name = object_name("PersistentVolumeClaim", &c.metadata)?;
    let mut options = BTreeMap::new();
    for (k, v) in c.metadata.annotations.iter().flatten() {
        let opt = match k.as_str() {
            "volume.podman.io/device" => "device",
            "volume.podman.io/type" => "type",
            "volume.podman.io/mount-options" => "o",
            "volume.podman.io/uid" => "uid",
            "volume.podman.io/gid" => "gid",
            "volume.podman.io/driver" if v != "local" => {
                return Err(KubeError::Play(format!(
                    "PersistentVolumeClaim {name:?}: volume driver {v:?}: hoist has only the local driver"
                )))
            }
            _ => continue,
        };
        options.insert(opt.to_string(), v.clone());
    }
    Ok(ClaimPlan {
        name,
        labels: c.metadata.labels.clone().unwrap_or_default(),
        options,
    })
}

/// The pod's annotations (its own and `--annotation`s), checked against
/// podman's limit.
fn annotations(meta: &ObjectMeta, opts: &PlanOptions) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in meta.annotations.iter().flatten() {
        if v.len() > ANNOTATION_MAX {
            return Err(KubeError::Play(format!(
                "invalid annotation {k:?}={v:?} value length exceeds Kubernetes max {ANNOTATION_MAX}"
            )));
        }
        out.insert(k.clone(), v.clone());
    }
    out.extend(opts.annotations.clone());
    Ok(out)
}

fn restart_policy(p: Option<&str>) -> Result<RestartPolicy> {
    Ok(match p {
        // Kubernetes' default.
        None | Some("") | Some("Always") => RestartPolicy::Always,
        Some("OnFailure") => RestartPolicy::OnFailure { max: 0 },
        Some("Never") => RestartPolicy::No,
        Some(other) => {
            return Err(KubeError::Play(format!(
                "restartPolicy {other:?}: use Always, OnFailure or Never"
            )))
        }
    })
}

fn pod(
    name: &str,
    meta: &ObjectMeta,
    spec: &PodSpec,
    opts: &PlanOptions,
    sources: &Sources<'_>,
) -> Result<PodPlan> {
    if spec.containers.is_empty() {
        return Err(KubeError::Play(format!(
            "pod {name:?} has no containers: add at least one to spec.containers"
        )));
    }
    let annotations = annotations(meta, opts)?;
    let volumes = volumes::plan(spec.volumes.as_deref().unwrap_or_default(), sources)?;
    let ctx = PodContext {
        pod_name: name,
        meta,
        annotations: &annotations,
        restart: restart_policy(spec.restart_policy.as_deref())?,
        security: spec.security_context.as_ref(),
        log: opts.log.as_ref(),
        volumes: &volumes,
        sources,
        seccomp_root: opts
            .seccomp_profile_root
            .as_deref()
            .unwrap_or(std::path::Path::new(super::seccomp::DEFAULT_PROFILE_ROOT)),
        level: spec
            .security_context
            .as_ref()
            .and_then(|s| s.se_linux_options.as_ref())
            .and_then(|o| o.level.as_deref()),
    };
    let containers: Vec<ContainerPlan> = spec
        .containers
        .iter()
        .map(|c| container::plan(c, &ctx))
        .collect::<Result<_>>()?;
    let mut init_containers: Vec<ContainerPlan> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| container::plan(c, &ctx))
        .collect::<Result<_>>()?;
    for c in &mut init_containers {
        // An init container runs once to its end.
        c.options.restart = RestartPolicy::No;
    }
    let mut names: Vec<&str> = Vec::new();
    for c in init_containers.iter().chain(&containers) {
        if names.contains(&c.kube_name.as_str()) {
            return Err(KubeError::Play(format!(
                "pod {name:?} has two containers named {:?}: give each its own name",
                c.kube_name
            )));
        }
        names.push(&c.kube_name);
    }
    let mut ports = Vec::new();
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
    {
        for p in c.ports.iter().flatten() {
            ports.push(port(name, p)?);
        }
    }
    ports.extend(opts.publish.iter().cloned());
    hoist_network::check_conflicts(&ports)
        .map_err(|e| KubeError::Play(format!("pod {name:?}: {e}")))?;
    Ok(PodPlan {
        name: name.to_string(),
        labels: meta.labels.clone().unwrap_or_default(),
        hostname: spec.hostname.clone().filter(|h| !h.is_empty()),
        host_network: spec.host_network == Some(true),
        ports,
        volumes,
        keep_init: annotations.get(INIT_TYPE).map(String::as_str) == Some("always"),
        init_containers,
        containers,
    })
}

/// A containerPort, published on its hostPort; without one podman 4.3
/// publishes it on the same port of the host.
fn port(pod: &str, p: &k8s_openapi::api::core::v1::ContainerPort) -> Result<PortMapping> {
    let in_range = |n: i32| u16::try_from(n).ok().filter(|n| *n != 0);
    let bad = |what: &str, n: i32| {
        KubeError::Play(format!(
            "pod {pod:?}: {what} {n} is not a port number (1 to 65535)"
        ))
    };
    let container_port =
        in_range(p.container_port).ok_or_else(|| bad("containerPort", p.container_port))?;
    let host_port = match p.host_port {
        Some(h) => in_range(h).ok_or_else(|| bad("hostPort", h))?,
        None => container_port,
    };
    let protocol: Protocol = p
        .protocol
        .as_deref()
        .unwrap_or("TCP")
        .parse()
        .map_err(|e: String| KubeError::Play(format!("pod {pod:?}: {e}")))?;
    let host_ip = p
        .host_ip
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| {
                KubeError::Play(format!("pod {pod:?}: hostIP {s:?} is not an IP address"))
            })
        })
        .transpose()?;
    Ok(PortMapping {
        host_ip,
        container_port,
        host_port,
        range: 1,
        protocol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_store(_: &str) -> Result<Option<Secret>> {
        Ok(None)
    }

    fn build_text(text: &str, opts: &PlanOptions) -> Result<Plan> {
        build(&crate::parse(text)?, opts, &no_store)
    }

    const POD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {A: from-cm, B: b}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: p}, annotations: {note: hi}}\nspec:\n  restartPolicy: OnFailure\n  containers:\n  - name: c\n    image: img\n    command: [run]\n    env:\n    - {name: A, value: own}\n    - name: C\n      valueFrom: {configMapKeyRef: {name: cm, key: B}}\n    - name: N\n      valueFrom: {fieldRef: {fieldPath: metadata.name}}\n    envFrom:\n    - configMapRef: {name: cm}\n    ports:\n    - {containerPort: 80}\n    - {containerPort: 53, hostPort: 5353, protocol: UDP}\n    resources: {limits: {memory: 1Gi, cpu: 250m}}\n    securityContext: {capabilities: {add: [net_admin]}, runAsUser: 7}\n  - name: d\n    image: img\n    args: [x, y]\n";

    #[test]
    fn a_pod_becomes_options_as_podman_makes_them() {
        let plan = build_text(POD, &PlanOptions::default()).unwrap();
        let p = &plan.pods[0];
        assert_eq!(p.name, "p");
        // Without a hostPort podman 4.3 publishes the same port.
        let ports: Vec<_> = p
            .ports
            .iter()
            .map(|m| (m.container_port, m.host_port, m.protocol))
            .collect();
        assert_eq!(ports, [(80, 80, Protocol::Tcp), (53, 5353, Protocol::Udp)]);
        let c = &p.containers[0];
        assert_eq!(c.name, "p-c");
        let o = &c.options;
        assert_eq!(o.entrypoint.as_deref(), Some(&["run".to_string()][..]));
        assert_eq!(o.command.as_deref(), Some(&[][..]));
        // env wins over envFrom; envFrom adds the rest.
        assert_eq!(o.env, ["A=own", "C=b", "N=p", "B=b"]);
        assert_eq!(o.memory, Some(1 << 30));
        assert_eq!(o.cpus, Some(0.25));
        assert_eq!(o.cap_add, ["CAP_NET_ADMIN"]);
        assert_eq!(o.user.as_deref(), Some("7"));
        assert_eq!(o.restart, RestartPolicy::OnFailure { max: 0 });
        assert_eq!(o.annotations.get("note").map(String::as_str), Some("hi"));
        assert_eq!(o.labels.get("app").map(String::as_str), Some("p"));
        let d = &p.containers[1].options;
        assert_eq!(d.entrypoint, None);
        assert_eq!(
            d.command.as_deref(),
            Some(&["x".to_string(), "y".into()][..])
        );
    }

    #[test]
    fn deployments_make_every_replica() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n  selector: {}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: s, image: img}\n";
        let plan = build_text(text, &PlanOptions::default()).unwrap();
        let names: Vec<_> = plan.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["web-pod-0", "web-pod-1", "web-pod-2"]);
        assert_eq!(plan.pods[2].containers[0].name, "web-pod-2-s");
        assert_eq!(
            plan.pods[0].containers[0].options.restart,
            RestartPolicy::Always
        );
    }

    #[test]
    fn bad_documents_are_refused_before_anything_is_made() {
        let opts = PlanOptions::default();
        let no_image =
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c}\n";
        assert!(build_text(no_image, &opts)
            .unwrap_err()
            .to_string()
            .contains("has no image"));
        let long = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, annotations: {{k: {}}}}}\nspec:\n  containers:\n  - {{name: c, image: i}}\n",
            "v".repeat(64)
        );
        let e = build_text(&long, &opts).unwrap_err().to_string();
        assert!(e.starts_with("invalid annotation \"k\"="), "{e}");
        assert!(parse_annotation(&format!("a={}", "v".repeat(64))).is_err());
        assert_eq!(
            parse_annotation("a=b=c").unwrap(),
            ("a".into(), "b=c".into())
        );
        let clash = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: i, ports: [{containerPort: 80}]}\n  - {name: d, image: i, ports: [{containerPort: 80}]}\n";
        assert!(build_text(clash, &opts).is_err());
        let twice = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: i}\n  - {name: c, image: i}\n";
        assert!(build_text(twice, &opts).is_err());
        let no_volume = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    volumeMounts: [{name: v, mountPath: /v}]\n";
        assert!(build_text(no_volume, &opts)
            .unwrap_err()
            .to_string()
            .contains("names no volume"));
        let escape = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {k: v}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: i}\n  volumes:\n  - name: v\n    configMap: {name: cm, items: [{key: k, path: ../../etc/x}]}\n";
        assert!(build_text(escape, &opts).is_err());
    }

    #[test]
    fn secrets_and_claims_are_planned() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {pw: aHVudGVy}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: v\n  annotations: {volume.podman.io/type: tmpfs, volume.podman.io/device: tmpfs}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    env:\n    - name: PW\n      valueFrom: {secretKeyRef: {name: s, key: pw}}\n";
        let plan = build_text(text, &PlanOptions::default()).unwrap();
        assert_eq!(plan.claims[0].name, "v");
        assert_eq!(
            plan.claims[0].options.get("type").map(String::as_str),
            Some("tmpfs")
        );
        assert_eq!(plan.secrets[0].name, "s");
        let stored =
            super::super::sources::secret_from_store_data("s", &plan.secrets[0].data).unwrap();
        assert_eq!(super::super::sources::secret_data(&stored)["pw"], b"hunter");
        assert_eq!(plan.pods[0].containers[0].options.env, ["PW=hunter"]);
    }
}

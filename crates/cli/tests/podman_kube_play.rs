//! `kube play` (also `play kube`) and `kube down` as podman 4.3 has them:
//! a multi-document YAML (Pod, Deployment, ConfigMap, PersistentVolumeClaim,
//! Secret, a Service that is ignored) made into running pods; `--start=false`,
//! `--replace`, standard input and URL input; the round trip through
//! `kube generate`; and bad input that leaves nothing behind. Needs root
//! and the test registry.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hoist_testenv::{free_port, wait_for_tcp, wait_until, Hoist, HttpServer};

const WAIT: Duration = Duration::from_secs(60);

fn out(h: &Hoist, args: &[&str]) -> String {
    h.run(args).ok().stdout.trim().to_string()
}

fn write(h: &Hoist, name: &str, text: &str) -> PathBuf {
    let p = h.base_dir().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn inspect(h: &Hoist, name: &str, format: &str) -> String {
    out(h, &["inspect", "--format", format, name])
}

/// Containers, pods, volumes and secrets, to compare before and after a
/// play that must leave nothing behind.
fn snapshot(h: &Hoist) -> String {
    [
        out(h, &["ps", "-a", "--format", "{{.ID}} {{.Names}}"]),
        out(h, &["pod", "ps", "--format", "{{.ID}} {{.Name}}"]),
        out(h, &["volume", "ls", "--format", "{{.Name}}"]),
        out(h, &["secret", "ls", "--format", "{{.Name}}"]),
    ]
    .join("\n--\n")
}

fn multi_doc(image: &str, port: u16, hostdir: &Path) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  GREETING: hello
  page.txt: from-configmap
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: hunter2
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: webdata
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  restartPolicy: Never
  initContainers:
  - name: seed
    image: {image}
    command: ["sh", "-c", "echo seeded > /srv/index.html"]
    volumeMounts:
    - {{name: data, mountPath: /srv}}
  containers:
  - name: server
    image: {image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/srv"]
    ports:
    - {{containerPort: 8080, hostPort: {port}}}
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef: {{name: settings, key: GREETING}}
    - name: PASSWORD
      valueFrom:
        secretKeyRef: {{name: creds, key: password}}
    envFrom:
    - configMapRef: {{name: settings}}
      prefix: CM_
    resources:
      limits: {{memory: 64Mi, cpu: 500m}}
    securityContext:
      capabilities: {{add: [NET_ADMIN], drop: [CHOWN]}}
    volumeMounts:
    - {{name: data, mountPath: /srv}}
    - {{name: conf, mountPath: /conf, readOnly: true}}
    - {{name: host, mountPath: "/host:z"}}
    - {{name: scratch, mountPath: /scratch}}
  - name: client
    image: {image}
    command: ["sleep", "1000"]
    workingDir: /tmp
    securityContext:
      runAsUser: 1000
      runAsGroup: 1000
      readOnlyRootFilesystem: true
    volumeMounts:
    - {{name: scratch, mountPath: /scratch}}
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: webdata}}
  - name: conf
    configMap: {{name: settings}}
  - name: host
    hostPath: {{path: {hostdir}, type: DirectoryOrCreate}}
  - name: scratch
    emptyDir: {{}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: workers
spec:
  replicas: 2
  selector:
    matchLabels: {{app: workers}}
  template:
    metadata:
      labels: {{app: workers}}
    spec:
      containers:
      - name: worker
        image: {image}
        command: ["top"]
"#,
        hostdir = hostdir.display()
    )
}

#[test]
fn kube_play_runs_a_multi_document_yaml_and_kube_down_removes_it() {
    let (_reg, h, img) = common::setup_with_busybox();
    let port = free_port();
    let hostdir = h.base_dir().join("hostdir/made");
    let file = write(&h, "app.yaml", &multi_doc(&img, port, &hostdir));
    let before = snapshot(&h);
    let o = h.run(&["kube", "play", file.to_str().unwrap()]).ok();

    // podman's output: the claims' volumes, then each pod and its containers.
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[..3], ["Volumes:", "webdata", "Pod:"], "{}", o.stdout);
    assert_eq!(lines[4], "Containers:", "{}", o.stdout);
    assert_eq!(o.stdout.matches("Pod:\n").count(), 3, "{}", o.stdout);
    assert_eq!(o.stdout.matches("Container:\n").count(), 2, "{}", o.stdout);
    let pods = out(&h, &["pod", "ps", "--format", "{{.Name}} {{.Status}}"]);
    let mut pods: Vec<&str> = pods.lines().collect();
    pods.sort();
    assert_eq!(
        pods,
        [
            "web Running",
            "workers-pod-0 Running",
            "workers-pod-1 Running"
        ]
    );
    assert_eq!(
        inspect(&h, "workers-pod-1-worker", "{{.State.Running}}"),
        "true"
    );
    // The init container ran first and is gone.
    h.run(&["container", "exists", "web-seed"]).fails_with(1);
    assert_eq!(
        out(
            &h,
            &["pod", "inspect", "--format", "{{.ExitPolicy}}", "web"]
        ),
        "stop"
    );

    // The published port answers from the host, with what the init
    // container wrote into the claim's volume.
    assert!(wait_for_tcp(&format!("127.0.0.1:{port}"), WAIT));
    wait_until(WAIT, "the pod's port answers", || {
        common::http_get(port, "/index.html").is_some_and(|b| b.trim() == "seeded")
    });
    // The containers reach each other on localhost.
    assert_eq!(
        out(
            &h,
            &[
                "exec",
                "web-client",
                "wget",
                "-qO-",
                "http://localhost:8080/index.html"
            ]
        ),
        "seeded"
    );
    // Environment from the ConfigMap (a key, and envFrom with a prefix)
    // and the Secret; the ConfigMap's keys as files.
    let env = out(&h, &["exec", "web-server", "env"]);
    for want in [
        "GREETING=hello",
        "PASSWORD=hunter2",
        "CM_GREETING=hello",
        "CM_page.txt=from-configmap",
    ] {
        assert!(env.lines().any(|l| l == want), "{want} not in\n{env}");
    }
    assert_eq!(
        out(&h, &["exec", "web-server", "cat", "/conf/page.txt"]),
        "from-configmap"
    );
    // The hostPath was made, labeled for containers (`:z`), and is the
    // container's /host.
    assert!(hostdir.is_dir());
    let mut label = [0u8; 128];
    let n = rustix::fs::lgetxattr(&hostdir, "security.selinux", &mut label).unwrap();
    assert_eq!(&label[..n], b"system_u:object_r:container_file_t:s0\0");
    h.run(&["exec", "web-server", "touch", "/host/from-container"])
        .ok();
    assert!(hostdir.join("from-container").exists());
    // The emptyDir is shared by the pod's containers.
    h.run(&["exec", "web-server", "sh", "-c", "echo shared > /scratch/f"])
        .ok();
    assert_eq!(
        out(&h, &["exec", "web-client", "cat", "/scratch/f"]),
        "shared"
    );
    // Limits, security settings, user, working directory, restart policy.
    assert_eq!(
        inspect(
            &h,
            "web-server",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CapAdd}} {{.HostConfig.CapDrop}} {{.HostConfig.RestartPolicy.Name}} {{.Config.Labels.app}}"
        ),
        "67108864 500000000 [CAP_NET_ADMIN] [CAP_CHOWN] no web"
    );
    assert_eq!(
        out(&h, &["exec", "web-client", "sh", "-c", "id -u; id -g; pwd"]),
        "1000\n1000\n/tmp"
    );
    h.run(&["exec", "web-client", "touch", "/etc/x"])
        .fails_with(1);
    // One pod: one host name, the pod's.
    assert_eq!(out(&h, &["exec", "web-client", "hostname"]), "web");

    let o = h.run(&["kube", "down", file.to_str().unwrap()]).ok();
    assert!(o.stdout.starts_with("Pods stopped:\n"), "{}", o.stdout);
    assert_eq!(o.stdout.matches('\n').count(), 8, "{}", o.stdout);
    assert_eq!(out(&h, &["pod", "ps", "-q"]), "");
    assert_eq!(out(&h, &["ps", "-aq"]), "");
    // The claim's volume, the volume podman makes of a mounted ConfigMap,
    // and the secret stay (as podman leaves them); the
    // pod's emptyDir went with it.
    assert_eq!(
        out(&h, &["volume", "ls", "--format", "{{.Name}}"]),
        "settings\nwebdata"
    );
    assert_eq!(out(&h, &["secret", "ls", "--format", "{{.Name}}"]), "creds");
    h.run(&["volume", "rm", "webdata", "settings"]).ok();
    h.run(&["secret", "rm", "creds"]).ok();
    assert_eq!(snapshot(&h), before);
}

fn two_containers(image: &str, port: u16) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: duo
spec:
  hostname: duohost
  containers:
  - name: a
    image: {image}
    command: ["httpd", "-f", "-p", "8080"]
    args: ["-h", "/tmp"]
    env:
    - {{name: MODE, value: test}}
    ports:
    - {{containerPort: 8080, hostPort: {port}}}
    resources:
      limits: {{memory: 32Mi}}
    securityContext:
      capabilities: {{drop: [CHOWN]}}
      readOnlyRootFilesystem: true
    volumeMounts:
    - {{name: scratch, mountPath: /scratch}}
  - name: b
    image: {image}
    command: ["top"]
    workingDir: /etc
    securityContext:
      privileged: true
      runAsUser: 1000
    volumeMounts:
    - {{name: scratch, mountPath: /scratch}}
  volumes:
  - name: scratch
    emptyDir: {{}}
"#
    )
}

/// What a round trip must keep of a container.
const SAME: &str = "{{.Config.Image}}|{{.Config.Entrypoint}}|{{.Config.Cmd}}|{{.Config.Env}}|{{.Config.WorkingDir}}|{{.Config.User}}|{{.HostConfig.Memory}}|{{.HostConfig.CapAdd}}|{{.HostConfig.CapDrop}}|{{.HostConfig.Privileged}}|{{.HostConfig.ReadonlyRootfs}}|{{.HostConfig.RestartPolicy.Name}}|{{range .Mounts}}{{.Type}}:{{.Destination}}:{{.RW}} {{end}}";

#[test]
fn kube_play_start_false_replace_and_the_generate_round_trip() {
    let (_reg, h, img) = common::setup_with_busybox();
    let port = free_port();
    let yaml = two_containers(&img, port);
    // Standard input, and podman's older spelling.
    let o = h.run_stdin(&["play", "kube", "--start=false", "-"], yaml.as_bytes());
    assert!(o.success(), "{o:?}");
    let first_pod = o.stdout.lines().nth(1).unwrap().to_string();
    assert_eq!(
        out(
            &h,
            &[
                "ps",
                "-a",
                "--format",
                "{{.Names}} {{.Status}}",
                "--filter",
                "pod=duo"
            ]
        )
        .lines()
        .filter(|l| l.ends_with("Created"))
        .count(),
        3
    );
    // An existing pod without --replace is podman's error.
    let file = write(&h, "duo.yaml", &yaml);
    let e = h
        .run(&["kube", "play", file.to_str().unwrap()])
        .fails_with(125);
    assert_eq!(
        common::error_line(&e.stderr),
        "Error: adding pod to state: name \"duo\" is in use: pod already exists"
    );
    let o = h
        .run(&["kube", "play", "--replace", file.to_str().unwrap()])
        .ok();
    assert!(
        o.stdout.starts_with(&format!(
            "Pods stopped:\n{first_pod}\nPods removed:\n{first_pod}\nPod:\n"
        )),
        "{}",
        o.stdout
    );
    assert_ne!(
        out(&h, &["pod", "inspect", "--format", "{{.Id}}", "duo"]),
        first_pod
    );
    wait_until(WAIT, "the pod's port answers", || {
        common::http_get(port, "/").is_some()
    });
    assert_eq!(out(&h, &["exec", "duo-b", "hostname"]), "duohost");
    let before: Vec<String> = ["duo-a", "duo-b"]
        .iter()
        .map(|c| inspect(&h, c, SAME))
        .collect();

    // kube generate of the played pod, played again, makes the same pod.
    let generated = out(&h, &["kube", "generate", "duo"]);
    let gen_file = write(&h, "generated.yaml", &generated);
    h.run(&["kube", "down", file.to_str().unwrap()]).ok();
    h.run(&["kube", "play", gen_file.to_str().unwrap()]).ok();
    let after: Vec<String> = ["duo-a", "duo-b"]
        .iter()
        .map(|c| inspect(&h, c, SAME))
        .collect();
    assert_eq!(before, after, "generated YAML:\n{generated}");
    // The pod's emptyDir is still one volume of the pod's own.
    h.run(&["exec", "duo-b", "sh", "-c", "echo x > /scratch/f"])
        .ok();
    assert_eq!(out(&h, &["exec", "duo-a", "cat", "/scratch/f"]), "x");
    wait_until(WAIT, "the replayed pod's port answers", || {
        common::http_get(port, "/").is_some()
    });
    assert_eq!(out(&h, &["exec", "duo-b", "hostname"]), "duohost");
    h.run(&["kube", "down", gen_file.to_str().unwrap()]).ok();
    // Nothing of it is left to take down.
    let e = h
        .run(&["kube", "down", gen_file.to_str().unwrap()])
        .fails_with(125);
    assert_eq!(
        common::error_line(&e.stderr),
        "Error: no pod with name or ID duo found: no such pod"
    );
}

/// A host process serving `dir` over HTTP (busybox's httpd), killed on drop.
#[test]
fn kube_play_reads_a_url_and_bad_input_leaves_nothing_behind() {
    let (_reg, h, img) = common::setup_with_busybox();
    // A URL: the YAML from an HTTP server on the host.
    let site = h.base_dir().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        site.join("pod.yaml"),
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: fromurl}}\nspec:\n  containers:\n  - name: c\n    image: {img}\n    command: [top]\n"
        ),
    )
    .unwrap();
    let server = HttpServer::serve(&site);
    let url = server.url("pod.yaml");
    h.run(&["kube", "play", &url]).ok();
    assert_eq!(inspect(&h, "fromurl-c", "{{.State.Running}}"), "true");
    h.run(&["kube", "down", &url]).ok();
    h.run(&["kube", "play", &server.url("nope.yaml")])
        .fails_with(125);
    drop(server);

    // A pod that holds a host port, for the clash below.
    let port = free_port();
    let holder = write(
        &h,
        "holder.yaml",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: holder}}\nspec:\n  containers:\n  - name: c\n    image: {img}\n    command: [top]\n    ports:\n    - {{containerPort: 80, hostPort: {port}}}\n"
        ),
    );
    h.run(&["kube", "play", holder.to_str().unwrap()]).ok();
    let before = snapshot(&h);
    let made_dir = h.base_dir().join("made-by-play");
    let good_pod = format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: claim1}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: sec1}}\nstringData: {{k: v}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: first}}\nspec:\n  containers:\n  - name: c\n    image: {img}\n    command: [top]\n    volumeMounts:\n    - {{name: d, mountPath: /d}}\n    - {{name: h, mountPath: /h}}\n    - {{name: e, mountPath: /e}}\n  volumes:\n  - {{name: d, persistentVolumeClaim: {{claimName: claim1}}}}\n  - {{name: h, hostPath: {{path: {}, type: DirectoryOrCreate}}}}\n  - {{name: e, emptyDir: {{}}}}\n",
        made_dir.display()
    );
    let clash = format!(
        "{good_pod}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: second}}\nspec:\n  containers:\n  - name: c\n    image: {img}\n    command: [top]\n    ports:\n    - {{containerPort: 80, hostPort: {port}}}\n"
    );
    let long = "x".repeat(64);
    let cases: Vec<(&str, String, &str)> = vec![
        ("invalid YAML", "apiVersion: v1\nkind: Pod\nmetadata: [\n".into(), "invalid YAML"),
        (
            "unknown kind",
            "apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n".into(),
            "YAML document does not contain any supported kube kind",
        ),
        (
            "no image",
            format!("{good_pod}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: x}}\nspec:\n  containers:\n  - name: c\n"),
            "has no image",
        ),
        (
            "missing image",
            format!("{good_pod}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: x}}\nspec:\n  containers:\n  - name: c\n    image: localhost/no-such-image:1\n    imagePullPolicy: Never\n"),
            "no-such-image",
        ),
        ("port clash", clash, "address already in use"),
        (
            "existing name",
            format!("{good_pod}---\n{}", std::fs::read_to_string(&holder).unwrap()),
            "name \"holder\" is in use",
        ),
        (
            "missing ConfigMap",
            format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: x}}\nspec:\n  containers:\n  - name: c\n    image: {img}\n    envFrom:\n    - configMapRef: {{name: nowhere}}\n"),
            "ConfigMap \"nowhere\" not found",
        ),
        (
            "annotation too long",
            format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  annotations: {{test: {long}}}\nspec:\n  containers:\n  - name: c\n    image: {img}\n"),
            "invalid annotation \"test\"",
        ),
    ];
    for (what, yaml, message) in cases {
        let f = write(&h, "bad.yaml", &yaml);
        let e = h
            .run(&["kube", "play", f.to_str().unwrap()])
            .fails_with(125);
        assert!(
            common::error_line(&e.stderr).contains(message),
            "{what}: {}",
            e.stderr
        );
        assert_eq!(snapshot(&h), before, "{what} left something behind");
        assert!(!made_dir.exists(), "{what} left the hostPath directory");
    }
    // The same YAML without the clash plays.
    let good = write(&h, "good.yaml", &good_pod);
    h.run(&["kube", "play", good.to_str().unwrap()]).ok();
    assert!(made_dir.is_dir());
    let e = h
        .run(&[
            "kube",
            "play",
            "--annotation",
            &format!("a={long}"),
            good.to_str().unwrap(),
        ])
        .fails_with(125);
    assert!(
        e.stderr.contains("annotation exceeds maximum size, 63"),
        "{}",
        e.stderr
    );
    h.run(&["kube", "play", "--build", good.to_str().unwrap()])
        .fails_with(125);
}

#[test]
fn play_builds_images_from_build_directories() {
    let (_reg, h, img) = common::setup_with_busybox();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("userimage")).unwrap();
    std::fs::write(
        dir.path().join("userimage/Containerfile"),
        format!("FROM {img}\nUSER daemon\n"),
    )
    .unwrap();
    let yaml = write(
        &h,
        "build.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: built\nspec:\n  containers:\n  - name: test\n    image: quay.io/libpod/userimage\n    command: [\"id\", \"-u\"]\n",
    );
    let yaml = yaml.to_str().unwrap();
    // Not found where it looks (the current directory): the image cannot be had.
    h.run(&["kube", "play", "--build", "--start=false", yaml])
        .fails_with(125);
    // With --context-dir it builds, and the container runs as the built USER.
    let ctx = format!("--context-dir={}", dir.path().display());
    h.run(&[
        "kube",
        "play",
        "--replace",
        &ctx,
        "--build",
        "--start=false",
        yaml,
    ])
    .ok();
    assert_eq!(inspect(&h, "built-test", "{{.Config.User}}"), "daemon");
    // Without --build an image that exists is used as it is.
    std::fs::write(
        dir.path().join("userimage/Containerfile"),
        format!("FROM {img}\nUSER hoist\n"),
    )
    .unwrap();
    h.run(&["kube", "play", "--replace", &ctx, "--start=false", yaml])
        .ok();
    assert_eq!(inspect(&h, "built-test", "{{.Config.User}}"), "daemon");
    // --build rebuilds it.
    h.run(&[
        "kube",
        "play",
        "--replace",
        &ctx,
        "--build",
        "--start=false",
        yaml,
    ])
    .ok();
    assert_eq!(inspect(&h, "built-test", "{{.Config.User}}"), "hoist");
    h.run(&["kube", "down", yaml]).ok();
}

#[test]
fn a_service_container_runs_while_its_pods_do() {
    let (_reg, h, img) = common::setup_with_busybox();
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: served\nspec:\n  containers:\n  - name: main\n    image: {img}\n    command: [\"sleep\", \"1000\"]\n"
    );
    let file = write(&h, "served.yaml", &yaml);
    let play = || {
        h.run(&[
            "kube",
            "play",
            "--service-container=true",
            file.to_str().unwrap(),
        ])
        .ok()
    };
    play();
    // podman's name: the YAML's SHA-256, 12 hex digits, and -service.
    let digest = Command::new("sha256sum").arg(&file).output().unwrap();
    let service = format!("{}-service", &String::from_utf8_lossy(&digest.stdout)[..12]);
    assert_eq!(
        inspect(&h, &service, "{{.State.Running}} {{.IsService}}"),
        "true true"
    );
    assert_eq!(inspect(&h, "served-main", "{{.IsService}}"), "false");
    let wait_service_stopped = || {
        wait_until(WAIT, "the service container to stop", || {
            inspect(&h, &service, "{{.State.Running}}") == "false"
        })
    };
    // The pod's last container ends: the pod exits, and the service stops.
    h.run(&["stop", "-t", "0", "served-main"]).ok();
    wait_service_stopped();
    assert_eq!(out(&h, &["pod", "ps", "--format", "{{.Status}}"]), "Exited");
    // Starting the pod starts it again.
    h.run(&["pod", "restart", "served"]).ok();
    assert_eq!(inspect(&h, &service, "{{.State.Running}}"), "true");
    let refused = h.run(&["rm", "-f", &service]).fails_with(125);
    assert!(
        refused
            .stderr
            .contains("is the service container of pod(s)"),
        "{}",
        refused.stderr
    );
    h.run(&["pod", "kill", "served"]).ok();
    wait_service_stopped();
    // It goes with its last pod.
    h.run(&["pod", "rm", "served"]).ok();
    h.run(&["container", "exists", &service]).fails_with(1);
    // `rm -f -a` takes a service container and its pods together.
    play();
    h.run(&["rm", "-f", "-a"]).ok();
    assert_eq!(out(&h, &["ps", "-a", "-q"]), "");
    assert_eq!(out(&h, &["pod", "ps", "-q"]), "");
    // A play that fails leaves no service container behind.
    let before = snapshot(&h);
    let bad = write(
        &h,
        "bad.yaml",
        &yaml.replace(&img, "127.0.0.1:1/no/such:image"),
    );
    h.run(&[
        "kube",
        "play",
        "--service-container=true",
        bad.to_str().unwrap(),
    ])
    .fails_with(125);
    assert_eq!(snapshot(&h), before);
}

/// Two pods of one container each, sleeping.
fn two_pods(image: &str) -> String {
    let pod = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: {image}\n    command: [sleep, \"1000\"]\n"
        )
    };
    format!("{}---\n{}", pod("first"), pod("second"))
}

/// The addresses (IPv4 and MAC) of a container's eth0.
fn eth0(h: &Hoist, container: &str) -> String {
    out(h, &["exec", container, "ip", "addr", "show", "eth0"])
}

#[test]
fn kube_play_ip_and_mac_address_go_to_the_pods_in_order() {
    let (_reg, h, img) = common::setup_with_busybox();
    let net = h.private_network("kubeips");
    let subnet = out(
        &h,
        &[
            "network",
            "inspect",
            "--format",
            "{{range .Subnets}}{{.Subnet}}{{end}}",
            &net,
        ],
    );
    let prefix = subnet
        .strip_suffix(".0/24")
        .unwrap_or_else(|| panic!("a /24 subnet: {subnet}"));
    let (ip1, ip2) = (format!("{prefix}.41"), format!("{prefix}.42"));
    let mac = "92:d0:c6:0a:29:44";
    let file = write(&h, "two.yaml", &two_pods(&img));
    out(
        &h,
        &[
            "kube",
            "play",
            "--network",
            &net,
            "--ip",
            &ip1,
            "--ip",
            &ip2,
            "--mac-address",
            mac,
            file.to_str().unwrap(),
        ],
    );
    let first = eth0(&h, "first-c");
    assert!(first.contains(&format!("{ip1}/24")), "{first}");
    assert!(first.contains(mac), "{first}");
    // The second pod gets the second address; no MAC was left for it.
    let second = eth0(&h, "second-c");
    assert!(second.contains(&format!("{ip2}/24")), "{second}");
    assert!(!second.contains(mac), "{second}");
    // Not an address: refused before anything is made.
    out(&h, &["kube", "down", file.to_str().unwrap()]);
    let before = snapshot(&h);
    h.run(&["kube", "play", "--ip", "10.1.1", file.to_str().unwrap()])
        .fails_with(125);
    assert_eq!(snapshot(&h), before);
    h.run(&["network", "rm", "-f", &net]).ok();
}

/// A profile that lets everything but mkdir through.
const DENY_MKDIR: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#;

#[test]
fn kube_play_finds_localhost_seccomp_profiles_below_the_profile_root() {
    let (_reg, h, img) = common::setup_with_busybox();
    let root = h.base_dir().join("profiles");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("deny-mkdir.json"), DENY_MKDIR).unwrap();
    let try_mkdir =
        r#"[sh, -c, "if mkdir /tmp/d; then echo made; else echo denied; fi; sleep 1000"]"#;
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: sc\n  annotations:\n    container.seccomp.security.alpha.kubernetes.io/locked: localhost/deny-mkdir.json\nspec:\n  containers:\n  - name: locked\n    image: {img}\n    command: {try_mkdir}\n  - name: free\n    image: {img}\n    command: {try_mkdir}\n"
    );
    let file = write(&h, "sc.yaml", &yaml);
    let file = file.to_str().unwrap();
    // Without the flag the profile is looked for in the kubelet's
    // directory, where it is not: nothing is made.
    let before = snapshot(&h);
    let missing = h.run(&["kube", "play", file]).fails_with(125);
    assert!(
        missing
            .stderr
            .contains("/var/lib/kubelet/seccomp/deny-mkdir.json"),
        "{}",
        missing.stderr
    );
    assert_eq!(snapshot(&h), before);
    let root_flag = root.to_str().unwrap();
    out(
        &h,
        &["kube", "play", "--seccomp-profile-root", root_flag, file],
    );
    let said = |c: &str| {
        let mut text = String::new();
        wait_until(WAIT, "the container's first line", || {
            text = out(&h, &["logs", c]);
            !text.is_empty()
        });
        text
    };
    // Only the container the annotation names runs under the profile.
    assert_eq!(said("sc-locked"), "denied");
    assert_eq!(said("sc-free"), "made");
    out(&h, &["kube", "down", file]);
}

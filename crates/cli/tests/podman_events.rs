//! `events` as podman's users know it: the events the container and image
//! commands record in the file backend, podman's line and JSON formats,
//! `--filter` (same key: any; different keys: all), `--since`/`--until`,
//! `--format`, `--no-trunc`, `--stream`, the `none` backend's error and
//! containers.conf's `events_logger`, `events_logfile_path` and
//! `events_logfile_max_size` (rotation). Needs root and the test registry.

mod common;

use std::io::BufRead;
use std::time::Duration;

use hoist_testenv::{wait_until, Hoist};

fn events(h: &Hoist, args: &[&str]) -> Vec<String> {
    let mut all = vec!["events", "--stream=false"];
    all.extend_from_slice(args);
    h.run(&all)
        .ok()
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn container_events_filters_and_formats() {
    let (_reg, h, img) = common::setup_with_busybox();
    let run = |name: &str, code: &str| {
        let out = h.run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--label",
            "colour=dark blue",
            "--name",
            name,
            &img,
            "sh",
            "-c",
            &format!("exit {code}"),
        ]);
        assert_eq!(out.code(), code.parse().ok(), "{out:?}");
    };
    run("foo", "0");
    run("bar", "17");
    let statuses = events(
        &h,
        &["--filter", "container=foo", "--format", "{{.Status}}"],
    );
    assert_eq!(
        statuses,
        ["create", "init", "start", "attach", "died", "remove"]
    );
    // Same key: either; different keys: both.
    let starts = events(
        &h,
        &[
            "--filter",
            "container=foo",
            "-f",
            "container=bar",
            "--filter",
            "event=start",
        ],
    );
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert!(starts[0].contains(" container start "));
    assert!(starts[0].contains(&format!("(image={img}, name=foo, colour=dark blue)")));
    assert!(starts[1].contains("name=bar"));
    // The label filter, and the labels in the died event.
    let died = events(
        &h,
        &[
            "--filter",
            "label=colour=dark blue",
            "--filter",
            "status=died",
            "--format",
            "{{.Name}} {{.ContainerExitCode}} {{.Attributes.colour}}",
        ],
    );
    assert_eq!(died, ["foo 0 dark blue", "bar 17 dark blue"]);
    // Full ids by default and in templates; 12 characters with --no-trunc=false.
    let id = events(
        &h,
        &[
            "--filter",
            "container=bar",
            "--filter",
            "event=died",
            "--format",
            "{{.ID}}--{{.Image}}",
        ],
    );
    let (full, image) = id[0].split_once("--").unwrap();
    assert_eq!((full.len(), image), (64, img.as_str()));
    let short = events(
        &h,
        &[
            "--filter",
            "container=bar",
            "--filter",
            "event=died",
            "--no-trunc=false",
        ],
    );
    assert!(
        short[0].contains(&format!(" died {} (", &full[..12])),
        "{short:?}"
    );
    // JSON lines in podman's file format.
    let json = events(
        &h,
        &[
            "--filter",
            "container=bar",
            "--filter",
            "event=died",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json[0]).unwrap();
    assert_eq!(v["ContainerExitCode"], 17);
    assert_eq!(v["Type"], "container");
    assert_eq!(v["Attributes"]["colour"], "dark blue");
    // restart is recorded before the container stops and starts again.
    h.run(&["create", "--network", "none", "--name", "rs", &img, "true"])
        .ok();
    h.run(&["restart", "rs"]).ok();
    h.run(&["wait", "rs"]).ok();
    let rs = events(&h, &["--filter", "container=rs", "--format", "{{.Status}}"]);
    assert_eq!(rs[..4], ["create", "restart", "init", "start"], "{rs:?}");
    // Network events name the container and the network.
    h.run(&["network", "create", "evnet"]).ok();
    let cid = h.run(&["create", "--name", "nc", &img, "true"]).ok().stdout;
    h.run(&["network", "connect", "evnet", "nc"]).ok();
    h.run(&["network", "disconnect", "evnet", "nc"]).ok();
    let net = events(&h, &["--filter", "type=network"]);
    let cid = cid.trim();
    assert_eq!(net.len(), 2, "{net:?}");
    assert!(net[0].ends_with(&format!(
        " network connect {cid} (container={cid}, name=evnet)"
    )));
    assert!(net[1].contains(" network disconnect "), "{net:?}");
    // Time bounds.
    assert!(events(&h, &["--since", "2099-01-01T00:00:00Z"]).is_empty());
    assert!(events(&h, &["--until", "1000"]).is_empty());
    assert!(!events(&h, &["--since", "10m", "--filter", "type=container"]).is_empty());
    // podman's errors.
    let bad = h
        .run(&["events", "--stream=false", "--filter", "colour=red"])
        .fails_with(125);
    assert_eq!(bad.stderr.trim(), "Error: colour is an invalid filter");
    let bad = h
        .run(&["events", "--stream=false", "--format", "{{.Nope}}"])
        .fails_with(125);
    assert!(bad.stderr.contains("Nope"), "{bad:?}");
}

#[test]
fn image_events_in_order() {
    let (_reg, h, img) = common::setup_with_busybox();
    let id = h
        .run(&["image", "inspect", "--format", "{{.ID}}", &img])
        .ok()
        .stdout
        .trim()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let pushed = format!("dir:{}", dir.path().join("dir").display());
    let tarball = dir.path().join("ball.tar").display().to_string();
    h.run(&["push", &img, &pushed]).ok();
    assert!(dir.path().join("dir/manifest.json").is_file());
    h.run(&["save", &img, "-o", &tarball]).ok();
    h.run(&["load", "-i", &tarball]).ok();
    h.run(&["pull", &format!("docker-archive:{tarball}")]).ok();
    h.run(&["tag", &img, "registry.com/other"]).ok();
    h.run(&["untag", &img, "registry.com/other"]).ok();
    h.run(&["tag", &img, "registry.com/other"]).ok();
    h.run(&["rmi", "-f", &id]).ok();
    h.run(&["pull", &pushed]).ok();
    let lines = events(
        &h,
        &[
            "--filter",
            "type=image",
            "--format",
            "{{.Status}} {{.ID}} {{.Name}}",
        ],
    );
    let want = [
        format!("pull  {img}"),
        format!("push {id} {pushed}"),
        format!("save {id} {tarball}"),
        format!("loadfromarchive  {tarball}"),
        format!("pull  docker-archive:{tarball}"),
        format!("tag {id} registry.com/other"),
        format!("untag {id} registry.com/other:latest"),
        format!("tag {id} registry.com/other"),
        format!("untag {id} {img}"),
        format!("untag {id} registry.com/other:latest"),
        format!("remove {id} {id}"),
        format!("pull  {pushed}"),
    ];
    assert_eq!(lines, want);
    let human = events(
        &h,
        &[
            "--filter",
            "image=registry.com/other",
            "--filter",
            "event=tag",
        ],
    );
    assert_eq!(human.len(), 2, "{human:?}");
    assert!(human[0].ends_with(&format!(" image tag {id} registry.com/other")));
    // The image pulled from dir: is the same image.
    let back = h
        .run(&["image", "inspect", "--format", "{{.ID}}", &id])
        .ok();
    assert_eq!(back.stdout.trim(), id);
    // rmi of one name among several: podman records an untag and a remove.
    h.run(&["tag", &id, "extra"]).ok();
    h.run(&["tag", &id, "more"]).ok();
    h.run(&["rmi", "extra"]).ok();
    let last = events(
        &h,
        &[
            "--filter",
            "type=image",
            "--format",
            "{{.Status}} {{.Name}}",
        ],
    );
    assert_eq!(
        last[last.len() - 2..],
        [
            "untag localhost/extra:latest",
            "remove localhost/extra:latest"
        ]
    );
}

#[test]
fn backends_paths_rotation_and_streaming() {
    let (_reg, mut h, img) = common::setup_with_busybox();
    let dir = tempfile::tempdir().unwrap();
    // none: nothing to read, as podman says.
    let none = h
        .run(&["--events-backend", "none", "events"])
        .fails_with(125);
    assert_eq!(
        none.stderr.trim(),
        "Error: cannot read events with the \"none\" backend"
    );
    h.run(&["--events-backend", "none", "volume", "create", "quiet"])
        .ok();
    assert!(events(&h, &["--filter", "volume=quiet"]).is_empty());
    // containers.conf: the file's place and its size limit.
    let log = dir.path().join("events.txt");
    let conf = dir.path().join("containers.conf");
    std::fs::write(
        &conf,
        format!(
            "[engine]\nevents_logger = \"file\"\nevents_logfile_path = \"{}\"\n",
            log.display()
        ),
    )
    .unwrap();
    h.env("CONTAINERS_CONF", &conf);
    // A missing file reads as no events (and does not hang).
    assert!(events(&h, &[]).is_empty());
    let old: String = (0..100)
        .map(|i| format!("{{\"Name\":\"busybox\",\"Status\":\"pull\",\"Time\":\"2022-04-06T11:26:42.7236679{i:02}+02:00\",\"Type\":\"image\",\"Attributes\":null}}\n"))
        .collect();
    std::fs::write(&log, &old).unwrap();
    h.run(&["tag", &img, "one"]).ok();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with(&old), "no limit: nothing rotated");
    assert_eq!(text.lines().count(), 101);
    std::fs::write(&log, &old).unwrap();
    std::fs::write(
        &conf,
        format!(
            "[engine]\nevents_logger = \"file\"\nevents_logfile_path = \"{}\"\nevents_logfile_max_size = {}\n",
            log.display(),
            old.len() / 2
        ),
    )
    .unwrap();
    h.run(&["tag", &img, "two"]).ok();
    let lines = events(&h, &["--since", "2022-03-06T11:26:42.723667984+02:00"]);
    // The newer half of the old lines, the rotation, the tag.
    assert_eq!(lines.len(), 51, "{lines:?}");
    assert!(lines[49].ends_with(&format!(" system log-rotation {}", log.display())));
    assert!(lines[50].ends_with(" two"), "{lines:?}");
    // events_logger and log_driver from containers.conf, as info reports them.
    let other = dir.path().join("other.conf");
    std::fs::write(
        &other,
        "[containers]\nlog_driver = \"json-file\"\n[engine]\nevents_logger = \"none\"\n",
    )
    .unwrap();
    h.env("CONTAINERS_CONF", &other);
    let info = h
        .run(&[
            "info",
            "--format",
            "{{.Host.LogDriver}} {{.Host.EventLogger}}",
        ])
        .ok();
    assert_eq!(info.stdout.trim(), "json-file none");
    h.run(&["events", "--stream=false"]).fails_with(125);
    h.run(&["create", "--name", "confd", &img, "true"]).ok();
    let kind = h
        .run(&[
            "inspect",
            "--format",
            "{{.HostConfig.LogConfig.Type}}",
            "confd",
        ])
        .ok();
    assert_eq!(kind.stdout.trim(), "json-file");
    h.env("CONTAINERS_CONF", &conf);
    // A stream prints events as they happen.
    let mut child = h
        .command(&[
            "events",
            "--format",
            "{{.Type}} {{.Status}} {{.Name}}",
            "--since",
            "1s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    h.run(&["volume", "create", "streamed"]).ok();
    let mut seen = Vec::new();
    wait_until(Duration::from_secs(30), "the streamed volume event", || {
        seen.extend(rx.try_iter());
        seen.iter().any(|l| l == "volume create streamed")
    });
    let _ = child.kill();
    let _ = child.wait();
}

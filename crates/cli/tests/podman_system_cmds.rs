//! `system df/prune/reset`, `search`, `generate systemd` and `manifest
//! push/annotate/remove` as podman's users know them (podman's system
//! tests 320-system-df and 250-systemd check the same), against a real
//! registry and real containers.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{setup, setup_with_busybox};
use hoist_testenv::{require, wait_until, Hoist, ImageBuilder};
use serde_json::Value;

fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.is_empty()).collect()
}

fn stdout(h: &Hoist, args: &[&str]) -> String {
    h.run(args).ok().stdout
}

fn json(h: &Hoist, args: &[&str]) -> Value {
    let out = h.run(args).ok();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out:?}"))
}

#[test]
fn system_df_counts_images_containers_and_volumes() {
    let (_reg, h, image) = setup_with_busybox();
    let table = stdout(&h, &["system", "df"]);
    let rows = lines(&table);
    assert_eq!(
        rows[0],
        "TYPE           TOTAL       ACTIVE      SIZE        RECLAIMABLE"
    );
    assert!(
        rows[1].starts_with("Images         1           0 "),
        "{table}"
    );
    assert!(
        rows[2].starts_with("Containers     0           0 "),
        "{table}"
    );
    assert!(
        rows[3].starts_with("Local Volumes  0           0 "),
        "{table}"
    );

    h.run(&["run", "-v", "/myvol1", "--name", "c1", &image, "true"])
        .ok();
    h.run(&[
        "run",
        "-d",
        "-v",
        "/myvol2",
        "--name",
        "c2",
        &image,
        "sh",
        "-c",
        "while ! test -e /stop; do sleep 0.1; done",
    ])
    .ok();
    let counts = stdout(
        &h,
        &[
            "system",
            "df",
            "--format",
            "{{ .Type }}:{{ .Total }}:{{ .Active }}",
        ],
    );
    assert_eq!(
        lines(&counts),
        ["Images:1:1", "Containers:2:1", "Local Volumes:2:2"]
    );

    let verbose = stdout(&h, &["system", "df", "-v"]);
    let v = lines(&verbose);
    assert_eq!(v[0], "Images space usage:");
    let repo = image.rsplit_once(':').unwrap().0;
    assert!(v[2].starts_with(&format!("{repo} ")), "{verbose}");
    assert!(v[2].trim_end().ends_with(" 2"), "two containers: {verbose}");
    assert_eq!(v[3], "Containers space usage:");
    for row in &v[5..7] {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[0].len(), 12, "{verbose}");
        assert!(cells.contains(&"1"), "one volume each: {verbose}");
        assert!(cells.last().unwrap().starts_with('c'), "{verbose}");
    }
    assert_eq!(v[7], "Local Volumes space usage:");
    for row in &v[9..11] {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[0].len(), 64, "{verbose}");
        assert_eq!(cells[1..], ["1", "0B"], "{verbose}");
    }

    let doc = json(&h, &["system", "df", "--format", "json"]);
    assert_eq!(doc[1]["Type"], "Containers");
    assert_eq!(doc[1]["Total"], 2);
    assert!(doc[0]["RawSize"].as_u64().unwrap() > 0);
    let detail = json(&h, &["system", "df", "-v", "--format", "json"]);
    assert_eq!(detail["Volumes"].as_array().unwrap().len(), 2);
    let both = h
        .run(&["system", "df", "-v", "--format", "{{.Type}}"])
        .fails_with(125);
    assert!(
        both.stderr
            .contains("cannot combine --format and --verbose"),
        "{both:?}"
    );

    // An empty template prints nothing (podman's `info -f ''`).
    assert_eq!(stdout(&h, &["info", "-f", ""]), "");

    h.run(&["exec", "c2", "touch", "/stop"]).ok();
    h.run(&["wait", "c2"]).ok();
}

#[test]
fn system_prune_asks_then_removes_what_nothing_uses() {
    let (reg, h, image) = setup_with_busybox();
    ImageBuilder::single_layer()
        .label("other", "1")
        .push(&reg, "other:1");
    let other = reg.reference("other:1");
    h.run(&["pull", &other]).ok();
    h.run(&["untag", &other]).ok(); // dangling now
    let stopped = stdout(&h, &["create", "--name", "stopped", &image, "true"]);
    h.run(&[
        "create", "--name", "kept", "--label", "keep=1", &image, "true",
    ])
    .ok();
    h.run(&["volume", "create", "unused"]).ok();
    h.run(&["network", "create", "unusednet"]).ok();

    // Without -f it asks; anything but yes keeps everything.
    let asked = h.run_stdin(&["system", "prune"], b"n\n").ok();
    assert!(
        asked.stdout.contains("WARNING! This command removes:")
            && asked
                .stdout
                .contains("Are you sure you want to continue? [y/N]"),
        "{asked:?}"
    );
    assert_eq!(lines(&stdout(&h, &["ps", "-aq"])).len(), 2);

    let pruned = h
        .run(&["system", "prune", "-f", "--filter", "label!=keep=1"])
        .ok();
    let out = pruned.stdout;
    assert!(
        out.contains(&format!("Deleted Containers\n{}", stopped.trim())),
        "{out}"
    );
    assert!(out.contains("Deleted Networks\nunusednet\n"), "{out}");
    assert!(out.contains("Deleted Images\n"), "{out}");
    assert!(
        !out.contains("Deleted Volumes"),
        "volumes only with --volumes: {out}"
    );
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert_eq!(
        stdout(&h, &["ps", "-a", "--format", "{{.Names}}"]).trim(),
        "kept"
    );

    let with_volumes = h
        .run_stdin(&["system", "prune", "--volumes", "-a"], b"y\n")
        .ok();
    assert!(
        with_volumes.stdout.contains("Deleted Volumes\nunused\n"),
        "{with_volumes:?}"
    );
    assert_eq!(stdout(&h, &["ps", "-aq"]), "");
    assert_eq!(
        stdout(&h, &["images", "-q"]),
        "",
        "-a removes unused images"
    );
    let bad = h
        .run(&["system", "prune", "-f", "--filter", "color=red"])
        .fails_with(125);
    assert!(bad.stderr.contains("color"), "{bad:?}");
}

#[test]
fn system_reset_leaves_an_empty_store_that_works() {
    let (_reg, h, image) = setup_with_busybox();
    h.run(&[
        "run",
        "-d",
        "--name",
        "busy",
        "-v",
        "data:/data",
        &image,
        "sleep",
        "1000",
    ])
    .ok();
    h.run(&["network", "create", "resetnet"]).ok();

    let declined = h.run_stdin(&["system", "reset"], b"\n").ok();
    assert!(
        declined.stdout.contains("WARNING! This will remove:"),
        "{declined:?}"
    );
    assert_eq!(lines(&stdout(&h, &["ps", "-q"])).len(), 1);

    h.run(&["system", "reset", "--force"]).ok();
    assert_eq!(stdout(&h, &["ps", "-aq"]), "");
    assert_eq!(stdout(&h, &["images", "-q"]), "");
    assert_eq!(stdout(&h, &["volume", "ls", "-q"]), "");
    assert!(!stdout(&h, &["network", "ls"]).contains("resetnet"));
    // Still a store: pulling and running work again.
    h.run(&["pull", &image]).ok();
    let hi = stdout(&h, &["run", "--rm", &image, "echo", "again"]);
    assert_eq!(hi.trim(), "again");
}

#[test]
fn search_lists_catalog_matches_and_tags() {
    let (reg, h) = setup();
    for name in ["foo/bb:v1", "foo/bb:v2", "other:1"] {
        ImageBuilder::single_layer().push(&reg, name);
    }
    let prefix = format!("{}/", reg.addr());
    let table = stdout(&h, &["search", &format!("{prefix}foo")]);
    // `image search` is the same command.
    assert_eq!(
        stdout(&h, &["image", "search", &format!("{prefix}foo")]),
        table
    );
    assert_eq!(
        lines(&table),
        [
            // The name column is the longest name plus two spaces.
            "NAME".to_string() + &" ".repeat(prefix.len() + 6 + 2 - 4) + "DESCRIPTION",
            format!("{prefix}foo/bb  "),
        ]
    );
    // A term without a registry searches the unqualified-search registries.
    let all = json(&h, &["search", "--format", "json", "b"]);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [format!("{prefix}foo/bb")]);
    assert_eq!(all[0]["Index"], reg.addr());
    assert_eq!(all[0]["Stars"], 0);
    let limited = stdout(
        &h,
        &["search", "--limit", "1", "--format", "{{.Name}}", &prefix],
    );
    assert_eq!(lines(&limited).len(), 1);
    assert_eq!(
        stdout(
            &h,
            &[
                "search",
                "--filter",
                "stars=1",
                "--format",
                "{{.Name}}",
                &prefix
            ]
        ),
        ""
    );
    let tags = stdout(&h, &["search", "--list-tags", &format!("{prefix}foo/bb")]);
    assert_eq!(
        lines(&tags)[1..],
        [format!("{prefix}foo/bb  v1"), format!("{prefix}foo/bb  v2")]
    );
    let tags = json(
        &h,
        &[
            "search",
            "--list-tags",
            "--format",
            "json",
            &format!("{prefix}foo/bb"),
        ],
    );
    assert_eq!(tags[0]["Tags"], serde_json::json!(["v1", "v2"]));
    h.run(&["search", "--list-tags", &format!("{prefix}foo/bb:v1")])
        .fails_with(125);
    h.run(&["search", "--filter", "color=red", "x"])
        .fails_with(125);
}

/// The value of `Key=` in a unit's text.
fn unit_value<'a>(unit: &'a str, key: &str) -> &'a str {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in\n{unit}"))
}

/// Runs an Exec line of a unit as systemd would, in hoist's test
/// environment, with %t and %n standing for `run_dir` and `unit`.
fn exec_line(h: &Hoist, line: &str, run_dir: &std::path::Path, unit: &str) {
    let cmd = line
        .replace("%t", run_dir.to_str().unwrap())
        .replace("%n", unit);
    let env = h.command(&[]);
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(&cmd);
    for (k, v) in env.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    let out = sh.output().unwrap();
    assert!(out.status.success(), "{cmd}: {out:?}");
}

fn pid_alive(pid_file: &std::path::Path) -> bool {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

#[test]
fn generate_systemd_writes_units_that_run_the_container() {
    let (_reg, h, image) = setup_with_busybox();
    require(&["systemd-analyze"]);
    h.run(&[
        "create",
        "--name",
        "web",
        "--restart",
        "on-failure:42",
        "--stop-timeout",
        "2",
        &image,
        "sleep",
        "1000",
    ])
    .ok();

    // The command line is on record, as podman's .Config.CreateCommand.
    let recorded = stdout(
        &h,
        &["inspect", "--format", "{{.Config.CreateCommand}}", "web"],
    );
    assert!(
        recorded.contains(" create --name web --restart on-failure:42 "),
        "{recorded}"
    );

    // Restart policy: the container's, then the flag's; unless-stopped is always.
    let generated = h.run(&["generate", "systemd", "--name", "web"]).ok();
    // The container restarting itself would fight systemd: podman warns.
    assert!(
        generated.stderr.contains("has restart policy") && generated.stderr.contains("on-failure"),
        "{generated:?}"
    );
    let unit = generated.stdout;
    assert!(unit.starts_with("# container-web.service\n# autogenerated by hoist"));
    assert_eq!(unit_value(&unit, "Restart"), "on-failure");
    assert_eq!(unit_value(&unit, "StartLimitBurst"), "42");
    // The container's stop timeout (2) plus a minute for the SIGKILL.
    assert_eq!(unit_value(&unit, "TimeoutStopSec"), "62");
    assert_eq!(unit_value(&unit, "Type"), "forking");
    let policy = stdout(
        &h,
        &[
            "generate",
            "systemd",
            "--restart-policy",
            "always",
            "-t",
            "5",
            "web",
        ],
    );
    assert_eq!(unit_value(&policy, "Restart"), "always");
    assert_eq!(unit_value(&policy, "TimeoutStopSec"), "65");
    h.run(&[
        "generate",
        "systemd",
        "--restart-policy",
        "sometimes",
        "web",
    ])
    .fails_with(125);
    h.run(&["generate", "systemd", "--template", "--new=false", "web"])
        .fails_with(125);
    let doc = json(
        &h,
        &[
            "generate",
            "systemd",
            "--format",
            "json",
            "--no-header",
            "-n",
            "--container-prefix",
            "app",
            "web",
        ],
    );
    assert!(doc["app-web"].as_str().is_some(), "{doc}");

    // Both kinds of unit pass systemd's own check.
    let dir = h.base_dir().join("units");
    std::fs::create_dir_all(&dir).unwrap();
    let files = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .current_dir(&dir)
        .args(h.command(&[]).get_args())
        .args([
            "generate",
            "systemd",
            "--files",
            "--new",
            "--name",
            "--separator",
            "_",
            "web",
        ])
        .envs(h.command(&[]).get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .unwrap();
    assert!(files.status.success(), "{files:?}");
    let new_path = dir.join("container_web.service");
    assert_eq!(
        String::from_utf8_lossy(&files.stdout).trim(),
        new_path.to_str().unwrap()
    );
    std::fs::write(dir.join("container-web.service"), &unit).unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&new_path)
        .arg(dir.join("container-web.service"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "systemd-analyze verify: {verify:?}"
    );

    // The existing container: ExecStart starts it, PIDFile is its monitor.
    let run_dir = h.base_dir().join("run");
    exec_line(
        &h,
        unit_value(&unit, "ExecStart"),
        &run_dir,
        "container-web.service",
    );
    let pid_file = std::path::PathBuf::from(unit_value(&unit, "PIDFile"));
    wait_until(Duration::from_secs(30), "the monitor's pid file", || {
        pid_alive(&pid_file)
    });
    exec_line(
        &h,
        unit_value(&unit, "ExecStop"),
        &run_dir,
        "container-web.service",
    );
    assert_eq!(
        stdout(
            &h,
            &["ps", "-a", "--format", "{{.Status}}", "-f", "name=web"]
        )
        .split_whitespace()
        .next(),
        Some("Exited")
    );

    // --new: the container is made afresh from its create command line.
    let new_unit = std::fs::read_to_string(&new_path).unwrap();
    let start = unit_value(&new_unit, "ExecStart");
    assert!(
        start.contains(" run --cidfile=%t/%n.ctr-id ")
            && start.contains("--replace --name web ")
            && !start.contains("--restart")
            && start.ends_with(&format!("{image} sleep 1000")),
        "{start}"
    );
    let name = "container_web.service";
    exec_line(&h, unit_value(&new_unit, "ExecStartPre"), &run_dir, name);
    exec_line(&h, start, &run_dir, name);
    wait_until(
        Duration::from_secs(30),
        "the new container's monitor",
        || pid_alive(&run_dir.join(format!("{name}.pid"))),
    );
    let cid = std::fs::read_to_string(run_dir.join(format!("{name}.ctr-id"))).unwrap();
    assert_eq!(
        stdout(
            &h,
            &[
                "inspect",
                "--format",
                "{{.Name}} {{.State.Running}}",
                cid.trim()
            ]
        )
        .trim(),
        "web true"
    );
    exec_line(&h, unit_value(&new_unit, "ExecStop"), &run_dir, name);
    exec_line(&h, unit_value(&new_unit, "ExecStopPost"), &run_dir, name);
    assert_eq!(
        stdout(&h, &["ps", "-aq"]),
        "",
        "--rm and ExecStopPost remove it"
    );
}

#[test]
fn manifest_push_sends_the_images_then_the_list() {
    let (reg, h) = setup();
    for (name, value) in [("one:1", "1"), ("two:1", "2")] {
        ImageBuilder::single_layer()
            .label("n", value)
            .push(&reg, name);
        h.run(&["pull", &reg.reference(name)]).ok();
    }
    h.run(&["manifest", "create", "mylist", &reg.reference("one:1")])
        .ok();
    h.run(&["manifest", "add", "mylist", &reg.reference("two:1")])
        .ok();
    let two_digest = json(&h, &["manifest", "inspect", "mylist"])["manifests"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    h.run(&[
        "manifest",
        "annotate",
        "--os-version",
        "10.1",
        "--annotation",
        "k=v",
        "mylist",
        &two_digest,
    ])
    .ok();
    let listed = json(&h, &["manifest", "inspect", "mylist"]);
    assert_eq!(listed["manifests"][1]["platform"]["os.version"], "10.1");
    assert_eq!(listed["manifests"][1]["annotations"]["k"], "v");
    h.run(&[
        "manifest",
        "annotate",
        "--annotation",
        "novalue",
        "mylist",
        &two_digest,
    ])
    .fails_with(125);

    let digestfile = h.base_dir().join("list.digest");
    let pushed = h
        .run(&[
            "manifest",
            "push",
            "--digestfile",
            digestfile.to_str().unwrap(),
            "mylist",
            &format!("docker://{}", reg.reference("pushed/list:1")),
        ])
        .ok();
    let digest = std::fs::read_to_string(&digestfile).unwrap();
    assert_eq!(pushed.stdout.trim(), digest);
    let index = reg.inspect_raw("pushed/list:1");
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");
    for m in index["manifests"].as_array().unwrap() {
        let by_digest = format!("pushed/list@{}", m["digest"].as_str().unwrap());
        assert!(reg.has_manifest(&by_digest), "{by_digest} was pushed");
    }

    // remove takes an image out; --rm drops the local list after the push.
    h.run(&["manifest", "remove", "mylist", &two_digest]).ok();
    h.run(&["manifest", "remove", "mylist", &two_digest])
        .fails_with(125);
    h.run(&[
        "manifest",
        "push",
        "--rm",
        "mylist",
        &reg.reference("pushed/list:2"),
    ])
    .ok();
    assert_eq!(
        reg.inspect_raw("pushed/list:2")["manifests"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    h.run(&["manifest", "exists", "mylist"]).fails_with(1);
}

/// `manifest create --amend` adds to a list that exists (without it the
/// name in use is an error); a list changed keeps every name it had.
#[test]
fn manifest_create_amend_adds_to_the_existing_list() {
    let (reg, h) = setup();
    for (name, value) in [("a:1", "1"), ("b:1", "2"), ("c:1", "3")] {
        ImageBuilder::single_layer()
            .label("n", value)
            .push(&reg, name);
        h.run(&["pull", &reg.reference(name)]).ok();
    }
    h.run(&["manifest", "create", "amended", &reg.reference("a:1")])
        .ok();
    h.run(&["tag", "amended", "localhost/also:1"]).ok();
    let err = h
        .run(&["manifest", "create", "amended", &reg.reference("b:1")])
        .fails_with(125);
    assert!(err.stderr.contains("--amend"), "{err:?}");
    h.run(&[
        "manifest",
        "create",
        "--amend",
        "amended",
        &reg.reference("b:1"),
        &reg.reference("c:1"),
    ])
    .ok();
    let listed = json(&h, &["manifest", "inspect", "amended"]);
    assert_eq!(listed["manifests"].as_array().unwrap().len(), 3, "{listed}");
    let also = json(&h, &["manifest", "inspect", "localhost/also:1"]);
    assert_eq!(also, listed);
    // The old list record is gone, not left beside the new one.
    let lists = h
        .run(&["images", "-q", "--filter", "dangling=true"])
        .ok()
        .stdout;
    assert!(lists.trim().is_empty(), "{lists}");
}

/// `manifest push --format v2s2` sends a Docker manifest list whose entries
/// are the schema 2 manifests its images were pushed as; signing is
/// refused, and zstd cannot go in a schema 2 list.
#[test]
fn manifest_push_converts_the_list_and_its_images() {
    let (reg, h) = setup();
    for (name, value) in [("x:1", "1"), ("y:1", "2")] {
        ImageBuilder::single_layer()
            .label("n", value)
            .push(&reg, name);
        h.run(&["pull", &reg.reference(name)]).ok();
    }
    h.run(&[
        "manifest",
        "create",
        "conv",
        &reg.reference("x:1"),
        &reg.reference("y:1"),
    ])
    .ok();
    h.run(&[
        "manifest",
        "push",
        "--format",
        "v2s2",
        "conv",
        &reg.reference("conv/list:1"),
    ])
    .ok();
    let list = reg.inspect_raw("conv/list:1");
    assert_eq!(
        list["mediaType"], "application/vnd.docker.distribution.manifest.list.v2+json",
        "{list}"
    );
    for m in list["manifests"].as_array().unwrap() {
        assert_eq!(
            m["mediaType"], "application/vnd.docker.distribution.manifest.v2+json",
            "{list}"
        );
        let image = reg.inspect_raw(&format!("conv/list@{}", m["digest"].as_str().unwrap()));
        assert_eq!(image["mediaType"], m["mediaType"], "{image}");
    }
    let err = h
        .run(&[
            "manifest",
            "push",
            "--format",
            "v2s2",
            "--compression-format",
            "zstd",
            "conv",
            &reg.reference("conv/list:2"),
        ])
        .fails_with(125);
    assert!(err.stderr.contains("zstd"), "{err:?}");
    let err = h
        .run(&[
            "manifest",
            "push",
            "--sign-by",
            "me@example.com",
            "conv",
            &reg.reference("conv/list:3"),
        ])
        .fails_with(125);
    assert!(
        err.stderr.contains("me@example.com"),
        "names the key: {err:?}"
    );
    // The key could not sign: nothing was pushed.
    h.run(&["manifest", "inspect", &reg.reference("conv/list:3")])
        .fails_with(125);
}

/// `system info` is `info`; `unshare` is for rootless podman, which hoist
/// is not: it fails as podman does for root.
#[test]
fn system_info_is_info_and_unshare_says_it_needs_rootless() {
    let h = common::local_hoist();
    let fmt = ["--format", "{{.Host.Arch}} {{.Store.GraphRoot}}"];
    let info = stdout(&h, &[&["info"][..], &fmt[..]].concat());
    assert_eq!(
        stdout(&h, &[&["system", "info"][..], &fmt[..]].concat()),
        info
    );
    let out = h.run(&["unshare", "true"]).fails_with(125);
    assert!(
        out.stderr.contains("please use unshare with rootless"),
        "{out:?}"
    );
}

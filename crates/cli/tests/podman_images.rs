//! Images as podman users move them: `commit`, `history`, `images`
//! filters and names history, `rmi --force` semantics, `tag`/`untag`
//! errors, `export`/`import`, `mount`/`image mount`, and `save`/`load`
//! details (names by ID, URLs, uncompressed layers, bad payloads). Needs
//! root and the test registry.

mod common;

use hoist_testenv::Hoist;

fn id_of(hoist: &Hoist, name: &str) -> String {
    hoist
        .run(&["image", "inspect", "--format", "{{.Id}}", name])
        .ok()
        .stdout
        .trim()
        .to_string()
}

/// Whether a text is a time as Go's `time.Time.String()` prints a UTC one:
/// `2026-12-04 21:03:54.1741037 +0000 UTC`.
fn regex_lite_go_time() -> impl Fn(&str) -> bool {
    |t: &str| {
        let Some(rest) = t.strip_suffix(" +0000 UTC") else {
            return false;
        };
        let (whole, fraction) = rest.split_once('.').unwrap_or((rest, "1"));
        chrono::NaiveDateTime::parse_from_str(whole, "%Y-%m-%d %H:%M:%S").is_ok()
            && !fraction.is_empty()
            && !fraction.ends_with('0')
            && fraction.chars().all(|c| c.is_ascii_digit())
    }
}

#[test]
fn commit_history_filters_and_names_history() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let base = id_of(&hoist, &img);
    // Nothing is newer or older than the only image.
    for f in ["after", "before"] {
        let out = hoist
            .run(&["images", "--noheading", &format!("--filter={f}={base}")])
            .ok();
        assert_eq!(out.stdout, "", "{f}");
    }
    hoist
        .run(&[
            "run",
            "--name",
            "c1",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "echo hello > /new.txt; rm /bin/true",
        ])
        .ok();
    // diff: what the container added, changed and deleted, nothing else.
    let out = hoist.run(&["diff", "-l"]).ok();
    assert_eq!(out.stdout, "C /bin\nD /bin/true\nA /new.txt\n");
    let out = hoist.run(&["diff", "--format", "json", "c1"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"added": ["/new.txt"], "changed": ["/bin"], "deleted": ["/bin/true"]})
    );
    let new = hoist
        .run(&[
            "commit",
            "-q",
            "-m",
            "a message",
            "--change",
            "ENV FROM_CHANGE=1",
            "c1",
            "committed",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(new.len(), 64, "commit -q prints the full ID: {new}");
    let opts = [
        "images",
        "--noheading",
        "--no-trunc",
        "--format={{.ID}}--{{.Repository}}:{{.Tag}}",
    ];
    let after = hoist
        .run(&[&opts[..], &[&format!("--filter=since={base}")]].concat())
        .ok();
    assert_eq!(
        after.stdout.trim(),
        format!("sha256:{new}--localhost/committed:latest")
    );
    let before = hoist
        .run(&[&opts[..], &["--filter=before=committed"]].concat())
        .ok();
    assert_eq!(before.stdout.trim(), format!("sha256:{base}--{img}"));
    // The new image has the change, the file and the deletion (a whiteout).
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "committed",
            "sh",
            "-c",
            "cat /new.txt; echo $FROM_CHANGE; test -e /bin/true || echo gone",
        ])
        .ok();
    assert_eq!(out.stdout, "hello\n1\ngone\n");
    // image tree: the base image's layer, then the committed one on top.
    let tree = hoist.run(&["image", "tree", "committed"]).ok().stdout;
    let lines: Vec<&str> = tree.lines().collect();
    assert_eq!(lines[0], format!("Image ID: {}", &new[..12]));
    assert_eq!(lines[3], "Image Layers");
    assert!(lines[4].starts_with("├── ID: "), "{tree}");
    assert!(
        lines[4].ends_with(&format!("Top Layer of: [{img}]")),
        "{tree}"
    );
    assert!(lines[5].starts_with("└── ID: "), "{tree}");
    assert!(
        lines[5].ends_with("Top Layer of: [localhost/committed:latest]"),
        "{tree}"
    );
    // history: the new step first, with its comment.
    let h = hoist
        .run(&["history", "--format", "{{.ID}}|{{.Comment}}", "committed"])
        .ok();
    let first = h.stdout.lines().next().unwrap();
    assert_eq!(first, format!("{}|a message", &new[..12]));
    // A template that is not a `table` keeps its tabs (scripts cut on
    // them), and a time prints as Go prints it, as in podman 4.3.
    let go_time = regex_lite_go_time();
    for args in [
        vec![
            "history",
            "--format",
            "{{.ID}}\t{{.CreatedAt}}",
            "committed",
        ],
        vec!["images", "--format", "{{.ID}}\t{{.CreatedAt}}", "committed"],
    ] {
        let out = hoist.run(&args).ok().stdout;
        for line in out.lines() {
            let (id, at) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("{args:?}: {line:?}"));
            assert!(id.len() == 12 || id == "<missing>", "{line:?}");
            assert!(go_time(at), "{args:?}: {at:?}");
        }
    }
    // Names history: current names first, then the others, newest first.
    for t in ["t1", "t2"] {
        hoist.run(&["tag", "committed", t]).ok();
        hoist.run(&["rmi", t]).ok();
    }
    let out = hoist
        .run(&["images", "committed", "--format", "{{.History}}"])
        .ok();
    assert_eq!(
        out.stdout.trim(),
        "localhost/committed:latest, localhost/t2:latest, localhost/t1:latest"
    );
    // `images NAME` shows only that name's row; --sort orders rows.
    hoist.run(&["tag", &img, "localhost/zz:1"]).ok();
    let out = hoist
        .run(&[
            "images",
            "localhost/zz:1",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "localhost/zz:1");
    let out = hoist
        .run(&[
            "images",
            "--sort",
            "repository",
            "--format",
            "{{.Repository}}",
        ])
        .ok();
    let repos: Vec<&str> = out.stdout.lines().collect();
    let mut sorted = repos.clone();
    sorted.sort();
    assert_eq!(repos, sorted);
    let table = hoist
        .run(&["images", "--format", "table {{.Repository}} {{.ID}}"])
        .ok();
    let header: Vec<&str> = table.stdout.lines().next().unwrap().split("   ").collect();
    assert_eq!(header.first().copied(), Some("REPOSITORY"));
    assert_eq!(header.last().map(|h| h.trim()), Some("IMAGE ID"));
    let rows = hoist
        .run(&["images", "--noheading", "--format", "table {{.Repository}}"])
        .ok();
    assert_eq!(rows.stdout.lines().count(), repos.len());
    // rmi --force NAME of an image with other names removes only that name.
    let out = hoist.run(&["rmi", "--force", "localhost/zz:1"]).ok();
    assert_eq!(out.stdout.trim(), "Untagged: localhost/zz:1");
    assert!(hoist.run(&["image", "exists", &img]).success());
    // rmi -f of an image containers use removes those containers too.
    hoist.run(&["create", "--name", "user", "committed"]).ok();
    let out = hoist.run(&["rmi", "committed"]).fails_with(2);
    assert!(
        out.stderr.contains("image is in use by a container"),
        "{}",
        out.stderr
    );
    hoist.run(&["rm", "c1"]).ok();
    hoist.run(&["rmi", "-f", "committed"]).ok();
    assert!(!hoist.run(&["container", "exists", "user"]).success());
    // Several failures are reported together, as podman does.
    let out = hoist.run(&["rmi", "nosuch1", "nosuch2"]).fails_with(1);
    assert_eq!(
        out.stderr.trim(),
        "Error: 2 errors occurred:\n\t* nosuch1: image not known\n\t* nosuch2: image not known"
    );
    // A missing image with --force is no error; untag of a missing name is.
    let out = hoist.run(&["image", "rm", "--force", "bogus"]).ok();
    assert_eq!(out.stdout, "");
    let out = hoist
        .run(&["untag", &img, "registry.com/foo:bar"])
        .fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: registry.com/foo:bar: tag not known"
    );
}

#[test]
fn export_import_and_mounts() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    hoist
        .run(&[
            "run",
            "--name",
            "src",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "echo inside > /random.txt",
        ])
        .ok();
    // mount: the container's files on the host, listed, then gone.
    let path = hoist.run(&["mount", "src"]).ok().stdout.trim().to_string();
    let file = std::path::Path::new(&path).join("random.txt");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "inside\n");
    let id = hoist
        .run(&["inspect", "--format", "{{.Id}}", "src"])
        .ok()
        .stdout
        .trim()
        .to_string();
    // The list: short IDs, whole ones with --no-trunc (or its older name).
    let listed = hoist.run(&["mount"]).ok().stdout;
    assert_eq!(listed, format!("{}  {path}\n", &id[..12]));
    for flag in ["--no-trunc", "--notruncate"] {
        let listed = hoist.run(&["mount", flag]).ok().stdout;
        let words: Vec<&str> = listed.split_whitespace().collect();
        assert_eq!(words, [id.as_str(), path.as_str()], "{flag}");
    }
    hoist.run(&["umount", "src"]).ok();
    assert!(!file.exists(), "umount leaves {} visible", file.display());
    // A container mounted by `mount` still starts (its own mount replaces it).
    let latest = hoist.run(&["mount", "-l"]).ok().stdout;
    assert_eq!(latest.trim(), path);
    hoist.run(&["start", "-a", "src"]).ok();
    assert_eq!(hoist.run(&["mount"]).ok().stdout, "");
    // export, then import from a file and from standard input.
    let tar = hoist.base_dir().join("src.tar");
    hoist
        .run(&["export", "src", "-o", tar.to_str().unwrap()])
        .ok();
    let iid = hoist
        .run(&["import", "-q", tar.to_str().unwrap(), "imported:1"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let out = hoist
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &iid,
            "cat",
            "/random.txt",
        ])
        .ok();
    assert_eq!(out.stdout, "inside\n");
    let bytes = std::fs::read(&tar).unwrap();
    let again = hoist
        .run_stdin(
            &[
                "import",
                "-q",
                "--change",
                "CMD [\"cat\", \"/random.txt\"]",
                "-",
            ],
            &bytes,
        )
        .ok()
        .stdout
        .trim()
        .to_string();
    let out = hoist
        .run(&["run", "--rm", "--network", "none", &again])
        .ok();
    assert_eq!(out.stdout, "inside\n");
    let out = hoist
        .run(&[
            "import",
            "-q",
            "--arch",
            "arm64",
            "--variant",
            "v8",
            "-m",
            "why",
            tar.to_str().unwrap(),
            "other-arch",
        ])
        .ok();
    assert_eq!(out.stdout.trim().len(), 64);
    let doc = hoist
        .run(&[
            "image",
            "inspect",
            "--format",
            "{{.Architecture}} {{.Variant}} {{.Comment}}",
            "other-arch",
        ])
        .ok();
    assert_eq!(doc.stdout.trim(), "arm64 v8 why");
    // image mount: counted, listed, unmounted at zero with its ID printed.
    let id = id_of(&hoist, &img);
    let mp = hoist
        .run(&["image", "mount", &img])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(std::path::Path::new(&mp).join("bin").is_dir());
    let listed = hoist.run(&["image", "mount"]).ok().stdout;
    assert_eq!(listed.trim(), format!("{img} {mp}"));
    hoist.run(&["image", "mount", &img]).ok();
    assert_eq!(hoist.run(&["image", "umount", &img]).ok().stdout, "");
    assert_eq!(hoist.run(&["image", "umount", &img]).ok().stdout.trim(), id);
    assert_eq!(hoist.run(&["image", "mount"]).ok().stdout, "");
    let out = hoist.run(&["image", "umount", "no-such"]).fails_with(125);
    assert_eq!(out.stderr.trim(), "Error: no-such: image not known");
    // --mount type=image: read-only unless rw=true, counted as an image
    // mount while the container runs, released when it ends.
    let mount = format!("type=image,src={img},dst=/image-mount");
    let run = |extra: &str, cmd: &[&str]| {
        let m = format!("{mount}{extra}");
        let mut args = vec!["run", "--rm", "--network", "none", "--mount", &m, &img];
        args.extend_from_slice(cmd);
        hoist.run(&args)
    };
    run("", &["diff", "/bin/sh", "/image-mount/bin/sh"]).ok();
    let out = run("", &["touch", "/image-mount/x"]).fails_with(1);
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    run(",rw=true", &["touch", "/image-mount/x"]).ok();
    assert_eq!(hoist.run(&["image", "umount", &img]).ok().stdout, "");
    let m = format!("{mount},readwrite=true");
    let cid = hoist
        .run(&[
            "run",
            "-d",
            "--network",
            "none",
            "--mount",
            &m,
            &img,
            "sleep",
            "1000",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    let out = hoist
        .run(&[
            "inspect",
            "--format",
            "{{(index .Mounts 0).Type}} {{(index .Mounts 0).Source}} {{(index .Mounts 0).RW}}",
            &cid,
        ])
        .ok();
    assert_eq!(out.stdout.trim(), format!("image {img} true"));
    assert_eq!(hoist.run(&["image", "umount", &img]).ok().stdout.trim(), id);
    hoist
        .run(&["exec", &cid, "test", "-f", "/image-mount/bin/sh"])
        .ok();
    hoist.run(&["rm", "-t", "0", "-f", &cid]).ok();
}

#[test]
fn save_and_load_details() {
    let (_reg, hoist, img) = common::setup_with_busybox();
    let id = id_of(&hoist, &img);
    let dir = hoist.base_dir().join("archives");
    std::fs::create_dir_all(&dir).unwrap();
    // Saved by ID: loaded back without names.
    let by_id = dir.join("by-id.tar");
    hoist
        .run(&["save", &id[..12], "-o", by_id.to_str().unwrap()])
        .ok();
    hoist.run(&["rmi", &id]).ok();
    hoist.run(&["load", "-i", by_id.to_str().unwrap()]).ok();
    let out = hoist
        .run(&[
            "images",
            "-a",
            "--format",
            "{{.ID}} {{.Repository}}:{{.Tag}}",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), format!("{} <none>:<none>", &id[..12]));
    hoist.run(&["tag", &id, &img]).ok();
    // --uncompressed: OCI layers as plain tar.
    let oci = dir.join("oci.tar");
    hoist
        .run(&[
            "save",
            "--format",
            "oci-archive",
            "--uncompressed",
            "-o",
            oci.to_str().unwrap(),
            &img,
        ])
        .ok();
    let mut archive = tar::Archive::new(std::fs::File::open(&oci).unwrap());
    let mut tars = 0;
    for entry in archive.entries().unwrap() {
        let mut e = entry.unwrap();
        let mut head = vec![0u8; 512];
        if e.path().unwrap().starts_with("blobs") && e.size() >= 512 {
            std::io::Read::read_exact(&mut e, &mut head).unwrap();
            if &head[257..262] == b"ustar" {
                tars += 1;
            }
        }
    }
    assert!(tars >= 1, "no uncompressed layer in the archive");
    // A bare manifest list is listed beside the images and removed by rmi.
    hoist.run(&["manifest", "create", "list:1.0"]).ok();
    let out = hoist
        .run(&["images", "--format", "{{.ID}}", "--no-trunc"])
        .ok();
    assert!(
        out.stdout.contains(&format!("sha256:{id}")),
        "{}",
        out.stdout
    );
    hoist.run(&["manifest", "add", "list:1.0", &img]).ok();
    let doc: serde_json::Value =
        serde_json::from_str(&hoist.run(&["manifest", "inspect", "list:1.0"]).ok().stdout).unwrap();
    assert_eq!(doc["manifests"].as_array().map(Vec::len), Some(1));
    hoist.run(&["rmi", "list:1.0"]).ok();
    assert!(!hoist.run(&["manifest", "exists", "list:1.0"]).success());
    assert!(hoist.run(&["image", "exists", &img]).success());
    // A payload that is no archive: podman's diagnostic, exit 125.
    let out = hoist
        .run_stdin(&["load"], b"not an archive\n")
        .fails_with(125);
    assert!(
        out.stderr
            .contains("payload does not match any of the supported image formats:"),
        "{}",
        out.stderr
    );
}

#[test]
fn help_and_latest_follow_podmans_conventions() {
    let hoist = Hoist::new(env!("CARGO_BIN_EXE_hoist"));
    let out = hoist.run(&["help", "--help"]).ok();
    assert!(
        out.stdout.contains("Usage:\n  hoist help [command]"),
        "{}",
        out.stdout
    );
    // One line per command, as cobra prints them: scripts read the first word.
    let help = hoist.run(&["--help"]).ok().stdout;
    let commands: Vec<&str> = help
        .split("Available Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap()
        .lines()
        .collect();
    assert!(commands
        .iter()
        .all(|l| l.starts_with("  ") && !l.starts_with("   ")));
    for c in [
        "commit", "export", "import", "history", "mount", "umount", "manifest",
    ] {
        assert!(
            commands
                .iter()
                .any(|l| l.split_whitespace().next() == Some(c)),
            "{c}"
        );
    }
    // Only the top level has a `help` command.
    let image = hoist.run(&["image", "--help"]).ok().stdout;
    assert!(
        !image.lines().any(|l| l.trim_start().starts_with("help ")),
        "{image}"
    );
    // --latest names the container: not with names, not with --all.
    let out = hoist.run(&["mount", "--latest", "x"]).fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: --latest and containers cannot be used together"
    );
    // Also where a command declares the conflict itself (`logs`).
    let out = hoist.run(&["logs", "--latest", "x"]).fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: --latest and containers cannot be used together"
    );
    let out = hoist.run(&["umount", "--all", "--latest"]).fails_with(125);
    assert_eq!(
        out.stderr.trim(),
        "Error: --all and --latest cannot be used together"
    );
}
